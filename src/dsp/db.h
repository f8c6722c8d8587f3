/* Power to decibels, fast and exact to ~1e-5 dB: shared by the CQT's dB features (cqt.c) and the transcriber's
 * spectral flux (transcribe/flux.c). Internal to the library. */
#ifndef A2M_DSP_DB_H
#define A2M_DSP_DB_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#ifndef M_LN10
#define M_LN10 2.30258509299404568402
#endif
#ifndef M_LN2
#define M_LN2 0.69314718055994530942
#endif

/* 10 log10(pw) for normal pw > 0, vectorisable: pw = 2^e m with m in
 * [sqrt(1/2), sqrt(2)), ln m = 2 atanh(s), s = (m-1)/(m+1), |s| < 0.172, by
 * its series to s^9 (truncation < 1e-9); within ~1e-5 dB of log10f. */
static inline float a2m_db_of_power(float pw) {
    uint32_t i;
    memcpy(&i, &pw, sizeof i);
    int32_t e = (int32_t)(i - 0x3f3504f3u) >> 23; /* 0x3f3504f3: sqrt(1/2) */
    uint32_t mi = i - ((uint32_t)e << 23);
    float m;
    memcpy(&m, &mi, sizeof m);
    float s = (m - 1.0f) / (m + 1.0f), s2 = s * s;
    float ln_m = 2.0f * s * (1.0f + s2 * (1.0f / 3 + s2 * (1.0f / 5 + s2 * (1.0f / 7 + s2 * (1.0f / 9)))));
    return (float)(10.0 / M_LN10) * ((float)e * (float)M_LN2 + ln_m);
}

#endif
