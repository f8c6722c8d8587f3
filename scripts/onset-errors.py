#!/usr/bin/python3
"""Why onsets are missed or extra: a2m's notes against reference MIDI, onset only (COn, mir_eval's 50 ms window).

Usage: scripts/onset-errors.py REF_DIR EST_DIR [--per-file]
REF_DIR: x.mid references; EST_DIR: x.mid (or else x.csv, `a2m transcribe --csv`) estimates.
Prints the matched/missed/extra counts, the timing error of near misses (nearest estimate 50-150 ms away), the
missed reference onsets by kind and the extra onsets by kind (docs/anypitch.md, "Onset errors").
Needs numpy and scipy only (Debian's python3-numpy, python3-scipy).
"""
import csv
import os
import sys

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import maximum_bipartite_matching

TOL = 0.05


def read_varlen(b, i):
    v = 0
    while True:
        c = b[i]
        i += 1
        v = (v << 7) | (c & 0x7F)
        if not c & 0x80:
            return v, i


def read_midi(path):
    """Notes (onset s, offset s, pitch) of a standard MIDI file, all tracks, tempo map from any track."""
    b = open(path, "rb").read()
    assert b[:4] == b"MThd"
    ntrk, div = int.from_bytes(b[10:12], "big"), int.from_bytes(b[12:14], "big")
    i, events, tempos = 14, [], [(0, 500000)]
    for _ in range(ntrk):
        assert b[i:i + 4] == b"MTrk"
        end = i + 8 + int.from_bytes(b[i + 4:i + 8], "big")
        i, tick, status = i + 8, 0, 0
        while i < end:
            d, i = read_varlen(b, i)
            tick += d
            if b[i] & 0x80:
                status = b[i]
                i += 1
            if status == 0xFF:
                typ = b[i]
                n, i = read_varlen(b, i + 1)
                if typ == 0x51:
                    tempos.append((tick, int.from_bytes(b[i:i + 3], "big")))
                i += n
            elif status in (0xF0, 0xF7):
                n, i = read_varlen(b, i)
                i += n
            else:
                kind = status & 0xF0
                nb = 1 if kind in (0xC0, 0xD0) else 2
                data = b[i:i + nb]
                i += nb
                if kind in (0x80, 0x90):
                    events.append((tick, kind == 0x90 and data[1] > 0, data[0]))
        i = end
    if any(t == 0 for t, _ in tempos[1:]):
        tempos = tempos[1:]  # the file's own tempo at tick 0 replaces the default
    tempos.sort(key=lambda x: x[0])  # stable: events at one tick keep their order

    def sec(t):
        s, last_t, us = 0.0, 0, 500000
        for tt, u in tempos:
            if tt > t:
                break
            s += (tt - last_t) * us / 1e6 / div
            last_t, us = tt, u
        return s + (t - last_t) * us / 1e6 / div

    events.sort(key=lambda e: (e[0], e[1]))
    on, notes = {}, []
    for t, is_on, p in events:
        if is_on:
            on.setdefault(p, []).append(t)
        elif on.get(p):
            t0 = on[p].pop(0)
            notes.append((sec(t0), sec(t), p))
    notes.sort()
    return np.array(notes).reshape(-1, 3)


def read_csv(path):
    with open(path) as f:
        rows = [(float(r["onset_s"]), float(r["offset_s"]), int(r["midi_pitch"])) for r in csv.DictReader(f)]
    return np.array(rows).reshape(-1, 3)


def match_onsets(ref, est):
    """mir_eval.transcription's onset matching: a maximum bipartite matching of onsets within TOL."""
    if len(ref) == 0 or len(est) == 0:
        return []
    d = np.abs(ref[:, None, 0] - est[None, :, 0])
    hit = np.round(d, 4) <= TOL  # mir_eval rounds the distances to avoid float trouble at the edge
    m = maximum_bipartite_matching(csr_matrix(hit.astype(np.int8)), perm_type="column")
    return [(r, int(e)) for r, e in enumerate(m) if e >= 0]


def miss_kind(ref, r):
    """Why reference note r might be hard: its context in the reference."""
    dur = ref[r, 1] - ref[r, 0]
    if dur < 0.1:
        return "short note < 100 ms"
    if r == 0 or ref[r, 0] - ref[r - 1, 1] > 0.03:
        return "after a rest"
    if ref[r - 1, 2] == ref[r, 2]:
        return "repeated pitch, no gap"
    return "legato pitch change"


