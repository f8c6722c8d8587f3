/* a2m embed: UMAP of a dataset split's frames (features or a model's hidden states) -> EMB.npy + EMB.labels.npy;
 * a2m trust: scikit-learn's trustworthiness of any embedding of any points. */
#include <cblas.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "a2m/dataset.h"
#include "a2m/embed.h"
#include "a2m/error.h"
#include "a2m/gen.h"
#include "a2m/io.h"
#include "a2m/model.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/opts.h"
#include "cli/plots.h"
#include "cli/report.h"

static const char *embed_usage =
    "usage: a2m embed DATASET [--splits SPLIT.json] [--split NAME] [--source features|hidden --model M]\n"
    "                 [--n-neighbors N] [--min-dist D] [--epochs N] [--max-frames N] [--seed S]\n"
    "                 [--init spectral|random] [--threads N] [--trust] [--json FILE|-] [--force] -o EMB.npy\n"
    "UMAP (McInnes et al., as umap-learn 0.5 computes it: exact kNN graph, smooth-kNN memberships, fuzzy union,\n"
    "spectral initialisation, SGD with negative sampling on the a/b curve fitted to --min-dist) of the frames of\n"
    "one split of DATASET: their CQT dB features (--source features, the default) or the hidden states of a\n"
    "trained network (--source hidden --model M: the BiLSTM output per frame of each take).\n"
    "Writes EMB.npy (float32 [frames x 2]) and beside it EMB.labels.npy (int64 [frames]: each frame's class as\n"
    "its MIDI note, 60 = C4; -1 silence, -2 onset, -3 below range, -4 above range), which `a2m plot embed`\n"
    "colours by. --max-frames N: N frames drawn at random (--seed), kept in dataset order. --epochs 0:\n"
    "umap-learn's choice (500 up to 10,000 frames, else 200). --trust also computes the trustworthiness (k 5,\n"
    "scikit-learn's definition; another pass over all pairs) and --json writes the figures as JSON.\n"
    "The result is a function of the data, the options and --seed (any --threads).\n";

typedef struct embed_opts {
    const char *ds, *splits, *split, *source, *model, *out, *json;
    a2m_umap_params p;
    int max_frames, force, trust;
} embed_opts;

static int embed_parse(int argc, char **argv, embed_opts *o) {
    int source = 0, init = !o->p.spectral_init;
    const cli_option opts[] = {
        {CLI_STR_OPT("--output", &o->out), .alias = "-o", .meta = "EMB.npy",
         .help = "the embedding (EMB.labels.npy beside it)"},
        {CLI_SPLITS_ROW(&o->splits)},
        {CLI_STR_OPT("--split", &o->split), .meta = "NAME", .help = "the split embedded"},
        {CLI_CHOICE_OPT("--source", &source, "features|hidden"),
         .help = "the dataset's features or a network's hidden states"},
        {CLI_STR_OPT("--model", &o->model), .meta = "M", .help = "--source hidden: the trained model"},
        {CLI_INT_OPT("--n-neighbors", &o->p.n_neighbors, 2, 64), .meta = "N",
         .help = "neighbours of the kNN graph (the point itself counted)"},
        {CLI_DBL_OPT("--min-dist", &o->p.min_dist, 0, 3), .meta = "D", .help = "UMAP's min_dist"},
        {CLI_INT_OPT("--epochs", &o->p.n_epochs, 0, 100000), .meta = "N",
         .help = "SGD epochs (0: umap-learn's choice)"},
        {CLI_INT_OPT("--max-frames", &o->max_frames, 1, 1 << 30), .meta = "N", .nodef = 1,
         .help = "embed N frames drawn at random (--seed)"},
        {CLI_U64_OPT("--seed", &o->p.seed, 0, 2147483647), .meta = "S", .help = "the random draws"},
        {CLI_CHOICE_OPT("--init", &init, "spectral|random"), .help = "initial layout"},
        {CLI_INT_OPT("--threads", &o->p.n_threads, 1, 256), .meta = "N", .help = "threads of the kNN search"},
        {CLI_FLAG_OPT("--trust", &o->trust), .help = "also compute the trustworthiness (k 5)"},
        {CLI_STR_OPT("--json", &o->json), .meta = "FILE", .help = "the figures as JSON (- = standard output)"},
        {CLI_FLAG_OPT("--force", &o->force), .help = "replace existing outputs"},
        {.name = NULL}};
    const cli_spec spec = {"embed", embed_usage, {{NULL, opts}}, NULL};
    int rc = cli_parse_pos(argc, argv, &spec, (const char **[]){&o->ds}, 1);
    if (rc >= 0) return rc ? rc : -1;
    o->source = source ? "hidden" : "features", o->p.spectral_init = !init;
    if (!o->ds) return cli_usage_error(argv[0], "needs DATASET");
    if (!o->out) return cli_usage_error(argv[0], "missing -o EMB.npy");
    if (!strcmp(o->source, "hidden") != !!o->model)
        return cli_usage_error(argv[0],
                               o->model ? "--model goes with --source hidden" : "--source hidden needs --model M");
    return 0;
}

