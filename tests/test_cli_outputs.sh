#!/usr/bin/env bash
# Outputs of every command that writes (issue 12): an output never replaces an input, a device, a FIFO,
# a symbolic link or an existing file without --force; standard output write errors are exit 1; a folder
# output is made only when something is written; Ctrl-C (SIGINT/SIGTERM) leaves no temporary behind and
# the streaming transcription keeps what it decided. Each case is counted; the counts are printed.
. "${BASH_SOURCE%/*}/cli_common.sh"
defmodel="${A2M_SOURCE:-.}/models/a2m-crnn.safetensors"
export TMPDIR="$tmp/tmpdir" # where the temporaries of a device output go: checked empty
mkdir -p "$TMPDIR"
sum() { md5sum <"$1" | cut -d' ' -f1; }
in="$tmp/in"; mkdir -p "$in"

# --- inputs: synthetic takes, a dataset, a small model, a log, eval JSON, normalised features ---------
synth_takes "$in" 6 64
split_six "$in/split.json"
"$bin" dataset "$in" -o "$tmp/ds" >/dev/null 2>&1 || bad "setup: dataset"
"$bin" train "$tmp/ds" --split "$in/split.json" --hidden 8 --epochs 1 --log "$in/log.csv" -o "$in/m.safetensors" >/dev/null 2>&1 || bad "setup: train"
"$bin" eval "$in/m.safetensors" "$tmp/ds" --splits "$in/split.json" --json "$in/eval.json" >/dev/null 2>&1 || bad "setup: eval"
{ # normalised features for forward: float32 zeros [8 x 252] (.npy v1: 10-byte preamble, header padded to 128)
  printf '\x93NUMPY\x01\x00\x76\x00'
  printf '%-117s\n' "{'descr': '<f4', 'fortran_order': False, 'shape': (8, 252), }"
  head -c $((8 * 252 * 4)) /dev/zero
} >"$in/norm.npy"
wav="$in/voice_001.wav"; mid="$in/midi_001.mid"; model="$in/m.safetensors"
ln -s log.csv "$in/log.png" # plot writes only .png/.svg/.pdf names: the log under such a name
[ -f "$model" ] && [ -f "$in/eval.json" ] && [ -f "$tmp/ds/index.json" ] || { echo "setup failed"; exit 1; }

# --- the table: NAME, its input that an output must never be, and how it writes OUT ------------------
# w_NAME OUT [--force] runs the command with OUT as the output under test.
cnt=0
w_features() { "$bin" features "$wav" -o "$@"; }
w_labels() { "$bin" labels "$mid" -o "$@"; }
w_synth() { "$bin" synth "$mid" --duration 2 -o "$@"; }
w_synth_midi() { cnt=$((cnt + 1)); "$bin" synth --notes "60:0-1" -o "$tmp/side_$cnt.wav" --write-midi "$@"; }
w_train() { cnt=$((cnt + 1)); "$bin" train "$tmp/ds" --split "$in/split.json" --hidden 8 --epochs 1 --checkpoint "$tmp/ck_$cnt" -o "$@"; }
w_train_log() { cnt=$((cnt + 1)); "$bin" train "$tmp/ds" --split "$in/split.json" --hidden 8 --epochs 1 -o "$tmp/tl_$cnt.safetensors" --log "$@"; }
w_forward() { "$bin" forward "$model" "$in/norm.npy" -o "$@"; }
w_eval() { "$bin" eval "$model" "$tmp/ds" --splits "$in/split.json" --json "$@"; }
w_knn() { "$bin" knn "$tmp/ds" --splits "$in/split.json" --k 1 --json "$@"; }
w_linear() { "$bin" linear "$tmp/ds" --splits "$in/split.json" --epochs 1 --json "$@"; }
w_plot() { "$bin" plot loss "$in/log.csv" -o "$@"; }
w_transcribe() { "$bin" transcribe --model "$model" "$wav" -o "$@"; }
w_import() { "$bin" import "$model" --mean -41 --std 15 -o "$@"; }
declare -A input_of=([features]="$wav" [labels]="$mid" [synth]="$mid" [synth_midi]="" [train]="$in/split.json"
  [train_log]="$in/split.json" [forward]="$in/norm.npy" [eval]="$in/split.json" [knn]="$in/split.json" [linear]="$in/split.json" [plot]="$in/log.png"
  [transcribe]="$wav" [import]="$model")
cmds="features labels synth synth_midi train train_log forward eval knn linear plot transcribe import"
declare -A per_cmd

