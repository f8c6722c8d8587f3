/* Ensembles and Monte-Carlo dropout for eval/calibrate/transcribe; the uncertainty summary of eval. */
#include "cli/members.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "a2m/error.h"
#include "a2m/train.h"
#include "a2m/uncertainty.h"
#include "cli/cli.h"
#include "cli/models.h"
#include "cli/report.h"
#include "nn/layers.h"

/* path: a file or a shipped model's name (cli_model_path), kept as the member's path */
static int member_add(cli_members *e, const char *cmd, const char *name) {
    if (e->n == CLI_MAX_MEMBERS) return cli_usage_error(cmd, "--ensemble: more than %d models", CLI_MAX_MEMBERS);
    char buf[PATH_MAX];
    const char *path = cli_model_path(name, buf, sizeof buf);
    if (path == buf && !(path = e->owned[e->n] = strdup(buf)))
        return cli_lib_fail(a2m_error(A2M_ERR_NOMEM, "out of memory"));
    a2m_model *m;
    int rc = a2m_model_load(path, NULL, &m);
    if (!rc && (rc = a2m_model_check_for_audio(m, path))) a2m_model_del(m);
    if (rc) return cli_lib_fail(rc);
    e->m[e->n] = m, e->path[e->n++] = path;
    const a2m_model_info *a = a2m_model_get_info(e->m[0]), *b = a2m_model_get_info(m);
    if (b->n_classes != a->n_classes || memcmp(a->class_notes, b->class_notes, sizeof a->class_notes) ||
        b->n_bins != a->n_bins || b->onset_head != a->onset_head)
        return cli_fail("%s: %d classes (%d bins%s), not those of %s: an ensemble's models share their classes", path,
                        b->n_classes, b->n_bins, b->onset_head ? ", an onset head" : "", e->path[0]);
    /* the members read one front end's features (the first model's) */
    if ((rc = a2m_model_check_features(m, a->cqt, a->feat, path))) return cli_lib_fail(rc);
    if (e->mc && strcmp(b->arch, "crnn") && strcmp(b->arch, "unet") && strcmp(b->arch, "two-stage"))
        return cli_fail("%s: Monte-Carlo dropout runs crnn, unet and two-stage models, not %s", path, b->arch);
    if (e->mc && !(b->dropout > 0))
        return cli_fail("%s: no dropout to sample for --mc-dropout (train with --dropout P, e.g. 0.25)", path);
    return 0;
}

