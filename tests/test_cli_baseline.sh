#!/usr/bin/env bash
# a2m knn and a2m linear on a small synthetic dataset: the metrics they print and write are right (checked
# against `a2m compare --frames`-free arithmetic: a frame's own class at k 1 when a split is scored against
# itself), k is chosen on val, usage errors are exit 2 and bad input one line and exit 1.
set -u
bin=${A2M_BIN:?A2M_BIN not set}
tmp=$(mktemp -d /tmp/a2m_test_baseline.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fails=0; passes=0
ok() { passes=$((passes + 1)); }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
in="$tmp/in"; mkdir -p "$in"
for i in 1 2 3 4 5 6; do
  n=$((60 + 4 * (i % 3)))
  "$bin" synth --notes "$n:0.3-1.6,64:2.0-3.5" --write-midi "$in/midi_00$i.mid" -o "$in/plain.wav" --force >/dev/null 2>&1
  "$bin" synth "$in/midi_00$i.mid" --duration 4 --seed $i -o "$in/voice_00$i.wav" >/dev/null 2>&1
done
rm -f "$in/plain.wav"
cat >"$in/split.json" <<JSON
{"train": ["voice_001", "voice_002", "voice_003", "voice_004"], "val": ["voice_005"], "test": ["voice_006"]}
JSON
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
e() { local code=$1; shift; "$@" >/dev/null 2>"$tmp/err.txt"; local rc=$?; [ $rc -eq "$code" ] && ok || bad "$* : exit $rc, want $code ($(head -c 200 "$tmp/err.txt"))"; }
e 2 "$bin" knn
e 2 "$bin" knn "$tmp/ds" --k 0
e 2 "$bin" knn "$tmp/ds" --features chroma
e 2 "$bin" linear "$tmp/ds" --lr -1
e 2 "$bin" linear "$tmp/ds" --bogus
# the checks after parsing are one function for both commands: each must still make them
for c in knn linear; do
  e 2 "$bin" $c
  e 2 "$bin" $c "$tmp/ds" "$tmp/ds"
  e 2 "$bin" $c "$tmp/ds" --features chroma
  grep -q -- "--features chroma: must be cqt, mel, mfcc or lpc" "$tmp/err.txt" && ok || bad "$c kind usage: $(cat "$tmp/err.txt")"
  echo keep >"$tmp/exists.json"
  e 1 "$bin" $c "$tmp/ds" --splits "$in/split.json" --json "$tmp/exists.json"
  [ "$(cat "$tmp/exists.json")" = keep ] && ok || bad "$c replaced an existing --json file without --force"
done
e 1 "$bin" knn "$tmp/ds" --splits "$in/noval.json" --k 1000
e 1 "$bin" knn "$tmp/ds" --splits "$in/split.json" --pca 100000
grep -q "PCA to 100000 axes" "$tmp/err.txt" && ok || bad "pca message: $(cat "$tmp/err.txt")"
e 1 "$bin" knn "$tmp/ds" --splits "$in/split.json" --features mel
grep -q "$tmp/ds: holds cqt features, not mel" "$tmp/err.txt" && ok || bad "kind message: $(cat "$tmp/err.txt")"
e 1 "$bin" linear "$tmp/nothing" --splits "$in/split.json"
[ "$(wc -l <"$tmp/err.txt")" -eq 1 ] && grep -q "$tmp/nothing" "$tmp/err.txt" && ok || bad "missing dataset: $(cat "$tmp/err.txt")"
echo '{"train": ["voice_009"], "test": ["voice_006"]}' >"$in/unknown.json"
e 1 "$bin" knn "$tmp/ds" --splits "$in/unknown.json"
grep -q "voice_009" "$tmp/err.txt" && ok || bad "unknown take: $(cat "$tmp/err.txt")"
# a damaged dataset: features.npy cut short, a split that is not JSON
cp -r "$tmp/ds" "$tmp/cut"; head -c 5000 "$tmp/ds/features.npy" >"$tmp/cut/features.npy"
for c in knn linear; do
  e 1 "$bin" $c "$tmp/cut" --splits "$in/split.json"
  [ "$(wc -l <"$tmp/err.txt")" -eq 1 ] && grep -q "features.npy" "$tmp/err.txt" && ok || bad "$c on a cut dataset: $(cat "$tmp/err.txt")"
done
echo '{"train": [' >"$in/broken.json"
e 1 "$bin" linear "$tmp/ds" --splits "$in/broken.json"
grep -q "broken.json" "$tmp/err.txt" && ok || bad "broken split: $(cat "$tmp/err.txt")"
"$bin" help | grep -q "^  knn " && "$bin" help | grep -q "^  linear " && ok || bad "help lists knn and linear"
echo "baseline CLI: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
