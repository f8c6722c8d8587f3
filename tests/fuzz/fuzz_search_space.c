/* libFuzzer target: the search-space parser (a2m search --space) on arbitrary bytes; a space it accepts is
 * applied, printed as train options, stored as JSON and read back, and sampled from. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "a2m/search.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    a2m_search_space s, back;
    if (a2m_search_space_parse((const char *)data, size, "fuzz.json", &s) != 0) return 0;
    double v[A2M_SEARCH_MAX_PARAMS];
    uint64_t rng = size;
    if (a2m_search_sample(&s, NULL, 0, 0, A2M_SAMPLER_RANDOM, a2m_tpe_default_params(), &rng, v) != 0) abort();
    a2m_train_params p = a2m_train_default_params();
    if (a2m_search_apply(&s, v, &p) != 0) abort(); /* a sampled value is always inside the option's range */
    char args[4096];
    a2m_search_train_args(&s, v, args, sizeof args);
    char *j = a2m_search_space_json(&s);
    if (!j) return 0;
    if (a2m_search_space_parse(j, strlen(j), "stored", &back) != 0 || back.n != s.n) abort();
    free(j);
    return 0;
}
