#!/usr/bin/env bash
# Builds the browser bundle into target/site with plain cargo, what `cargo leptos build
# --release --frontend-only` does, without installing cargo-leptos (17 minutes on 2 cores):
#   1. the frontend crate for wasm32 in the size-optimised wasm-release profile;
#   2. wasm-bindgen (the CLI matches the crate exactly) writes the JS glue and the wasm;
#   3. wasm-opt -Oz (npm binaryen: Debian's breaks hydration) with cargo-leptos's flags, after
#      merging functions that differ only in constants (Leptos's generic views make many), twice,
#      then until it shrinks no more: 5 KB less on the wire than plain -Oz, for a minute more;
#      assuming no implicit trap (an out-of-bounds load, a division by zero: Rust checks these
#      itself and panics first), 0.7 KB less; assuming the low 1 KB of memory is never read or
#      written (Rust's stack is laid out first and grows down from 1 MB, the data sits above it:
#      only a stack overflow could reach it), which folds constant offsets into the loads and
#      stores, 1.4 KB less; without the custom sections nothing reads (producers, target
#      features), 0.2 KB less;
#   4. the stylesheet and public/ beside it;
#   5. brotli and gzip copies under content-hashed names (scripts/precompress.mjs).
# The new pkg/ replaces the old one whole, so a server never serves half of each.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
TOOLS_DIR="${HAUL_TOOLS_DIR:-$HOME/.cache/haul/tools}"
WASM_OPT="${WASM_OPT:-$TOOLS_DIR/binaryen/node_modules/.bin/wasm-opt}"
# What Leptos's HydrationScripts links: pkg/haul.js and pkg/haul.wasm (LEPTOS_OUTPUT_NAME).
NAME=haul
SITE="$ROOT/target/site"
PKG="$SITE/pkg"
NEXT="$SITE/pkg.next"

cd "$ROOT"
# Source paths in the bundle (where a panic happened) are written short and the same on every
# machine: `tachys-0.2.19/src/…` rather than under this machine's
# CARGO_HOME (125 of them; a few hundred bytes on the wire, and the bundle's size no longer
# depends on where it was built). The flags replace .cargo/config.toml's, so they repeat them.
REGISTRY="${CARGO_HOME:-$HOME/.cargo}/registry/src/"
SEP=$'\x1f'
export CARGO_ENCODED_RUSTFLAGS="--cfg${SEP}erase_components${SEP}--remap-path-prefix=${REGISTRY}=${SEP}--remap-path-prefix=${REGISTRY}index.crates.io-1949cf8c6b5b557f/=${SEP}--remap-path-prefix=${ROOT}/="
cargo build -p frontend --lib --target wasm32-unknown-unknown --profile wasm-release
WASM="$TARGET_DIR/wasm32-unknown-unknown/wasm-release/frontend.wasm"

# Nothing newer than the last bundle: it stands (wasm-opt alone takes half a minute).
STAMP="$PKG/bundle.json"
if [[ -f "$STAMP" && -z "$(find "$WASM" style public scripts/site.sh scripts/precompress.mjs \
  -newer "$STAMP" -print -quit)" ]]; then
  echo "site: target/site is up to date"
  exit 0
fi

rm -rf "$NEXT"
mkdir -p "$NEXT"
wasm-bindgen --target web --no-typescript --out-name "$NAME" --out-dir "$NEXT" "$WASM"
mv "$NEXT/${NAME}_bg.wasm" "$NEXT/$NAME.wasm"
"$WASM_OPT" --ignore-implicit-traps --traps-never-happen --low-memory-unused --strip-producers --strip-target-features --merge-similar-functions -Oz --merge-similar-functions -Oz --converge \
  --enable-bulk-memory --enable-nontrapping-float-to-int \
  "$NEXT/$NAME.wasm" -o "$NEXT/$NAME.wasm"
cp style/main.css "$NEXT/$NAME.css"
node scripts/precompress.mjs "$NEXT"

cp -R public/. "$SITE/"
rm -rf "$PKG.old"
if [[ -d "$PKG" ]]; then mv "$PKG" "$PKG.old"; fi
mv "$NEXT" "$PKG"
rm -rf "$PKG.old"
