#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "a2m/dataset.h"
#include "a2m/error.h"
#include "a2m/io.h"
#include "a2m/search.h"
#include "a2m/train.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/opts.h"

static const char *usage =
    "usage: a2m search DATASET --splits SPLIT.json --study STUDY.db [options]\n"
    "       a2m search --show STUDY.db [--json]\n"
    "Hyperparameter search: each trial trains with `a2m train`'s code on the split's \"train\" takes and scores\n"
    "the \"val\" takes every epoch. The study is a database (SQLite file, or --storage postgresql://...) that\n"
    "several workers share: start `a2m search` with the same --study again, here or elsewhere, and each takes\n"
    "the next trial. A worker killed (kill -9) stops sending heartbeats; its trial is marked failed by the next\n"
    "worker and re-run with the same parameters. Ctrl-C marks the running trial failed (to be re-run), exit 130.\n";
static const char *epilog =
    "The study keeps the objective, space, epochs, sampler, pruner and seed it was made with: later workers\n"
    "must ask for the same (or leave them out).\n";

static const char *const samplers = "tpe|random", *const pruners = "median|none", *const objectives = "val_loss|val_f1";

/* the sampler's and the pruner's settings, from the library's defaults */
static int show_sampler(const void *v, char *buf, size_t n) {
    a2m_tpe_params t = a2m_tpe_default_params();
    return snprintf(buf, n, "%s; tpe: %d random start-up trials, %d candidates", *(const int *)v ? "random" : "tpe",
                    t.n_startup_trials, t.n_ei_candidates),
           1;
}

static int show_pruner(const void *v, char *buf, size_t n) {
    a2m_median_params m = a2m_median_default_params();
    return snprintf(buf, n, "%s; median: once %d trials are complete, after epoch %d",
                    *(const int *)v ? "none" : "median", m.n_startup_trials, m.n_warmup_steps),
           1;
}

typedef struct search_opts {
    const char *ds, *splits, *study, *space_path, *storage;
    int trials, epochs, threads, show, json;
    double heartbeat;
    a2m_study_info want;
    int given_sampler, given_pruner, given_seed, given_objective, given_epochs;
} search_opts;

/* 0, -1 after --help, or the exit code of a usage error */
static int parse(int argc, char **argv, search_opts *o) {
    memset(o, 0, sizeof *o);
    o->trials = 20, o->epochs = 50, o->threads = 1, o->heartbeat = 30;
    int seed = 0, sampler = 0, pruner = 0, objective = 0, n_pos;
    const cli_option opts[] = {
        {CLI_SPLITS_ROW(&o->splits)},
        {CLI_STR_OPT("--study", &o->study), .meta = "STUDY.db",
         .help = "the study (a SQLite file, or its name with --storage)"},
        {CLI_STR_OPT("--space", &o->space_path), .meta = "SPACE.json",
         .help = "parameters and ranges (docs/search.md); default: hidden, lr (log), batch,\n"
                 "dropout, class-weight-power, loss, label-smoothing"},
        {CLI_INT_OPT("--trials", &o->trials, 1, 1000000), .meta = "N",
         .help = "trials of the study in all, over every worker"},
        {CLI_CHOICE_OPT("--sampler", &sampler, samplers), .given = &o->given_sampler, .show = show_sampler,
         .help = "TPE (Optuna's defaults) or random"},
        {CLI_CHOICE_OPT("--pruner", &pruner, pruners), .given = &o->given_pruner, .show = show_pruner,
         .help = "stop a trial at an epoch where its best value is worse than the median of the\n"
                 "complete trials at that epoch"},
        {CLI_INT_OPT("--epochs", &o->epochs, 1, 100000), .meta = "E", .given = &o->given_epochs,
         .help = "maximum epochs of a trial"},
        {CLI_INT_OPT("--seed", &seed, 0, 2147483647), .meta = "S", .given = &o->given_seed,
         .help = "seed of the sampler and of every trial's training"},
        {CLI_CHOICE_OPT("--objective", &objective, objectives), .given = &o->given_objective,
         .help = "minimise the best validation loss or maximise the best macro F1"},
        {CLI_STR_OPT("--storage", &o->storage), .meta = "URL",
         .help = "a PostgreSQL server (postgresql://user@host/db); --study is then the study's name"},
        {CLI_INT_OPT("--threads", &o->threads, 1, 256), .meta = "N", .help = "training threads"},
        {CLI_DBL_OPT("--heartbeat", &o->heartbeat, 0.1, 86400), .meta = "S",
         .help = "seconds between heartbeats; a running trial silent for 2 S is failed"},
        {CLI_FLAG_OPT("--show", &o->show),
         .help = "print the study: every trial, the best, and the `a2m train` options\nreproducing it"},
        {CLI_FLAG_OPT("--json", &o->json), .help = "--show: as JSON"},
        {.name = NULL}};
    const cli_spec spec = {"search", usage, {{NULL, opts}}, epilog};
    int rc = cli_parse(argc, argv, &spec, &n_pos);
    if (rc >= 0) return rc ? rc : -1;
    if (n_pos > 1) return cli_usage_error(argv[0], "one dataset expected");
    o->ds = n_pos ? argv[1] : NULL;
    const char *const names[3][2] = {{"tpe", "random"}, {"median", "none"}, {"val_loss", "val_f1"}};
    snprintf(o->want.sampler, sizeof o->want.sampler, "%s", names[0][sampler]);
    snprintf(o->want.pruner, sizeof o->want.pruner, "%s", names[1][pruner]);
    snprintf(o->want.objective, sizeof o->want.objective, "%s", names[2][objective]);
    o->want.seed = seed;
    o->want.epochs = o->epochs;
    return 0;
}

