#!/usr/bin/env bash
# The main job, end to end: write a melody as MIDI (the opening of "Ode to Joy" in D major, at a tenor's pitch,
# legato with a repeated note, well outside the seed project's C/E/G), sing it with `a2m synth`, transcribe the
# audio with the default (any-pitch) model, print the notes and score them against the MIDI.
set -euo pipefail
build=${1:-build}
a2m="$build/a2m"
out=demo
mkdir -p "$out"
rm -f "$out"/melody.* "$out"/sung.*
# F#3 F#3 G3 A3 | A3 G3 F#3 E3 | D3 D3 E3 F#3 | F#3. E3 E3 (MIDI 54 54 55 57 57 55 54 52 50 50 52 54 54 52 52)
notes="54:0.50-0.98,54:1.00-1.48,55:1.50-1.98,57:2.00-2.48,57:2.50-2.98,55:3.00-3.48,54:3.50-3.98,52:4.00-4.48"
notes="$notes,50:4.50-4.98,50:5.00-5.48,52:5.50-5.98,54:6.00-6.48,54:6.50-7.20,52:7.25-7.48,52:7.50-8.40"
"$a2m" synth --notes "$notes" --write-midi "$out/melody.mid" --duration 9 -o "$out/sung.wav" >/dev/null
echo "demo: $out/melody.mid (Ode to Joy, MIDI 50-57) sung by a2m synth as $out/sung.wav"
"$a2m" transcribe "$out/sung.wav" -o "$out/sung.mid" --csv --print --force
echo
"$a2m" compare "$out/melody.mid" "$out/sung.mid"
