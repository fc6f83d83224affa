#!/usr/bin/env bash
# Upload benchmark: curl vs Haul in headless Chromium against the embedded local stack
# (end2end/bench/upload-bench.mjs), on loopback, then through a WAN-shaped link at 1, 4 and 6
# parts in flight and 16 and 64 MiB parts (end2end/bench/wan.mjs; HAUL_BENCH_WAN=0 skips it).
# Between them, end2end/bench/plan-bench.mjs times signing every part of a 50 GiB upload.
# Expects the server binary and target/site to be built (`make bench` builds them).
# HAUL_BENCH_MIB=64 for a quick loopback run; the default is 1024.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"

# It holds the test file, its parts and the stored uploads (a few GiB), so it goes whatever
# happens. The server's data dir is a subdirectory: when run as root, the account that runs
# PostgreSQL must be able to pass through this one (mktemp makes it 0700).
BENCH_DIR="$(mktemp -d /tmp/haul-bench.XXXXXX)"
trap 'rm -rf "$BENCH_DIR"' EXIT
chmod 711 "$BENCH_DIR"

export HAUL_BENCH_SERVER="$TARGET_DIR/debug/server"
export HAUL_BENCH_SITE_ROOT="$ROOT/target/site"
export HAUL_BENCH_TMP="$BENCH_DIR"
node "$ROOT/end2end/bench/upload-bench.mjs"
node "$ROOT/end2end/bench/plan-bench.mjs"
if [[ "${HAUL_BENCH_WAN:-1}" != 0 ]]; then
  node "$ROOT/end2end/bench/wan.mjs"
fi
