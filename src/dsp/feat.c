/* Frame features of any kind (a2m/features.h): parameters, the padded signal, dispatch to the CQT, the STFT
 * kinds (stft.c) and linear prediction (lpc.c). */
#include "a2m/features.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "a2m/audio.h"
#include "a2m/error.h"
#include "core/finite.h"
#include "dsp/feat_internal.h"

a2m_feat_params a2m_feat_default_params(void) {
    a2m_feat_params f = {A2M_FEAT_CQT, 2048, 128, 0.0, 0.0, 20, 16, 1024, 0};
    return f;
}

static const char *const kind_names[] = {"cqt", "mel", "mfcc", "lpc"};

const char *a2m_feat_kind_name(a2m_feat_kind k) { return (int)k >= 0 && (int)k < 4 ? kind_names[k] : "?"; }

int a2m_feat_kind_parse(const char *s, a2m_feat_kind *k) {
    for (int i = 0; i < 4; i++)
        if (s && !strcmp(s, kind_names[i])) {
            *k = (a2m_feat_kind)i;
            return 0;
        }
    return -1;
}

int a2m_feat_dim(a2m_cqt_params c, a2m_feat_params f) {
    switch (f.kind) {
    case A2M_FEAT_MEL: return f.n_mels;
    case A2M_FEAT_MFCC: return f.n_mfcc;
    case A2M_FEAT_LPC: return f.order + 1;
    default: return c.n_bins;
    }
}

int a2m_feat_check(a2m_cqt_params c, a2m_feat_params f) {
    if (!(c.sample_rate >= 1000 && c.sample_rate <= 768000) || c.hop <= 0 || c.hop > 65536)
        return a2m_error(A2M_ERR_ARG, "features: sample rate %g or hop %d out of range", c.sample_rate, c.hop);
    if (!(c.amin > 0) || !(c.ref > 0) || !(c.top_db >= 0))
        return a2m_error(A2M_ERR_ARG, "features: invalid dB parameters (ref %g, amin %g, top_db %g)", c.ref, c.amin,
                         c.top_db);
    switch (f.kind) {
    case A2M_FEAT_CQT: return A2M_OK; /* a2m_cqt_new checks its own */
    case A2M_FEAT_MEL:
    case A2M_FEAT_MFCC: {
        double fmax = f.fmax > 0 ? f.fmax : c.sample_rate / 2;
        if (f.n_fft < 16 || f.n_fft > 65536)
            return a2m_error(A2M_ERR_ARG, "features: n_fft %d not in 16..65536", f.n_fft);
        if (f.n_mels < 1 || f.n_mels > 1024)
            return a2m_error(A2M_ERR_ARG, "features: n_mels %d not in 1..1024", f.n_mels);
        if (!(f.fmin >= 0) || !(fmax > f.fmin) || fmax > c.sample_rate / 2)
            return a2m_error(A2M_ERR_ARG, "features: need 0 <= fmin (%g) < fmax (%g) <= sample_rate/2", f.fmin, fmax);
        if (f.kind == A2M_FEAT_MFCC && (f.n_mfcc < 1 || f.n_mfcc > f.n_mels))
            return a2m_error(A2M_ERR_ARG, "features: n_mfcc %d not in 1..n_mels (%d)", f.n_mfcc, f.n_mels);
        return A2M_OK;
    }
    case A2M_FEAT_LPC:
        if (f.order < 1 || f.order > 256)
            return a2m_error(A2M_ERR_ARG, "features: LPC order %d not in 1..256", f.order);
        if (f.frame_length <= f.order + 1 || f.frame_length > 65536)
            return a2m_error(A2M_ERR_ARG, "features: LPC frame length %d not in order+2 (%d)..65536", f.frame_length,
                             f.order + 2);
        return A2M_OK;
    }
    return a2m_error(A2M_ERR_ARG, "features: unknown kind %d", (int)f.kind);
}

size_t feat_frames_all(const a2m_feat *e, size_t n) {
    size_t len = n + 2 * e->pad, width = e->f.kind == A2M_FEAT_LPC ? (size_t)e->f.frame_length : (size_t)e->n_fft;
    if (e->f.kind == A2M_FEAT_LPC && n <= e->pad) return 0; /* a reflection needs more samples than it pads */
    return len < width ? 0 : 1 + (len - width) / (size_t)e->c.hop;
}

void a2m_feat_del(a2m_feat *e) {
    if (!e) return;
    a2m_cqt_del(e->cqt);
    stft_free(e);
    lpc_free(e);
    free(e->padded);
    free(e);
}

