/* The kNN classifier: exact k nearest neighbours (core/knn.c's search), uniform votes. */
#include <stdlib.h>
#include <string.h>

#include "a2m/baseline.h"
#include "a2m/error.h"
#include "core/knn.h"

int a2m_knn_search(const float *train, size_t n_train, const float *query, size_t n_query, int dim, int k,
                   int n_threads, a2m_progress_fn progress, void *user, int32_t *nbr) {
    if (k < 1 || (size_t)k > n_train)
        return a2m_error(A2M_ERR_ARG, "k = %d neighbours: must be 1..%zu (the training frames)", k, n_train);
    if (n_train > INT32_MAX) return a2m_error(A2M_ERR_RANGE, "%zu training frames: at most %d", n_train, INT32_MAX);
    if (dim < 1) return a2m_error(A2M_ERR_ARG, "frames of %d values", dim);
    return knn_tiled(train, n_train, query, n_query, dim, k, 0, n_threads, progress, user, "frames", nbr, NULL, k);
}

int a2m_knn_vote(const int32_t *nbr, size_t n_query, int k_stride, int k, const int64_t *train_labels, int n_classes,
                 int64_t *pred) {
    if (k < 1 || k > k_stride) return a2m_error(A2M_ERR_ARG, "vote of %d neighbours out of %d", k, k_stride);
    if (n_classes < 1 || n_classes > 4096) return a2m_error(A2M_ERR_ARG, "%d classes", n_classes);
    int *votes = malloc((size_t)n_classes * sizeof *votes);
    if (!votes) return a2m_error(A2M_ERR_NOMEM, "kNN: out of memory");
    for (size_t q = 0; q < n_query; q++) {
        memset(votes, 0, (size_t)n_classes * sizeof *votes);
        for (int a = 0; a < k; a++) {
            int64_t c = train_labels[nbr[q * k_stride + a]];
            if (c < 0 || c >= n_classes) {
                free(votes);
                return a2m_error(A2M_ERR_RANGE, "training frame %d: class %lld outside 0..%d", nbr[q * k_stride + a],
                                 (long long)c, n_classes - 1);
            }
            votes[c]++;
        }
        int best = 0;
        for (int c = 1; c < n_classes; c++)
            if (votes[c] > votes[best]) best = c; /* strictly more: ties stay with the smaller class */
        pred[q] = best;
    }
    free(votes);
    return A2M_OK;
}
