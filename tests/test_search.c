/* Hyperparameter search: the space file, TPE's Parzen estimators and split against Optuna 3.1
 * (tests/ref/search_ref.h, made by tests/ref/make_search_ref.py), samples inside their ranges, TPE beating
 * random on a quadratic, the median pruner, and the SQLite study (trials, stale heartbeats, re-runs). */
#include <unistd.h>

#include "a2m/error.h"
#include "a2m/search.h"
#include "check.h"
#include "study_check.h"
#include "ref/search_ref.h"
#include "core/rand.h"
#include "search/tpe_internal.h"

static int parse(const char *json, a2m_search_space *s) {
    return a2m_search_space_parse(json, strlen(json), "sp.json", s);
}

static void check_space(void) {
    a2m_search_space s;
    CHECK(
        parse(
            "{\"hidden\": {\"type\": \"int\", \"low\": 32, \"high\": 250, \"step\": 32}, \"lr\": {\"type\": \"float\", "
            "\"low\": 1e-4, \"high\": 1e-2, \"log\": true}, \"loss\": {\"type\": \"categorical\", \"choices\": "
            "[\"ce\", \"focal\"]}, \"gamma\": 1.5, \"optimizer\": \"adamw\", \"augment-mask-frames\": 40, "
            "\"augment-mask-bins\": 24}",
            &s) == A2M_OK,
        "%s", a2m_errmsg());
    CHECK(s.n == 7 && s.p[0].kind == A2M_PARAM_INT && s.p[0].high == 224, "int range cut to its step: high %g",
          s.p[0].high);
    CHECK(s.p[1].log && s.p[2].n_choices == 2 && s.p[3].n_choices == 1, "kinds");
    double v[7] = {96, 0.00125, 1, 0, 0, 0, 0};
    a2m_train_params p = a2m_train_default_params();
    CHECK(a2m_search_apply(&s, v, &p) == A2M_OK, "apply: %s", a2m_errmsg());
    CHECK(p.hidden == 96 && p.lr == 0.00125 && p.focal_gamma == 1.5 && p.adamw == 1 && p.augment_mask_frames == 40 &&
              p.augment_mask_bins == 24,
          "applied: hidden %d lr %g gamma %g adamw %d", p.hidden, p.lr, p.focal_gamma, p.adamw);
    char args[512];
    a2m_search_train_args(&s, v, args, sizeof args);
    CHECK(!strcmp(args, "--hidden 96 --lr 0.00125 --loss focal --gamma 1.5 --adamw --augment-mask 40,24"), "args: %s",
          args);
    v[2] = 0; /* ce: gamma is not an option then (a2m train --loss ce --gamma 1.5 would be focal) */
    a2m_search_train_args(&s, v, args, sizeof args);
    CHECK(strstr(args, "--loss ce") && !strstr(args, "--gamma"), "ce args: %s", args);
    p = a2m_train_default_params();
    a2m_search_apply(&s, v, &p);
    CHECK(p.focal_gamma == 0, "ce has gamma 0: %g", p.focal_gamma);
    /* the stored JSON reads back as the same space */
    char *j = a2m_search_space_json(&s);
    a2m_search_space s2;
    CHECK(j && parse(j, &s2) == A2M_OK && s2.n == s.n && s2.p[0].high == 224 && !strcmp(s2.p[4].choices[0], "adamw"),
          "round trip: %s", j ? j : "");
    free(j);
    a2m_search_space_default(&s);
    CHECK(s.n == 7 && !strcmp(s.p[0].name, "hidden") && !strcmp(s.p[6].name, "label-smoothing"), "default space");
    const char *bad[] = {"[]",
                         "{}",
                         "{\"nope\": 1}",
                         "{\"lr\": {\"type\": \"float\", \"low\": 0.1, \"high\": 0.01}}",
                         "{\"lr\": {\"type\": \"float\", \"low\": 0, \"high\": 1, \"log\": true}}",
                         "{\"hidden\": {\"type\": \"float\", \"low\": 1, \"high\": 9}}",
                         "{\"loss\": \"hinge\"}",
                         "{\"batch\": {\"type\": \"int\", \"low\": 1, \"high\": 1000}}",
                         "{\"hidden\": 1.5}",
                         "{\"lr\": {\"type\": \"float\", \"low\": 0.1, \"high\": 1, \"lo\": 3}}",
                         "{\"lr\": 0.1, \"lr\": 0.2}",
                         "{\"batch\": {\"type\": \"categorical\", \"choices\": [8, 8]}}",
                         "{\"batch\": {\"type\": \"x\"}}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = parse(bad[i], &s);
        CHECK(rc == A2M_ERR_FORMAT && !strncmp(a2m_errmsg(), "sp.json: ", 9), "bad space %s: rc %d %s", bad[i], rc,
              a2m_errmsg());
    }
}

