/* libFuzzer target: the .npy parser on arbitrary bytes. */
#include <stdint.h>
#include <stdlib.h>

#include "a2m/io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    a2m_array a;
    if (a2m_npy_parse(data, size, "fuzz.npy", &a) != 0) return 0;
    /* touch every byte the parser claims to hold */
    size_t bytes = a2m_array_count(&a) * a2m_dtype_size(a.dtype);
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < bytes; i++) sink ^= ((const uint8_t *)a.data)[i];
    (void)sink;
    a2m_array_free(&a);
    return 0;
}