/* EMB.npy -> EMB.labels.npy (EMB.labels.npy for any other name too: EMB + ".labels.npy") */
static char *labels_path(const char *out) {
    size_t n = strlen(out);
    char *s = malloc(n + 16);
    if (!s) return NULL;
    memcpy(s, out, n + 1);
    if (n > 4 && !strcmp(s + n - 4, ".npy")) s[n - 4] = '\0';
    strcat(s, ".labels.npy");
    return s;
}

typedef struct frames {
    float *x;      /* [n x dim] */
    int64_t *note; /* [n] */
    size_t n, dim;
} frames;

static void frames_free(frames *f) {
    free(f->x), free(f->note);
    f->x = NULL, f->note = NULL;
}

/* class -> the note code of EMB.labels.npy */
static int64_t class_note(const a2m_label_params *lp, int64_t c) {
    int C = a2m_label_n_classes(lp);
    if (c <= 0) return -1;
    if (c <= lp->n_notes) return lp->notes[c - 1];
    if (lp->range_classes && c == C - 2) return -3;
    if (lp->range_classes && c == C - 1) return -4;
    return -2; /* onset */
}

/* the split's frames: rows of features (or hidden states when m is given) and their note codes */
static int gather(const a2m_dataset *d, const size_t *idx, size_t n_takes, const a2m_model *m, const char *model,
                  int threads, frames *f) {
    memset(f, 0, sizeof *f);
    size_t total = 0, maxT = 1;
    for (size_t i = 0; i < n_takes; i++) {
        size_t len = d->offsets[idx[i] + 1] - d->offsets[idx[i]];
        total += len, maxT = len > maxT ? len : maxT;
    }
    int dim = d->n_bins, rc = A2M_OK;
    if (m && (rc = a2m_model_hidden(m, NULL, 1, threads, NULL, &dim))) return a2m_error_prefix(rc, model);
    f->x = malloc((total ? total : 1) * (size_t)dim * sizeof *f->x);
    f->note = malloc((total ? total : 1) * sizeof *f->note);
    float *norm = m ? malloc(maxT * (size_t)d->n_bins * sizeof *norm) : NULL;
    if (!f->x || !f->note || (m && !norm)) rc = a2m_error(A2M_ERR_NOMEM, "embed: out of memory for %zu frames", total);
    const a2m_model_info *mi = m ? a2m_model_get_info(m) : NULL;
    size_t pos = 0;
    for (size_t i = 0; i < n_takes && !rc; i++) {
        size_t s = d->offsets[idx[i]], len = d->offsets[idx[i] + 1] - s;
        const float *src = d->features + s * (size_t)d->n_bins;
        if (m) {
            for (size_t t = 0; t < len * (size_t)d->n_bins; t++)
                norm[t] = (float)((src[t] - mi->norm_mean) / mi->norm_std);
            rc = a2m_model_hidden(m, norm, (int)len, threads, f->x + pos * (size_t)dim, &dim);
        } else {
            memcpy(f->x + pos * (size_t)dim, src, len * (size_t)dim * sizeof *f->x);
        }
        for (size_t t = 0; t < len; t++) f->note[pos + t] = class_note(&d->labels_p, d->labels[s + t]);
        pos += len;
    }
    free(norm);
    if (rc) frames_free(f);
    f->n = rc ? 0 : total, f->dim = (size_t)dim;
    return rc;
}

