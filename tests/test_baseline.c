/* The classical baselines on synthetic data: kNN against a brute-force search in double (tiles crossed,
 * re-ranking needed), vote ties, context stacking, PCA axes, logistic regression's gradient and training. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "a2m/baseline.h"
#include "a2m/error.h"
#include "check.h"
#include "gradcheck.h"
#include "test_rand.h"

/* k nearest by (double distance, index), the definition a2m_knn_search promises */
static void brute_knn(const float *tr, size_t nt, const float *q, int dim, int k, int32_t *out) {
    double *bd = malloc((size_t)k * sizeof *bd);
    int n = 0;
    for (size_t t = 0; t < nt; t++) {
        double s = 0;
        for (int j = 0; j < dim; j++) s += ((double)q[j] - tr[t * dim + j]) * ((double)q[j] - tr[t * dim + j]);
        if (n == k && !(s < bd[k - 1])) continue;
        int p = n < k ? n++ : k - 1;
        while (p > 0 && bd[p - 1] > s) bd[p] = bd[p - 1], out[p] = out[p - 1], p--;
        bd[p] = s, out[p] = (int32_t)t;
    }
    free(bd);
}

/* 5000 training rows (two GEMM tiles) and 300 queries (two query tiles) in 7 dimensions, offset by 30 so
 * the float GEMM distances carry errors ~1e-3 that only the re-ranking in double removes */
static void test_knn_exact(void) {
    const size_t nt = 5000, nq = 300;
    const int dim = 7, k = 9;
    float *tr = malloc(nt * dim * sizeof *tr), *q = malloc(nq * dim * sizeof *q);
    fill(tr, nt * dim, 1.0f), fill(q, nq * dim, 1.0f);
    for (size_t i = 0; i < nt * dim; i++) tr[i] += 30.0f;
    for (size_t i = 0; i < nq * dim; i++) q[i] += 30.0f;
    int32_t *got = malloc(nq * k * sizeof *got), want[9];
    for (int threads = 1; threads <= 2; threads++) {
        CHECK(a2m_knn_search(tr, nt, q, nq, dim, k, threads, NULL, NULL, got) == A2M_OK, "search: %s", a2m_errmsg());
        size_t same = 0;
        for (size_t i = 0; i < nq; i++) {
            brute_knn(tr, nt, q + i * dim, dim, k, want);
            same += !memcmp(want, got + i * k, sizeof want);
        }
        CHECK(same == nq, "%zu of %zu queries have exactly the brute-force neighbours (%d threads)", same, nq, threads);
    }
    /* k = every training row; k beyond is an error */
    int32_t all[5];
    CHECK(a2m_knn_search(tr, 5, q, 1, dim, 5, 1, NULL, NULL, all) == A2M_OK, "k = n_train");
    brute_knn(tr, 5, q, dim, 5, want);
    CHECK(!memcmp(all, want, sizeof all), "k = n_train: all rows by distance");
    CHECK(a2m_knn_search(tr, 5, q, 1, dim, 6, 1, NULL, NULL, all) == A2M_ERR_ARG, "k > n_train refused");
    CHECK(strstr(a2m_errmsg(), "k = 6") != NULL, "message names k: %s", a2m_errmsg());
    CHECK(a2m_knn_search(tr, nt, q, 0, dim, 3, 2, NULL, NULL, all) == A2M_OK, "no queries");
    free(tr), free(q), free(got);
}

