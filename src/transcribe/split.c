#include "transcribe/split.h"

#include <math.h>

/* 0.5 KL(a || m) + 0.5 KL(b || m) with m the mean of a and b, each normalised by its sum (sa, sb). */
static double js_divergence(const double *a, const double *b, int n, double sa, double sb) {
    double d = 0;
    for (int i = 0; i < n; i++) {
        double x = a[i] / sa, y = b[i] / sb, m = 0.5 * (x + y);
        if (x > 0) d += 0.5 * x * log(x / m);
        if (y > 0) d += 0.5 * y * log(y / m);
    }
    return d;
}

double transcribe_pitch_divergence(const float *probs, int C, const int *class_notes, size_t f, size_t lo, size_t hi) {
    double a[256], b[256], sa = 0, sb = 0; /* a model's classes: at most 128 notes and a few more */
    int n = 0;
    size_t a0 = f > lo + TRANSCRIBE_SPLIT_SIDE ? f - TRANSCRIBE_SPLIT_SIDE : lo,
           b1 = f + TRANSCRIBE_SPLIT_SIDE < hi ? f + TRANSCRIBE_SPLIT_SIDE : hi;
    for (int c = 0; c < C && n < 256; c++) {
        if (class_notes[c] < 0) continue;
        double x = 0, y = 0;
        for (size_t g = a0; g < f; g++) x += probs[g * (size_t)C + c];
        for (size_t g = f; g < b1; g++) y += probs[g * (size_t)C + c];
        a[n] = x, b[n] = y, sa += x, sb += y, n++;
    }
    return sa > 0 && sb > 0 ? js_divergence(a, b, n, sa, sb) : 0.0;
}

double transcribe_split_score(const float *probs, int C, int onset, const int *class_notes, int cls, const float *flux,
                              a2m_split_weights w, size_t f, size_t start, size_t end) {
    size_t lo = f > start + TRANSCRIBE_SPLIT_REACH ? f - TRANSCRIBE_SPLIT_REACH : start,
           hi = f + TRANSCRIBE_SPLIT_REACH + 1 < end ? f + TRANSCRIBE_SPLIT_REACH + 1 : end;
    double s = probs[f * (size_t)C + onset], fl = 0, js = 0, mean = 0, least = 1;
    for (size_t g = lo; g < hi; g++) {
        if (flux && flux[g] > fl) fl = flux[g];
        if (w.pitch > 0) {
            double d = transcribe_pitch_divergence(probs, C, class_notes, g, start, end);
            js = d > js ? d : js;
        }
    }
    if (w.dip > 0) {
        for (size_t g = start; g < end; g++) mean += probs[g * (size_t)C + cls];
        mean /= (double)(end - start);
        for (size_t g = f > start + 4 ? f - 4 : start; g < f + 3 && g < end; g++)
            least = fmin(least, probs[g * (size_t)C + cls]);
    }
    return s + w.flux * fl + w.pitch * js + (w.dip > 0 ? w.dip * (mean - least) : 0.0);
}