int cli_members_load(cli_members *e, const char *cmd, const char *model, const char *list, int mc,
                     unsigned long long seed) {
    memset(e, 0, sizeof *e);
    e->mc = mc, e->seed = seed;
    if (!list) return member_add(e, cmd, model);
    snprintf(e->list, sizeof e->list, "%s", list);
    char *save = NULL;
    for (char *tok = strtok_r(e->list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int rc = member_add(e, cmd, tok);
        if (rc) return rc;
    }
    return e->n ? 0 : cli_usage_error(cmd, "--ensemble: no model given");
}

int cli_model_classes_cover(const a2m_model *m, const char *model_path, const a2m_dataset *d, const char *ds_path) {
    int classes = a2m_model_get_info(m)->n_classes, top = -1;
    for (int c = 0; c < A2M_MAX_CLASSES; c++)
        if (d->class_counts[c] > 0) top = c;
    if (top < classes) return A2M_OK;
    return a2m_error(A2M_ERR_SHAPE, "%s: %d classes, but the dataset %s has frames of class %d (%d classes)",
                     model_path, classes, ds_path, top, a2m_label_n_classes(&d->labels_p));
}

void cli_members_free(cli_members *e) {
    for (int i = 0; i < e->n; i++) a2m_model_del(e->m[i]);
    for (int i = 0; i < CLI_MAX_MEMBERS; i++) free(e->owned[i]), e->owned[i] = NULL;
    e->n = 0;
}

int cli_members_predict(const cli_members *e, const a2m_dataset *d, const size_t *idx, size_t n, size_t frames,
                        int threads, float *probs, float *measures) {
    int C = a2m_model_get_info(e->m[0])->n_classes, passes = e->mc ? e->mc : 1;
    float *logits = malloc((frames + 1) * (size_t)C * sizeof *logits);
    a2m_predictive acc;
    int rc = logits ? a2m_predictive_init(&acc, frames, C) : a2m_error(A2M_ERR_NOMEM, "out of memory");
    for (int i = 0; !rc && i < e->n; i++) {
        const a2m_model_info *in = a2m_model_get_info(e->m[i]);
        for (int t = 0; !rc && t < passes; t++) {
            rc = a2m_model_logits_takes(e->m[i], d, idx, n, threads, e->mc ? in->dropout : 0, e->seed + (unsigned)t,
                                        logits);
            if (rc) a2m_error_prefix(rc, e->path[i]);
            else a2m_model_probs(in, logits, frames, probs); /* as a2m_model_predict_takes */
            if (!rc) rc = a2m_predictive_add(&acc, probs);
        }
    }
    if (!rc) rc = a2m_predictive_finish(&acc, probs, measures);
    if (logits) a2m_predictive_free(&acc);
    free(logits);
    return rc;
}

static json_t *doubles_json(const double *v, int n) {
    json_t *a = json_array();
    for (int i = 0; i < n; i++) json_array_append_new(a, json_real(v[i]));
    return a;
}

json_t *cli_uncertainty_json(const cli_members *e, const int64_t *truth, const int64_t *pred, const float *measures,
                             size_t n, int K) {
    unsigned char *wrong = malloc(n + 1);
    double *v = malloc((n + 1) * sizeof *v), *x = malloc(3 * (size_t)K * sizeof *x);
    if (!wrong || !v || !x) {
        free(wrong), free(v), free(x);
        return NULL;
    }
    size_t n_wrong = 0;
    for (size_t f = 0; f < n; f++) n_wrong += wrong[f] = truth[f] != pred[f];
    json_t *o = json_pack("{s:i,s:i,s:i,s:I,s:I}", "models", e->n, "mc_passes", e->mc, "samples",
                          e->n * (e->mc ? e->mc : 1), "frames", (json_int_t)n, "wrong_frames", (json_int_t)n_wrong);
    json_t *ms = json_object();
    for (int q = 0; q < A2M_UNC_MEASURES; q++) {
        double sr = 0, sw = 0;
        for (size_t f = 0; f < n; f++) {
            v[f] = measures[f * A2M_UNC_MEASURES + q];
            if (wrong[f]) sw += v[f];
            else sr += v[f];
        }
        double auc;
        int rc = a2m_ecdf_pair(v, wrong, n, K, x, x + K, x + 2 * K);
        for (size_t f = 0; f < n; f++) v[f] *= a2m_unc_measure_sign(q); /* larger: more likely wrong */
        if (!rc) rc = a2m_auroc(v, wrong, n, &auc);
        if (rc) { /* out of memory: no half-filled measures */
            json_decref(ms), json_decref(o);
            free(wrong), free(v), free(x);
            return NULL;
        }
        json_t *m = json_pack("{s:o,s:o,s:o,s:{s:o,s:o,s:o}}", "auroc", isnan(auc) ? json_null() : json_real(auc),
                              "mean_right", n > n_wrong ? json_real(sr / (double)(n - n_wrong)) : json_null(),
                              "mean_wrong", n_wrong ? json_real(sw / (double)n_wrong) : json_null(), "cdf", "x",
                              doubles_json(x, K), "right", doubles_json(x + K, K), "wrong", doubles_json(x + 2 * K, K));
        json_object_set_new(ms, a2m_unc_measure_name(q), m);
    }
    json_object_set_new(o, "measures", ms);
    free(wrong), free(v), free(x);
    return o;
}

void cli_uncertainty_print(FILE *out, const json_t *u) {
    int samples = (int)json_integer_value(json_object_get(u, "samples")),
        models = (int)json_integer_value(json_object_get(u, "models"));
    int passes = (int)json_integer_value(json_object_get(u, "mc_passes"));
    char how[64] = ", one pass each";
    if (passes) snprintf(how, sizeof how, " x %d Monte-Carlo pass%s", passes, passes > 1 ? "es" : "");
    fprintf(out, "\nuncertainty (%d model%s%s = %d sample%s), detecting the %lld wrong frames of %lld:\n", models,
            cli_s((size_t)models), how, samples, cli_s((size_t)samples),
            (long long)json_integer_value(json_object_get(u, "wrong_frames")),
            (long long)json_integer_value(json_object_get(u, "frames")));
    fprintf(out, "  %-20s %7s %13s %13s\n", "measure", "AUROC", "mean (right)", "mean (wrong)");
    for (int q = 0; q < A2M_UNC_MEASURES; q++) {
        const json_t *m = json_object_get(json_object_get(u, "measures"), a2m_unc_measure_name(q));
        const json_t *a = json_object_get(m, "auroc"), *r = json_object_get(m, "mean_right"),
                     *w = json_object_get(m, "mean_wrong");
        char auc[16] = "-";
        if (json_is_real(a)) snprintf(auc, sizeof auc, "%.4f", json_real_value(a));
        fprintf(out, "  %-20s %7s %13.4g %13.4g\n", a2m_unc_measure_name(q), auc, json_real_value(r),
                json_real_value(w));
    }
}

/* a2m plot uncertainty EVAL.json: the CDF panels of eval --json's "uncertainty" */
int plot_uncertainty_file(const char *json_path, const char *out, a2m_plot_size size) {
    json_t *root;
    int rc = report_load_json(json_path, &root);
    if (rc) return rc;
    json_t *ms = json_object_get(json_object_get(root, "uncertainty"), "measures");
    if (!json_is_object(ms))
        rc = a2m_error(A2M_ERR_FORMAT, "%s: no \"uncertainty\" (made by a2m eval --json?)", json_path);
    a2m_cdf_panel p[A2M_UNC_MEASURES];
    double *v[A2M_UNC_MEASURES][3] = {{NULL}};
    int np = 0;
    for (int q = 0; !rc && q < A2M_UNC_MEASURES; q++) {
        json_t *m = json_object_get(ms, a2m_unc_measure_name(q)), *cdf = json_object_get(m, "cdf"),
               *a = json_object_get(m, "auroc");
        if (!m) continue; /* a measure left out: no panel */
        const char *keys[3] = {"x", "right", "wrong"};
        int n = (int)json_array_size(json_object_get(cdf, "x"));
        if (n < 2 || n > 100000)
            rc = a2m_error(A2M_ERR_FORMAT, "%s: uncertainty measure %s has no \"cdf\"", json_path,
                           a2m_unc_measure_name(q));
        for (int k = 0; !rc && k < 3; k++) {
            json_t *arr = json_object_get(cdf, keys[k]);
            if ((int)json_array_size(arr) != n) {
                rc = a2m_error(A2M_ERR_FORMAT, "%s: %s cdf \"%s\" is not %d numbers", json_path,
                               a2m_unc_measure_name(q), keys[k], n);
                break;
            }
            if (!(v[np][k] = malloc((size_t)n * sizeof(double)))) rc = a2m_error(A2M_ERR_NOMEM, "out of memory");
            for (int i = 0; !rc && i < n; i++) {
                json_t *x = json_array_get(arr, (size_t)i);
                if (!json_is_number(x))
                    rc = a2m_error(A2M_ERR_FORMAT, "%s: %s cdf \"%s\"[%d] is not a number", json_path,
                                   a2m_unc_measure_name(q), keys[k], i);
                else v[np][k][i] = json_number_value(x);
                if (!rc && (k == 0 ? i && v[np][0][i] < v[np][0][i - 1] : !(v[np][k][i] >= 0 && v[np][k][i] <= 1)))
                    rc = a2m_error(A2M_ERR_RANGE, "%s: %s cdf \"%s\"[%d] = %g: %s", json_path, a2m_unc_measure_name(q),
                                   keys[k], i, v[np][k][i], k == 0 ? "x must not decrease" : "not a share in [0, 1]");
            }
        }
        if (!rc)
            p[np] = (a2m_cdf_panel){a2m_unc_measure_name(q),
                                    n,
                                    v[np][0],
                                    v[np][1],
                                    v[np][2],
                                    json_is_number(a) ? json_number_value(a) : NAN};
        np++;
    }
    if (!rc && !np) rc = a2m_error(A2M_ERR_FORMAT, "%s: \"uncertainty\" has no measures", json_path);
    char title[512];
    json_t *model = json_object_get(root, "model");
    snprintf(title, sizeof title, "%s: CDFs of the uncertainty of right and wrong frames",
             json_is_string(model) ? json_string_value(model) : json_path);
    if (!rc) rc = a2m_plot_uncertainty(out, p, np, title, size);
    for (int q = 0; q < A2M_UNC_MEASURES; q++) free(v[q][0]), free(v[q][1]), free(v[q][2]);
    json_decref(root);
    return rc;
}
