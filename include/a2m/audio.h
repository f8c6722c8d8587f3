/* Audio in (libsndfile: WAV 16/24/32-bit int and float, FLAC, OGG, ...),
 * mixed to mono by channel mean and resampled with libsoxr (HQ) to the
 * analysis rate; WAV out; the voice-like test-signal synthesizer. */
#ifndef A2M_AUDIO_H
#define A2M_AUDIO_H

#include <stddef.h>
#include <stdio.h>
#include "a2m/midi.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct a2m_audio {
    float *samples; /* [n] mono, nominally in [-1, 1] */
    size_t n;
    double rate; /* samples per second */
} a2m_audio;

/* Reads path, mixes to mono, resamples to target_rate (<= 0: keep the file's rate).
 * Errors: missing file, folder, not audio, a WAV file cut short (its data chunk
 * declares more bytes than the file holds: A2M_ERR_FORMAT), zero samples
 * (A2M_ERR_EMPTY), NaN/inf samples (A2M_ERR_NONFINITE). Silent audio is returned as is: callers
 * that cannot use it check a2m_audio_is_silent(). */
int a2m_audio_read(const char *path, double target_rate, a2m_audio *out);
/* Same from an open stream (stdin): a WAV/FLAC/... stream, or raw float32
 * little-endian mono at raw_rate when raw_rate > 0. name is for messages. */
int a2m_audio_read_stream(FILE *fp, const char *name, double raw_rate, double target_rate, a2m_audio *out);
/* Streaming input: decodes a pipe chunk by chunk (a WAV/AU stream, or raw
 * float32 little-endian mono when raw_rate > 0), mixed to mono and resampled
 * with a streaming soxr HQ resampler to target_rate. The samples, concatenated,
 * equal a2m_audio_read_stream's for the same bytes. */
typedef struct a2m_audio_stream a2m_audio_stream;
int a2m_audio_stream_new(FILE *fp, const char *name, double raw_rate, double target_rate, a2m_audio_stream **out);
/* A file read as a stream (any format libsndfile reads): the same samples as
 * a2m_audio_read, in memory that does not grow with the file (and the same
 * errors: a WAV file cut short is refused). */
int a2m_audio_stream_new_file(const char *path, double target_rate, a2m_audio_stream **out);
/* The checks every file reader makes first: exists, not a folder, not empty. */
int a2m_audio_check_path(const char *path);
/* Up to cap samples; *n == 0 means the stream has ended. An empty stream is A2M_ERR_EMPTY. */
int a2m_audio_stream_read(a2m_audio_stream *s, float *buf, size_t cap, size_t *n);
double a2m_audio_stream_rate(const a2m_audio_stream *s);
void a2m_audio_stream_del(a2m_audio_stream *s);
/* Resamples x (mono) from in_rate to out_rate with libsoxr HQ; *y malloc'd. */
int a2m_resample(const float *x, size_t n, double in_rate, double out_rate, float **y, size_t *ny);
int a2m_audio_is_silent(const a2m_audio *a); /* peak below 1e-6 */
/* 1 when a file name has an audio extension a2m reads from folders (.wav .flac .ogg .aiff .mp3 ...: what
 * libsndfile decodes; case ignored), 0 otherwise and for hidden names (".x"). The one list of the folder
 * readers (dataset, features DIR, transcribe DIR). */
int a2m_audio_is_file_name(const char *name);
void a2m_audio_free(a2m_audio *a);
/* Writes mono 16-bit PCM WAV atomically. */
int a2m_audio_write_wav(const char *path, const float *x, size_t n, int rate);

/* ---- synthesizer ---- */
typedef struct a2m_synth_params {
    int rate;             /* 16000 */
    int n_harmonics;      /* 12 */
    double vibrato_hz;    /* 5.5 */
    double vibrato_cents; /* 30 */
    double breath;        /* noise level relative to the tone, 0.02 */
    double attack_s;      /* 0.04 */
    double release_s;     /* 0.08 */
    double gain;          /* peak level, 0.5 */
    double transpose;     /* semitones added to every note, 0 */
    double duration_s;    /* total length; <= 0: last offset + release */
    unsigned seed;        /* noise seed */
} a2m_synth_params;
a2m_synth_params a2m_synth_default_params(void);
/* Renders notes to mono samples (*out malloc'd, *n set). */
int a2m_synth_render(const a2m_note *notes, size_t n_notes, a2m_synth_params p, float **out, size_t *n);

#ifdef __cplusplus
}
#endif
#endif
