/* libFuzzer target: the 16-bit PCM WAV parser (audio/wav.h) on arbitrary bytes, every accepted frame converted;
 * the truncation check (wav_missing_bytes) on the same bytes as a file's head, for three file sizes. */
#include <stdint.h>
#include <stdlib.h>

#include "audio/wav.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint64_t declared;
    const uint64_t sizes[3] = {size, (uint64_t)size / 2, (uint64_t)1 << 40};
    for (int k = 0; k < 3; k++)
        if (wav_missing_bytes(data, size, sizes[k], &declared) > declared) abort(); /* never more than it declares */
    /* a whole file (the head is all of it) whose data chunk the 16-bit parser accepts misses nothing */
    wav_pcm16 w;
    if (!wav_pcm16_parse(data, size, &w)) return 0;
    if (wav_missing_bytes(data, size, size, &declared)) abort();
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
