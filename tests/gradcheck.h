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

#endif