# expect CODE DESCRIPTION -- COMMAND...: the exit code, stderr kept in $tmp/err.txt
expect() {
  local code=$1 what=$2; shift 3
  "$@" >"$tmp/out.bin" 2>"$tmp/err.txt"; local rc=$?
  if [ "$rc" -eq "$code" ]; then return 0; fi
  bad "$what: exit $rc, expected $code ($(head -c 300 "$tmp/err.txt"))"; return 1
}

case_file_rules() { # NAME: every rule for a command writing one file
  local c=$1 w=w_$1 o="$tmp/o_$1" before=$passes
  rm -rf "$o" && mkdir -p "$o"
  expect 0 "$c: new output" -- $w "$o/new" && [ -s "$o/new" ] && ok || bad "$c: new output not written"
  echo old >"$o/kept"; local s; s=$(sum "$o/kept")
  expect 1 "$c: existing output without --force" -- $w "$o/kept" && [ "$(sum "$o/kept")" = "$s" ] &&
    grep -q "exists (use --force to replace it)" "$tmp/err.txt" && ok || bad "$c: existing output not kept"
  expect 0 "$c: existing output with --force" -- $w "$o/kept" --force && [ "$(sum "$o/kept")" != "$s" ] && ok || bad "$c: --force did not replace"
  local inp=${input_of[$c]}
  if [ -n "$inp" ]; then
    s=$(sum "$inp")
    expect 1 "$c: the input as output" -- $w "$inp" --force && [ "$(sum "$inp")" = "$s" ] &&
      grep -q "is the input" "$tmp/err.txt" && ok || bad "$c: the input was not refused"
    ln -s "$inp" "$o/to_input"
    expect 1 "$c: a link to the input" -- $w "$o/to_input" --force && [ "$(sum "$inp")" = "$s" ] && [ -L "$o/to_input" ] && ok || bad "$c: a link to the input"
  fi
  echo target >"$o/target"; s=$(sum "$o/target"); ln -s target "$o/link"
  expect 1 "$c: a link without --force" -- $w "$o/link" && [ -L "$o/link" ] && [ "$(sum "$o/target")" = "$s" ] && ok || bad "$c: link replaced or target changed"
  expect 0 "$c: a link with --force" -- $w "$o/link" --force && [ -L "$o/link" ] && [ "$(readlink "$o/link")" = target ] &&
    [ "$(sum "$o/target")" != "$s" ] && ok || bad "$c: --force through a link: the link must stay, its target be written"
  ln -s nowhere "$o/dangling"
  expect 1 "$c: a link to nothing" -- $w "$o/dangling" --force && [ -L "$o/dangling" ] && [ ! -e "$o/nowhere" ] && ok || bad "$c: dangling link"
  expect 0 "$c: /dev/null" -- $w /dev/null && [ -c /dev/null ] && ok || bad "$c: /dev/null is no longer a device"
  if [ "$(id -u)" = 0 ] && [ -c /dev/full ]; then
    expect 1 "$c: /dev/full" -- $w /dev/full --force && [ -c /dev/full ] && grep -q "^a2m: /dev/full: .*\(No space left\|full\)" "$tmp/err.txt" && ok || bad "$c: /dev/full"
  fi
  mkfifo "$o/fifo"
  timeout 120 cat "$o/fifo" >"$o/from_fifo" & local reader=$!
  expect 0 "$c: a FIFO" -- $w "$o/fifo"
  sleep 0.2; kill -0 $reader 2>/dev/null && timeout 5 sh -c ': >"$1"' sh "$o/fifo" # a2m never opened it: release the reader
  wait $reader
  [ -p "$o/fifo" ] && [ -s "$o/from_fifo" ] && ok || bad "$c: FIFO not written through ($(stat -c %F "$o/fifo"), $(stat -c %s "$o/from_fifo") bytes)"
  mkdir "$o/folder"
  if [ "$c" = transcribe ] || [ "$c" = features ]; then # an existing folder is where the output goes
    expect 0 "$c: a folder" -- $w "$o/folder" && { [ -f "$o/folder/voice_001.mid" ] || [ -f "$o/folder/voice_001.npy" ]; } && ok || bad "$c: into a folder"
  else
    expect 1 "$c: a folder" -- $w "$o/folder" --force && [ -d "$o/folder" ] && [ -z "$(ls "$o/folder")" ] && ok || bad "$c: folder"
  fi
  [ -z "$(find "$o" "$TMPDIR" -name "*.tmp.*")" ] && ok || bad "$c: temporaries left: $(find "$o" "$TMPDIR" -name '*.tmp.*')"
  per_cmd[$c]=$((passes - before))
}
for c in $cmds; do case_file_rules "$c"; done

