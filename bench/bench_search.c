/* Sample efficiency of a2m's TPE against random search, on the cheap analytic objectives of
 * bench/search_optuna.py (run beside it: Optuna 3.1 on the same functions). For each seed: random search's
 * best after TRIALS trials, and the first trial at which TPE's best reaches it; printed as the mean fraction
 * of TRIALS (target <= 0.60) with the mean best values. The objectives go through a2m_search_sample exactly
 * as a study's trials do (the same space parsing, history and sampler code); only training is replaced.
 * The median pruner: the same trial budget (TRIALS trials of 30 epochs on learning curves) with and without it,
 * per seed: epochs saved and the paired difference of the best values (docs/search.md).
 * usage: bench_search [TRIALS] [SEEDS (40)] [sweep: the pruner at several warm-ups and start-ups] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a2m/error.h"
#include "a2m/search.h"

static double quad(const double *v) { return pow(v[0] - 0.3, 2) + pow(log10(v[1]) + 2.5, 2) / 4 + (v[2] != 2) * 0.3; }

/* hidden {32..256}, lr, batch {4..32}, dropout, class-weight-power, loss {ce, focal}, label-smoothing */
static double train_like(const double *v) {
    double h = 32 << (int)v[0], b = 4 << (int)v[2];
    return 0.2 + 0.08 * pow(log10(v[1]) + 3.03, 2) + 0.01 * fabs(log2(h / 128)) + 0.01 * fabs(log2(b / 8)) +
           0.02 * v[3] * v[3] + 0.05 * v[4] + 0.03 * (v[5] == 1) + 0.1 * v[6];
}

static const char *quad_space =
    "{\"dropout\": {\"type\": \"float\", \"low\": 0, \"high\": 0.9}, \"lr\": {\"type\": \"float\", \"low\": 1e-5, "
    "\"high\": 1, \"log\": true}, \"batch\": {\"type\": \"categorical\", \"choices\": [4, 8, 16, 32]}}";

/* best-so-far curve of one study */
static int study(const a2m_search_space *s, double (*f)(const double *), a2m_sampler_kind kind, uint64_t seed, int n,
                 double *curve) {
    a2m_search_trial *t = calloc((size_t)n, sizeof *t);
    if (!t) return A2M_ERR_NOMEM;
    double best = INFINITY;
    int rc = A2M_OK;
    for (int i = 0; i < n && !rc; i++) {
        uint64_t rng = seed * 0x9E3779B97F4A7C15ull ^ ((uint64_t)i + 1) * 0xD1B54A32D192ED03ull; /* as a study */
        rc = a2m_search_sample(s, t, (size_t)i, 0, kind, a2m_tpe_default_params(), &rng, t[i].params);
        t[i].number = i, t[i].state = A2M_TRIAL_COMPLETE, t[i].value = f(t[i].params);
        curve[i] = best = fmin(best, t[i].value);
    }
    free(t);
    return rc;
}

/* A learning curve for the pruner: the value after epoch e (1-based) of a trial whose final value is
 * train_like(v): it falls from 1.0 at a rate set by the learning rate (slow below 1e-3), with a bump of
 * +-0.01 per epoch that does not average out early (a validation loss is noisy). */
static double curve_at(const double *v, int e, uint64_t trial) {
    double final = train_like(v), rate = 0.25 * fmin(1.0, sqrt(v[1] / 1e-3));
    uint64_t h = (trial + 1) * 0x9E3779B97F4A7C15ull ^ (uint64_t)e * 0xD1B54A32D192ED03ull;
    h ^= h >> 31, h *= 0xBF58476D1CE4E5B9ull, h ^= h >> 29;
    double noise = 0.01 * ((double)(h >> 11) * 0x1.0p-53 * 2 - 1);
    return final + (1.0 - final) * exp(-rate * e) + noise;
}

/* One study of n trials of up to E epochs with or without the median pruner (as a worker runs it: each epoch
 * reported, the pruner asked with mp). Returns the best value; *epochs = epochs trained in all. */
static double pruned_study(const a2m_search_space *s, uint64_t seed, int n, int E, int prune, a2m_median_params mp,
                           long *epochs) {
    a2m_search_trial *t = calloc((size_t)n, sizeof *t);
    double *steps = calloc((size_t)n * E, sizeof *steps), best = INFINITY;
    *epochs = 0;
    for (int i = 0; t && steps && i < n; i++) {
        uint64_t rng = seed * 0x9E3779B97F4A7C15ull ^ ((uint64_t)i + 1) * 0xD1B54A32D192ED03ull;
        a2m_search_sample(s, t, (size_t)i, 0, A2M_SAMPLER_TPE, a2m_tpe_default_params(), &rng, t[i].params);
        t[i].number = i, t[i].steps = steps + (size_t)i * E, t[i].state = A2M_TRIAL_RUNNING;
        double b = INFINITY;
        for (int e = 1; e <= E; e++) {
            t[i].steps[e - 1] = curve_at(t[i].params, e, seed * 1000 + (uint64_t)i), t[i].n_steps = e;
            b = fmin(b, t[i].steps[e - 1]);
            ++*epochs;
            int stop = 0;
            if (prune && a2m_search_median_prune(t, (size_t)i, t[i].steps, e, 0, mp, &stop)) {
                free(t), free(steps);
                return NAN; /* out of memory */
            }
            if (stop) {
                t[i].state = A2M_TRIAL_PRUNED;
                break;
            }
        }
        if (t[i].state == A2M_TRIAL_RUNNING) t[i].state = A2M_TRIAL_COMPLETE, t[i].value = b, best = fmin(best, b);
    }
    free(t), free(steps);
    return best;
}