static a2m_search_param ref_param(const parzen_ref *r) {
    a2m_search_param p;
    memset(&p, 0, sizeof p);
    if (!strcmp(r->kind, "categorical")) {
        p.kind = A2M_PARAM_CHOICE, p.n_choices = r->n_choices;
        for (int k = 0; k < r->n_choices; k++) snprintf(p.choices[k], sizeof p.choices[k], "%d", k);
        return p;
    }
    p.kind = !strcmp(r->kind, "int") ? A2M_PARAM_INT : A2M_PARAM_FLOAT;
    p.low = r->low, p.high = r->high, p.log = r->log;
    p.step = r->step > 0 ? r->step : p.kind == A2M_PARAM_INT ? 1 : 0;
    if (p.log) p.step = p.kind == A2M_PARAM_INT ? 1 : 0;
    return p;
}

static void check_parzen_vs_optuna(void) {
    for (size_t c = 0; c < sizeof parzen_refs / sizeof parzen_refs[0]; c++) {
        const parzen_ref *r = &parzen_refs[c];
        a2m_search_param p = ref_param(r);
        double mus[33], sig[33], w[33], lp[8];
        int rc = a2m_tpe_parzen_probe(&p, r->obs, r->n_obs, a2m_tpe_default_params(), mus, sig, w, r->x, r->n_x, lp);
        CHECK(rc == A2M_OK, "case %zu: %s", c, a2m_errmsg());
        double e_mu = 0, e_w = 0, e_lp = 0;
        for (int k = 0; k <= r->n_obs; k++) {
            e_w = fmax(e_w, fabs(w[k] - r->weights[k]));
            if (p.kind != A2M_PARAM_CHOICE)
                e_mu = fmax(e_mu, fmax(fabs(mus[k] - r->mus[k]), fabs(sig[k] - r->sigmas[k])));
        }
        for (int i = 0; i < r->n_x; i++) e_lp = fmax(e_lp, fabs(lp[i] - r->log_pdf[i]));
        CHECK(e_mu < 1e-12 && e_w < 1e-12 && e_lp < 1e-9, "case %zu (%s): mus/sigmas %.3g weights %.3g log pdf %.3g", c,
              r->kind, e_mu, e_w, e_lp);
    }
}

static void check_split_vs_optuna(void) {
    a2m_search_trial t[16];
    double steps[4][5];
    memset(t, 0, sizeof t);
    for (int i = 0; i < 16; i++) {
        t[i].number = i, t[i].state = i < 12 ? A2M_TRIAL_COMPLETE : A2M_TRIAL_PRUNED,
        t[i].value = i < 12 ? split_values[i] : NAN;
        if (i >= 12) {
            int s = split_steps[i - 12];
            for (int k = 0; k < 5; k++) steps[i - 12][k] = k == s - 1 ? split_values[i] : k < s ? 9 : NAN;
            t[i].steps = steps[i - 12], t[i].n_steps = 5;
        }
    }
    int below[25], nb = 0;
    a2m_tpe_below(t, 16, 0, below, &nb);
    int n_ref = (int)(sizeof split_below / sizeof split_below[0]), same = nb == n_ref;
    for (int i = 0; same && i < nb; i++) same = below[i] == split_below[i];
    CHECK(same, "below set: %d trials, first %d (Optuna: %d, first %d)", nb, nb ? below[0] : -1, n_ref, split_below[0]);
}

/* f(x, y, c) = (x - 0.3)^2 + (log10 lr + 2.5)^2 / 4 + (c != 2) * 0.3 */
static double quad(const double *v) {
    return (v[0] - 0.3) * (v[0] - 0.3) + pow(log10(v[1]) + 2.5, 2) / 4 + (v[2] != 2) * 0.3;
}

