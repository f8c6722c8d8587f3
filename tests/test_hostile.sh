#!/usr/bin/env bash
# Hostile inputs through every command (issue 12, "Hostile files and resource bounds"): models with
# absurd metadata, plain state dicts, truncated/empty/garbage/folder files; WAVs whose header says 1 Hz
# or 100 MHz or more data than there is, NaN/inf samples; MIDI files with absurd lengths, track counts,
# tempo 0, deltas of hours; checkpoints lacking keys, resumed with other options or after the run ended.
# Every run has 10 s (timeout). Counted: crashes (exit >= 128), hangs (timeout), failures whose message
# is not one line or does not name the file, hostile inputs accepted where a refusal is required, and
# outputs left behind or replaced by a failed run. Prints the counts; fails if any is non-zero.
# The inputs are written by tests/hostile/make_hostile.py (python3, standard library only).
. "${BASH_SOURCE%/*}/cli_common.sh"
model=$src/models/a2m-crnn.safetensors
if [ ! -f "$model" ]; then echo "SKIP: $model not found"; exit 77; fi
if ! command -v python3 >/dev/null; then echo "SKIP: python3 not found (writes the hostile inputs)"; exit 77; fi
h=$tmp/h
python3 "$src/tests/hostile/make_hostile.py" "$h" "$model" || { echo "FAIL: make_hostile.py"; exit 1; }

runs=0 crashes=0 hangs=0 multiline=0 unnamed=0 accepted=0 left=0 setup_fail=0
say() { echo "  $*"; }

# hostile EXPECT NAME OUTPUT -- command...
#   EXPECT: fail (exit 1 required) or any (0 or 1: the input is odd but usable);
#   NAME: what the one-line message must contain; OUTPUT: a path that must not exist after a failure,
#   or "keep:PATH": PATH holds a sentinel the failed run (given --force) must leave untouched.
#   STDIN (environment): a file fed to standard input; WANT: text the message must also contain.
hostile() {
  local expect=$1 name=$2 out=$3; shift 4
  local keep=""
  case $out in keep:*) keep=${out#keep:}; out=""; echo SENTINEL >"$keep" ;; esac
  runs=$((runs + 1))
  local rc
  timeout -k 2 10 "$@" <"${STDIN:-/dev/null}" >"$tmp/out.txt" 2>"$tmp/err.txt"; rc=$?
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then hangs=$((hangs + 1)); say "HANG: $*"; return; fi
  if [ "$rc" -ge 128 ]; then crashes=$((crashes + 1)); say "CRASH ($rc): $*"; return; fi
  if sanitizer_report "$tmp/err.txt"; then crashes=$((crashes + 1)); say "SANITIZER ($rc): $*: $(head -c 300 "$tmp/err.txt")"; return; fi
  if [ "$rc" -eq 1 ]; then
    # the error is the one line "a2m: ...": before it only progress ("features: 3/9 ...") and information
    # lines ("a2m train: 2 train takes, ...") may appear; the error line names the file
    if ! LOG_OK=1 one_error_line "$tmp/err.txt"; then
      multiline=$((multiline + 1)); say "NOT ONE LINE: $*: $(head -c 300 "$tmp/err.txt")"
    elif ! grep -qF -- "$name" "$tmp/err_line.txt"; then
      unnamed=$((unnamed + 1)); say "DOES NOT NAME $name: $*: $(head -c 300 "$tmp/err.txt")"
    fi
    if [ -n "${WANT:-}" ] && ! grep -qF -- "$WANT" "$tmp/err.txt"; then unnamed=$((unnamed + 1)); say "DOES NOT SAY $WANT: $*: $(head -c 300 "$tmp/err.txt")"; fi
    if [ -n "$out" ] && ls -d "$out"* >/dev/null 2>&1; then left=$((left + 1)); say "LEFT $(ls -d "$out"*): $*"; fi
    if [ -n "$keep" ] && [ "$(cat "$keep")" != SENTINEL ]; then left=$((left + 1)); say "REPLACED $keep: $*"; fi
  elif [ "$rc" -eq 0 ]; then
    if [ "$expect" = fail ]; then accepted=$((accepted + 1)); say "ACCEPTED: $*"; fi
  else
    accepted=$((accepted + 1)); say "EXIT $rc: $*: $(head -c 300 "$tmp/err.txt")"
  fi
  rm -rf "${out:-$tmp/none}" "$tmp"/o.*
}

