#!/usr/bin/env bash
# CLI tests of a2m embed, a2m trust and a2m plot embed on a tiny synthetic dataset: outputs and their
# shapes, the same bits for a seed at any --threads, real trustworthiness values, hidden states of the shipped
# model, and bad input -> exit 1 with one line naming the file (usage errors exit 2), nothing left behind.
. "${BASH_SOURCE%/*}/cli_common.sh"
npy_rows() { od -An -c -N 128 "$1" | tr -d ' \n' | sed -n "s/.*'shape':(\([0-9]*\).*/\1/p"; }

mkdir -p "$tmp/takes"
for i in 1 2 3; do
  expect_ok "$bin" synth --notes "$((60 + 4 * (i % 2))):0.3-1.6,67:2.0-3.5" --write-midi "$tmp/takes/midi_00$i.mid" -o "$tmp/plain.wav" --force
  expect_ok "$bin" synth "$tmp/takes/midi_00$i.mid" --duration 4 --seed $i -o "$tmp/takes/voice_00$i.wav"
done
rm -f "$tmp/plain.wav"
printf '{"train": ["voice_001"], "val": ["voice_002"], "test": ["voice_003", "voice_002"]}\n' >"$tmp/split.json"
expect_ok "$bin" dataset "$tmp/takes" -o "$tmp/ds"

# features of the test split (2 takes, 1332 frames): EMB [1332 x 2] float32, labels [1332] int64, JSON figures
expect_ok "$bin" embed "$tmp/ds" --splits "$tmp/split.json" --trust --json "$tmp/e.json" --threads 1 -o "$tmp/e.npy"
[ "$(npy_rows "$tmp/e.npy")" = 1332 ] && [ "$(stat -c %s "$tmp/e.npy")" = $((128 + 1332 * 8)) ] && ok || bad "e.npy shape: $(head -c 128 "$tmp/e.npy")"
[ "$(npy_rows "$tmp/e.labels.npy")" = 1332 ] && grep -q "<i8" "$tmp/e.labels.npy" && ok || bad "e.labels.npy: $(head -c 128 "$tmp/e.labels.npy")"
trust=$(sed -n 's/.*"trustworthiness": \([0-9.]*\).*/\1/p' "$tmp/e.json")
awk -v t="$trust" 'BEGIN { exit !(t > 0.9 && t <= 1) }' && ok || bad "trustworthiness '$trust' (expected > 0.9: synthetic takes, one voice)"
grep -q '"frames": 1332' "$tmp/e.json" && grep -q '"dims": 252' "$tmp/e.json" && grep -q '"n_epochs": 500' "$tmp/e.json" && ok || bad "e.json: $(cat "$tmp/e.json")"
grep -q "trustworthiness (k 5): $(printf '%.4f' "$trust")" "$tmp/out.txt" && ok || bad "printed trust: $(cat "$tmp/out.txt")"
# the same bits with 2 threads; another seed, another picture
expect_ok "$bin" embed "$tmp/ds" --splits "$tmp/split.json" --threads 2 -o "$tmp/e2.npy"
cmp -s "$tmp/e.npy" "$tmp/e2.npy" && cmp -s "$tmp/e.labels.npy" "$tmp/e2.labels.npy" && ok || bad "1 and 2 threads differ"
expect_ok "$bin" embed "$tmp/ds" --splits "$tmp/split.json" --seed 7 -o "$tmp/e7.npy"
cmp -s "$tmp/e.npy" "$tmp/e7.npy" && bad "seeds 0 and 7 gave the same embedding" || ok
# --max-frames, --split, --epochs, random initialisation
expect_ok "$bin" embed "$tmp/ds" --splits "$tmp/split.json" --split train --max-frames 300 --epochs 50 --init random -o "$tmp/m.npy"
[ "$(npy_rows "$tmp/m.npy")" = 300 ] && [ "$(npy_rows "$tmp/m.labels.npy")" = 300 ] && ok || bad "--max-frames 300"
# trustworthiness of an embedding against itself is 1; of the embedding above against itself, via the command
expect_ok "$bin" trust "$tmp/e.npy" "$tmp/e.npy" --json
grep -q '"trustworthiness": 1,\|"trustworthiness": 1}' "$tmp/out.txt" && ok || bad "self trustworthiness: $(cat "$tmp/out.txt")"
# hidden states of the shipped seed model: 128 values per frame
if [ -f "$src/models/a2m-crnn.safetensors" ]; then
  expect_ok "$bin" embed "$tmp/ds" --splits "$tmp/split.json" --source hidden --model "$src/models/a2m-crnn.safetensors" --json - -o "$tmp/h.npy"
  grep -q '"dims": 128' "$tmp/out.txt" && grep -q '"source": "hidden"' "$tmp/out.txt" && ok || bad "hidden: $(cat "$tmp/out.txt")"
