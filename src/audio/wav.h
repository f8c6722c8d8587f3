/* The one kind of audio file a2m reads without libsndfile: a RIFF/WAVE file of 16-bit PCM, what a2m writes and
 * ships (every take of the seed data). libsndfile reads it in 8 KB reads after about 30 system calls of header
 * parsing, and converts it in 16,384-frame chunks: 7.4 % of the CPU time of `a2m features --kind mel` over the
 * 45 seed test takes. This reads the file in one go and converts it to the same floats (x / 32768, then the
 * channel mean, as libsndfile's normalised reads and pcm_mix_mono). Anything else, or anything unusual in
 * such a file, goes to libsndfile as before. Internal to the library. */
#ifndef A2M_AUDIO_WAV_H
#define A2M_AUDIO_WAV_H

#include <stddef.h>
#include <stdint.h>

typedef struct wav_pcm16 {
    const uint8_t *data; /* [frames x channels] little-endian int16, inside the parsed bytes */
    size_t frames;
    int channels;
    double rate;
} wav_pcm16;

/* 1 when the len bytes at b are a whole RIFF/WAVE file of 16-bit PCM (format tag 1, 1..8 channels, a rate
 * within PCM_MIN_RATE..PCM_MAX_RATE) whose "fmt " chunk comes before a non-empty "data" chunk that lies
 * entirely inside the bytes, every chunk before the data of even size; 0 for anything else (libsndfile's
 * to read, or to report). */
int wav_pcm16_parse(const uint8_t *b, size_t len, wav_pcm16 *w);

/* Frames [first, first + n) of w as mono floats into out [n]. */
void wav_pcm16_mono(const wav_pcm16 *w, size_t first, size_t n, float *out);

#endif
