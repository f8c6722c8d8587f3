#!/usr/bin/env bash
# CLI tests of a2m search on a tiny synthetic dataset: a study runs, --show prints the trials and the train
# options that reproduce the best (checked by running them), two workers share one study, a worker killed
# with -9 loses no complete trial and its running trial is failed and re-run, Ctrl-C marks the trial failed
# (exit 130), bad inputs are one-line errors naming the file, and plot search draws the figures.
. "${BASH_SOURCE%/*}/cli_common.sh"
pids=()
at_exit 'for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done'
# --- a tiny dataset of synthetic takes (4 s) ---
synth_takes "$tmp/takes" 6 moving --transpose -12
echo '{"train": ["voice_001", "voice_002", "voice_003", "voice_004"], "val": ["voice_005", "voice_006"]}' >"$tmp/split.json"
expect_ok "$bin" dataset "$tmp/takes" -o "$tmp/ds"
cat >"$tmp/space.json" <<'JSON'
{"hidden": {"type": "categorical", "choices": [4, 8]},
 "lr": {"type": "float", "low": 1e-3, "high": 3e-2, "log": true},
 "batch": 2, "label-smoothing": {"type": "float", "low": 0, "high": 0.1, "step": 0.05}}
JSON
S=("$bin" search "$tmp/ds" --splits "$tmp/split.json" --space "$tmp/space.json")

# --- a study, --show, the best reproduced by a2m train ---
expect_ok "${S[@]}" --study "$tmp/a.db" --trials 6 --epochs 3
"$bin" search --show "$tmp/a.db" >"$tmp/show.txt" 2>&1 && ok || bad "show: $(cat "$tmp/show.txt")"
grep -q "^6 trials: " "$tmp/show.txt" && ok || bad "show counts: $(cat "$tmp/show.txt")"
[ "$(grep -cE '^ +[0-5]  (complete|pruned) ' "$tmp/show.txt")" -eq 6 ] && ok || bad "show rows: $(cat "$tmp/show.txt")"
best=$(sed -n 's/^best: trial [0-9]*, val_loss \([0-9.e-]*\)$/\1/p' "$tmp/show.txt")
cmd=$(grep "^  a2m train " "$tmp/show.txt" | sed 's/^  a2m train //; s/ -o MODEL.safetensors$//')
[ -n "$best" ] && [ -n "$cmd" ] && ok || bad "show best: $(cat "$tmp/show.txt")"
# shellcheck disable=SC2086
expect_ok "$bin" train $cmd --log "$tmp/best.csv" -o "$tmp/best.safetensors"
minloss=$(awk -F, 'NR > 1 && (m == "" || $3 < m) {m = $3} END {print m}' "$tmp/best.csv")
awk -v a="$best" -v b="$minloss" 'BEGIN {d = a - b; exit !(d < 2e-6 && d > -2e-6)}' && ok ||
  bad "a2m train with the best trial's options: val loss $minloss, the study's $best ($cmd)"
"$bin" search --show "$tmp/a.db" --json >"$tmp/show.json" && ok || bad "show --json"
for key in '"objective": "val_loss"' '"direction": "minimize"' '"sampler": "tpe"' '"train_args": "--hidden' '"intermediate": \['; do
  grep -q -- "$key" "$tmp/show.json" && ok || bad "show --json lacks $key"
done
[ "$(grep -c '"number":' "$tmp/show.json")" -eq 7 ] && ok || bad "show --json: 6 trials + best"
# the same --study again: nothing left to run (6 trials made), settings taken from the study
expect_ok "$bin" search "$tmp/ds" --splits "$tmp/split.json" --study "$tmp/a.db" --trials 6
grep -q "this worker ran 0 trials" "$tmp/err.txt" && ok || bad "a finished study runs nothing: $(cat "$tmp/err.txt")"
expect_fail 1 "$tmp/a.db" "" -- "${S[@]}" --study "$tmp/a.db" --epochs 4
expect_fail 1 "$tmp/a.db" "" -- "$bin" search "$tmp/ds" --splits "$tmp/split.json" --study "$tmp/a.db" --objective val_f1