setup() { "$@" >"$tmp/setup.txt" 2>&1 || { setup_fail=$((setup_fail + 1)); say "SETUP FAILED: $*: $(cat "$tmp/setup.txt")"; }; }

# --- good fixtures, made by a2m itself ---
good=$tmp/good
mkdir -p "$good"
setup "$bin" synth --notes "60:0.5-1.5,64:2-3" --duration 4 -o "$good/voice_001.wav" --write-midi "$good/midi_001.mid"
setup "$bin" synth --notes "67:0.5-2,60:2.5-3.5" --duration 4 --seed 2 -o "$good/voice_002.wav" --write-midi "$good/midi_002.mid"
gw=$good/voice_001.wav gm=$good/midi_001.mid
setup "$bin" dataset "$good" -o "$tmp/ds"
printf '{"train": ["voice_001"], "val": ["voice_002"], "test": ["voice_002"]}\n' >"$tmp/split.json"
setup "$bin" features "$gw" -o "$tmp/db.npy"
# normalised features for `forward`: (dB - mean) / std with the seed data's figures
python3 - "$tmp/db.npy" "$tmp/feat.npy" <<'PY' || { setup_fail=$((setup_fail + 1)); echo "  SETUP FAILED: feat.npy"; }
import array, struct, sys
b = open(sys.argv[1], "rb").read()
start = 10 + struct.unpack("<H", b[8:10])[0]
x = array.array("f", b[start:])
x = array.array("f", ((v + 41.0476) / 15.3580 for v in x))
open(sys.argv[2], "wb").write(b[:start] + x.tobytes())
PY
o=$tmp/o

# --- the problem named: the field, the rate, the key, the option, the way out ---
WANT="cqt.hop" hostile fail "$h/m_hop0.safetensors" "$o.mid" -- "$bin" transcribe "$gw" --model "$h/m_hop0.safetensors" -o "$o.mid"
WANT="cqt.sample_rate" hostile fail "$h/m_sr1e8.safetensors" "$o.mid" -- "$bin" transcribe "$gw" --model "$h/m_sr1e8.safetensors" -o "$o.mid"
WANT="norm_std" hostile fail "$h/m_stdnan.safetensors" "$o.mid" -- "$bin" transcribe "$gw" --model "$h/m_stdnan.safetensors" -o "$o.mid"
WANT="a2m import" hostile fail "$h/m_plain.safetensors" "$o.mid" -- "$bin" transcribe "$gw" --model "$h/m_plain.safetensors" -o "$o.mid"
WANT="1 Hz" hostile fail "$h/a_1hz.wav" "$o.npy" -- "$bin" features "$h/a_1hz.wav" -o "$o.npy"

# --- models ---
for m in "$h"/m_*; do
  # a state dict, or a model without normalisation, still runs on features (forward), describes itself, imports
  case $(basename "$m") in m_plain.* | m_nonorm.*) ok_plain=any ;; *) ok_plain=fail ;; esac
  hostile fail "$m" "keep:$o.keep.mid" -- "$bin" transcribe "$gw" --model "$m" -o "$o.keep.mid" --force
  hostile fail "$m" "$o.mid" -- "$bin" transcribe "$gw" --model "$m" -o "$o.mid"
  hostile fail "$m" "$o.json" -- "$bin" eval "$m" "$tmp/ds" --splits "$tmp/split.json" --split val --json "$o.json"
  hostile "$ok_plain" "$m" "" -- "$bin" info "$m"
  hostile "$ok_plain" "$m" "$o.npy" -- "$bin" forward "$m" "$tmp/feat.npy" -o "$o.npy"
  hostile "$ok_plain" "$m" "$o.safetensors" -- "$bin" import "$m" --mean -41 --std 15 -o "$o.safetensors"