/* ---- --show --------------------------------------------------------------------------------------- */
static int best_trial(const a2m_search_trial *t, size_t n, int maximize) {
    int best = -1;
    for (size_t i = 0; i < n; i++)
        if (t[i].state == A2M_TRIAL_COMPLETE && !isnan(t[i].value) &&
            (best < 0 || (maximize ? t[i].value > t[best].value : t[i].value < t[best].value)))
            best = (int)i;
    return best;
}

static void print_table(const a2m_study_info *in, const a2m_search_trial *t, size_t n) {
    const a2m_search_space *s = &in->space;
    printf("%6s  %-8s  %10s  %6s  %8s", "trial", "state", in->objective, "epochs", "seconds");
    for (int k = 0; k < s->n; k++) printf("  %9s", s->p[k].name);
    printf("\n");
    for (size_t i = 0; i < n; i++) {
        int ep = 0;
        for (int k = 0; k < t[i].n_steps; k++) ep += !isnan(t[i].steps[k]);
        char secs[32] = "-";
        if (t[i].finished > 0 && t[i].started > 0) snprintf(secs, sizeof secs, "%.1f", t[i].finished - t[i].started);
        printf("%6d  %-8s  %10.4f  %6d  %8s", t[i].number, a2m_trial_state_name(t[i].state), t[i].value, ep, secs);
        for (int k = 0; k < s->n; k++) {
            char v[64];
            a2m_search_format_value(&s->p[k], t[i].params[k], v, sizeof v);
            if (s->p[k].kind == A2M_PARAM_FLOAT && !isnan(t[i].params[k]))
                snprintf(v, sizeof v, "%.4g", t[i].params[k]);
            printf("  %*s", (int)strlen(s->p[k].name) > 9 ? (int)strlen(s->p[k].name) : 9, v);
        }
        printf("\n");
    }
}

static json_t *trial_json(const a2m_study_info *in, const a2m_search_trial *t) {
    json_t *o = json_object(), *p = json_object(), *iv = json_array();
    json_object_set_new(o, "number", json_integer(t->number));
    json_object_set_new(o, "state", json_string(a2m_trial_state_name(t->state)));
    json_object_set_new(o, "value", isnan(t->value) ? json_null() : json_real(t->value));
    for (int k = 0; k < in->space.n; k++) {
        const a2m_search_param *sp = &in->space.p[k];
        char v[64];
        a2m_search_format_value(sp, t->params[k], v, sizeof v);
        json_object_set_new(p, sp->name,
                            isnan(t->params[k])            ? json_null()
                            : sp->kind == A2M_PARAM_CHOICE ? json_string(v)
                                                           : json_real(t->params[k]));
    }
    json_object_set_new(o, "params", p);
    for (int k = 0; k < t->n_steps; k++)
        json_array_append_new(iv, isnan(t->steps[k]) ? json_null() : json_real(t->steps[k]));
    json_object_set_new(o, "intermediate", iv);
    json_object_set_new(o, "seconds", t->finished > 0 ? json_real(t->finished - t->started) : json_null());
    return o;
}

