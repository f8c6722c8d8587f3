#include "cli/baseline.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "a2m/error.h"
#include "a2m/metrics.h"
#include "cli/cli.h"
#include "cli/report.h"

int bl_parse(int argc, char **argv, const cli_spec *spec, bl_args *a) {
    const char *cmd = argv[0];
    int rc = cli_parse_req(argc, argv, spec, (const char **[]){&a->ds}, 1, 1, "DATASET");
    if (rc >= 0) return rc ? rc : -1;
    const char *kind = a->kind;
    if (kind && strcmp(kind, "cqt") && strcmp(kind, "mel") && strcmp(kind, "mfcc") && strcmp(kind, "lpc"))
        return cli_usage_error(cmd, "--features %s: must be cqt, mel, mfcc or lpc", kind);
    if (a->json && strcmp(a->json, "-"))
        return cli_check_output(cmd, &a->json, (const char *[]){a->ds, a->splits}, 2, a->force, 0);
    return 0;
}

double bl_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* the kind of features a dataset holds (index.json's feature_params; older datasets: the CQT) */
static const char *dataset_kind(const a2m_dataset *d) { return a2m_feat_kind_name(d->feat.kind); }

/* class_notes as models carry them: silence -1, the notes, onset, below/above */
static void class_notes_of(const a2m_label_params *p, int *notes, int *n_classes) {
    int c = 0;
    notes[c++] = -1;
    for (int i = 0; i < p->n_notes && c < A2M_MAX_CLASSES; i++) notes[c++] = p->notes[i];
    if (p->onset_frames > 0 && c < A2M_MAX_CLASSES) notes[c++] = A2M_CLASS_ONSET;
    if (p->range_classes && c + 1 < A2M_MAX_CLASSES) notes[c++] = A2M_CLASS_BELOW, notes[c++] = A2M_CLASS_ABOVE;
    *n_classes = c;
}

static int gather(bl_data *b, int which, const char *splits, const char *name, int context, int optional) {
    size_t *idx = NULL, n = 0;
    b->split_name[which] = name;
    int rc = a2m_split_load(splits, name, &b->d, &idx, &n);
    if (rc == A2M_ERR_FORMAT && optional && strstr(a2m_errmsg(), ": no \"")) return a2m_error_clear(), A2M_OK;
    if (!rc && !n && !optional) rc = a2m_error(A2M_ERR_EMPTY, "%s: split '%s' is empty", splits, name);
    int dim = 0;
    if (!rc) rc = a2m_frames_gather(&b->d, idx, n, context, &b->x[which], &b->y[which], &b->n[which], &dim);
    b->takes[which] = n;
    if (!rc) b->dim = dim;
    free(idx);
    return rc;
}

int bl_load(const char *ds, const char *splits, const char *eval_split, const char *kind, int context, bl_data *b) {
    memset(b, 0, sizeof *b);
    int rc = a2m_dataset_load(ds, &b->d);
    if (rc) return cli_lib_fail(rc);
    b->loaded = 1;
    if (kind && strcmp(kind, dataset_kind(&b->d)))
        return cli_fail("%s: holds %s features, not %s (make one with `a2m dataset --kind %s`)", ds,
                        dataset_kind(&b->d), kind, kind);
    class_notes_of(&b->d.labels_p, b->class_notes, &b->n_classes);
    rc = gather(b, BL_TRAIN, splits, "train", context, 0);
    if (!rc) rc = gather(b, BL_VAL, splits, "val", context, 1);
    if (!rc) rc = gather(b, BL_EVAL, splits, eval_split, context, 0);
    return rc ? cli_lib_fail(rc) : 0;
}

int bl_map(bl_data *b, int standardise, int pca, int n_threads, a2m_frame_map *m) {
    int rc = a2m_frame_map_fit(b->x[BL_TRAIN], b->n[BL_TRAIN], b->dim, standardise, pca, n_threads, m);
    for (int s = 0; !rc && s < 3; s++) {
        if (!m->w) { /* no PCA: in place */
            rc = a2m_frame_map_apply(m, b->x[s], b->n[s], b->x[s], n_threads);
            continue;
        }
        float *out = malloc((b->n[s] ? b->n[s] : 1) * (size_t)m->out_dim * sizeof *out);
        if (!out) rc = a2m_error(A2M_ERR_NOMEM, "PCA: out of memory");
        if (!rc) rc = a2m_frame_map_apply(m, b->x[s], b->n[s], out, n_threads);
        if (!rc) free(b->x[s]), b->x[s] = out;
        else free(out);
    }
    if (!rc) b->dim = m->out_dim;
    return rc ? cli_lib_fail(rc) : 0;
}

void bl_free(bl_data *b) {
    for (int s = 0; s < 3; s++) free(b->x[s]), free(b->y[s]);
    if (b->loaded) a2m_dataset_free(&b->d);
    memset(b, 0, sizeof *b);
}

int bl_report(const bl_data *b, const char *title, const int64_t *pred, const char *json, json_t *extra) {
    a2m_frame_metrics fm;
    int rc = a2m_frame_metrics_compute(b->y[BL_EVAL], pred, b->n[BL_EVAL], b->n_classes, &fm);
    if (rc) {
        json_decref(extra);
        return cli_lib_fail(rc);
    }
    if (!json || strcmp(json, "-")) {
        printf("%s, split '%s': %zu take%s, %zu frame%s\n\n", title, b->split_name[BL_EVAL], b->takes[BL_EVAL],
               cli_s(b->takes[BL_EVAL]), b->n[BL_EVAL], cli_s(b->n[BL_EVAL]));
        report_print_frame_metrics(stdout, &fm, b->class_notes);
    }
    if (json) {
        json_t *o = report_frame_metrics_json(&fm, b->class_notes);
        json_object_set_new(o, "split", json_string(b->split_name[BL_EVAL]));
        json_object_set_new(o, "n_takes", json_integer((json_int_t)b->takes[BL_EVAL]));
        json_object_update(o, extra);
        rc = report_write_json(json, o);
        json_decref(o);
    }
    json_decref(extra);
    return rc ? cli_lib_fail(rc) : 0;
}
