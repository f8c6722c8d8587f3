#include "transcribe/window.h"

#include <math.h>

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

a2m_runner_params transcribe_runner_params(a2m_transcribe_params p, int batch, int frames) {
    a2m_runner_params rp = a2m_runner_default_params();
    rp.max_batch = batch, rp.max_frames = frames, rp.precision = p.precision;
    if (p.mc_dropout > 0) rp.mc_dropout = p.mc_dropout, rp.mc_seed = p.mc_seed;
    return rp;
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
