/* Uncertainty measures, AUROC, empirical CDFs and temperature scaling against scikit-learn / numpy / scipy
 * references (tests/ref/uncertainty_cases.json, made by scripts/make-uncertainty-ref.py). */
#include <jansson.h>
#include <stdint.h>

#include "a2m/error.h"
#include "a2m/metrics.h"
#include "a2m/uncertainty.h"
#include "check.h"

static double *doubles(json_t *a, size_t *n) {
    *n = json_array_size(a);
    double *v = malloc((*n + 1) * sizeof *v);
    for (size_t i = 0; i < *n; i++) v[i] = json_number_value(json_array_get(a, i));
    return v;
}

static void test_auroc(json_t *cases) {
    size_t k;
    json_t *c;
    json_array_foreach(cases, k, c) {
        size_t n, m;
        double *s = doubles(json_object_get(c, "score"), &n), *p = doubles(json_object_get(c, "positive"), &m);
        unsigned char *pos = malloc(n + 1);
        for (size_t i = 0; i < n; i++) pos[i] = p[i] != 0;
        double auc = -1;
        CHECK(a2m_auroc(s, pos, n, &auc) == A2M_OK, "auroc: %s", a2m_errmsg());
        CHECK_NEAR(auc, json_number_value(json_object_get(c, "auroc")), 1e-12, "auroc");
        /* one group empty: undefined (scikit-learn raises) */
        memset(pos, 0, n);
        CHECK(a2m_auroc(s, pos, n, &auc) == A2M_OK && isnan(auc), "auroc without positives is NaN");
        free(s), free(p), free(pos);
    }
}

static void test_predictive(json_t *cases) {
    size_t k;
    json_t *c;
    json_array_foreach(cases, k, c) {
        int S = (int)json_integer_value(json_object_get(c, "S")), C = (int)json_integer_value(json_object_get(c, "C"));
        size_t n = (size_t)json_integer_value(json_object_get(c, "n")), ns;
        double *sd = doubles(json_object_get(c, "samples"), &ns);
        float *sf = malloc(ns * sizeof *sf), *mean = malloc(n * C * sizeof *mean),
              *u = malloc(n * A2M_UNC_MEASURES * sizeof *u);
        for (size_t i = 0; i < ns; i++) sf[i] = (float)sd[i];
        a2m_predictive p;
        CHECK(a2m_predictive_init(&p, n, C) == 0, "init");
        for (int s = 0; s < S; s++) CHECK(a2m_predictive_add(&p, sf + (size_t)s * n * C) == 0, "add");
        CHECK(a2m_predictive_finish(&p, mean, u) == 0, "finish");
        size_t nm;
        double *em = doubles(json_object_get(c, "mean"), &nm);
        double err = 0;
        for (size_t i = 0; i < nm; i++) err = fmax(err, fabs(em[i] - mean[i]));
        CHECK(err < 1e-6, "mean: max error %g", err);
        for (int q = 0; q < A2M_UNC_MEASURES; q++) {
            size_t ne;
            double *e = doubles(json_object_get(c, a2m_unc_measure_name(q)), &ne), qe = 0;
            for (size_t i = 0; i < ne; i++) qe = fmax(qe, fabs(e[i] - u[i * A2M_UNC_MEASURES + q]));
            CHECK(ne == n && qe < 2e-6, "%s (S=%d): max error %g", a2m_unc_measure_name(q), S, qe);
            free(e);
        }
        a2m_predictive_free(&p);
        free(sd), free(sf), free(mean), free(u), free(em);
    }
    /* a NaN sample is an error naming the frame */
    a2m_predictive p;
    float bad[8] = {0.5f, 0.5f, NAN, 1};
    a2m_predictive_init(&p, 2, 2);
    CHECK(a2m_predictive_add(&p, bad) == A2M_ERR_NONFINITE && strstr(a2m_errmsg(), "frame 1"), "NaN: %s", a2m_errmsg());
    CHECK(a2m_predictive_finish(&p, NULL, NULL) == A2M_ERR_ARG, "no samples");
    a2m_predictive_free(&p);
}

