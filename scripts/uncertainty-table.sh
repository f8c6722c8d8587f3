#!/usr/bin/env bash
# Calibration and uncertainty on the seed test split (issue 10 §4, docs/uncertainty.md): trains crnn models with
# the shipped model's recipe on "train" (best "val" epoch, 20 epochs): seed 0 without dropout, seeds 1 and 2 with
# --dropout 0.25; fits each one's temperature on "val" (a2m calibrate), then evaluates on "test": each model
# alone, Monte-Carlo dropout (10 passes) of the seed-1 model, and the ensembles. Prints ECE before/after and the
# AUROC of each uncertainty measure for detecting a wrong frame; writes eval JSONs and CDF plots into WORK.
# Usage: scripts/uncertainty-table.sh [BUILD] [WORK]; models already in WORK are reused (~40 min of training).
set -euo pipefail
build=${1:-build}
work=${2:-/tmp/a2m-stages}
shared=${A2M_SHARED:-../shared}
a2m="$build/a2m"
split="$shared/data/seed/split.json"
mkdir -p "$work"
[ -f "$work/fftw-wisdom" ] || cp models/a2m-crnn.fftw-wisdom "$work/fftw-wisdom" 2>/dev/null || true
export A2M_FFTW_WISDOM="$work/fftw-wisdom"
[ -d "$work/seed.ds" ] || "$a2m" dataset "$shared/data/seed/audio" -o "$work/seed.ds" >/dev/null
recipe=(--hidden 64 --lr 9.34e-4 --batch 8 --epochs 20 --patience 100 --plateau 5 --class-weight-power 0
        --augment-gain 6 --augment-shift 1 --label-smoothing 0.1 --ema 0.995 --threads 1)
train() { # name seed dropout
  [ -f "$work/$1.safetensors" ] ||
    "$a2m" train "$work/seed.ds" --split "$split" --seed "$2" --dropout "$3" "${recipe[@]}" -o "$work/$1.safetensors"
}
train crnn 0 0
train drop1 1 0.25
train drop2 2 0.25
for m in crnn drop1 drop2; do
  "$a2m" calibrate "$work/$m.safetensors" "$work/seed.ds" --splits "$split" -o "$work/$m.cal.safetensors" --force |
    sed -n "s/^  test .*ECE \([0-9.]*\) -> \([0-9.]*\).*/$m: test ECE \1 -> \2 (temperature fitted on val)/p"
done
ev() { # name eval-arguments...
  local n=$1; shift
  "$a2m" eval "$@" --splits "$split" --split test --json "$work/unc.$n.json" --force >/dev/null 2>&1
  "$a2m" plot uncertainty "$work/unc.$n.json" -o "$work/unc.$n.png" --force 2>/dev/null
  python3 - "$work/unc.$n.json" "$n" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); u = d["uncertainty"]["measures"]
a = lambda k: "-" if u[k]["auroc"] is None else f"{u[k]['auroc']:.4f}"
print(f"| {sys.argv[2]} | {d['accuracy']:.4f} | {d['reliability']['ece']:.4f} | {a('max_probability')} | {a('entropy')} | "
      f"{a('variance')} | {a('mutual_information')} |")
PY
}
echo "| test split | accuracy | ECE | AUROC max p | AUROC entropy | AUROC variance | AUROC MI |"
echo "|---|---|---|---|---|---|---|"
ev "crnn, T=1" "$work/crnn.safetensors" "$work/seed.ds"
for m in crnn drop1 drop2; do ev "$m calibrated" "$work/$m.cal.safetensors" "$work/seed.ds"; done
ev "drop1 calibrated, MC dropout T=10" "$work/drop1.cal.safetensors" "$work/seed.ds" --mc-dropout 10
ev "ensemble of 3 calibrated" "$work/seed.ds" --ensemble "$work/crnn.cal.safetensors,$work/drop1.cal.safetensors,$work/drop2.cal.safetensors"
ev "drop1 + drop2 calibrated, each MC T=5" "$work/seed.ds" --ensemble "$work/drop1.cal.safetensors,$work/drop2.cal.safetensors" --mc-dropout 5
