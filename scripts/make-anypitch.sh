#!/usr/bin/env bash
# Rebuilds the any-pitch model (models/a2m-anypitch.safetensors) from nothing but ../shared/data and a2m:
#   1. training data: `a2m gendata` (seed takes pitch-shifted by rubberband, synthetic melodies sung by the
#      additive voice, by fluidsynth's voice presets and by festival, phone-like augmentation), every choice
#      seeded; SEED_TAKES "trainval" (default, the shipped model's): the seed split's train and val takes only
#      (255; gen/seed-tv), so the seed test split's figure is held out; "all": the 300 seed takes (gen/seed);
#   2. one folder of links to those takes and to the singreal recordings (as sr_NAME);
#   3. one dataset: CQT dB, classes silence + MIDI 36..84 + onset (first 4 frames of a note, 24 ms) + below/above
#      the range (melodies of MIDI 24..100 teach the model to say so instead of folding them in);
#   4. training, resumable (a checkpoint every epoch; run the same command again after an interruption).
# Usage: scripts/make-anypitch.sh BUILD_DIR [FOLD]
#   FOLD "all" (default): trains on every singreal file -> models/a2m-anypitch.safetensors
#   FOLD 0, 1 or 2: leaves singreal files i with i % 3 == FOLD out of training (cross-validation) ->
#   $A2M_WORK/cv-FOLD.safetensors, to be scored on those files only (scripts/eval-anypitch.sh).
#   OUT: another output file (e.g. to compare a FOLD=all model before it replaces the shipped one).
#   RECIPE "shipped" (default): the shipped model's recipe. "onset": the onset class as an onset head of its own
#   (train --onset-head: a sigmoid on frames -1..3 of each note start, the pitch softmax keeping the note on those
#   frames). Measured against the shipped recipe in docs/anypitch.md.
# Environment: A2M_WORK (default data/anypitch), A2M_SHARED (default ../shared), THREADS (2),
#   ARCH (crnn, the shipped model's; harmonic: train --model harmonic, measured in docs/anypitch.md),
#   EPOCHS, HIDDEN (128 since session 24; 96 before: docs/anypitch.md "Hidden 128"), TRAIN_SEED (0: train --seed, for a second draw of the same recipe),
#   LR_SCHEDULE (cosine, the shipped model's, or plateau: train --lr-schedule), SOURCES ("seed synth fluid wide festival singreal": what goes into training, for ablations;
#   the validation takes stay every source's), SR_COPIES (8: each singreal file's copies in training), SR_VARIANTS (0:
#   each singreal file's variants pitch-shifted -6..+6 with new formants, time-stretched x0.8..1.25 and half through the
#   phone-like chain by `gendata --source recorded`, as takes srx_N of file N % 18: measured in docs/anypitch.md). The checkpoint is named after the output's path, so runs with other OUTs
#   never resume each other's (one at a time: the split file is $A2M_WORK/split-FOLD.json).
set -euo pipefail
build=${1:-build}
fold=${2:-all}
a2m="$build/a2m"
shared=${A2M_SHARED:-../shared}
work=${A2M_WORK:-data/anypitch}
threads=${THREADS:-2}
epochs=${EPOCHS:-10}
hidden=${HIDDEN:-128}
sources=${SOURCES:-seed synth fluid wide festival singreal}
recipe=${RECIPE:-shipped}
lr_schedule=${LR_SCHEDULE:-cosine}
train_seed=${TRAIN_SEED:-0}
arch=${ARCH:-crnn}
# OpenBLAS picks its kernels by CPU (or by $OPENBLAS_CORETYPE), and each kind sums in its own order: the same recipe
# trained e92163f8 (Haswell), 0d75288a (SkylakeX), 29440d26 (Cooperlake, its own choice on a Zen 5) for the seed
# model. Pinned to Haswell's kernels (what this machine kind's environment sets) wherever the CPU has them, so a
# machine that sets or picks others trains with the same sums (the features may still differ in the last bits where
# FFTW or the CQT's lanes choose other code: AVX-512 or not).
if grep -q -w avx2 /proc/cpuinfo 2>/dev/null; then export OPENBLAS_CORETYPE=Haswell; fi
case $lr_schedule in plateau|cosine) ;; *) echo "make-anypitch: LR_SCHEDULE is plateau or cosine, not '$lr_schedule'" >&2; exit 1 ;; esac
case $recipe in shipped|onset) ;; *) echo "make-anypitch: RECIPE is shipped or onset, not '$recipe'" >&2; exit 1 ;; esac
singreal="$shared/data/singreal"
[ -x "$a2m" ] || { echo "make-anypitch: $a2m not built" >&2; exit 1; }
[ -d "$shared/data/seed/audio" ] || { echo "make-anypitch: $shared/data/seed/audio missing" >&2; exit 1; }
mkdir -p "$work/gen"
# The wisdom's copy and steps 1-3 under a lock: a second run started beside this one (another fold) while the data
# are made again would delete them under this run (session 25: fold 0's dataset lost its links when fold 1 started
# 45 s later and found the data's stamp changed).
exec 9>"$work/data.lock"
flock 9
# The CQT's FFT plans from the wisdom kept beside the seed model (scripts/make-model.sh says why: FFTW_MEASURE chooses
# by timing, and plans differ in the last bits), so a machine without a2m's cache makes the same features; a copy, so
# models/ never changes
if cp models/a2m-crnn.fftw-wisdom "$work/fftw-wisdom" 2>/dev/null; then export A2M_FFTW_WISDOM="$work/fftw-wisdom"; fi

