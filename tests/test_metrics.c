/* Frame and note metrics equal scikit-learn's and mir_eval's on the fixtures. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "a2m/error.h"
#include "a2m/metrics.h"
#include "check.h"

static a2m_note *notes_of(json_t *arr, size_t *n) {
    *n = json_array_size(arr);
    a2m_note *v = calloc(*n + 1, sizeof *v);
    for (size_t i = 0; i < *n; i++) {
        json_t *e = json_array_get(arr, i);
        v[i] = (a2m_note){json_number_value(json_array_get(e, 0)), json_number_value(json_array_get(e, 1)),
                          json_number_value(json_array_get(e, 2)), 100, 0};
    }
    return v;
}

static void check_prf(const char *what, size_t k, const a2m_prf *got, json_t *want) {
    char label[64];
    snprintf(label, sizeof label, "case %zu %s precision", k, what);
    CHECK_NEAR(got->precision, json_number_value(json_array_get(want, 0)), 1e-6, label);
    snprintf(label, sizeof label, "case %zu %s recall", k, what);
    CHECK_NEAR(got->recall, json_number_value(json_array_get(want, 1)), 1e-6, label);
    snprintf(label, sizeof label, "case %zu %s f1", k, what);
    CHECK_NEAR(got->f1, json_number_value(json_array_get(want, 2)), 1e-6, label);
}

/* Reliability on six frames, 4 classes (class 3 never predicted), values exact in binary:
 *   ref  probs                        top conf   bin          correct
 *   0    .75    .25    0     0        0   .75    (0.7, 0.8]   yes
 *   1    .75    .125   .125  0        0   .75    (0.7, 0.8]   no
 *   1    0      1      0     0        1   1      (0.9, 1]     yes
 *   2    .25    .125   .625  0        2   .625   (0.6, 0.7]   yes
 *   1    .5     .5     0     0        0   .5     (0.4, 0.5]   no  (tie: the first class)
 *   2    .0625  .0625  .875  0        2   .875   (0.8, 0.9]   yes
 * ECE = (|0-.5| + |1-.625| + 2|.5-.75| + |1-.875| + 0) / 6 = 1.5 / 6 = .25; MCE = .5;
 * mean confidence 4.5 / 6 = .75; accuracy 4/6; entropies (nats) .5623351446, .7356219398, 0,
 * .9002560513, ln 2, .4634135588 -> mean .5591289792. Class 0: confidences .75 .75 .5 -> mean 2/3,
 * variance ((1/12)^2 * 2 + (1/6)^2) / 3 = 1/72, precision 1/3; class 1: 1, 0, 1; class 2: .625 .875
 * -> mean .75, variance .015625, precision 1. */
