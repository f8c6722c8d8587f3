#include "transcribe/intonation.h"

#include "dsp/db.h"

#include <math.h>

float transcribe_sung_pitch(a2m_cqt_params cq, const float *row, int is_power, int p, double shift_bins) {
    double bps = cq.bins_per_octave / 12.0, midi0 = 69.0 + 12.0 * log2(cq.fmin / 440.0);
    long c = lround((p - midi0) * bps + shift_bins);
    if (c - 3 < 0 || c + 3 >= cq.n_bins) return NAN;
    float v[7]; /* bins c-3..c+3: the search over c-2..c+2 and one neighbour either side */
    for (int i = 0; i < 7; i++) {
        float x = row[c - 3 + i];
        v[i] = is_power ? a2m_db_of_power(x > 1e-10f ? x : 1e-10f) : x; /* dsp/db.h, as the CQT and the flux */
    }
    int k = 1;
    for (int i = 2; i <= 5; i++) k = v[i] > v[k] ? i : k;
    if (!(v[k] > v[k - 1] && v[k] >= v[k + 1])) return NAN; /* rising to the window's edge: not this note's peak */
    double den = v[k - 1] - 2.0 * v[k] + v[k + 1], off = den < 0 ? 0.5 * (v[k - 1] - v[k + 1]) / den : 0.0;
    double bin = (double)(c - 3 + k) + off;
    return (float)(midi0 + bin / bps);
}

double transcribe_note_cents(const float *sung, size_t start, size_t len, int p) {
    double s = 0;
    size_t n = 0;
    for (size_t f = start; f < start + len; f++) {
        double d = sung[f] - p; /* NaN compares false below */
        if (fabs(d) <= 0.75) s += d, n++;
    }
    return n ? 100.0 * s / (double)n : NAN;
}
