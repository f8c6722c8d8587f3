/* splitmix64 (Steele, Lea and Flood; Vigna's constants): small, fast and the same everywhere, the one generator
 * of the library's seeds and streams (synthesis noise, melodies, initialisation and shuffling, UMAP, TPE), which
 * was written out six times. Internal: the public a2m_gen_next / a2m_gen_uniform are these. */
#ifndef A2M_CORE_RAND_H
#define A2M_CORE_RAND_H

#include <stdint.h>

static inline uint64_t a2m_splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* [0, 1): the top 53 bits */
static inline double a2m_uniform53(uint64_t *s) {
    return (double)(a2m_splitmix64(s) >> 11) * (1.0 / 9007199254740992.0);
}

#endif
