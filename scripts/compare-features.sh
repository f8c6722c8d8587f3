#!/usr/bin/env bash
# The comparison table of docs/features.md ("## Measured"): {CQT 36/24/12 bins per octave, mel, MFCC, LPC}
# x {kNN, logistic regression, CRNN} on the seed split (trained on "train", k / epoch chosen on "val",
# scored on "test"): frame accuracy, macro F1, seconds to train and to predict the 45 test takes.
#   scripts/compare-features.sh [BUILD] [KINDS] [CRNN_EPOCHS]     (make compare-features)
# KINDS: a space-separated subset of "cqt36 cqt24 cqt12 mel mfcc lpc" (default all). Every run is niced
# (the machine is shared) and uses 2 threads; a table in markdown goes to standard output, the JSON
# of every run and a log to $A2M_COMPARE_DIR (default a temporary folder, removed). The CRNN is the seed
# recipe's network (hidden 64, batch 8, lr 9.34e-4, no augmentation) for CRNN_EPOCHS epochs (default 15,
# not the 60 of `make model`: six trainings on a shared 2-core machine), so its row is a lower bound.
set -euo pipefail
build=${1:-build}
kinds=${2:-"cqt36 cqt24 cqt12 mel mfcc lpc"}
epochs=${3:-15}
shared=${A2M_SHARED:-../shared}
split="$shared/data/seed/split.json"
a2m="$build/a2m"
work=${A2M_COMPARE_DIR:-}
if [ -z "$work" ]; then work=$(mktemp -d); trap 'rm -rf "$work"' EXIT; fi
mkdir -p "$work"
log="$work/log.txt"
run() { echo "+ $*" >>"$log"; nice -n 10 "$@" >>"$log" 2>&1; }
now() { date +%s.%N; }

# the dataset options of each kind (a2m dataset --kind; --bpo for the CQT)
opts_of() {
  case $1 in
    cqt36) echo "" ;;
    cqt24) echo "--bpo 24" ;;  # the same 7 octaves: 168 bins
    cqt12) echo "--bpo 12" ;;  # 84 bins
    mel) echo "--kind mel" ;;
    mfcc) echo "--kind mfcc" ;;
    lpc) echo "--kind lpc" ;;
    *) echo "unknown kind $1" >&2; exit 2 ;;
  esac
}

row() { # KIND METHOD JSON TRAIN_S PREDICT_S
  printf '| %s | %s | %.4f | %.4f | %.1f | %.2f |\n' "$1" "$2" "$(jq .accuracy "$3")" "$(jq .f1_macro "$3")" "$4" "$5"
}

echo "| features | classifier | accuracy | macro F1 | train s | predict s |"
echo "|---|---|---|---|---|---|"
for kind in $kinds; do
  ds="$work/ds-$kind"
  # shellcheck disable=SC2046
  run "$a2m" dataset "$shared/data/seed/audio" -o "$ds" --force $(opts_of "$kind")
  dim=$(jq .n_bins "$ds/index.json")
  run "$a2m" knn "$ds" --splits "$split" --threads 2 --json "$work/$kind-knn.json" --force
  k=$(jq .k "$work/$kind-knn.json")
  row "$kind ($dim)" "kNN (k $k)" "$work/$kind-knn.json" "$(jq .seconds_train "$work/$kind-knn.json")" \
    "$(jq .seconds_predict "$work/$kind-knn.json")"
  run "$a2m" linear "$ds" --splits "$split" --json "$work/$kind-linear.json" --force
  row "$kind ($dim)" "logistic" "$work/$kind-linear.json" "$(jq .seconds_train "$work/$kind-linear.json")" \
    "$(jq .seconds_predict "$work/$kind-linear.json")"
  t0=$(now)
  run "$a2m" train "$ds" --split "$split" --model crnn --hidden 64 --lr 9.34e-4 --batch 8 --epochs "$epochs" \
    --seed 0 --threads 2 --force -o "$work/$kind-crnn.safetensors"
  t1=$(now)
  run "$a2m" eval "$work/$kind-crnn.safetensors" "$ds" --splits "$split" --threads 2 --json "$work/$kind-crnn.json" --force
  t2=$(now)
  row "$kind ($dim)" "CRNN ($epochs epochs)" "$work/$kind-crnn.json" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" "$(awk -v a="$t1" -v b="$t2" 'BEGIN { print b - a }')"
done