/* best-so-far curve of a study of n trials (the same per-trial generator as a study's) */
static void run_study(a2m_sampler_kind kind, uint64_t seed, int n, const a2m_search_space *s, double *curve) {
    a2m_search_trial t[50];
    memset(t, 0, sizeof t);
    double best = INFINITY;
    for (int i = 0; i < n; i++) {
        uint64_t rng = seed * 0x9E3779B97F4A7C15ull ^ ((uint64_t)i + 1) * 0xD1B54A32D192ED03ull;
        a2m_search_sample(s, t, (size_t)i, 0, kind, a2m_tpe_default_params(), &rng, t[i].params);
        for (int k = 0; k < s->n; k++)
            CHECK(s->p[k].kind == A2M_PARAM_CHOICE ? t[i].params[k] >= 0 && t[i].params[k] < s->p[k].n_choices
                                                   : t[i].params[k] >= s->p[k].low && t[i].params[k] <= s->p[k].high,
                  "sample %d of %s in range: %g", i, s->p[k].name, t[i].params[k]);
        t[i].number = i, t[i].state = A2M_TRIAL_COMPLETE, t[i].value = quad(t[i].params);
        curve[i] = best = fmin(best, t[i].value);
    }
}

/* bench/bench_search.c's "quad" at 50 trials, 10 seeds: TPE reaches random's best in 0.33 of its trials (mean;
 * Optuna 3.1: 0.43), best 0.0046 vs 0.096 */
static void check_tpe_beats_random(void) {
    a2m_search_space s;
    parse(
        "{\"dropout\": {\"type\": \"float\", \"low\": 0, \"high\": 0.9}, \"lr\": {\"type\": \"float\", \"low\": 1e-5, "
        "\"high\": 1, \"log\": true}, \"batch\": {\"type\": \"categorical\", \"choices\": [4, 8, 16, 32]}}",
        &s);
    double frac = 0, ct[50], cr[50];
    for (uint64_t seed = 1; seed <= 10; seed++) {
        run_study(A2M_SAMPLER_TPE, seed, 50, &s, ct), run_study(A2M_SAMPLER_RANDOM, seed, 50, &s, cr);
        int k = 0;
        while (k < 50 && ct[k] > cr[49]) k++;
        frac += (k + 1) / 50.0 / 10;
    }
    CHECK(frac <= 0.4, "TPE reaches random's best in %.2f of its trials (measured 0.33)", frac);
}

/* the pruner's decision (-1 when it fails) */
static int prune_of(const a2m_search_trial *t, size_t n, const double *mine, int step, int maximize,
                    a2m_median_params mp) {
    int prune = -1;
    CHECK(a2m_search_median_prune(t, n, mine, step, maximize, mp, &prune) == A2M_OK, "median pruner: %s", a2m_errmsg());
    return prune;
}

static void check_median(void) {
    double a[3] = {0.5, 0.4, 0.3}, b[3] = {0.6, 0.5, 0.2}, mine[3] = {0.55, 0.45, 0.1};
    a2m_search_trial t[6];
    memset(t, 0, sizeof t);
    for (int i = 0; i < 6; i++) t[i].state = A2M_TRIAL_COMPLETE, t[i].steps = i % 2 ? b : a, t[i].n_steps = 3;
    a2m_median_params mp = a2m_median_default_params();
    CHECK(mp.n_startup_trials == 5 && mp.n_warmup_steps == 6, "defaults: 5 start-up trials, 6 warm-up epochs");
    double worse[3] = {9, 9, 9};
    CHECK(0 == prune_of(t, 6, worse, 3, 0, mp), "a trial worse than all is kept in the warm-up");
    CHECK(1 == prune_of(t, 6, worse, 3, 0, (a2m_median_params){5, 2}), "and pruned after it");
    mp = (a2m_median_params){5, 0}; /* Optuna's MedianPruner() */
    /* step 1: best 0.55 vs median of {0.5 x3, 0.6 x3} = 0.55: not worse */
    CHECK(0 == prune_of(t, 6, mine, 1, 0, mp), "0.55 = median at step 1 is kept");
    mine[0] = 0.56;
    CHECK(1 == prune_of(t, 6, mine, 1, 0, mp), "0.56 > median 0.55 at step 1 is pruned");
    CHECK(0 == prune_of(t, 6, mine, 3, 0, mp), "step 3: best 0.1 under the median 0.25");
    CHECK(0 == prune_of(t, 4, mine, 1, 0, mp), "4 complete trials < 5 start-up: never pruned");
    mp.n_warmup_steps = 1;
    CHECK(0 == prune_of(t, 6, mine, 1, 0, mp), "warm-up step");
    mp.n_warmup_steps = 0;
    CHECK(0 == prune_of(t, 6, mine, 1, 1, mp), "maximising: 0.56 beats 0.55");
    t[5].state = A2M_TRIAL_PRUNED; /* only complete trials make the median: {0.5 x3, 0.6 x2} -> 0.5 */
    mine[0] = 0.52;
    CHECK(1 == prune_of(t, 6, mine, 1, 0, mp), "median of complete trials only");
}

