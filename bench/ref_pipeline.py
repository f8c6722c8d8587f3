#!/usr/bin/python3
"""The original Python pipeline, as a timing reference for bench/startup.sh: a CQT computed as librosa 0.10's
cqt() does it (per-octave sparse FFT kernels, the signal halved between octaves, amplitude_to_db), then the CRNN
(Conv1d 252->64, Conv1d 64->128, BiLSTM, Linear) in PyTorch with the weights of an a2m model file, frame argmax.
librosa is not installed here (PyPI unreachable): its algorithm is written out with numpy/scipy (halving by
scipy.signal.resample_poly instead of soxr), so the work is librosa's, the numbers only close to it.
Usage: ref_pipeline.py MODEL.safetensors AUDIO.wav   (Debian python3-numpy, -scipy, -torch)"""
import json
import struct
import sys

import numpy as np
import scipy.io.wavfile
import scipy.signal
import torch


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        head = json.loads(f.read(n))
        data = f.read()
    meta = head.pop("__metadata__", {})
    t = {k: torch.from_numpy(np.frombuffer(data[v["data_offsets"][0]:v["data_offsets"][1]], dtype=np.float32)
                             .reshape(v["shape"]).copy()) for k, v in head.items()}
    return t, meta


def octave_kernel(freqs, sr, alpha):
    lengths = (1.0 / alpha) * sr / freqs
    n_fft = int(2 ** np.ceil(np.log2(lengths.max())))
    basis = np.zeros((len(freqs), n_fft), dtype=np.complex64)
    for k, (f, ilen) in enumerate(zip(freqs, lengths)):
        start, stop = int(np.floor(-ilen / 2)), int(np.floor(ilen / 2))
        t = np.arange(start, stop) * 2 * np.pi * f / sr
        w = scipy.signal.get_window("hann", stop - start, fftbins=True)
        sig = (w * np.exp(1j * t)) / np.sum(np.abs(w))
        lpad = (n_fft - len(sig)) // 2
        basis[k, lpad:lpad + len(sig)] = sig * (ilen / n_fft)
    fft = np.fft.fft(basis, axis=1)[:, :n_fft // 2 + 1]
    mags = np.abs(fft)
    for row, m in zip(fft, mags):  # librosa's sparsify_rows (quantile 0.01)
        s = np.sort(m)
        cut = s[np.searchsorted(np.cumsum(s / m.sum()), 0.01)]
        row[m < cut] = 0
    return fft, n_fft


def cqt_db(y, sr=16000, hop=96, fmin=32.703195662574828, n_bins=252, bpo=36):
    freqs = fmin * 2.0 ** (np.arange(n_bins) / bpo)
    r = 2 ** (1 / bpo)
    alpha = (r ** 2 - 1) / (r ** 2 + 1)
    out, my_y, my_sr, my_hop = [], y, sr, hop
    for i in range((n_bins + bpo - 1) // bpo):
        hi = n_bins - bpo * i
        lo = max(hi - bpo, 0)
        kern, n_fft = octave_kernel(freqs[lo:hi], my_sr, alpha)
        kern *= np.sqrt(sr / my_sr)
        pad = np.pad(my_y, n_fft // 2)
        frames = np.lib.stride_tricks.sliding_window_view(pad, n_fft)[::my_hop]
        spec = np.fft.rfft(frames, axis=1)
        out.insert(0, np.abs(spec @ kern.T).T)
        if my_hop % 2 == 0 and i + 1 < (n_bins + bpo - 1) // bpo:
            my_y = scipy.signal.resample_poly(my_y, 1, 2) * np.sqrt(2)
            my_sr, my_hop = my_sr / 2, my_hop // 2
    n = min(o.shape[1] for o in out)
    C = np.concatenate([o[:, :n] for o in out])[:, :-1]
    C = C / np.sqrt(((1.0 / alpha) * sr / freqs))[:, None]
    db = 20 * np.log10(np.maximum(1e-5, C))
    return np.maximum(db, db.max() - 80).T.astype(np.float32)


class CRNN(torch.nn.Module):
    def __init__(self, n_bins, hidden, n_classes):
        super().__init__()
        self.conv = torch.nn.Sequential(torch.nn.Conv1d(n_bins, 64, 3, padding=1), torch.nn.ReLU(),
                                        torch.nn.Conv1d(64, 128, 3, padding=1), torch.nn.ReLU())
        self.lstm = torch.nn.LSTM(128, hidden, batch_first=True, bidirectional=True)
        self.fc = torch.nn.Linear(2 * hidden, n_classes)

    def forward(self, x):
        h = self.conv(x.transpose(1, 2)).transpose(1, 2)
        return self.fc(self.lstm(h)[0])


def main():
    torch.set_num_threads(1)
    weights, meta = load_safetensors(sys.argv[1])
    sr, y = scipy.io.wavfile.read(sys.argv[2])
    y = y.astype(np.float32) / (32768.0 if y.dtype == np.int16 else 1.0)
    if y.ndim > 1:
        y = y.mean(axis=1)
    if sr != 16000:
        y = scipy.signal.resample_poly(y, 160, sr // 100)
    feats = (cqt_db(y) - float(meta["norm_mean"])) / float(meta["norm_std"])
    net = CRNN(int(meta["n_bins"]), int(meta["hidden"]), int(meta["n_classes"]))
    net.load_state_dict(weights)
    with torch.no_grad():
        classes = net(torch.from_numpy(feats)[None]).argmax(-1)[0]
    print(f"{len(classes)} frames, {int((classes > 0).sum())} voiced")


if __name__ == "__main__":
    main()
