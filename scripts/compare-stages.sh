#!/usr/bin/env bash
# One-stage vs two-stage (issue 10 §3, docs/two-stage.md): trains a crnn ({silence, C, E, G} at once) and a
# two-stage model (a voicing crnn, then a pitch crnn on the sung frames) with one recipe on the seed split's
# "train" takes (best "val" epoch), then scores both on the "test" takes and on Prueba.wav (24 s, one sequence
# for the frame metrics, the transcription's notes against Prueba.mid): frame accuracy and macro F1, the errors
# split into pitch and voicing (onset/offset/missed/extra) errors, mir_eval note F1. Prints the markdown table.
# Usage: scripts/compare-stages.sh [BUILD] [WORK]; models already in WORK (crnn.safetensors,
# two-stage.safetensors) are reused, so a second run only evaluates. ~25 min of training on 2 busy cores.
set -euo pipefail
build=${1:-build}
work=${2:-/tmp/a2m-stages}
shared=${A2M_SHARED:-../shared}
a2m="$build/a2m"
mkdir -p "$work/prueba"
[ -f "$work/fftw-wisdom" ] || cp models/a2m-crnn.fftw-wisdom "$work/fftw-wisdom" 2>/dev/null || true
export A2M_FFTW_WISDOM="$work/fftw-wisdom"
split="$shared/data/seed/split.json"
[ -d "$work/seed.ds" ] || "$a2m" dataset "$shared/data/seed/audio" -o "$work/seed.ds" >/dev/null
for e in wav mid; do ln -sf "$(realpath "$shared/data/seed/long/Prueba.$e")" "$work/prueba/Prueba.$e"; done
[ -d "$work/prueba.ds" ] || "$a2m" dataset "$work/prueba" --take-seconds 0 --expect-frames 0 -o "$work/prueba.ds" >/dev/null
echo '{"all": ["Prueba"]}' >"$work/prueba_split.json"
# the shipped model's recipe (scripts/make-model.sh) on train only, 20 epochs
recipe=(--hidden 64 --lr 9.34e-4 --batch 8 --epochs 20 --patience 100 --plateau 5 --seed 0 --class-weight-power 0
        --augment-gain 6 --augment-shift 1 --label-smoothing 0.1 --ema 0.995 --threads 1)
for m in crnn two-stage; do
  [ -f "$work/$m.safetensors" ] ||
    "$a2m" train "$work/seed.ds" --split "$split" --model "$m" "${recipe[@]}" --log "$work/$m.csv" -o "$work/$m.safetensors"
  "$a2m" eval "$work/$m.safetensors" "$work/seed.ds" --splits "$split" --split test --json "$work/$m.test.json" --force >/dev/null
  "$a2m" eval "$work/$m.safetensors" "$work/prueba.ds" --splits "$work/prueba_split.json" --split all \
    --json "$work/$m.prueba.json" --force >/dev/null 2>&1
  "$a2m" transcribe "$work/prueba/Prueba.wav" --model "$work/$m.safetensors" -o "$work/$m.prueba.mid" --force 2>/dev/null
  "$a2m" compare "$work/prueba/Prueba.mid" "$work/$m.prueba.mid" --json >"$work/$m.notes.json"
done
python3 - "$work" <<'PY'
import json, sys
w = sys.argv[1]
print("| model | data | frame accuracy | macro F1 | wrong frames | pitch | onset | offset | missed | extra | COnPOff | COnP | COn |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for m in ("crnn", "two-stage"):
    for data in ("test", "prueba"):
        d = json.load(open(f"{w}/{m}.{data}.json"))
        e = d["error_split"]; v = e["voicing"]; n = e["frames"]
        pct = lambda k: f"{100 * k / n:.2f}%"
        notes = ["-", "-", "-"]
        if data == "prueba":
            s = json.load(open(f"{w}/{m}.notes.json"))
            notes = [f"{s[k]['f1']:.3f}" for k in ("COnPOff", "COnP", "COn")]
        print(f"| {m} | {'seed test split' if data == 'test' else 'Prueba.wav'} | {d['accuracy']:.4f} | {d['f1_macro']:.4f} | "
              f"{pct(e['errors'])} | {pct(e['pitch'])} | {pct(v['onset'])} | {pct(v['offset'])} | {pct(v['missed'])} | "
              f"{pct(v['extra'])} | " + " | ".join(notes) + " |")
PY
