#!/usr/bin/env bash
# Whole-process transcription speed, as a user runs it (start-up, model load, read, resample, CQT, network,
# notes, MIDI), measured by hyperfine beside the reference systems in the same run: a 60 s recording of a
# sung melody (made by `a2m synth` at 44.1 kHz, so resampling is measured too), one thread.
# Usage: bench/transcribe_process.sh BUILD_DIR   (needs hyperfine; aubionotes when installed)
set -euo pipefail
build=${1:-build}
a2m="$build/a2m"
command -v hyperfine >/dev/null || { echo "transcribe_process: hyperfine not installed (scripts/install-deps.sh)"; exit 0; }
tmp=$(mktemp -d /tmp/a2m_bench_tr.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
# a 60 s melody: 80 notes of 0.25-0.75 s over MIDI 45..69, rests between phrases
notes=$(awk 'BEGIN { srand(7); t = 0.3; p = 57; s = "";
  for (i = 0; i < 80 && t < 59; i++) { d = 0.25 + 0.5 * rand(); p += int(rand() * 7) - 3; if (p < 45) p = 45; if (p > 69) p = 69;
    s = s (i ? "," : "") p ":" sprintf("%.3f", t) "-" sprintf("%.3f", t + d); t += d + (i % 8 == 7 ? 0.6 : 0.02) }
  print s }')
"$a2m" synth --notes "$notes" --duration 60 --sr 44100 -o "$tmp/melody60.wav" >/dev/null
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
cmds=(-n "a2m transcribe (anypitch, windows)" "$a2m transcribe $tmp/melody60.wav -o $tmp/a.mid --force"
      -n "a2m transcribe --model seed" "$a2m transcribe $tmp/melody60.wav -o $tmp/s.mid --force --model seed"
      -n "a2m transcribe --window 0" "$a2m transcribe $tmp/melody60.wav -o $tmp/w.mid --force --window 0")
if command -v aubionotes >/dev/null; then
  cmds+=(-n "aubionotes (aubio 0.4.9, reference)" "aubionotes -i $tmp/melody60.wav")
fi
hyperfine --warmup 2 --runs 10 --export-json "$tmp/h.json" "${cmds[@]}" | grep -vE "^\s*$"
python3 - "$tmp/h.json" <<'EOF' 2>/dev/null || true
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(f"{r['command']:40s} mean {r['mean']*1000:7.1f} ms  = {60.0 / r['mean']:6.0f}x real time (60 s of audio)")
EOF
