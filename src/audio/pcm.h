/* Sample conversions shared by the whole-file and the streaming readers, so both
 * give the same samples for the same bytes. Internal to the library. */
#ifndef A2M_AUDIO_PCM_H
#define A2M_AUDIO_PCM_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Input bounds. A header's sample rate is taken only within [1 kHz, 768 kHz]: a 768 KB WAV claiming 1 Hz
 * meant 384,000 s of audio, resampled to 6.1e9 samples (3 GB within 15 s, transcription over 10 minutes).
 * With the floor, n input samples give at most n * 384 resampled ones (the CLI's highest analysis rate, 384 kHz,
 * over 1 kHz), so the work is bounded by the file's real size. One-shot reads (the whole recording in memory)
 * also stop at 10 hours of audio: 576 M samples (2.3 GB) at 16 kHz; streams (transcribe) have no such cap. */
#define PCM_MIN_RATE    1000.0
#define PCM_MAX_RATE    768000.0
#define PCM_MAX_SECONDS (10.0 * 3600.0)

/* Interleaved frames [n x channels] -> mono by channel mean (librosa.to_mono). */
static inline void pcm_mix_mono(float *mono, const float *frames, size_t n, int channels) {
    if (channels == 1) { /* a copy (the per-sample branch was half of the stream reader's own time) */
        memcpy(mono, frames, n * sizeof *mono);
        return;
    }
    for (size_t f = 0; f < n; f++) {
        const float *fr = frames + f * (size_t)channels;
        float sum = 0.0f;
        for (int c = 0; c < channels; c++) sum += fr[c];
        mono[f] = sum / (float)channels;
    }
}

/* n little-endian float32 samples from bytes [4n], whatever the host's byte order. */
static inline void pcm_f32le_decode(float *dst, const uint8_t *bytes, size_t n) {
    for (size_t i = 0; i < n; i++) {
        uint32_t u = (uint32_t)bytes[4 * i] | ((uint32_t)bytes[4 * i + 1] << 8) | ((uint32_t)bytes[4 * i + 2] << 16) |
                     ((uint32_t)bytes[4 * i + 3] << 24);
        memcpy(&dst[i], &u, sizeof u);
    }
}

#endif
