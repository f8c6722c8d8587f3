/* Test hooks into the TPE sampler (tests/test_search.c compares them with Optuna's _ParzenEstimator). */
#ifndef A2M_SEARCH_TPE_INTERNAL_H
#define A2M_SEARCH_TPE_INTERNAL_H

#include "a2m/search.h"

/* The Parzen estimator of observations obs[0..n_obs) of p: mus, sigmas (numerical) and weights of its n_obs + 1
 * components (the prior last), and its log density (mass, for stepped and categorical parameters) at x. */
int a2m_tpe_parzen_probe(const a2m_search_param *p, const double *obs, int n_obs, a2m_tpe_params tp, double *mus,
                         double *sigmas, double *weights, const double *x, int n_x, double *log_pdf);
/* The "below" set of the history (trial indices, ascending): the gamma(n) best complete/pruned trials. */
int a2m_tpe_below(const a2m_search_trial *trials, size_t n, int maximize, int *below, int *n_below);

#endif