def extra_kind(ref, est, e, near):
    """Where an unmatched estimated onset falls in the reference."""
    t, p = est[e, 0], est[e, 2]
    if near:
        return "timing: a missed reference onset 50-150 ms away"
    inside = np.nonzero((ref[:, 0] < t) & (ref[:, 1] > t))[0]
    if len(inside) == 0:
        return "onset in a rest"
    d = abs(p - ref[inside[0], 2])
    if d == 0:
        return "split of one note, same pitch"
    if d == 12:
        return "split of one note, octave"
    if d <= 2:
        return "split of one note, neighbour (glide/scoop)"
    return "split of one note, other pitch"


def main():
    ref_dir, est_dir = sys.argv[1], sys.argv[2]
    per_file = "--per-file" in sys.argv
    names = sorted(f[:-4] for f in os.listdir(ref_dir) if f.endswith(".mid"))
    tot = dict(ref=0, est=0, hit=0)
    miss, extra, near_err, hit_err, f1s, kinds = {}, {}, [], [], [], {}
    for name in names:
        ref = read_midi(os.path.join(ref_dir, name + ".mid"))
        mid = os.path.join(est_dir, name + ".mid")  # what `a2m compare` scores (times on MIDI ticks)
        est = read_midi(mid) if os.path.exists(mid) else read_csv(os.path.join(est_dir, name + ".csv"))
        pairs = match_onsets(ref, est)
        mr = {r for r, _ in pairs}
        me = {e for _, e in pairs}
        hit_err += [est[e, 0] - ref[r, 0] for r, e in pairs]
        near_est = set()
        for r in range(len(ref)):
            kinds[miss_kind(ref, r)] = kinds.get(miss_kind(ref, r), 0) + 1
            if r in mr:
                continue
            free = [e for e in range(len(est)) if e not in me]
            d = [est[e, 0] - ref[r, 0] for e in free]
            j = int(np.argmin(np.abs(d))) if d else -1
            if j >= 0 and abs(d[j]) <= 0.15:
                near_err.append(d[j])
                near_est.add(free[j])
                k = "near miss 50-150 ms"
            else:
                k = miss_kind(ref, r)
            miss[k] = miss.get(k, 0) + 1
        for e in range(len(est)):
            if e not in me:
                k = extra_kind(ref, est, e, e in near_est)
                extra[k] = extra.get(k, 0) + 1
        p = len(pairs) / max(len(est), 1)
        rc = len(pairs) / max(len(ref), 1)
        f1s.append(2 * p * rc / (p + rc) if p + rc else 0)
        if per_file:
            print(f"{name[:40]:40s} ref {len(ref):3d} est {len(est):3d} hit {len(pairs):3d} F1 {f1s[-1]:.3f}")
        tot["ref"] += len(ref)
        tot["est"] += len(est)
        tot["hit"] += len(pairs)
    print(f"files {len(names)}, mean COn F1 {np.mean(f1s):.4f}; reference onsets {tot['ref']}, estimated "
          f"{tot['est']}, matched {tot['hit']}")
    he = np.array(hit_err) * 1000
    print(f"matched onsets: est - ref median {np.median(he):+.1f} ms, IQR {np.percentile(he, 25):+.1f} .. "
          f"{np.percentile(he, 75):+.1f} ms")
    print(f"missed reference onsets: {tot['ref'] - tot['hit']} (reference notes by kind: " +
          ", ".join(f"{k} {v}" for k, v in sorted(kinds.items(), key=lambda x: -x[1])) + ")")
    for k, v in sorted(miss.items(), key=lambda x: -x[1]):
        print(f"  {k:45s} {v:4d}")
    ne = np.array(near_err) * 1000
    if len(ne):
        edges = [-150, -125, -100, -75, -50, 50, 75, 100, 125, 150]
        h, _ = np.histogram(ne, bins=edges)
        print("  near misses, est - ref (ms): " +
              ", ".join(f"[{a},{b}) {c}" for a, b, c in zip(edges, edges[1:], h) if (a, b) != (-50, 50)))
    print(f"extra estimated onsets: {tot['est'] - tot['hit']}")
    for k, v in sorted(extra.items(), key=lambda x: -x[1]):
        print(f"  {k:45s} {v:4d}")


if __name__ == "__main__":
    main()
