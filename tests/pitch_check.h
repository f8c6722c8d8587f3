/* Test helper: fundamental frequency of a short stretch of a periodic signal
 * by normalized autocorrelation, for checking synthesized notes. */
#ifndef A2M_TEST_PITCH_CHECK_H
#define A2M_TEST_PITCH_CHECK_H

#include <math.h>
#include <stddef.h>

static inline double test_autocorr_at(const float *x, size_t n, size_t lag) {
    double num = 0, e0 = 0, e1 = 0;
    for (size_t i = 0; i + lag < n; i++) {
        num += (double)x[i] * x[i + lag];
        e0 += (double)x[i] * x[i];
        e1 += (double)x[i + lag] * x[i + lag];
    }
    return num / sqrt(e0 * e1 + 1e-30);
}

/* Period between rate/f_hi and rate/f_lo over x[n]: the shortest lag whose
 * correlation is a local peak within 10% of the best (avoids picking a
 * multiple of a period that falls between integer lags); returns Hz, 0 if none. */
static inline double test_f0_autocorr(const float *x, size_t n, double rate, double f_lo, double f_hi) {
    size_t lag_min = (size_t)(rate / f_hi), lag_max = (size_t)(rate / f_lo);
    if (lag_min < 2 || lag_max * 2 >= n) return 0;
    double best = -1;
    for (size_t lag = lag_min; lag <= lag_max; lag++) best = fmax(best, test_autocorr_at(x, n, lag));
    for (size_t lag = lag_min; lag <= lag_max; lag++) {
        double r = test_autocorr_at(x, n, lag);
        if (r >= 0.9 * best && r >= test_autocorr_at(x, n, lag - 1) && r >= test_autocorr_at(x, n, lag + 1))
            return rate / (double)lag;
    }
    return 0;
}

/* MIDI number of a frequency. */
static inline double test_hz_to_midi(double hz) { return 69.0 + 12.0 * log2(hz / 440.0); }

#endif
