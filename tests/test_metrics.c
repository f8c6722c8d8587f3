/* Frame and note metrics equal scikit-learn's and mir_eval's on the fixtures. */
#include <jansson.h>
#include <stdlib.h>

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

int main(void) {
    const char *shared = test_shared_dir();
    /* hand case: perfect and empty */
    a2m_note one = {1.0, 2.0, 60, 100, 0}, off = {1.04, 2.5, 60.4, 100, 0};
    a2m_note_metrics nm;
    a2m_note_metrics_compute(&one, 1, &one, 1, a2m_note_metric_default_params(), &nm);
    CHECK(nm.onset_pitch_offset.f1 == 1.0 && nm.onset_pitch_offset.average_overlap == 1.0, "identical notes");
    a2m_note_metrics_compute(&one, 1, &off, 1, a2m_note_metric_default_params(), &nm);
    CHECK(nm.onset_pitch_offset.f1 == 0.0 && nm.onset_pitch.f1 == 1.0 && nm.onset.f1 == 1.0, "offset too far only");
    CHECK(a2m_note_metrics_compute(&one, 1, NULL, 0, a2m_note_metric_default_params(), &nm) == A2M_OK && nm.onset.f1 == 0,
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
        for (size_t i = 0; i < n; i++) a[i] = json_integer_value(json_array_get(t, i)), b[i] = json_integer_value(json_array_get(p, i));
        int C = (int)json_integer_value(json_object_get(c, "classes"));
        CHECK(a2m_frame_metrics_compute(a, b, n, C, &fm) == A2M_OK, "frame case %zu", k);
        CHECK_NEAR(fm.accuracy, json_number_value(json_object_get(c, "accuracy")), 1e-6, "accuracy");
        CHECK_NEAR(fm.balanced_accuracy, json_number_value(json_object_get(c, "balanced_accuracy")), 1e-6, "balanced accuracy");
        CHECK_NEAR(fm.f1_macro, json_number_value(json_object_get(c, "f1_macro")), 1e-6, "macro F1");
        CHECK_NEAR(fm.f1_weighted, json_number_value(json_object_get(c, "f1_weighted")), 1e-6, "weighted F1");
        json_t *conf = json_object_get(c, "confusion");
        for (int r = 0; r < C; r++)
            for (int q = 0; q < C; q++)
                CHECK(fm.confusion[r][q] == json_integer_value(json_array_get(json_array_get(conf, (size_t)r), (size_t)q)),
                      "confusion case %zu [%d][%d]", k, r, q);
        for (int q = 0; q < C; q++) {
            CHECK_NEAR(fm.precision[q], json_number_value(json_array_get(json_object_get(c, "precision"), (size_t)q)), 1e-6, "precision");
            CHECK_NEAR(fm.recall[q], json_number_value(json_array_get(json_object_get(c, "recall"), (size_t)q)), 1e-6, "recall");
            CHECK_NEAR(fm.f1[q], json_number_value(json_array_get(json_object_get(c, "f1"), (size_t)q)), 1e-6, "f1");
        }
        free(a), free(b);
    }
    printf("frame cases: %zu\n", json_array_size(cases));
    json_decref(root);
    return test_done("test_metrics");
}