static void test_ecdf(json_t *cases) {
    json_t *c = json_array_get(cases, 0);
    size_t n, m;
    double *v = doubles(json_object_get(c, "values"), &n), *g = doubles(json_object_get(c, "group"), &m);
    int K = (int)json_integer_value(json_object_get(c, "K"));
    unsigned char *grp = malloc(n);
    for (size_t i = 0; i < n; i++) grp[i] = g[i] != 0;
    double x[64], c0[64], c1[64];
    CHECK(a2m_ecdf_pair(v, grp, n, K, x, c0, c1) == 0, "ecdf");
    size_t k;
    double *ex = doubles(json_object_get(c, "x"), &k), *e0 = doubles(json_object_get(c, "cdf0"), &k),
           *e1 = doubles(json_object_get(c, "cdf1"), &k);
    for (int i = 0; i < K; i++) {
        CHECK_NEAR(x[i], ex[i], 1e-6 * fmax(1, fabs(ex[i])), "ecdf x");
        CHECK_NEAR(c0[i], e0[i], 1e-9, "ecdf right");
        CHECK_NEAR(c1[i], e1[i], 1e-9, "ecdf wrong");
    }
    free(v), free(g), free(grp), free(ex), free(e0), free(e1);
}

static void test_temperature(json_t *cases) {
    size_t k;
    json_t *c;
    json_array_foreach(cases, k, c) {
        size_t n = (size_t)json_integer_value(json_object_get(c, "n")), nz, ny;
        int C = (int)json_integer_value(json_object_get(c, "C"));
        double *zd = doubles(json_object_get(c, "logits"), &nz), *yd = doubles(json_object_get(c, "labels"), &ny);
        float *z = malloc(nz * sizeof *z), *p = malloc(nz * sizeof *p);
        int64_t *y = malloc(ny * sizeof *y);
        for (size_t i = 0; i < nz; i++) z[i] = (float)zd[i];
        for (size_t i = 0; i < ny; i++) y[i] = (int64_t)yd[i];
        double t, before, after;
        CHECK(a2m_fit_temperature(z, y, n, C, &t, &before, &after) == 0, "fit");
        double et = json_number_value(json_object_get(c, "temperature"));
        CHECK(fabs(t - et) < 1e-5 * et, "temperature %.9g vs %.9g", t, et);
        CHECK_NEAR(before, json_number_value(json_object_get(c, "nll_before")), 1e-9, "NLL before");
        CHECK_NEAR(after, json_number_value(json_object_get(c, "nll_after")), 1e-9, "NLL after");
        a2m_reliability rel;
        a2m_softmax_temperature(p, z, n, C, 1.0);
        a2m_reliability_compute(y, p, n, C, &rel);
        CHECK_NEAR(rel.ece, json_number_value(json_object_get(c, "ece_before")), 1e-6, "ECE before");
        a2m_softmax_temperature(p, z, n, C, t);
        a2m_reliability_compute(y, p, n, C, &rel);
        CHECK_NEAR(rel.ece, json_number_value(json_object_get(c, "ece_after")), 1e-6, "ECE after");
        y[3] = C; /* a label out of range is an error naming the frame */
        CHECK(a2m_fit_temperature(z, y, n, C, &t, NULL, NULL) == A2M_ERR_RANGE && strstr(a2m_errmsg(), "frame 3"),
              "bad label: %s", a2m_errmsg());
        free(zd), free(yd), free(z), free(p), free(y);
    }
}

/* a hand-made take: each kind of error once or more (see a2m_error_split in metrics.h) */
static void test_error_split(void) {
    const int64_t truth[24] = {0, 0, 1, 1, 1, 1, 0, 0, 2, 2, 2, 2, 0, 0, 0, 0, 3, 3, 3, 0, 1, 1, 1, 0};
    const int64_t pred[24] = {0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 2, 2, 0, 3, 0, 0, 3, 1, 0, 0, 0, 0, 0, 0};
    /* f1 early onset, f6 late offset, f8-9 late onset, f13 extra, f17 pitch, f18 early offset, f20-22 missed */
    a2m_error_split e = {0};
    a2m_error_split_add(truth, pred, 24, &e);
    CHECK(e.frames == 24 && e.errors == 10 && e.pitch == 1 && e.onset == 3 && e.offset == 2 && e.missed == 3 &&
              e.extra == 1,
          "split: %zu errors, pitch %zu onset %zu offset %zu missed %zu extra %zu", e.errors, e.pitch, e.onset,
          e.offset, e.missed, e.extra);
    a2m_error_split_add(truth, truth, 24, &e); /* adds: a perfect take counts frames only */
    CHECK(e.frames == 48 && e.errors == 10, "a right take adds frames only");
}

int main(void) {
    test_error_split();
    const char *src = getenv("A2M_SOURCE") ? getenv("A2M_SOURCE") : ".";
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/ref/uncertainty_cases.json", src);
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);
    CHECK(root != NULL, "%s: %s", path, err.text);
    if (!root) return test_done("test_uncertainty");
    test_auroc(json_object_get(root, "auroc"));
    test_predictive(json_object_get(root, "predictive"));
    test_ecdf(json_object_get(root, "ecdf"));
    test_temperature(json_object_get(root, "temperature"));
    json_decref(root);
    return test_done("test_uncertainty");
}
