/* Exact k nearest neighbours by GEMM in bounded tiles, re-ranked in double: the one search behind the
 * kNN classifier (a2m_knn_search, src/baseline/knn.c) and UMAP's neighbour graph (a2m_knn_exact,
 * src/embed/knn.c). */
#ifndef A2M_CORE_KNN_H
#define A2M_CORE_KNN_H

#include <stddef.h>
#include <stdint.h>

#include "a2m/dataset.h" /* a2m_progress_fn */

/* For each query row the k nearest data rows (squared Euclidean; equal distances in data order), nearest
 * first, into nbr [n_query rows of ld, the k from column 0] and, when dist is not NULL, their exact distances
 * (sqrt of the double sum) likewise. exclude_self: the queries are the data (query == data, n_query ==
 * n_data) and row i is never its own neighbour. Candidates come from float GEMM tiles (4 MB a thread,
 * whatever n is: 256 queries x 4096 data rows; against itself 1024 x 1024 points, only the tiles on and above
 * the diagonal, each feeding rows and columns) and the k + 8 best are re-ranked by distances recomputed in
 * double. progress (may be NULL) is called by one thread at a time with `what`: queries, or tiles against
 * itself. Checks nothing: the callers check k and n. */
int knn_tiled(const float *data, size_t n_data, const float *query, size_t n_query, int dim, int k, int exclude_self,
              int n_threads, a2m_progress_fn progress, void *user, const char *what, int32_t *nbr, float *dist, int ld);

#endif