done

# --- audio ---
for a in "$h"/a_*; do
  # shorter than a frame: odd but usable. A data chunk longer than the file: a file cut short, refused by name (a
  # stream's length is unknown: standard input is read as far as it goes)
  case $(basename "$a") in a_short.wav) e=any ;; *) e=fail ;; esac
  es=$e; [ "$(basename "$a")" = a_trunc.wav ] && es=any
  [ "$(basename "$a")" = a_trunc.wav ] && WANT=truncated hostile fail "$a" "$o.npy" -- "$bin" features "$a" -o "$o.npy"
  # a folder is an input of `features` and `transcribe` (its audio files: none here), written to a folder
  mo=$o.mid; mk=$o.keep.mid; [ -d "$a" ] && mo=$o.d/ && mk=$o.d/
  hostile "$e" "$a" "$o.npy" -- "$bin" features "$a" -o "$o.npy"
  hostile "$e" "$a" "$o.npy" -- "$bin" labels "$gm" --audio "$a" -o "$o.npy"
  hostile "$e" "$a" "$o.png" -- "$bin" plot cqt "$a" -o "$o.png"
  hostile "$e" "$a" "$o.png" -- "$bin" plot pianoroll "$a" --ref "$gm" --est "$gm" -o "$o.png"
  hostile "$e" "$a" "$mo" -- "$bin" transcribe "$a" --model "$model" -o "$mo"
  [ -d "$a" ] || hostile "$e" "$a" "keep:$mk" -- "$bin" transcribe "$a" --model "$model" -o "$mk" --force
  if [ -f "$a" ]; then
    STDIN=$a hostile "$es" "<stdin>" "$o.mid" -- "$bin" transcribe - --model "$model" -o "$o.mid"
  fi
  rm -rf "$tmp/dsin"; mkdir -p "$tmp/dsin"
  cp -r "$a" "$tmp/dsin/voice_001.wav"; cp "$gm" "$tmp/dsin/midi_001.mid"
  cp "$good/voice_002.wav" "$good/midi_002.mid" "$tmp/dsin/"
  hostile "$e" "voice_001.wav" "$o.ds" -- "$bin" dataset "$tmp/dsin" -o "$o.ds"
done

# --- MIDI ---
for m in "$h"/mid_*; do
  hostile any "$m" "$o.npy" -- "$bin" labels "$m" --duration 4 -o "$o.npy"
  hostile any "$m" "$o.npy" -- "$bin" labels "$m" -o "$o.npy"
  hostile any "$m" "$o.wav" -- "$bin" synth "$m" -o "$o.wav"
  hostile any "$m" "$o.png" -- "$bin" plot cqt "$gw" --labels "$m" -o "$o.png"
  hostile any "$m" "$o.png" -- "$bin" plot pianoroll "$gw" --ref "$m" --est "$gm" -o "$o.png"
  [ -d "$m" ] || hostile any "$m" "" -- "$bin" compare "$m" "$gm" # two folders are compared file by file
  rm -rf "$tmp/dsin"; mkdir -p "$tmp/dsin"
  cp -r "$m" "$tmp/dsin/midi_001.mid"; cp "$gw" "$tmp/dsin/voice_001.wav"
  cp "$good/voice_002.wav" "$good/midi_002.mid" "$tmp/dsin/"
  hostile any "midi_001.mid" "$o.ds" -- "$bin" dataset "$tmp/dsin" -o "$o.ds"
done

# --- checkpoints and --resume ---
train=("$bin" train "$tmp/ds" --split "$tmp/split.json" --epochs 2 --hidden 8 --batch 1)
# a run whose model cannot be written keeps its checkpoint (the model goes to a full device; a model's folder that
# is not there is refused before training)
"${train[@]}" -o /dev/full --checkpoint "$tmp/c.ckpt" >/dev/null 2>&1
if [ ! -w /dev/full ]; then
  echo "  (no /dev/full: the checkpoint cases are skipped)"
