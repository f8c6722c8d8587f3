#include <cblas.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "a2m/baseline.h"
#include "a2m/error.h"
#include "cli/baseline.h"
#include "cli/cli.h"
#include "cli/commands.h"

static const char *usage =
    "usage: a2m linear DATASET [--splits SPLIT.json] [--split test] [--features KIND] [--context C] [--pca D]\n"
    "               [--epochs 30] [--batch 256] [--lr 0.01] [--l2 1e-4] [--seed 0] [--json FILE] [--force]\n"
    "Multinomial logistic regression on frames (the original's linear prediction model): class\n"
    "probabilities softmax(W x + b) of each frame's values x, each value standardised by the training\n"
    "frames' mean and deviation, trained by a2m with mini-batch Adam on cross-entropy + l2/2 |W|^2 on the\n"
    "\"train\" split; the epoch with the best \"val\" accuracy is kept. --context C stacks C frames each side,\n"
    "--pca D keeps D principal axes, --features KIND checks the dataset's kind (cqt, mel, mfcc, lpc: LPC\n"
    "coefficients are what `a2m dataset --kind lpc` stores). Prints `a2m eval`'s frame metrics on the split\n"
    "(default test) and the time to train and to predict; --json FILE as `a2m knn`.\n";

typedef struct lin_opts {
    const char *ds, *splits, *split, *kind, *json;
    int context, pca, force;
    a2m_logreg_params p;
} lin_opts;

static int parse_num(int argc, char **argv, int *i, lin_opts *o, int *r) {
    const char *v, *cmd = argv[0];
    double d;
    int n;
    if ((*r = cli_opt(argc, argv, i, "--epochs", &v))) return *r < 0 || !cli_parse_int(cmd, "--epochs", v, 1, 100000, &o->p.epochs);
    if ((*r = cli_opt(argc, argv, i, "--batch", &v))) return *r < 0 || !cli_parse_int(cmd, "--batch", v, 1, 1 << 20, &o->p.batch);
    if ((*r = cli_opt(argc, argv, i, "--lr", &v))) return *r < 0 || !cli_parse_double(cmd, "--lr", v, 1e-9, 10, &o->p.lr);
    if ((*r = cli_opt(argc, argv, i, "--l2", &v))) return *r < 0 || !cli_parse_double(cmd, "--l2", v, 0, 100, &o->p.l2);
    if ((*r = cli_opt(argc, argv, i, "--seed", &v))) {
        if (*r < 0 || !cli_parse_int(cmd, "--seed", v, 0, 2147483647, &n)) return 1;
        o->p.seed = (uint64_t)n;
        return 0;
    }
    if ((*r = cli_opt(argc, argv, i, "--threads", &v))) return *r < 0 || !cli_parse_int(cmd, "--threads", v, 1, 256, &o->p.n_threads);
    if ((*r = cli_opt(argc, argv, i, "--context", &v))) return *r < 0 || !cli_parse_int(cmd, "--context", v, 0, 100, &o->context);
    if ((*r = cli_opt(argc, argv, i, "--pca", &v))) return *r < 0 || !cli_parse_int(cmd, "--pca", v, 1, 100000, &o->pca);
    (void)d;
    return 0;
}

static int parse(int argc, char **argv, lin_opts *o) {
    *o = (lin_opts){NULL, "../shared/data/seed/split.json", "test", NULL, NULL, 0, 0, 0, a2m_logreg_default_params()};
    const char *v, *cmd = argv[0];
    for (int i = 1; i < argc; i++) {
        int r;
        if (cli_is_help(argv[i])) {
            fputs(usage, stdout);
            return -1;
        } else if (parse_num(argc, argv, &i, o, &r)) return 2;
        else if (r) continue;
        else if ((r = cli_opt(argc, argv, &i, "--splits", &v))) { if (r < 0) return 2; o->splits = v; }
        else if ((r = cli_opt(argc, argv, &i, "--split", &v))) { if (r < 0) return 2; o->split = v; }
        else if ((r = cli_opt(argc, argv, &i, "--features", &v))) { if (r < 0) return 2; o->kind = v; }
        else if ((r = cli_opt(argc, argv, &i, "--json", &v))) { if (r < 0) return 2; o->json = v; }
        else if (!strcmp(argv[i], "--force")) o->force = 1;
        else if (argv[i][0] == '-') return cli_usage_error(cmd, "unknown option %s", argv[i]);
        else if (!o->ds) o->ds = argv[i];
        else return cli_usage_error(cmd, "too many arguments");
    }
    if (!o->ds) return cli_usage_error(cmd, "needs DATASET");
    if (o->kind && strcmp(o->kind, "cqt") && strcmp(o->kind, "mel") && strcmp(o->kind, "mfcc") && strcmp(o->kind, "lpc"))
        return cli_usage_error(cmd, "--features %s: must be cqt, mel, mfcc or lpc", o->kind);
    if (o->json && strcmp(o->json, "-"))
        return cli_check_output(cmd, &o->json, (const char *[]){o->ds, o->splits}, 2, o->force, 0);
    return 0;
}

