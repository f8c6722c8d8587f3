#!/usr/bin/env bash
# CLI tests of `a2m gendata`: usage errors (exit 2), missing seed folder or
# soundfont (exit 1, one line naming the file), an existing folder refused
# without --force, and the same bytes whatever --jobs for every source.
. "${BASH_SOURCE%/*}/cli_common.sh"
sf=/usr/share/sounds/sf3/FluidR3Mono_GM.sf3

# same_dirs A B: every file byte-identical
same_dirs() {
  if diff -r "$1" "$2" >/dev/null; then ok; else bad "$1 and $2 differ: $(diff -rq "$1" "$2" | head -3)"; fi
}

# --- usage ---
"$bin" gendata --help | grep -q "usage: a2m gendata" && ok || bad "gendata --help"
"$bin" help 2>&1 | grep -q "gendata" && ok || bad "gendata not in a2m help"
o="$tmp/u"
expect_fail 2 "" "$o" -- "$bin" gendata --source synth --count 2
expect_fail 2 "" "$o" -- "$bin" gendata -o "$o" --count 2
expect_fail 2 "" "$o" -- "$bin" gendata -o "$o" --source synth
expect_fail 2 "" "$o" -- "$bin" gendata -o "$o" --source piano --count 2
expect_fail 2 "" "$o" -- "$bin" gendata -o "$o" --source synth --count 0
expect_fail 2 "" "$o" -- "$bin" gendata -o "$o" --source synth --count 2x
expect_fail 2 "" "$o" -- "$bin" gendata -o "$o" --source synth --count 2 --augment 1.5
expect_fail 2 "" "$o" -- "$bin" gendata -o "$o" --source synth --count 2 --seconds 0
expect_fail 2 "" "$o" -- "$bin" gendata -o "$o" --source synth --count 2 --jobs 0
expect_fail 2 "" "$o" -- "$bin" gendata -o "$o" --source seed --count 2 --shifts 5..1
expect_fail 2 "" "$o" -- "$bin" gendata -o "$o" --source seed --count 2 --shifts -30..0
expect_fail 2 "" "$o" -- "$bin" gendata -o "$o" --source seed --count 2 --seed-pitch sung
expect_fail 2 "" "$o" -- "$bin" gendata -o "$o" --source synth --count 2 --pitches 60..50
expect_fail 2 "" "$o" -- "$bin" gendata -o "$o" --source synth --count 2 --pitches 0..60
expect_fail 2 "" "$o" -- "$bin" gendata -o "$o" --source synth --count 2 --bogus
expect_fail 2 "" "$o" -- "$bin" gendata -o "$o" --source synth --count

# --- missing inputs: exit 1 naming the file, nothing written ---
expect_fail 1 "$tmp/no_seed" "$o" -- "$bin" gendata -o "$o" --source seed --count 2 --seed-dir "$tmp/no_seed"
mkdir -p "$tmp/empty_seed"
expect_fail 1 "$tmp/empty_seed" "$o" -- "$bin" gendata -o "$o" --source seed --count 2 --seed-dir "$tmp/empty_seed"
expect_fail 1 "$tmp/none.sf2" "$o" -- "$bin" gendata -o "$o" --source fluid --count 2 --soundfont "$tmp/none.sf2"
echo "not a soundfont" >"$tmp/bad.sf2"
expect_fail 1 "$tmp/bad.sf2" "$o" -- "$bin" gendata -o "$o" --source fluid --count 2 --soundfont "$tmp/bad.sf2"

# --- synth: deterministic across --jobs, manifest, existing folder ---
if "$bin" gendata -o "$tmp/s1" --source synth --count 5 --seed 3 --seconds 3 --augment 0.5 --jobs 1 >/dev/null 2>&1 &&
   "$bin" gendata -o "$tmp/s2" --source synth --count 5 --seed 3 --seconds 3 --augment 0.5 --jobs 2 >/dev/null 2>&1; then
  ok
  same_dirs "$tmp/s1" "$tmp/s2"
  [ "$(ls "$tmp/s1"/synth_*.wav | wc -l)" -eq 5 ] && [ "$(ls "$tmp/s1"/synth_*.mid | wc -l)" -eq 5 ] && ok || bad "5 wav + 5 mid"
  [ "$(wc -l <"$tmp/s1/manifest.csv")" -eq 6 ] && ok || bad "manifest has $(wc -l <"$tmp/s1/manifest.csv") lines, 6 expected"
  head -1 "$tmp/s1/manifest.csv" | grep -q "^name,source,.*detune_cents.*augment$" && ok || bad "manifest header"
  # 3 s at 16 kHz, 16-bit mono: 96000 bytes of samples + 44 of header
  [ "$(stat -c %s "$tmp/s1/synth_00000.wav")" -eq 96044 ] && ok || bad "synth_00000.wav is $(stat -c %s "$tmp/s1/synth_00000.wav") bytes"
  "$bin" compare "$tmp/s1/synth_00001.mid" "$tmp/s1/synth_00001.mid" >/dev/null 2>&1 && ok || bad "MIDI does not read back"
  expect_fail 1 "$tmp/s1" "" -- "$bin" gendata -o "$tmp/s1" --source synth --count 2
  # --force: takes rewritten, their manifest rows not repeated
  "$bin" gendata -o "$tmp/s1" --source synth --count 2 --seed 3 --seconds 3 --augment 0.5 --force >/dev/null 2>&1 && ok || bad "--force"
  [ "$(wc -l <"$tmp/s1/manifest.csv")" -eq 6 ] && ok || bad "--force: manifest has $(wc -l <"$tmp/s1/manifest.csv") lines"
  same_dirs "$tmp/s1" "$tmp/s2"
  "$bin" gendata -o "$tmp/s3" --source synth --count 2 --seed 4 --seconds 3 >/dev/null 2>&1
  cmp -s "$tmp/s1/synth_00000.wav" "$tmp/s3/synth_00000.wav" && bad "another --seed gave the same take" || ok
