#!/usr/bin/env bash
# End-to-end throughput of `syncdeck mapping apply` against jq on 1,000,000 CRM
# contacts, plus the in-process apply benchmark. Run from the repository root:
#
#     benches/run_mapping_bench.sh [N]
#
# Needs python3 and jq; uses hyperfine when installed (apt-get install hyperfine).
set -euo pipefail
n="${1:-1000000}"
data="${TMPDIR:-/tmp}/syncdeck-contacts-$n.ndjson"
schema=benches/fixtures/crm_contact.schema.json
[ -s "$data" ] || python3 benches/gen_contacts.py "$n" > "$data"
cargo build --release --bin syncdeck
bin=target/release/syncdeck
echo "input: $data ($n lines, $(du -h "$data" | cut -f1))"
if command -v hyperfine >/dev/null; then
  hyperfine --warmup 1 --runs 3 \
    "$bin mapping apply --schema $schema --input $data > /dev/null"
  # jq takes minutes on a million lines: one run is enough to compare
  hyperfine --runs 1 "jq -c -f benches/mapping.jq $data > /dev/null"
else
  for cmd in "$bin mapping apply --schema $schema --input $data" "jq -c -f benches/mapping.jq $data"; do
    start=$(date +%s.%N)
    $cmd > /dev/null
    end=$(date +%s.%N)
    python3 -c "import sys; s=float(sys.argv[2])-float(sys.argv[1]); n=int(sys.argv[3]); print(f'{sys.argv[4]!r}: {s:.2f} s, {n/s:,.0f} records/s')" "$start" "$end" "$n" "$cmd"
  done
fi
cargo bench --bench mapping