# 1. generated takes (a folder is complete once its .done exists; an interrupted one is made again)
gen() { # NAME SOURCE COUNT SEED [options]
  local name=$1 src=$2 count=$3 seed=$4; shift 4
  [ -f "$work/gen/$name/.done" ] && return 0
  "$a2m" gendata -o "$work/gen/$name" --source "$src" --count "$count" --seed "$seed" --jobs "$threads" --force "$@"
  touch "$work/gen/$name/.done"
}
seed_takes=${SEED_TAKES:-trainval}
case $seed_takes in all|trainval) ;; *) echo "make-anypitch: SEED_TAKES is all or trainval, not '$seed_takes'" >&2; exit 1 ;; esac
gen_dir() { # a source's folder under gen/
  if [ "$1" = seed ] && [ "$seed_takes" = trainval ]; then echo seed-tv
  elif [ "$1" = srx ]; then echo "srx${SR_VARIANTS:-0}"
  else echo "$1"; fi
}
# SEED_TAKES=trainval: the seed split's train and val takes only (the test split's figure held out), linked
seeddir="$shared/data/seed/audio"
if [ "$seed_takes" = trainval ]; then seeddir="$work/seed-trainval"; fi
if [ "$seed_takes" = trainval ] && [ ! -f "$work/gen/seed-tv/.done" ]; then
  rm -rf "$seeddir" && mkdir -p "$seeddir"
  for v in $(sed -n '/"test"/q;p' "$shared/data/seed/split.json" | grep -o 'voice_[0-9]*'); do
    ln -s "$(realpath "$shared/data/seed/audio/$v.wav")" "$seeddir/$v.wav"
    ln -s "$(realpath "$shared/data/seed/audio/midi_${v#voice_}.mid")" "$seeddir/midi_${v#voice_}.mid"
  done
fi
gen "$(gen_dir seed)" seed 1200 3 --augment 0.5 --seed-dir "$seeddir"
gen synth synth 800 1 --augment 0.6
gen fluid fluid 800 2 --augment 0.6
# melodies reaching beyond the classes (MIDI 24..100): their notes outside 36..84 are labelled "below"/"above"
gen wide synth 400 4 --augment 0.6 --pitches 24..100
gen festival festival 200 5 --augment 0.6
sr_variants=${SR_VARIANTS:-0}
sr_copies=${SR_COPIES:-8}
n_sr=0
if [ "$sr_variants" -gt 0 ]; then
  # gendata's recordings: the .wav files with a .mid beside them; counted only here, so a run without variants
  # (the shipped recipe) still goes on where singreal is missing, as it did before SR_VARIANTS
  for f in "$singreal"/*.wav; do [ -f "${f%.wav}.mid" ] && n_sr=$((n_sr + 1)); done
  [ "$n_sr" -gt 0 ] || { echo "make-anypitch: SR_VARIANTS: no .wav with a .mid in $singreal" >&2; exit 1; }
  gen "srx$sr_variants" recorded $((n_sr * sr_variants)) 6 --recordings "$singreal" --shifts -6..6 --stretch 0.8..1.25 --augment 0.5
fi

# 2. links: every take under one folder, names unique per source. Made in a folder of this run's own, then
#    renamed over the last one (two runs, e.g. two folds, may start side by side); one ln per source whose files
#    carry its name (a realpath, a basename and an ln per file took 10+ minutes for the 6,836 links on a loaded
#    machine)
all="$work/all"
links="$all.tmp.$$"
rm -rf "$links" && mkdir -p "$links"
# a take's name in the dataset: its folder's name and number (wide/synth_00007.wav -> wide_00007), into $tn
take_name() { local b=${2##*/}; b=${b%.wav}; tn="${1}_${b##*_}"; }
gen_sources="seed synth fluid wide festival"
if [ "$sr_variants" -gt 0 ]; then gen_sources+=" srx"; fi
for src in $gen_sources; do
  dir=$(realpath "$work/gen/$(gen_dir "$src")")
  takes=("$dir"/*.wav)
  b=${takes[0]##*/}
  if [ "${b%_*}" = "$src" ]; then # the files carry the source's name already: one ln for all
    ln -s -t "$links" "${takes[@]}" "${takes[@]/%.wav/.mid}"
  else
    for f in "${takes[@]}"; do
      take_name "$src" "$f"
      ln -s "$f" "$links/$tn.wav"
      ln -s "${f%.wav}.mid" "$links/$tn.mid"
    done
  fi