# --- maximising val_f1 with random search ---
expect_ok "${S[@]}" --study "$tmp/f.db" --trials 2 --epochs 2 --objective val_f1 --sampler random
"$bin" search --show "$tmp/f.db" --json >"$tmp/f.json"
grep -q '"direction": "maximize"' "$tmp/f.json" && grep -q '"sampler": "random"' "$tmp/f.json" && ok || bad "val_f1 study: $(head -8 "$tmp/f.json")"
"$bin" search --show "$tmp/f.db" | grep -q "^best: trial [01], val_f1 0\.[0-9]" && ok || bad "val_f1 best"

# --- plot search ---
expect_ok "$bin" plot search "$tmp/a.db" -o "$tmp/plots"
for f in history.png slice_hidden.png slice_lr.png slice_label-smoothing.png; do
  [ -s "$tmp/plots/$f" ] && ok || bad "plot search: no $f ($(ls "$tmp/plots" 2>&1))"
done
[ ! -e "$tmp/plots/slice_batch.png" ] && ok || bad "a fixed parameter gets no slice"
expect_fail 1 "$tmp/plots" "" -- "$bin" plot search "$tmp/a.db" -o "$tmp/plots"

# --- two workers at once on one study: 8 trials between them, each number once ---
"${S[@]}" --study "$tmp/b.db" --trials 8 --epochs 3 --pruner none >"$tmp/w1.txt" 2>&1 & p1=$!; pids+=($p1)
"${S[@]}" --study "$tmp/b.db" --trials 8 --epochs 3 --pruner none >"$tmp/w2.txt" 2>&1 & p2=$!; pids+=($p2)
wait $p1 && wait $p2 && ok || bad "two workers: $(tail -n 3 "$tmp/w1.txt" "$tmp/w2.txt")"
"$bin" search --show "$tmp/b.db" --json >"$tmp/b.json"
[ "$(grep -c '"state": "complete"' "$tmp/b.json")" -ge 8 ] && ok || bad "two workers: 8 complete trials"
n1=$(sed -n 's/.*this worker ran \([0-9]*\) trial.*/\1/p' "$tmp/w1.txt"); n2=$(sed -n 's/.*this worker ran \([0-9]*\) trial.*/\1/p' "$tmp/w2.txt")
[ $((n1 + n2)) -eq 8 ] && [ "$n1" -ge 1 ] && [ "$n2" -ge 1 ] && ok || bad "two workers shared the trials: $n1 + $n2"

# --- kill -9 of a worker: the complete trial stays, the running trial is failed and re-run ---
K=("${S[@]}" --study "$tmp/c.db" --trials 2 --epochs 40 --pruner none --heartbeat 0.3)
expect_ok "${K[@]}" --trials 1 # trial 0, complete
"${K[@]}" >"$tmp/k.txt" 2>&1 & pk=$!; pids+=($pk)
for _ in $(seq 3000); do grep -q "trial 1 epoch" "$tmp/k.txt" && break; sleep 0.1; done
kill -9 $pk; wait $pk 2>/dev/null
"$bin" search --show "$tmp/c.db" >"$tmp/c1.txt"
grep -qE '^ +0  complete ' "$tmp/c1.txt" && grep -qE '^ +1  running ' "$tmp/c1.txt" && ok || bad "after kill -9: $(cat "$tmp/c1.txt")"
sleep 1 # the heartbeat is 0.3 s: the killed trial is stale after 0.6 s
expect_ok "${K[@]}"
"$bin" search --show "$tmp/c.db" >"$tmp/c2.txt"
grep -qE '^ +0  complete ' "$tmp/c2.txt" && grep -qE '^ +1  failed ' "$tmp/c2.txt" && grep -qE '^ +2  complete ' "$tmp/c2.txt" &&
  grep -q "^3 trials: 2 complete, 0 pruned, 1 failed" "$tmp/c2.txt" && ok || bad "after the second worker: $(cat "$tmp/c2.txt")"
