#!/usr/bin/env bash
# make search-seed: a2m search on the seed dataset with the original's space (hidden, lr log, batch; plain
# cross-entropy as the original trained), TPE + median pruner. Resumable: run it again after an interruption
# (the study file keeps every finished trial; a killed trial is re-run). TRIALS, EPOCHS, THREADS override.
set -euo pipefail
build=${1:-build}
out=${OUT:-out/search-seed}
mkdir -p "$out"
[ -d "$out/seed.ds" ] || "$build/a2m" dataset ../shared/data/seed/audio -o "$out/seed.ds"
nice -n 10 "$build/a2m" search "$out/seed.ds" --splits ../shared/data/seed/split.json --study "$out/study.db" \
  --space data/search/original.json --trials "${TRIALS:-12}" --epochs "${EPOCHS:-30}" --threads "${THREADS:-1}" \
  --sampler tpe --pruner median --objective val_loss --seed 0
"$build/a2m" search --show "$out/study.db"
"$build/a2m" plot search "$out/study.db" -o "$out/plots" --force
