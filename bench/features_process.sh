#!/usr/bin/env bash
# Whole-process feature extraction over the 45 takes of the seed test split (a2m features --kind mel|mfcc|lpc
# DIR: start-up, reading, features, .npy writing, all in the measured time) by hyperfine, beside the same
# features computed in-process by numpy (bench/features_numpy.py: librosa 0.10's algorithms written out in
# numpy, checked against the librosa references; librosa itself is not packaged by Debian 12), one thread each.
# Usage: bench/features_process.sh BUILD_DIR   (needs hyperfine, /usr/bin/python3 with numpy, ../shared)
set -euo pipefail
build=${1:-build}
a2m="$build/a2m"
shared=${A2M_SHARED:-../shared}
command -v hyperfine >/dev/null || { echo "features_process: hyperfine not installed (scripts/install-deps.sh)"; exit 0; }
[ -f "$shared/data/seed/split.json" ] || { echo "features_process: $shared/data/seed missing"; exit 0; }
tmp=$(mktemp -d /tmp/a2m_bench_feat.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/test"
for n in $(tr -d '\n' <"$shared/data/seed/split.json" | grep -o '"test": *\[[^]]*\]' | grep -o 'voice_[0-9]*'); do
  ln -s "$(realpath "$shared/data/seed/audio/$n.wav")" "$tmp/test/$n.wav"
done
takes=$(ls "$tmp/test" | wc -l)
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
for k in mel mfcc lpc; do
  hyperfine --warmup 1 --runs 5 --export-json "$tmp/$k.json" -n "a2m features --kind $k ($takes takes)" \
    "$a2m features --kind $k $tmp/test -o $tmp/out_$k --force" | grep -vE "^\s*$" >&2
  # per take: wall clock (mean) and CPU time (user + system: what a loaded machine does not inflate)
  read -r a ac < <(/usr/bin/python3 -c "import json,sys; r = json.load(open(sys.argv[1]))['results'][0]
print(r['mean'] * 1000 / $takes, (r['user'] + r['system']) * 1000 / $takes)" "$tmp/$k.json")
  if /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
    read -r r rc < <(/usr/bin/python3 "$(dirname "$0")/features_numpy.py" "$tmp/test" $k 3)
    printf "%-5s a2m %6.2f ms a take (%5.2f CPU; whole process / %d)   numpy in-process %7.2f ms (%6.2f CPU)   %5.1fx (%5.1fx CPU)\n" \
      $k "$a" "$ac" "$takes" "$r" "$rc" "$(awk "BEGIN { print $r / $a }")" "$(awk "BEGIN { print $rc / $ac }")"
  else
    printf "%-5s a2m %6.2f ms a take (%5.2f CPU; whole process / %d)   (numpy missing: no reference)\n" $k "$a" "$ac" "$takes"
  fi
done