static void test_knn_vote(void) {
    /* rows of 4 neighbours: {2,1,1,2} ties 2-2 -> class 1; {3,3,0,1} -> 3; {0,3,3,0} -> 0; k 1 of row 0 -> 2 */
    const int64_t labels[] = {0, 1, 2, 3};
    const int32_t nbr[] = {2, 1, 1, 2, 3, 3, 0, 1, 0, 3, 3, 0};
    int64_t pred[3];
    CHECK(a2m_knn_vote(nbr, 3, 4, 4, labels, 4, pred) == A2M_OK, "vote");
    CHECK(pred[0] == 1 && pred[1] == 3 && pred[2] == 0, "votes %lld %lld %lld (want 1 3 0)", (long long)pred[0],
          (long long)pred[1], (long long)pred[2]);
    CHECK(a2m_knn_vote(nbr, 3, 4, 1, labels, 4, pred) == A2M_OK && pred[0] == 2 && pred[1] == 3 && pred[2] == 0,
          "k 1 of 4: the nearest's class");
    const int64_t bad[] = {0, 1, 7, 3};
    CHECK(a2m_knn_vote(nbr, 3, 4, 4, bad, 4, pred) == A2M_ERR_RANGE, "class outside 0..C-1 refused");
}

/* two takes of 3 and 2 frames, 2 bins: context 1 repeats each take's edge frames, never the other take's */
static void test_gather(void) {
    float feat[] = {1, 10, 2, 20, 3, 30, 4, 40, 5, 50};
    int64_t lab[] = {0, 1, 2, 3, 0};
    size_t offs[] = {0, 3, 5};
    a2m_dataset d = {0};
    d.n_takes = 2, d.offsets = offs, d.total_frames = 5, d.n_bins = 2, d.features = feat, d.labels = lab;
    size_t takes[] = {1, 0}, n;
    float *x;
    int64_t *y;
    int dim;
    CHECK(a2m_frames_gather(&d, takes, 2, 1, &x, &y, &n, &dim) == A2M_OK && n == 5 && dim == 6, "gather");
    const float want[] = {
        4, 40, 4, 40, 5, 50, /* take 1 first, as asked */ 4, 40, 5, 50, 5, 50, 1, 10, 1, 10, 2, 20, 1, 10, 2, 20, 3, 30,
        2, 20, 3, 30, 3, 30};
    CHECK(!memcmp(x, want, sizeof want), "stacked frames");
    CHECK(y[0] == 3 && y[1] == 0 && y[2] == 0 && y[4] == 2, "labels follow the takes");
    free(x), free(y);
    CHECK(a2m_frames_gather(&d, (size_t[]){2}, 1, 0, &x, &y, &n, &dim) == A2M_ERR_RANGE, "take out of range");
}

/* 3-D data with standard deviations 3, 2, 0.5 along a rotated basis: PCA finds the axes and the variance shares */
static void test_pca(void) {
    const size_t n = 4000;
    const double c = cos(0.5), s = sin(0.5);
    float *x = malloc(n * 3 * sizeof *x), *o = malloc(n * 2 * sizeof *o);
    double var[3] = {0};
    for (size_t i = 0; i < n; i++) {
        double a = 3 * (frand() + frand() + frand()), b = 2 * (frand() + frand() + frand()), e = 0.5 * frand();
        x[i * 3 + 0] = (float)(c * a - s * b + 5), x[i * 3 + 1] = (float)(s * a + c * b - 7), x[i * 3 + 2] = (float)e;
        var[0] += a * a, var[1] += b * b, var[2] += e * e;
    }
    a2m_frame_map m;
    CHECK(a2m_frame_map_fit(x, n, 3, 0, 2, 1, &m) == A2M_OK, "fit: %s", a2m_errmsg());
    double ax0 = fabs(m.w[0] * c + m.w[2] * s), ax1 = fabs(-m.w[1] * s + m.w[3] * c);
    CHECK(ax0 > 0.999 && ax1 > 0.999, "axes found: |cos| %.5f %.5f", ax0, ax1);
    CHECK(fabs(m.w[4]) < 1e-2 && fabs(m.w[5]) < 1e-2, "the third dimension left out: %g %g", m.w[4], m.w[5]);
    double want = (var[0] + var[1]) / (var[0] + var[1] + var[2]);
    CHECK_NEAR(m.explained, want, 2e-3, "explained variance share");
    CHECK(a2m_frame_map_apply(&m, x, n, o, 2) == A2M_OK, "apply");
    double mo = 0;
    for (size_t i = 0; i < n; i++) mo += o[i * 2];
    CHECK(fabs(mo / (double)n) < 1e-3, "projections centred: mean %g", mo / (double)n);
    a2m_frame_map_free(&m);
    CHECK(a2m_frame_map_fit(x, n, 3, 0, 4, 1, &m) == A2M_ERR_ARG, "more axes than values refused");
    free(x), free(o);
}

