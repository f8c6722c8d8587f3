#!/usr/bin/env bash
# How the split score's defaults were chosen (docs/anypitch.md "The split score"): a grid over its three weights
# (`--split-flux`, `--split-pitch`, `--split-dip`) and `--onset-threshold`, beside the old rule (p(onset) alone at
# 0.3), each setting scored by the 3-fold CV on singreal and chosen nested (scripts/eval-anypitch-nested.sh: each
# fold's setting chosen on the other two folds' 12 files). 109 settings, ~3 s each. The shipped default is an inner
# point of the grid's plateau over all 18 files (0.06 / 2 / 0.6 / 0.6), not its edge.
# Usage: A2M_SHARED=../shared A2M_WORK=DIR scripts/fit-onset-split.sh BUILD_DIR   (DIR holds cv-{0,1,2}.safetensors)
set -euo pipefail
build=${1:-build}
sets=("--onset-threshold 0.3 --split-flux 0 --split-pitch 0 --split-dip 0")
for flux in 0.03 0.06 0.1; do
  for pitch in 1 2 3; do
    for dip in 0.3 0.6 0.9; do
      for thr in 0.5 0.6 0.7 0.8; do
        sets+=("--split-flux $flux --split-pitch $pitch --split-dip $dip --onset-threshold $thr")
      done
    done
  done
done
"$(dirname "$0")/eval-anypitch-nested.sh" "$build" "${sets[@]}"