/* keeps max frames drawn at random (a partial Fisher-Yates shuffle of the indices, seeded), in order */
static int subsample(frames *f, size_t max, uint64_t seed) {
    if (!max || max >= f->n) return A2M_OK;
    size_t *perm = malloc(f->n * sizeof *perm);
    char *keep = calloc(f->n, 1);
    if (!perm || !keep) {
        free(perm), free(keep);
        return a2m_error(A2M_ERR_NOMEM, "embed: out of memory");
    }
    uint64_t s = seed ^ 0x5DEECE66Dull;
    for (size_t i = 0; i < f->n; i++) perm[i] = i;
    for (size_t i = 0; i < max; i++) {
        size_t j = i + (size_t)(a2m_gen_next(&s) % (f->n - i)), t = perm[i];
        perm[i] = perm[j], perm[j] = t, keep[perm[i]] = 1;
    }
    size_t w = 0;
    for (size_t i = 0; i < f->n; i++)
        if (keep[i]) {
            memmove(f->x + w * f->dim, f->x + i * f->dim, f->dim * sizeof *f->x);
            f->note[w++] = f->note[i];
        }
    f->n = w;
    free(perm), free(keep);
    return A2M_OK;
}

/* one bar per stage of the library's progress ("neighbours", then "epochs") */
typedef struct stage_bar {
    cli_progress *bar;
    char what[32];
} stage_bar;

