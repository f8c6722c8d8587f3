/* See logf_exact.h. Viterbi decoding of a 60 s transcription takes 520k logarithms (52 states x 10k frames): as
 * calls to logf they were 1.6% of the process (perf), the decoder's own loop around them another 1.6%. */
#include "core/logf_exact.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* glibc's __logf_data: {1/c, log c} for 16 subintervals, ln 2, and the polynomial of log1p */
static const double logf_tab[16][2] = {
    {0x1.661ec79f8f3bep+0, -0x1.57bf7808caadep-2}, {0x1.571ed4aaf883dp+0, -0x1.2bef0a7c06ddbp-2},
    {0x1.49539f0f010bp+0, -0x1.01eae7f513a67p-2},  {0x1.3c995b0b80385p+0, -0x1.b31d8a68224e9p-3},
    {0x1.30d190c8864a5p+0, -0x1.6574f0ac07758p-3}, {0x1.25e227b0b8eap+0, -0x1.1aa2bc79c81p-3},
    {0x1.1bb4a4a1a343fp+0, -0x1.a4e76ce8c0e5ep-4}, {0x1.12358f08ae5bap+0, -0x1.1973c5a611cccp-4},
    {0x1.0953f419900a7p+0, -0x1.252f438e10c1ep-5}, {0x1p+0, 0x0p+0},
    {0x1.e608cfd9a47acp-1, 0x1.aa5aa5df25984p-5},  {0x1.ca4b31f026aap-1, 0x1.c5e53aa362eb4p-4},
    {0x1.b2036576afce6p-1, 0x1.526e57720db08p-3},  {0x1.9c2d163a1aa2dp-1, 0x1.bc2860d22477p-3},
    {0x1.886e6037841edp-1, 0x1.1058bc8a07ee1p-2},  {0x1.767dcf5534862p-1, 0x1.4043057b6ee09p-2}};
#define LOGF_LN2 0x1.62e42fefa39efp-1
#define LOGF_A0  -0x1.00ea348b88334p-2
#define LOGF_A1  0x1.5575b0be00b6ap-2
#define LOGF_A2  -0x1.ffffef20a4123p-2
#define LOGF_OFF 0x3f330000u /* subinterval boundaries: x = 2^k z, z in [OFF, 2 OFF) */

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define TGT __attribute__((target("avx2,fma")))

/* one float as __logf_fma computes it: r = z/c - 1 and log x = k ln2 + log c + log1p(r), each step the same
 * operation (fused or not) as there */
TGT static float logf1(float x) {
    uint32_t ix, tmp, iz;
    memcpy(&ix, &x, sizeof ix);
    tmp = ix - LOGF_OFF, iz = ix - (tmp & 0xff800000u);
    int i = (int)((tmp >> 19) & 15);
    int32_t k = (int32_t)tmp >> 23;
    float zf;
    memcpy(&zf, &iz, sizeof zf);
    double r = fma((double)zf, logf_tab[i][0], -1.0), y0 = fma((double)k, LOGF_LN2, logf_tab[i][1]), r2 = r * r;
    double y = fma(r2, LOGF_A0, fma(r, LOGF_A1, LOGF_A2));
    return (float)fma(r2, y, r + y0);
}

/* four at a time: the same operations lane by lane */
TGT static void logf_avx2(const float *x, float *y, int n) {
    const __m128i off = _mm_set1_epi32((int)LOGF_OFF), top = _mm_set1_epi32((int)0xff800000u), m15 = _mm_set1_epi32(15);
    int j = 0;
    for (; j + 4 <= n; j += 4) {
        __m128i ix = _mm_loadu_si128((const __m128i *)(x + j)), tmp = _mm_sub_epi32(ix, off);
        __m128i i2 = _mm_slli_epi32(_mm_and_si128(_mm_srli_epi32(tmp, 19), m15), 1); /* row i, doubles 2i */
        __m128i k = _mm_srai_epi32(tmp, 23), iz = _mm_sub_epi32(ix, _mm_and_si128(tmp, top));
        __m256d invc = _mm256_i32gather_pd(&logf_tab[0][0], i2, 8);
        __m256d logc = _mm256_i32gather_pd(&logf_tab[0][1], i2, 8);
        __m256d z = _mm256_cvtps_pd(_mm_castsi128_ps(iz));
        __m256d r = _mm256_fmadd_pd(z, invc, _mm256_set1_pd(-1.0));
        __m256d y0 = _mm256_fmadd_pd(_mm256_cvtepi32_pd(k), _mm256_set1_pd(LOGF_LN2), logc);
        __m256d r2 = _mm256_mul_pd(r, r);
        __m256d p = _mm256_fmadd_pd(r, _mm256_set1_pd(LOGF_A1), _mm256_set1_pd(LOGF_A2));
        p = _mm256_fmadd_pd(r2, _mm256_set1_pd(LOGF_A0), p);
        _mm_storeu_ps(y + j, _mm256_cvtpd_ps(_mm256_fmadd_pd(r2, p, _mm256_add_pd(r, y0))));
    }
    for (; j < n; j++) y[j] = logf1(x[j]);
}

#endif

void a2m_logf_exact(const float *x, float *y, int n) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) { /* glibc's logf is __logf_fma there */
        logf_avx2(x, y, n);
        return;
    }
#endif
    for (int j = 0; j < n; j++) y[j] = logf(x[j]);
}