static void check_study(void) {
    const char *db = test_tmp("study.db");
    test_study_fresh(db);
    a2m_study_info want = test_study_want();
    parse("{\"lr\": {\"type\": \"float\", \"low\": 1e-4, \"high\": 1e-2, \"log\": true}, \"batch\": {\"type\": "
          "\"categorical\", \"choices\": [4, 8]}}",
          &want.space);
    a2m_study *st = NULL, *st2 = NULL;
    a2m_study_info in;
    CHECK(a2m_study_new_existing(db, "default", &st, &in) != A2M_OK && !st, "a missing study is not made by --show");
    CHECK(a2m_study_new(db, "default", &want, &st, &in) == A2M_OK, "open: %s", a2m_errmsg());
    if (!st) return;
    CHECK(in.epochs == 3 && in.seed == 7 && in.space.n == 2, "stored settings");
    double v[A2M_SEARCH_MAX_PARAMS], v1[A2M_SEARCH_MAX_PARAMS];
    int n0, n1, n2, n3, prune = 1;
    CHECK(a2m_study_next_trial(st, 3, 60, "w1", a2m_tpe_default_params(), &n0, v) == A2M_OK && n0 == 0, "trial 0");
    CHECK(a2m_study_report(st, n0, 1, 0.5, a2m_median_default_params(), &prune) == A2M_OK && !prune, "report");
    CHECK(a2m_study_finish(st, n0, A2M_TRIAL_COMPLETE, 0.5, 0) == A2M_OK, "finish: %s", a2m_errmsg());
    CHECK(a2m_study_next_trial(st, 3, 60, "w1", a2m_tpe_default_params(), &n1, v1) == A2M_OK && n1 == 1, "trial 1");
    /* a second worker: trial 1's heartbeat is "older than 0 s": it is failed and re-run with its parameters */
    CHECK(a2m_study_new(db, "default", &want, &st2, NULL) == A2M_OK, "second worker: %s", a2m_errmsg());
    usleep(2000);
    CHECK(a2m_study_next_trial(st2, 3, 0.001, "w2", a2m_tpe_default_params(), &n2, v) == A2M_OK && n2 == 2, "trial 2");
    CHECK(v[0] == v1[0] && v[1] == v1[1], "the failed trial's parameters re-run: %g %g vs %g %g", v[0], v[1], v1[0],
          v1[1]);
    int prune2;
    CHECK(a2m_study_report(st, n1, 1, 0.4, a2m_median_default_params(), &prune2) == A2M_ERR_RANGE,
          "the stale worker is told");
    CHECK(a2m_study_finish(st2, n2, A2M_TRIAL_PRUNED, NAN, 0) == A2M_OK, "pruned");
    CHECK(a2m_study_next_trial(st2, 3, 60, "w2", a2m_tpe_default_params(), &n3, v) == A2M_OK && n3 == 3, "trial 3");
    CHECK(a2m_study_finish(st2, n3, A2M_TRIAL_FAILED, NAN, 0) == A2M_OK, "failed (an error: counted, not re-run)");
    CHECK(a2m_study_next_trial(st2, 3, 60, "w2", a2m_tpe_default_params(), &n3, v) == A2M_OK && n3 == -1,
          "3 trials counted: done");
    a2m_search_trial *t;
    size_t n;
    CHECK(a2m_study_trials(st, &t, &n) == A2M_OK && n == 4, "4 trials stored");
    if (n == 4) {
        CHECK(t[0].state == A2M_TRIAL_COMPLETE && t[0].value == 0.5 && t[0].n_steps == 1 && t[0].steps[0] == 0.5,
              "trial 0 stored");
        CHECK(t[1].state == A2M_TRIAL_FAILED && t[2].state == A2M_TRIAL_PRUNED && t[3].state == A2M_TRIAL_FAILED,
              "states");
        CHECK(t[1].params[0] == v1[0], "params stored exactly");
    }
    /* read whole by name: the same trials and settings as through an open study */
    a2m_search_trial *t2;
    size_t n2r;
    a2m_study_info in2;
    CHECK(a2m_study_read(db, "default", &in2, &t2, &n2r) == A2M_OK && n2r == n && in2.epochs == 3 && in2.seed == 7,
          "study read: %zu trials: %s", n2r, a2m_errmsg());
    for (size_t i = 0; i < n && i < n2r; i++)
        CHECK(t2[i].state == t[i].state && (t2[i].value == t[i].value || (isnan(t2[i].value) && isnan(t[i].value))) &&
                  t2[i].params[0] == t[i].params[0],
              "study read: trial %zu as stored", i);
    a2m_search_trials_free(t2, n2r);
    CHECK(a2m_study_read(db, "nosuch", &in2, &t2, &n2r) != A2M_OK && !t2 && n2r == 0, "study read: a missing name");
    a2m_search_trials_free(t, n);
    a2m_study_info other = want;
    other.epochs = 4;
    a2m_study *st3 = NULL;
    CHECK(a2m_study_new(db, "default", &other, &st3, NULL) == A2M_ERR_ARG && strstr(a2m_errmsg(), "epochs"),
          "another epoch count is refused: %s", a2m_errmsg());
    a2m_study_del(st), a2m_study_del(st2);
    test_study_fresh(db);
    FILE *f = fopen(db, "wb");
    fputs("this is not a database, just text long enough to be looked at by SQLite as a header ....", f);
    fclose(f);
    CHECK(a2m_study_new_existing(db, "default", &st, &in) != A2M_OK && strstr(a2m_errmsg(), db), "not a database: %s",
          a2m_errmsg());
    test_study_fresh(db);
}

