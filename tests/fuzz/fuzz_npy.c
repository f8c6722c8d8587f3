/* libFuzzer target: the .npy parser on arbitrary bytes, and a2m_npy_parse_take giving the same array. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "a2m/io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    a2m_array a;
    if (a2m_npy_parse(data, size, "fuzz.npy", &a) != 0) return 0;
    /* touch every byte the parser claims to hold */
    size_t bytes = a2m_array_count(&a) * a2m_dtype_size(a.dtype);
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < bytes; i++) sink ^= ((const uint8_t *)a.data)[i];
    (void)sink;
    uint8_t *own = malloc(size ? size : 1);
    if (!own) abort();
    memcpy(own, data, size);
    a2m_array b;
    if (a2m_npy_parse_take(own, size, "fuzz.npy", &b) != 0 || b.ndim != a.ndim || b.dtype != a.dtype ||
        memcmp(b.shape, a.shape, sizeof a.shape) != 0 || memcmp(b.data, a.data, bytes) != 0)
        abort();
    a2m_array_free(&a), a2m_array_free(&b);
    return 0;
}
