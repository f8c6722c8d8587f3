/* Seeded uniform numbers for layer tests and dot products for sum(out * R) losses. */
#ifndef A2M_TEST_RAND_H
#define A2M_TEST_RAND_H

#include <stddef.h>

static unsigned rng_state = 12345;
static inline float frand(void) { /* uniform in [-1, 1) */
    rng_state = rng_state * 1664525u + 1013904223u;
    return (float)((rng_state >> 8) / 8388608.0 - 1.0);
}
static inline void fill(float *x, size_t n, float scale) {
    for (size_t i = 0; i < n; i++) x[i] = scale * frand();
}
static inline double dot(const float *a, const float *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

#endif