static int show_json(const a2m_study_info *in, const a2m_search_trial *t, size_t n, int best, const char *args) {
    json_t *root = json_object(), *arr = json_array();
    json_object_set_new(root, "objective", json_string(in->objective));
    json_object_set_new(root, "direction", json_string(strcmp(in->objective, "val_f1") ? "minimize" : "maximize"));
    json_object_set_new(root, "sampler", json_string(in->sampler));
    json_object_set_new(root, "pruner", json_string(in->pruner));
    json_object_set_new(root, "seed", json_integer(in->seed));
    json_object_set_new(root, "epochs", json_integer(in->epochs));
    json_object_set_new(root, "dataset", json_string(in->dataset));
    json_object_set_new(root, "splits", json_string(in->splits));
    char *sp = a2m_search_space_json(&in->space);
    json_object_set_new(root, "space", sp ? json_loads(sp, 0, NULL) : json_null());
    free(sp);
    for (size_t i = 0; i < n; i++) json_array_append_new(arr, trial_json(in, &t[i]));
    json_object_set_new(root, "trials", arr);
    if (best >= 0) {
        json_t *b = trial_json(in, &t[best]);
        json_object_set_new(b, "train_args", json_string(args));
        json_object_set_new(root, "best", b);
    } else {
        json_object_set_new(root, "best", json_null());
    }
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    json_decref(root);
    if (!text) return cli_fail("out of memory");
    printf("%s\n", text);
    free(text);
    return 0;
}

static int show(const search_opts *o) {
    a2m_study_info in;
    const char *target = o->storage ? o->storage : o->study;
    a2m_search_trial *t;
    size_t n;
    int rc = a2m_study_read(target, o->storage ? o->study : "default", &in, &t, &n);
    if (rc) return cli_lib_fail(rc);
    int best = best_trial(t, n, !strcmp(in.objective, "val_f1"));
    char args[2048] = "";
    if (best >= 0) a2m_search_train_args(&in.space, t[best].params, args, sizeof args);
    int has_select = 0;
    for (int k = 0; k < in.space.n; k++) has_select |= !strcmp(in.space.p[k].name, "select");
    if (best >= 0 && !has_select && strcmp(in.objective, "val_f1")) /* trials kept and early-stopped by val loss */
        snprintf(args + strlen(args), sizeof args - strlen(args), "%s--select loss", args[0] ? " " : "");
    if (o->json) {
        rc = show_json(&in, t, n, best, args);
    } else {
        print_table(&in, t, n);
        int counts[4] = {0};
        for (size_t i = 0; i < n; i++) counts[t[i].state >= 0 && t[i].state < 4 ? t[i].state : 3]++;
        printf("\n%zu trials: %d complete, %d pruned, %d failed, %d running\n", n, counts[1], counts[2], counts[3],
               counts[0]);
        if (best >= 0)
            printf(
                "best: trial %d, %s %.9g\n  a2m train %s --split %s --epochs %d --seed %lld %s -o MODEL.safetensors\n",
                t[best].number, in.objective, t[best].value, in.dataset, in.splits, in.epochs, in.seed, args);
        else printf("no complete trial yet\n");
    }
    a2m_search_trials_free(t, n);
    return rc;
}

/* ---- the worker ----------------------------------------------------------------------------------- */
typedef struct trial_ctx {
    a2m_study *st;
    int number, maximize, pruned, lost, err, tty, epochs_run;
    double best, last_hb, heartbeat;
    a2m_median_params mp;
    cli_progress *bar;
} trial_ctx;

static double mono_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void show_progress(trial_ctx *c, const a2m_train_epoch *e) {
    char extra[160];
    if (!e->done) {
        if (!c->tty) return;
        if (!c->bar) c->bar = cli_progress_new("epoch", e->n_batches);
        snprintf(extra, sizeof extra, "trial %d epoch %d/%d loss %.4f", c->number, e->epoch, e->epochs, e->train_loss);
        cli_progress_update(c->bar, e->batch, extra);
        return;
    }
    if (c->bar) cli_progress_done(c->bar, NULL), c->bar = NULL;
    fprintf(stderr, "trial %d epoch %3d/%d  train %.4f  val %.4f  acc %.4f  f1 %.4f  %.1fs\n", c->number, e->epoch,
            e->epochs, e->train_loss, e->val_loss, e->val_accuracy, e->val_f1_macro, e->seconds);
}

/* After every batch: progress, a heartbeat now and then; after every epoch: the intermediate value, the
 * pruner. Non-zero stops the training (a2m_train returns A2M_ERR_CANCELLED). */
