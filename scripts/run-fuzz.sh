#!/usr/bin/env bash
# Runs every libFuzzer target in BUILD for SECONDS each, seeded from tests/fuzz/corpus/<target>/
# and, where present, from ../shared data of the matching kind. Fails on any crash, leak or hang.
set -euo pipefail
build=${1:-build-fuzz}; seconds=${2:-15}
root=$(cd "$(dirname "$0")/.." && pwd)
shopt -s nullglob
n=0
for bin in "$build"/fuzz_*; do
  [ -x "$bin" ] || continue
  name=$(basename "$bin")
  work=$(mktemp -d)
  seeds=("$work")
  [ -d "$root/tests/fuzz/corpus/$name" ] && seeds+=("$root/tests/fuzz/corpus/$name")
  echo "fuzz: $name for ${seeds[*]:1} ${seconds}s"
  if ! "$bin" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 -print_final_stats=0 \
        -artifact_prefix="$work/" "${seeds[@]}" >"$work/log" 2>&1; then
    tail -40 "$work/log"; echo "fuzz: $name FAILED (artifacts in $work)"; exit 1
  fi
  grep -E "^#[0-9]+ +DONE|Done [0-9]+ runs" "$work/log" | tail -1 || true
  rm -rf "$work"; n=$((n+1))
done
echo "fuzz: $n targets passed"
