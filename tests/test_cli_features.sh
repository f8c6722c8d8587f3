#!/usr/bin/env bash
# CLI tests of the feature kinds: `a2m features --kind mel|mfcc|lpc` (shapes, a folder through one extractor,
# the librosa references when ../shared is there), bad options (usage errors) and bad input (one line naming
# the file, no output left).
. "${BASH_SOURCE%/*}/cli_common.sh"
# shape of a .npy from its header: "(667, 128)"
shape() { head -c 128 "$1" | tr -d '\0' | grep -ao "'shape': ([0-9, ]*)" | sed "s/'shape': //"; }

mkdir -p "$tmp/takes"
for i in 1 2 3 4; do
  n1=$((60 + 4 * (i % 3))); n2=$((64 + 3 * (i % 2)))
  expect_ok "$bin" synth --notes "$n1:0.3-1.6,$n2:2.0-3.5" --duration 4 --seed $i --write-midi "$tmp/takes/midi_00$i.mid" -o "$tmp/takes/voice_00$i.wav"
done
w="$tmp/takes/voice_001.wav"

# --- shapes: 4 s at hop 96 = 667 frames, 666 with the last dropped (the dataset convention) ---
expect_ok "$bin" features --kind mel "$w" -o "$tmp/mel.npy";   [ "$(shape "$tmp/mel.npy")" = "(666, 128)" ] && ok || bad "mel shape $(shape "$tmp/mel.npy")"
expect_ok "$bin" features --kind mfcc "$w" -o "$tmp/mfcc.npy"; [ "$(shape "$tmp/mfcc.npy")" = "(666, 20)" ] && ok || bad "mfcc shape"
expect_ok "$bin" features --kind lpc "$w" -o "$tmp/lpc.npy";   [ "$(shape "$tmp/lpc.npy")" = "(666, 17)" ] && ok || bad "lpc shape"
expect_ok "$bin" features --kind mel --n-mels 40 --n-fft 1024 --fmin 50 --fmax 4000 --keep-last-frame "$w" -o "$tmp/m40.npy"
[ "$(shape "$tmp/m40.npy")" = "(667, 40)" ] && ok || bad "mel 40 shape $(shape "$tmp/m40.npy")"
expect_ok "$bin" features --kind mfcc --n-mfcc 13 --hop 160 "$w" -o "$tmp/m13.npy"; [ "$(shape "$tmp/m13.npy")" = "(400, 13)" ] && ok || bad "mfcc 13 shape $(shape "$tmp/m13.npy")"
expect_ok "$bin" features --kind lpc --order 8 --frame-length 512 "$w" -o "$tmp/l8.npy"; [ "$(shape "$tmp/l8.npy")" = "(666, 9)" ] && ok || bad "lpc 8 shape"
expect_ok "$bin" features --bpo 12 "$w" -o "$tmp/cqt12.npy"; [ "$(shape "$tmp/cqt12.npy")" = "(666, 84)" ] && ok || bad "cqt --bpo 12: 7 octaves $(shape "$tmp/cqt12.npy")"
expect_ok "$bin" features --bpo 24 --fmin 65.406 --bins 120 "$w" -o "$tmp/cqt24.npy"; [ "$(shape "$tmp/cqt24.npy")" = "(666, 120)" ] && ok || bad "cqt 24 shape"
# a folder: every file through one extractor gives the same bytes as one file at a time, on one thread and with
# the default (the machine's cores)
expect_ok "$bin" features --kind mfcc "$tmp/takes" -o "$tmp/dir" --threads 1
cmp -s "$tmp/dir/voice_001.npy" "$tmp/mfcc.npy" && ok || bad "folder output differs from the single file's"
expect_ok "$bin" features --kind mfcc "$tmp/takes" -o "$tmp/dird"
for i in 1 2 3 4; do cmp -s "$tmp/dird/voice_00$i.npy" "$tmp/dir/voice_00$i.npy" || bad "default threads: voice_00$i differs"; done; ok
"$bin" features --help | grep -q "default the machine's cores, $(getconf _NPROCESSORS_ONLN) here" && ok || bad "--threads default not shown"
[ "$(ls "$tmp/dir" | wc -l)" -eq 4 ] && ok || bad "folder: $(ls "$tmp/dir")"
# --threads: the files shared by 3 workers, each with its own extractor: the same bytes; a broken file among
# them fails alone (exit 1 naming it), the others written; --threads 0 is a usage error
mkdir -p "$tmp/tk"; cp "$tmp"/takes/*.wav "$tmp/tk/"
printf 'RIFF\x10\0\0\0WAVEjunk' >"$tmp/tk/voice_009.wav"
LOG_OK=batch expect_fail 1 voice_009.wav "" -- "$bin" features --kind mfcc "$tmp/tk" -o "$tmp/dir3" --threads 3
for i in 1 2 3 4; do cmp -s "$tmp/dir3/voice_00$i.npy" "$tmp/dir/voice_00$i.npy" || bad "--threads 3: voice_00$i differs"; done; ok
expect_fail 2 "--threads" "$tmp/dir4" -- "$bin" features --kind mfcc "$tmp/tk" -o "$tmp/dir4" --threads 0

# --- the librosa references (../shared) ---
ref="$shared/data/reference/librosa_features"
if have_shared "librosa references" data/reference/librosa_features data/seed/audio/voice_150.wav &&
  /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
  for k in mel mfcc lpc; do expect_ok "$bin" features --kind $k --keep-last-frame "$shared/data/seed/audio/voice_150.wav" -o "$tmp/r.$k.npy"; done
  /usr/bin/python3 - "$tmp" "$ref" <<'PY' && ok || bad "features differ from librosa's"
import numpy as np, sys
t, r = sys.argv[1], sys.argv[2]
m = np.abs(np.load(f"{t}/r.mel.npy") - np.load(f"{r}/voice_150.mel.npy"))
c, cr = np.load(f"{t}/r.mfcc.npy"), np.load(f"{r}/voice_150.mfcc.npy")
l = np.abs(np.load(f"{t}/r.lpc.npy") - np.load(f"{r}/voice_150.lpc.npy"))
rel = (np.abs(c - cr) / (cr.max(0) - cr.min(0))).max()
print(f"mel mean {m.mean():.2g} max {m.max():.2g} dB, mfcc {rel:.2g} of range, lpc {l.max():.2g}")
sys.exit(0 if m.mean() <= 0.01 and m.max() <= 0.1 and rel <= 1e-3 and l.max() <= 1e-4 else 1)
PY
else
  echo "note: $ref or numpy missing: reference comparison skipped (test_features covers it in C)"
fi

# --- bad options: usage errors (exit 2) naming the option, nothing written ---
expect_fail 2 "--kind" "$tmp/x.npy" -- "$bin" features --kind chroma "$w" -o "$tmp/x.npy"
expect_fail 2 "n_mfcc" "$tmp/x.npy" -- "$bin" features --kind mfcc --n-mfcc 200 "$w" -o "$tmp/x.npy"
expect_fail 2 "fmax" "$tmp/x.npy" -- "$bin" features --kind mel --fmax 9000 "$w" -o "$tmp/x.npy"
expect_fail 2 "fmin" "$tmp/x.npy" -- "$bin" features --kind mel --fmin 5000 --fmax 4000 "$w" -o "$tmp/x.npy"
expect_fail 2 "--order" "$tmp/x.npy" -- "$bin" features --kind lpc --order 0 "$w" -o "$tmp/x.npy"
expect_fail 2 "frame length" "$tmp/x.npy" -- "$bin" features --kind lpc --frame-length 10 "$w" -o "$tmp/x.npy"
expect_fail 2 "--n-fft" "$tmp/x.npy" -- "$bin" features --kind mel --n-fft 8 "$w" -o "$tmp/x.npy"
expect_fail 2 "--pad" "$tmp/x.npy" -- "$bin" features --kind mel --pad edge "$w" -o "$tmp/x.npy"
expect_fail 2 "--n-mels" "$tmp/x.npy" -- "$bin" features --kind mel --n-mels "$w" -o "$tmp/x.npy"
# --- bad input: one line naming the file ---
expect_ok "$bin" synth --notes "60:0-0.01" --duration 0.02 -o "$tmp/short.wav"
expect_fail 1 "short.wav" "$tmp/x.npy" -- "$bin" features --kind lpc "$tmp/short.wav" -o "$tmp/x.npy"
printf 'not audio' >"$tmp/text.wav"
expect_fail 1 "text.wav" "$tmp/x.npy" -- "$bin" features --kind mel "$tmp/text.wav" -o "$tmp/x.npy"

# --- the kind goes into the dataset and the model: dataset -> train -> info/eval/transcribe with mel ---
cat >"$tmp/split.json" <<JSON
{"train": ["voice_001", "voice_002"], "val": ["voice_003"], "test": ["voice_004"]}
JSON
expect_ok "$bin" dataset "$tmp/takes" --kind mel --n-mels 64 -o "$tmp/mel.ds"
grep -q "4 takes, 2664 frames x 64 bins of mel" "$tmp/out.txt" && ok || bad "mel dataset summary: $(cat "$tmp/out.txt")"
grep -q '"kind": "mel"' "$tmp/mel.ds/index.json" && ok || bad "index.json has no feature kind"
expect_ok "$bin" train "$tmp/mel.ds" --split "$tmp/split.json" --hidden 8 --epochs 2 -o "$tmp/mel.safetensors"
expect_ok "$bin" info "$tmp/mel.safetensors"
grep -q "input         64 bins" "$tmp/out.txt" && grep -q "features      mel sr 16000, hop 96, n_fft 2048, 64 mels 0-8000 Hz" "$tmp/out.txt" && ok || bad "info: $(cat "$tmp/out.txt")"
expect_ok "$bin" eval "$tmp/mel.safetensors" "$tmp/mel.ds" --splits "$tmp/split.json"
expect_ok "$bin" transcribe "$w" --model "$tmp/mel.safetensors" --csv -o "$tmp/t.mid"
[ -s "$tmp/t.mid" ] && ok || bad "transcribe with the mel model wrote no MIDI"
# the transcription computes the features the model was trained on: its frame count and the model's
# probabilities are those of the mel features of the file (not of a CQT of 252 bins, which it cannot take)
expect_ok "$bin" transcribe "$w" --model "$tmp/mel.safetensors" --probs -o "$tmp/p.mid"
[ "$(shape "$tmp/p.probs.npy")" = "(666, 4)" ] && ok || bad "mel model probs shape $(shape "$tmp/p.probs.npy" 2>/dev/null)"
# a CQT dataset with a mel model, a mel dataset of other parameters: refused, naming the model and the difference
expect_ok "$bin" dataset "$tmp/takes" -o "$tmp/cqt.ds"
expect_fail 1 "differ in kind" "" -- "$bin" eval "$tmp/mel.safetensors" "$tmp/cqt.ds" --splits "$tmp/split.json"
expect_ok "$bin" dataset "$tmp/takes" --kind mfcc --n-mfcc 64 --n-mels 64 -o "$tmp/mfcc.ds"
expect_fail 1 "mel.safetensors" "" -- "$bin" eval "$tmp/mel.safetensors" "$tmp/mfcc.ds" --splits "$tmp/split.json"
# hostile feature metadata (same-length edits of the header): one line naming the model
sed 's/"feat.kind":"mel"/"feat.kind":"xyz"/' "$tmp/mel.safetensors" >"$tmp/h1.safetensors"
sed 's/"feat.n_mels":"64"/"feat.n_mels":"65"/' "$tmp/mel.safetensors" >"$tmp/h2.safetensors"
sed 's/"feat.n_fft":"2048"/"feat.n_fft":"0008"/' "$tmp/mel.safetensors" >"$tmp/h3.safetensors"
sed 's/"feat.kind":"mel"/"feat.kind":"lpc"/' "$tmp/mel.safetensors" >"$tmp/h4.safetensors"
for h in 1 2 3 4; do
  cmp -s "$tmp/h$h.safetensors" "$tmp/mel.safetensors" && bad "h$h: the edit did not apply"
  expect_fail 1 "h$h.safetensors" "$tmp/h.mid" -- "$bin" transcribe "$w" --model "$tmp/h$h.safetensors" -o "$tmp/h.mid"
done
# the baselines read the kind from the dataset
expect_fail 1 "holds mel features, not cqt" "" -- "$bin" knn "$tmp/mel.ds" --splits "$tmp/split.json" --features cqt
# streaming needs the CQT's front end; pitch augmentation needs CQT bins
expect_fail 1 "no streaming" "" -- "$bin" transcribe - --model "$tmp/mel.safetensors" -o "$tmp/s.mid" < "$w"
LOG_OK=1 expect_fail 1 "pitch augmentation" "$tmp/aug" -- "$bin" train "$tmp/mfcc.ds" --split "$tmp/split.json" --epochs 1 --augment-shift 2 -o "$tmp/aug.safetensors"
# lpc: 17 values a frame through the whole chain
expect_ok "$bin" dataset "$tmp/takes" --kind lpc -o "$tmp/lpc.ds"
expect_ok "$bin" train "$tmp/lpc.ds" --split "$tmp/split.json" --hidden 8 --epochs 1 -o "$tmp/lpc.safetensors"
expect_ok "$bin" transcribe "$w" --model "$tmp/lpc.safetensors" -o "$tmp/l.mid"
expect_fail 2 "--kind" "$tmp/bad.ds" -- "$bin" dataset "$tmp/takes" --kind cepstrum -o "$tmp/bad.ds"

# --- pictures of the features (docs/features.md) ---
for k in mel mfcc lpc cqt; do
  expect_ok "$bin" plot features "$w" --kind $k --labels "$tmp/takes/midi_001.mid" -o "$tmp/f_$k.png"
  head -c 8 "$tmp/f_$k.png" | grep -q PNG && ok || bad "plot features --kind $k: no PNG"
done
expect_ok "$bin" plot distances "$w" --kind mfcc --labels "$tmp/takes/midi_001.mid" -o "$tmp/d.svg"
grep -q "<svg" "$tmp/d.svg" && ok || bad "plot distances: no SVG"
expect_fail 2 "--kind" "$tmp/p.png" -- "$bin" plot features "$w" --kind chroma -o "$tmp/p.png"
expect_fail 1 "text.wav" "$tmp/p.png" -- "$bin" plot distances "$tmp/text.wav" --kind mel -o "$tmp/p.png"

finish