done
mapfile -t sr < <(cd "$singreal" && ls *.wav | LC_ALL=C sort)
srdir=$(realpath "$singreal")
for f in "${sr[@]}"; do
  ln -s "$srdir/$f" "$links/sr_$f"
  ln -s "$srdir/${f%.wav}.mid" "$links/sr_${f%.wav}.mid"
done
# -T: never into a folder another run renamed there in between (its links are these same links: ours go)
rm -rf "$all" && { mv -T "$links" "$all" 2>/dev/null || rm -rf "$links"; }

# 3. the dataset (made again only when the takes changed)
stamp=$(cd "$all" && ls -lL --time-style=+%s | md5sum | cut -c1-16) # the takes' sizes and times, not the links'

if [ ! -f "$work/ds/index.json" ] || [ "$(cat "$work/ds.stamp" 2>/dev/null)" != "$stamp" ]; then
  rm -rf "$work/ds"
  "$a2m" dataset "$all" -o "$work/ds" --notes 36-84 --onset-frames 4 --range-classes --take-seconds 0 --expect-frames 0
  echo "$stamp" > "$work/ds.stamp"
fi
flock -u 9

# 4. the split: every 20th generated take validates (epoch choice, learning-rate schedule); the rest and
#    the singreal files outside FOLD train, singreal repeated 8 times (5.8 min against ~4 h generated)
split="$work/split-$fold.json"
train=() val=()
for src in seed synth fluid wide festival; do
  i=0
  for f in "$work/gen/$(gen_dir "$src")"/*.wav; do
    take_name "$src" "$f"
    if [ $((i % 20)) -eq 0 ]; then val+=("$tn")
    else case " $sources " in *" $src "*) train+=("$tn") ;; esac; fi
    i=$((i + 1))
  done
done
case " $sources " in *" singreal "*)
  for ((rep = 0; rep < sr_copies; rep++)); do
    i=0
    for f in "${sr[@]}"; do
      if [ "$fold" = all ] || [ $((i % 3)) -ne "$fold" ]; then train+=("sr_${f%.wav}"); fi
      i=$((i + 1))
    done
  done
  if [ "$sr_variants" -gt 0 ]; then # variant i is of singreal file i % n_sr (gendata's cycling)
    for ((i = 0; i < n_sr * sr_variants; i++)); do
      if [ "$fold" = all ] || [ $(((i % n_sr) % 3)) -ne "$fold" ]; then train+=("$(printf 'srx_%05d' "$i")"); fi
    done
  fi ;;
esac
json_list() { local first=1 x; for x in "$@"; do [ $first = 1 ] || echo ','; first=0; printf '"%s"' "$x"; done; }
{ echo '{"train": ['; json_list "${train[@]}"; echo '], "val": ['; json_list "${val[@]}"; echo ']}'; } > "$split"

if [ "$fold" = all ]; then out=models/a2m-anypitch.safetensors log=models/a2m-anypitch.log.csv
else out="$work/cv-$fold.safetensors" log="$work/cv-$fold.log.csv"; fi
if [ -n "${OUT:-}" ]; then out=$OUT log=${OUT%.safetensors}.log.csv; fi
# the checkpoint after the output's whole path: two OUTs of one name in two folders (session 26: .../h192/cv-0 beside
# the default cv-0) never share one
ckpt="$work/ckpt-$(basename "${out%.safetensors}")-$(realpath -m "$out" | cksum | cut -d' ' -f1)"
"$a2m" train "$work/ds" --split "$split" --model "$arch" --hidden "$hidden" --epochs "$epochs" --window 666 --batch 16 \
  --lr 1.5e-3 --plateau 2 --lr-schedule "$lr_schedule" --augment-transpose 12 --augment-shift 1 --augment-gain 6 --class-weight-power 0 \
  $([ "$recipe" = onset ] && echo --onset-head) --onset-weight 4 --label-smoothing 0.05 --ema 0.999 --patience 100 --seed "$train_seed" --threads "$threads" \
  --checkpoint "$ckpt" --resume --log "$log" -o "$out" --force
