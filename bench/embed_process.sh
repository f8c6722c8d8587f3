#!/usr/bin/env bash
# UMAP of the seed test split (45 takes, 29,970 CQT frames x 252 bins) as a user runs it, whole processes side by
# side under hyperfine: `a2m embed --threads 2` and umap-learn (Debian's umap-learn 0.5.3, bench/umap_learn.py:
# the same frames and parameters, n_neighbors 5, min_dist 0.01, random_state 0; numba compiles in every new
# process, as a user's run does). Then the trustworthiness (k 5) of both embeddings, by `a2m trust`.
# Usage: bench/embed_process.sh BUILD_DIR [RUNS]   (needs hyperfine; umap-learn when installed; ../shared)
set -euo pipefail
build=${1:-build}
runs=${2:-3}
a2m="$build/a2m"
shared=${A2M_SHARED:-../shared}
command -v hyperfine >/dev/null || { echo "embed_process: hyperfine not installed (scripts/install-deps.sh)"; exit 0; }
[ -f "$shared/data/seed/split.json" ] || { echo "embed_process: no $shared/data/seed (set A2M_SHARED)"; exit 0; }
tmp=$(mktemp -d /tmp/a2m_bench_embed.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
"$a2m" dataset "$shared/data/seed/audio" -o "$tmp/ds" >/dev/null 2>&1
split="$shared/data/seed/split.json"
cmds=(-n "a2m embed (2 threads)" "$a2m embed $tmp/ds --splits $split --threads 2 -o $tmp/a.npy --force")
have_umap=0
if /usr/bin/python3 -c "import umap" 2>/dev/null; then
  have_umap=1
  cmds+=(-n "umap-learn 0.5.3 (reference)"
         "/usr/bin/python3 $(dirname "$0")/umap_learn.py $tmp/ds $split test $tmp/u.npy --features-out $tmp/x.npy")
else
  echo "embed_process: umap-learn not installed (apt-get install umap-learn): a2m alone"
fi
hyperfine --runs "$runs" --export-json "$tmp/h.json" "${cmds[@]}" 2>/dev/null | grep -vE "^\s*$"
python3 - "$tmp/h.json" <<'PY' 2>/dev/null || true
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(f"{r['command']:32s} wall {r['mean']:7.2f} s  CPU (user + sys) {r['user'] + r['system']:7.2f} s")
PY
if [ "$have_umap" = 1 ]; then
  echo "trustworthiness (k 5): a2m $("$a2m" trust "$tmp/x.npy" "$tmp/a.npy" --threads 2 | sed 's/.*: //')," \
       "umap-learn $("$a2m" trust "$tmp/x.npy" "$tmp/u.npy" --threads 2 | sed 's/.*: //')"
fi
