/* Constant-Q transform equal to librosa 0.10's cqt() followed by
 * amplitude_to_db(). Plans and kernels are made once in a2m_cqt_new (under a
 * mutex: FFTW planning is not thread-safe) and reused; a2m_cqt_do allocates
 * nothing, so one a2m_cqt per thread runs freely. */
#ifndef A2M_CQT_H
#define A2M_CQT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct a2m_cqt_params {
    double sample_rate;     /* 16000 */
    int hop;                /* 96 */
    double fmin;            /* 32.7031956626 (C1) */
    int n_bins;             /* 252 */
    int bins_per_octave;    /* 36 */
    double ref;             /* amplitude_to_db ref: 1.0 */
    double amin;            /* 1e-5 */
    double top_db;          /* 80; <= 0 disables the floor */
    int drop_last_frame;    /* 1: a 4.0 s take gives 666 frames (dataset convention) */
} a2m_cqt_params;

a2m_cqt_params a2m_cqt_default_params(void);

typedef struct a2m_cqt a2m_cqt;

/* Prepares kernels and FFT plans for inputs of up to max_samples samples. */
int a2m_cqt_new(a2m_cqt_params p, size_t max_samples, a2m_cqt **out);
void a2m_cqt_del(a2m_cqt *c);   /* safe on NULL and on half-built objects */
/* Frames produced for n samples (after the optional last-frame drop). */
size_t a2m_cqt_n_frames(const a2m_cqt *c, size_t n_samples);
/* Magnitude |CQT| [frames x bins] (no dB), for callers that want linear. */
int a2m_cqt_magnitude(a2m_cqt *c, const float *x, size_t n, float *mag /* [frames x n_bins] */);
/* dB features [frames x bins] as the dataset uses them. */
int a2m_cqt_db(a2m_cqt *c, const float *x, size_t n, float *db /* [frames x n_bins] */);
/* Centre frequency of bin k in Hz. */
double a2m_cqt_bin_freq(a2m_cqt_params p, int k);

#ifdef __cplusplus
}
#endif
#endif
