#!/usr/bin/env python3
"""Reference numbers for tests/test_uncertainty.c (tests/ref/uncertainty_cases.json), from scikit-learn 1.2,
numpy and scipy (Debian's python3-sklearn, python3-scipy): AUROC (roc_auc_score), predictive measures,
empirical CDFs, the NLL-optimal temperature and the ECE before/after it (10 equal bins, as a2m eval).
Run: /usr/bin/python3 scripts/make-uncertainty-ref.py > tests/ref/uncertainty_cases.json"""
import json
import numpy as np
from scipy.optimize import minimize_scalar
from sklearn.metrics import roc_auc_score

rng = np.random.default_rng(20261201)


def r(x):
    return [float(f"{v:.9g}") for v in np.ravel(x)]


def auroc_cases():
    out = []
    for n, ties in [(40, False), (200, True), (500, True), (7, False)]:
        pos = rng.random(n) < 0.3
        pos[0], pos[1] = True, False
        s = rng.normal(size=n) + 1.2 * pos
        if ties:
            s = np.round(s, 1)
        s = np.float32(s).astype(np.float64)
        out.append({"score": r(s), "positive": [int(v) for v in pos], "auroc": roc_auc_score(pos, s)})
    return out


def entropy(p):
    return -np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1)), 0), axis=-1)


def predictive_cases():
    out = []
    for S, n, C in [(1, 5, 4), (5, 20, 4), (8, 10, 3)]:
        p = np.float32(rng.dirichlet(np.full(C, 0.7), size=(S, n)))
        p64 = p.astype(np.float64)
        m = p64.mean(axis=0)
        top = m.argmax(axis=1)
        var = p64[:, np.arange(n), top].var(axis=0)
        h = entropy(m)
        mi = np.maximum(h - entropy(p64).mean(axis=0), 0)
        out.append({"S": S, "n": n, "C": C, "samples": r(p), "mean": r(m), "max_probability": r(m.max(axis=1)),
                    "entropy": r(h), "variance": r(var), "mutual_information": r(mi)})
    return out


def ecdf_cases():
    v = np.float32(rng.gamma(2.0, size=300)).astype(np.float64)
    g = rng.random(300) < 0.25
    x = np.linspace(v.min(), v.max(), 11)
    x[-1] = v.max()
    return [{"values": r(v), "group": [int(b) for b in g], "K": 11, "x": r(x),
             "cdf1": r([(v[g] <= t).mean() for t in x]), "cdf0": r([(v[~g] <= t).mean() for t in x])}]


def ece(p, y):
    conf, pred = p.max(axis=1), p.argmax(axis=1)
    b = np.clip(np.ceil(conf * 10) - 1, 0, 9).astype(int)
    e = 0.0
    for k in range(10):
        sel = b == k
        if sel.any():
            e += sel.mean() * abs((pred[sel] == y[sel]).mean() - conf[sel].mean())
    return e


def softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def temperature_cases():
    out = []
    for n, C, over in [(400, 4, 3.0), (300, 3, 0.5)]:
        z = np.float32(rng.normal(size=(n, C)) * 2.0)
        z64 = z.astype(np.float64)
        # labels drawn from softmax(z / over): over > 1 makes z overconfident (T > 1 fits), < 1 underconfident
        q = softmax(z64 / over)
        y = np.array([rng.choice(C, p=row) for row in q])

        def nll(logt):
            p = softmax(z64 / np.exp(logt))
            return -np.mean(np.log(p[np.arange(n), y]))
        res = minimize_scalar(nll, bounds=(np.log(0.01), np.log(100)), method="bounded",
                              options={"xatol": 1e-10})
        t = float(np.exp(res.x))
        out.append({"n": n, "C": C, "logits": r(z), "labels": [int(v) for v in y], "temperature": t,
                    "nll_before": nll(0.0), "nll_after": nll(res.x), "ece_before": ece(softmax(z64), y),
                    "ece_after": ece(softmax(z64 / t), y)})
    return out


print(json.dumps({"about": __doc__.split("\n")[0], "auroc": auroc_cases(), "predictive": predictive_cases(),
                  "ecdf": ecdf_cases(), "temperature": temperature_cases()}))
