/* Pitch of a steady tone near an expected note, for tuning soundfont samples
 * and for tests: the windowed DFT magnitudes at the first harmonics, summed,
 * maximised over -100..100 cents (5-cent grid, then 0.25-cent steps around
 * the best). Summing harmonics keeps a choir's smeared or weak fundamental
 * from deciding alone (FluidR3's Ahh Choir at 220 Hz: fundamental -35 cents,
 * 2nd harmonic -21). */
#include "a2m/error.h"
#include "a2m/gen.h"

#include <complex.h>
#include <math.h>
#include <stdlib.h>

static double dft_mag(const double *xw, size_t n, double rate, double f) {
    double complex s = 0, w = cexp(-2 * M_PI * I * f / rate), z = 1;
    for (size_t i = 0; i < n; i++, z *= w) s += xw[i] * z;
    return cabs(s);
}

static double harmonic_sum(const double *xw, size_t n, double rate, double f0) {
    double s = 0;
    for (int h = 1; h <= 4 && h * f0 < 0.45 * rate; h++) s += dft_mag(xw, n, rate, h * f0);
    return s;
}

int a2m_gen_pitch_offset(const float *x, size_t n, int rate, double midi, double *cents) {
    *cents = 0;
    if (n < 256 || rate < 1000 || !(midi >= 0 && midi <= 127))
        return a2m_error(A2M_ERR_ARG, "pitch: %zu samples, note %g", n, midi);
    double *xw = malloc(n * sizeof *xw);
    if (!xw) return a2m_error(A2M_ERR_NOMEM, "pitch: out of memory");
    for (size_t i = 0; i < n; i++) xw[i] = x[i] * (0.5 - 0.5 * cos(2 * M_PI * (double)i / (double)n));
    double f = 440 * pow(2, (midi - 69) / 12), best = -1, at = 0;
    for (double c = -100; c <= 100; c += 5) {
        double m = harmonic_sum(xw, n, rate, f * pow(2, c / 1200));
        if (m > best) best = m, at = c;
    }
    double centre = at;
    for (double c = centre - 5; c <= centre + 5; c += 0.25) {
        double m = harmonic_sum(xw, n, rate, f * pow(2, c / 1200));
        if (m > best) best = m, at = c;
    }
    free(xw);
    if (!(best > 0)) return a2m_error(A2M_ERR_EMPTY, "pitch: silent");
    *cents = at;
    return A2M_OK;
}
