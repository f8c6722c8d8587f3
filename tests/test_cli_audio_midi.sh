#!/usr/bin/env bash
# CLI tests of `a2m labels` and `a2m synth`: reference-exact labels, synth
# round trips, and every bad input -> non-zero exit, a one-line message naming
# the file, and no output file left behind.
. "${BASH_SOURCE%/*}/cli_common.sh"

# --- help and usage ---
"$bin" labels --help | grep -q "usage: a2m labels" && ok || bad "labels --help"
"$bin" synth --help | grep -q "usage: a2m synth" && ok || bad "synth --help"
expect_fail 2 "" "$tmp/u.npy" -- "$bin" labels -o "$tmp/u.npy"
expect_fail 2 "" "$tmp/u.npy" -- "$bin" labels x.mid --bogus -o "$tmp/u.npy"
expect_fail 2 "" "$tmp/u.npy" -- "$bin" labels x.mid --hop 0 -o "$tmp/u.npy"
expect_fail 2 "" "$tmp/u.npy" -- "$bin" labels x.mid --notes 60,abc -o "$tmp/u.npy"
expect_fail 2 "" "$tmp/u.npy" -- "$bin" labels x.mid --audio a.wav --duration 3 -o "$tmp/u.npy"
expect_fail 2 "" "$tmp/u.wav" -- "$bin" synth -o "$tmp/u.wav"
expect_fail 2 "" "$tmp/u.wav" -- "$bin" synth --notes "60:2-1" -o "$tmp/u.wav"
expect_fail 2 "" "$tmp/u.wav" -- "$bin" synth --notes "60:0-1,x" -o "$tmp/u.wav"
expect_fail 2 "" "$tmp/u.wav" -- "$bin" synth --notes "60:0-1" --sr 10 -o "$tmp/u.wav"

# --- bad inputs ---
# a valid MIDI made here, so these checks run without ../shared too
"$bin" synth --notes "60:0.5-1.5,64:2-3" -o "$tmp/good.wav" --write-midi "$tmp/good.mid" >/dev/null || bad "synth good.mid"
printf 'not a midi file\n' >"$tmp/text.mid"
: >"$tmp/empty.mid"
mkdir "$tmp/folder.mid"
head -c 40 "$tmp/good.mid" >"$tmp/truncated.mid"
printf 'MThd\0\0\0\6\0\0\0\1\xe7\x28MTrk\0\0\0\4\0\xff\x2f\0' >"$tmp/smpte.mid"
printf 'hello' >"$tmp/text.wav"
for f in missing.mid text.mid empty.mid folder.mid truncated.mid smpte.mid; do
  expect_fail 1 "$tmp/$f" "$tmp/o_$f.npy" -- "$bin" labels "$tmp/$f" -o "$tmp/o_$f.npy"
  expect_fail 1 "$tmp/$f" "$tmp/o_$f.wav" -- "$bin" synth "$tmp/$f" -o "$tmp/o_$f.wav"
