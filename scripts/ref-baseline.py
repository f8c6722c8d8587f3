#!/usr/bin/python3
"""Makes tests/ref/baseline_seed.json: scikit-learn's answers on a small seed subset, for tests/test_baseline.c.

Run from the repository root after a build (Debian's python3-sklearn, python3-numpy; CI never runs this):
    /usr/bin/python3 scripts/ref-baseline.py build/a2m ../shared
It builds the subset's dataset with a2m itself (the first 30 "train" and 12 "val" takes and the first 5 "test"
takes of the seed split, symbolic links in a temporary folder), then on its raw CQT dB frames:
  - KNeighborsClassifier(n_neighbors=k, algorithm="brute") for k 1, 5, 15: the predicted class of each
    test frame, with the frames whose k-th and (k+1)-th distances tie in float64 marked "-" (either answer is right);
  - the same for k 5 on frames with 1 context frame each side (edge frames repeated) reduced by PCA to 16 axes,
    and PCA's explained variance ratio;
  - LogisticRegression(C=1, max_iter=5000) on standardised frames (lbfgs): test accuracy and the objective at its
    optimum, mean cross-entropy + |W|^2 / (2 C n), which a2m's Adam approaches with l2 = 1/(C n), no early stopping.
"""
import json, os, subprocess, sys, tempfile
import numpy as np
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler

a2m, shared = sys.argv[1], sys.argv[2]
split = json.load(open(os.path.join(shared, "data/seed/split.json")))
train, val, test = split["train"][:30], split["val"][:12], split["test"][:5]

def stack(x, offsets, c):
    if c == 0:
        return x
    rows = []
    for a, b in zip(offsets[:-1], offsets[1:]):
        t = np.arange(b - a)
        rows.append(np.concatenate([x[a + np.clip(t + s, 0, b - a - 1)] for s in range(-c, c + 1)], axis=1))
    return np.concatenate(rows)

with tempfile.TemporaryDirectory() as tmp:
    src = os.path.join(tmp, "takes")
    os.mkdir(src)
    for name in train + val + test:
        n = name.split("_")[1]
        for f in (f"voice_{n}.wav", f"midi_{n}.mid"):
            os.symlink(os.path.abspath(os.path.join(shared, "data/seed/audio", f)), os.path.join(src, f))
    subprocess.run([a2m, "dataset", src, "-o", os.path.join(tmp, "ds")], check=True)
    idx = json.load(open(os.path.join(tmp, "ds/index.json")))
    X = np.load(os.path.join(tmp, "ds/features.npy"))
    y = np.load(os.path.join(tmp, "ds/labels.npy"))

names = idx["names"]
frames = idx["frames"]
offsets = np.concatenate([[0], np.cumsum(frames)])

def part(which, c):
    xs, ys = [], []
    for name in which:
        i = names.index(name)
        a, b = offsets[i], offsets[i + 1]
        xs.append(stack(X[a:b], [0, b - a], c))
        ys.append(y[a:b])
    return np.concatenate(xs), np.concatenate(ys)

def knn(xtr, ytr, xte, k):
    pred = KNeighborsClassifier(n_neighbors=k, algorithm="brute").fit(xtr, ytr).predict(xte)
    # ties at the k-th neighbour, in float64, row by row (memory: one row of distances at a time)
    x64, t64 = xte.astype(np.float64), xtr.astype(np.float64)
    out = []
    for i in range(len(xte)):
        dist = ((t64 - x64[i]) ** 2).sum(1)
        part_ = np.partition(dist, k)[: k + 1]
        part_.sort()
        out.append("-" if part_[k - 1] == part_[k] else str(int(pred[i])))
    return "".join(out)

ref = {"train": train, "val": val, "test": test, "knn": {}}
xtr, ytr = part(train, 0)
xte, yte = part(test, 0)
for k in (1, 5, 15):
    ref["knn"][str(k)] = knn(xtr, ytr, xte, k)
xtr1, _ = part(train, 1)
xte1, _ = part(test, 1)
pca = PCA(n_components=16, svd_solver="full").fit(xtr1.astype(np.float64))
ref["pca16_context1_explained"] = float(pca.explained_variance_ratio_.sum())
ref["knn_pca16_context1_k5"] = knn(pca.transform(xtr1.astype(np.float64)), ytr, pca.transform(xte1.astype(np.float64)), 5)
sc = StandardScaler().fit(xtr)
lr = LogisticRegression(C=1.0, max_iter=5000).fit(sc.transform(xtr), ytr)
ref["logistic_test_accuracy"] = float((lr.predict(sc.transform(xte)) == yte).mean())
ref["logistic_train_frames"] = int(len(xtr))
# the objective at the optimum: mean cross-entropy + |W|^2 / (2 C n)
from sklearn.metrics import log_loss
ref["logistic_objective"] = float(log_loss(ytr, lr.predict_proba(sc.transform(xtr))) +
                                  (lr.coef_.astype(np.float64) ** 2).sum() / (2 * 1.0 * len(xtr)))
ref["made_by"] = "scripts/ref-baseline.py (scikit-learn %s)" % __import__("sklearn").__version__
json.dump(ref, open("tests/ref/baseline_seed.json", "w"), indent=1)
print({k: v for k, v in ref.items() if not isinstance(v, (dict, str, list))})
