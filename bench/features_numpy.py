"""The reference side of bench/features_process.sh: librosa 0.10's mel / MFCC / LPC written out in numpy and
scipy, as librosa computes them (python3-librosa is not packaged by Debian 12 and PyPI is out of reach, so
librosa itself cannot run here). mel and MFCC follow librosa 0.10.0's code path call by call, doing the work
librosa does on every call: util.valid_audio (isfinite over the signal), scipy.signal.get_window("hann"),
np.pad of the whole signal, util.frame's strided [n_fft x frames] view, rfft of blocks of MAX_MEM_BLOCK
(256 KB) columns along axis -2 into a complex64 Fortran-order matrix, np.abs() ** 2, the mel filterbank
built again (filters.mel: librosa's cache is off unless LIBROSA_CACHE_DIR is set), einsum with
optimize=True, power_to_db's three passes, and for MFCC scipy.fftpack.dct of all n_mels rows, of which
the first 20 are kept. What it leaves out is librosa's Python-level overhead (argument checks, decorators,
dtype helpers): the numbers are a floor for librosa's time. Checked against the librosa references in
../shared (--check): mel within 1.5e-4 dB, MFCC within 2e-6 of each coefficient's range, LPC within 1.2e-7.
Timed in-process, per take, after the audio is loaded.
Usage: python3 bench/features_numpy.py DIR KIND [REPEATS] -> ms per take: wall clock, CPU time (best run)
       python3 bench/features_numpy.py --check SHARED -> the largest differences from the references."""
import sys, time, wave, os
import numpy as np
import scipy.fftpack
import scipy.signal


def load(path):
    w = wave.open(path)
    return np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32768.0


def hz_to_mel(f):
    return np.where(f >= 1000, 15 + np.log(np.maximum(f, 1e-300) / 1000) / (np.log(6.4) / 27), f / (200 / 3))


def mel_to_hz(m):
    return np.where(m >= 15, 1000 * np.exp(np.log(6.4) / 27 * (m - 15)), 200 / 3 * m)


def mel_basis(sr=16000, n_fft=2048, n_mels=128):  # librosa.filters.mel(norm="slaney"), built on every call
    w = np.zeros((n_mels, 1 + n_fft // 2), np.float32)
    fft = np.fft.rfftfreq(n_fft, 1 / sr)
    mf = mel_to_hz(np.linspace(hz_to_mel(np.float64(0)), hz_to_mel(np.float64(sr / 2)), n_mels + 2))
    fd, ramps = np.diff(mf), np.subtract.outer(mf, fft)
    for i in range(n_mels):
        w[i] = np.maximum(0, np.minimum(-ramps[i] / fd[i], ramps[i + 2] / fd[i + 1]))
    w *= (2.0 / (mf[2:n_mels + 2] - mf[:n_mels]))[:, None]
    if not np.all((mf[:-2] == 0) | (w.max(axis=1) > 0)):  # librosa's empty-filter warning check
        print("empty mel filters", file=sys.stderr)
    return w


MAX_MEM_BLOCK = 2 ** 8 * 2 ** 10  # librosa.util.MAX_MEM_BLOCK


def stft(y, n_fft=2048, hop=96):  # librosa 0.10.0 core.stft(center=True, pad_mode="constant", window="hann")
    if not np.isfinite(y).all():  # util.valid_audio
        raise ValueError("non-finite audio")
    win = scipy.signal.get_window("hann", n_fft, fftbins=True).reshape(-1, 1)  # float64, [n_fft x 1]
    yp = np.pad(y, (n_fft // 2, n_fft // 2), mode="constant")
    frames = np.lib.stride_tricks.as_strided(yp, shape=(n_fft, 1 + (len(yp) - n_fft) // hop),
                                             strides=(yp.itemsize, hop * yp.itemsize), writeable=False)
    D = np.empty((1 + n_fft // 2, frames.shape[1]), dtype=np.complex64, order="F")
    cols = max(MAX_MEM_BLOCK // (D.shape[0] * D.itemsize), 1)
    for s in range(0, D.shape[1], cols):
        t = min(s + cols, D.shape[1])
        D[:, s:t] = np.fft.rfft(win * frames[:, s:t], axis=-2)
    return D


def power_to_db(S, amin=1e-10, top_db=80.0):  # librosa.power_to_db(ref=1.0)
    log_spec = 10.0 * np.log10(np.maximum(amin, S))
    log_spec -= 10.0 * np.log10(np.maximum(amin, np.abs(1.0)))
    return np.maximum(log_spec, log_spec.max() - top_db)


def mel_db(y):  # power_to_db(melspectrogram(y, sr=16000, n_fft=2048, hop_length=96, n_mels=128)): [n_mels x frames]
    S = np.abs(stft(y)) ** 2.0
    return power_to_db(np.einsum("...ft,mf->...mt", S, mel_basis(), optimize=True))


def mfcc(y, n_mfcc=20):  # librosa.feature.mfcc(y, sr=16000, n_mfcc=20, n_fft=2048, hop_length=96, n_mels=128)
    return scipy.fftpack.dct(mel_db(y), axis=-2, type=2, norm="ortho")[..., :n_mfcc, :]


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


def check(shared):
    ref = os.path.join(shared, "data", "reference", "librosa_features")
    for kind, fn in (("mel", mel_db), ("mfcc", mfcc), ("lpc", lambda y: lpc(y).T)):
        worst_abs, worst_rel = 0.0, 0.0
        for f in sorted(n for n in os.listdir(ref) if n.endswith(f".{kind}.npy")):
            r = np.load(os.path.join(ref, f))
            got = fn(load(os.path.join(shared, "data", "seed", "audio", f.split(".")[0] + ".wav"))).T
            d, rng = np.abs(got.astype(np.float64) - r), np.ptp(r, 0)
            worst_abs = max(worst_abs, d.max())  # LPC's a[0] = 1 has no range: left out of the relative figure
            worst_rel = max(worst_rel, (d.max(0)[rng > 0] / rng[rng > 0]).max())
        print(f"{kind}: max abs difference {worst_abs:.3g}, max / coefficient range {worst_rel:.3g}")


def main():
    if sys.argv[1] == "--check":
        return check(sys.argv[2])
    folder, kind = sys.argv[1], sys.argv[2]
    reps = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    takes = [load(os.path.join(folder, n)) for n in sorted(os.listdir(folder)) if n.endswith(".wav")]
    fn = {"mel": mel_db, "mfcc": mfcc, "lpc": lpc}[kind]
    best, best_cpu = float("inf"), float("inf")
    for _ in range(reps):
        t0, c0 = time.perf_counter(), time.process_time()
        for y in takes:
            fn(y)
        best, best_cpu = min(best, time.perf_counter() - t0), min(best_cpu, time.process_time() - c0)
    print(f"{1000 * best / len(takes):.2f} {1000 * best_cpu / len(takes):.2f}")


if __name__ == "__main__":
    main()