static int on_progress(void *user, const a2m_train_epoch *e) {
    trial_ctx *c = user;
    show_progress(c, e);
    if (cli_interrupted()) return 1;
    double now = mono_s();
    if (!e->done) {
        if (now - c->last_hb >= c->heartbeat) {
            c->last_hb = now;
            int rc = a2m_study_heartbeat(c->st, c->number);
            if (rc) return c->err = rc, 1;
        }
        return 0;
    }
    c->epochs_run = e->epoch;
    double v = c->maximize ? e->val_f1_macro : e->val_loss;
    if (!isnan(v) && (isnan(c->best) || (c->maximize ? v > c->best : v < c->best))) c->best = v;
    int prune = 0, rc = a2m_study_report(c->st, c->number, e->epoch, v, c->mp, &prune);
    c->last_hb = now;
    if (rc == A2M_ERR_RANGE) return c->lost = 1, 1;
    if (rc) return c->err = rc, 1;
    return c->pruned = prune;
}

typedef struct data {
    a2m_dataset d;
    size_t *tr, *va, ntr, nva;
} data;

static int load_data(const char *ds, const char *splits, data *x) {
    memset(x, 0, sizeof *x);
    int rc = a2m_dataset_load(ds, &x->d);
    if (rc) return rc;
    rc = a2m_split_load(splits, "train", &x->d, &x->tr, &x->ntr);
    if (!rc) rc = a2m_split_load(splits, "val", &x->d, &x->va, &x->nva);
    if (!rc && x->nva == 0)
        rc = a2m_error(A2M_ERR_EMPTY, "%s: the \"val\" split is empty: nothing to score trials on", splits);
    if (rc) a2m_dataset_free(&x->d), free(x->tr), free(x->va), memset(x, 0, sizeof *x);
    return rc;
}

/* Runs one trial; returns 0, or the exit code that ends the worker (an interrupt: 128 + signal). */
static int run_trial(const search_opts *o, a2m_study *st, const a2m_study_info *in, const data *x, int number,
                     const double *values) {
    a2m_train_params p = a2m_train_default_params();
    int maximize = !strcmp(in->objective, "val_f1");
    p.epochs = in->epochs, p.seed = (unsigned long long)in->seed, p.threads = o->threads, p.select_by_loss = !maximize;
    int rc = a2m_search_apply(&in->space, values, &p);
    char args[2048];
    a2m_search_train_args(&in->space, values, args, sizeof args);
    fprintf(stderr, "trial %d: %s\n", number, args);
    trial_ctx c = {st,
                   number,
                   maximize,
                   0,
                   0,
                   0,
                   isatty(fileno(stderr)),
                   0,
                   NAN,
                   mono_s(),
                   o->heartbeat,
                   a2m_median_default_params(),
                   NULL};
    a2m_model *m = NULL;
    a2m_train_result res;
    if (!rc) rc = a2m_train(&x->d, x->tr, x->ntr, x->va, x->nva, p, on_progress, &c, &m, &res);
    if (c.bar) cli_progress_free(c.bar);
    a2m_model_del(m);
    if (cli_interrupted()) {
        int frc = a2m_study_finish(st, number, A2M_TRIAL_FAILED, NAN, 1);
        fprintf(stderr, "a2m search: interrupted: trial %d marked failed%s\n", number,
                frc ? " (could not record it: its heartbeat stops, another worker fails it)" : ", to be re-run");
        return 128 + cli_interrupted();
    }
    if (c.lost) {
        cli_warn("trial %d was failed by another worker (its heartbeat was late: raise --heartbeat)", number);
        return 0;
    }
    if (c.err) return cli_lib_fail(c.err);
    if (rc == A2M_ERR_CANCELLED && c.pruned) rc = A2M_OK; /* stopped by the pruner: no model, none needed */
    if (rc) { /* diverged, bad parameters: the trial fails (not re-run: it would fail again) */
        cli_warn("trial %d failed: %s", number, a2m_errmsg());
        return (rc = a2m_study_finish(st, number, A2M_TRIAL_FAILED, NAN, 0)) ? cli_lib_fail(rc) : 0;
    }
    rc = a2m_study_finish(st, number, c.pruned ? A2M_TRIAL_PRUNED : A2M_TRIAL_COMPLETE, c.pruned ? NAN : c.best, 0);
    if (rc) return rc == A2M_ERR_RANGE ? (cli_warn("%s", a2m_errmsg()), 0) : cli_lib_fail(rc);
    if (c.pruned)
        fprintf(stderr, "trial %d pruned at epoch %d (best %s %.4f)\n", number, c.epochs_run, in->objective, c.best);
    else fprintf(stderr, "trial %d complete: %s %.6f (%d epochs)\n", number, in->objective, c.best, c.epochs_run);
    return 0;
}

