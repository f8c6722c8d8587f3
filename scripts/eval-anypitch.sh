#!/usr/bin/env bash
# Scores an any-pitch model as the issue asks: singreal (mean over files of mir_eval F1), Prueba.wav against
# Prueba.mid transposed -12 (the pitch sung), and the seed test split's frame accuracy at the pitch sung.
# Usage: scripts/eval-anypitch.sh BUILD_DIR MODEL [FOLD]
#   FOLD 0/1/2: only the singreal files i with i % 3 == FOLD (those a cross-validation model never saw);
#   "all" (default): every singreal file. Extra transcribe options: $TRANSCRIBE_OPTS.
set -euo pipefail
build=${1:-build}
model=${2:?model}
fold=${3:-all}
a2m="$build/a2m"
shared=${A2M_SHARED:-../shared}
work=${A2M_WORK:-data/anypitch}/eval-$(basename "$model" .safetensors)-$fold
rm -rf "$work" && mkdir -p "$work/ref" "$work/in"
mapfile -t sr < <(cd "$shared/data/singreal" && ls *.wav | LC_ALL=C sort)
i=0
for f in "${sr[@]}"; do
  if [ "$fold" = all ] || [ $((i % 3)) -eq "$fold" ]; then
    ln -s "$(realpath "$shared/data/singreal/$f")" "$work/in/$f"
    ln -s "$(realpath "$shared/data/singreal/${f%.wav}.mid")" "$work/ref/${f%.wav}.mid"
  fi
  i=$((i + 1))
done
# shellcheck disable=SC2086
"$a2m" transcribe "$work/in" -o "$work/est/" --model "$model" --jobs 2 ${TRANSCRIBE_OPTS:-} >/dev/null
echo "singreal ($fold):"
"$a2m" compare "$work/ref" "$work/est" --csv "$work/singreal.csv" | tail -4

# Prueba at the pitch sung: the reference transposed -12 by a2m itself (labels keep the file's times)
"$a2m" transcribe "$shared/data/seed/long/Prueba.wav" -o "$work/prueba.mid" --model "$model" ${TRANSCRIBE_OPTS:-} >/dev/null
"$a2m" compare "$shared/data/seed/long/Prueba.mid" "$work/prueba.mid" --transpose-ref -12 | tail -4 | sed 's/^/Prueba /'

# seed test split at the pitch sung: frame classes silence + MIDI 36..84 (an onset frame counts as its note)
"$a2m" dataset "$shared/data/seed/audio" -o "$work/seed-sung" --notes 36-84 --transpose -12 >/dev/null 2>&1
"$a2m" eval "$model" "$work/seed-sung" --splits "$shared/data/seed/split.json" --split test 2>/dev/null |
  grep -E "^ +(accuracy|macro avg)" | sed 's/^ */seed test split (sung pitch) /'