fi
# the picture: a PNG of 1000 x 760
expect_ok "$bin" plot embed "$tmp/e.npy" -o "$tmp/e.png"
[ "$(od -An -tu1 -j16 -N8 "$tmp/e.png" | tr -s ' ')" = " 0 0 3 232 0 0 2 248" ] && ok || bad "e.png size: $(od -An -tu1 -j16 -N8 "$tmp/e.png")"
"$bin" help | grep -q "plot embed " && ok || bad "help lacks plot embed"

# errors
expect_fail 2 "--model" "$tmp/x" -- "$bin" embed "$tmp/ds" --splits "$tmp/split.json" --source hidden -o "$tmp/x.npy"
expect_fail 2 "--source" "$tmp/x" -- "$bin" embed "$tmp/ds" --source pixels -o "$tmp/x.npy"
expect_fail 2 "/dev/null" "" -- "$bin" embed "$tmp/ds" --splits "$tmp/split.json" -o /dev/null
expect_fail 2 "-o" "" -- "$bin" embed "$tmp/ds" --splits "$tmp/split.json"
expect_fail 1 "exists" "" -- "$bin" embed "$tmp/ds" --splits "$tmp/split.json" -o "$tmp/e.npy"
# all outputs or none: the figures cannot be written, so neither .npy stays
# all outputs or none: the figures cannot be written (after the work, so progress lines come before the error)
"$bin" embed "$tmp/ds" --splits "$tmp/split.json" --json /dev/full -o "$tmp/full.npy" 2>"$tmp/full.err"
rc=$?
[ $rc = 1 ] && tail -n 1 "$tmp/full.err" | grep -q '^a2m.*/dev/full: write failed' && ok ||
  bad "embed --json /dev/full: exit $rc, $(tail -n 1 "$tmp/full.err")"
ls "$tmp"/full*.npy 2>/dev/null && bad "embed --json /dev/full left its .npy outputs" || ok
expect_fail 1 "split.json" "$tmp/x" -- "$bin" embed "$tmp/ds" --splits "$tmp/split.json" --split nosuch -o "$tmp/x.npy"
expect_fail 1 "$tmp/nods" "$tmp/x" -- "$bin" embed "$tmp/nods" --splits "$tmp/split.json" -o "$tmp/x.npy"
expect_fail 1 "e.json" "$tmp/x" -- "$bin" embed "$tmp/ds" --splits "$tmp/split.json" --source hidden --model "$tmp/e.json" -o "$tmp/x.npy"
expect_ok "$bin" train "$tmp/ds" --split "$tmp/split.json" --model unet --epochs 1 -o "$tmp/unet.safetensors"
expect_fail 1 "unet.safetensors" "$tmp/x" -- "$bin" embed "$tmp/ds" --splits "$tmp/split.json" --source hidden --model "$tmp/unet.safetensors" -o "$tmp/x.npy"
expect_fail 1 "labels.npy" "$tmp/x" -- "$bin" plot embed "$tmp/e.npy" --labels "$tmp/m.labels.npy" -o "$tmp/x.png"
expect_fail 1 "e.labels.npy" "$tmp/x" -- "$bin" plot embed "$tmp/e.labels.npy" -o "$tmp/x.png"
expect_fail 1 "m.npy" "" -- "$bin" trust "$tmp/e.npy" "$tmp/m.npy"
expect_fail 1 "split.json" "" -- "$bin" trust "$tmp/split.json" "$tmp/e.npy"
expect_fail 2 "--k" "" -- "$bin" trust "$tmp/e.npy" "$tmp/e.npy" --k 0
[ -z "$(find "$tmp" -name '*.tmp.*')" ] && ok || bad "temporaries left: $(find "$tmp" -name '*.tmp.*')"

finish