/* Fills what the command line left out from an existing study, so a second worker needs only --study. */
static int settings(search_opts *o, const char *target, const char *name) {
    a2m_study *st;
    a2m_study_info have;
    int exists = (o->storage || a2m_path_exists(target)) && a2m_study_new_existing(target, name, &st, &have) == 0;
    if (exists) a2m_study_del(st);
    a2m_error_clear();
    a2m_study_info *w = &o->want;
    if (o->space_path) {
        int rc = a2m_search_space_load(o->space_path, &w->space);
        if (rc) return cli_lib_fail(rc);
    } else if (exists) {
        w->space = have.space;
    } else {
        a2m_search_space_default(&w->space);
    }
    if (!exists) return 0;
    if (!o->given_objective) memcpy(w->objective, have.objective, sizeof w->objective);
    if (!o->given_epochs) w->epochs = have.epochs;
    if (!o->given_seed) w->seed = have.seed;
    if (!o->given_sampler) memcpy(w->sampler, have.sampler, sizeof w->sampler);
    if (!o->given_pruner) memcpy(w->pruner, have.pruner, sizeof w->pruner);
    return 0;
}

static int work(search_opts *o) {
    const char *target = o->storage ? o->storage : o->study, *name = o->storage ? o->study : "default";
    int rc = settings(o, target, name);
    if (rc) return rc;
    snprintf(o->want.dataset, sizeof o->want.dataset, "%s", o->ds);
    snprintf(o->want.splits, sizeof o->want.splits, "%s", o->splits);
    data x;
    if ((rc = load_data(o->ds, o->splits, &x))) return cli_lib_fail(rc);
    a2m_study *st;
    a2m_study_info in;
    if ((rc = a2m_study_new(target, name, &o->want, &st, &in))) {
        a2m_dataset_free(&x.d), free(x.tr), free(x.va);
        return cli_lib_fail(rc);
    }
    /* this worker's sampler and pruner (the study keeps its first worker's; Optuna's are per process too) */
    memcpy(in.sampler, o->want.sampler, sizeof in.sampler), memcpy(in.pruner, o->want.pruner, sizeof in.pruner);
    char worker[300], host[256] = "?";
    gethostname(host, sizeof host - 1);
    snprintf(worker, sizeof worker, "%s:%ld", host, (long)getpid());
    fprintf(stderr, "a2m search: %s, %zu train / %zu val takes, %s %s, pruner %s, %d trials of up to %d epochs\n",
            target, x.ntr, x.nva, in.objective, in.sampler, in.pruner, o->trials, in.epochs);
    int done = 0;
    while (!rc && !cli_interrupted()) {
        int number;
        double values[A2M_SEARCH_MAX_PARAMS];
        rc = a2m_study_next_trial(st, o->trials, 2 * o->heartbeat, worker, a2m_tpe_default_params(), &number, values);
        if (rc) {
            rc = cli_lib_fail(rc);
            break;
        }
        if (number < 0) break;
        rc = run_trial(o, st, &in, &x, number, values);
        done++;
    }
    if (!rc && cli_interrupted()) rc = 128 + cli_interrupted();
    a2m_study_del(st);
    a2m_dataset_free(&x.d), free(x.tr), free(x.va);
    if (!rc)
        fprintf(stderr, "a2m search: this worker ran %d trial%s; a2m search --show %s%s%s for the results\n", done,
                cli_s((size_t)done), o->storage ? o->study : target, o->storage ? " --storage " : "",
                o->storage ? o->storage : "");
    return rc;
}

int cmd_search(int argc, char **argv) {
    search_opts o;
    int rc = parse(argc, argv, &o);
    if (rc) return rc < 0 ? 0 : rc;
    if (o.show && !o.study && !o.storage) o.study = o.ds, o.ds = NULL; /* a2m search --show STUDY.db */
    if (!o.study) return cli_usage_error(argv[0], "needs --study STUDY.db (with --storage: the study's name)");
    if (o.show) return o.ds ? cli_usage_error(argv[0], "--show takes no dataset") : show(&o);
    if (o.json) return cli_usage_error(argv[0], "--json goes with --show");
    if (!o.ds || !o.splits) return cli_usage_error(argv[0], "needs DATASET and --splits SPLIT.json");
    if (!o.storage) { /* the study file is continued, never replaced; it may not be an input */
        const char *ins[] = {o.ds, o.splits, o.space_path};
        a2m_output_kind kind;
        int orc = cli_output_problem(o.study, ins, 3, 1);
        if (!orc && !a2m_output_kind_of(o.study, &kind) && kind == A2M_OUTPUT_STREAM)
            orc = a2m_error(A2M_ERR_IO, "%s: a study is a regular file (SQLite), not a device or FIFO", o.study);
        if (orc) return cli_lib_fail(orc);
    }
    cli_signals_graceful(); /* the first Ctrl-C ends the running trial (marked failed), a second one at once */
    return work(&o);
}
