/* libFuzzer target: the 16-bit PCM WAV parser (audio/wav.h) on arbitrary bytes, every accepted frame converted. */
#include <stdint.h>
#include <stdlib.h>

#include "audio/wav.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    wav_pcm16 w;
    if (!wav_pcm16_parse(data, size, &w)) return 0;
    if (w.channels < 1 || w.channels > 8 || w.frames == 0 || w.data < data ||
        (size_t)(w.data - data) + w.frames * 2 * (size_t)w.channels > size)
        abort(); /* the parser promised frames inside the bytes */
    float *x = malloc(w.frames * sizeof *x);
    if (!x) return 0;
    wav_pcm16_mono(&w, 0, w.frames, x);
    volatile float sink = 0;
    for (size_t i = 0; i < w.frames; i++) sink += x[i];
    (void)sink;
    free(x);
    return 0;
}
