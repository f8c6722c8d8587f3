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
#include "transcribe/fold.h"
#include "transcribe/window.h"
#include "cli/commands.h"
#include "cli/members.h"
#include "cli/opts.h"
#include "cli/report.h"
#include "a2m/uncertainty.h"

static const char *usage =
    "usage: a2m eval MODEL DATASET [--split NAME] [--splits SPLIT.json] [--json FILE] [--threads N] [--force]\n"
    "                [--mc-dropout T] [--seed S]\n"
    "       a2m eval DATASET --ensemble M1,M2,... [same options]\n"
    "Frame metrics of MODEL on one split of DATASET (scikit-learn's definitions): accuracy, balanced\n"
    "accuracy, macro/weighted F1, per-class precision/recall/F1/support, confusion matrix and the most\n"
    "common confusions; the calibration of the network's probabilities (reliability: frames binned by\n"
    "their top probability, expected and maximum calibration error ECE/MCE, mean confidence vs precision\n"
    "and the variance of p(class) per predicted class, mean entropy); the takes with the lowest accuracy\n"
    "with their most common confusion and the split's accuracy without them. --json adds \"reliability\"\n"
    "and \"per_take\" ({name, frames, accuracy} in dataset order) to the metrics; `a2m plot reliability`\n"
    "draws the reliability diagram from it.\n"
    "Errors are split into pitch errors and voicing errors at a note's onset or offset, missed or extra\n"
    "(\"error_split\" in --json). The probabilities are the mean over samples: the models of --ensemble, each\n"
    "run T times with --mc-dropout T (dropout kept on, masks from --seed; the model must have\n"
    "been trained with --dropout), or the one model once. For each uncertainty measure (max probability,\n"
    "predictive entropy, variance of p(class), mutual information) the AUROC of detecting a wrong frame and\n"
    "the empirical CDFs for right and wrong frames go into --json as \"uncertainty\" (`a2m plot uncertainty`).\n"
    "A model's temperature (a2m calibrate) is applied to its probabilities.\n";

/* one take of the split: its frames in the concatenated arrays */
typedef struct take_stat {
    size_t pos, start, len, dataset_index;
    int64_t correct;
} take_stat;

static double take_acc(const take_stat *t) { return t->len ? (double)t->correct / (double)t->len : 0.0; }

static int by_dataset_index(const void *a, const void *b) {
    const take_stat *x = a, *y = b;
    return x->dataset_index < y->dataset_index ? -1 : x->dataset_index > y->dataset_index;
}