# standard output: "-" where it makes sense; a usage error where it does not
"$bin" features "$wav" -o - 2>/dev/null | head -c 6 | grep -q NUMPY && ok || bad "features -o -"
"$bin" labels "$mid" -o - 2>/dev/null | head -c 6 | grep -q NUMPY && ok || bad "labels -o -"
"$bin" transcribe --model "$model" "$wav" -o - 2>/dev/null | head -c 4 | grep -q MThd && ok || bad "transcribe -o -"
"$bin" plot loss "$in/log.csv" -o - 2>/dev/null | head -c 4 | grep -q PNG && ok || bad "plot -o -"
expect 2 "dataset -o -" -- "$bin" dataset "$in" -o - && ok
expect 2 "transcribe two inputs -o -" -- "$bin" transcribe --model "$model" "$wav" "$in/voice_002.wav" -o - && ok
expect 2 "transcribe -o /dev/null --csv (would make /dev/null.csv)" -- "$bin" transcribe --model "$model" "$wav" -o /dev/null --csv && [ ! -e /dev/null.csv ] && ok

# a finished run removes its checkpoint: only a regular file (a link given as --checkpoint stays; as root,
# --checkpoint /dev/null was unlinked)
echo old >"$tmp/ck_target"; ln -s ck_target "$tmp/ck_link"
expect 0 "train --checkpoint LINK" -- "$bin" train "$tmp/ds" --split "$in/split.json" --hidden 8 --epochs 1 --checkpoint "$tmp/ck_link" --force -o "$tmp/ckm.safetensors" &&
  [ -L "$tmp/ck_link" ] && [ -s "$tmp/ck_target" ] && ok || bad "train: the checkpoint link was removed"
if [ "$(id -u)" = 0 ]; then
  expect 0 "train --checkpoint /dev/null" -- "$bin" train "$tmp/ds" --split "$in/split.json" --hidden 8 --epochs 1 --checkpoint /dev/null -o "$tmp/ckn.safetensors"
  [ -c /dev/null ] && ok || { bad "train removed /dev/null: recreating it"; rm -f /dev/null; mknod -m 666 /dev/null c 1 3; }
fi

# --- folder outputs (dataset, report) -------------------------------------------------------------------
o="$tmp/o_folders"; mkdir -p "$o"
expect 0 "dataset: new" -- "$bin" dataset "$in" -o "$o/ds" && ok
s=$(sum "$o/ds/index.json")
expect 1 "dataset: existing without --force" -- "$bin" dataset "$in" -o "$o/ds" && [ "$(sum "$o/ds/index.json")" = "$s" ] && ok
expect 0 "dataset: existing with --force" -- "$bin" dataset "$in" -o "$o/ds" --force && [ -f "$o/ds/features.npy" ] && ok
expect 1 "dataset: the input folder" -- "$bin" dataset "$in" -o "$in/" --force && [ ! -e "$in/index.json" ] && ok
expect 1 "dataset: a device" -- "$bin" dataset "$in" -o /dev/null --force && [ -c /dev/null ] && ok
echo old >"$o/file"; s=$(sum "$o/file")
expect 1 "dataset: a file" -- "$bin" dataset "$in" -o "$o/file" --force && [ "$(sum "$o/file")" = "$s" ] && ok
ln -s "$o/ds" "$o/dslink"
expect 1 "dataset: a link" -- "$bin" dataset "$in" -o "$o/dslink" --force && [ -L "$o/dslink" ] && ok
mkdir -p "$o/rep"
expect 1 "report: existing folder without --force" -- "$bin" report "$model" "$tmp/ds" -o "$o/rep" --splits "$in/split.json" --audio-dir "$in" && [ -z "$(ls "$o/rep")" ] && ok
expect 1 "report: the dataset as its folder" -- "$bin" report "$model" "$tmp/ds" -o "$tmp/ds" --force --splits "$in/split.json" && ok
[ -z "$(find "$tmp" -name "*.tmp.*")" ] && ok || bad "folder outputs left temporaries: $(find "$tmp" -name '*.tmp.*')"

