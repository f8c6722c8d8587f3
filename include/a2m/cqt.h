/* Constant-Q transform equal to librosa 0.10's cqt() followed by
 * amplitude_to_db(). Plans and kernels are made once in a2m_cqt_new (under a
 * mutex: FFTW planning is not thread-safe) and reused; a2m_cqt_db and a2m_cqt_magnitude allocate
 * nothing, so one a2m_cqt per thread runs freely. */
#ifndef A2M_CQT_H
#define A2M_CQT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct a2m_cqt_params {
    double sample_rate;  /* 16000 */
    int hop;             /* 96 */
    double fmin;         /* 32.7031956626 (C1) */
    int n_bins;          /* 252 */
    int bins_per_octave; /* 36 */
    double ref;          /* amplitude_to_db ref: 1.0 */
    double amin;         /* 1e-5 */
    double top_db;       /* 80; <= 0 disables the floor */
    int drop_last_frame; /* 1: a 4.0 s take gives 666 frames (dataset convention) */
} a2m_cqt_params;

a2m_cqt_params a2m_cqt_default_params(void);

typedef struct a2m_cqt a2m_cqt;

/* Prepares kernels and FFT plans for inputs of up to max_samples samples. */
/* FFTW wisdom (process-wide, as FFTW keeps it): the CQT's top-octave transforms are planned with FFTW_MEASURE,
 * which costs ~40 ms at every process start; with the plans of an earlier run loaded, none is measured again
 * and the same plan (so the same bits) is used. Load before making CQTs; 0 when loaded, A2M_ERR_IO when the
 * file is missing, unreadable, corrupt or from another FFTW build (the caller goes on without it). */
int a2m_fftw_wisdom_load(const char *path);
/* 1 when a CQT has measured a plan that the wisdom did not have (worth saving). */
int a2m_fftw_wisdom_new(void);
/* Writes the wisdom atomically (a temporary file renamed over path). */
int a2m_fftw_wisdom_save(const char *path);
/* CQT kernels kept between runs (process-wide, as the wisdom; the program's main loads and saves them): making
 * them was ~30% of a one-take `a2m features`. Load before making CQTs; 0 when loaded, A2M_ERR_IO or
 * A2M_ERR_FORMAT when the file is missing, corrupt or from another build (the caller goes on without it: the
 * kernels are made anew, the same bits). */
int a2m_cqt_kernels_load(const char *path);
/* 1 when a CQT has made kernels that the loaded file did not have (worth saving). */
int a2m_cqt_kernels_new(void);
/* Writes the kernels atomically (a temporary file renamed over path). */
int a2m_cqt_kernels_save(const char *path);

int a2m_cqt_new(a2m_cqt_params p, size_t max_samples, a2m_cqt **out);
void a2m_cqt_del(a2m_cqt *c); /* safe on NULL and on half-built objects */
/* Room for inputs of up to max_samples: the kernels and FFT plans (most of a2m_cqt_new's time) are kept, only
 * the signal buffers grow. One CQT per parameter set (and thread) serves files of any length. */
int a2m_cqt_reserve(a2m_cqt *c, size_t max_samples);
/* dB features [frames x n_bins] (malloc'd) of an audio file read at the CQT's rate, the CQT grown as needed. */
int a2m_cqt_db_file(a2m_cqt *c, const char *path, float **db, size_t *n_frames);
/* The same with a CQT made for this one file (callers reading several files keep one and use a2m_cqt_db_file). */
int a2m_cqt_db_from_file(const char *path, a2m_cqt_params p, float **db, size_t *n_frames);
/* Frames produced for n samples (after the optional last-frame drop). */
size_t a2m_cqt_n_frames(const a2m_cqt *c, size_t n_samples);
/* Magnitude |CQT| [frames x bins] (no dB), for callers that want linear. */
int a2m_cqt_magnitude(a2m_cqt *c, const float *x, size_t n, float *mag /* [frames x n_bins] */);
/* dB features [frames x bins] as the dataset uses them. */
int a2m_cqt_db(a2m_cqt *c, const float *x, size_t n, float *db /* [frames x n_bins] */);
/* amplitude_to_db of power frames |C|^2 [n_keep x n_bins], floored at the
 * loudest of the first n_max (>= n_keep) frames minus top_db: a2m_cqt_db's
 * last step, for callers holding power frames (the streaming CQT's). */
void a2m_cqt_power_db(a2m_cqt_params p, const float *power, size_t n_max, size_t n_keep, float *db);

/* Streaming CQT: the power frames |C|^2 of a signal that arrives in pieces,
 * equal bit for bit to those of the one-shot transform of the whole signal
 * (a2m_cqt_magnitude squared), each handed out as soon as no later sample
 * can change it (2.7-4 s after its centre for the default parameters: the
 * lowest octave's kernels reach 1 s ahead, its five libsoxr halvers delay
 * it by 1.7 s more).
 * Memory does not grow with the signal's length. */
typedef struct a2m_cqt_stream a2m_cqt_stream;
int a2m_cqt_stream_new(a2m_cqt_params p, a2m_cqt_stream **out);
void a2m_cqt_stream_del(a2m_cqt_stream *s);   /* safe on NULL */
void a2m_cqt_stream_reset(a2m_cqt_stream *s); /* for a new signal */
/* n samples (x may be NULL when n is 0); A2M_ERR_NONFINITE on NaN/inf. */
int a2m_cqt_stream_push(a2m_cqt_stream *s, const float *x, size_t n);
/* The signal has ended: its remaining frames become ready (a2m_cqt_n_frames of the total, in all). */
int a2m_cqt_stream_finish(a2m_cqt_stream *s);
/* Frames ready and not yet pulled. */
size_t a2m_cqt_stream_ready(const a2m_cqt_stream *s);
/* Moves up to max_frames ready frames into power [frames x n_bins]; returns how many. */
size_t a2m_cqt_stream_pull(a2m_cqt_stream *s, float *power, size_t max_frames);

/* Centre frequency of bin k in Hz. */
double a2m_cqt_bin_freq(a2m_cqt_params p, int k);

#ifdef __cplusplus
}
#endif
#endif
