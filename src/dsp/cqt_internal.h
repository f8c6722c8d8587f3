/* Internal to src/dsp: the octave decomposition shared by the one-shot CQT
 * (cqt.c) and the streaming CQT (cqt_stream.c), so both compute every frame
 * with the same arithmetic. */
#ifndef A2M_DSP_CQT_INTERNAL_H
#define A2M_DSP_CQT_INTERNAL_H

#include <fftw3.h>
#include <soxr.h>
#include <stddef.h>
#include <stdint.h>

#include "a2m/cqt.h"

#define FRAME_BLOCK 32 /* frames per FFTW execution / kernel product pass */
#define BIN_ALIGN   16 /* nj is a multiple of this (>= the 8-bin panels of the sliding DFT) */
#ifndef SLIDE_MAX_HOP
#define SLIDE_MAX_HOP 48 /* octaves with hop <= this use the sliding DFT */
#endif

typedef struct cqt_octave {
    int first_bin, n_bins; /* output bins [first_bin, first_bin + n_bins) */
    int n_fft, hop;
    double sr;
    int j0, nj;       /* DFT bins [j0, j0 + nj) cover every kept kernel entry; nj % BIN_ALIGN == 0 */
    int *row;         /* [n_bins + 1] CSR row starts */
    int *col;         /* DFT bin - j0 of each kept kernel entry */
    float *kre, *kim; /* kernel values */
    float *xre, *xim; /* [nj x FRAME_BLOCK] spectra of a block of frames, bin-major */
    int sliding;      /* 1: sliding DFT, 0: FFT of every frame */
    /* FFT front end */
    float *frames;       /* [FRAME_BLOCK x n_fft], fftwf aligned */
    fftwf_complex *spec; /* [FRAME_BLOCK x (n_fft/2+1)] */
    fftwf_plan plan;
    /* sliding DFT front end */
    int lead;                /* zeros before the frame-0 padding, a multiple of hop, >= n_fft/2 */
    double *tw_re, *tw_im;   /* e^{-2 pi i (j0+q) m / n_fft} in panels of 8 bins: [nj/8][hop][8] */
    double *rot_re, *rot_im; /* [nj] e^{2 pi i (j0+q) hop / n_fft} */
    double *st_re, *st_im;   /* [nj] DFT of the current frame */
    double *dd;              /* [(FRAME_BLOCK + 2) x hop] samples entering minus samples leaving */
    double *u_re, *u_im;     /* [FRAME_BLOCK x nj] the update of each step before the rotation */
    float *xt_re, *xt_im;    /* [FRAME_BLOCK x nj] each step's spectrum, step-major, before steps_to_bins */
    float *signal;           /* [lead zeros | n_fft/2 zeros | y | zeros] */
    size_t off;              /* y starts at signal + off */
    size_t signal_cap;       /* floats */
    size_t max_len;          /* samples of y at this octave for max_samples input */
    soxr_t halve;            /* to the next octave, NULL if the next one keeps the rate */
    int halve_used;          /* halve has had a signal since soxr_create or its last soxr_clear */
} cqt_octave;

struct a2m_cqt {
    a2m_cqt_params p;
    size_t max_samples;
    int n_octaves;
    cqt_octave *oct;
    double *inv_sqrt_len; /* [n_bins] 1/sqrt(filter length at the input rate) */
    float *power;         /* [max_frames x n_bins] |response|^2 scratch */
    size_t max_frames;
};

/* The CQT kernel cache (cqt_cache.c): one octave's sparse kernels, keyed by the parameters and the octave. */
typedef struct cqt_kernel_entry {
    double sample_rate, fmin;
    int hop, n_bins, bpo, octave, n_fft, rows, nnz;
    int *row, *col; /* [rows + 1], [nnz] (columns before prepare_front_end's shift) */
    float *re, *im; /* [nnz] */
} cqt_kernel_entry;
typedef struct cqt_kernel_set {
    cqt_kernel_entry *e;
    size_t n, cap;
} cqt_kernel_set;
int cqt_kernels_parse(const uint8_t *buf, size_t len, const char *name, uint32_t *tag, cqt_kernel_set *out);
void cqt_kernels_clear(cqt_kernel_set *s);
int cqt_kernels_get(a2m_cqt_params p, int octave, int n_fft, cqt_octave *o, int *found);
void cqt_kernels_put(a2m_cqt_params p, int octave, const cqt_octave *o);

/* FFTW planning shared by every feature kind (FFTW planning is not thread-safe: one process-wide lock). */
fftwf_plan dsp_plan_r2c_many(int n, int howmany, float *in, fftwf_complex *out);
fftwf_plan dsp_plan_c2c_many(int n, int howmany, fftwf_complex *in, fftwf_complex *out);
void dsp_plan_destroy(fftwf_plan plan); /* safe on NULL */

/* Sliding DFT: writes X_t .. X_{t+n_out-1} (p at frame t's first sample) into
 * xre/xim and takes `steps` steps; each step's arithmetic does not depend on
 * how steps are grouped into calls. */
/* librosa's sparsify_rows threshold of a kernel row of n magnitudes (sum `norm`); work: n doubles. The sorted
 * reference and the selection, bit-identical (test_cqt compares them). */
double cqt_sparsify_threshold_sorted(const double *mags, int n, double norm, double *work);
double cqt_sparsify_threshold(const double *mags, int n, double norm, double *work);
void cqt_slide(cqt_octave *o, const float *p, int steps, int n_out);
/* FFT spectra of nb (<= FRAME_BLOCK) frames, the first starting at s. */
void cqt_fft_block(cqt_octave *o, const float *s, size_t nb);
/* Kernels applied to the nb spectra in xre/xim: |response|^2 into rows of power. */
void cqt_kernel_power(const cqt_octave *o, size_t nb, const double *inv_sqrt_len, float *power, int n_bins_total);
/* Octave o's halver (if any) ready for a new signal: cleared only if it has had one. */
void cqt_halver_fresh(cqt_octave *o);

#endif