static void test_reliability(void) {
    const int64_t y[6] = {0, 1, 1, 2, 1, 2};
    float p[6][4] = {{.75f, .25f, 0, 0},      {.75f, .125f, .125f, 0}, {0, 1, 0, 0},
                     {.25f, .125f, .625f, 0}, {.5f, .5f, 0, 0},        {.0625f, .0625f, .875f, 0}};
    a2m_reliability r;
    CHECK(a2m_reliability_compute(y, &p[0][0], 6, 4, &r) == A2M_OK, "reliability: %s", a2m_errmsg());
    CHECK(r.n == 6 && r.n_classes == 4, "sizes");
    const int64_t count[10] = {0, 0, 0, 0, 1, 0, 1, 2, 1, 1};
    const double conf[10] = {0, 0, 0, 0, .5, 0, .625, .75, .875, 1}, acc[10] = {0, 0, 0, 0, 0, 0, 1, .5, 1, 1};
    for (int b = 0; b < 10; b++) {
        CHECK(r.bin_count[b] == count[b], "bin %d count %lld", b, (long long)r.bin_count[b]);
        CHECK_NEAR(r.bin_confidence[b], conf[b], 1e-12, "bin confidence");
        CHECK_NEAR(r.bin_accuracy[b], acc[b], 1e-12, "bin accuracy");
    }
    CHECK_NEAR(r.ece, .25, 1e-12, "ECE");
    CHECK_NEAR(r.mce, .5, 1e-12, "MCE");
    CHECK_NEAR(r.mean_confidence, .75, 1e-12, "mean confidence");
    CHECK_NEAR(r.accuracy, 4.0 / 6, 1e-12, "accuracy");
    CHECK_NEAR(r.mean_entropy, .5591289791720858, 1e-9, "mean entropy");
    const int64_t pc[4] = {3, 1, 2, 0};
    const double cc[4] = {2.0 / 3, 1, .75, 0}, prec[4] = {1.0 / 3, 1, 1, 0}, var[4] = {1.0 / 72, 0, .015625, 0};
    for (int c = 0; c < 4; c++) {
        CHECK(r.pred_count[c] == pc[c], "class %d predicted %lld", c, (long long)r.pred_count[c]);
        CHECK_NEAR(r.class_confidence[c], cc[c], 1e-12, "class confidence");
        CHECK_NEAR(r.class_prob_mean[c], cc[c], 1e-12, "class p(c) mean");
        CHECK_NEAR(r.class_precision[c], prec[c], 1e-12, "class precision");
        CHECK_NEAR(r.class_prob_variance[c], var[c], 1e-12, "class p(c) variance");
    }
    /* rows need not sum to 1; confidence 0 joins the first bin, exactly 1 the last */
    float loose[3][2] = {{.25f, .2f}, {0, 0}, {1, 0}};
    const int64_t y3[3] = {0, 0, 0};
    CHECK(a2m_reliability_compute(y3, &loose[0][0], 3, 2, &r) == A2M_OK, "loose rows: %s", a2m_errmsg());
    CHECK(r.bin_count[2] == 1 && r.bin_count[0] == 1 && r.bin_count[9] == 1, "edge bins");
    CHECK(a2m_reliability_compute(NULL, NULL, 0, 3, &r) == A2M_OK && r.ece == 0 && r.bin_count[9] == 0, "no frames");
    /* bad inputs */
    p[3][1] = NAN;
    CHECK(a2m_reliability_compute(y, &p[0][0], 6, 4, &r) == A2M_ERR_NONFINITE && strstr(a2m_errmsg(), "frame 3"),
          "NaN probability: %s", a2m_errmsg());
    p[3][1] = INFINITY;
    CHECK(a2m_reliability_compute(y, &p[0][0], 6, 4, &r) == A2M_ERR_NONFINITE, "infinite probability");
    p[3][1] = -.125f;
    CHECK(a2m_reliability_compute(y, &p[0][0], 6, 4, &r) == A2M_ERR_RANGE, "negative probability");
    p[3][1] = .125f;
    const int64_t yo[6] = {0, 1, 1, 4, 1, 2}, yn[6] = {0, -1, 1, 2, 1, 2};
    CHECK(a2m_reliability_compute(yo, &p[0][0], 6, 4, &r) == A2M_ERR_RANGE && strstr(a2m_errmsg(), "frame 3"),
          "class outside range: %s", a2m_errmsg());
    CHECK(a2m_reliability_compute(yn, &p[0][0], 6, 4, &r) == A2M_ERR_RANGE, "negative class");
    CHECK(a2m_reliability_compute(y, &p[0][0], 6, 0, &r) == A2M_ERR_ARG, "no classes");
    CHECK(a2m_reliability_compute(y, &p[0][0], 6, 4, &r) == A2M_OK, "good again");
}

/* The lowest accuracies first, the first of equals first, takes without frames (NaN) never listed, at most k. */
static void test_worst_takes(void) {
    const double acc[7] = {0.9, 0.5, NAN, 0.7, 0.5, 0.95, 0.1};
    size_t order[5];
    size_t n = a2m_worst_takes(acc, 7, 5, order);
    const size_t want[5] = {6, 1, 4, 3, 0};
    CHECK(n == 5, "five of six takes with frames: %zu", n);
    for (size_t i = 0; i < 5 && n == 5; i++)
        CHECK(order[i] == want[i], "worst %zu: take %zu, want %zu", i, order[i], want[i]);
    CHECK(a2m_worst_takes(acc, 3, 5, order) == 2 && order[0] == 1 && order[1] == 0, "fewer takes than k");
    CHECK(a2m_worst_takes(acc + 2, 1, 5, order) == 0, "a take without frames only");
}

