#!/usr/bin/env bash
# Nested cross-validation of decoder settings on singreal: every option set (one argument each, transcribe options)
# is scored by scripts/eval-anypitch-cv.sh (each file by the fold model that never heard it); then for each fold k
# the set with the best mean $METRIC (default COn_f1) over the OTHER folds' files is chosen and scored on fold k's
# files. The figure printed last is the mean over all 18 files of those held-out scores: no setting is both chosen
# and scored on one file. Usage: scripts/eval-anypitch-nested.sh BUILD_DIR "OPTS1" "OPTS2" ...
set -euo pipefail
build=$1
shift
models=${A2M_WORK:-data/anypitch}
out=$models/nested
rm -rf "$out" && mkdir -p "$out"
i=0
for opts in "$@"; do
  TRANSCRIBE_OPTS="$opts" "$(dirname "$0")/eval-anypitch-cv.sh" "$build" >/dev/null 2>&1
  cp "$models/eval-cv/singreal.csv" "$out/$i.csv"
  printf '%s\n' "$opts" >"$out/$i.opts"
  i=$((i + 1))
done
METRIC=${METRIC:-COn_f1} /usr/bin/python3 - "$out" "$i" <<'PY'
import csv, os, sys
out, n = sys.argv[1], int(sys.argv[2])
metric = os.environ["METRIC"]
rows = []
for i in range(n):
    with open(f"{out}/{i}.csv") as f:
        r = sorted(csv.DictReader(f), key=lambda r: r["name"])  # the files in the order the folds are cut
    rows.append([float(x[metric]) for x in r])
opts = [open(f"{out}/{i}.opts").read().strip() for i in range(n)]
m = len(rows[0])
mean = lambda v, idx: sum(v[j] for j in idx) / len(idx)
for i in range(n):
    print(f"{metric} {mean(rows[i], range(m)):.4f} (all {m} files, fitted)  {opts[i] or '(defaults)'}")
held = [0.0] * m
for k in range(3):
    train = [j for j in range(m) if j % 3 != k]
    test = [j for j in range(m) if j % 3 == k]
    best = max(range(n), key=lambda i: mean(rows[i], train))
    for j in test:
        held[j] = rows[best][j]
    print(f"fold {k}: chosen on the other folds ({mean(rows[best], train):.4f}): {opts[best] or '(defaults)'}; "
          f"held out {mean(rows[best], test):.4f}")
print(f"nested 3-fold {metric}: {sum(held) / m:.4f}")
PY