# --- folder semantics: a trailing slash or several inputs is a folder -------------------------------------
expect 0 "transcribe one input -o out/" -- "$bin" transcribe --model "$model" "$wav" -o "$o/out1/" && [ -f "$o/out1/voice_001.mid" ] && ok
expect 2 "transcribe two inputs -o one.mid" -- "$bin" transcribe --model "$model" "$wav" "$in/voice_002.wav" -o "$o/one.mid" && [ ! -e "$o/one.mid" ] && ok
expect 0 "features one file -o dir/" -- "$bin" features "$wav" -o "$o/fdir/" && [ -f "$o/fdir/voice_001.npy" ] && ok
mkdir -p "$o/noaudio"; echo x >"$o/noaudio/readme.txt"
expect 1 "features of a folder without audio" -- "$bin" features "$o/noaudio" -o "$o/fout" && [ ! -e "$o/fout" ] && ok
expect 0 "features DIR -o DIR" -- "$bin" features "$in" -o "$o/fdir2" --bins 84 --bpo 12 && [ "$(ls "$o/fdir2" | wc -l)" -eq 6 ] && ok
s=$(sum "$o/fdir2/voice_001.npy" 2>/dev/null)
expect 1 "features DIR again without --force" -- "$bin" features "$in" -o "$o/fdir2" --bins 84 --bpo 12 && [ "$(sum "$o/fdir2/voice_001.npy")" = "$s" ] && ok

# --- standard output write errors: exit 1 and one message -------------------------------------------------
n_full=0
full() {
  local what=$1; shift
  "$@" >/dev/full 2>"$tmp/err.txt" </dev/null; local rc=$?
  if [ "$rc" -eq 1 ] && grep -q "^a2m: \(standard output: write error\|/dev/stdout: write failed\)" "$tmp/err.txt"; then ok; n_full=$((n_full + 1))
  else bad "$what > /dev/full: exit $rc ($(cat "$tmp/err.txt"))"; fi
}
if [ -c /dev/full ]; then
  full help "$bin" help
  full "transcribe --help" "$bin" transcribe --help
  full info "$bin" info "$model"
  full compare "$bin" compare "$mid" "$mid"
  full "compare --json" "$bin" compare "$mid" "$mid" --json
  full eval "$bin" eval "$model" "$tmp/ds" --splits "$in/split.json"
  full "eval --json -" "$bin" eval "$model" "$tmp/ds" --splits "$in/split.json" --json -
  full "knn --json -" "$bin" knn "$tmp/ds" --splits "$in/split.json" --k 1 --json -
  full "linear" "$bin" linear "$tmp/ds" --splits "$in/split.json" --epochs 1
  full labels "$bin" labels "$mid" -o "$o/l_full.npy"
  full "transcribe --print" "$bin" transcribe --model "$model" "$wav" -o "$o/p_full.mid" --print
  "$bin" transcribe --model "$model" - <"$wav" >/dev/full 2>"$tmp/err.txt"; rc=$?
  [ "$rc" -eq 1 ] && grep -q "standard output: write error" "$tmp/err.txt" && ok || bad "transcribe - > /dev/full: exit $rc"
  full "features -o -" "$bin" features "$wav" -o -
fi

# --- interrupts ----------------------------------------------------------------------------------------
# a reader that goes away (SIGPIPE) while a temporary is copied to standard output: no temporary left
"$bin" synth --notes "60:0-60" -o - 2>/dev/null | head -c 4 >"$tmp/head.bin"
[ "$(cat "$tmp/head.bin")" = RIFF ] && [ -z "$(ls "$TMPDIR")" ] && ok || bad "synth -o - | head: $(ls "$TMPDIR")"
# A background job of a script ignores SIGINT unless job control is on (set -m), and a2m keeps an ignored
# signal ignored (nohup): SIGINT is sent to jobs started under set -m.
"$bin" synth --notes "60:0-600" -o "$o/long.wav" >/dev/null 2>&1
for sig in INT TERM; do
  rm -f "$o/long.npy"*
  set -m; "$bin" features "$o/long.wav" -o "$o/long.npy" >/dev/null 2>&1 & pid=$!; set +m
  for _ in $(seq 6000); do ls "$o"/long.npy.tmp.* >/dev/null 2>&1 && break; kill -0 $pid 2>/dev/null || break; sleep 0.02; done
  seen=$(ls "$o"/long.npy.tmp.* 2>/dev/null | wc -l)
  kill -$sig $pid 2>/dev/null; wait $pid; rc=$?
  want=$((128 + $(kill -l $sig)))
  if [ "$seen" -eq 0 ]; then echo "note: features finished before its temporary was seen (SIG$sig case not exercised)"; ok
  elif [ "$rc" -eq "$want" ] && [ -z "$(ls "$o"/long.npy* 2>/dev/null)" ]; then ok
  else bad "features SIG$sig: exit $rc (want $want), left: $(ls "$o"/long.npy* 2>/dev/null)"; fi
