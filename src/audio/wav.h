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
 * entirely inside the bytes, every chunk before the data of even size, at most WAV_FAST_MAX_CHUNKS chunks before
 * it; 0 for anything else (libsndfile's to read, or to report). */
/* libsndfile refuses a WAV file whose data chunk comes after ~6,500 tiny chunks ("No 'data' chunk marker": 6,547
 * JUNK chunks of 2 bytes read, 6,548 not; 609 of 100 bytes, 610 not). Past this many the fast path leaves the
 * file to libsndfile, so every command (features, dataset, transcribe's file and stream paths) reads or refuses
 * such a file alike; real files have a handful. */
#define WAV_FAST_MAX_CHUNKS 64
int wav_pcm16_parse(const uint8_t *b, size_t len, wav_pcm16 *w);

/* How many bytes a RIFF/WAVE file's "data" chunk declares beyond the end of the file, from head [head_len], the
 * file's first bytes (its chunk headers up to the data's), and the file's size: > 0 for a file cut short (a copy or
 * recording interrupted); 0 for a whole file, another kind of file, a data chunk header not within head, or the
 * sizes a writer that could not seek back leaves (0, or 0x7fff0000 and above: read to the end, as libsndfile does).
 * RF64/BW64 files too, whose data size 0xffffffff stands for their ds64 chunk's 64-bit one (0 or 2^63 and above:
 * read to the end). *declared: the data chunk's size, where one was found. */
uint64_t wav_missing_bytes(const uint8_t *head, size_t head_len, uint64_t file_size, uint64_t *declared);

/* A2M_ERR_FORMAT naming path when it is a WAV file cut short (wav_missing_bytes over its first 4 KB), else A2M_OK
 * (any other file, or one that cannot be opened: the reader that follows reports that). */
int wav_check_whole(const char *path);

/* Frames [first, first + n) of w as mono floats into out [n]. */
void wav_pcm16_mono(const wav_pcm16 *w, size_t first, size_t n, float *out);

#endif
