#!/usr/bin/env bash
# a2m knn and a2m linear on a small synthetic dataset: the metrics they print and write are right (checked
# against `a2m compare --frames`-free arithmetic: a frame's own class at k 1 when a split is scored against
# itself), k is chosen on val, usage errors are exit 2 and bad input one line and exit 1.
. "${BASH_SOURCE%/*}/cli_common.sh"
in="$tmp/in"; mkdir -p "$in"
synth_takes "$in" 6 64
split_six "$in/split.json"
cat >"$in/self.json" <<JSON
{"train": ["voice_001", "voice_002"], "val": ["voice_003"], "test": ["voice_001", "voice_002"]}
JSON
echo '{"train": ["voice_001"], "test": ["voice_006"]}' >"$in/noval.json"
"$bin" dataset "$in" -o "$tmp/ds" >/dev/null 2>&1 || { echo "setup: dataset failed"; exit 1; }
num() { sed -n "s/.*\"$1\": \([0-9.e+-]*\).*/\1/p" "$2" | head -1; }

# k 1 on the training takes themselves: every frame is its own nearest neighbour -> accuracy 1
"$bin" knn "$tmp/ds" --splits "$in/self.json" --k 1 --json "$tmp/self.json" >"$tmp/out.txt" 2>&1 && ok || bad "knn on itself: $(tail -3 "$tmp/out.txt")"
[ "$(num accuracy "$tmp/self.json")" = 1.0 ] && ok || bad "knn k 1 on its own training frames: accuracy $(num accuracy "$tmp/self.json"), want 1"
grep -q "accuracy" "$tmp/out.txt" && grep -q "confusion matrix" "$tmp/out.txt" && grep -q "s to predict" "$tmp/out.txt" && ok || bad "knn report"
# k chosen on val: the JSON lists every k tried (k <= the training frames) and the k kept has the best val accuracy
"$bin" knn "$tmp/ds" --splits "$in/split.json" --context 1 --pca 8 --json "$tmp/knn.json" >/dev/null 2>"$tmp/err.txt" && ok || bad "knn choose k: $(cat "$tmp/err.txt")"
python3 - "$tmp/knn.json" <<'PY' 2>/dev/null && ok || bad "knn k selection ($(cat "$tmp/knn.json" | head -c 400))"
import json, sys
d = json.load(open(sys.argv[1]))
tried = d["k_selection"]
assert [t["k"] for t in tried] == [1, 3, 5, 7, 9, 11, 15, 21, 31, 45, 63, 91, 127]
best = max(t["val_accuracy"] for t in tried)
assert d["k"] == min(t["k"] for t in tried if t["val_accuracy"] == best)
assert d["dim"] == 8 and d["context"] == 1 and 0 < d["explained_variance"] <= 1
assert 0 <= d["accuracy"] <= 1 and d["seconds_predict"] >= 0 and d["train_frames"] == 4 * 666
PY
grep -q "k = " "$tmp/err.txt" && ok || bad "knn does not say which k it chose"
"$bin" knn "$tmp/ds" --splits "$in/noval.json" >/dev/null 2>"$tmp/err.txt" && grep -q 'no "val" split to choose k on: k = 5' "$tmp/err.txt" && ok || bad "knn without val: $(cat "$tmp/err.txt")"
# linear: learns the synthetic takes (clean synthesised notes: well above chance), JSON as knn's
"$bin" linear "$tmp/ds" --splits "$in/split.json" --epochs 20 --json "$tmp/lin.json" >"$tmp/out.txt" 2>&1 && ok || bad "linear: $(tail -3 "$tmp/out.txt")"
acc=$(num accuracy "$tmp/lin.json")
awk -v a="$acc" 'BEGIN { exit !(a > 0.8) }' && ok || bad "linear test accuracy $acc (want > 0.8)"
grep -q '"best_epoch"' "$tmp/lin.json" && grep -q '"seconds_train"' "$tmp/lin.json" && ok || bad "linear JSON fields"
"$bin" linear "$tmp/ds" --splits "$in/split.json" --epochs 2 --json - 2>/dev/null | python3 -c "import json,sys; json.load(sys.stdin)" && ok || bad "linear --json -: not JSON alone"

# usage errors (2) and failures (1, one line naming the file)
expect_fail 2 "" "" -- "$bin" knn
expect_fail 2 "" "" -- "$bin" knn "$tmp/ds" --k 0
expect_fail 2 "" "" -- "$bin" knn "$tmp/ds" --features chroma
expect_fail 2 "" "" -- "$bin" linear "$tmp/ds" --lr -1
expect_fail 2 "" "" -- "$bin" linear "$tmp/ds" --bogus
# the checks after parsing are one function for both commands: each must still make them
for c in knn linear; do
  expect_fail 2 "" "" -- "$bin" $c
  expect_fail 2 "" "" -- "$bin" $c "$tmp/ds" "$tmp/ds"
  expect_fail 2 "--features chroma: must be cqt, mel, mfcc or lpc" "" -- "$bin" $c "$tmp/ds" --features chroma
  echo keep >"$tmp/exists.json"
  expect_fail 1 "$tmp/exists.json" "" -- "$bin" $c "$tmp/ds" --splits "$in/split.json" --json "$tmp/exists.json"
  [ "$(cat "$tmp/exists.json")" = keep ] && ok || bad "$c replaced an existing --json file without --force"
done
expect_fail 1 "" "" -- "$bin" knn "$tmp/ds" --splits "$in/noval.json" --k 1000
expect_fail 1 "PCA to 100000 axes" "" -- "$bin" knn "$tmp/ds" --splits "$in/split.json" --pca 100000
expect_fail 1 "$tmp/ds: holds cqt features, not mel" "" -- "$bin" knn "$tmp/ds" --splits "$in/split.json" --features mel
expect_fail 1 "$tmp/nothing" "" -- "$bin" linear "$tmp/nothing" --splits "$in/split.json"
echo '{"train": ["voice_009"], "test": ["voice_006"]}' >"$in/unknown.json"
expect_fail 1 "voice_009" "" -- "$bin" knn "$tmp/ds" --splits "$in/unknown.json"
# a damaged dataset: features.npy cut short, a split that is not JSON
cp -r "$tmp/ds" "$tmp/cut"; head -c 5000 "$tmp/ds/features.npy" >"$tmp/cut/features.npy"
for c in knn linear; do
  expect_fail 1 "features.npy" "" -- "$bin" $c "$tmp/cut" --splits "$in/split.json"
done
echo '{"train": [' >"$in/broken.json"
expect_fail 1 "broken.json" "" -- "$bin" linear "$tmp/ds" --splits "$in/broken.json"
"$bin" help | grep -q "^  knn " && "$bin" help | grep -q "^  linear " && ok || bad "help lists knn and linear"
finish
