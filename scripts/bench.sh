#!/usr/bin/env bash
# Runs every benchmark program built from bench/*.c and prints its figures.
set -euo pipefail
build=${1:-build}
shopt -s nullglob
for b in "$build"/bench_*; do
  [ -x "$b" ] || continue
  echo "== $(basename "$b")"
  "$b"
done
# whole-process benchmarks (hyperfine, beside the reference systems)
for s in bench/*.sh; do
  echo "== $(basename "$s")"
  bash "$s" "$build"
done