done
mkdir -p "$o/bigds"; cp "$o/long.wav" "$o/bigds/voice_1.wav"; cp "$o/long.wav" "$o/bigds/voice_2.wav"
"$bin" synth --notes "60:0-600" --write-midi "$o/bigds/midi_1.mid" -o /dev/null >/dev/null 2>&1; cp "$o/bigds/midi_1.mid" "$o/bigds/midi_2.mid"
set -m; "$bin" dataset "$o/bigds" -o "$o/big.ds" --take-seconds 0 >/dev/null 2>&1 & pid=$!; set +m
for _ in $(seq 6000); do compgen -G "$o/big.ds.tmp.*/features.npy*" >/dev/null && break; kill -0 $pid 2>/dev/null || break; sleep 0.05; done
seen=$(ls -d "$o"/big.ds.tmp.* 2>/dev/null | wc -l)
kill -INT $pid 2>/dev/null; wait $pid; rc=$?
if [ "$seen" -eq 0 ]; then echo "note: dataset finished before its temporary folder was seen"; ok
elif [ "$rc" -eq 130 ] && [ -z "$(ls -d "$o"/big.ds* 2>/dev/null)" ]; then ok
else bad "dataset SIGINT: exit $rc, left: $(ls -d "$o"/big.ds* 2>/dev/null)"; fi

# transcribe - : the producer sends 12 s of a 20 s melody and keeps the pipe open; after the first printed
# note, SIGINT: the stream is finished, the MIDI and CSV are written with every printed note, exit 130.
if [ -f "$defmodel" ]; then
  "$bin" synth --notes "60:0.5-1.5,64:2-3,67:3.5-4.5,60:5-6,64:6.5-7.5,67:8-9,60:12-13,64:15-16" --transpose -12 --duration 20 -o "$o/long20.wav" >/dev/null 2>&1
  for sig in INT TERM; do
    rm -f "$o/live".* "$o/audio.fifo" "$o/stream.csv"; mkfifo "$o/audio.fifo"
    ( head -c $((44 + 12 * 16000 * 2)) "$o/long20.wav"; sleep 120 ) >"$o/audio.fifo" & producer=$!
    set -m; "$bin" transcribe --model "$defmodel" - -o "$o/live.mid" --csv <"$o/audio.fifo" >"$o/stream.csv" 2>"$tmp/err.txt" & pid=$!; set +m
    for _ in $(seq 900); do [ -s "$o/stream.csv" ] && break; sleep 0.1; done
    printed=$(wc -l <"$o/stream.csv")
    kill -$sig $pid; wait $pid; rc=$?
    kill $producer 2>/dev/null; wait $producer 2>/dev/null
    want=$((128 + $(kill -l $sig)))
    if [ "$printed" -ge 1 ] && [ "$rc" -eq "$want" ] && [ -s "$o/live.mid" ] && [ -s "$o/live.csv" ]; then ok
    else bad "transcribe - SIG$sig: exit $rc (want $want), $printed printed, $(ls "$o"/live.* 2>&1) ($(cat "$tmp/err.txt"))"; fi
    # every printed note is in the CSV, and the CSV has at least as many notes as were printed
    diff <(cut -d, -f1-3 "$o/stream.csv") <(tail -n +2 "$o/live.csv" | cut -d, -f1-3) >/dev/null && ok || bad "SIG$sig: printed notes differ from the CSV"
    [ "$(tail -n +2 "$o/live.csv" | wc -l)" -ge "$printed" ] && ok || bad "SIG$sig: CSV has fewer notes than were printed"
    "$bin" compare "$o/live.csv" "$o/live.mid" >/dev/null 2>&1 && ok || bad "SIG$sig: the MIDI does not match the CSV"
    [ -z "$(ls "$o"/*.tmp.* 2>/dev/null)" ] && ok || bad "SIG$sig: temporaries left"
  done
else
  echo "note: $defmodel missing: streaming interrupt cases skipped"
fi

echo "per command (file rules): $(for c in $cmds; do printf '%s=%s ' "$c" "${per_cmd[$c]:-0}"; done)"
echo "standard output write errors: $n_full"
finish
