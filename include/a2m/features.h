/* Frame features of a signal, one kind chosen per dataset and per model:
 *   cqt   librosa 0.10 cqt + amplitude_to_db (a2m/cqt.h)            [frames x n_bins]
 *   mel   librosa 0.10 melspectrogram (centred STFT, zero padding, periodic Hann, power 2, Slaney mel
 *         scale and area normalisation) + power_to_db                  [frames x n_mels]
 *   mfcc  librosa mfcc: DCT-II (orthonormal) of that dB mel           [frames x n_mfcc]
 *   lpc   librosa lpc (Burg's method) of frames of frame_length samples, the signal reflect-padded by
 *         frame_length/2 on both sides: a[0] = 1 .. a[order]          [frames x (order + 1)]
 * Every kind shares the a2m_cqt_params fields sample_rate, hop, drop_last_frame, and mel/mfcc its dB
 * step (ref, amin as an amplitude: the power floor is amin^2 = 1e-10, top_db over every frame).
 * As a2m_cqt, an a2m_feat holds its plans, filters and scratch, made once for inputs of up to max_samples
 * samples; a2m_feat_do allocates nothing, so one a2m_feat per thread runs freely. */
#ifndef A2M_FEATURES_H
#define A2M_FEATURES_H

#include <stddef.h>
#include "a2m/cqt.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum a2m_feat_kind { A2M_FEAT_CQT = 0, A2M_FEAT_MEL = 1, A2M_FEAT_MFCC = 2, A2M_FEAT_LPC = 3 } a2m_feat_kind;

typedef struct a2m_feat_params {
    a2m_feat_kind kind; /* A2M_FEAT_CQT */
    int n_fft;          /* 2048 (mel, mfcc) */
    int n_mels;         /* 128 */
    double fmin;        /* 0 Hz: the lowest mel band starts here */
    double fmax;        /* 0: sample_rate / 2 */
    int n_mfcc;         /* 20 */
    int order;          /* 16 (lpc) */
    int frame_length;   /* 1024 (lpc) */
    int reflect_pad;    /* 0: the STFT pads with zeros (librosa 0.10's pad_mode "constant"); 1: reflect */
} a2m_feat_params;

a2m_feat_params a2m_feat_default_params(void);
/* "cqt", "mel", "mfcc", "lpc" ("?" for anything else) */
const char *a2m_feat_kind_name(a2m_feat_kind k);
/* 0 and *k set for a known name, -1 otherwise */
int a2m_feat_kind_parse(const char *s, a2m_feat_kind *k);
/* Values per frame: n_bins, n_mels, n_mfcc or order + 1. */
int a2m_feat_dim(a2m_cqt_params c, a2m_feat_params f);
/* A2M_OK when the parameters can be computed, else A2M_ERR_ARG with a detail naming the one that cannot. */
int a2m_feat_check(a2m_cqt_params c, a2m_feat_params f);

typedef struct a2m_feat a2m_feat;
int a2m_feat_new(a2m_cqt_params c, a2m_feat_params f, size_t max_samples, a2m_feat **out);
void a2m_feat_del(a2m_feat *e); /* safe on NULL and on half-built objects */
size_t a2m_feat_max_samples(const a2m_feat *e);
/* Frames for n samples (after the optional last-frame drop); 0 when n is too short for one. */
size_t a2m_feat_n_frames(const a2m_feat *e, size_t n);
/* Features of n <= max_samples samples into out [a2m_feat_n_frames x a2m_feat_dim]. */
int a2m_feat_do(a2m_feat *e, const float *x, size_t n, float *out);

/* Where a frequency falls among the mel bands: band m's triangle peaks at m (fractional; for axis ticks). */
double a2m_mel_band_of_hz(a2m_cqt_params c, a2m_feat_params f, double hz);
/* The all-pole envelope of LPC rows a [frames x (order + 1)]: -20 log10 |sum_k a_k e^{-i w k}| in dB at n_freqs
 * frequencies w from 0 to pi (Nyquist), into out [frames x n_freqs]: where the vocal tract resonates. */
void a2m_lpc_envelope_db(const float *a, size_t frames, int order, int n_freqs, float *out);

/* Reads audio (resampled to c.sample_rate) and computes its features (malloc'd [frames x dim]). e may be
 * NULL (one is made for this file) or an extractor to reuse, replaced by a larger one when the file is
 * longer than it was made for (*e updated; the caller frees it). */
int a2m_feat_from_file(const char *path, a2m_cqt_params c, a2m_feat_params f, a2m_feat **e, float **out,
                       size_t *n_frames);

#ifdef __cplusplus
}
#endif
#endif