static void stage_cb(void *user, size_t done, size_t total, const char *what) {
    stage_bar *s = user;
    if (!s->bar || strcmp(s->what, what)) {
        if (s->bar) cli_progress_done(s->bar, NULL);
        snprintf(s->what, sizeof s->what, "%s", what);
        s->bar = cli_progress_new(what, total);
    }
    cli_progress_update(s->bar, done, NULL);
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int write_outputs(const embed_opts *o, const char *lab, const frames *f, const float *emb) {
    size_t shape[2] = {f->n, 2};
    int rc = a2m_npy_save(o->out, A2M_F32, 2, shape, emb);
    if (!rc) rc = a2m_npy_save(lab, A2M_I64, 1, shape, f->note);
    return rc;
}

/* all outputs or none: after a later one failed (--json onto a full disk), the files this run made go again (what
 * --force replaced before is gone) */
static void remove_new(const char *path, a2m_output_kind was) {
    if (was == A2M_OUTPUT_NEW && strcmp(path, "-")) remove(path);
}

static int write_json(const embed_opts *o, const frames *f, double seconds, double trust) {
    json_t *j = json_pack("{s:s,s:s,s:s,s:I,s:I,s:i,s:f,s:i,s:I,s:f}", "dataset", o->ds, "split", o->split, "source",
                          o->source, "frames", (json_int_t)f->n, "dims", (json_int_t)f->dim, "n_neighbors",
                          o->p.n_neighbors, "min_dist", o->p.min_dist, "n_epochs",
                          o->p.n_epochs   ? o->p.n_epochs
                          : f->n <= 10000 ? 500
                                          : 200,
                          "seed", (json_int_t)o->p.seed, "seconds", seconds);
    if (!j) return a2m_error(A2M_ERR_NOMEM, "out of memory");
    if (o->trust) json_object_set_new(j, "trustworthiness", json_real(trust));
    if (o->model) json_object_set_new(j, "model", json_string(o->model));
    int rc = report_write_json(o->json, j);
    json_decref(j);
    return rc;
}

static int load_frames(const embed_opts *o, frames *f) {
    a2m_dataset d;
    int rc = a2m_dataset_load(o->ds, &d);
    if (rc) return rc;
    a2m_model *m = NULL;
    size_t *idx = NULL, n = 0;
    rc = a2m_split_load(o->splits, o->split, &d, &idx, &n);
    if (!rc && o->model && !(rc = a2m_model_load(o->model, NULL, &m))) rc = a2m_model_check_for_audio(m, o->model);
    if (!rc && m && a2m_model_get_info(m)->n_bins != d.n_bins)
        rc = a2m_error(A2M_ERR_SHAPE, "%s: %d bins, the dataset %s has %d", o->model, a2m_model_get_info(m)->n_bins,
                       o->ds, d.n_bins);
    if (!rc) rc = gather(&d, idx, n, m, o->model, o->p.n_threads, f);
    if (!rc) rc = subsample(f, (size_t)o->max_frames, o->p.seed);
    if (!rc && f->n < (size_t)o->p.n_neighbors)
        rc = a2m_error(A2M_ERR_EMPTY, "%s: split '%s' has %zu frames, fewer than --n-neighbors %d", o->ds, o->split,
                       f->n, o->p.n_neighbors);
    if (rc) frames_free(f);
    free(idx);
    a2m_model_del(m);
    a2m_dataset_free(&d);
    return rc;
}

int cmd_embed(int argc, char **argv) {
    embed_opts o = {.splits = CLI_SEED_SPLITS, .split = "test", .source = "features"};
    o.p = a2m_umap_default_params();
    int rc = embed_parse(argc, argv, &o);
    if (rc) return rc < 0 ? 0 : rc;
    a2m_output_kind kind;
    if (strcmp(o.out, "-") && !a2m_output_kind_of(o.out, &kind) && kind == A2M_OUTPUT_STREAM)
        return cli_usage_error(argv[0], "-o %s: a device or FIFO (EMB.labels.npy goes beside EMB.npy: -o names a file)",
                               o.out);
    char *lab = labels_path(o.out);
    if (!lab) return cli_fail("out of memory");
    const char *ins[3] = {o.ds, o.splits, o.model};
    const char *json = o.json;
    if ((rc = cli_check_output(argv[0], &o.out, ins, 3, o.force, 0)) ||
        (rc = cli_check_output(argv[0], (const char **)&lab, ins, 3, o.force, 0)) ||
        (json && strcmp(json, "-") && (rc = cli_check_output(argv[0], &json, ins, 3, o.force, 0))))
        return free(lab), rc;
    a2m_output_kind was_out = A2M_OUTPUT_NEW, was_lab = A2M_OUTPUT_NEW;
    a2m_output_kind_of(o.out, &was_out), a2m_output_kind_of(lab, &was_lab);
    openblas_set_num_threads(1); /* the library calls BLAS from its own --threads threads */
    frames f = {0};
    double t0 = now_s(), trust = 0;
    rc = load_frames(&o, &f);
    float *emb = rc ? NULL : malloc(f.n * 2 * sizeof *emb);
    if (!rc && !emb) rc = a2m_error(A2M_ERR_NOMEM, "out of memory");
    stage_bar bar = {0};
    if (!rc) rc = a2m_umap(f.x, f.n, f.dim, o.p, stage_cb, &bar, emb);
    if (bar.bar) rc ? cli_progress_free(bar.bar) : cli_progress_done(bar.bar, NULL);
    double seconds = now_s() - t0;
    if (!rc && o.trust) rc = a2m_trustworthiness(f.x, f.n, f.dim, emb, 2, 5, o.p.n_threads, &trust);
    if (!rc) rc = write_outputs(&o, lab, &f, emb);
    if (!rc) {
        FILE *info = json && !strcmp(json, "-") ? stderr : stdout;
        fprintf(info, "%s: %zu frames x %zu (%s, split '%s') -> %s, %s in %.2f s\n", o.ds, f.n, f.dim, o.source,
                o.split, o.out, lab, seconds);
        if (o.trust) fprintf(info, "trustworthiness (k 5): %.4f\n", trust);
        if (json) rc = write_json(&o, &f, seconds, trust);
        if (rc) remove_new(o.out, was_out), remove_new(lab, was_lab);
    }
    frames_free(&f);
    free(emb), free(lab);
    return rc ? cli_lib_fail(rc) : 0;
}

static const char *trust_usage =
    "usage: a2m trust X.npy EMB.npy [--k K] [--threads N] [--json]\n"
    "scikit-learn's sklearn.manifold.trustworthiness(X, EMB, n_neighbors=k) (Euclidean): how far each point's k\n"
    "nearest neighbours in the embedding EMB [n x e] rank among its neighbours in X [n x d] (1: every embedded\n"
    "neighbour is among the k nearest in X). Any numeric .npy of 1 or 2 dimensions; k < n / 2.\n";

static int load_2d(const char *path, a2m_array *a, size_t *n, size_t *d) {
    int rc = a2m_npy_load_f32(path, a);
    if (rc) return rc;
    if (a->ndim < 1 || a->ndim > 2) {
        rc = a2m_error(A2M_ERR_SHAPE, "%s: %d dimensions (need [n] or [n x d])", path, a->ndim);
        a2m_array_free(a);
        return rc;
    }
    *n = a->shape[0], *d = a->ndim == 2 ? a->shape[1] : 1;
    if (*d == 0) {
        a2m_array_free(a);
        return a2m_error(A2M_ERR_SHAPE, "%s: rows of no values", path);
    }
    return A2M_OK;
}

int cmd_trustworthiness(int argc, char **argv) {
    const char *x_path = NULL, *e_path = NULL;
    int k = 5, threads = 1, json = 0; /* k: what embed --trust uses */
    const cli_option opts[] = {{CLI_INT_OPT("--k", &k, 1, 63), .meta = "K", .help = "neighbours"},
                               {CLI_THREADS_ROW(&threads)},
                               {CLI_FLAG_OPT("--json", &json), .help = "print the figure as JSON"},
                               {.name = NULL}};
    const cli_spec spec = {"trust", trust_usage, {{NULL, opts}}, NULL};
    int rc = cli_parse_req(argc, argv, &spec, (const char **[]){&x_path, &e_path}, 2, 2, "X.npy and EMB.npy");
    if (rc >= 0) return rc;
    openblas_set_num_threads(1);
    a2m_array x = {0}, e = {0};
    size_t n, d, ne, de;
    double t = 0;
    rc = load_2d(x_path, &x, &n, &d);
    if (!rc && !(rc = load_2d(e_path, &e, &ne, &de)) && ne != n)
        rc = a2m_error(A2M_ERR_SHAPE, "%s: %zu rows, %s has %zu", e_path, ne, x_path, n);
    if (!rc) rc = a2m_trustworthiness(x.data, n, d, e.data, de, k, threads, &t);
    a2m_array_free(&x), a2m_array_free(&e);
    if (rc) return cli_lib_fail(rc);
    if (json) printf("{\"trustworthiness\": %.17g, \"k\": %d, \"n\": %zu}\n", t, k, n);
    else
        printf("trustworthiness (k %d) of %s (%zu x %zu) for %s (%zu x %zu): %.6f\n", k, e_path, n, de, x_path, n, d,
               t);
    return 0;
}

int plot_embed_file(const char *emb, const char *labels, const char *out, a2m_plot_size size) {
    char *lab = labels ? NULL : labels_path(emb);
    if (!labels && !lab) return a2m_error(A2M_ERR_NOMEM, "out of memory");
    a2m_array e = {0}, l = {0};
    int rc = a2m_npy_load_f32(emb, &e);
    if (!rc && (e.ndim != 2 || e.shape[1] != 2))
        rc = a2m_error(A2M_ERR_SHAPE, "%s: not an embedding [n x 2] (%d dimensions)", emb, e.ndim);
    if (!rc) rc = a2m_npy_load(labels ? labels : lab, &l);
    if (!rc && (l.dtype != A2M_I64 || l.ndim != 1 || l.shape[0] != e.shape[0]))
        rc = a2m_error(A2M_ERR_SHAPE, "%s: not int64 [%zu] (one label per point of %s)", labels ? labels : lab,
                       e.shape[0], emb);
    if (!rc) {
        const char *base = strrchr(emb, '/');
        char title[512];
        snprintf(title, sizeof title, "UMAP of %s: %zu points", base ? base + 1 : emb, e.shape[0]);
        rc = a2m_plot_embed(out, e.data, l.data, e.shape[0], title, size);
    }
    a2m_array_free(&e), a2m_array_free(&l);
    free(lab);
    return rc;
}
