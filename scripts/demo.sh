#!/usr/bin/env bash
# The main job, end to end: write a melody as MIDI, sing it with `a2m synth`
# (an octave below the MIDI names, as the seed singer does), transcribe the
# audio with the default model, print the notes and score them against the MIDI.
set -euo pipefail
build=${1:-build}
a2m="$build/a2m"
out=demo
mkdir -p "$out"
rm -f "$out"/melody.* "$out"/sung.*
"$a2m" synth --notes "60:0.40-1.30,64:1.60-2.50,67:2.80-3.90,64:4.30-5.00,60:5.30-6.60,67:7.00-7.80" \
  --write-midi "$out/melody.mid" -o "$out/melody.wav" >/dev/null
"$a2m" synth "$out/melody.mid" --transpose -12 --duration 8.5 -o "$out/sung.wav" >/dev/null
echo "demo: $out/melody.mid rendered as $out/sung.wav (sung an octave below the MIDI names)"
"$a2m" transcribe "$out/sung.wav" -o "$out/sung.mid" --csv --print
echo
"$a2m" compare "$out/melody.mid" "$out/sung.mid"
