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
#include "transcribe/window.h"
#include "cli/commands.h"
#include "cli/report.h"

static const char *usage =
    "usage: a2m eval MODEL DATASET [--split test] [--splits SPLIT.json] [--json FILE] [--threads N] [--force]\n"
    "Frame metrics of MODEL on one split of DATASET (scikit-learn's definitions): accuracy, balanced\n"
    "accuracy, macro/weighted F1, per-class precision/recall/F1/support, confusion matrix and the most\n"
    "common confusions; the calibration of the network's probabilities (reliability: frames binned by\n"
    "their top probability, expected and maximum calibration error ECE/MCE, mean confidence vs precision\n"
    "and the variance of p(class) per predicted class, mean entropy); the takes with the lowest accuracy\n"
    "with their most common confusion and the split's accuracy without them. --json adds \"reliability\"\n"
    "and \"per_take\" ({name, frames, accuracy} in dataset order) to the metrics; `a2m plot reliability`\n"
    "draws the reliability diagram from it. --splits defaults to ../shared/data/seed/split.json.\n";

/* one take of the split: its frames in the concatenated arrays */
typedef struct take_stat {
    size_t pos, start, len, dataset_index;
    int64_t correct;
} take_stat;

static double take_acc(const take_stat *t) { return t->len ? (double)t->correct / (double)t->len : 0.0; }

static int by_accuracy(const void *a, const void *b) {
    const take_stat *x = a, *y = b;
    double ax = take_acc(x), ay = take_acc(y);
    if (ax != ay) return ax < ay ? -1 : 1;
    return x->dataset_index < y->dataset_index ? -1 : x->dataset_index > y->dataset_index;
}

static int by_dataset_index(const void *a, const void *b) {
    const take_stat *x = a, *y = b;
    return x->dataset_index < y->dataset_index ? -1 : x->dataset_index > y->dataset_index;
}

/* Prints the worst takes (sorts ts by accuracy), then leaves ts in dataset order. */
static void print_worst_takes(take_stat *ts, size_t n, const a2m_dataset *d, const int64_t *truth, const int64_t *pred,
                              int C, const int *class_notes, size_t frames) {
    int64_t correct = 0;
    for (size_t i = 0; i < n; i++) correct += ts[i].correct;
    qsort(ts, n, sizeof *ts, by_accuracy);
    size_t shown = 0;
    printf("\ntakes with the lowest accuracy (of %zu; split accuracy %.4f):\n", n, frames ? (double)correct / (double)frames : 0.0);
    printf("  %-12s %8s %7s %10s  %s\n", "take", "accuracy", "frames", "without it", "most common confusion");
    for (size_t i = 0; i < n && shown < 5; i++) {
        const take_stat *t = &ts[i];
        if (!t->len) continue;
        static int64_t conf[A2M_MAX_CLASSES][A2M_MAX_CLASSES];
        memset(conf, 0, sizeof conf);
        for (size_t f = t->start; f < t->start + t->len; f++) conf[truth[f]][pred[f]]++;
        int64_t best = 0;
        int br = 0, bc = 0;
        for (int r = 0; r < C; r++)
            for (int c = 0; c < C; c++)
                if (r != c && conf[r][c] > best) best = conf[r][c], br = r, bc = c;
        char what[96] = "none";
        if (best) {
            char a[32], b[32];
            report_class_name(class_notes, br, a, sizeof a);
            report_class_name(class_notes, bc, b, sizeof b);
            snprintf(what, sizeof what, "%s predicted as %s: %lld frame%s", a, b, (long long)best, cli_s((size_t)best));
        }
        size_t rest = frames - t->len;
        char without[16] = "-";
        if (rest) snprintf(without, sizeof without, "%.4f", (double)(correct - t->correct) / (double)rest);
        printf("  %-12s %8.4f %7zu %10s  %s\n", d->names[t->dataset_index], take_acc(t), t->len, without, what);
        shown++;
    }
    if (!shown) printf("  none\n");
    qsort(ts, n, sizeof *ts, by_dataset_index);
}

