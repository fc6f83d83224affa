#!/usr/bin/env bash
# Admin dashboard benchmark (bench/admin-bench.mjs): seeds 10 000 users and 1 000 000
# files into a fresh embedded stack and times the dashboard's queries. Expects the server
# binary to be built (`make bench-admin` builds it). HAUL_BENCH_FILES=100000 for a quick run.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"

# The server's data dir is below it: when run as root, the account that runs PostgreSQL must
# be able to pass through (mktemp makes it 0700; the bench opens it to 0711).
BENCH_DIR="$(mktemp -d /tmp/haul-bench-admin.XXXXXX)"
trap 'rm -rf "$BENCH_DIR"' EXIT

export HAUL_BENCH_SERVER="$TARGET_DIR/debug/server"
export HAUL_BENCH_TMP="$BENCH_DIR"
node "$ROOT/bench/admin-bench.mjs"
