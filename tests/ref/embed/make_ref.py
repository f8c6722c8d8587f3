#!/usr/bin/python3
"""Reference numbers for tests/test_embed.c from umap-learn 0.5.3 and scikit-learn 1.2 (Debian bookworm's
umap-learn and python3-sklearn): run from this folder; CI only reads the files it writes.
  x.npy       float32 [300 x 8]: three Gaussian clusters (seed 11), no two distances equal
  graph.npy   float64 [nnz x 3]: (row, col, weight) of umap-learn's fuzzy_simplicial_set, n_neighbors 5, on exact
              distances (what UMAP.fit does under 4096 points)
  emb.npy     float32 [300 x 2]: umap-learn's embedding (n_neighbors 5, min_dist 0.01, random_state 0)
  trust.npy   float64 [4]: sklearn trustworthiness(x, emb) for k 5 and 10; of a random embedding (rand.npy) k 5, 10
  rand.npy    float32 [300 x 2]: uniform random points (seed 12)
  ab.npy      float64 [3 x 3]: (min_dist, a, b) of find_ab_params(1.0, min_dist) for 0.01, 0.1, 0.5"""
import numpy as np
from sklearn.manifold import trustworthiness
from sklearn.metrics import pairwise_distances
import umap
from umap.umap_ import find_ab_params, fuzzy_simplicial_set

rng = np.random.RandomState(11)
centres = rng.normal(scale=4.0, size=(3, 8))
x = np.concatenate([c + rng.normal(size=(100, 8)) for c in centres]).astype(np.float32)
np.save("x.npy", x)
dmat = pairwise_distances(x)
g, _, _ = fuzzy_simplicial_set(dmat, 5, np.random.RandomState(0), "precomputed")
g = g.tocoo()
np.save("graph.npy", np.ascontiguousarray(np.stack([g.row, g.col, g.data]).T, dtype=np.float64))
emb = umap.UMAP(n_neighbors=5, min_dist=0.01, random_state=0).fit_transform(x).astype(np.float32)
np.save("emb.npy", emb)
rand = np.random.RandomState(12).uniform(size=(300, 2)).astype(np.float32)
np.save("rand.npy", rand)
np.save("trust.npy", np.array([trustworthiness(x, emb, n_neighbors=5), trustworthiness(x, emb, n_neighbors=10),
                               trustworthiness(x, rand, n_neighbors=5), trustworthiness(x, rand, n_neighbors=10)]))
np.save("ab.npy", np.array([[m, *find_ab_params(1.0, m)] for m in (0.01, 0.1, 0.5)]))
print(np.load("trust.npy"), np.load("ab.npy"), g.nnz)