else
  bad "gendata --source synth failed"
fi
mkdir -p "$tmp/seedcopy"
[ -d "$shared/data/seed/audio" ] && cp "$shared/data/seed/audio/voice_001.wav" "$shared/data/seed/audio/midi_001.mid" "$tmp/seedcopy/"
expect_fail 1 "$tmp/seedcopy" "" -- "$bin" gendata -o "$tmp/seedcopy" --source seed --count 1 --seed-dir "$tmp/seedcopy" --force
# a seed folder whose take is not audio: exit 1 naming it
mkdir -p "$tmp/badseed"
echo "not audio" >"$tmp/badseed/voice_001.wav"
[ -d "$shared/data/seed/audio" ] && cp "$shared/data/seed/audio/midi_001.mid" "$tmp/badseed/" || printf 'MThd' >"$tmp/badseed/midi_001.mid"
expect_fail 1 "voice_001.wav" "" -- "$bin" gendata -o "$tmp/bs" --source seed --count 1 --seed-dir "$tmp/badseed"
[ -e "$tmp/bs/manifest.csv" ] && bad "a failed run wrote a manifest" || ok
# --pitches: every note inside
"$bin" gendata -o "$tmp/p1" --source synth --count 4 --seconds 2 --pitches 60..62 >/dev/null 2>&1 &&
  [ "$(awk -F, 'NR > 1 && ($5 < 60 || $6 > 62)' "$tmp/p1/manifest.csv" | wc -l)" -eq 0 ] &&
  [ "$(wc -l <"$tmp/p1/manifest.csv")" -eq 5 ] && ok || bad "--pitches 60..62: $(cat "$tmp/p1/manifest.csv")"
touch "$tmp/file"
expect_fail 1 "$tmp/file" "" -- "$bin" gendata -o "$tmp/file" --source synth --count 1 --force

# --- fluid ---
if [ -f "$sf" ]; then
  "$bin" gendata -o "$tmp/f1" --source fluid --count 3 --seconds 3 --soundfont "$sf" --jobs 1 >/dev/null 2>&1 &&
  "$bin" gendata -o "$tmp/f2" --source fluid --count 3 --seconds 3 --soundfont "$sf" --jobs 2 >/dev/null 2>&1 && ok || bad "fluid"
  same_dirs "$tmp/f1" "$tmp/f2"
  grep -q "FluidR3Mono_GM.sf3:000:05" "$tmp/f1/manifest.csv" && ok || bad "fluid manifest names no preset"
else
  echo "SKIP fluid part: $sf missing"
fi

# --- festival ---
if command -v text2wave >/dev/null; then
  "$bin" gendata -o "$tmp/v1" --source festival --count 2 --seconds 3 --jobs 1 >/dev/null 2>&1 &&
  "$bin" gendata -o "$tmp/v2" --source festival --count 2 --seconds 3 --jobs 2 >/dev/null 2>&1 && ok || bad "festival"
  same_dirs "$tmp/v1" "$tmp/v2"
  grep -q "^festival_00000,festival,3.000,.*,festival kal shift [-+][0-9]* formants x" "$tmp/v1/manifest.csv" && ok || bad "festival manifest: $(tail -1 "$tmp/v1/manifest.csv")"
else
  echo "SKIP festival part: text2wave missing"
fi