int cmd_eval(int argc, char **argv) {
    const char *model = NULL, *ds = NULL, *split = "test", *splits = "../shared/data/seed/split.json", *json = NULL, *v;
    int threads = 1, force = 0;
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
        } else if (!strcmp(argv[i], "--force")) force = 1;
        else if (argv[i][0] == '-') return cli_usage_error(argv[0], "unknown option %s", argv[i]);
        else if (!model) model = argv[i];
        else if (!ds) ds = argv[i];
        else return cli_usage_error(argv[0], "too many arguments");
    }
    if (!model || !ds) return cli_usage_error(argv[0], "needs MODEL and DATASET");
    if (json && strcmp(json, "-")) { /* "-": the JSON alone on standard output */
        int crc = cli_check_output(argv[0], &json, (const char *[]){model, ds, splits}, 3, force, 0);
        if (crc) return crc;
    }
    a2m_model *m;
    int rc = a2m_model_load(model, NULL, &m);
    if (!rc && (rc = a2m_model_check_for_audio(m, model))) a2m_model_free(m);
    if (rc) return cli_lib_fail(rc);
    a2m_dataset d;
    rc = a2m_dataset_load(ds, &d);
    if (rc) {
        a2m_model_free(m);
        return cli_lib_fail(rc);
    }
    if ((rc = a2m_model_check_features(m, d.cqt, d.feat, model))) {
        a2m_dataset_free(&d);
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
    int C = in->n_classes;
    int64_t *pred = rc ? NULL : malloc((frames + 1) * sizeof *pred), *truth = rc ? NULL : malloc((frames + 1) * sizeof *truth);
    float *probs = rc ? NULL : malloc((frames + 1) * (size_t)C * sizeof *probs);
    take_stat *ts = rc ? NULL : calloc(n + 1, sizeof *ts);
    if (!rc && (!pred || !truth || !probs || !ts)) rc = a2m_error(A2M_ERR_NOMEM, "out of memory");
    if (!rc) rc = a2m_model_predict_takes(m, &d, idx, n, threads, pred, probs);
    /* a model's onset class is a segmentation cue: against labels without one, an onset frame counts as its note */
    int onset = transcribe_onset_class(in->class_notes, C);
    if (!rc && onset >= 0 && d.labels_p.onset_frames == 0)
        for (size_t f = 0; f < frames; f++) pred[f] = transcribe_frame_class(probs + f * C, C, onset);
    a2m_frame_metrics fm;
    a2m_reliability rel;
    if (!rc) {
        size_t pos = 0;
        for (size_t i = 0; i < n; i++) {
            size_t len = d.offsets[idx[i] + 1] - d.offsets[idx[i]];
            memcpy(truth + pos, d.labels + d.offsets[idx[i]], len * sizeof *truth);
            ts[i] = (take_stat){i, pos, len, idx[i], 0};
            for (size_t f = pos; f < pos + len; f++) ts[i].correct += truth[f] == pred[f];
            pos += len;
        }
        rc = a2m_frame_metrics_compute(truth, pred, frames, C, &fm);
    }
    if (!rc) rc = a2m_reliability_compute(truth, probs, frames, C, &rel);
    if (!rc) {
        printf("model %s on %s, split '%s': %zu take%s, %zu frame%s\n\n", model, ds, split, n, cli_s(n), frames, cli_s(frames));
        report_print_frame_metrics(stdout, &fm, in->class_notes);
        report_print_reliability(stdout, &rel, in->class_notes);
        print_worst_takes(ts, n, &d, truth, pred, C, in->class_notes, frames);
        if (json) {
            json_t *o = report_frame_metrics_json(&fm, in->class_notes);
            json_object_set_new(o, "split", json_string(split));
            json_object_set_new(o, "model", json_string(model));
            json_object_set_new(o, "n_takes", json_integer((json_int_t)n));
            json_object_set_new(o, "reliability", report_reliability_json(&rel));
            json_t *per = json_array();
            for (size_t i = 0; i < n; i++)
                json_array_append_new(per, json_pack("{s:s,s:I,s:o}", "name", d.names[ts[i].dataset_index], "frames",
                                                     (json_int_t)ts[i].len,
                                                     "accuracy", ts[i].len ? json_real(take_acc(&ts[i])) : json_null()));
            json_object_set_new(o, "per_take", per);
            rc = report_write_json(json, o);
            json_decref(o);
        }
    }
    free(pred), free(truth), free(probs), free(ts), free(idx);
    a2m_dataset_free(&d);
    a2m_model_free(m);
    return rc ? cli_lib_fail(rc) : 0;
}
