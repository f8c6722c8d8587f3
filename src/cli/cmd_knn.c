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
    "usage: a2m knn DATASET [--splits SPLIT.json] [--split NAME] [--features KIND] [--k K] [--context C]\n"
    "               [--pca D] [--threads N] [--json FILE] [--force]\n"
    "k-nearest-neighbour frame classifier (scikit-learn's KNeighborsClassifier: Euclidean distance, uniform\n"
    "votes, ties to the smallest class): every frame of the split (--split) takes the class most of its\n"
    "K nearest training frames have. Exact search: distances by BLAS GEMM in tiles (memory bounded whatever\n"
    "the training size). --context C stacks C frames each side (within a take); --pca D keeps the D leading\n"
    "principal axes of the training frames; without --k, k is the one of 1,3,5,...,31,45,63,91,127 with the\n"
    "best accuracy on the \"val\" split (ties: the smaller k). --features KIND: the dataset must hold that kind\n"
    "of features (cqt, mel, mfcc, lpc). Prints `a2m eval`'s frame metrics and the time to fit and to predict;\n"
    "--json FILE (\"-\": standard output) writes them with eval's fields plus k, the validation accuracy of each\n"
    "k tried, seconds_train, seconds_predict.\n";

static const int k_grid[] = {1, 3, 5, 7, 9, 11, 15, 21, 31, 45, 63, 91, 127};
enum { N_GRID = sizeof k_grid / sizeof k_grid[0] };

typedef struct knn_opts {
    bl_args a;
    int k, threads;
} knn_opts;

static int parse(int argc, char **argv, knn_opts *o) {
    *o = (knn_opts){BL_ARGS_DEFAULT, 0, 1};
    const cli_option opts[] = {BL_OPTION_ROWS(&o->a, &o->threads),
                               {CLI_INT_OPT("--k", &o->k, 1, 1000), .meta = "K", .nodef = 1,
                                .help = "neighbours (not given: chosen on the \"val\" split)"},
                               {.name = NULL}};
    const cli_spec spec = {"knn", usage, {{NULL, opts}}, NULL};
    return bl_parse(argc, argv, &spec, &o->a);
}

/* neighbours of a split's frames, with a progress bar */
static int search(const bl_data *b, int which, int k, int threads, int32_t **nbr) {
    *nbr = malloc((b->n[which] ? b->n[which] : 1) * (size_t)k * sizeof **nbr);
    if (!*nbr) return a2m_error(A2M_ERR_NOMEM, "kNN: out of memory");
    char label[64];
    snprintf(label, sizeof label, "kNN %s", b->split_name[which]);
    cli_progress *bar = cli_progress_new(label, b->n[which]);
    int rc = a2m_knn_search(b->x[BL_TRAIN], b->n[BL_TRAIN], b->x[which], b->n[which], b->dim, k, threads,
                            cli_progress_cb, bar, *nbr);
    if (rc) cli_progress_free(bar);
    else cli_progress_done(bar, NULL);
    return rc;
}

/* k of the grid with the best validation accuracy; *tried gets [{k, val_accuracy}] */
static int choose_k(const bl_data *b, int threads, int *k, json_t *tried) {
    int kmax = 0;
    for (int g = 0; g < N_GRID; g++)
        if ((size_t)k_grid[g] <= b->n[BL_TRAIN]) kmax = k_grid[g];
    int32_t *nbr;
    int rc = search(b, BL_VAL, kmax, threads, &nbr);
    int64_t *pred = rc ? NULL : malloc((b->n[BL_VAL] + 1) * sizeof *pred);
    if (!rc && !pred) rc = a2m_error(A2M_ERR_NOMEM, "kNN: out of memory");
    double best = -1;
    for (int g = 0; !rc && g < N_GRID && k_grid[g] <= kmax; g++) {
        rc = a2m_knn_vote(nbr, b->n[BL_VAL], kmax, k_grid[g], b->y[BL_TRAIN], b->n_classes, pred);
        size_t ok = 0;
        for (size_t i = 0; !rc && i < b->n[BL_VAL]; i++) ok += pred[i] == b->y[BL_VAL][i];
        double acc = (double)ok / (double)b->n[BL_VAL];
        json_array_append_new(tried, json_pack("{s:i,s:f}", "k", k_grid[g], "val_accuracy", acc));
        if (acc > best) best = acc, *k = k_grid[g];
    }
    if (!rc) fprintf(stderr, "a2m knn: k = %d (validation accuracy %.4f)\n", *k, best);
    free(nbr), free(pred);
    return rc;
}

