#!/usr/bin/env bash
# Whole-process feature extraction over the 45 takes of the seed test split (a2m features --kind mel|mfcc|lpc
# DIR: start-up, reading, features, .npy writing, all in the measured time; a new output folder each run, as a
# user's first run writes one, the last run's folder moved aside, not deleted: see below) by hyperfine, with
# --threads 1 and the default (every core of the machine), beside the same features computed in-process by numpy
# (bench/features_numpy.py: librosa 0.10's code path written out in numpy/scipy, checked against the librosa
# references; librosa itself is not packaged by Debian 12), one thread (numpy's FFT is single-threaded;
# OPENBLAS_NUM_THREADS=1 for its einsum). Per take: wall clock and CPU time (user + system).
# Usage: bench/features_process.sh BUILD_DIR   (needs hyperfine, /usr/bin/python3 with numpy + scipy, ../shared)
set -euo pipefail
build=${1:-build}
a2m="$build/a2m"
shared=${A2M_SHARED:-../shared}
command -v hyperfine >/dev/null || { echo "features_process: hyperfine not installed (scripts/install-deps.sh)"; exit 0; }
[ -f "$shared/data/seed/split.json" ] || { echo "features_process: $shared/data/seed missing"; exit 0; }
tmp=$(mktemp -d /tmp/a2m_bench_feat.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/test" "$tmp/old"
# Each run's output folder is moved into old/ before the next run, and everything is deleted only at the end. On
# an ext4 without a journal (this machine's /) a new inode skips every free inode freed in the last 1-6 minutes
# (recently_deleted in fs/ext4/ialloc.c, checked only without a journal), so deleting the 45 files before each run
# made each later run, and each later kind, create its files more slowly: the bench measured its own deletions.
# perf record of a2m features --kind mfcc --threads 1, 14 runs in a row deleting the last run's files:
# find_inode_bit 0.1 ms a run at first, 2.0 ms from the tenth on (0.045 ms a take; ~10 ms a run after a few
# thousand deletions); moved aside instead: 0.0-0.3 ms in every run. With two threads the scan also holds the
# folder's lock (ext4_create under the parent's i_rwsem), so the threads wait for each other's file creation.
for n in $(tr -d '\n' <"$shared/data/seed/split.json" | grep -o '"test": *\[[^]]*\]' | grep -o 'voice_[0-9]*'); do
  ln -s "$(realpath "$shared/data/seed/audio/$n.wav")" "$tmp/test/$n.wav"
done
takes=$(ls "$tmp/test" | wc -l)
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
per_take() { /usr/bin/python3 -c "import json,sys; r = json.load(open(sys.argv[1]))['results'][int(sys.argv[2])]
print(r['mean'] * 1000 / $takes, (r['user'] + r['system']) * 1000 / $takes)" "$@"; }
for k in mel mfcc lpc; do
  aside="[ ! -e $tmp/out_$k ] || mv $tmp/out_$k \$(mktemp -d $tmp/old/run.XXXXXX)/" # not rm -rf: see above
  hyperfine --warmup 1 --runs 5 --export-json "$tmp/$k.json" --prepare "$aside" \
    -n "a2m features --kind $k --threads 1 ($takes takes)" "$a2m features --kind $k $tmp/test -o $tmp/out_$k --threads 1" \
    -n "a2m features --kind $k (default: every core, $(getconf _NPROCESSORS_ONLN) here)" "$a2m features --kind $k $tmp/test -o $tmp/out_$k" \
    | grep -vE "^\s*$" >&2
  read -r a ac < <(per_take "$tmp/$k.json" 0)
  read -r a2 ac2 < <(per_take "$tmp/$k.json" 1)
  if /usr/bin/python3 -c 'import numpy, scipy' 2>/dev/null; then
    read -r r rc < <(/usr/bin/python3 "$(dirname "$0")/features_numpy.py" "$tmp/test" $k 3)
    printf "%-5s numpy in-process %6.2f ms a take (%5.2f CPU)\n" $k "$r" "$rc"
    printf "%-5s a2m, 1 thread    %6.2f ms a take (%5.2f CPU; whole process / %d): %5.1fx wall, %5.1fx CPU\n" \
      $k "$a" "$ac" "$takes" "$(awk "BEGIN { print $r / $a }")" "$(awk "BEGIN { print $rc / $ac }")"
    printf "%-5s a2m, default     %6.2f ms a take (%5.2f CPU; whole process / %d): %5.1fx wall, %5.1fx CPU\n" \
      $k "$a2" "$ac2" "$takes" "$(awk "BEGIN { print $r / $a2 }")" "$(awk "BEGIN { print $rc / $ac2 }")"
  else
    printf "%-5s a2m 1 thread %6.2f ms a take (%5.2f CPU), default (every core) %6.2f (%5.2f CPU)   (numpy/scipy missing: no reference)\n" \
      $k "$a" "$ac" "$a2" "$ac2"
  fi
done
