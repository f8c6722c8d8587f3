#!/usr/bin/python3
"""umap-learn (Debian's umap-learn package) on a split of an a2m dataset, for bench/embed_process.sh and the
reference numbers in docs/embed.md: the same frames, parameters and output layout as `a2m embed`.

usage: umap_learn.py DATASET SPLIT.json SPLIT OUT.npy [--n-neighbors 5] [--min-dist 0.01] [--seed 0]
           [--features-out X.npy] [--max-frames N]
Writes OUT.npy (float32 [n x 2]); --features-out also writes the frames embedded (float32 [n x bins]) so
`a2m trust X.npy OUT.npy` scores it. Prints the seconds of the fit alone (numba's compilation
included: it happens in every new process)."""
import argparse, json, os, sys, time
import numpy as np


def split_frames(dataset, split_json, split):
    index = json.load(open(os.path.join(dataset, "index.json")))
    feats = np.load(os.path.join(dataset, index["files"]["features"]), mmap_mode="r")
    offsets = np.concatenate([[0], np.cumsum(index["frames"])])
    pos = {name: i for i, name in enumerate(index["names"])}
    rows = [np.arange(offsets[pos[n]], offsets[pos[n] + 1]) for n in json.load(open(split_json))[split]]
    return np.asarray(feats[np.concatenate(rows)], dtype=np.float32)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dataset"); ap.add_argument("splits"); ap.add_argument("split"); ap.add_argument("out")
    ap.add_argument("--n-neighbors", type=int, default=5)
    ap.add_argument("--min-dist", type=float, default=0.01)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--features-out")
    a = ap.parse_args()
    x = split_frames(a.dataset, a.splits, a.split)
    import umap  # after the data: the import itself (numba, pynndescent) is part of the whole-process time
    t0 = time.time()
    emb = umap.UMAP(n_neighbors=a.n_neighbors, min_dist=a.min_dist, random_state=a.seed).fit_transform(x)
    print(f"umap-learn {umap.__version__ if hasattr(umap, '__version__') else ''}: {x.shape[0]} frames, "
          f"fit {time.time() - t0:.2f} s", file=sys.stderr)
    np.save(a.out, emb.astype(np.float32))
    if a.features_out:
        np.save(a.features_out, x)


if __name__ == "__main__":
    main()
