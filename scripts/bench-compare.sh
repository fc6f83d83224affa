#!/usr/bin/env bash
# Compares upload throughput of an earlier commit with the working tree: builds both, then runs
# the benchmark (bench/upload-bench.mjs, or end2end/bench/upload-bench.mjs in commits from
# before it moved) alternately, RUNS times each, so that both meet the same machine, and prints
# the median and range of each figure.
#   scripts/bench-compare.sh REV [RUNS]      (RUNS defaults to 5; HAUL_BENCH_MIB is honoured)
set -euo pipefail
REV="${1:?usage: scripts/bench-compare.sh REV [RUNS]}"
RUNS="${2:-5}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
export PATH="${TOOLS_DIR:-$HOME/.cache/haul/tools}/seaweedfs/bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
export SQLX_OFFLINE=true

WORK="$(mktemp -d /tmp/haul-bench-compare.XXXXXX)"
trap 'git -C "$ROOT" worktree remove --force "$WORK/tree" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
chmod 711 "$WORK"

# Each build keeps its server binary in $WORK/<name>; its site stays in its tree, and its own
# bench script runs from there. Both trees share the target directory: touching the server's
# entry point makes cargo link this tree's binary. Commits before scripts/site.sh built their
# bundle with cargo-leptos.
declare -A TREE=([old]="$WORK/tree" [new]="$ROOT")
site() {
  if [[ -x scripts/site.sh ]]; then scripts/site.sh; else cargo leptos build --frontend-only; fi
}
build() { # name
  (cd "${TREE[$1]}" && touch server/src/main.rs && site >/dev/null && cargo build -p server >/dev/null)
  mkdir -p "$WORK/$1"
  cp "$CARGO_TARGET_DIR/debug/server" "$WORK/$1/server"
}
git -C "$ROOT" worktree add --detach "$WORK/tree" "$REV" >/dev/null 2>&1
# Each tree's bench script finds playwright-core in its end2end/node_modules: one in
# end2end/bench/ by Node's own search up the tree, one in bench/ through end2end/package.json.
ln -s "$ROOT/end2end/node_modules" "$WORK/tree/end2end/node_modules"
# The benches moved from end2end/bench/ to bench/: run whichever the tree has.
bench_script() { # tree
  local dir
  for dir in bench end2end/bench; do
    if [[ -f "$1/$dir/upload-bench.mjs" ]]; then echo "$1/$dir/upload-bench.mjs"; return; fi
  done
  echo "bench-compare: no upload-bench.mjs in $1/bench or $1/end2end/bench" >&2
  return 1
}
declare -A SCRIPT
for name in old new; do
  SCRIPT[$name]="$(bench_script "${TREE[$name]}")"
done
echo "bench-compare: building $REV" >&2
build old
echo "bench-compare: building the working tree" >&2
build new

run() { # name
  local scratch
  scratch="$(mktemp -d "$WORK/run.XXXXXX")"
  chmod 711 "$scratch"
  HAUL_BENCH_SERVER="$WORK/$1/server" HAUL_BENCH_SITE_ROOT="${TREE[$1]}/target/site" \
    HAUL_BENCH_TMP="$scratch" node "${SCRIPT[$1]}" >"$scratch.log" 2>&1 \
    || { cat "$scratch.log" >&2; exit 1; }
  # One line per run: name, curl MiB/s, Haul MiB/s, ratio %.
  awk -v name="$1" '/^curl \(/ {c=$5} /^browser \(/ {b=$4} /throughput:/ {r=$5} END {print name, c, b, r}' \
    "$scratch.log" | tee -a "$WORK/results"
  rm -rf "$scratch" "$scratch.log"
}
for i in $(seq 1 "$RUNS"); do
  echo "bench-compare: run $i of $RUNS" >&2
  run old
  run new
done

summary() { # name column
  grep "^$1 " "$WORK/results" | awk -v c="$2" '{print $c}' | sort -n \
    | awk '{v[NR]=$1} END {printf "%s (%s–%s)", v[int((NR+1)/2)], v[1], v[NR]}'
}
echo
echo "median (range) of $RUNS runs each   curl MiB/s        Haul MiB/s        Haul / curl %"
for name in old new; do
  label=$([ "$name" = old ] && echo "$REV" || echo "working tree")
  printf "%-34s %-17s %-17s %s\n" "$label" "$(summary $name 2)" "$(summary $name 3)" "$(summary $name 4)"
done
