/* Samplers (TPE as Optuna 3.1's TPESampler defaults, and random) and the median pruner.
 *
 * TPE (Bergstra et al. 2011; Optuna's optuna/samplers/_tpe): per parameter, independently, the complete and
 * pruned trials are ranked (complete by value, then pruned by the last epoch they reached and its value);
 * the best gamma(n) = min(ceil(0.1 n), 25) form "below", the rest "above". Each set becomes a Parzen
 * estimator: one truncated normal per observation plus a prior (the range's middle, sigma = the range,
 * weight prior_weight), sigma = the larger distance to a neighbour (the first and last use their inner
 * neighbour: consider_endpoints False), clipped to [range / min(100, 1 + n), range] (the "magic clip"),
 * observation weights 1 (up to 25; older ones ramp down beyond). 24 candidates drawn from "below" are
 * scored by log l(x) - log g(x) and the best is taken. Log ranges are modelled in log space, stepped ranges
 * by the probability mass of their step. One difference from 3.1: a component's density includes its
 * 1/sigma (3.1's truncnorm.logpdf left it out; later Optuna releases added it). */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "a2m/error.h"
#include "a2m/search.h"
#include "core/cmp.h"
#include "core/rand.h"
#include "search/tpe_internal.h"

a2m_tpe_params a2m_tpe_default_params(void) { return (a2m_tpe_params){10, 24, 1.0, 1, 0}; }
/* Optuna's MedianPruner() start-up (5 complete trials) but a warm-up of 6 epochs, not 0: on bench_search's
 * learning curves (50 trials of 30 epochs, 40 seeds, the same trial budget) no warm-up saves 62% of the epochs
 * but its best is 0.0037 worse (paired, standard error 0.0025: slow starters pruned at epoch 1-5 that would
 * have ended best); 6 epochs save 41% at +0.0013 (se 0.0020), within the seeds' spread (sd 0.011). */
a2m_median_params a2m_median_default_params(void) { return (a2m_median_params){5, 6}; }

const char *a2m_trial_state_name(int state) {
    static const char *names[] = {"running", "complete", "pruned", "failed"};
    return state >= 0 && state < 4 ? names[state] : "?";
}

