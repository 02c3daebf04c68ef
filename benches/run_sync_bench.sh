#!/usr/bin/env bash
# Sync throughput as the user gets it (`syncdeck sync run NAME --wait` as a process)
# beside the bulk-load floor, on SQLite and PostgreSQL, at 100k and 1M records.
# PostgreSQL: $SYNCDECK_TEST_POSTGRES_URL, else the local server on 127.0.0.1:5432.
# Needs sqlite3 and psql. Sizes: SYNCDECK_BENCH_SIZES=100000,1000000 (the default).
set -euo pipefail
cd "$(dirname "$0")/.."
export SYNCDECK_TEST_POSTGRES_URL="${SYNCDECK_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
for tool in sqlite3 psql; do
  command -v "$tool" >/dev/null || { echo "the benchmark needs $tool (Debian: apt-get install sqlite3 postgresql-client)" >&2; exit 2; }
done
exec cargo bench --bench sync_command
