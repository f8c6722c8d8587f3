#include "transcribe/window.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a2m/error.h"

#include "nn/layers.h"

void transcribe_window_geometry(const a2m_model_info *in, a2m_transcribe_params p, size_t *win_samples,
                                size_t *hop_samples) {
    int hop = in->cqt.hop;
    *win_samples = (size_t)llround(p.window_s * in->cqt.sample_rate);
    /* windows start on the frame grid so window frames line up with recording frames */
    size_t hop_frames = (size_t)llround(p.hop_s * in->cqt.sample_rate / hop);
    if (hop_frames == 0) hop_frames = 1;
    *hop_samples = hop_frames * (size_t)hop;
}

void transcribe_window_taper(float *taper, int W) {
    for (int j = 0; j < W; j++) taper[j] = (float)(1e-3 + sin(M_PI * (j + 0.5) / W));
}

int transcribe_frames_from_ms(double ms, int frames, double frame_s) {
    return ms < 0 ? frames : (int)ceil(ms / 1000.0 / frame_s - 1e-9);
}

a2m_runner_params transcribe_runner_params(a2m_transcribe_params p, const transcribe_member *mb, int batch,
                                           int frames) {
    a2m_runner_params rp = a2m_runner_default_params();
    rp.max_batch = batch, rp.max_frames = frames, rp.precision = p.precision;
    if (mb->dropout > 0) rp.mc_dropout = mb->dropout, rp.mc_seed = mb->seed;
    return rp;
}

/* A2M_OK when model b (member k) reads the features of model a and has its classes, else A2M_ERR_FORMAT. */
static int member_agrees(const a2m_model *a, const a2m_model *b, int k) {
    const a2m_model_info *ia = a2m_model_get_info(a), *ib = a2m_model_get_info(b);
    char name[48];
    snprintf(name, sizeof name, "ensemble member %d", k + 1);
    int rc = a2m_model_check_features(b, ia->cqt, ia->feat, name);
    if (!rc && (ib->n_bins != ia->n_bins || ib->n_classes != ia->n_classes || ib->onset_head != ia->onset_head ||
                memcmp(ib->class_notes, ia->class_notes, (size_t)ia->n_classes * sizeof *ia->class_notes)))
        rc = a2m_error(A2M_ERR_FORMAT,
                       "%s: %d classes (%d bins%s), not those of member 1: an ensemble's models share their classes",
                       name, ib->n_classes, ib->n_bins, ib->onset_head ? ", an onset head" : "");
    return rc;
}

int transcribe_members(const a2m_model *const *models, int n, a2m_transcribe_params p, transcribe_member **out,
                       int *n_out) {
    *out = NULL, *n_out = 0;
    int passes = p.mc_passes > 0 ? p.mc_passes : 1;
    if (n < 1 || p.mc_passes < 0)
        return a2m_error(A2M_ERR_ARG, "transcribe: %d models, %d Monte-Carlo passes", n, p.mc_passes);
    if ((long)n * passes > TRANSCRIBE_MAX_MEMBERS)
        return a2m_error(A2M_ERR_ARG, "transcribe: %ld members (%d model%s x %d passes): at most %d", (long)n * passes,
                         n, n == 1 ? "" : "s", passes, TRANSCRIBE_MAX_MEMBERS);
    if (!(p.mc_dropout >= 0 && p.mc_dropout < 1))
        return a2m_error(A2M_ERR_ARG, "transcribe: Monte-Carlo dropout %g outside [0, 1)", p.mc_dropout);
    for (int i = 1; i < n; i++) {
        int rc = member_agrees(models[0], models[i], i);
        if (rc) return rc;
    }
    transcribe_member *mb = malloc((size_t)n * (size_t)passes * sizeof *mb);
    if (!mb) return a2m_error(A2M_ERR_NOMEM, "out of memory");
    for (int i = 0, k = 0; i < n; i++) {
        double rate = p.mc_passes > 0 && p.mc_dropout == 0 ? a2m_model_get_info(models[i])->dropout : p.mc_dropout;
        if (p.mc_passes > 0 && !(rate > 0 && rate < 1)) {
            free(mb);
            return a2m_error(A2M_ERR_ARG, "ensemble member %d: no dropout to sample for Monte-Carlo passes (%g)",
                             i * passes + 1, rate);
        }
        int first = k; /* a model listed before runs on that member's runner */
        for (int j = 0; j < k; j++)
            if (mb[j].m == models[i]) first = mb[j].runner, j = k;
        for (int t = 0; t < passes; t++, k++)
            mb[k] = (transcribe_member){models[i], first, rate, p.mc_seed + (unsigned long long)t};
    }
    *out = mb, *n_out = n * passes;
    return A2M_OK;
}

void transcribe_normalise(float *x, size_t n, double mean, double std) {
    float mu = (float)mean, inv = (float)(1.0 / std);
    for (size_t i = 0; i < n; i++) x[i] = (x[i] - mu) * inv;
}

int transcribe_onset_class(const int *class_notes, int C) {
    for (int c = 1; c < C; c++)
        if (class_notes[c] == A2M_CLASS_ONSET) return c;
    return -1;
}

int transcribe_frame_class(const float *q, int C, int onset) {
    if (onset < 0) return nn_argmax(q, C);
    if (q[0] >= 0.5f) return 0;
    int a = -1;
    for (int c = 1; c < C; c++)
        if (c != onset && (a < 0 || q[c] > q[a])) a = c;
    return a < 0 ? 0 : a;
}
