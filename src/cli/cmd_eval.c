#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "a2m/dataset.h"
#include "a2m/error.h"
#include "a2m/io.h"
#include "a2m/metrics.h"
#include "a2m/train.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/report.h"

static const char *usage =
    "usage: a2m eval MODEL DATASET [--split test] [--splits SPLIT.json] [--json FILE] [--threads N]\n"
    "Frame metrics of MODEL on one split of DATASET (scikit-learn's definitions): accuracy, balanced\n"
    "accuracy, macro/weighted F1, per-class precision/recall/F1/support, confusion matrix and the most\n"
    "common confusions. --splits defaults to ../shared/data/seed/split.json.\n";

int cmd_eval(int argc, char **argv) {
    const char *model = NULL, *ds = NULL, *split = "test", *splits = "../shared/data/seed/split.json", *json = NULL, *v;
    int threads = 1;
    for (int i = 1; i < argc; i++) {
        int r;
        if (cli_is_help(argv[i])) {
            fputs(usage, stdout);
            return 0;
        } else if ((r = cli_opt(argc, argv, &i, "--split", &v))) { if (r < 0) return 2; split = v; }
        else if ((r = cli_opt(argc, argv, &i, "--splits", &v))) { if (r < 0) return 2; splits = v; }
        else if ((r = cli_opt(argc, argv, &i, "--json", &v))) { if (r < 0) return 2; json = v; }
        else if ((r = cli_opt(argc, argv, &i, "--threads", &v))) {
            if (r < 0 || !cli_parse_int(argv[0], "--threads", v, 1, 256, &threads)) return 2;
        } else if (argv[i][0] == '-') return cli_usage_error(argv[0], "unknown option %s", argv[i]);
        else if (!model) model = argv[i];
        else if (!ds) ds = argv[i];
        else return cli_usage_error(argv[0], "too many arguments");
    }
    if (!model || !ds) return cli_usage_error(argv[0], "needs MODEL and DATASET");
    a2m_model *m;
    int rc = a2m_model_load(model, NULL, &m);
    if (rc) return cli_lib_fail(rc);
    a2m_dataset d;
    rc = a2m_dataset_load(ds, &d);
    if (rc) {
        a2m_model_free(m);
        return cli_lib_fail(rc);
    }
    const a2m_model_info *in = a2m_model_get_info(m);
    if (fabs(in->norm_mean - d.mean) > 1e-3 || fabs(in->norm_std - d.std) > 1e-3)
        cli_warn("model normalisation (%.4f, %.4f) differs from the dataset's (%.4f, %.4f); using the model's",
                 in->norm_mean, in->norm_std, d.mean, d.std);
    size_t *idx = NULL, n = 0;
    rc = a2m_split_load(splits, split, &d, &idx, &n);
    size_t frames = 0;
    for (size_t i = 0; !rc && i < n; i++) frames += d.offsets[idx[i] + 1] - d.offsets[idx[i]];
    int64_t *pred = rc ? NULL : malloc((frames + 1) * sizeof *pred), *truth = rc ? NULL : malloc((frames + 1) * sizeof *truth);
    if (!rc && (!pred || !truth)) rc = a2m_error(A2M_ERR_NOMEM, "out of memory");
    if (!rc) rc = a2m_model_predict_takes(m, &d, idx, n, threads, pred, NULL);
    a2m_frame_metrics fm;
    if (!rc) {
        size_t pos = 0;
        for (size_t i = 0; i < n; i++) {
            size_t len = d.offsets[idx[i] + 1] - d.offsets[idx[i]];
            memcpy(truth + pos, d.labels + d.offsets[idx[i]], len * sizeof *truth);
            pos += len;
        }
        rc = a2m_frame_metrics_compute(truth, pred, frames, in->n_classes, &fm);
    }
    if (!rc) {
        printf("model %s on %s, split '%s': %zu takes, %zu frames\n\n", model, ds, split, n, frames);
        report_print_frame_metrics(stdout, &fm, in->class_notes);
        if (json) {
            json_t *o = report_frame_metrics_json(&fm, in->class_notes);
            json_object_set_new(o, "split", json_string(split));
            json_object_set_new(o, "model", json_string(model));
            json_object_set_new(o, "n_takes", json_integer((json_int_t)n));
            rc = report_write_json(json, o);
            json_decref(o);
        }
    }
    free(pred), free(truth), free(idx);
    a2m_dataset_free(&d);
    a2m_model_free(m);
    return rc ? cli_lib_fail(rc) : 0;
}
