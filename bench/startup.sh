#!/usr/bin/env bash
# Whole-process start-up and per-file cost, one thread, measured by hyperfine beside the references in the same
# run (issue 13): features of one 4 s take (caches warm: FFTW wisdom and CQT kernels; first run; no cache),
# features of a folder of 45 takes (ms a take) in its two shapes, transcription of a 30 s recording with the
# default model, and the original Python pipeline (bench/ref_pipeline.py: librosa's CQT algorithm in numpy/scipy +
# the CRNN in PyTorch, Debian python3-numpy/-scipy/-torch) on the same file. Targets: one take <= 20 ms, a folder
# <= 4 ms a take, 30 s <= 90 ms and >= 10x the Python pipeline. CPU time (user + sys) is printed too: on a shared
# machine the wall time also counts waiting for a core.
# The folder is measured twice in one hyperfine run: "--force over the last run's files" (every .npy replaces
# one of the same name: before fileio.c's replace_file, rename() over an existing file made ext4 write the new
# one out inside the rename, 8.6 ms a file by strace -T, wall 5.3 ms a take against 3.7 CPU) and "into a new
# folder" (--prepare removes it: a user's first run), so neither hides the other.
# Usage: bench/startup.sh BUILD_DIR [SHARED_DIR]
set -euo pipefail
build=${1:-build}
shared=${2:-${A2M_SHARED:-../shared}}
a2m="$build/a2m"
command -v hyperfine >/dev/null || { echo "startup: hyperfine not installed (scripts/install-deps.sh)"; exit 0; }
[ -d "$shared/data/seed/audio" ] || { echo "startup: no $shared/data/seed/audio"; exit 0; }
tmp=$(mktemp -d /tmp/a2m_bench_start.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
take="$shared/data/seed/audio/voice_001.wav"
mkdir "$tmp/takes"
for i in $(seq 1 45); do ln -s "$(realpath "$shared")/data/seed/audio/voice_$(printf %03d "$i").wav" "$tmp/takes/"; done
notes=$(awk 'BEGIN { srand(7); t = 0.3; p = 57; s = "";
  for (i = 0; i < 40 && t < 29; i++) { d = 0.25 + 0.5 * rand(); p += int(rand() * 7) - 3; if (p < 45) p = 45; if (p > 69) p = 69;
    s = s (i ? "," : "") p ":" sprintf("%.3f", t) "-" sprintf("%.3f", t + d); t += d + (i % 8 == 7 ? 0.6 : 0.02) }
  print s }')
"$a2m" synth --notes "$notes" --duration 30 --sr 44100 -o "$tmp/m30.wav" >/dev/null
w="$tmp/wisdom"
# the CQT kernels are cached beside the wisdom ($tmp/cqt-kernels); A2M_FFTW_WISDOM= turns both caches off
cmds=(-n "features 1 take (caches warm)" "env A2M_FFTW_WISDOM=$w $a2m features $take -o $tmp/x.npy --force"
      -n "features 1 take (no cache)" "env A2M_FFTW_WISDOM= $a2m features $take -o $tmp/x.npy --force"
      -n "transcribe 30 s (caches warm)" "env A2M_FFTW_WISDOM=$w $a2m transcribe $tmp/m30.wav -o $tmp/m.mid --force")
hyperfine -N --warmup 2 --runs 10 --export-json "$tmp/h.json" "${cmds[@]}" | grep -vE "^\s*$"
fdir="env A2M_FFTW_WISDOM=$w $a2m features $tmp/takes --threads 1" # one thread (issue 13); the default uses every core
hyperfine -N --warmup 2 --runs 15 --export-json "$tmp/dir.json" --prepare "rm -rf $tmp/fnew" \
  -n "features 45 takes, --force over the last run's files" "$fdir -o $tmp/f --force" \
  -n "features 45 takes into a new folder" "$fdir -o $tmp/fnew" \
  | grep -vE "^\s*$"
hyperfine -N --warmup 1 --runs 10 --export-json "$tmp/first.json" --prepare "rm -f $w $tmp/cqt-kernels" \
  -n "features 1 take (first run: caches made and saved)" "env A2M_FFTW_WISDOM=$w $a2m features $take -o $tmp/x.npy --force" \
  | grep -vE "^\s*$"
ref=()
if /usr/bin/python3 -c "import numpy, scipy, torch" 2>/dev/null; then
  hyperfine -N --warmup 1 --runs 3 --export-json "$tmp/ref.json" -n "Python pipeline 30 s (reference)" \
    "/usr/bin/python3 bench/ref_pipeline.py models/a2m-anypitch.safetensors $tmp/m30.wav" | grep -vE "^\s*$"
  ref=("$tmp/ref.json")
else
  echo "startup: no python3-numpy/-scipy/-torch: the Python reference is not measured"
fi
/usr/bin/python3 - "$tmp/h.json" "$tmp/dir.json" "$tmp/first.json" "${ref[@]}" <<'PY' || true
import json, sys
rows = [r for f in sys.argv[1:] for r in json.load(open(f))["results"]]
for r in rows:
    per = 45 if "45 takes" in r["command"] else 1
    print(f"{r['command']:55s} wall {r['mean'] * 1e3 / per:8.1f} ms  cpu {(r['user'] + r['system']) * 1e3 / per:8.1f} ms"
          + ("  (a take)" if per > 1 else ""))
a = next((r for r in rows if r["command"].startswith("transcribe")), None)
p = next((r for r in rows if r["command"].startswith("Python")), None)
if a and p:
    print(f"transcribe vs the Python pipeline: {p['mean'] / a['mean']:.1f}x (wall), "
          f"{(p['user'] + p['system']) / (a['user'] + a['system']):.1f}x (cpu)")
PY
