"""The reference side of bench/features_process.sh: librosa 0.10's mel / MFCC / LPC written out in numpy, as
librosa computes them (python3-librosa is not packaged by Debian 12 and PyPI is out of reach, so librosa
itself cannot run here). Checked against the librosa references in ../shared: mel within 1.5e-4 dB,
MFCC within 2e-6 of each coefficient's range, LPC within 1.2e-7. Timed in-process, per take, after the
audio is loaded and the mel filterbank built (librosa caches it too): a fair floor for librosa's own time.
Usage: python3 bench/features_numpy.py DIR KIND [REPEATS] -> ms per take: wall clock, CPU time (best run)."""
import sys, time, wave, os
import numpy as np


def load(path):
    w = wave.open(path)
    return np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32768.0


def hz_to_mel(f):
    return np.where(f >= 1000, 15 + np.log(np.maximum(f, 1e-300) / 1000) / (np.log(6.4) / 27), f / (200 / 3))


def mel_to_hz(m):
    return np.where(m >= 15, 1000 * np.exp(np.log(6.4) / 27 * (m - 15)), 200 / 3 * m)


def mel_basis(sr=16000, n_fft=2048, n_mels=128):  # librosa.filters.mel(norm="slaney")
    w = np.zeros((n_mels, 1 + n_fft // 2), np.float32)
    fft = np.fft.rfftfreq(n_fft, 1 / sr)
    mf = mel_to_hz(np.linspace(hz_to_mel(np.float64(0)), hz_to_mel(np.float64(sr / 2)), n_mels + 2))
    fd, ramps = np.diff(mf), np.subtract.outer(mf, fft)
    for i in range(n_mels):
        w[i] = np.maximum(0, np.minimum(-ramps[i] / fd[i], ramps[i + 2] / fd[i + 1]))
    w *= (2.0 / (mf[2:n_mels + 2] - mf[:n_mels]))[:, None]
    return w


def mel_db(y, basis, n_fft=2048, hop=96):  # melspectrogram (centred, zero pad) + power_to_db
    yp = np.pad(y, n_fft // 2)
    frames = np.lib.stride_tricks.sliding_window_view(yp, n_fft)[::hop]
    win = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    S = np.abs(np.fft.rfft(frames * win, axis=1).astype(np.complex64)) ** 2
    M = np.einsum("tf,mf->mt", S, basis, optimize=True)
    d = 10 * np.log10(np.maximum(1e-10, M))
    return np.maximum(d, d.max() - 80.0)


def mfcc(y, basis, dct):
    return dct @ mel_db(y, basis)


def lpc(y, order=16, fl=1024, hop=96):  # librosa.lpc on frame(pad(y, 512, reflect)): Burg over every frame at once
    yp = np.pad(y, fl // 2, mode="reflect")
    x = np.lib.stride_tricks.sliding_window_view(yp, fl)[::hop].T.astype(np.float64)  # [fl x frames]; the references are float64 LPC
    a = np.zeros((order + 1, x.shape[1]), x.dtype); a[0] = 1
    ap = a.copy()
    f, b = x[1:], x[:-1]
    den = np.sum(f ** 2 + b ** 2, axis=0)
    for i in range(order):
        k = -2 * np.sum(b * f, axis=0) / (den + np.finfo(np.float32).tiny)
        ap, a = a, ap
        for j in range(1, i + 2):
            a[j] = ap[j] + k * ap[i - j + 1]
        f, b = f + k * b, b + k * f
        den = (1 - k * k) * den - b[-1] ** 2 - f[0] ** 2
        f, b = f[1:], b[:-1]
    return a.T


def main():
    folder, kind = sys.argv[1], sys.argv[2]
    reps = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    takes = [load(os.path.join(folder, n)) for n in sorted(os.listdir(folder)) if n.endswith(".wav")]
    basis = mel_basis()
    k, n = np.arange(20)[:, None], np.arange(128)[None, :]
    dct = np.cos(np.pi * k * (2 * n + 1) / 256) * np.sqrt(2 / 128); dct[0] /= np.sqrt(2)
    fn = {"mel": lambda y: mel_db(y, basis), "mfcc": lambda y: mfcc(y, basis, dct), "lpc": lpc}[kind]
    best, best_cpu = float("inf"), float("inf")
    for _ in range(reps):
        t0, c0 = time.perf_counter(), time.process_time()
        for y in takes:
            fn(y)
        best, best_cpu = min(best, time.perf_counter() - t0), min(best_cpu, time.process_time() - c0)
    print(f"{1000 * best / len(takes):.2f} {1000 * best_cpu / len(takes):.2f}")


if __name__ == "__main__":
    main()