/* A float range with a step: high snapped to low + k step (as Optuna) must stay inside the option's range and
 * the high given, read back from the stored JSON, and give samples that apply. Found by fuzz_search_space:
 * 1e-4..5 step 4 stored as 1e-4..4.0001 read back as a width 3.9999999999999996 under its step; 0.074..0.95
 * step 0.125 snapped to 0.95000000000000007, past dropout's 0.95. */
static void check_stepped_ranges(void) {
    const char *name[] = {"dropout", "lr", "clip", "onset-weight", "ema"};
    const double lo[] = {0, 1e-9, 0, 0.01, 0}, hi[] = {0.95, 10, 1e6, 100, 0.9999};
    uint64_t st = 12345, rng = 7;
    int parsed = 0, back = 0, applied = 0, draws = 0;
    for (int it = 0; it < 20000; it++) {
        int k = it % 5;
        double a = lo[k] + (hi[k] - lo[k]) * a2m_uniform53(&st) * a2m_uniform53(&st);
        double b = it % 3 ? hi[k] : a + (hi[k] - a) * a2m_uniform53(&st);
        double step = it % 2 ? (b - a) / (1 + it % 17) : (b - a) * a2m_uniform53(&st);
        char js[256];
        snprintf(js, sizeof js, "{\"%s\": {\"type\": \"float\", \"low\": %.17g, \"high\": %.17g, \"step\": %.17g}}",
                 name[k], a, b, step);
        a2m_search_space s, s2;
        if (parse(js, &s) != A2M_OK) continue;
        parsed++;
        char *j = a2m_search_space_json(&s);
        back += j && parse(j, &s2) == A2M_OK && s2.p[0].high == s.p[0].high;
        free(j);
        for (int t = 0; t < 3; t++, draws++) {
            double x[A2M_SEARCH_MAX_PARAMS];
            a2m_train_params p = a2m_train_default_params();
            applied +=
                a2m_search_sample(&s, NULL, 0, 0, A2M_SAMPLER_RANDOM, a2m_tpe_default_params(), &rng, x) == A2M_OK &&
                a2m_search_apply(&s, x, &p) == A2M_OK && x[0] <= b;
        }
    }
    CHECK(parsed > 15000 && back == parsed && applied == draws, "%d parsed, %d read back, %d of %d draws applied",
          parsed, back, applied, draws);
}

int main(void) {
    check_space();
    check_stepped_ranges();
    check_parzen_vs_optuna();
    check_split_vs_optuna();
    check_tpe_beats_random();
    check_median();
    check_study();
    return test_done("test_search");
}
