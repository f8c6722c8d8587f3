/* UMAP pieces against umap-learn 0.5.3 and scikit-learn 1.2 (tests/ref/embed/make_ref.py wrote the references):
 * the a/b fit, the exact kNN, the fuzzy graph, trustworthiness; the spectral layout of a ring; determinism. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "a2m/embed.h"
#include "a2m/error.h"
#include "a2m/io.h"
#include "check.h"
#include "model_check.h"
#include "embed/embed_internal.h"
#include "a2m/model.h"
#include "nn/arch.h"

static const char *ref_path(const char *name) {
    static char buf[4][4096];
    static int next;
    char *b = buf[next++ % 4];
    const char *src = getenv("A2M_SOURCE") ? getenv("A2M_SOURCE") : ".";
    snprintf(b, sizeof buf[0], "%s/tests/ref/embed/%s", src, name);
    return b;
}

static void test_find_ab(void) {
    a2m_array ab;
    if (a2m_npy_load(ref_path("ab.npy"), &ab)) {
        CHECK(0, "ab.npy: %s", a2m_errmsg());
        return;
    }
    const double *r = ab.data;
    for (int i = 0; i < 3; i++) {
        double a, b;
        CHECK(a2m_umap_find_ab(1.0, r[3 * i], &a, &b) == 0, "find_ab %g", r[3 * i]);
        CHECK(fabs(a - r[3 * i + 1]) < 1e-4 * r[3 * i + 1], "a(min_dist %g) %.8f vs umap-learn %.8f", r[3 * i], a,
              r[3 * i + 1]);
        CHECK(fabs(b - r[3 * i + 2]) < 1e-4 * r[3 * i + 2], "b(min_dist %g) %.8f vs umap-learn %.8f", r[3 * i], b,
              r[3 * i + 2]);
    }
    a2m_array_free(&ab);
    double a, b;
    CHECK(a2m_umap_find_ab(1.0, -0.1, &a, &b) == A2M_ERR_ARG, "negative min_dist refused");
}

/* brute force in double: the k nearest of each row, itself first */
static void test_knn(void) {
    enum { N = 2300, D = 13, K = 6 }; /* 3 blocks of 1024: diagonal and off-diagonal tiles */
    float *x = malloc(N * D * sizeof *x), dist[N * K];
    int32_t idx[N * K];
    uint64_t s = 5;
    for (int t = 0; t < N * D; t++) x[t] = (float)(100 + 10 * a2m_uniform53(&s)); /* offset: the centring matters */
    CHECK(a2m_knn_exact(x, N, D, K, 2, NULL, NULL, idx, dist) == 0, "knn: %s", a2m_errmsg());
    int wrong = 0;
    double maxerr = 0;
    for (int i = 0; i < N; i++) {
        double best[K];
        int bj[K];
        for (int m = 0; m < K; m++) best[m] = INFINITY, bj[m] = -1;
        for (int j = 0; j < N; j++) {
            if (j == i) continue;
            double d = 0;
            for (int t = 0; t < D; t++)
                d += ((double)x[i * D + t] - x[j * D + t]) * ((double)x[i * D + t] - x[j * D + t]);
            if (!(d < best[K - 2])) continue; /* best[0..K-2]: the K-1 nearest others, ascending */
            int p = K - 2;
            for (; p > 0 && d < best[p - 1]; p--) best[p] = best[p - 1], bj[p] = bj[p - 1];
            best[p] = d, bj[p] = j;
        }
        wrong += idx[i * K] != i;
        for (int m = 1; m < K; m++) {
            wrong += idx[i * K + m] != bj[m - 1];
            maxerr = fmax(maxerr, fabs(dist[i * K + m] - sqrt(best[m - 1])));
        }
    }
    CHECK(wrong == 0, "knn: %d neighbours differ from brute force", wrong);
    CHECK(maxerr < 1e-4, "knn: distances off by %g", maxerr);
    free(x);
}

static int load_f32(const char *name, a2m_array *a) {
    int rc = a2m_npy_load_f32(ref_path(name), a);
    CHECK(rc == 0, "%s: %s", name, a2m_errmsg());
    return rc;
}

