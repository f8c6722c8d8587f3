/* Internal to src/dsp: the feature extractor behind a2m/features.h, its STFT kinds (stft.c: mel, mfcc)
 * and linear prediction (lpc.c). */
#ifndef A2M_DSP_FEAT_INTERNAL_H
#define A2M_DSP_FEAT_INTERNAL_H

#include <fftw3.h>
#include <stddef.h>

#include "a2m/features.h"

#define STFT_BLOCK 32 /* frames a block of mel sums: 4 vectors of 8 */
/* pairs of frames an FFTW execution (two frames a complex transform): 4, the 8 frames of a vector */
#define FFT_PAIRS  4
#define LANES      16 /* frames a block of stft_lanes.c */

struct a2m_feat {
    a2m_cqt_params c;
    a2m_feat_params f;
    size_t max_samples, max_frames; /* frames before the last-frame drop */
    int dim;
    a2m_cqt *cqt;  /* kind cqt */
    size_t pad;    /* samples added on each side: n_fft/2 (stft) or frame_length/2 (lpc) */
    float *padded; /* [pad | x | pad] */
    /* mel, mfcc */
    int n_fft, nf;
    float *window;         /* [n_fft] periodic Hann */
    fftwf_complex *frames; /* [FFT_PAIRS x n_fft] frame 2p + i frame 2p+1, fftwf aligned */
    fftwf_complex *spec;   /* [FFT_PAIRS x n_fft] their DFTs */
    float *spow;           /* [STFT_BLOCK / 8][nf][8] 4|X|^2, bin-major by the 8 frames of an FFTW execution */
    fftwf_plan plan;
    int *mel_start, *mel_len; /* [n_mels]: band m weighs DFT bins [start, start + len) */
    float *mel_w;             /* the weights of every band, back to back */
    size_t *mel_off;          /* [n_mels] offset of band m's weights in mel_w */
    float *mel_tile;          /* [n_mels x STFT_BLOCK] a block's mel power, band-major */
    float *power;             /* [max_frames x n_mels] mel power */
    float *db;                /* [max_frames x n_mels] dB mel (mfcc) */
    float *dct;               /* [n_mels x n_mfcc padded to 8] orthonormal DCT-II, column k = coefficient k */
    /* mel, mfcc with a power-of-two n_fft on AVX-512 CPUs (stft_lanes.c): 16 frames a block, one a lane */
    int lanes;                  /* 1: this path, the FFTW buffers above unused */
    float *lx;                  /* [lr][lc + 1][2][LANES] the four-step transform's columns done */
    float *lpow;                /* [nf][LANES] 4|X|^2 */
    float *ltile;               /* [n_mels][LANES] a block's mel power */
    int lr, lc;                 /* n_fft/2 = lr x lc, the four-step transform's column and row lengths */
    float *lsub;                /* [9 lr + 2 lc][2][LANES] 8 columns and a scratch, or two rows */
    float *ltw, *ltw_c, *ltw_x; /* Stockham twiddles of lr, of lc; W^(b k) between the steps [lc][lr] */
    float *lrot;                /* W_n^k, k <= n_fft/2 */
    /* lpc */
    double *fwd, *bwd; /* [frame_length] prediction errors */
};

/* Frames of n samples before the last-frame drop (0 when none fits). */
size_t feat_frames_all(const a2m_feat *e, size_t n);
int stft_prepare(a2m_feat *e); /* window, plan, mel bank, dct, scratch */
void stft_free(a2m_feat *e);
int stft_use_fftw(a2m_feat *e);  /* the FFTW path for any n_fft (tests compare the two) */
int stft_use_lanes(a2m_feat *e); /* the lane path where n_fft allows, on any CPU (slow without AVX-512) */
int stft_features(a2m_feat *e, size_t n, size_t all, size_t keep, float *out); /* e->padded holds the signal */
/* after stft's mel bank: e->lanes = 1 when n_fft is a power of two >= 256 and the CPU has AVX-512 (or force) */
int lanes_prepare(a2m_feat *e, int force);
void lanes_free(a2m_feat *e);
void lanes_block(a2m_feat *e, const float *s, int nb, float *out); /* mel power of nb <= LANES frames */
int lpc_prepare(a2m_feat *e);
void lpc_free(a2m_feat *e);
void lpc_features(a2m_feat *e, size_t keep, float *out);

#endif
