/* a2m calibrate: temperature scaling (Guo et al. 2017) fitted on a validation split, stored in a copy of
 * the model (metadata "temperature"), which eval and transcribe then apply. */
#include <stdlib.h>
#include <string.h>

#include "a2m/dataset.h"
#include "a2m/error.h"
#include "a2m/metrics.h"
#include "a2m/train.h"
#include "a2m/uncertainty.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/members.h"
#include "cli/opts.h"

static const char *usage =
    "usage: a2m calibrate MODEL DATASET -o OUT [--splits SPLIT.json] [--split NAME] [--check NAME] [--threads N] "
    "[--force]\n"
    "Fits the temperature T minimising the negative log-likelihood of softmax(logits / T) on the frames of\n"
    "one split (val: never the split a model is scored on) and writes MODEL with it to OUT; eval and\n"
    "transcribe then use softmax(logits / T). Prints the NLL and the expected calibration error (ECE, 10\n"
    "bins, as eval) before and after, on the fitting split and on --check (`--check none` skips it).\n"
    "A temperature already in MODEL is replaced (the fit uses the raw logits).\n";

/* logits and labels of a split */
static int split_logits(const a2m_model *m, const a2m_dataset *d, const char *splits, const char *split, int threads,
                        float **logits, int64_t **labels, size_t *frames) {
    size_t *idx = NULL, n = 0, f = 0;
    *logits = NULL, *labels = NULL, *frames = 0;
    int rc = a2m_split_load(splits, split, d, &idx, &n);
    for (size_t i = 0; !rc && i < n; i++) f += d->offsets[idx[i] + 1] - d->offsets[idx[i]];
    int C = a2m_model_get_info(m)->n_classes;
    if (!rc && !f) rc = a2m_error(A2M_ERR_EMPTY, "%s: split '%s' has no frames", splits, split);
    if (!rc) {
        *logits = malloc(f * (size_t)C * sizeof **logits), *labels = malloc(f * sizeof **labels);
        if (!*logits || !*labels) rc = a2m_error(A2M_ERR_NOMEM, "out of memory");
    }
    if (!rc) rc = a2m_model_logits_takes(m, d, idx, n, threads, 0, 0, *logits);
    for (size_t i = 0, pos = 0; !rc && i < n; i++) {
        size_t len = d->offsets[idx[i] + 1] - d->offsets[idx[i]];
        memcpy(*labels + pos, d->labels + d->offsets[idx[i]], len * sizeof **labels);
        pos += len;
    }
    free(idx);
    *frames = f;
    return rc;
}

/* NLL and ECE of a split at temperatures 1 and t */
static int report_split(const a2m_model *m, const a2m_dataset *d, const char *splits, const char *split, int threads,
                        double t, double *fit_t) {
    float *z, *p = NULL;
    int64_t *y;
    size_t n;
    int C = a2m_model_get_info(m)->n_classes;
    int rc = split_logits(m, d, splits, split, threads, &z, &y, &n);
    if (!rc && fit_t) rc = a2m_fit_temperature(z, y, n, C, fit_t, NULL, NULL), t = *fit_t;
    if (!rc && !(p = malloc(n * (size_t)C * sizeof *p))) rc = a2m_error(A2M_ERR_NOMEM, "out of memory");
    a2m_reliability r0, r1;
    if (!rc) a2m_softmax_temperature(p, z, n, C, 1.0), rc = a2m_reliability_compute(y, p, n, C, &r0);
    if (!rc) a2m_softmax_temperature(p, z, n, C, t), rc = a2m_reliability_compute(y, p, n, C, &r1);
    if (!rc)
        printf(
            "  %-6s %7zu frames  NLL %.4f -> %.4f  ECE %.4f -> %.4f  (accuracy %.4f, mean confidence %.4f -> %.4f)\n",
            split, n, a2m_nll_temperature(z, y, n, C, 1.0), a2m_nll_temperature(z, y, n, C, t), r0.ece, r1.ece,
            r0.accuracy, r0.mean_confidence, r1.mean_confidence);
    free(z), free(y), free(p);
    return rc;
}

int cmd_calibrate(int argc, char **argv) {
    const char *model = NULL, *ds = NULL, *out = NULL, *split = "val", *check = "test", *splits = CLI_SEED_SPLITS;
    int threads = 1, force = 0;
    const cli_option opts[] = {
        {CLI_STR_OPT("-o", &out), .meta = "OUT", .help = "the model with its temperature", .required = 1},
        {CLI_SPLITS_ROW(&splits)},
        {CLI_STR_OPT("--split", &split), .meta = "NAME", .help = "the split the temperature is fitted on"},
        {CLI_STR_OPT("--check", &check), .meta = "NAME", .help = "the split scored before and after (none: skipped)"},
        {CLI_THREADS_ROW(&threads)},
        {CLI_FLAG_OPT("--force", &force), .help = "replace an existing OUT"},
        {.name = NULL}};
    const cli_spec spec = {"calibrate", usage, {{NULL, opts}}, NULL};
    int rc = cli_parse_req(argc, argv, &spec, (const char **[]){&model, &ds}, 2, 2, "MODEL, DATASET and -o OUT");
    if (rc >= 0 || (rc = cli_check_output(argv[0], &out, (const char *[]){model, ds, splits}, 3, force, 0))) return rc;
    a2m_model *m;
    if ((rc = a2m_model_load(model, NULL, &m))) return cli_lib_fail(rc);
    if (a2m_model_get_info(m)->onset_head) { /* the fit is a softmax over every column; one of them is a sigmoid */
        a2m_model_del(m);
        return cli_fail("%s: a model with an onset head (train --onset-head): temperature scaling is not supported",
                        model);
    }
    a2m_dataset d;
    if ((rc = a2m_model_check_for_audio(m, model)) || (rc = a2m_dataset_load(ds, &d))) {
        a2m_model_del(m);
        return cli_lib_fail(rc);
    }
    if ((rc = a2m_model_check_features(m, d.cqt, d.feat, model)) || (rc = cli_model_classes_cover(m, model, &d, ds))) {
        a2m_dataset_free(&d);
        a2m_model_del(m);
        return cli_lib_fail(rc);
    }
    double t = 1, old = a2m_model_get_info(m)->temperature;
    printf("calibrating %s on %s, split '%s'%s\n", model, ds, split, old != 1.0 ? " (its temperature replaced)" : "");
    rc = report_split(m, &d, splits, split, threads, 1, &t);
    if (!rc && strcmp(check, "none")) rc = report_split(m, &d, splits, check, threads, t, NULL);
    if (!rc)
        printf("temperature %.4f (%s)\n", t, t > 1 ? "the model was overconfident" : "the model was underconfident");
    if (!rc) rc = a2m_model_set_temperature(m, t);
    if (!rc) rc = a2m_model_save(m, out);
    a2m_dataset_free(&d);
    a2m_model_del(m);
    return rc ? cli_lib_fail(rc) : 0;
}
