#!/usr/bin/env python3
"""Writes the hostile inputs of tests/test_hostile.sh into OUTDIR (standard library only).

usage: make_hostile.py OUTDIR MODEL.safetensors

Models are MODEL with one metadata field made absurd (or the metadata removed: a plain state
dict), truncated, empty, or not safetensors; audio files are WAVs whose header lies (1 Hz, 100 MHz,
more data than the file holds, no channels), NaN/inf samples, empty and garbage files; MIDI files
declare absurd lengths, track counts, tempo 0, a zero time division, or deltas of hours.
"""
import json
import math
import os
import random
import struct
import sys


def read_st(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    return json.loads(b[8:8 + n]), b[8 + n:]


def write_st(path, header, data):
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    open(path, "wb").write(struct.pack("<Q", len(h)) + h + data)


def models(out, src):
    header, data = read_st(src)
    bad_meta = {
        "m_hop0": ("cqt.hop", "0"),
        "m_sr1e8": ("cqt.sample_rate", "100000000"),
        "m_std0": ("norm_std", "0"),
        "m_stdnan": ("norm_std", "nan"),
        "m_meaninf": ("norm_mean", "inf"),
        "m_notes_short": ("class_notes", "60,64"),
        "m_notes_range": ("class_notes", "60,64,500"),
        "m_notes_text": ("class_notes", "60,x,67"),
        "m_nclasses": ("n_classes", "100"),
        "m_hidden_neg": ("hidden", "-5"),
        "m_hidden_shape": ("hidden", "32"),
        "m_hop_text": ("cqt.hop", "abc"),
        "m_hop_frac": ("cqt.hop", "96.5"),
        "m_fmin_nyquist": ("cqt.fmin", "7000"),
        "m_bins_huge": ("cqt.n_bins", "100000"),
        "m_arch_unknown": ("arch", "transformer9000"),
    }
    for name, (k, v) in bad_meta.items():
        h = json.loads(json.dumps(header))
        h["__metadata__"][k] = v
        write_st(os.path.join(out, name + ".safetensors"), h, data)
    h = {k: v for k, v in header.items() if k != "__metadata__"}
    write_st(os.path.join(out, "m_plain.safetensors"), h, data)  # a PyTorch state dict: no normalisation
    h = json.loads(json.dumps(header))
    del h["__metadata__"]["norm_std"]
    write_st(os.path.join(out, "m_nonorm.safetensors"), h, data)
    # a NaN weight: the first float of the first tensor's data
    first = min((v["data_offsets"][0], k) for k, v in header.items() if k != "__metadata__")[0]
    d = bytearray(data)
    d[first:first + 4] = struct.pack("<f", float("nan"))
    write_st(os.path.join(out, "m_nanweight.safetensors"), header, bytes(d))
    whole = open(src, "rb").read()
    open(os.path.join(out, "m_trunc.safetensors"), "wb").write(whole[: len(whole) // 2])
    open(os.path.join(out, "m_empty.safetensors"), "wb").close()
    open(os.path.join(out, "m_hdrhuge.safetensors"), "wb").write(struct.pack("<Q", 1 << 62) + b"{}")
    open(os.path.join(out, "m_garbage.safetensors"), "wb").write(random.Random(1).randbytes(4096))
    os.makedirs(os.path.join(out, "m_dir.safetensors"), exist_ok=True)


def wav(path, rate, data, ch=1, bits=16, fmt=1, data_len=None):
    ba = ch * bits // 8
    n = len(data) if data_len is None else data_len
    hdr = b"RIFF" + struct.pack("<I", 36 + n) + b"WAVE"
    hdr += b"fmt " + struct.pack("<IHHIIHH", 16, fmt, ch, rate, rate * ba, ba, bits)
    hdr += b"data" + struct.pack("<I", n)
    open(path, "wb").write(hdr + data)


def audio(out):
    wav(os.path.join(out, "a_1hz.wav"), 1, bytes(768 * 1024))
    wav(os.path.join(out, "a_100mhz.wav"), 100000000, bytes(64 * 1024))
    wav(os.path.join(out, "a_500hz.wav"), 500, bytes(64 * 1024))
    wav(os.path.join(out, "a_trunc.wav"), 16000, bytes(1000), data_len=1 << 30)
    wav(os.path.join(out, "a_nochan.wav"), 16000, bytes(1000), ch=0)
    wav(os.path.join(out, "a_zero.wav"), 16000, b"")
    wav(os.path.join(out, "a_short.wav"), 16000, bytes(20))
    nan = struct.pack("<f", float("nan")) * 16000
    wav(os.path.join(out, "a_nan.wav"), 16000, nan, bits=32, fmt=3)
    inf = struct.pack("<f", 0.1) * 8000 + struct.pack("<f", float("inf")) * 8000
    wav(os.path.join(out, "a_inf.wav"), 16000, inf, bits=32, fmt=3)
    # a float sine of +-3e38: finite, but its powers overflow (it read as silence, 0 notes, without a word)
    huge = b"".join(struct.pack("<f", 3e38 * math.sin(i / 10.0)) for i in range(16000))
    wav(os.path.join(out, "a_huge.wav"), 16000, huge, bits=32, fmt=3)
    open(os.path.join(out, "a_empty.wav"), "wb").close()
    open(os.path.join(out, "a_garbage.wav"), "wb").write(random.Random(2).randbytes(50000))
    os.makedirs(os.path.join(out, "a_dir.wav"), exist_ok=True)


def vlq(n):
    b = [n & 0x7F]
    n >>= 7
    while n:
        b.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(b))


def smf(path, division, tracks, ntracks=None):
    b = b"MThd" + struct.pack(">IHHH", 6, 1, len(tracks) if ntracks is None else ntracks, division)
    for t in tracks:
        b += b"MTrk" + struct.pack(">I", len(t)) + t
    open(path, "wb").write(b)


def midi(out):
    note = b"\x00\x90\x3c\x64" + vlq(480) + b"\x80\x3c\x00" + b"\x00\xff\x2f\x00"
    smf(os.path.join(out, "mid_ntracks.mid"), 480, [note], ntracks=65535)
    smf(os.path.join(out, "mid_div0.mid"), 0, [note])
    smf(os.path.join(out, "mid_smpte.mid"), 0xE728, [note])
    tempo0 = b"\x00\xff\x51\x03\x00\x00\x00" + note
    smf(os.path.join(out, "mid_tempo0.mid"), 480, [tempo0])
    # a note 0x0FFFFFFF ticks long at the slowest tempo: about 2.5e4 hours
    slow = b"\x00\xff\x51\x03\xff\xff\xff\x00\x90\x3c\x64" + vlq(0x0FFFFFFF) + b"\x80\x3c\x00\x00\xff\x2f\x00"
    smf(os.path.join(out, "mid_hours.mid"), 1, [slow])
    # 20000 notes each starting 0x0FFFFFFF ticks after the last
    many = b"".join(vlq(0x0FFFFFFF) + b"\x90\x3c\x64" + b"\x01\x80\x3c\x00" for _ in range(20000)) + b"\x00\xff\x2f\x00"
    smf(os.path.join(out, "mid_far.mid"), 96, [many])
    b = b"MThd" + struct.pack(">IHHH", 6, 0, 1, 480) + b"MTrk" + struct.pack(">I", 1 << 30) + note
    open(os.path.join(out, "mid_tracklen.mid"), "wb").write(b)
    smf(os.path.join(out, "mid_trunc.mid"), 480, [note * 3])
    good = open(os.path.join(out, "mid_trunc.mid"), "rb").read()
    open(os.path.join(out, "mid_trunc.mid"), "wb").write(good[:30])  # inside the track
    open(os.path.join(out, "mid_empty.mid"), "wb").close()
    open(os.path.join(out, "mid_garbage.mid"), "wb").write(random.Random(3).randbytes(3000))
    os.makedirs(os.path.join(out, "mid_dir.mid"), exist_ok=True)


def main():
    out, model = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    models(out, model)
    audio(out)
    midi(out)


if __name__ == "__main__":
    main()
