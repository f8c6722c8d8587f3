/* libFuzzer target: the CQT kernel cache's parser (src/dsp/cqt_cache.c) on arbitrary bytes, as a file's body
 * (the checksum and build tag, checked before it on load, would stop nearly every input). */
#include <stdint.h>
#include <stdlib.h>

#include "dsp/cqt_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cqt_kernel_set set;
    uint32_t tag;
    if (cqt_kernels_parse(data, size, "fuzz.cqt-kernels", &tag, &set) != 0) return 0;
    /* touch every value the parser claims to hold */
    volatile float sink = 0;
    for (size_t i = 0; i < set.n; i++) {
        const cqt_kernel_entry *e = &set.e[i];
        for (int k = e->row[0]; k < e->row[e->rows]; k++) sink += e->re[k] * e->im[k] + (float)e->col[k];
    }
    (void)sink;
    cqt_kernels_clear(&set);
    return 0;
}
