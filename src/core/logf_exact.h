/* logf of many floats at once, bit for bit glibc's logf on CPUs with FMA (its __logf_fma: the 16-entry table
 * and the polynomial of sysdeps/ieee754/flt-32/e_logf.c, with the same fused multiply-adds), four at a time with
 * AVX2; elsewhere logf itself. Equal to this glibc's logf on every float in [1e-6, 1e6] (3.3e8 of them, checked
 * once exhaustively; tests/test_core.c checks a sample). Internal to the library. */
#ifndef A2M_CORE_LOGF_EXACT_H
#define A2M_CORE_LOGF_EXACT_H

/* y[i] = logf(x[i]) for i < n; x[i] must be a normal positive float (no zero, subnormal, inf or NaN: for those
 * the table path gives a wrong finite number). x and y may be the same array. */
void a2m_logf_exact(const float *x, float *y, int n);

#endif
