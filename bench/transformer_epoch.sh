#!/usr/bin/env bash
# One training epoch of the original's Transformer (AudioTransNet: d_model 128, 3 layers, 4 heads, batch 8,
# Adam, gradient clipping 1.0, dropout 0.1, then validation), a2m vs PyTorch on the same data and cores,
# whole processes (start-up and data loading included) timed by hyperfine in the same run.
# The PyTorch side (bench/transformer_epoch_torch.py, Debian's python3-torch) first checks that its model
# with the original's trained weights gives the stored reference logits: the same network.
# Usage: bench/transformer_epoch.sh BUILD_DIR
#   A2M_BENCH_TAKES=N   train takes per epoch (default all 210 of the seed split; val is always its 45)
#   A2M_BENCH_RUNS=N    hyperfine runs per command (default 2)
#   A2M_BENCH_A2M_THREADS="1 2"  a2m thread counts to time (default both)
#   A2M_BENCH_TORCH_THREADS="2 1"  PyTorch thread counts (default both; the first is the reference)
#   A2M_BENCH_PRECISIONS="fp32 bf16"  a2m --precision values (bf16: mixed-precision products, avx512_bf16 CPUs)
# On a loaded machine compare the CPU times (user + system) beside the wall times. a2m --threads N runs the
# sequences of a batch on N threads (BLAS on one thread each): a handful of barriers a batch.
set -euo pipefail
build=${1:-build}
a2m="$(cd "$build" && pwd)/a2m"
shared=${A2M_SHARED:-../shared}
takes=${A2M_BENCH_TAKES:-210}
runs=${A2M_BENCH_RUNS:-2}
here=$(cd "$(dirname "$0")" && pwd)
command -v hyperfine >/dev/null || { echo "transformer_epoch: hyperfine not installed (scripts/install-deps.sh)"; exit 0; }
[ -f "$shared/data/seed/split.json" ] || { echo "transformer_epoch: no shared data at $shared"; exit 0; }
/usr/bin/python3 -c "import torch" 2>/dev/null || { echo "transformer_epoch: python3-torch not installed (apt-get install python3-torch)"; exit 0; }
tmp=$(mktemp -d /tmp/a2m_bench_tf.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
"$a2m" dataset "$shared/data/seed/audio" -o "$tmp/seed.ds" >/dev/null 2>&1
/usr/bin/python3 - "$shared/data/seed/split.json" "$takes" "$tmp/split.json" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
json.dump({"train": s["train"][:int(sys.argv[2])], "val": s["val"], "test": s["test"]}, open(sys.argv[3], "w"))
EOF
/usr/bin/python3 "$here/transformer_epoch_torch.py" --check "$shared/data/reference/seed_transformer"
train="$a2m train $tmp/seed.ds --split $tmp/split.json --model transformer --lr 5e-4 --batch 8 --epochs 1 --clip 1 \
  --class-weight-power 0 --force -o $tmp/m.safetensors --checkpoint $tmp/m.ckpt"
torch="/usr/bin/python3 $here/transformer_epoch_torch.py $tmp/seed.ds $tmp/split.json"
export OMP_NUM_THREADS=2
cmds=()
for t in ${A2M_BENCH_TORCH_THREADS:-2 1}; do
  cmds+=(-n "PyTorch 1.13, $t thread$([ "$t" = 1 ] || echo s)$([ ${#cmds[@]} = 0 ] && echo " (reference)")" "$torch $t")
done
for t in ${A2M_BENCH_A2M_THREADS:-1 2}; do
  for pr in ${A2M_BENCH_PRECISIONS:-fp32 bf16}; do
    cmds+=(-n "a2m train --threads $t --precision $pr" "OPENBLAS_NUM_THREADS=$t $train --threads $t --precision $pr")
  done
done
hyperfine --runs "$runs" --export-json "$tmp/h.json" "${cmds[@]}" | grep -vE "^\s*$"
/usr/bin/python3 - "$tmp/h.json" "$takes" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
ref = r[0]
print(f"one epoch, {sys.argv[2]} train takes + 45 val, whole process (mean of runs):")
for x in r:
    cpu = x["user"] + x["system"]
    print(f"  {x['command']:52s} wall {x['mean']:8.2f} s  cpu {cpu:8.2f} s   reference / this: "
          f"wall {ref['mean'] / x['mean']:5.1f}x  cpu {(ref['user'] + ref['system']) / cpu:5.1f}x")
EOF
