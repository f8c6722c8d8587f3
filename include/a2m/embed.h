/* Embeddings for pictures: UMAP (McInnes, Healy & Melville 2018, as umap-learn 0.5 computes it), the exact
 * k-nearest-neighbour search it starts from, and scikit-learn's trustworthiness of an embedding.
 *
 * UMAP here: exact kNN (Euclidean; GEMM tiles of bounded size, the point itself as its first neighbour, as
 * umap-learn counts it) -> smooth-kNN distances (rho, sigma by binary search to log2(k)) -> fuzzy union
 * A + A^T - A.*A^T -> edges under max/n_epochs dropped -> spectral initialisation (eigenvectors of the
 * normalised Laplacian per connected component, components placed apart) -> SGD with negative sampling on
 * 1 / (1 + a d^2b), a and b fitted to min_dist by least squares (umap-learn's find_ab_params). */
#ifndef A2M_EMBED_H
#define A2M_EMBED_H

#include <stddef.h>
#include <stdint.h>

#include "a2m/dataset.h" /* a2m_progress_fn */

#ifdef __cplusplus
extern "C" {
#endif

typedef struct a2m_umap_params {
    int n_neighbors;          /* 5 (umap-learn's default is 15); counts the point itself, as umap-learn does */
    double min_dist;          /* 0.01 */
    double spread;            /* 1.0 */
    int n_epochs;             /* 0: umap-learn's choice, 500 up to 10,000 points, else 200 */
    int negative_sample_rate; /* 5 */
    double learning_rate;     /* 1.0 */
    double repulsion;         /* gamma, 1.0 */
    int spectral_init;        /* 1; 0: uniform random in [-10, 10] */
    uint64_t seed;            /* 0: the whole embedding is a function of (data, params, seed), any n_threads */
    int n_threads;            /* 1: threads of the kNN search (BLAS is called from each; the SGD is serial) */
} a2m_umap_params;
a2m_umap_params a2m_umap_default_params(void);

/* a, b of 1 / (1 + a x^(2b)) fitted by least squares (Levenberg-Marquardt from a = b = 1, as scipy's
 * curve_fit) to 1 for x < min_dist, exp(-(x - min_dist) / spread) beyond, at 300 points over [0, 3 spread]. */
int a2m_umap_find_ab(double spread, double min_dist, double *a, double *b);

/* Exact k nearest neighbours of each row of x [n x dim] (Euclidean), the row itself first (distance 0), the
 * others by distance (ties: lower index first). idx [n x k], dist [n x k]. The search a2m_knn_search runs
 * (baseline.h), on the centred data against itself: candidates from float GEMM tiles (memory: n_threads x
 * 1024 x 1024 floats besides the data; only the tiles on and above the diagonal), ranked by exact double
 * distances. progress (may be NULL) is called by one thread at a time, counting tiles, with what =
 * "neighbours". */
int a2m_knn_exact(const float *x, size_t n, size_t dim, int k, int n_threads, a2m_progress_fn progress, void *user,
                  int32_t *idx, float *dist);

/* UMAP of x [n x dim] into out [n x 2]. progress: what = "neighbours" then "epochs". */
int a2m_umap(const float *x, size_t n, size_t dim, a2m_umap_params p, a2m_progress_fn progress, void *user, float *out);

/* scikit-learn's sklearn.manifold.trustworthiness(X, X_embedded, n_neighbors=k) (Euclidean):
 * 1 - 2 / (n k (2n - 3k - 1)) * sum over i and its k nearest in the embedding j of max(0, r(i, j) - k),
 * r(i, j) the rank of j among i's neighbours in x (1 = nearest). Needs k < n / 2. Ties in x rank first
 * (scikit-learn's argsort orders them arbitrarily). */
int a2m_trustworthiness(const float *x, size_t n, size_t dim, const float *emb, size_t emb_dim, int k, int n_threads,
                        double *out);

#ifdef __cplusplus
}
#endif
#endif
