/* Where the first NaN, infinity or absurd sample sits in a float array, fast enough to run on every signal: whole
 * chunks are tested branch-free in vectors (GCC's vector extensions: SSE2 on any x86-64), and only a chunk that
 * fails is searched sample by sample. The early-exit isfinite() loop this replaces was 2/3 of a2m_feat_do's own time
 * (64,000 samples: 37 us, now 5 us, on this machine). Internal to the library. */
#ifndef A2M_CORE_FINITE_H
#define A2M_CORE_FINITE_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef uint32_t a2m_v4u __attribute__((vector_size(16)));
typedef int32_t a2m_v4i __attribute__((vector_size(16)));
typedef uint32_t a2m_v4u_u __attribute__((vector_size(16), aligned(4), may_alias));

/* Samples beyond +-1e6 (120 dB above full scale) are refused as NaN and infinity are: no audio is that loud, and
 * their powers overflow float on the way to decibels (a float WAV of +-3e38 read as 0 notes of silence without a
 * word; +-1e6 transcribes as it should). */
#define A2M_SAMPLE_LIMIT 1e6f

/* The index of the first value of x[0..n) that is NaN, infinite or beyond +-A2M_SAMPLE_LIMIT, n when there is none:
 * the magnitude's bits order as the magnitudes do, and every NaN's and infinity's are above the limit's. */
static inline size_t a2m_first_absurd(const float *x, size_t n) {
    const a2m_v4u abs = {0x7fffffffu, 0x7fffffffu, 0x7fffffffu, 0x7fffffffu};
    const a2m_v4i lim = {0x49742400, 0x49742400, 0x49742400, 0x49742400}; /* the bits of 1e6f */
    for (size_t c = 0; c < n; c += 1024) {
        size_t e = n - c < 1024 ? n : c + 1024, i = c;
        a2m_v4i bad = {0, 0, 0, 0};
        for (; i + 4 <= e; i += 4) bad |= (a2m_v4i)(*(const a2m_v4u_u *)(x + i) & abs) > lim;
        int any = (bad[0] | bad[1] | bad[2] | bad[3]) != 0;
        for (; i < e; i++) any |= !(fabsf(x[i]) <= A2M_SAMPLE_LIMIT);
        if (any)
            for (i = c; i < e; i++)
                if (!(fabsf(x[i]) <= A2M_SAMPLE_LIMIT)) return i;
    }
    return n;
}

/* The largest of n non-negative floats (powers: never NaN, inputs are checked finite), 0 when n is 0, compared by
 * their bits, which order as the values do: a loop that vectorises in every caller's ISA clone, where a search
 * for the index (x[k] > x[top]) ran one compare a value. */
static inline __attribute__((always_inline)) float a2m_max_nonneg(const float *x, size_t n) {
    uint32_t top = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t b;
        memcpy(&b, &x[i], sizeof b);
        top = b > top ? b : top;
    }
    float v;
    memcpy(&v, &top, sizeof v);
    return v;
}

#endif