int main(void) {
    test_reliability();
    test_worst_takes();
    const char *shared = test_shared_dir();
    /* hand case: perfect and empty */
    a2m_note one = {1.0, 2.0, 60, 100, 0}, off = {1.04, 2.5, 60.4, 100, 0};
    a2m_note_metrics nm;
    a2m_note_metrics_compute(&one, 1, &one, 1, a2m_note_metric_default_params(), &nm);
    CHECK(nm.onset_pitch_offset.f1 == 1.0 && nm.onset_pitch_offset.average_overlap == 1.0, "identical notes");
    a2m_note_metrics_compute(&one, 1, &off, 1, a2m_note_metric_default_params(), &nm);
    CHECK(nm.onset_pitch_offset.f1 == 0.0 && nm.onset_pitch.f1 == 1.0 && nm.onset.f1 == 1.0, "offset too far only");
    CHECK(a2m_note_metrics_compute(&one, 1, NULL, 0, a2m_note_metric_default_params(), &nm) == A2M_OK &&
              nm.onset.f1 == 0,
          "empty estimate");
    int64_t yt[3] = {0, 1, 5};
    a2m_frame_metrics fm;
    CHECK(a2m_frame_metrics_compute(yt, yt, 3, 4, &fm) == A2M_ERR_RANGE, "label out of range");
    if (!shared) return test_done("test_metrics");

    char path[4096];
    snprintf(path, sizeof path, "%s/data/reference/metrics/metric_cases.json", shared);
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);
    CHECK(root != NULL, "load %s", path);
    json_t *cases = json_object_get(root, "notes");
    for (size_t k = 0; k < json_array_size(cases); k++) {
        json_t *c = json_array_get(cases, k);
        size_t nr, ne;
        a2m_note *ref = notes_of(json_object_get(c, "ref"), &nr), *est = notes_of(json_object_get(c, "est"), &ne);
        CHECK(a2m_note_metrics_compute(ref, nr, est, ne, a2m_note_metric_default_params(), &nm) == A2M_OK, "compute");
        check_prf("COnPOff", k, &nm.onset_pitch_offset, json_object_get(c, "COnPOff"));
        check_prf("COnP", k, &nm.onset_pitch, json_object_get(c, "COnP"));
        check_prf("COn", k, &nm.onset, json_object_get(c, "COn"));
        free(ref), free(est);
    }
    printf("note cases: %zu\n", json_array_size(cases));
    cases = json_object_get(root, "frames");
    for (size_t k = 0; k < json_array_size(cases); k++) {
        json_t *c = json_array_get(cases, k);
        json_t *t = json_object_get(c, "y_true"), *p = json_object_get(c, "y_pred");
        size_t n = json_array_size(t);
        int64_t *a = malloc((n + 1) * sizeof *a), *b = malloc((n + 1) * sizeof *b);
        for (size_t i = 0; i < n; i++)
            a[i] = json_integer_value(json_array_get(t, i)), b[i] = json_integer_value(json_array_get(p, i));
        int C = (int)json_integer_value(json_object_get(c, "classes"));
        CHECK(a2m_frame_metrics_compute(a, b, n, C, &fm) == A2M_OK, "frame case %zu", k);
        CHECK_NEAR(fm.accuracy, json_number_value(json_object_get(c, "accuracy")), 1e-6, "accuracy");
        CHECK_NEAR(fm.balanced_accuracy, json_number_value(json_object_get(c, "balanced_accuracy")), 1e-6,
                   "balanced accuracy");
        CHECK_NEAR(fm.f1_macro, json_number_value(json_object_get(c, "f1_macro")), 1e-6, "macro F1");
        CHECK_NEAR(fm.f1_weighted, json_number_value(json_object_get(c, "f1_weighted")), 1e-6, "weighted F1");
        json_t *conf = json_object_get(c, "confusion");
        for (int r = 0; r < C; r++)
            for (int q = 0; q < C; q++)
                CHECK(fm.confusion[r][q] ==
                          json_integer_value(json_array_get(json_array_get(conf, (size_t)r), (size_t)q)),
                      "confusion case %zu [%d][%d]", k, r, q);
        for (int q = 0; q < C; q++) {
            CHECK_NEAR(fm.precision[q], json_number_value(json_array_get(json_object_get(c, "precision"), (size_t)q)),
                       1e-6, "precision");
            CHECK_NEAR(fm.recall[q], json_number_value(json_array_get(json_object_get(c, "recall"), (size_t)q)), 1e-6,
                       "recall");
            CHECK_NEAR(fm.f1[q], json_number_value(json_array_get(json_object_get(c, "f1"), (size_t)q)), 1e-6, "f1");
        }
        free(a), free(b);
    }
    printf("frame cases: %zu\n", json_array_size(cases));
    json_decref(root);
    return test_done("test_metrics");
}
