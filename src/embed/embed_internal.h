/* Pieces shared by the UMAP, kNN and trustworthiness code (src/embed). */
#ifndef A2M_EMBED_INTERNAL_H
#define A2M_EMBED_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/rand.h"

/* Query rows x database rows of one squared-distance tile: 256 x 2048 floats = 2 MB a thread, about L2-sized
 * halves; the GEMM inside is 256 x 2048 x dim. */
enum { EMB_TILE_Q = 256, EMB_TILE_D = 2048 };

/* Centred copy of x (distances unchanged; |x|^2 smaller, so |q|^2 + |d|^2 - 2 q.d loses fewer bits: CQT dB
 * rows have |x|^2 ~ 4e5 before centring) and each row's squared norm. */
typedef struct emb_points {
    float *xc;   /* [n x dim] */
    float *norm; /* [n] */
    size_t n, dim;
} emb_points;
int emb_points_new(const float *x, size_t n, size_t dim, emb_points *out);
void emb_points_free(emb_points *p);
/* tile[r][c] = -2 q_r . d_c for rows q0.., nq of them, and columns d0.., nd of them: |q_r - d_c|^2 is
 * max(0, tile[r][c] + norm[q0 + r] + norm[d0 + c]) (float) */
void emb_tile(const emb_points *p, size_t q0, int nq, size_t d0, int nd, float *tile);
/* exact squared distance of rows i and j (double) */
double emb_dist2(const emb_points *p, size_t i, size_t j);

/* Sparse symmetric graph in CSR, columns sorted within a row. */
typedef struct emb_graph {
    size_t n, nnz;
    size_t *rowptr; /* [n + 1] */
    int32_t *col;   /* [nnz] */
    float *val;     /* [nnz] */
} emb_graph;
void emb_graph_free(emb_graph *g);
/* umap-learn's fuzzy_simplicial_set from kNN idx/dist [n x k] (the point itself first): memberships
 * exp(-(d - rho_i) / sigma_i), then the fuzzy union a + b - ab of the two directions */
int emb_fuzzy_graph(const int32_t *idx, const float *dist, size_t n, int k, emb_graph *g);

/* Spectral initialisation of umap-learn (spectral_layout / multi_component_layout) into init [n x 2] (double),
 * x [n x dim] for the components' centroids. rng_seed seeds the random placement of tiny components. */
int emb_spectral_init(const emb_graph *g, const float *x, size_t dim, uint64_t rng_seed, double *init);

#endif