int a2m_feat_new(a2m_cqt_params c, a2m_feat_params f, size_t max_samples, a2m_feat **out) {
    *out = NULL;
    int rc = a2m_feat_check(c, f);
    if (rc) return rc;
    if (max_samples == 0) return a2m_error(A2M_ERR_ARG, "features: max_samples is 0");
    a2m_feat *e = calloc(1, sizeof *e);
    if (!e) return a2m_error(A2M_ERR_NOMEM, "features: out of memory");
    e->c = c, e->f = f, e->max_samples = max_samples, e->dim = a2m_feat_dim(c, f);
    if (f.kind == A2M_FEAT_CQT) rc = a2m_cqt_new(c, max_samples, &e->cqt);
    else {
        e->n_fft = f.n_fft, e->nf = f.n_fft / 2 + 1;
        e->pad = f.kind == A2M_FEAT_LPC ? (size_t)f.frame_length / 2 : (size_t)f.n_fft / 2;
        e->max_frames = feat_frames_all(e, max_samples);
        e->padded = calloc(max_samples + 2 * e->pad + 1, sizeof *e->padded);
        rc = !e->padded ? A2M_ERR_NOMEM : f.kind == A2M_FEAT_LPC ? lpc_prepare(e) : stft_prepare(e);
        if (rc) rc = a2m_error(rc, "features: cannot prepare %s (%s)", a2m_feat_kind_name(f.kind), a2m_strerror(rc));
    }
    if (rc) {
        a2m_feat_del(e);
        return rc;
    }
    *out = e;
    return A2M_OK;
}

size_t a2m_feat_max_samples(const a2m_feat *e) { return e->max_samples; }

size_t a2m_feat_n_frames(const a2m_feat *e, size_t n) {
    if (e->cqt) return a2m_cqt_n_frames(e->cqt, n);
    size_t all = feat_frames_all(e, n);
    return all && e->c.drop_last_frame ? all - 1 : all;
}

/* [pad | x | pad]: zeros (numpy's "constant") or x mirrored about its end samples ("reflect"). */
static void pad_signal(a2m_feat *e, const float *x, size_t n, int reflect) {
    size_t p = e->pad;
    float *s = e->padded;
    memcpy(s + p, x, n * sizeof *x);
    for (size_t i = 0; i < p; i++) {
        s[p - 1 - i] = reflect ? x[i + 1 < n ? i + 1 : n - 1] : 0.0f;
        s[p + n + i] = reflect ? x[n >= i + 2 ? n - 2 - i : 0] : 0.0f;
    }
}

int a2m_feat_do(a2m_feat *e, const float *x, size_t n, float *out) {
    if (e->cqt) return a2m_cqt_db(e->cqt, x, n, out);
    if (n == 0) return a2m_error(A2M_ERR_EMPTY, "features: empty input");
    if (n > e->max_samples)
        return a2m_error(A2M_ERR_RANGE, "features: %zu samples, more than the %zu prepared for", n, e->max_samples);
    size_t bad = a2m_first_absurd(x, n);
    if (bad < n)
        return a2m_error(A2M_ERR_NONFINITE, "features: sample %zu is %g: not a finite number within +-1e6", bad,
                         (double)x[bad]);
    size_t all = feat_frames_all(e, n), keep = a2m_feat_n_frames(e, n);
    if (keep == 0) return a2m_error(A2M_ERR_RANGE, "features: %zu samples are shorter than one frame", n);
    int lpc = e->f.kind == A2M_FEAT_LPC;
    pad_signal(e, x, n, lpc || e->f.reflect_pad);
    if (lpc) {
        lpc_features(e, keep, out);
        return A2M_OK;
    }
    return stft_features(e, n, all, keep, out);
}

int a2m_feat_from_file(const char *path, a2m_cqt_params c, a2m_feat_params f, a2m_feat **e, float **out,
                       size_t *n_frames) {
    *out = NULL;
    *n_frames = 0;
    a2m_audio a;
    int rc = a2m_audio_read(path, c.sample_rate, &a);
    if (rc) return rc;
    a2m_feat *own = NULL, **use = e ? e : &own;
    if (*use && (*use)->cqt && (*use)->max_samples < a.n && a.n) { /* CQT: grown, its kernels and plans kept */
        rc = a2m_cqt_reserve((*use)->cqt, a.n);
        if (!rc) (*use)->max_samples = a.n;
    }
    if (!rc && (!*use || a2m_feat_max_samples(*use) < a.n)) {
        a2m_feat_del(*use);
        *use = NULL;
        rc = a.n ? a2m_feat_new(c, f, a.n, use) : a2m_error(A2M_ERR_EMPTY, "no samples");
    }
    size_t frames = rc ? 0 : a2m_feat_n_frames(*use, a.n);
    if (!rc && frames == 0) rc = a2m_error(A2M_ERR_RANGE, "shorter than one frame");
    if (!rc && !(*out = malloc(frames * (size_t)(*use)->dim * sizeof **out)))
        rc = a2m_error(A2M_ERR_NOMEM, "out of memory");
    if (!rc && (rc = a2m_feat_do(*use, a.samples, a.n, *out))) {
        free(*out);
        *out = NULL;
    }
    if (rc) a2m_error_prefix(rc, path);
    else *n_frames = frames;
    a2m_feat_del(own);
    a2m_audio_free(&a);
    return rc;
}
