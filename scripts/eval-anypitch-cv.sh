#!/usr/bin/env bash
# The any-pitch model's cross-validated singreal score, as docs/anypitch.md reports it: fold k's files (i % 3 == k)
# transcribed by $A2M_WORK/cv-k.safetensors (`make model-anypitch FOLD=k`: a model that never heard them), then all
# 18 scored together (mean over files of mir_eval F1). Extra transcribe options: $TRANSCRIBE_OPTS. With
# $A2M_WORK2 (another fold set, e.g. another training seed's), fold k's files are transcribed by the ensemble of both
# folders' cv-k (--ensemble). $FOLDS (default "0 1 2"): only those folds' files, scored together.
# Usage: scripts/eval-anypitch-cv.sh BUILD_DIR
set -euo pipefail
build=${1:-build}
a2m="$build/a2m"
shared=${A2M_SHARED:-../shared}
models=${A2M_WORK:-data/anypitch}
models2=${A2M_WORK2:-}
folds=${FOLDS:-0 1 2}
work=$models/eval-cv${models2:+-ensemble}
for k in $folds; do
  for d in "$models" ${models2:+"$models2"}; do
    [ -f "$d/cv-$k.safetensors" ] || { echo "eval-anypitch-cv: $d/cv-$k.safetensors missing (make model-anypitch FOLD=$k)" >&2; exit 1; }
  done
done
rm -rf "$work" && mkdir -p "$work/ref" "$work/est"
mapfile -t sr < <(cd "$shared/data/singreal" && ls *.wav | LC_ALL=C sort)
for k in $folds; do
  mkdir -p "$work/in$k"
  i=0
  for f in "${sr[@]}"; do
    if [ $((i % 3)) -eq "$k" ]; then
      ln -s "$(realpath "$shared/data/singreal/$f")" "$work/in$k/$f"
      ln -s "$(realpath "$shared/data/singreal/${f%.wav}.mid")" "$work/ref/${f%.wav}.mid"
    fi
    i=$((i + 1))
  done
  pick=(--model "$models/cv-$k.safetensors")
  [ -z "$models2" ] || pick=(--ensemble "$models/cv-$k.safetensors,$models2/cv-$k.safetensors")
  # shellcheck disable=SC2086
  "$a2m" transcribe "$work/in$k" -o "$work/est/" "${pick[@]}" --jobs 2 ${TRANSCRIBE_OPTS:-} >/dev/null
done
echo "singreal, 3-fold cross-validation (each file scored by the model${models2:+s} that never heard it; folds $folds):"
"$a2m" compare "$work/ref" "$work/est" --csv "$work/singreal.csv" | tail -4
