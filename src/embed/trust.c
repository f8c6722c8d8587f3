/* Trustworthiness (Venna & Kaski 2001) as scikit-learn's sklearn.manifold.trustworthiness computes it, without
 * its n x n rank matrices (30,000 points: 7 GB each): the ranks of each point's k embedded neighbours are counts
 * over one GEMM tile of squared distances at a time. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "a2m/embed.h"
#include "a2m/error.h"
#include "embed/embed_internal.h"

/* sum over rows q0.. of max(0, rank - k) for their embedded neighbours nb [rows x (k + 1)] (self first) */
static double block_penalty(const emb_points *p, size_t q0, int nq, const int32_t *nb, int k, float *tile, double *thr,
                            size_t *cnt) {
    for (int r = 0; r < nq; r++)
        for (int m = 0; m < k; m++) {
            thr[r * k + m] = emb_dist2(p, q0 + r, (size_t)nb[(q0 + r) * (k + 1) + 1 + m]);
            cnt[r * k + m] = 0;
        }
    for (size_t d0 = 0; d0 < p->n; d0 += EMB_TILE_D) {
        int nd = (int)(p->n - d0 < EMB_TILE_D ? p->n - d0 : EMB_TILE_D);
        emb_tile(p, q0, nq, d0, nd, tile);
        for (int r = 0; r < nq; r++) {
            float *t = tile + (size_t)r * nd, nr = p->norm[q0 + r];
            const float *nc = p->norm + d0;
            for (int u = 0; u < nd; u++) {
                float v = t[u] + nr + nc[u];
                t[u] = v > 0 ? v : 0;
            }
            size_t i = q0 + r;
            for (int m = 0; m < k; m++) {
                /* v < th (double) for a float v is v < the least float >= th: a float compare, vectorised */
                double th = thr[r * k + m];
                float tf = (float)th;
                if ((double)tf < th) tf = nextafterf(tf, INFINITY);
                int c = 0;
#pragma omp simd reduction(+ : c)
                for (int u = 0; u < nd; u++) c += t[u] < tf;
                size_t j = (size_t)nb[i * (k + 1) + 1 + m];
                /* i itself and j (rounding may put it under its own threshold) are no closer points */
                if (i >= d0 && i - d0 < (size_t)nd) c -= t[i - d0] < tf;
                if (j >= d0 && j - d0 < (size_t)nd) c -= t[j - d0] < tf;
                cnt[r * k + m] += (size_t)c;
            }
        }
    }
    double pen = 0;
    for (int r = 0; r < nq * k; r++) {
        long rank = (long)cnt[r] + 1; /* 1 = nearest */
        if (rank > k) pen += (double)(rank - k);
    }
    return pen;
}

int a2m_trustworthiness(const float *x, size_t n, size_t dim, const float *emb, size_t emb_dim, int k, int n_threads,
                        double *out) {
    if (k < 1 || k > 63 || (size_t)k >= n / 2.0)
        return a2m_error(A2M_ERR_ARG, "trustworthiness: %d neighbours of %zu points (need 1 <= k < n / 2, k < 64)", k,
                         n);
    size_t n_blocks = (n + EMB_TILE_Q - 1) / EMB_TILE_Q;
    int32_t *nb = malloc(n * (k + 1) * sizeof *nb);
    float *nd = malloc(n * (k + 1) * sizeof *nd);
    double *pen = calloc(n_blocks, sizeof *pen);
    if (!nb || !nd || !pen) {
        free(nb), free(nd), free(pen);
        return a2m_error(A2M_ERR_NOMEM, "trustworthiness: out of memory for %zu points", n);
    }
    int rc = a2m_knn_exact(emb, n, emb_dim, k + 1, n_threads, NULL, NULL, nb, nd);
    emb_points p;
    if (!rc) rc = emb_points_new(x, n, dim, &p);
    if (rc) {
        free(nb), free(nd), free(pen);
        return rc;
    }
    int failed = 0;
#pragma omp parallel num_threads(n_threads > 1 ? n_threads : 1)
    {
        float *tile = malloc((size_t)EMB_TILE_Q * EMB_TILE_D * sizeof *tile);
        double *thr = malloc((size_t)EMB_TILE_Q * k * sizeof *thr);
        size_t *cnt = malloc((size_t)EMB_TILE_Q * k * sizeof *cnt);
        if (!tile || !thr || !cnt) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(dynamic, 1)
        for (size_t b = 0; b < n_blocks; b++) {
            if (!tile || !thr || !cnt) continue;
            size_t q0 = b * EMB_TILE_Q;
            pen[b] = block_penalty(&p, q0, (int)(n - q0 < EMB_TILE_Q ? n - q0 : EMB_TILE_Q), nb, k, tile, thr, cnt);
        }
        free(tile), free(thr), free(cnt);
    }
    double sum = 0;
    for (size_t b = 0; b < n_blocks; b++) sum += pen[b];
    emb_points_free(&p);
    free(nb), free(nd), free(pen);
    if (failed) return a2m_error(A2M_ERR_NOMEM, "trustworthiness: out of memory for the distance tiles");
    *out = 1.0 - sum * (2.0 / ((double)n * k * (2.0 * n - 3.0 * k - 1.0)));
    return A2M_OK;
}