/* our kNN + fuzzy union on x.npy against umap-learn's fuzzy_simplicial_set: the same edges, the same weights */
static void test_fuzzy_graph(const a2m_array *x) {
    a2m_array ref;
    if (a2m_npy_load(ref_path("graph.npy"), &ref)) {
        CHECK(0, "graph.npy: %s", a2m_errmsg());
        return;
    }
    size_t n = x->shape[0], nnz = ref.shape[0];
    int32_t *idx = malloc(n * 5 * sizeof *idx);
    float *dist = malloc(n * 5 * sizeof *dist);
    emb_graph g = {0};
    CHECK(a2m_knn_exact(x->data, n, x->shape[1], 5, 1, NULL, NULL, idx, dist) == 0, "knn");
    CHECK(emb_fuzzy_graph(idx, dist, n, 5, &g) == 0, "graph");
    CHECK(g.nnz == nnz, "graph: %zu edges, umap-learn %zu", g.nnz, nnz);
    const double *r = ref.data;
    size_t missing = 0;
    double maxerr = 0;
    for (size_t e = 0; e < nnz; e++) {
        size_t i = (size_t)r[3 * e], j = (size_t)r[3 * e + 1], t = g.rowptr[i];
        while (t < g.rowptr[i + 1] && (size_t)g.col[t] != j) t++;
        if (t == g.rowptr[i + 1]) missing++;
        else maxerr = fmax(maxerr, fabs(g.val[t] - r[3 * e + 2]));
    }
    CHECK(missing == 0, "graph: %zu of umap-learn's edges missing", missing);
    /* sigma's bisection stops once sum exp(-(d - rho) / sigma) is within 1e-5 of log2(k): distances 1e-7 apart
     * (ours exact, scikit-learn's float32 pairwise_distances) can stop it a step apart. Measured: 3.0e-5 */
    CHECK(maxerr < 1e-4, "graph: weights differ by up to %g", maxerr);
    emb_graph_free(&g);
    free(idx), free(dist);
    a2m_array_free(&ref);
}

static void test_trust(const a2m_array *x) {
    a2m_array emb, rnd, ref;
    if (load_f32("emb.npy", &emb) || load_f32("rand.npy", &rnd) || a2m_npy_load(ref_path("trust.npy"), &ref)) return;
    const double *t = ref.data;
    double v;
    size_t n = x->shape[0], d = x->shape[1];
    CHECK(a2m_trustworthiness(x->data, n, d, emb.data, 2, 5, 2, &v) == 0 && fabs(v - t[0]) < 1e-9,
          "trust k 5: %.10f vs sklearn %.10f", v, t[0]);
    CHECK(a2m_trustworthiness(x->data, n, d, emb.data, 2, 10, 1, &v) == 0 && fabs(v - t[1]) < 1e-9,
          "trust k 10: %.10f vs sklearn %.10f", v, t[1]);
    CHECK(a2m_trustworthiness(x->data, n, d, rnd.data, 2, 5, 1, &v) == 0 && fabs(v - t[2]) < 1e-9,
          "trust random k 5: %.10f vs sklearn %.10f", v, t[2]);
    CHECK(a2m_trustworthiness(x->data, n, d, rnd.data, 2, 10, 2, &v) == 0 && fabs(v - t[3]) < 1e-9,
          "trust random k 10: %.10f vs sklearn %.10f", v, t[3]);
    CHECK(a2m_trustworthiness(x->data, n, d, emb.data, 2, 150, 1, &v) == A2M_ERR_ARG, "k >= n/2 refused");
    a2m_array_free(&emb), a2m_array_free(&rnd), a2m_array_free(&ref);
}

/* a ring of 64 points: the Laplacian's 2nd and 3rd eigenvectors are cos and sin of the angle, so the
 * initialisation is a circle (every point at one radius) in ring order */
static void test_spectral_ring(void) {
    enum { N = 64 };
    emb_graph g = {0};
    g.n = N, g.nnz = 2 * N;
    g.rowptr = malloc((N + 1) * sizeof *g.rowptr), g.col = malloc(2 * N * sizeof *g.col),
    g.val = malloc(2 * N * sizeof *g.val);
    for (int i = 0; i <= N; i++) g.rowptr[i] = 2 * (size_t)i;
    for (int i = 0; i < N; i++) {
        int a = (i + N - 1) % N, b = (i + 1) % N;
        g.col[2 * i] = a < b ? a : b, g.col[2 * i + 1] = a < b ? b : a, g.val[2 * i] = g.val[2 * i + 1] = 1;
    }
    float x[N];
    for (int i = 0; i < N; i++) x[i] = (float)i;
    double init[2 * N], rmin = INFINITY, rmax = 0;
    CHECK(emb_spectral_init(&g, x, 1, 1, init) == 0, "spectral: %s", a2m_errmsg());
    for (int i = 0; i < N; i++) {
        double r = hypot(init[2 * i], init[2 * i + 1]);
        rmin = fmin(rmin, r), rmax = fmax(rmax, r);
    }
    CHECK(rmax > 0 && (rmax - rmin) / rmax < 1e-6, "ring: radii %g..%g", rmin, rmax);
    /* neighbours on the ring are neighbours on the circle: angle steps of 2 pi / 64 */
    double step = 0;
    for (int i = 0; i < N; i++) {
        int j = (i + 1) % N;
        double da =
            fabs(remainder(atan2(init[2 * j + 1], init[2 * j]) - atan2(init[2 * i + 1], init[2 * i]), 2 * M_PI));
        step = fmax(step, fabs(da - 2 * M_PI / N));
    }
    CHECK(step < 1e-6, "ring: angle steps off by %g", step);
    emb_graph_free(&g);
}

