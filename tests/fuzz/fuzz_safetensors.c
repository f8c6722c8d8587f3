/* libFuzzer target: the safetensors parser and model recognition on arbitrary bytes. */
#include <stdint.h>
#include <stdlib.h>

#include "nn/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    st_file f;
    if (st_parse(data, size, "fuzz.safetensors", &f) != 0) return 0;
    volatile float sink = 0;
    for (size_t i = 0; i < f.n; i++)
        for (size_t k = 0; k < f.t[i].count; k++) sink += f.t[i].data[k];
    (void)sink;
    (void)st_meta(&f, "arch");
    st_free(&f);
    return 0;
}
