#!/usr/bin/env bash
# Upload benchmark: curl vs Haul in headless Chromium against the embedded local stack
# (bench/upload-bench.mjs, one run), on loopback 3 times in each integrity mode
# (HAUL_S3_CHECKSUM sha256, md5 and none, taking turns run by run; HAUL_BENCH_MODES picks
# them), a row per mode, and 3 more for Haul's memory during a 4 GiB upload (sha256)
# (bench/loopback.mjs), then through a WAN-shaped link: one 1 GiB
# file and 4 files of 256 MiB at once, 3 times each, and curl and Haul at 1, 4 and 6 parts in
# flight and 16 and 64 MiB parts (bench/wan.mjs, in HAUL_BENCH_CHECKSUM's mode, default
# sha256; HAUL_BENCH_WAN=0 skips it).
# Between them, bench/plan-bench.mjs times signing every part of a 50 GiB upload.
# HAUL_BENCH_SEND=1 adds bench/send-bench.mjs, which compares ways of sending parts from
# Chromium (XHR, fetch, reading each slice first) by its CPU, and bench/hash-bench.mjs,
# which splits the CPU of hashing parts into reading and SHA-256 (about a minute more).
# Expects the server binary and target/site to be built (`make bench` builds them).
# HAUL_BENCH_MIB=64 HAUL_BENCH_MEMORY_MIB=0 for a quick loopback run; the defaults are 1024 and
# 4096. The other settings are listed at the top of each script.
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
# Each size of test file is written once and used by every run that needs it.
export HAUL_BENCH_FILES_DIR="$BENCH_DIR/files"
mkdir "$HAUL_BENCH_FILES_DIR"
node "$ROOT/bench/loopback.mjs"
if [[ "${HAUL_BENCH_SEND:-0}" == 1 ]]; then
  node "$ROOT/bench/send-bench.mjs"
  node "$ROOT/bench/hash-bench.mjs"
fi
node "$ROOT/bench/plan-bench.mjs"
if [[ "${HAUL_BENCH_WAN:-1}" != 0 ]]; then
  node "$ROOT/bench/wan.mjs"
fi
# The haul command line against curl and aws s3 cp (bench/cli-bench.mjs), with the optimised
# server and haul, as deployed (`make bench` builds both).
if [[ "${HAUL_BENCH_CLI:-1}" != 0 ]]; then
  HAUL_BENCH_SERVER="$TARGET_DIR/release/server" HAUL_BENCH_HAUL="$TARGET_DIR/release/haul" \
    node "$ROOT/bench/cli-bench.mjs"
fi