# the re-run has trial 1's parameters
p1=$(grep -E '^ +1  failed ' "$tmp/c2.txt" | awk '{print $6, $7, $8, $9}')
grep -E '^ +2  complete ' "$tmp/c2.txt" | awk '{print $6, $7, $8, $9}' | grep -qxF "$p1" && ok || bad "trial 1 re-run with its parameters: $p1"

# --- Ctrl-C / SIGTERM: the running trial is failed, exit 128 + signal, the study readable (a background job of
# a script ignores SIGINT, so SIGTERM stands in: the same handler takes both) ---
"${S[@]}" --study "$tmp/d.db" --trials 3 --epochs 2000 --pruner none >"$tmp/i.txt" 2>&1 & pi=$!; pids+=($pi)
for _ in $(seq 3000); do grep -q "trial 0 epoch" "$tmp/i.txt" && break; sleep 0.1; done
kill -TERM $pi; wait $pi; rc=$?
[ $rc -eq 143 ] && ok || bad "SIGTERM: exit $rc: $(tail -n 2 "$tmp/i.txt")"
grep -q "interrupted: trial 0 marked failed, to be re-run" "$tmp/i.txt" && ok || bad "SIGTERM message: $(tail -n 2 "$tmp/i.txt")"
"$bin" search --show "$tmp/d.db" >"$tmp/d.txt" && grep -qE '^ +0  failed ' "$tmp/d.txt" && ok || bad "after SIGTERM: $(cat "$tmp/d.txt")"

# --- bad inputs ---
echo '{"lr": {"type": "float", "low": 0.1, "high": 0.01}}' >"$tmp/bad.json"
expect_fail 1 "$tmp/bad.json" "" -- "$bin" search "$tmp/ds" --splits "$tmp/split.json" --study "$tmp/e.db" --space "$tmp/bad.json"
[ ! -e "$tmp/e.db" ] && ok || bad "a bad space leaves no study"
echo 'not json' >"$tmp/bad2.json"
expect_fail 1 "$tmp/bad2.json" "" -- "$bin" search "$tmp/ds" --splits "$tmp/split.json" --study "$tmp/e.db" --space "$tmp/bad2.json"
expect_fail 1 "$tmp/nope.json" "" -- "$bin" search "$tmp/ds" --splits "$tmp/split.json" --study "$tmp/e.db" --space "$tmp/nope.json"
expect_fail 1 "$tmp/split.json" "" -- "$bin" search "$tmp/ds" --splits "$tmp/split.json" --study "$tmp/split.json"
expect_fail 1 "$tmp/missing.db" "" -- "$bin" search --show "$tmp/missing.db"
[ ! -e "$tmp/missing.db" ] && ok || bad "--show made a study"
head -c 3000 /dev/urandom >"$tmp/junk.db"
expect_fail 1 "$tmp/junk.db" "" -- "$bin" search --show "$tmp/junk.db"
expect_fail 1 "$tmp/junk.db" "" -- "$bin" search "$tmp/ds" --splits "$tmp/split.json" --study "$tmp/junk.db"
expect_fail 1 "/dev/null" "" -- "$bin" search "$tmp/ds" --splits "$tmp/split.json" --study /dev/null
expect_fail 1 "PostgreSQL" "" -- "$bin" search --show --study x --storage "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2"
expect_fail 2 "" "" -- "$bin" search "$tmp/ds" --splits "$tmp/split.json" --study "$tmp/e.db" --sampler grid
expect_fail 2 "" "" -- "$bin" search "$tmp/ds" --splits "$tmp/split.json" --study "$tmp/e.db" --pruner hyperband
expect_fail 2 "" "" -- "$bin" search "$tmp/ds" --splits "$tmp/split.json" --study "$tmp/e.db" --trials 0
expect_fail 2 "" "" -- "$bin" search "$tmp/ds" --study "$tmp/e.db"
expect_fail 2 "" "" -- "$bin" search --show
expect_fail 2 "" "" -- "$bin" search "$tmp/ds" --splits "$tmp/split.json" --study "$tmp/e.db" --json
"$bin" search --help | grep -q "^usage: a2m search DATASET --splits SPLIT.json --study STUDY.db" && ok || bad "help"

finish