done
expect_fail 1 "$tmp/text.wav" "$tmp/o_a.npy" -- "$bin" labels "$tmp/good.mid" --audio "$tmp/text.wav" -o "$tmp/o_a.npy"
expect_fail 1 "$tmp/missing.wav" "$tmp/o_b.npy" -- "$bin" labels "$tmp/good.mid" --audio "$tmp/missing.wav" -o "$tmp/o_b.npy"
# output onto a folder; MIDI output onto a folder leaves no WAV either
expect_fail 1 "$tmp/folder.mid" "" -- "$bin" labels "$tmp/good.mid" -o "$tmp/folder.mid"
expect_fail 1 "$tmp/folder.mid" "$tmp/both.wav" -- "$bin" synth --notes "60:0-1" -o "$tmp/both.wav" --write-midi "$tmp/folder.mid"
expect_fail 1 "$tmp/folder.mid" "" -- "$bin" synth --notes "60:0-1" -o "$tmp/folder.mid"
printf '0,4000,60\n' >"$tmp/long.csv"
expect_fail 1 "$tmp/long.csv" "$tmp/long.wav" -- "$bin" synth "$tmp/long.csv" -o "$tmp/long.wav"
expect_fail 1 "--notes" "$tmp/long.wav" -- "$bin" synth --notes "60:0-4000" -o "$tmp/long.wav"
ls "$tmp"/*.tmp.* >/dev/null 2>&1 && bad "temporary files left: $(ls "$tmp"/*.tmp.*)" || ok

# --- reference-exact labels ---
if have_shared "reference checks" data/seed/audio data/reference/labels; then
  for k in 001 110 187 300; do
    "$bin" labels "$shared/data/seed/audio/midi_$k.mid" -o "$tmp/l$k.npy" >/dev/null 2>"$tmp/err.txt" || bad "labels $k"
    cmp -s "$tmp/l$k.npy" "$shared/data/reference/labels/voice_$k.npy" && ok || bad "labels $k differ from the reference"
    if [ $k = 187 ]; then grep -q "no notes" "$tmp/err.txt" && ok || bad "take 187 (no notes) should warn"; fi
  done
  # the real take's audio gives the same frame count as --duration 4
  "$bin" labels "$shared/data/seed/audio/midi_001.mid" --audio "$shared/data/seed/audio/voice_001.wav" -o "$tmp/la.npy" >/dev/null &&
    cmp -s "$tmp/la.npy" "$shared/data/reference/labels/voice_001.npy" && ok || bad "labels --audio voice_001.wav"
fi

# --- synth: inline notes -> WAV + MIDI; labels from the rendered audio's length ---
"$bin" synth --notes "60:0.5-1.5,64:2-3,67:3-3.9" --duration 4 -o "$tmp/s.wav" --write-midi "$tmp/s.mid" >"$tmp/out.txt" || bad "synth --notes"
grep -q "3 notes, 4.000 s" "$tmp/out.txt" && ok || bad "synth summary: $(cat "$tmp/out.txt")"
"$bin" labels "$tmp/s.mid" --audio "$tmp/s.wav" -o "$tmp/sa.npy" >"$tmp/out.txt" || bad "labels of synth audio"
"$bin" labels "$tmp/s.mid" --duration 4 -o "$tmp/sd.npy" >/dev/null || bad "labels --duration"
cmp -s "$tmp/sa.npy" "$tmp/sd.npy" && ok || bad "labels from the synth audio length != labels from its duration"
grep -q "class 1 C4 (60): 167" "$tmp/out.txt" && ok || bad "class counts: $(cat "$tmp/out.txt")"
# --notes by name: the same classes as the numbers (the default 60,64,67); another order, other classes
"$bin" labels "$tmp/s.mid" --duration 4 --notes C4,E4,G4 -o "$tmp/sn.npy" >/dev/null && cmp -s "$tmp/sd.npy" "$tmp/sn.npy" &&
  ok || bad "labels --notes C4,E4,G4 differ from 60,64,67"
"$bin" labels "$tmp/s.mid" --duration 4 --notes G4,E4,C4 -o "$tmp/sr.npy" >/dev/null && ! cmp -s "$tmp/sd.npy" "$tmp/sr.npy" &&
  ok || bad "labels --notes G4,E4,C4: the order not kept"
# same seed, same bytes; other seed, other bytes
"$bin" synth "$tmp/s.mid" -o "$tmp/s1.wav" >/dev/null && "$bin" synth "$tmp/s.mid" -o "$tmp/s2.wav" >/dev/null &&
  cmp -s "$tmp/s1.wav" "$tmp/s2.wav" && ok || bad "synth not deterministic"
"$bin" synth "$tmp/s.mid" --seed 7 -o "$tmp/s3.wav" >/dev/null && ! cmp -s "$tmp/s1.wav" "$tmp/s3.wav" && ok || bad "seed ignored"
# notes outside the class map warn; transpose maps them
"$bin" synth --notes "48:0-1,52:1-2" -o "$tmp/low.wav" --write-midi "$tmp/low.mid" >/dev/null || bad "synth low"
"$bin" labels "$tmp/low.mid" -o "$tmp/low.npy" >/dev/null 2>"$tmp/err.txt" && grep -q "2 of 2 notes are not in the class map" "$tmp/err.txt" && ok || bad "unmapped warning: $(cat "$tmp/err.txt")"
"$bin" labels "$tmp/low.mid" --transpose 12 -o "$tmp/low.npy" --force >"$tmp/out.txt" 2>"$tmp/err.txt" && ! [ -s "$tmp/err.txt" ] &&
  grep -q "class 2 E4 (64): 167" "$tmp/out.txt" && ok || bad "transpose: $(cat "$tmp/out.txt" "$tmp/err.txt")"
# one note is "1 note"; "--" ends the options, so a file may start with '-'
"$bin" synth --notes "60:0.5-1.5" -o "$tmp/one.wav" --write-midi "$tmp/-one.mid" >"$tmp/out.txt" && grep -q ": 1 note, " "$tmp/out.txt" && ok || bad "synth 1 note: $(cat "$tmp/out.txt")"
(cd "$tmp" && "$bin" labels --duration 2 -o one.npy -- -one.mid) >"$tmp/out.txt" 2>&1 && grep -q "333 frames (2.000 s at 16000 Hz, hop 96), 1 note ->" "$tmp/out.txt" && ok || bad "labels -- -one.mid: $(cat "$tmp/out.txt")"
expect_fail 2 "" "$tmp/two.npy" -- bash -c "cd '$tmp' && '$bin' labels --duration 2 -o two.npy -one.mid"
# a notes CSV works as input too
printf 'onset_s,offset_s,midi_pitch\n0.5,1.5,60\n' >"$tmp/n.csv"
"$bin" labels "$tmp/n.csv" --notes 60 -o "$tmp/csv.npy" >"$tmp/out.txt" && grep -q "class 1 C4 (60): 167" "$tmp/out.txt" && ok || bad "CSV labels: $(cat "$tmp/out.txt")"

finish
