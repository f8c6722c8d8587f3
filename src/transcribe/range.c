#include "transcribe/range.h"

#include "dsp/db.h"

#include <math.h>

#include "a2m/midi.h"

int transcribe_range_init(transcribe_range *r, a2m_cqt_params cq, const int *class_notes, int n_classes) {
    int lo = 128, hi = -1, has = 0;
    for (int c = 0; c < n_classes; c++) {
        if (class_notes[c] == A2M_CLASS_BELOW || class_notes[c] == A2M_CLASS_ABOVE) has = 1;
        if (class_notes[c] >= 0)
            lo = class_notes[c] < lo ? class_notes[c] : lo, hi = class_notes[c] > hi ? class_notes[c] : hi;
    }
    if (!has || hi < lo || cq.bins_per_octave <= 0 || !(cq.fmin > 0) || cq.n_bins > TRANSCRIBE_RANGE_MAX_BINS)
        return -1;
    r->n_bins = cq.n_bins;
    r->bins_per_semitone = cq.bins_per_octave / 12.0;
    r->midi0 = 69.0 + 12.0 * log2(cq.fmin / 440.0);
    r->half = cq.bins_per_octave / 2;
    r->hi = hi;
    /* a bin belongs to a region when its nearest semitone is outside lo..hi */
    int b_hi = (int)ceil((hi + 0.5 - r->midi0) * r->bins_per_semitone),
        b_lo = (int)floor((lo - 0.5 - r->midi0) * r->bins_per_semitone);
    r->above0 = b_hi < 0 ? 0 : b_hi > cq.n_bins ? cq.n_bins : b_hi, r->above1 = cq.n_bins;
    r->below0 = 0, r->below1 = b_lo + 1 < 0 ? 0 : b_lo + 1 > cq.n_bins ? cq.n_bins : b_lo + 1;
    return 0;
}

int transcribe_range_wants(const transcribe_range *r, const float *probs, const int *class_notes, int n_classes,
                           int *top) {
    float mass = 0;
    int best = -1;
    for (int c = 0; c < n_classes; c++) {
        if (class_notes[c] == A2M_CLASS_BELOW || class_notes[c] == A2M_CLASS_ABOVE) mass += probs[c];
        if (class_notes[c] >= 0 && (best < 0 || probs[c] > probs[best])) best = c;
    }
    *top = best >= 0 && class_notes[best] > r->hi - 12 ? class_notes[best] : -1;
    return mass >= 0.02f || *top >= 0;
}

void transcribe_range_none(float *ev) {
    for (int k = 0; k < TRANSCRIBE_RANGE_VALUES; k++) ev[k] = NAN;
}

/* The bins of MIDI note m: its centre bin and one either side (a third of a semitone at 36 bins an octave: a
 * singer's detuning, which the CQT here is not corrected for) */
static void note_bins(const transcribe_range *r, int m, int *b0, int *b1) {
    int c = (int)lround((m - r->midi0) * r->bins_per_semitone), w = (int)(r->bins_per_semitone / 3 + 0.5);
    *b0 = c - w < 0 ? 0 : c - w, *b1 = c + w + 1 > r->n_bins ? r->n_bins : c + w + 1;
}

/* The strongest peak of bins [b0, b1): dB over the mean of the bins within half around it (prefix sums). */
static void peak_in(const transcribe_range *r, const float *db, int b0, int b1, float *prom, float *midi) {
    *prom = NAN, *midi = NAN;
    if (b0 >= b1) return;
    int w0 = b0 - r->half < 0 ? 0 : b0 - r->half, w1 = b1 + r->half > r->n_bins ? r->n_bins : b1 + r->half;
    double sum[TRANSCRIBE_RANGE_MAX_BINS + 1];
    sum[0] = 0;
    for (int b = w0; b < w1; b++) sum[b - w0 + 1] = sum[b - w0] + db[b];
    float best = -INFINITY;
    int at = b0;
    for (int b = b0; b < b1; b++) {
        int a = b - r->half < w0 ? w0 : b - r->half, e = b + r->half + 1 > w1 ? w1 : b + r->half + 1;
        float v = (float)(db[b] - (sum[e - w0] - sum[a - w0]) / (e - a));
        if (v > best) best = v, at = b;
    }
    *prom = best, *midi = (float)round(r->midi0 + at / r->bins_per_semitone);
}

void transcribe_range_frame(const transcribe_range *r, const float *db, int top, float *ev) {
    peak_in(r, db, r->above0, r->above1, ev, ev + 1);
    peak_in(r, db, r->below0, r->below1, ev + 2, ev + 3);
    ev[4] = ev[5] = NAN;
    if (top < 0) return;
    int b0, b1;
    note_bins(r, top, &b0, &b1);
    peak_in(r, db, b0, b1, ev + 4, ev + 5);
    ev[5] = (float)top;
}

void transcribe_range_frame_power(const transcribe_range *r, const float *power, int top, float *scratch, float *ev) {
    int t0 = r->above0, t1;
    if (top >= 0) note_bins(r, top, &t0, &t1);
    int w[2][2] = {{(t0 < r->above0 ? t0 : r->above0) - r->half, r->above1}, {0, r->below1 + r->half}};
    for (int k = 0; k < 2; k++) {
        int b0 = w[k][0] < 0 ? 0 : w[k][0], b1 = w[k][1] > r->n_bins ? r->n_bins : w[k][1];
        for (int b = b0; b < b1; b++) scratch[b] = a2m_db_of_power(power[b] > 1e-10f ? power[b] : 1e-10f);
    }
    transcribe_range_frame(r, scratch, top, ev);
}