/* the whole: the same bits for a seed (any thread count), another seed another layout, and trustworthiness
 * within 0.01 of umap-learn's on the same data */
static void test_umap(const a2m_array *x) {
    a2m_array ref;
    if (a2m_npy_load(ref_path("trust.npy"), &ref)) return;
    size_t n = x->shape[0], d = x->shape[1];
    float *e1 = malloc(n * 2 * sizeof *e1), *e2 = malloc(n * 2 * sizeof *e2), *e3 = malloc(n * 2 * sizeof *e3);
    a2m_umap_params p = a2m_umap_default_params();
    p.seed = 3;
    CHECK(a2m_umap(x->data, n, d, p, NULL, NULL, e1) == 0, "umap: %s", a2m_errmsg());
    p.n_threads = 2;
    CHECK(a2m_umap(x->data, n, d, p, NULL, NULL, e2) == 0, "umap 2 threads");
    CHECK(memcmp(e1, e2, n * 2 * sizeof *e1) == 0, "umap: 1 and 2 threads give other layouts");
    p.seed = 4;
    CHECK(a2m_umap(x->data, n, d, p, NULL, NULL, e3) == 0, "umap seed 4");
    CHECK(memcmp(e1, e3, n * 2 * sizeof *e1) != 0, "umap: seeds 3 and 4 gave the same layout");
    double t;
    CHECK(a2m_trustworthiness(x->data, n, d, e1, 2, 5, 1, &t) == 0, "trust");
    CHECK(t > ((const double *)ref.data)[0] - 0.01, "umap: trustworthiness %.4f, umap-learn %.4f", t,
          ((const double *)ref.data)[0]);
    printf("umap on x.npy: trustworthiness %.4f (umap-learn %.4f)\n", t, ((const double *)ref.data)[0]);
    p.n_neighbors = 301;
    CHECK(a2m_umap(x->data, n, d, p, NULL, NULL, e3) == A2M_ERR_ARG, "more neighbours than points refused");
    free(e1), free(e2), free(e3);
    a2m_array_free(&ref);
}

/* --source hidden: the BiLSTM output h of the shipped model; its output layer on h gives the model's logits */
static void test_hidden(void) {
    const char *src = getenv("A2M_SOURCE") ? getenv("A2M_SOURCE") : ".";
    char path[4096];
    snprintf(path, sizeof path, "%s/models/a2m-crnn.safetensors", src);
    a2m_model *m;
    if (a2m_model_load(path, NULL, &m)) {
        CHECK(0, "%s: %s", path, a2m_errmsg());
        return;
    }
    enum { T = 40 };
    int F = a2m_model_get_info(m)->n_bins, C = a2m_model_get_info(m)->n_classes, dim = 0;
    float *x = malloc((size_t)T * F * sizeof *x), *h = malloc((size_t)T * 256 * sizeof *h), logits[T * 8];
    uint64_t s = 9;
    for (int t = 0; t < T * F; t++) x[t] = (float)(2 * a2m_uniform53(&s) - 1);
    CHECK(a2m_model_hidden(m, x, T, 1, NULL, &dim) == 0 && dim == 128, "hidden size %d", dim);
    CHECK(a2m_model_hidden(m, x, T, 1, h, &dim) == 0, "hidden: %s", a2m_errmsg());
    a2m_runner *r;
    CHECK(a2m_runner_new(m, runner_params(1, T, A2M_PRECISION_FP32), &r) == 0 &&
              a2m_runner_forward(r, x, 1, T, logits) == 0,
          "forward");
    const float *W = m->params + nn_model_tensor(m, "fc.weight")->offset,
                *b = m->params + nn_model_tensor(m, "fc.bias")->offset;
    double err = 0;
    for (int t = 0; t < T; t++)
        for (int c = 0; c < C; c++) {
            double v = b[c];
            for (int k = 0; k < dim; k++) v += (double)W[c * dim + k] * h[t * dim + k];
            err = fmax(err, fabs(v - logits[t * C + c]));
        }
    CHECK(err < 1e-4, "fc(hidden) vs the model's logits: %g", err);
    a2m_runner_del(r);
    a2m_model_del(m);
    free(x), free(h);
}

int main(void) {
    test_hidden();
    test_find_ab();
    test_knn();
    test_spectral_ring();
    a2m_array x;
    if (load_f32("x.npy", &x) == 0) {
        test_fuzzy_graph(&x);
        test_trust(&x);
        test_umap(&x);
        a2m_array_free(&x);
    }
    return test_done("test_embed");
}
