#!/usr/bin/env bash
# Training is bit-reproducible for a given source, seed and --threads: the make-model recipe (augmentation,
# label smoothing, weight averaging) on a small synthetic dataset, trained in separate processes, gives
# byte-identical model files and logs' losses, with --threads 1 and with --threads 2. The BLAS and OpenMP
# thread counts of the environment do not matter (a2m's main sets OpenBLAS to one thread; --threads runs the
# two LSTM directions on threads of their own, each the same arithmetic), so --threads 1 and 2 give the same
# file too. Another seed gives another file (the comparison can fail).
. "${BASH_SOURCE%/*}/cli_common.sh"

synth_takes "$tmp/takes" 6 moving --transpose -12
split_six "$tmp/split.json"
expect_ok "$bin" dataset "$tmp/takes" -o "$tmp/ds"

# train NAME THREADS SEED [ENV...]: the make-model recipe, small
train() {
  local name=$1 threads=$2 seed=$3; shift 3
  env "$@" "$bin" train "$tmp/ds" --split "$tmp/split.json" --model crnn --hidden 16 --lr 0.003 --batch 2 \
    --epochs 3 --seed "$seed" --class-weight-power 0 --augment-gain 6 --augment-shift 1 --label-smoothing 0.1 \
    --ema 0.9 --threads "$threads" --log "$tmp/$name.csv" -o "$tmp/$name.safetensors" >"$tmp/out.txt" 2>"$tmp/err.txt" \
    && ok || bad "train $name -> $(cat "$tmp/err.txt")"
  cut -d, -f1-6 "$tmp/$name.csv" >"$tmp/$name.losses" # the seconds column aside
}
same() { cmp -s "$tmp/$1.safetensors" "$tmp/$2.safetensors" && cmp -s "$tmp/$1.losses" "$tmp/$2.losses" \
  && ok || bad "$1 and $2 differ: $(cmp "$tmp/$1.safetensors" "$tmp/$2.safetensors")"; }

train a 2 0
train b 2 0 OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
train c 2 0 OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2
train d 1 0
train e 1 0 OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2
train f 2 1
same a b
same a c
same d e
same a d
cmp -s "$tmp/a.safetensors" "$tmp/f.safetensors" && bad "seeds 0 and 1 gave the same file" || ok
[ "$(wc -l <"$tmp/a.losses")" -eq 4 ] && ok || bad "log: $(cat "$tmp/a.losses")"

finish