# --- seed ---
if have_shared "seed part" data/seed/audio; then
  "$bin" gendata -o "$tmp/d1" --source seed --count 3 --augment 1 --jobs 1 --seed-dir "$shared/data/seed/audio" >/dev/null 2>&1 &&
  "$bin" gendata -o "$tmp/d2" --source seed --count 3 --augment 1 --jobs 2 --seed-dir "$shared/data/seed/audio" >/dev/null 2>&1 && ok || bad "seed"
  same_dirs "$tmp/d1" "$tmp/d2"
  # take 1 (voice_001: written 60/64/67, sung 48/52/55) shifted by the manifest's shift
  shift1=$(awk -F, 'NR == 2 {print $18}' "$tmp/d1/manifest.csv")
  take1=$(awk -F, 'NR == 2 {print $17}' "$tmp/d1/manifest.csv")
  lo=$(awk -F, 'NR == 2 {print $5}' "$tmp/d1/manifest.csv")
  [ "$take1" = 1 ] && [ "$lo" -eq $((48 + shift1)) ] && ok || bad "seed_00000: take $take1, lowest note $lo, shift $shift1"
  "$bin" gendata -o "$tmp/d3" --source seed --count 2 --shifts 3..3 --seed-dir "$shared/data/seed/audio" >/dev/null 2>&1
  [ "$(awk -F, 'NR > 1 {print $18}' "$tmp/d3/manifest.csv" | sort -u)" = "+3" ] && ok || bad "--shifts 3..3"
  # voice_001 as sung: its first "60" at ~49.1, so measured labels start a semitone above written - 12
  "$bin" gendata -o "$tmp/d4" --source seed --count 1 --shifts 0..0 --seed-pitch measured --seed-dir "$shared/data/seed/audio" >/dev/null 2>&1
  grep -q "^seed_00000,seed,4.000,4,49,55,voice_001.wav formants x[01].[0-9][0-9] cents +1[0-9][0-9]/" "$tmp/d4/manifest.csv" && ok || bad "--seed-pitch measured: $(tail -1 "$tmp/d4/manifest.csv")"
fi

# --- recorded: any NAME.wav + NAME.mid, shifted and stretched; the notes move with them ---
expect_fail 2 "" "$o" -- "$bin" gendata -o "$o" --source recorded --count 2
expect_fail 2 "" "$o" -- "$bin" gendata -o "$o" --source recorded --count 2 --recordings "$tmp/s3" --stretch 1.2..1.1
expect_fail 2 "" "$o" -- "$bin" gendata -o "$o" --source recorded --count 2 --recordings "$tmp/s3" --stretch 0.1..1
expect_fail 2 "" "$o" -- "$bin" gendata -o "$o" --source recorded --count 2 --recordings "$tmp/s3" --stretch nan..1
expect_fail 1 "$tmp/empty_seed" "$o" -- "$bin" gendata -o "$o" --source recorded --count 2 --recordings "$tmp/empty_seed"
expect_fail 1 "$tmp/s3" "" -- "$bin" gendata -o "$tmp/s3" --source recorded --count 1 --recordings "$tmp/s3" --force
# a recording whose MIDI is not MIDI: exit 1 naming it, no manifest
mkdir -p "$tmp/badrec"
[ -f "$tmp/s3/synth_00000.wav" ] && cp "$tmp/s3/synth_00000.wav" "$tmp/badrec/take.wav"
echo "not midi" >"$tmp/badrec/take.mid"
expect_fail 1 "take.mid" "$tmp/br" -- "$bin" gendata -o "$tmp/br" --source recorded --count 1 --recordings "$tmp/badrec"
# a take that fails after others were written: a folder the run made is removed with them; inside an older
# folder (--force) the manifest lists the takes written, as after an interrupt
[ -f "$tmp/s3/synth_00000.mid" ] && cp "$tmp/s3/synth_00000.wav" "$tmp/badrec/a.wav" &&
  cp "$tmp/s3/synth_00000.mid" "$tmp/badrec/a.mid"
mv "$tmp/badrec/take.mid" "$tmp/badrec/z.mid" && mv "$tmp/badrec/take.wav" "$tmp/badrec/z.wav"
expect_fail 1 "z.mid" "$tmp/br" -- "$bin" gendata -o "$tmp/br" --source recorded --count 3 --jobs 1 \
  --recordings "$tmp/badrec"
mkdir -p "$tmp/br2" && echo keep >"$tmp/br2/other.txt"
expect_fail 1 "z.mid" "" -- "$bin" gendata -o "$tmp/br2" --force --source recorded --count 3 --jobs 1 \
  --recordings "$tmp/badrec"
[ "$(ls "$tmp/br2" | tr '\n' ' ')" = "manifest.csv other.txt recorded_00000.mid recorded_00000.wav " ] &&
  [ "$(cut -d, -f1 "$tmp/br2/manifest.csv" | tr '\n' ' ')" = "name recorded_00000 " ] && ok ||
  bad "a failed run with --force: $(ls "$tmp/br2" | tr '\n' ' '), manifest $(cat "$tmp/br2/manifest.csv" 2>&1)"