static void on_epoch(void *user, int epoch, int epochs, double loss, double val_acc) {
    char extra[96];
    snprintf(extra, sizeof extra, "loss %.4f, val accuracy %.4f", loss, val_acc);
    cli_progress_update(user, (size_t)epoch, extra);
    (void)epochs;
}

int cmd_linear(int argc, char **argv) {
    lin_opts o;
    int rc = parse(argc, argv, &o);
    if (rc) return rc < 0 ? 0 : rc;
    openblas_set_num_threads(1); /* small GEMMs: one thread is fastest, and the figures repeat */
    bl_data b;
    a2m_frame_map map = {0};
    double t0 = 0;
    if ((rc = bl_load(o.ds, o.splits, o.split, o.kind, o.context, &b)) || (t0 = bl_now(), 0) ||
        (rc = bl_map(&b, 1, o.pca, o.p.n_threads, &map))) {
        bl_free(&b);
        return rc;
    }
    a2m_logreg m = {0};
    int best = 0;
    cli_progress *bar = cli_progress_new("linear", (size_t)o.p.epochs);
    rc = a2m_logreg_train(b.x[BL_TRAIN], b.y[BL_TRAIN], b.n[BL_TRAIN], b.n[BL_VAL] ? b.x[BL_VAL] : NULL, b.y[BL_VAL],
                          b.n[BL_VAL], b.dim, b.n_classes, o.p, on_epoch, bar, &m, &best);
    if (rc) cli_progress_free(bar);
    else cli_progress_done(bar, NULL);
    double t1 = bl_now();
    int64_t *pred = rc ? NULL : malloc((b.n[BL_EVAL] + 1) * sizeof *pred);
    if (!rc && !pred) rc = a2m_error(A2M_ERR_NOMEM, "out of memory");
    if (!rc) rc = a2m_logreg_predict(&m, b.x[BL_EVAL], b.n[BL_EVAL], pred, NULL);
    double t2 = bl_now();
    if (rc) {
        free(pred), a2m_logreg_free(&m), bl_free(&b), a2m_frame_map_free(&map);
        return cli_lib_fail(rc);
    }
    char title[512];
    snprintf(title, sizeof title, "logistic regression (context %d, %s%d values per frame, best epoch %d of %d) on %s",
             o.context, o.pca ? "PCA to " : "", b.dim, best, o.p.epochs, o.ds);
    json_t *extra = json_pack("{s:s,s:s,s:i,s:i,s:i,s:f,s:i,s:i,s:f,s:f,s:I,s:f,s:f}", "classifier", "logistic",
                              "dataset", o.ds, "context", o.context, "pca", o.pca, "dim", b.dim, "explained_variance",
                              map.explained, "epochs", o.p.epochs, "best_epoch", best, "lr", o.p.lr, "l2", o.p.l2,
                              "train_frames", (json_int_t)b.n[BL_TRAIN], "seconds_train", t1 - t0, "seconds_predict",
                              t2 - t1);
    rc = bl_report(&b, title, pred, o.json, extra);
    if (!rc && (!o.json || strcmp(o.json, "-")))
        printf("\ntime: %.2f s to train (standardise, %d epochs), %.3f s to predict %zu frames\n", t1 - t0, o.p.epochs,
               t2 - t1, b.n[BL_EVAL]);
    free(pred), a2m_logreg_free(&m), bl_free(&b), a2m_frame_map_free(&map);
    return rc;
}
