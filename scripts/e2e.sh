#!/usr/bin/env bash
# Runs the Playwright tests against the server binary, with its own fresh embedded stack.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"

# Under /tmp: the account that runs PostgreSQL must be able to enter it.
# The second test server (short URL lifetime) uses "$DATA_DIR-short-ttl", the third (MD5
# checksums) "$DATA_DIR-md5", the fourth (sizes only) "$DATA_DIR-none".
DATA_DIR="$(mktemp -d /tmp/haul-e2e.XXXXXX)"
trap 'rm -rf "$DATA_DIR" "$DATA_DIR-short-ttl" "$DATA_DIR-md5" "$DATA_DIR-none"' EXIT

export HAUL_E2E_DATA_DIR="$DATA_DIR"
export HAUL_E2E_SERVER="$TARGET_DIR/debug/server"
export HAUL_E2E_SITE_ROOT="$ROOT/target/site"
cd "$ROOT/end2end"
npx playwright test "$@"