# frames of a MIDI's notes (voiced) and of its rests, at a duration: from `a2m labels`' class counts
frames() { # MIDI SECONDS -> "voiced silent"
  "$bin" labels "$1" --duration "$2" --notes 12-108 -o /dev/null 2>&1 |
    awk '/ frames \(/ {n = $2} /class 0 silence/ {s = $NF} END {print n - s, s}'
}
if [ -f "$tmp/s3/synth_00000.mid" ] &&
   "$bin" gendata -o "$tmp/r1" --source recorded --count 3 --recordings "$tmp/s3" --shifts 2..2 --stretch 1.25..1.25 \
     --jobs 1 >/dev/null 2>&1 &&
   "$bin" gendata -o "$tmp/r2" --source recorded --count 3 --recordings "$tmp/s3" --shifts 2..2 --stretch 1.25..1.25 \
     --jobs 2 >/dev/null 2>&1; then
  ok
  same_dirs "$tmp/r1" "$tmp/r2"
  # take 2 cycles back to recording 1 (synth_00000, 3 s): 3.75 s, its notes 2 semitones up, every time x1.25
  row=$(awk -F, '$1 == "recorded_00002"' "$tmp/r1/manifest.csv")
  lo0=$(awk -F, '$1 == "synth_00000" {print $5}' "$tmp/s3/manifest.csv")
  [ "$(echo "$row" | cut -d, -f3)" = 3.750 ] && [ "$(echo "$row" | cut -d, -f5)" -eq $((lo0 + 2)) ] &&
    [ "$(echo "$row" | cut -d, -f17,18)" = "1,+2" ] && echo "$row" | grep -q ",synth_00000.wav formants x[0-9.]* stretch x1.250 cents " &&
    ok || bad "recorded_00002: $row (synth_00000's lowest note $lo0)"
  read -r v0 s0 < <(frames "$tmp/s3/synth_00000.mid" 3)
  read -r v1 s1 < <(frames "$tmp/r1/recorded_00002.mid" 3.75)
  [ $((4 * v1 - 5 * v0)) -ge -40 ] && [ $((4 * v1 - 5 * v0)) -le 40 ] && [ $((4 * s1 - 5 * s0)) -ge -40 ] &&
    [ $((4 * s1 - 5 * s0)) -le 40 ] && ok || bad "stretch x1.25: voiced $v0 -> $v1 frames, silent $s0 -> $s1"
  [ "$(stat -c %s "$tmp/r1/recorded_00002.wav")" -eq $((60000 * 2 + 44)) ] && ok || bad "recorded_00002.wav: $(stat -c %s "$tmp/r1/recorded_00002.wav") bytes"
else
  bad "gendata --source recorded failed"
fi

# --- SIGTERM (as Ctrl-C): the takes being made finish, manifest.csv lists every take on disk (it was not written:
# the takes were left without rows, and over an older run with --force its rows described other takes), exit 143 ---
o=$tmp/int
"$bin" gendata -o "$o" --source synth --count 6 --seconds 1 >/dev/null 2>&1 || bad "gendata before the interrupt"
"$bin" gendata -o "$o" --source synth --count 2000 --seconds 1 --seed 2 --force >/dev/null 2>"$tmp/int.txt" &
pid=$!
for i in $(seq 400); do [ -e "$o/synth_00007.mid" ] && break; sleep 0.05; done
kill -TERM "$pid"
wait "$pid"
rc=$?
n=$(ls "$o" | grep -c '\.wav$')
[ "$rc" -eq 143 ] && grep -q "^a2m gendata: interrupted: $n of 2000 takes written" "$tmp/int.txt" && ok ||
  bad "gendata interrupted: exit $rc, $n takes, $(cat "$tmp/int.txt")"
[ "$(ls "$o" | grep -c '\.mid$')" -eq "$n" ] && [ "$(tail -n +2 "$o/manifest.csv" | wc -l)" -eq "$n" ] &&
  ! ls "$o" | grep -q '\.tmp\.' && ok ||
  bad "after the interrupt: $n .wav, $(ls "$o" | grep -c '\.mid$') .mid, $(ls "$o" | grep '\.tmp\.' | head -1),\
 manifest: $(wc -l <"$o/manifest.csv")"
"$bin" gendata -o "$tmp/int_ref" --source synth --count "$n" --seconds 1 --seed 2 >/dev/null 2>&1
diff -r "$o" "$tmp/int_ref" >/dev/null && ok ||
  bad "interrupted folder differs from --count $n: $(diff -rq "$o" "$tmp/int_ref" | head -2)"

finish
