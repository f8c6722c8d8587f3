#include <cblas.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "a2m/baseline.h"
#include "a2m/error.h"
#include "cli/baseline.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/opts.h"

static const char *usage =
    "usage: a2m linear DATASET [--splits SPLIT.json] [--split NAME] [--features KIND] [--context C] [--pca D]\n"
    "               [--epochs N] [--batch N] [--lr X] [--l2 X] [--seed S] [--json FILE] [--force]\n"
    "Multinomial logistic regression on frames (the original's linear prediction model): class\n"
    "probabilities softmax(W x + b) of each frame's values x, each value standardised by the training\n"
    "frames' mean and deviation, trained by a2m with mini-batch Adam on cross-entropy + l2/2 |W|^2 on the\n"
    "\"train\" split; the epoch with the best \"val\" accuracy is kept. --context C stacks C frames each side,\n"
    "--pca D keeps D principal axes, --features KIND checks the dataset's kind (cqt, mel, mfcc, lpc: LPC\n"
    "coefficients are what `a2m dataset --kind lpc` stores). Prints `a2m eval`'s frame metrics on the split\n"
    "(--split) and the time to train and to predict; --json FILE as `a2m knn`.\n";

typedef struct lin_opts {
    bl_args a;
    a2m_logreg_params p;
} lin_opts;

static int parse(int argc, char **argv, lin_opts *o) {
    *o = (lin_opts){BL_ARGS_DEFAULT, a2m_logreg_default_params()};
    const cli_option opts[] = {
        BL_OPTION_ROWS(&o->a, &o->p.n_threads),
        {CLI_INT_OPT("--epochs", &o->p.epochs, 1, 100000), .meta = "N", .help = "epochs"},
        {CLI_INT_OPT("--batch", &o->p.batch, 1, 1 << 20), .meta = "N", .help = "frames per mini-batch"},
        {CLI_DBL_OPT("--lr", &o->p.lr, 1e-9, 10), .meta = "X", .help = "Adam's learning rate"},
        {CLI_DBL_OPT("--l2", &o->p.l2, 0, 100), .meta = "X", .help = "weight decay: loss += l2/2 |W|^2"},
        {CLI_U64_OPT("--seed", &o->p.seed, 0, 2147483647), .meta = "S", .help = "the shuffle of each epoch"},
        {.name = NULL}};
    const cli_spec spec = {"linear", usage, {{NULL, opts}}, NULL};
    return bl_parse(argc, argv, &spec, &o->a);
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
    if ((rc = bl_load(o.a.ds, o.a.splits, o.a.split, o.a.kind, o.a.context, &b)) || (t0 = bl_now(), 0) ||
        (rc = bl_map(&b, 1, o.a.pca, o.p.n_threads, &map))) {
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
             o.a.context, o.a.pca ? "PCA to " : "", b.dim, best, o.p.epochs, o.a.ds);
    json_t *extra =
        json_pack("{s:s,s:s,s:i,s:i,s:i,s:f,s:i,s:i,s:f,s:f,s:I,s:f,s:f}", "classifier", "logistic", "dataset", o.a.ds,
                  "context", o.a.context, "pca", o.a.pca, "dim", b.dim, "explained_variance", map.explained, "epochs",
                  o.p.epochs, "best_epoch", best, "lr", o.p.lr, "l2", o.p.l2, "train_frames", (json_int_t)b.n[BL_TRAIN],
                  "seconds_train", t1 - t0, "seconds_predict", t2 - t1);
    rc = bl_report(&b, title, pred, o.a.json, extra);
    if (!rc && (!o.a.json || strcmp(o.a.json, "-")))
        printf("\ntime: %.2f s to train (standardise, %d epochs), %.3f s to predict %zu frames\n", t1 - t0, o.p.epochs,
               t2 - t1, b.n[BL_EVAL]);
    free(pred), a2m_logreg_free(&m), bl_free(&b), a2m_frame_map_free(&map);
    return rc;
}
