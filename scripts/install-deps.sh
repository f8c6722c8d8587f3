#!/usr/bin/env bash
# Installs every Debian package a2m's build, tests, benchmarks and fuzzing need.
# Idempotent: packages already present are skipped; safe to run on every build.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config
  clang libclang-rt-14-dev libomp-14-dev  # libFuzzer targets + sanitizers
  libsndfile1-dev                     # audio in (WAV/FLAC/OGG)
  libsoxr-dev                         # resampling (librosa's soxr_hq)
  libfftw3-dev                        # FFTW3 single precision (CQT)
  libopenblas-dev                     # CBLAS GEMM
  gfortran                            # libgfortran for OpenBLAS's LAPACK when the a2m command links OpenBLAS statically
  libjansson-dev                      # JSON
  zlib1g-dev                          # CRC-32 of dataset files
  libcairo2-dev                       # plots (PNG/SVG/PDF)
  python3-numpy                       # interop test: numpy loads our .npy
  hyperfine aubio-tools               # bench: whole-process timings beside a reference transcriber
  umap-learn                          # bench/embed_process.sh: umap-learn beside a2m embed (tests need it not)
  libfluidsynth-dev                   # a2m gendata --source fluid (soundfont voices)
  fluidr3mono-gm-soundfont musescore-general-soundfont-small  # MIT soundfonts: Choir Aahs, Voice Oohs, ...
  librubberband-dev                   # a2m gendata --source seed (formant-preserving pitch shift)
  festival festvox-kallpc16k sox      # singing synthesis (festival's singing mode), audio tools
  jq                                  # scripts/compare-features.sh reads the JSON of knn/linear/eval
  clang-format                        # tests/test_format.sh: the tree as .clang-format (version 14) writes it
  libsqlite3-dev libpq-dev            # a2m search: study database (SQLite file or PostgreSQL server)
  postgresql                          # test_search_pg: a throwaway server (initdb, pg_ctl)
  python3-optuna                      # bench/search_optuna.py: the reference sampler (Optuna 3.1)
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