int cmd_knn(int argc, char **argv) {
    knn_opts o;
    int rc = parse(argc, argv, &o);
    if (rc) return rc < 0 ? 0 : rc;
    openblas_set_num_threads(1); /* the library runs one GEMM per thread of --threads */
    bl_data b;
    a2m_frame_map map = {0};
    double t0 = 0;
    if ((rc = bl_load(o.a.ds, o.a.splits, o.a.split, o.a.kind, o.a.context, &b)) || (t0 = bl_now(), 0) ||
        (rc = bl_map(&b, 0, o.a.pca, o.threads, &map))) {
        bl_free(&b);
        return rc;
    }
    json_t *tried = json_array();
    if (!o.k && !b.n[BL_VAL]) {
        o.k = 5; /* scikit-learn's default */
        cli_warn("%s: no \"val\" split to choose k on: k = 5", o.a.splits);
    }
    if (!o.k) rc = choose_k(&b, o.threads, &o.k, tried);
    if (!rc && (size_t)o.k > b.n[BL_TRAIN])
        rc = a2m_error(A2M_ERR_ARG, "--k %d: the training split has %zu frames", o.k, b.n[BL_TRAIN]);
    double t1 = bl_now();
    int32_t *nbr = NULL;
    int64_t *pred = rc ? NULL : malloc((b.n[BL_EVAL] + 1) * sizeof *pred);
    if (!rc && !pred) rc = a2m_error(A2M_ERR_NOMEM, "kNN: out of memory");
    if (!rc) rc = search(&b, BL_EVAL, o.k, o.threads, &nbr);
    if (!rc) rc = a2m_knn_vote(nbr, b.n[BL_EVAL], o.k, o.k, b.y[BL_TRAIN], b.n_classes, pred);
    double t2 = bl_now();
    if (rc) {
        json_decref(tried);
        free(nbr), free(pred), bl_free(&b), a2m_frame_map_free(&map);
        return cli_lib_fail(rc);
    }
    char title[512];
    snprintf(title, sizeof title, "kNN (k %d, context %d, %s%d values per frame) on %s", o.k, o.a.context,
             o.a.pca ? "PCA to " : "", b.dim, o.a.ds);
    json_t *extra = json_pack("{s:s,s:s,s:i,s:i,s:i,s:i,s:f,s:o,s:I,s:f,s:f}", "classifier", "knn", "dataset", o.a.ds,
                              "k", o.k, "context", o.a.context, "pca", o.a.pca, "dim", b.dim, "explained_variance",
                              map.explained, "k_selection", tried, "train_frames", (json_int_t)b.n[BL_TRAIN],
                              "seconds_train", t1 - t0, "seconds_predict", t2 - t1);
    rc = bl_report(&b, title, pred, o.a.json, extra);
    if (!rc && (!o.a.json || strcmp(o.a.json, "-")))
        printf("\ntime: %.2f s to fit (centre, PCA, choose k), %.2f s to predict %zu frames (%d thread%s)\n", t1 - t0,
               t2 - t1, b.n[BL_EVAL], o.threads, cli_s((size_t)o.threads));
    free(nbr), free(pred), bl_free(&b), a2m_frame_map_free(&map);
    return rc;
}
