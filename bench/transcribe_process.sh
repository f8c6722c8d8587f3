#!/usr/bin/env bash
# Whole-process transcription speed, as a user runs it (start-up, model load, read, resample, CQT, network,
# notes, MIDI), measured by hyperfine beside the reference systems in the same run: recordings of a sung melody
# of 60 s and 30 s (made by `a2m synth` at 44.1 kHz, so resampling is measured too), one thread; the any-pitch
# model (the default) and the seed model; aubionotes on the same files, and the original's Python pipeline
# (bench/ref_pipeline.py: librosa's CQT algorithm in numpy/scipy + the CRNN in PyTorch, one thread) on the
# 30 s file when Debian's python3-numpy/-scipy/-torch are there. No OPENBLAS_NUM_THREADS: a2m's main stops
# OpenBLAS's thread pool itself, as for any user. CPU time (user + system) is printed beside the wall time: on a
# shared machine the wall time also counts waiting for a core. Targets: 60 s >= 300x real time (issue 9),
# 30 s <= 90 ms and >= 10x the Python pipeline (issue 13).
# Usage: bench/transcribe_process.sh BUILD_DIR [RUNS]   (needs hyperfine; aubionotes when installed)
set -euo pipefail
build=${1:-build}
runs=${2:-10}
a2m="$build/a2m"
command -v hyperfine >/dev/null || { echo "transcribe_process: hyperfine not installed (scripts/install-deps.sh)"; exit 0; }
tmp=$(mktemp -d /tmp/a2m_bench_tr.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
# a melody: notes of 0.25-0.75 s over MIDI 45..69, rests between phrases
melody() {
  awk -v n="$1" -v end="$2" 'BEGIN { srand(7); t = 0.3; p = 57; s = "";
    for (i = 0; i < n && t < end; i++) { d = 0.25 + 0.5 * rand(); p += int(rand() * 7) - 3; if (p < 45) p = 45; if (p > 69) p = 69;
      s = s (i ? "," : "") p ":" sprintf("%.3f", t) "-" sprintf("%.3f", t + d); t += d + (i % 8 == 7 ? 0.6 : 0.02) }
    print s }'
}
"$a2m" synth --notes "$(melody 80 59)" --duration 60 --sr 44100 -o "$tmp/melody60.wav" >/dev/null
"$a2m" synth --notes "$(melody 40 29)" --duration 30 --sr 44100 -o "$tmp/melody30.wav" >/dev/null
cmds=()
for s in 60 30; do
  cmds+=(-n "a2m transcribe ${s} s (anypitch)" "$a2m transcribe $tmp/melody$s.wav -o $tmp/a.mid --force"
         -n "a2m transcribe ${s} s --model seed" "$a2m transcribe $tmp/melody$s.wav -o $tmp/s.mid --force --model seed")
done
cmds+=(-n "a2m transcribe 60 s --window 0 (anypitch)" "$a2m transcribe $tmp/melody60.wav -o $tmp/w.mid --force --window 0")
cmds+=(-n "a2m transcribe 60 s --ensemble anypitch,anypitch-b" "$a2m transcribe $tmp/melody60.wav -o $tmp/e.mid --force --ensemble anypitch,anypitch-b")
cmds+=(-n "a2m transcribe 60 s --notes C major (anypitch)" "$a2m transcribe $tmp/melody60.wav -o $tmp/n.mid --force --notes C,D,E,F,G,A,B")
if command -v aubionotes >/dev/null; then
  cmds+=(-n "aubionotes 60 s (aubio 0.4.9, reference)" "aubionotes -i $tmp/melody60.wav"
         -n "aubionotes 30 s (aubio 0.4.9, reference)" "aubionotes -i $tmp/melody30.wav")
fi
hyperfine -N --warmup 2 --runs "$runs" --export-json "$tmp/h.json" "${cmds[@]}" | grep -vE "^\s*$"
ref=()
if /usr/bin/python3 -c "import numpy, scipy, torch" 2>/dev/null; then
  OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 hyperfine -N --warmup 1 --runs 3 --export-json "$tmp/ref.json" \
    -n "Python pipeline 30 s (reference)" \
    "/usr/bin/python3 bench/ref_pipeline.py models/a2m-anypitch.safetensors $tmp/melody30.wav" | grep -vE "^\s*$"
  ref=("$tmp/ref.json")
else
  echo "transcribe_process: no python3-numpy/-scipy/-torch: the Python pipeline is not measured"
fi
/usr/bin/python3 - "$tmp/h.json" "${ref[@]}" <<'PY' || true
import json, sys
rows = [r for f in sys.argv[1:] for r in json.load(open(f))["results"]]
for r in rows:
    secs = 60.0 if " 60 s" in r["command"] else 30.0
    print(f"{r['command']:45s} wall {r['mean'] * 1e3:7.1f} ms (median {r['median'] * 1e3:7.1f}) = {secs / r['mean']:5.0f}x real time"
          f"  cpu {(r['user'] + r['system']) * 1e3:7.1f} ms")
a = next((r for r in rows if r["command"] == "a2m transcribe 30 s (anypitch)"), None)
p = next((r for r in rows if r["command"].startswith("Python")), None)
if a and p:
    print(f"30 s, a2m vs the Python pipeline: {p['mean'] / a['mean']:.1f}x (wall), "
          f"{(p['user'] + p['system']) / (a['user'] + a['system']):.1f}x (cpu)")
PY