elif [ -f "$tmp/c.ckpt" ]; then
  python3 - "$tmp/c.ckpt" "$tmp" <<'PY'
import json, struct, sys
src, out = sys.argv[1], sys.argv[2]
b = open(src, "rb").read()
n = struct.unpack("<Q", b[:8])[0]
hdr, data = json.loads(b[8:8 + n]), b[8 + n:]
def put(name, edit):
    h = json.loads(json.dumps(hdr))
    edit(h["__metadata__"])
    t = json.dumps(h).encode()
    t += b" " * (-len(t) % 8)
    open(f"{out}/{name}.ckpt", "wb").write(struct.pack("<Q", len(t)) + t + data)
for key in ["step", "epoch", "lr", "rng", "best_metric", "plateau_best", "best_epoch", "bad_epochs", "plateau_bad", "n_params", "log"]:
    put("nokey_" + key, lambda m, k=key: m.pop(k))
put("bad_step", lambda m: m.update(step="abc"))
put("bad_epoch", lambda m: m.update(epoch="-3"))
put("bad_lr", lambda m: m.update(lr="nan"))
put("bad_nparams", lambda m: m.update(n_params="12"))
put("bad_recipe", lambda m: m.update(recipe="--model=crnn;--hidden=8;--lr=1;"))
open(f"{out}/trunc.ckpt", "wb").write(b[: len(b) // 2])
open(f"{out}/empty.ckpt", "wb").close()
PY
  for c in "$tmp"/nokey_*.ckpt "$tmp"/bad_*.ckpt "$tmp"/trunc.ckpt "$tmp"/empty.ckpt; do
    k=$(basename "$c" .ckpt); k=${k#nokey_}
    case $c in */nokey_*) w="\"$k\" is missing" ;; *) w="" ;; esac
    WANT=$w hostile fail "$c" "$o.safetensors" -- "${train[@]}" -o "$o.safetensors" --checkpoint "$c" --resume
  done
  WANT="--lr 0.01 (checkpoint: 0.000934)" hostile fail "$tmp/c.ckpt" "$o.safetensors" -- "${train[@]}" -o "$o.safetensors" --checkpoint "$tmp/c.ckpt" --resume --lr 0.01
  WANT="--batch 2 (checkpoint: 1)" hostile fail "$tmp/c.ckpt" "$o.safetensors" -- "${train[@]}" -o "$o.safetensors" --checkpoint "$tmp/c.ckpt" --resume --batch 2
else
  setup_fail=$((setup_fail + 1)); say "SETUP FAILED: no checkpoint left by a run whose model could not be written"
fi
# --resume after the run finished (its checkpoint deleted): refused, the model kept
setup "${train[@]}" -o "$tmp/fin.safetensors"
cp "$tmp/fin.safetensors" "$tmp/fin.copy"
WANT="already finished" hostile fail "fin.safetensors" "" -- "${train[@]}" -o "$tmp/fin.safetensors" --resume
cmp -s "$tmp/fin.safetensors" "$tmp/fin.copy" || { left=$((left + 1)); say "REPLACED $tmp/fin.safetensors by --resume"; }

# --- split files that do not parse or hold no names: refused naming the file; a report's new folder goes too ---
printf '{"train": ["voice_001"' >"$tmp/split_cut.json"
printf '{"train": 5, "val": [1, 2], "test": {"a": 1}}' >"$tmp/split_types.json"
for s in "$tmp/split_cut.json" "$tmp/split_types.json"; do
  WARN_OK=1 hostile fail "$s" "$o.rep" -- \
    "$bin" report "$model" "$tmp/ds" --splits "$s" --split val --audio-dir "$good" -o "$o.rep"
  WARN_OK=1 hostile fail "$s" "$o.json" -- "$bin" eval "$model" "$tmp/ds" --splits "$s" --split val --json "$o.json"
  hostile fail "$s" "$o.safetensors" -- "$bin" train "$tmp/ds" --split "$s" --epochs 1 --hidden 8 -o "$o.safetensors"
  hostile fail "$s" "" -- "$bin" knn "$tmp/ds" --splits "$s" --split val
done

# --- a model whose classes do not cover the dataset's (MIDI 36-84 classes, a 4-class model): named up front (it
# failed in the metrics: "label outside 0..3", naming neither) ---
setup "$bin" dataset "$good" -o "$tmp/ds_wide" --notes 36-84
WANT="4 classes, but the dataset" WARN_OK=1 hostile fail "$model" "$o.json" -- \
  "$bin" eval "$model" "$tmp/ds_wide" --splits "$tmp/split.json" --split val --json "$o.json"
WANT="4 classes, but the dataset" hostile fail "$model" "$o.safetensors" -- \
  "$bin" calibrate "$model" "$tmp/ds_wide" --splits "$tmp/split.json" -o "$o.safetensors"

# --- a model, log or checkpoint in a folder that is not there: said before training (the first epoch's checkpoint
# failed after the epoch) ---
WANT="no folder" hostile fail "$tmp/nofolder/m.safetensors" "" -- "${train[@]}" -o "$tmp/nofolder/m.safetensors"
WANT="no folder" hostile fail "$tmp/nofolder/log.csv" "$o.safetensors" -- \
  "${train[@]}" -o "$o.safetensors" --log "$tmp/nofolder/log.csv"
# ... and every other command's file output, before its work (they said "cannot write" after it)
WANT="no folder" hostile fail "$tmp/nofolder/f.npy" "" -- "$bin" features "$good/voice_001.wav" -o "$tmp/nofolder/f.npy"
WANT="no folder" hostile fail "$tmp/nofolder/s.wav" "" -- "$bin" synth "$good/midi_001.mid" -o "$tmp/nofolder/s.wav"
WANT="no folder" hostile fail "$tmp/nofolder/l.npy" "" -- "$bin" labels "$good/midi_001.mid" -o "$tmp/nofolder/l.npy"
WANT="no folder" hostile fail "$tmp/nofolder/c.csv" "" -- "$bin" compare "$good" "$good" --csv "$tmp/nofolder/c.csv"

# --- a device as an input: refused at once by name (/dev/zero as a .npy was read into 8 GB before its cap said
# "larger than", a model into 4 GB; as audio it was "an empty file") ---
if [ -c /dev/zero ]; then
  WANT="is a device" hostile fail /dev/zero "" -- "$bin" info /dev/zero
  WANT="is a device" hostile fail /dev/zero "$o.npy" -- "$bin" forward "$model" /dev/zero -o "$o.npy"
  WANT="is a device" hostile fail /dev/zero "" -- "$bin" trust "$tmp/feat.npy" /dev/zero
  WANT="is a device" hostile fail /dev/zero "$o.png" -- "$bin" plot loss /dev/zero -o "$o.png"
  WANT="is a device" hostile fail /dev/zero "$o.npy" -- "$bin" features /dev/zero -o "$o.npy"
  WANT="is a device" hostile fail /dev/zero "$o.npy" -- "$bin" labels "$gm" --audio /dev/zero -o "$o.npy"
  WANT="is a device" hostile fail /dev/zero "$o.mid" -- "$bin" transcribe /dev/zero --model "$model" -o "$o.mid"
fi
# a FIFO named as audio (its size is 0: it was "an empty file"); standard input is the way in
if mkfifo "$tmp/pipe.wav" 2>/dev/null; then
  WANT="is a pipe" hostile fail "$tmp/pipe.wav" "$o.npy" -- "$bin" features "$tmp/pipe.wav" -o "$o.npy"
  WANT="is a pipe" hostile fail "$tmp/pipe.wav" "$o.mid" -- "$bin" transcribe "$tmp/pipe.wav" --model "$model" -o "$o.mid"
fi

echo "test_hostile: $runs runs: $crashes crashes, $hangs hangs (> 10 s), $multiline messages not one line, $unnamed not naming the file, $accepted hostile inputs accepted or odd exit codes, $left outputs left or replaced, $setup_fail setup failures"
[ $((crashes + hangs + multiline + unnamed + accepted + left + setup_fail)) -eq 0 ]