/* ---- random numbers (splitmix64, core/rand.h) ------------------------------------------------------- */
static double rng_normal(uint64_t *s) {
    double u = 1.0 - a2m_uniform53(s), v = a2m_uniform53(s);
    return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

/* ---- the normal distribution in log space ----------------------------------------------------------- */
static double log_ndtr(double x) {
    if (x > -30) return log(0.5 * erfc(-x / M_SQRT2));
    double x2 = x * x; /* asymptotic series: erfc underflows below about -37 */
    return -0.5 * x2 - log(-x) - 0.5 * log(2 * M_PI) + log1p(-1 / x2 + 3 / (x2 * x2));
}
static double log_diff(double la, double lb) { return la + log1p(-exp(lb - la)); } /* log(e^la - e^lb) */
/* log of the standard normal's mass in [a, b], a < b (as Optuna's _truncnorm._log_gauss_mass) */
static double log_gauss_mass(double a, double b) {
    if (b <= 0) return log_diff(log_ndtr(b), log_ndtr(a));
    if (a > 0) return log_diff(log_ndtr(-a), log_ndtr(-b));
    return log1p(-0.5 * erfc(-a / M_SQRT2) - 0.5 * erfc(b / M_SQRT2));
}

/* ---- one parameter's Parzen estimator --------------------------------------------------------------- */
typedef struct parzen {
    int n;                  /* components: observations + the prior */
    double *w, *mu, *sigma; /* numerical; categorical: w and cat [n x n_choices] */
    double *cat;
    double low, high, q; /* transformed bounds, q = step (0: continuous) */
} parzen;

static void bounds(const a2m_search_param *p, double *lo, double *hi, double *q) {
    *q = 0;
    if (p->log)
        *lo = log(p->kind == A2M_PARAM_INT ? p->low - 0.5 : p->low),
        *hi = log(p->kind == A2M_PARAM_INT ? p->high + 0.5 : p->high);
    else if (p->step > 0) *q = p->step, *lo = p->low - 0.5 * p->step, *hi = p->high + 0.5 * p->step;
    else *lo = p->low, *hi = p->high;
}

/* Optuna's default_weights: 1 for the last 25 observations, a ramp from 1/n up for older ones */
static void obs_weights(int n, double *w) {
    for (int i = 0; i < n; i++)
        w[i] = n < 25 || i >= n - 25 ? 1.0 : 1.0 / n + (n - 26 > 0 ? (1.0 - 1.0 / n) * i / (n - 26) : 0);
}

static int cmp_dbl_idx(const void *a, const void *b) {
    const double *x = a, *y = b;
    return x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : (x[1] < y[1] ? -1 : x[1] > y[1]);
}

static void numerical_sigmas(parzen *e, const a2m_tpe_params *tp) {
    int n = e->n;
    double *s = malloc((size_t)n * 2 * sizeof *s);
    if (!s) return;
    for (int i = 0; i < n; i++) s[2 * i] = e->mu[i], s[2 * i + 1] = i;
    qsort(s, (size_t)n, 2 * sizeof *s, cmp_dbl_idx);
    for (int k = 0; k < n; k++) {
        double left = s[2 * k] - (k ? s[2 * (k - 1)] : e->low),
               right = (k + 1 < n ? s[2 * (k + 1)] : e->high) - s[2 * k];
        double sg = fmax(left, right);
        if (!tp->consider_endpoints && n >= 2 && k == 0) sg = s[2] - s[0];
        if (!tp->consider_endpoints && n >= 2 && k == n - 1) sg = s[2 * (n - 1)] - s[2 * (n - 2)];
        e->sigma[(int)s[2 * k + 1]] = sg;
    }
    free(s);
    double range = e->high - e->low, lo = tp->consider_magic_clip ? range / fmin(100.0, 1.0 + n) : 1e-12;
    for (int i = 0; i < n; i++) e->sigma[i] = fmin(fmax(e->sigma[i], lo), range);
    e->sigma[n - 1] = range; /* the prior's */
}

/* obs: the internal values of the n_obs observations of p, in trial order */
static int parzen_make(parzen *e, const a2m_search_param *p, const double *obs, int n_obs, const a2m_tpe_params *tp) {
    memset(e, 0, sizeof *e);
    int n = e->n = n_obs + 1, C = p->n_choices;
    e->w = malloc((size_t)n * sizeof *e->w);
    if (p->kind == A2M_PARAM_CHOICE) e->cat = malloc((size_t)n * C * sizeof *e->cat);
    else e->mu = malloc((size_t)n * sizeof *e->mu), e->sigma = malloc((size_t)n * sizeof *e->sigma);
    if (!e->w || (p->kind == A2M_PARAM_CHOICE ? !e->cat : !e->mu || !e->sigma))
        return a2m_error(A2M_ERR_NOMEM, "search: out of memory");
    obs_weights(n_obs, e->w);
    e->w[n_obs] = tp->prior_weight;
    double sum = 0;
    for (int i = 0; i < n; i++) sum += e->w[i];
    for (int i = 0; i < n; i++) e->w[i] /= sum;
    if (p->kind == A2M_PARAM_CHOICE) { /* each row: prior_weight / n everywhere, + 1 on the observed choice */
        for (int i = 0; i < n; i++) {
            for (int c = 0; c < C; c++) e->cat[i * C + c] = tp->prior_weight / n;
            if (i < n_obs) e->cat[i * C + (int)obs[i]] += 1;
            double rs = 0;
            for (int c = 0; c < C; c++) rs += e->cat[i * C + c];
            for (int c = 0; c < C; c++) e->cat[i * C + c] /= rs;
        }
        return A2M_OK;
    }
    bounds(p, &e->low, &e->high, &e->q);
    for (int i = 0; i < n_obs; i++) e->mu[i] = p->log ? log(obs[i]) : obs[i];
    e->mu[n_obs] = 0.5 * (e->low + e->high);
    numerical_sigmas(e, tp);
    return e->sigma[0] == e->sigma[0] ? A2M_OK : a2m_error(A2M_ERR_NOMEM, "search: out of memory");
}

static void parzen_free(parzen *e) { free(e->w), free(e->mu), free(e->sigma), free(e->cat); }

static int pick(const double *w, int n, uint64_t *rng) {
    double u = a2m_uniform53(rng), c = 0;
    for (int i = 0; i < n; i++)
        if (u < (c += w[i])) return i;
    return n - 1;
}

/* transformed value -> internal value of p (rounded to its step and clipped, as Optuna) */
static double from_uniform(const a2m_search_param *p, double x) {
    if (p->log) x = exp(x);
    if (p->kind == A2M_PARAM_INT && p->log) x = round(x);
    else if (p->step > 0) x = round((x - p->low) / p->step) * p->step + p->low;
    return fmin(fmax(x, p->low), p->high);
}

static double parzen_sample(const parzen *e, const a2m_search_param *p, uint64_t *rng) {
    int k = pick(e->w, e->n, rng);
    if (p->kind == A2M_PARAM_CHOICE) return pick(e->cat + (size_t)k * p->n_choices, p->n_choices, rng);
    double x = e->mu[k];
    for (int t = 0; t < 1000; t++) { /* rejection: mu lies inside and sigma <= the range, so >= 34% accepted */
        double y = e->mu[k] + e->sigma[k] * rng_normal(rng);
        if (y >= e->low && y <= e->high) {
            x = y;
            break;
        }
    }
    return from_uniform(p, x);
}

static double parzen_log_pdf(const parzen *e, const a2m_search_param *p, double v) {
    double mx = -INFINITY, *lp = malloc((size_t)e->n * sizeof *lp);
    if (!lp) return -INFINITY;
    double x = p->kind != A2M_PARAM_CHOICE && p->log ? log(v) : v;
    for (int k = 0; k < e->n; k++) {
        double l;
        if (p->kind == A2M_PARAM_CHOICE) l = log(e->cat[(size_t)k * p->n_choices + (int)v]);
        else {
            double a = (e->low - e->mu[k]) / e->sigma[k], b = (e->high - e->mu[k]) / e->sigma[k];
            if (e->q > 0) {
                double ub = fmin(x + e->q / 2, e->high), lb = fmax(x - e->q / 2, e->low);
                l = log_gauss_mass((lb - e->mu[k]) / e->sigma[k], (ub - e->mu[k]) / e->sigma[k]) - log_gauss_mass(a, b);
            } else {
                double z = (x - e->mu[k]) / e->sigma[k];
                l = -0.5 * z * z - 0.5 * log(2 * M_PI) - log(e->sigma[k]) - log_gauss_mass(a, b);
            }
        }
        lp[k] = l + log(e->w[k]);
        mx = fmax(mx, lp[k]);
    }
    double s = 0;
    for (int k = 0; mx > -INFINITY && k < e->n; k++) s += exp(lp[k] - mx);
    free(lp);
    return mx > -INFINITY ? mx + log(s) : -INFINITY;
}

static double random_value(const a2m_search_param *p, uint64_t *rng) {
    if (p->kind == A2M_PARAM_CHOICE) return (double)(a2m_splitmix64(rng) % (uint64_t)p->n_choices);
    double lo, hi, q;
    if (p->log) {
        bounds(p, &lo, &hi, &q);
        if (p->kind == A2M_PARAM_FLOAT) lo = log(p->low), hi = log(p->high);
        return from_uniform(p, lo + (hi - lo) * a2m_uniform53(rng));
    }
    if (p->step > 0) {
        uint64_t n = (uint64_t)llround((p->high - p->low) / p->step) + 1;
        return fmin(p->low + p->step * (double)(a2m_splitmix64(rng) % n), p->high); /* the last step may round up */
    }
    return p->low + (p->high - p->low) * a2m_uniform53(rng);
}

/* ---- ranking the history ---------------------------------------------------------------------------- */
typedef struct ranked {
    double step, score; /* sorted by (step, score): complete trials have step -inf */
    int idx;
} ranked;

static int cmp_ranked(const void *a, const void *b) {
    const ranked *x = a, *y = b;
    return a2m_cmp_keys(3, (double[]){x->step, x->score, x->idx}, (double[]){y->step, y->score, y->idx}); /* stable */
}
static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

static void score_of(const a2m_search_trial *t, double sign, ranked *r) {
    r->step = -INFINITY, r->score = sign * t->value;
    if (t->state == A2M_TRIAL_PRUNED) {
        int last = t->n_steps - 1;
        while (last >= 0 && isnan(t->steps[last])) last--;
        if (last < 0) r->step = 1, r->score = 0;
        else r->step = -(double)(last + 1), r->score = sign * t->steps[last];
    }
    if (isnan(r->score)) r->score = INFINITY;
}

static int tpe_param(const a2m_search_param *p, int pi, const a2m_search_trial *trials, const int *below, int nb,
                     const int *above, int na, a2m_tpe_params tp, uint64_t *rng, double *out) {
    double *ob = malloc(((size_t)nb + na + 1) * sizeof *ob), *oa = ob ? ob + nb : NULL;
    if (!ob) return a2m_error(A2M_ERR_NOMEM, "search: out of memory");
    int mb = 0, ma = 0;
    for (int i = 0; i < nb; i++)
        if (!isnan(trials[below[i]].params[pi])) ob[mb++] = trials[below[i]].params[pi];
    for (int i = 0; i < na; i++)
        if (!isnan(trials[above[i]].params[pi])) oa[ma++] = trials[above[i]].params[pi];
    parzen l, g;
    int rc = parzen_make(&l, p, ob, mb, &tp);
    if (!rc) rc = parzen_make(&g, p, oa, ma, &tp);
    double best = -INFINITY;
    for (int c = 0; !rc && c < tp.n_ei_candidates; c++) {
        double x = parzen_sample(&l, p, rng);
        double score = parzen_log_pdf(&l, p, x) - parzen_log_pdf(&g, p, x);
        if (c == 0 || score > best) best = score, *out = x;
    }
    parzen_free(&l), parzen_free(&g), free(ob);
    return rc;
}

int a2m_search_sample(const a2m_search_space *s, const a2m_search_trial *trials, size_t n, int maximize,
                      a2m_sampler_kind kind, a2m_tpe_params tp, uint64_t *rng, double *values) {
    ranked *r = malloc((n + 1) * sizeof *r);
    int *idx = malloc((n + 1) * sizeof *idx);
    if (!r || !idx) {
        free(r), free(idx);
        return a2m_error(A2M_ERR_NOMEM, "search: out of memory");
    }
    int m = 0;
    for (size_t i = 0; i < n; i++)
        if (trials[i].state == A2M_TRIAL_COMPLETE || trials[i].state == A2M_TRIAL_PRUNED)
            score_of(&trials[i], maximize ? -1 : 1, &r[m]), r[m].idx = (int)i, m++;
    int rc = A2M_OK;
    if (kind == A2M_SAMPLER_RANDOM || m < tp.n_startup_trials || m == 0) {
        for (int i = 0; i < s->n; i++) values[i] = random_value(&s->p[i], rng);
    } else {
        qsort(r, (size_t)m, sizeof *r, cmp_ranked);
        int nb = (int)ceil(0.1 * m);
        nb = nb < 25 ? nb : 25;
        for (int i = 0; i < m; i++) idx[i] = r[i].idx;
        qsort(idx, (size_t)nb, sizeof *idx, cmp_int), qsort(idx + nb, (size_t)(m - nb), sizeof *idx, cmp_int);
        for (int i = 0; i < s->n && !rc; i++)
            rc = tpe_param(&s->p[i], i, trials, idx, nb, idx + nb, m - nb, tp, rng, &values[i]);
    }
    free(r), free(idx);
    return rc;
}

/* ---- median pruner ---------------------------------------------------------------------------------- */
static int cmp_dbl(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int a2m_search_median_prune(const a2m_search_trial *trials, size_t n, const double *mine, int step, int maximize,
                            a2m_median_params mp, int *prune) {
    *prune = 0;
    if (step <= mp.n_warmup_steps || step < 1) return A2M_OK;
    double sign = maximize ? -1 : 1, best = INFINITY;
    for (int k = 0; k < step; k++)
        if (!isnan(mine[k])) best = fmin(best, sign * mine[k]);
    if (isnan(mine[step - 1])) return *prune = 1, A2M_OK; /* as Optuna: a NaN is pruned */
    int complete = 0, m = 0;
    double *v = malloc((n + 1) * sizeof *v);
    if (!v) return a2m_error(A2M_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        if (trials[i].state != A2M_TRIAL_COMPLETE) continue;
        complete++;
        if (trials[i].n_steps >= step && !isnan(trials[i].steps[step - 1])) v[m++] = sign * trials[i].steps[step - 1];
    }
    if (complete >= mp.n_startup_trials && m > 0) {
        qsort(v, (size_t)m, sizeof *v, cmp_dbl);
        double median = m % 2 ? v[m / 2] : 0.5 * (v[m / 2 - 1] + v[m / 2]);
        *prune = best > median;
    }
    free(v);
    return A2M_OK;
}

/* ---- test hooks (tpe_internal.h) -------------------------------------------------------------------- */
int a2m_tpe_parzen_probe(const a2m_search_param *p, const double *obs, int n_obs, a2m_tpe_params tp, double *mus,
                         double *sigmas, double *weights, const double *x, int n_x, double *log_pdf) {
    parzen e;
    int rc = parzen_make(&e, p, obs, n_obs, &tp);
    for (int k = 0; !rc && k < e.n; k++) {
        weights[k] = e.w[k];
        if (mus && e.mu) mus[k] = e.mu[k], sigmas[k] = e.sigma[k];
    }
    for (int i = 0; !rc && i < n_x; i++) log_pdf[i] = parzen_log_pdf(&e, p, x[i]);
    parzen_free(&e);
    return rc;
}

int a2m_tpe_below(const a2m_search_trial *trials, size_t n, int maximize, int *below, int *n_below) {
    ranked *r = malloc((n + 1) * sizeof *r);
    if (!r) return a2m_error(A2M_ERR_NOMEM, "search: out of memory");
    int m = 0;
    for (size_t i = 0; i < n; i++)
        if (trials[i].state == A2M_TRIAL_COMPLETE || trials[i].state == A2M_TRIAL_PRUNED)
            score_of(&trials[i], maximize ? -1 : 1, &r[m]), r[m].idx = (int)i, m++;
    qsort(r, (size_t)m, sizeof *r, cmp_ranked);
    int nb = (int)ceil(0.1 * m);
    *n_below = nb = nb < 25 ? nb : 25;
    for (int i = 0; i < nb; i++) below[i] = r[i].idx;
    qsort(below, (size_t)nb, sizeof *below, cmp_int);
    free(r);
    return A2M_OK;
}