/* Prints the five takes with the lowest accuracy (a2m_worst_takes: of equals, the first of ts, in dataset order). */
static void print_worst_takes(take_stat *ts, size_t n, const a2m_dataset *d, const int64_t *truth, const int64_t *pred,
                              int C, const int *class_notes, size_t frames) {
    int64_t correct = 0;
    double *acc = malloc((n + 1) * sizeof *acc);
    size_t order[5], shown = 0;
    for (size_t i = 0; i < n; i++) correct += ts[i].correct;
    for (size_t i = 0; acc && i < n; i++) acc[i] = ts[i].len ? take_acc(&ts[i]) : NAN;
    size_t n_worst = acc ? a2m_worst_takes(acc, n, 5, order) : 0;
    free(acc);
    printf("\ntakes with the lowest accuracy (of %zu; split accuracy %.4f):\n", n,
           frames ? (double)correct / (double)frames : 0.0);
    printf("  %-12s %8s %7s %10s  %s\n", "take", "accuracy", "frames", "without it", "most common confusion");
    for (size_t w = 0; w < n_worst; w++) {
        const take_stat *t = &ts[order[w]];
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
}

typedef struct eval_opts {
    const char *model, *ds, *split, *splits, *json, *ensemble;
    int threads, force, mc;
    unsigned long long seed;
    int quiet;               /* nothing printed: the JSON alone (cli_eval_json) */
    unsigned char notes[16]; /* --notes: the notes allowed (transcribe/fold.h), all clear: every one */
} eval_opts;

/* 0, -1 after --help, or the exit code of a usage error */
static int parse_eval(int argc, char **argv, eval_opts *o) {
    *o = (eval_opts){NULL, NULL, "test", "../shared/data/seed/split.json", NULL, NULL, 1, 0, 0, 0, 0, {0}};
    const cli_option opts[] = {
        {CLI_STR_OPT("--split", &o->split), .meta = "NAME", .help = "the split evaluated"},
        {CLI_SPLITS_ROW(&o->splits)},
        {CLI_STR_OPT("--json", &o->json), .meta = "FILE",
         .help = "also write the metrics as JSON (- = standard output alone)"},
        {CLI_STR_OPT("--ensemble", &o->ensemble), .meta = "M1,M2,...",
         .help = "the mean of several models (instead of MODEL)"},
        {CLI_CUSTOM_OPT("--notes", o->notes, cli_opt_note_set, cli_show_note_set), .meta = "LIST",
         .help = "the notes allowed, as `a2m transcribe --notes`: each frame's other pitches count as\n"
                 "the nearest allowed one before its class is read"},
        {CLI_THREADS_ROW(&o->threads)},
        {CLI_INT_OPT("--mc-dropout", &o->mc, 1, 1000), .meta = "T", .nodef = 1,
         .help = "Monte-Carlo dropout: the mean of T passes with dropout kept on"},
        {CLI_ULL_OPT("--seed", &o->seed, 0, 2147483647), .meta = "S", .help = "the Monte-Carlo dropout masks"},
        {CLI_FLAG_OPT("--force", &o->force), .help = "replace an existing --json file"},
        {.name = NULL}};
    const cli_spec spec = {"eval", usage, {{NULL, opts}}, NULL};
    int n_pos, rc = cli_parse(argc, argv, &spec, &n_pos);
    if (rc >= 0) return rc ? rc : -1;
    if (n_pos > 2) return cli_usage_error(argv[0], "too many arguments");
    if (o->ensemble && n_pos == 2)
        return cli_usage_error(argv[0], "--ensemble replaces MODEL: a2m eval DATASET --ensemble M1,M2");
    if (o->ensemble) o->ds = n_pos ? argv[1] : NULL;
    else o->model = n_pos ? argv[1] : NULL, o->ds = n_pos > 1 ? argv[2] : NULL;
    if ((!o->model && !o->ensemble) || !o->ds) return cli_usage_error(argv[0], "needs MODEL and DATASET");
    return 0;
}

static json_t *error_split_json(const a2m_error_split *e) {
    return json_pack("{s:I,s:I,s:I,s:{s:I,s:I,s:I,s:I}}", "frames", (json_int_t)e->frames, "errors",
                     (json_int_t)e->errors, "pitch", (json_int_t)e->pitch, "voicing", "onset", (json_int_t)e->onset,
                     "offset", (json_int_t)e->offset, "missed", (json_int_t)e->missed, "extra", (json_int_t)e->extra);
}

static void print_error_split(const a2m_error_split *e) {
    double n = e->frames ? (double)e->frames : 1;
    printf(
        "\nerrors: %zu of %zu frames (%.2f%%): pitch %zu (%.2f%%); voicing: onset %zu (%.2f%%), offset %zu (%.2f%%), "
        "missed %zu (%.2f%%), extra %zu (%.2f%%)\n",
        e->errors, e->frames, 100 * e->errors / n, e->pitch, 100 * e->pitch / n, e->onset, 100 * e->onset / n,
        e->offset, 100 * e->offset / n, e->missed, 100 * e->missed / n, e->extra, 100 * e->extra / n);
}

/* everything eval computes from the predictions, printed and (with --json) written */
static int eval_report(const eval_opts *o, const cli_members *e, const a2m_dataset *d, take_stat *ts, size_t n,
                       const int64_t *truth, const int64_t *pred, const float *probs, const float *measures,
                       size_t frames) {
    const a2m_model_info *in = a2m_model_get_info(e->m[0]);
    int C = in->n_classes;
    a2m_frame_metrics fm;
    a2m_reliability rel;
    a2m_error_split es = {0};
    for (size_t i = 0; i < n; i++) a2m_error_split_add(truth + ts[i].start, pred + ts[i].start, ts[i].len, &es);
    int rc = a2m_frame_metrics_compute(truth, pred, frames, C, &fm);
    if (!rc) rc = a2m_reliability_compute(truth, probs, frames, C, &rel);
    json_t *u = rc ? NULL : cli_uncertainty_json(e, truth, pred, measures, frames, 101);
    if (!rc && !u) rc = a2m_error(A2M_ERR_NOMEM, "out of memory");
    if (rc) return rc;
    const char *name = o->model ? o->model : o->ensemble;
    qsort(ts, n, sizeof *ts, by_dataset_index); /* per_take in dataset order */
    if (!o->quiet) {
        printf("%s %s on %s, split '%s': %zu take%s, %zu frame%s\n\n", o->model ? "model" : "ensemble", name, o->ds,
               o->split, n, cli_s(n), frames, cli_s(frames));
        report_print_frame_metrics(stdout, &fm, in->class_notes);
        report_print_reliability(stdout, &rel, in->class_notes);
        print_error_split(&es);
        cli_uncertainty_print(stdout, u);
        print_worst_takes(ts, n, d, truth, pred, C, in->class_notes, frames);
    }
    if (o->json) {
        json_t *j = report_frame_metrics_json(&fm, in->class_notes);
        json_object_set_new(j, "split", json_string(o->split));
        json_object_set_new(j, "model", json_string(name));
        json_object_set_new(j, "n_takes", json_integer((json_int_t)n));
        json_object_set_new(j, "reliability", report_reliability_json(&rel));
        json_object_set_new(j, "temperature", json_real(in->temperature));
        json_object_set_new(j, "error_split", error_split_json(&es));
        json_object_set_new(j, "uncertainty", json_incref(u));
        json_t *per = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(per, json_pack("{s:s,s:I,s:o}", "name", d->names[ts[i].dataset_index], "frames",
                                                 (json_int_t)ts[i].len, "accuracy",
                                                 ts[i].len ? json_real(take_acc(&ts[i])) : json_null()));
        json_object_set_new(j, "per_take", per);
        rc = report_write_json(o->json, j);
        json_decref(j);
    }
    json_decref(u);
    return rc;
}

static int eval_run(const eval_opts *o, const cli_members *e, const a2m_dataset *d) {
    const a2m_model_info *in = a2m_model_get_info(e->m[0]);
    for (int k = 0; k < e->n; k++) {
        int rc = a2m_model_check_features(e->m[k], d->cqt, d->feat, e->path[k]); /* the features it was trained on */
        if (!rc) rc = cli_model_classes_cover(e->m[k], e->path[k], d, o->ds);
        if (rc) return rc;
        const a2m_model_info *mi = a2m_model_get_info(e->m[k]);
        if (fabs(mi->norm_mean - d->mean) > 1e-3 || fabs(mi->norm_std - d->std) > 1e-3)
            cli_warn("%s: model normalisation (%.4f, %.4f) differs from the dataset's (%.4f, %.4f); using the model's",
                     e->path[k], mi->norm_mean, mi->norm_std, d->mean, d->std);
    }
    transcribe_fold fold; /* --notes the model cannot say: before the work */
    if (transcribe_fold_init(&fold, o->notes, in->class_notes, in->n_classes)) {
        char why[256];
        snprintf(why, sizeof why, "%s", a2m_errmsg());
        return a2m_error(A2M_ERR_ARG, "%s: --notes: %s", e->path[0], why);
    }
    size_t *idx = NULL, n = 0;
    int rc = a2m_split_load(o->splits, o->split, d, &idx, &n);
    size_t frames = 0;
    for (size_t i = 0; !rc && i < n; i++) frames += d->offsets[idx[i] + 1] - d->offsets[idx[i]];
    int C = in->n_classes;
    int64_t *pred = rc ? NULL : malloc((frames + 1) * sizeof *pred),
            *truth = rc ? NULL : malloc((frames + 1) * sizeof *truth);
    float *probs = rc ? NULL : malloc((frames + 1) * (size_t)C * sizeof *probs);
    float *measures = rc ? NULL : malloc((frames + 1) * A2M_UNC_MEASURES * sizeof *measures);
    take_stat *ts = rc ? NULL : calloc(n + 1, sizeof *ts);
    if (!rc && (!pred || !truth || !probs || !ts || !measures)) rc = a2m_error(A2M_ERR_NOMEM, "out of memory");
    if (!rc) rc = cli_members_predict(e, d, idx, n, frames, o->threads, probs, measures);
    for (size_t f = 0; !rc && f < frames; f++) transcribe_fold_frame(&fold, probs + f * C, C);
    /* a model's onset class is a segmentation cue: against labels without one, an onset frame counts as its note */
    int onset = transcribe_onset_class(in->class_notes, C);
    if (d->labels_p.onset_frames > 0 && !in->onset_head) onset = -1; /* labels with the onset class: plain argmax */
    for (size_t f = 0; !rc && f < frames; f++) pred[f] = transcribe_frame_class(probs + f * C, C, onset);
    for (size_t i = 0, pos = 0; !rc && i < n; i++) {
        size_t len = d->offsets[idx[i] + 1] - d->offsets[idx[i]];
        memcpy(truth + pos, d->labels + d->offsets[idx[i]], len * sizeof *truth);
        ts[i] = (take_stat){i, pos, len, idx[i], 0};
        for (size_t f = pos; f < pos + len; f++) ts[i].correct += truth[f] == pred[f];
        pos += len;
    }
    if (!rc) rc = eval_report(o, e, d, ts, n, truth, pred, probs, measures, frames);
    free(pred), free(truth), free(probs), free(measures), free(ts), free(idx);
    return rc;
}

int cmd_eval(int argc, char **argv) {
    eval_opts o;
    int rc = parse_eval(argc, argv, &o);
    if (rc) return rc < 0 ? 0 : rc;
    cli_members e;
    if ((rc = cli_members_load(&e, argv[0], o.model, o.ensemble, o.mc, o.seed))) {
        cli_members_free(&e);
        return rc;
    }
    if (o.json && strcmp(o.json, "-")) { /* "-": the JSON alone on standard output */
        const char *ins[CLI_MAX_MEMBERS + 2] = {o.ds, o.splits};
        for (int k = 0; k < e.n; k++) ins[2 + k] = e.path[k];
        rc = cli_check_output(argv[0], &o.json, ins, 2 + e.n, o.force, 0);
    }
    a2m_dataset d;
    if (!rc && (rc = a2m_dataset_load(o.ds, &d))) rc = cli_lib_fail(rc);
    else if (!rc) {
        rc = eval_run(&o, &e, &d);
        if (rc) rc = cli_lib_fail(rc);
        a2m_dataset_free(&d);
    }
    cli_members_free(&e);
    return rc;
}

/* What `a2m eval MODEL DATASET --split S --splits F --json PATH` writes, printing nothing: report's eval.json.
 * Returns the exit code (failures said in one line). */
int cli_eval_json(const char *model, const char *ds, const char *split, const char *splits, const char *json) {
    eval_opts o = {model, ds, split, splits, json, NULL, 1, 1, 0, 0, 1, {0}};
    cli_members e;
    int rc = cli_members_load(&e, "report", model, NULL, 0, 0);
    if (rc) {
        cli_members_free(&e);
        return rc;
    }
    a2m_dataset d;
    if (!(rc = a2m_dataset_load(ds, &d))) {
        rc = eval_run(&o, &e, &d);
        a2m_dataset_free(&d);
    }
    cli_members_free(&e);
    return rc ? cli_lib_fail(rc) : 0;
}
