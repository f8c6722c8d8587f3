#!/usr/bin/env bash
# Training data for the any-pitch model, reproducibly (every random choice
# seeded, nothing downloaded): seed takes pitch-shifted over -12..12 semitones,
# random melodies sung by the additive voice, by soundfont voices and by
# festival, half of each augmented toward phone recordings. Re-running writes
# the same bytes. Usage: scripts/gendata.sh [BUILD_DIR] [OUT_DIR]
set -euo pipefail
build=${1:-build}
out=${2:-data/gen}
jobs=${JOBS:-2}
seed=${SEED:-1}
a2m="$build/a2m"
shared=${A2M_SHARED:-../shared}
for spec in "seed 1200" "synth 600" "fluid 600" "festival 600"; do
  set -- $spec
  echo "gendata: $1 x $2 -> $out/$1"
  "$a2m" gendata -o "$out/$1" --source "$1" --count "$2" --seed "$seed" --augment 0.5 --jobs "$jobs" \
    --seed-dir "$shared/data/seed/audio" --force
done
