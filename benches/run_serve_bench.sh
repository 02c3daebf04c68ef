#!/usr/bin/env bash
# Inbound webhook throughput as a sender gets it: `syncdeck serve` as a process under a
# load generator of pre-signed deliveries over keep-alive connections, beside the HTTP
# floor timed in the same run, on SQLite and PostgreSQL.
# PostgreSQL: $SYNCDECK_TEST_POSTGRES_URL, else the local server on 127.0.0.1:5432.
# SYNCDECK_BENCH_SECS (10) and SYNCDECK_BENCH_CONNS (32) change the load.
set -euo pipefail
cd "$(dirname "$0")/.."
export SYNCDECK_TEST_POSTGRES_URL="${SYNCDECK_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
command -v psql >/dev/null || { echo "the benchmark needs psql (Debian: apt-get install postgresql-client)" >&2; exit 2; }
exec cargo bench --bench serve_load
