#!/usr/bin/env python3
"""How far the seed singer's notes are from the notes meant: an upper bound on what a transcriber that reports the
pitch sung (after removing the recording's tuning) can score against the seed's MIDI - 12.

Usage: scripts/intonation-bound.py A2M_BINARY SHARED_DIR [SPLIT]   (SPLIT: test (default), train, val, all)
For each take: f0 by YIN (difference function, cumulative-mean normalised, threshold 0.15, parabolic
interpolation; 40 ms windows every 10 ms, f0 60-400 Hz), the take's tuning as the circular mean of every voiced
frame's distance to the nearest semitone (what a transcriber can estimate without the notes), then
- frames: a voiced labelled frame with an f0 is "readable" when round(f0 - tuning) is its label; silence frames
  and labelled frames without an f0 or 6+ semitones off (possible tracking errors) count as readable (optimistic), so the fraction is an upper bound on frame
  accuracy for any transcriber of the pitch sung; "scale" snaps to the nearest pitch of C major (C/E/G's key:
  what a key prior could do at best);
- frames, one pitch a note: every frame of a note carries the rounded median below (a note transcriber's
  output at best: vibrato and scoops inside a note cost nothing);
- notes: a note's pitch is the median over its middle half; it is "readable" when that rounds to the note meant
  (mir_eval's COnP needs it within 50 cents).
Then the same for Prueba.wav against Prueba.mid - 12, note by note. Needs numpy, scipy; a2m reads the MIDI files
(`a2m compare F F --list`). Reference numbers only: no test or build step runs this.
"""
import json, subprocess, sys
import numpy as np
import scipy.io.wavfile as wavfile

a2m, shared = sys.argv[1], sys.argv[2]
part = sys.argv[3] if len(sys.argv) > 3 else 'test'
C_MAJOR = np.array([0, 2, 4, 5, 7, 9, 11])

def midi_notes(path):
    out = subprocess.run([a2m, 'compare', path, path, '--list'], capture_output=True, text=True, check=True).stdout
    return [(float(f[1]), float(f[2]), int(float(f[3]))) for f in (l.split() for l in out.splitlines())
            if len(f) >= 4 and f[0] == 'ref']

def yin(x, sr, fmin=60.0, fmax=400.0, th=0.15):
    hop, win = sr // 100, sr // 25
    tmin, tmax = int(sr / fmax), int(sr / fmin)
    n = max(0, (len(x) - win - tmax) // hop)
    f0 = np.zeros(n)
    for i in range(n):
        s = x[i * hop: i * hop + win + tmax]
        a = s[:win]
        d = np.array([np.dot(a - s[t:t + win], a - s[t:t + win]) for t in range(1, tmax + 1)])
        cm = d * np.arange(1, tmax + 1) / np.maximum(np.cumsum(d), 1e-12)
        below = np.where(cm[tmin - 1:] < th)[0]
        if len(below) == 0:
            continue
        t = below[0] + tmin - 1
        while t + 1 < len(cm) and cm[t + 1] < cm[t]:
            t += 1
        dt = 0.0
        if 0 < t < len(cm) - 1:
            den = cm[t - 1] - 2 * cm[t] + cm[t + 1]
            dt = 0.5 * (cm[t - 1] - cm[t + 1]) / den if den > 0 else 0.0
        f0[i] = sr / (t + 1 + dt)
    times = (np.arange(n) * hop + win / 2) / sr
    return times, np.where(f0 > 0, 69 + 12 * np.log2(np.maximum(f0, 1) / 440), np.nan)

def snap_scale(m):
    octv, pc = np.divmod(m, 12)
    d = pc[:, None] - C_MAJOR[None, :]
    return octv * 12 + C_MAJOR[np.argmin(np.abs(d), axis=1)]

def take(wav, mid):
    sr, x = wavfile.read(wav)
    x = x.astype(float) / 32768
    if x.ndim > 1:
        x = x.mean(axis=1)
    t, m = yin(x, sr)
    sung = m[~np.isnan(m)]
    tuning = np.angle(np.mean(np.exp(2j * np.pi * (sung - np.round(sung))))) / (2 * np.pi) if len(sung) else 0.0
    notes = [(a, b, p - 12) for a, b, p in midi_notes(mid)]
    lab = np.zeros(len(t))
    for a, b, p in notes:
        lab[(t >= a) & (t < b)] = p
    v = (lab > 0) & ~np.isnan(m)
    r = np.round(m[v] - tuning)
    near = np.abs(r - lab[v]) < 6  # a frame 6+ semitones off may be a tracking error: counted readable
    frames = (len(t), ((r != lab[v]) & near).sum(), ((snap_scale(r) != lab[v]) & near).sum())
    per_note = []
    note_bad = 0  # frames of notes whose one pitch (the middle half's median) rounds to another semitone
    for a, b, p in notes:
        w = ~np.isnan(m) & (t >= a + (b - a) / 4) & (t < b - (b - a) / 4)
        if w.sum() >= 3:
            per_note.append((a, b, p, np.median(m[w]) - tuning - p))
            if abs(round(per_note[-1][3])) >= 1:
                note_bad += ((t >= a) & (t < b)).sum()
    return frames + (note_bad,), per_note, tuning

split = json.load(open(f'{shared}/data/seed/split.json'))
names = sorted(sum(split.values(), [])) if part == 'all' else split[part]
nf = bad = bad_scale = bad_note = 0
devs = []
for name in names:
    k = name.replace('voice_', '')
    (n, b, bs, bn), per_note, _ = take(f'{shared}/data/seed/audio/{name}.wav', f'{shared}/data/seed/audio/midi_{k}.mid')
    nf, bad, bad_scale, bad_note = nf + n, bad + b, bad_scale + bs, bad_note + bn
    devs += [(p, d) for _, _, p, d in per_note]
devs = np.array(devs)
print(f'seed {part} split, {len(names)} takes, {nf} frames of 10 ms:')
print(f'  frame accuracy bound for a transcriber of the pitch sung: {1 - bad / nf:.3f} '
      f'(with a perfect C-major prior: {1 - bad_scale / nf:.3f})')
print(f'  the same with one pitch a note (its middle half\'s median, rounded after the tuning): {1 - bad_note / nf:.3f}')
print(f'  notes whose middle half is sung >= 50 cents from the note meant: {(np.abs(devs[:, 1]) >= 0.5).sum()} '
      f'of {len(devs)} ({(np.abs(devs[:, 1]) >= 0.5).mean():.3f})')
for p in (48, 52, 55):
    d = devs[devs[:, 0] == p, 1]
    print(f'    MIDI {p}: {len(d)} notes, mean {d.mean():+.2f} semitones, >= 50 cents off {(np.abs(d) >= 0.5).mean():.3f}')
_, per_note, tuning = take(f'{shared}/data/seed/long/Prueba.wav', f'{shared}/data/seed/long/Prueba.mid')
off = [n for n in per_note if abs(n[3]) >= 0.5]
print(f'Prueba (tuning {100 * tuning:+.0f} cents): {len(off)} of {len(per_note)} notes sung >= 50 cents from the note '
      f'meant: ' + ', '.join(f'{a:.2f} s MIDI {p} sung {d:+.2f}' for a, b, p, d in off))
k = len(per_note) - len(off)
print(f'  COnP bound for a transcriber of the pitch sung: {k}/{len(per_note)} = {k / len(per_note):.3f}')