typedef struct lr_ctx {
    a2m_logreg *m;
    const float *x;
    const int64_t *y;
    int n;
    float *logits;
} lr_ctx;

static double lr_loss(void *p) {
    lr_ctx *c = p;
    return a2m_logreg_loss(c->m, c->x, c->y, c->n, 0.1, NULL, NULL, c->logits);
}

static void test_logreg_gradient(void) {
    enum { N = 20, D = 5, C = 4 };
    float x[N * D], w[C * D], b[C], dw[C * D], db[C], logits[N * C];
    int64_t y[N];
    fill(x, N * D, 2.0f), fill(w, C * D, 0.5f), fill(b, C, 0.5f);
    for (int i = 0; i < N; i++) y[i] = i % C;
    a2m_logreg m = {D, C, w, b};
    lr_ctx ctx = {&m, x, y, N, logits};
    double l = a2m_logreg_loss(&m, x, y, N, 0.1, dw, db, logits);
    CHECK(l > 0 && isfinite(l), "loss %g", l);
    CHECK(gradcheck("logreg dW", w, dw, C * D, lr_loss, &ctx, 1e-3, 1e-3, 200) == 0, "dW");
    CHECK(gradcheck("logreg db", b, db, C, lr_loss, &ctx, 1e-3, 1e-3, 200) == 0, "db");
}

/* three Gaussian blobs in 4-D, centres 3 apart: Bayes accuracy ~0.93; trained, the model comes near it */
static void test_logreg_train(void) {
    enum { N = 3000, NV = 600, D = 4 };
    float *x = malloc((N + NV) * D * sizeof *x);
    int64_t *y = malloc((N + NV) * sizeof *y), *pred = malloc(NV * sizeof *pred);
    const float centre[3][D] = {{0, 0, 0, 0}, {3, 0, 0, 0}, {0, 3, 0, 0}};
    for (int i = 0; i < N + NV; i++) {
        y[i] = i % 3;
        for (int j = 0; j < D; j++) x[i * D + j] = centre[y[i]][j] + 0.6f * (frand() + frand() + frand() + frand());
    }
    a2m_logreg_params p = a2m_logreg_default_params();
    p.epochs = 10;
    a2m_logreg m;
    int best = 0;
    CHECK(a2m_logreg_train(x, y, N, x + N * D, y + N, NV, D, 3, p, NULL, NULL, &m, &best) == A2M_OK, "train: %s",
          a2m_errmsg());
    CHECK(best >= 1 && best <= 10, "best epoch %d", best);
    CHECK(a2m_logreg_predict(&m, x + N * D, NV, pred, NULL) == A2M_OK, "predict");
    int ok = 0;
    for (int i = 0; i < NV; i++) ok += pred[i] == y[N + i];
    CHECK(ok > 0.9 * NV, "validation accuracy %.3f (want > 0.9)", (double)ok / NV);
    a2m_logreg_free(&m);
    y[5] = 3;
    CHECK(a2m_logreg_train(x, y, N, NULL, NULL, 0, D, 3, p, NULL, NULL, &m, &best) == A2M_ERR_RANGE,
          "bad label refused");
    CHECK(strstr(a2m_errmsg(), "frame 5") != NULL, "message names the frame: %s", a2m_errmsg());
    free(x), free(y), free(pred);
}

int main(void) {
    test_knn_exact();
    test_knn_vote();
    test_gather();
    test_pca();
    test_logreg_gradient();
    test_logreg_train();
    return test_done("test_baseline");
}
