/* Finite-difference gradient checks for layer tests, ggml-style: central
 * differences in double, points where the loss has a kink (one-sided slopes
 * disagree, e.g. ReLU at 0 or a max-pool tie) are skipped, not failed.
 *
 * Usage: make the loss a scalar function of the current arrays (typically
 * sum(out * R) for a fixed random R, so dout = R), run the backward pass to
 * get the analytic gradient g of a parameter or input array p, then
 *   gradcheck("conv1d dW", p, g, n, loss_fn, ctx, 1e-2, 1e-2, 200);
 * It perturbs p in place (restoring it) and returns the number of failures. */
#ifndef A2M_TEST_GRADCHECK_H
#define A2M_TEST_GRADCHECK_H

#include <math.h>
#include <stddef.h>
#include <stdio.h>

typedef double (*gradcheck_loss_fn)(void *ctx);

static inline int gradcheck(const char *what, float *p, const float *g, size_t n, gradcheck_loss_fn loss, void *ctx,
                            double eps, double tol, size_t max_checks) {
    size_t stride = n > max_checks && max_checks ? n / max_checks : 1;
    int failures = 0, checked = 0, skipped = 0;
    double worst = 0;
    for (size_t i = 0; i < n; i += stride) {
        float saved = p[i];
        p[i] = (float)(saved + eps);
        double fp = loss(ctx);
        p[i] = (float)(saved - eps);
        double fm = loss(ctx);
        p[i] = saved;
        double f0 = loss(ctx);
        double numeric = (fp - fm) / (2 * eps);
        double right = (fp - f0) / eps, left = (f0 - fm) / eps;
        double scale = fmax(1.0, fmax(fabs(numeric), fabs((double)g[i])));
        if (fabs(right - left) > 10 * tol * scale + 1e-3) { /* kink: not differentiable here */
            skipped++;
            continue;
        }
        double err = fabs(numeric - (double)g[i]) / scale;
        if (err > worst) worst = err;
        checked++;
        if (err > tol) {
            if (failures < 5)
                fprintf(stderr, "gradcheck %s[%zu]: analytic %.6g numeric %.6g (rel err %.3g)\n", what, i, (double)g[i],
                        numeric, err);
            failures++;
        }
    }
    fprintf(stderr, "gradcheck %s: %d checked, %d skipped at kinks, worst rel err %.3g, %d failed\n", what, checked,
            skipped, worst, failures);
    if (checked == 0) failures++; /* a check that checked nothing cannot pass */
    return failures;
}

/* Central differences at several steps (largest first) for a whole model, where one step can carry a ReLU or
 * max-pool input across its kink: a point passes when one step agrees with the analytic gradient within tol
 * (relative to max(1, |g|), as gradcheck). With kink_test, a step whose one-sided slopes disagree says nothing
 * and is skipped, and a point whose every step is a kink is not checked: at most a quarter of the checked points
 * may be such. A wrong gradient (index, missing term) fails at every step. Returns failures (one more when
 * nothing, or too little, was checked); *worst = the largest per-point best error. */
static inline int gradcheck_steps(const char *what, float *p, const float *g, size_t n, gradcheck_loss_fn loss,
                                  void *ctx, const double *steps, int n_steps, int kink_test, double tol,
                                  size_t max_checks, double *worst) {
    size_t stride = n > max_checks ? n / max_checks : 1;
    int failures = 0, checked = 0, kinks = 0;
    *worst = 0;
    for (size_t i = 0; i < n; i += stride) {
        double best = INFINITY, best_num = 0;
        int smooth = 0;
        for (int s = 0; s < n_steps && best > tol; s++) {
            float saved = p[i];
            p[i] = (float)(saved + steps[s]);
            double fp = loss(ctx);
            p[i] = (float)(saved - steps[s]);
            double fm = loss(ctx);
            p[i] = saved;
            double num = (fp - fm) / (2 * steps[s]);
            double scale = fmax(1.0, fmax(fabs(num), fabs((double)g[i])));
            if (kink_test) {
                double f0 = loss(ctx), right = (fp - f0) / steps[s], left = (f0 - fm) / steps[s];
                if (fabs(right - left) > 10 * tol * scale + 1e-3) continue; /* kink at this step */
            }
            smooth = 1;
            double err = fabs(num - g[i]) / scale;
            if (err < best) best = err, best_num = num;
        }
        if (!smooth) {
            kinks++;
            continue;
        }
        checked++;
        if (best > *worst) *worst = best;
        if (best > tol) {
            if (failures < 5)
                fprintf(stderr, "gradcheck %s[%zu]: analytic %.6g numeric %.6g (rel err %.3g)\n", what, i, (double)g[i],
                        best_num, best);
            failures++;
        }
    }
    fprintf(stderr, "gradcheck %s: %d checked, %d all kinks, worst rel err %.3g, %d failed\n", what, checked, kinks,
            *worst, failures);
    return checked && kinks * 3 <= checked ? failures : failures + 1;
}

#endif
