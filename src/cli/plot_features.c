/* `a2m plot features AUDIO --kind K` (the features as an image: mel bands and the LPC envelope on a Hz axis,
 * MFCC by coefficient, the CQT by note) and `a2m plot distances AUDIO --kind K` (the Euclidean distance between
 * every two frames: what a k-nearest-neighbour classifier looks at), the frame labels of --labels MIDI above. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a2m/error.h"
#include "a2m/features.h"
#include "a2m/midi.h"
#include "cli/plots.h"

/* Frame classes of a MIDI file (notes -> classes 1.., as `a2m dataset` makes them) into *labels (malloc'd). */
static int frame_labels(const char *midi, const int *notes, int n_notes, const cli_feat_opts *o, size_t frames,
                        int64_t **labels) {
    a2m_notes lm = {0};
    int rc = a2m_notes_read_any(midi, &lm);
    a2m_label_params lp = a2m_label_default_params();
    lp.sample_rate = o->cqt.sample_rate, lp.hop = o->cqt.hop;
    if (n_notes > 0) lp.n_notes = n_notes, memcpy(lp.notes, notes, (size_t)n_notes * sizeof *notes);
    if (!rc && !(*labels = malloc(frames * sizeof **labels))) rc = a2m_error(A2M_ERR_NOMEM, "out of memory");
    if (!rc) rc = a2m_labels_from_notes(lm.notes, lm.n, lp, *labels, frames, NULL);
    a2m_notes_free(&lm);
    return rc;
}

/* Euclidean distances between every two of n frames of d values: [n x n]. */
static float *distances(const float *x, size_t n, int d) {
    float *D = n <= 20000 ? malloc(n * n * sizeof *D) : NULL;
    for (size_t i = 0; D && i < n; i++)
        for (size_t j = 0; j <= i; j++) {
            double s = 0;
            for (int k = 0; k < d; k++) {
                double v = (double)x[i * d + k] - x[j * d + k];
                s += v * v;
            }
            D[i * n + j] = D[j * n + i] = (float)sqrt(s);
        }
    return D;
}

typedef struct ticks {
    int n;
    double pos[16];
    char text[16][16];
    const char *ptr[16];
} ticks;

static void tick(ticks *t, double pos, const char *fmt, double v) {
    if (t->n == 16) return;
    t->pos[t->n] = pos;
    snprintf(t->text[t->n], sizeof t->text[0], fmt, v);
    t->ptr[t->n] = t->text[t->n];
    t->n++;
}

static void standardise_columns(float *x, size_t frames, int dim) {
    for (int k = 0; k < dim; k++) {
        double s = 0, s2 = 0;
        for (size_t t = 0; t < frames; t++) s += x[t * dim + k], s2 += (double)x[t * dim + k] * x[t * dim + k];
        double mean = s / frames, sd = sqrt(fmax(s2 / frames - mean * mean, 1e-12));
        for (size_t t = 0; t < frames; t++) x[t * dim + k] = (float)((x[t * dim + k] - mean) / sd);
    }
}

/* The axis and the values drawn for each kind (LPC: its envelope, 128 frequencies). */
static int kind_axis(const cli_feat_opts *o, float **x, int *dim, size_t frames, ticks *t, a2m_heatmap *h) {
    static const double hz[] = {100, 250, 500, 1000, 2000, 4000, 8000};
    const double nyq = o->cqt.sample_rate / 2;
    switch (o->feat.kind) {
    case A2M_FEAT_MEL:
        for (int i = 0; i < 7; i++) tick(t, a2m_mel_band_of_hz(o->cqt, o->feat, hz[i]) + 0.5, "%g Hz", hz[i]);
        h->y_label = "mel band (Slaney scale)", h->unit = "dB";
        return A2M_OK;
    case A2M_FEAT_MFCC: /* each coefficient as a z-score over the take: c0 alone spans ~200 (the loudness) */
        standardise_columns(*x, frames, *dim);
        for (int k = 0; k < *dim; k += 4) tick(t, k + 0.5, "c%.0f", k);
        h->y_label = "cepstral coefficient", h->unit = "z-score of each coefficient", h->clip_percent = 1;
        return A2M_OK;
    case A2M_FEAT_LPC: {
        const int nf = 128;
        float *env = malloc(frames * nf * sizeof *env);
        if (!env) return a2m_error(A2M_ERR_NOMEM, "out of memory");
        a2m_lpc_envelope_db(*x, frames, o->feat.order, nf, env);
        free(*x);
        *x = env, *dim = nf;
        for (int i = 0; i < 7; i++) tick(t, hz[i] / nyq * (nf - 1) + 0.5, "%g Hz", hz[i]);
        h->y_label = "frequency (LPC envelope)", h->unit = "dB", h->clip_percent = 1;
        return A2M_OK;
    }
    default:
        for (int m = 24; m < 128; m += 12) {
            double bin = log2(440.0 * pow(2.0, (m - 69) / 12.0) / o->cqt.fmin) * o->cqt.bins_per_octave;
            if (bin >= 0 && bin < *dim) tick(t, bin + 0.5, "C%.0f", m / 12 - 1);
        }
        h->y_label = "CQT bin (note)", h->unit = "dB";
        return A2M_OK;
    }
}

int plot_features_file(const char *audio, const char *labels_midi, const int *notes, int n_notes,
                       const cli_feat_opts *o, int dist, const char *out, a2m_plot_size size) {
    float *x = NULL, *D = NULL;
    size_t frames;
    int64_t *labels = NULL;
    int rc = a2m_feat_from_file(audio, o->cqt, o->feat, NULL, &x, &frames), dim = a2m_feat_dim(o->cqt, o->feat);
    if (!rc && labels_midi) rc = frame_labels(labels_midi, notes, n_notes, o, frames, &labels);
    ticks t = {0};
    a2m_heatmap h = {0};
    double dur = frames * o->cqt.hop / o->cqt.sample_rate;
    const char *base = strrchr(audio, '/') ? strrchr(audio, '/') + 1 : audio, *kind = a2m_feat_kind_name(o->feat.kind);
    char title[512];
    if (!rc && dist) {
        if (!(D = distances(x, frames, dim)))
            rc = a2m_error(A2M_ERR_NOMEM, "%s: too many frames for a distance map", audio);
        for (int s = 0; s <= (int)dur; s++) tick(&t, s / dur * frames, "%.0f s", s);
        h = (a2m_heatmap){D,          frames, (int)frames, dur, "time (s)", "time of the other frame",
                          "distance", 0,      0,           0,   labels,     1};
        snprintf(title, sizeof title, "%s: Euclidean distance between every two %s frames", base, kind);
    } else if (!rc) {
        h = (a2m_heatmap){0, frames, dim, dur, "time (s)", 0, 0, 0, 0, 0, labels, 0};
        rc = kind_axis(o, &x, &dim, frames, &t, &h);
        h.values = x, h.n_y = dim;
        static const char *const what[] = {"CQT (dB)", "mel spectrogram (dB)",
                                           "MFCC (each coefficient standardised over the take)", ""};
        snprintf(title, sizeof title, "%s: %s", base, what[o->feat.kind]);
        if (o->feat.kind == A2M_FEAT_LPC)
            snprintf(title, sizeof title, "%s: spectral envelope of LPC order %d (%d-sample frames)", base,
                     o->feat.order, o->feat.frame_length);
    }
    if (!rc) {
        h.n_yticks = t.n, h.ytick_pos = t.pos, h.ytick_text = t.ptr;
        rc = a2m_plot_heatmap(out, &h, title, size);
    }
    free(x), free(D), free(labels);
    return rc;
}