typedef struct prune_cmp {
    double saved, saved_sd;      /* fraction of epochs saved: mean, standard deviation over seeds */
    double b0, b0_sd, b1, b1_sd; /* best without / with the pruner: mean, standard deviation */
    double diff, diff_se;        /* mean paired difference best(pruner) - best(none), its standard error */
} prune_cmp;

/* The same trial budget with and without the pruner, per seed (the sampler, the curves' noise and each trial's
 * number the same on both sides): epochs saved and the paired difference of the best values. per_seed: print
 * a row a seed. */
static prune_cmp compare_pruner(const a2m_search_space *s, int trials, int seeds, a2m_median_params mp, int per_seed) {
    double sum[4] = {0}, sq[4] = {0}; /* saved, b0, b1, b1 - b0 */
    for (int seed = 1; seed <= seeds; seed++) {
        long e0, e1;
        double b0 = pruned_study(s, (uint64_t)seed, trials, 30, 0, mp, &e0);
        double b1 = pruned_study(s, (uint64_t)seed, trials, 30, 1, mp, &e1);
        double x[4] = {1.0 - (double)e1 / (double)e0, b0, b1, b1 - b0};
        for (int k = 0; k < 4; k++) sum[k] += x[k], sq[k] += x[k] * x[k];
        if (per_seed)
            printf("  seed %2d: best %.5f without pruner (%ld epochs), %.5f with (%ld epochs, %.0f%% fewer)\n", seed,
                   b0, e0, b1, e1, 100 * x[0]);
    }
    double mean[4], sd[4];
    for (int k = 0; k < 4; k++) {
        mean[k] = sum[k] / seeds;
        sd[k] = seeds > 1 ? sqrt(fmax(0.0, (sq[k] - seeds * mean[k] * mean[k]) / (seeds - 1))) : 0.0;
    }
    return (prune_cmp){mean[0], sd[0], mean[1], sd[1], mean[2], sd[2], mean[3], sd[3] / sqrt((double)seeds)};
}

/* The median pruner at an equal trial budget: TRIALS trials of 30 epochs with and without it, per seed. With
 * sweep, the same for several warm-ups and start-up counts (how the defaults were chosen). */
static void bench_pruner(int trials, int seeds, int sweep) {
    a2m_search_space s;
    a2m_search_space_default(&s);
    a2m_median_params d = a2m_median_default_params();
    printf("a2m median pruner (n_startup_trials %d, n_warmup_steps %d): %d trials of 30 epochs, %d seeds, with and "
           "without it:\n",
           d.n_startup_trials, d.n_warmup_steps, trials, seeds);
    prune_cmp c = compare_pruner(&s, trials, seeds, d, 1);
    printf("a2m median pruner: %.0f%% fewer epochs (sd %.0f%%), mean best %.5f (sd %.5f) vs %.5f (sd %.5f) without; "
           "paired difference %+.5f (standard error %.5f)\n",
           100 * c.saved, 100 * c.saved_sd, c.b1, c.b1_sd, c.b0, c.b0_sd, c.diff, c.diff_se);
    if (!sweep) return;
    int warm[] = {0, 2, 4, 6, 8, 10}, start[] = {5, 10};
    for (size_t i = 0; i < sizeof start / sizeof *start; i++)
        for (size_t j = 0; j < sizeof warm / sizeof *warm; j++) {
            c = compare_pruner(&s, trials, seeds, (a2m_median_params){start[i], warm[j]}, 0);
            printf("  startup %2d warmup %2d: %3.0f%% fewer epochs, best %.5f vs %.5f, difference %+.5f (se %.5f)\n",
                   start[i], warm[j], 100 * c.saved, c.b1, c.b0, c.diff, c.diff_se);
        }
}

int main(int argc, char **argv) {
    int trials = argc > 1 ? atoi(argv[1]) : 50, seeds = argc > 2 ? atoi(argv[2]) : 40;
    int sweep = argc > 3 && !strcmp(argv[3], "sweep");
    if (trials < 11 || seeds < 1) return fprintf(stderr, "usage: bench_search [TRIALS > 10] [SEEDS] [sweep]\n"), 2;
    a2m_search_space sq, st;
    a2m_search_space_parse(quad_space, strlen(quad_space), "quad space", &sq);
    a2m_search_space_default(&st);
    const char *names[] = {"quad", "train"};
    const a2m_search_space *spaces[] = {&sq, &st};
    double (*fs[])(const double *) = {quad, train_like};
    double *ct = malloc(2 * (size_t)trials * sizeof *ct), *cr = ct ? ct + trials : NULL;
    if (!ct) return 1;
    for (int o = 0; o < 2; o++) {
        double frac = 0, bt = 0, br = 0;
        for (int seed = 1; seed <= seeds; seed++) {
            if (study(spaces[o], fs[o], A2M_SAMPLER_TPE, (uint64_t)seed, trials, ct) ||
                study(spaces[o], fs[o], A2M_SAMPLER_RANDOM, (uint64_t)seed, trials, cr))
                return fprintf(stderr, "bench_search: %s\n", a2m_errmsg()), 1;
            int k = 0;
            while (k < trials && ct[k] > cr[trials - 1]) k++;
            frac += (double)(k + 1) / trials, bt += ct[trials - 1], br += cr[trials - 1];
        }
        printf("a2m %s: %d trials, %d seeds: TPE reaches random's best in %.2f of its trials (mean); best TPE %.5f "
               "random %.5f\n",
               names[o], trials, seeds, frac / seeds, bt / seeds, br / seeds);
    }
    free(ct);
    bench_pruner(trials, seeds, sweep);
    return 0;
}
