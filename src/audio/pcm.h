/* Sample conversions shared by the whole-file and the streaming readers, so both
 * give the same samples for the same bytes. Internal to the library. */
#ifndef A2M_AUDIO_PCM_H
#define A2M_AUDIO_PCM_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Interleaved frames [n x channels] -> mono by channel mean (librosa.to_mono). */
static inline void pcm_mix_mono(float *mono, const float *frames, size_t n, int channels) {
    for (size_t f = 0; f < n; f++) {
        const float *fr = frames + f * (size_t)channels;
        if (channels == 1) {
            mono[f] = fr[0];
        } else {
            float sum = 0.0f;
            for (int c = 0; c < channels; c++) sum += fr[c];
            mono[f] = sum / (float)channels;
        }
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
