/* Mel power of 16 frames at once, one frame a vector lane (n_fft a power of two >= 256, on CPUs with AVX-512;
 * stft.c's FFTW path serves the rest). Every step is a scalar algorithm written on 16-float vectors, so no
 * transform shuffles values within a vector and every twiddle is one broadcast scalar:
 * - columns: 16 samples of each of the 16 frames transposed 16 x 16 (frame f in lane f) times the window;
 *   the even and odd samples are one complex sequence of h = n_fft/2 points, transformed in four steps
 *   (h = R x C: R-point DFTs down the columns, twiddles, C-point DFTs along the rows) so that each small
 *   transform works in L1, by radix-8 Stockham stages and a last radix-4 or radix-2 one;
 * - rows_power: rows k1 and R - k1 hold Z[k] and Z[h - k], which untangle into the real transform's bins
 *   k and h - k at once, from the rows' last butterflies in registers: 4|X[k]|^2 (the 1/4 is in the mel
 *   weights, as for stft.c's pairs);
 * - each mel band sums its bins for the 16 frames as one vector; 16 x 16 transposes into frame rows.
 * Measured in-process on one take (667 frames, `a2m_feat_do`, min of 30 alternated runs, Zen 4 with Debian's
 * FFTW, which has AVX but no AVX2/FMA/AVX-512 codelets): 0.79-0.83 ms a take against 0.87-0.96 for the FFTW
 * path (FFTW's transform alone 0.8 us a frame, 0.53 ms a take); session 20: 0.60 ms a take (45 takes,
 * 0.78 before), the same bits. The same code in the x86-64-v3 clone (each
 * 16-float vector two AVX2 halves) took 6x as long: it is used only where the v4 clone runs. Differences to
 * the FFTW path: within 1.2e-4 dB (test_features). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "a2m/error.h"
#include "core/isa.h"
#include "dsp/feat_internal.h"

/* x86-64-v4 (AVX-512) clone where GCC makes one (as attention.c); LANES_FAST: this build has 512-bit code */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__AVX512F__) &&                        \
    !defined(A2M_NO_DISPATCH)
#define LANES_DISPATCH __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#define LANES_FAST     1
#else
#define LANES_DISPATCH A2M_DISPATCH
#ifdef __AVX512F__
#define LANES_FAST 1
#else
#define LANES_FAST 0
#endif
#endif
#define INL static inline __attribute__((always_inline))

typedef float v16 __attribute__((vector_size(64)));
typedef float v16_u __attribute__((vector_size(64), aligned(4), may_alias));
typedef int v16i __attribute__((vector_size(64)));
typedef float v8 __attribute__((vector_size(32)));
typedef float v8_u __attribute__((vector_size(32), aligned(4), may_alias));

static void *alloc64(size_t n_floats) { return aligned_alloc(64, (n_floats * sizeof(float) + 63) / 64 * 64); }

/* The twiddles of the Stockham stages of an m-point transform (fft_small: radix 8 while m >= 8, then 4 or 2):
 * W_m^(p k), k = 1..r-1 for p < m/r, complex; fewer than 2m floats in all. Returns the end. */
static float *stage_twiddles(int m, float *t) {
    for (int r; m >= 4; m /= r) {
        r = m >= 8 ? 8 : 4;
        for (int p = 0; p < m / r; p++)
            for (int k = 1; k < r; k++)
                *t++ = (float)cos(2 * M_PI * k * p / m), *t++ = (float)-sin(2 * M_PI * k * p / m);
    }
    return t;
}

/* The CPU runs the x86-64-v4 clone (GCC's resolver asks for these five). */
static int lanes_fast(void) {
#if LANES_FAST && defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512vl");
#else
    return 0;
#endif
}

int lanes_prepare(a2m_feat *e, int force) {
    const int n = e->n_fft, h = n / 2;
    if (n < 256 || (n & (n - 1)) || !(force || lanes_fast())) return A2M_OK; /* the FFTW path */
    if (e->lx) { /* made before (stft_use_fftw, then stft_use_lanes) */
        e->lanes = 1;
        return A2M_OK;
    }
    int R = 1;
    while (R * R < h) R *= 2; /* h = R x C, R >= C (R = C = 32 at 2048; 16 x 64 took as long, 64 x 16 longer) */
    e->lr = R, e->lc = h / R;
    const size_t padded = 2 * ((size_t)h + R + e->lc) * LANES; /* a complex value more every row (fft_lanes) */
    e->lx = alloc64(padded), e->lsub = alloc64((size_t)2 * (9 * R + 2 * e->lc) * LANES);
    e->lpow = alloc64((size_t)e->nf * LANES);
    e->ltile = alloc64((size_t)e->f.n_mels * LANES);
    e->ltw = malloc((size_t)(2 * R + 2 * e->lc + 2 * h) * sizeof *e->ltw);
    e->lrot = malloc((size_t)2 * (h + 1) * sizeof *e->lrot);
    if (!e->lx || !e->lsub || !e->lpow || !e->ltile || !e->ltw || !e->lrot) return A2M_ERR_NOMEM;
    e->ltw_c = stage_twiddles(R, e->ltw);
    e->ltw_x = stage_twiddles(e->lc, e->ltw_c);
    for (int b = 0; b < e->lc; b++) /* W_h^(b k), the four-step's twiddles between its column and row transforms */
        for (int k = 0; k < R; k++)
            e->ltw_x[2 * (b * R + k)] = (float)cos(2 * M_PI * b * k / h),
                                  e->ltw_x[2 * (b * R + k) + 1] = (float)-sin(2 * M_PI * b * k / h);
    for (int k = 0; k <= h; k++) /* W_n^k, the odd half's twiddle of the real transform */
        e->lrot[2 * k] = (float)cos(2 * M_PI * k / n), e->lrot[2 * k + 1] = (float)-sin(2 * M_PI * k / n);
    e->lanes = 1;
    return A2M_OK;
}

void lanes_free(a2m_feat *e) { free(e->lx), free(e->lsub), free(e->lpow), free(e->ltile), free(e->ltw), free(e->lrot); }

/* 16 x 16 transpose in place: at level b, rows i and i + b (bit b of i clear) swap their off-diagonal
 * b-blocks (lo[p] = p & b ? 16 + p - b : p, hi[p] = p & b ? 16 + p : p + b, 16+ the second row); after
 * b = 8, 4, 2, 1 row j holds column j. */
#ifdef __clang__
#define SHUF16(a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
#else
#define SHUF16(a, b, ...) __builtin_shuffle(a, b, (v16i){__VA_ARGS__})
#endif
#define TR_LO8 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23
#define TR_HI8 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31
#define TR_LO4 0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27
#define TR_HI4 4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31
#define TR_LO2 0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29
#define TR_HI2 2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31
#define TR_LO1 0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30
#define TR_HI1 1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31
#define TR_LEVEL(b)                                                                                                    \
    _Pragma("GCC unroll 16") for (int i = 0; i < 16; i++) if (!(i & (b))) {                                            \
        v16 a_ = r[i], c_ = r[i + (b)];                                                                                \
        r[i] = SHUF16(a_, c_, TR_LO##b), r[i + (b)] = SHUF16(a_, c_, TR_HI##b);                                        \
    }
/* two 8-float halves as one vector (GCC >= 12 and clang have __builtin_shufflevector) */
#define JOIN8(lo, hi) __builtin_shufflevector(lo, hi, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
/* transpose16 but its first level (b = 8) */
INL void transpose16_from4(v16 r[16]) {
    TR_LEVEL(4);
    TR_LEVEL(2);
    TR_LEVEL(1);
}
INL void transpose16(v16 r[16]) {
    TR_LEVEL(8);
    transpose16_from4(r);
}

/* (re, im) vectors times the scalar complex (wr, wi) */
#define CMUL(ar, ai, wr, wi, or, oi) (or = (ar) * (wr) - (ai) * (wi), oi = (ar) * (wi) + (ai) * (wr))

/* The radix-4 butterfly of a, b, c, d (complex: [0] re, [1] im) into o[0], o[os], o[2 os], o[3 os] (complex
 * offsets), output j times tw[j - 1] unless tw is NULL (all ones). */
INL void bfly4(const v16 *a, const v16 *b, const v16 *c, const v16 *d, const float *tw, v16 *o, int os) {
    v16 apc_r = a[0] + c[0], apc_i = a[1] + c[1], amc_r = a[0] - c[0], amc_i = a[1] - c[1];
    v16 bpd_r = b[0] + d[0], bpd_i = b[1] + d[1], jb_r = d[1] - b[1], jb_i = b[0] - d[0]; /* j(b - d) */
    o[0] = apc_r + bpd_r, o[1] = apc_i + bpd_i;
    if (!tw) {
        o[2 * os] = amc_r - jb_r, o[2 * os + 1] = amc_i - jb_i;
        o[4 * os] = apc_r - bpd_r, o[4 * os + 1] = apc_i - bpd_i;
        o[6 * os] = amc_r + jb_r, o[6 * os + 1] = amc_i + jb_i;
        return;
    }
    CMUL(amc_r - jb_r, amc_i - jb_i, tw[0], tw[1], o[2 * os], o[2 * os + 1]);
    CMUL(apc_r - bpd_r, apc_i - bpd_i, tw[2], tw[3], o[4 * os], o[4 * os + 1]);
    CMUL(amc_r + jb_r, amc_i + jb_i, tw[4], tw[5], o[6 * os], o[6 * os + 1]);
}

/* One radix-4 Stockham stage of length m, stride s (complex k at x[2k], x[2k+1]): x -> y. */
INL void stage4(const float *tw, int m, int s, const v16 *x, v16 *y) {
    const int q4 = m / 4;
    for (int p = 0; p < q4; p++, tw += 6)
        for (int q = 0; q < s; q++) {
            const v16 *a = x + 2 * (q + s * p);
            bfly4(a, a + 2 * s * q4, a + 4 * s * q4, a + 6 * s * q4, p ? tw : NULL, y + 2 * (q + s * 4 * p), s);
        }
}

/* The 4-point DFT of xr + i xi [4], in place. */
INL void dft4(v16 xr[4], v16 xi[4]) {
    v16 t0r = xr[0] + xr[2], t0i = xi[0] + xi[2], t1r = xr[0] - xr[2], t1i = xi[0] - xi[2];
    v16 t2r = xr[1] + xr[3], t2i = xi[1] + xi[3], t3r = xr[1] - xr[3], t3i = xi[1] - xi[3];
    xr[0] = t0r + t2r, xi[0] = t0i + t2i, xr[2] = t0r - t2r, xi[2] = t0i - t2i;
    xr[1] = t1r + t3i, xi[1] = t1i - t3r, xr[3] = t1r - t3i, xi[3] = t1i + t3r; /* t1 -+ j t3 */
}

/* The 8-point DFT of a[2 s j] (complex, j < 8) into zr + i zi: two 4-point DFTs, even and odd inputs, joined
 * by W_8^k. */
INL void bfly8(const v16 *a, int s, v16 zr[8], v16 zi[8]) {
    const float h = (float)M_SQRT1_2;
    v16 er[4], ei[4], orr[4], oi[4];
    for (int j = 0; j < 4; j++) {
        const v16 *b = a + 4 * s * j;
        er[j] = b[0], ei[j] = b[1], orr[j] = b[2 * s], oi[j] = b[2 * s + 1];
    }
    dft4(er, ei), dft4(orr, oi);
    v16 w1r = (orr[1] + oi[1]) * h, w1i = (oi[1] - orr[1]) * h;  /* W_8 = (1 - j) / sqrt 2 */
    v16 w3r = (oi[3] - orr[3]) * h, w3i = -(oi[3] + orr[3]) * h; /* W_8^3 = (-1 - j) / sqrt 2 */
    zr[0] = er[0] + orr[0], zr[1] = er[1] + w1r, zr[2] = er[2] + oi[2], zr[3] = er[3] + w3r;
    zr[4] = er[0] - orr[0], zr[5] = er[1] - w1r, zr[6] = er[2] - oi[2], zr[7] = er[3] - w3r;
    zi[0] = ei[0] + oi[0], zi[1] = ei[1] + w1i, zi[2] = ei[2] - orr[2], zi[3] = ei[3] + w3i; /* W_8^2 = -j */
    zi[4] = ei[0] - oi[0], zi[5] = ei[1] - w1i, zi[6] = ei[2] + orr[2], zi[7] = ei[3] - w3i;
}

/* One radix-8 Stockham stage (length m, stride s): bfly8 of inputs p + j m/8, the outputs times W_m^(p k),
 * skipped for p = 0 (all ones). */
INL void stage8(const float *tw, int m, int s, const v16 *x, v16 *y) {
    const int q8 = m / 8;
    for (int p = 0; p < q8; p++, tw += 14) {
        for (int q = 0; q < s; q++) {
            v16 zr[8], zi[8];
            bfly8(x + 2 * (q + s * p), s * q8, zr, zi);
            v16 *o = y + 2 * (q + s * 8 * p);
            o[0] = zr[0], o[1] = zi[0];
            if (p == 0)
                for (int k = 1; k < 8; k++) o[2 * s * k] = zr[k], o[2 * s * k + 1] = zi[k];
            else
                for (int k = 1; k < 8; k++)
                    CMUL(zr[k], zi[k], tw[2 * k - 2], tw[2 * k - 1], o[2 * s * k], o[2 * s * k + 1]);
        }
    }
}

/* The m-point forward DFT of the complex sequence in x (natural order in and out), the stages' twiddles at tw:
 * returns the buffer holding it (x or y). */
INL v16 *fft_small(const float *tw, int m, v16 *x, v16 *y) {
    int s = 1;
    for (; m >= 4; s *= m >= 8 ? 8 : 4, m /= m >= 8 ? 8 : 4) {
        if (m >= 8) stage8(tw, m, s, x, y), tw += 14 * (m / 8);
        else stage4(tw, m, s, x, y), tw += 6 * (m / 4);
        v16 *t = x;
        x = y, y = t;
    }
    if (m == 2) {
        for (int q = 0; q < s; q++) {
            const v16 *a = x + 2 * q, *b = a + 2 * s;
            y[2 * q] = a[0] + b[0], y[2 * q + 1] = a[1] + b[1];
            y[2 * (q + s)] = a[0] - b[0], y[2 * (q + s) + 1] = a[1] - b[1];
        }
        return y;
    }
    return x;
}

/* Column b's R-point DFT (in g, scratch t) times W_h^(b k) into out[(C + 1) k] (complex): the radix-8 stages,
 * then the last radix-4 or radix-2 one (its twiddles all ones) writes the twiddled values itself (a separate
 * pass over the column cost ~10% of the block). */
INL void column_fft(const a2m_feat *e, v16 *g, v16 *t, v16 *out, int b, const int R, const int C) {
    const int Cp = C + 1;
    const float *w = e->ltw_x + 2 * (size_t)b * R, *tw = e->ltw;
    int m = R, s = 1;
    for (; m >= 8; tw += 14 * (m / 8), s *= 8, m /= 8) {
        stage8(tw, m, s, g, t);
        v16 *u = g;
        g = t, t = u;
    }
    v16 y[8];
    for (int q = 0; q < s; q++) {
        const v16 *a = g + 2 * q;
        if (m == 4) bfly4(a, a + 2 * s, a + 4 * s, a + 6 * s, NULL, y, 1);
        else if (m == 2)
            y[0] = a[0] + a[2 * s], y[1] = a[1] + a[2 * s + 1], y[2] = a[0] - a[2 * s], y[3] = a[1] - a[2 * s + 1];
        else y[0] = a[0], y[1] = a[1];
        for (int j = 0; j < m; j++) {
            const int k = q + s * j;
            CMUL(y[2 * j], y[2 * j + 1], w[2 * k], w[2 * k + 1], out[2 * Cp * k], out[2 * Cp * k + 1]);
        }
    }
}

/* The first step of the h-point DFT (h = R C) of the even + i odd samples of the windowed frames, in four steps
 * so that each small transform works in L1 (16 lanes make the whole sequence 128 KB at n_fft 2048; radix-4
 * stages over all of it in L2: 0.93 ms a take in-process, now 0.82): complex C a + b is column b, row a; for
 * each b the R-point DFT over a, times W_h^(b k1), into x[(C + 1) k1 + b] (rows a value longer: at 4 KB apart
 * a column's values share L1's sets, 1.5 ms a take). Columns go 4 at a time: 8 samples of rows a and a + 1 of
 * each of the 16 frames, transposed (frame f in lane f), are those rows of 4 columns (8 at a time from one row
 * filled 32 KB, all of L1: in-process 0.63 -> 0.60 ms a take, min of 8 alternated runs of 40 x 45 takes). */
INL void columns(const a2m_feat *e, const float *s, int nb, v16 *x, const int R, const int C) {
    const int hop = e->c.hop;
    v16 *g = (v16 *)e->lsub, *t = g + 8 * R; /* [4 columns][R complex], then a transform's scratch (of 9 R) */
    for (int b0 = 0; b0 < C; b0 += 4) {
        for (int a = 0; a < R; a += 2) {
            const int j0 = 2 * (C * a + b0), j1 = j0 + 2 * C;
            v16 r[16];
            v8 h0[16], h1[16]; /* frame f's 8 samples from j0 and from j1 */
            for (int f = 0; f < 16; f++) {
                const float *sf = s + (size_t)f * hop;
                h0[f] = f < nb ? (v8) * (const v8_u *)(sf + j0) : (v8){0};
                h1[f] = f < nb ? (v8) * (const v8_u *)(sf + j1) : (v8){0};
            }
            for (int f = 0; f < 8; f++) /* transpose16's first level done by the joins */
                r[f] = JOIN8(h0[f], h0[f + 8]), r[f + 8] = JOIN8(h1[f], h1[f + 8]);
            transpose16_from4(r);
            for (int j = 0; j < 16; j++)
                g[2 * R * ((j & 7) / 2) + 2 * (a + j / 8) + (j & 1)] = r[j] * e->window[(j < 8 ? j0 : j1) + (j & 7)];
        }
        for (int c = 0; c < 4; c++) column_fft(e, g + 2 * R * c, t, x + 2 * (b0 + c), b0 + c, R, C);
    }
}

/* 4|X[k]|^2 of the real frames from u = Z[k mod h], v = Z[h - k] (Z = DFT(even + i odd)): with
 * A = u + conj v and B = u - conj v, 2X[k] = A - i W_n^k B. */
INL void power_bin(const a2m_feat *e, int k, const v16 *u, const v16 *v, v16 *pw) {
    v16 ar = u[0] + v[0], ai = u[1] - v[1], br = u[0] - v[0], bi = u[1] + v[1], tr, ti;
    CMUL(bi, -br, e->lrot[2 * k], e->lrot[2 * k + 1], tr, ti); /* -iB = (bi, -br) */
    v16 yr = ar + tr, yi = ai + ti;
    pw[k] = yr * yr + yi * yi;
}

/* The stages of fft_small but its last, of radix *r = 2, 4 or 8, which has no twiddles (p = 0): returns the
 * buffer holding the values (x or y), *s the last stage's stride. */
INL v16 *fft_head(const float *tw, int m, v16 *x, v16 *y, int *r, int *s) {
    for (*s = 1; m >= 16; *s *= 8, m /= 8) {
        stage8(tw, m, *s, x, y), tw += 14 * (m / 8);
        v16 *t = x;
        x = y, y = t;
    }
    *r = m;
    return x;
}

/* fft_small's last stage (radix r, stride s, no twiddles) for outputs q + s j, j < r, into z[2 j], z[2 j + 1]:
 * the same operations as the stage's. */
INL void fft_last(const v16 *x, int r, int s, int q, v16 *z) {
    const v16 *a = x + 2 * q;
    if (r == 8) {
        v16 zr[8], zi[8];
        bfly8(a, s, zr, zi);
        for (int j = 0; j < 8; j++) z[2 * j] = zr[j], z[2 * j + 1] = zi[j];
    } else if (r == 4) bfly4(a, a + 2 * s, a + 4 * s, a + 6 * s, NULL, z, 1);
    else z[0] = a[0] + a[2 * s], z[1] = a[1] + a[2 * s + 1], z[2] = a[0] - a[2 * s], z[3] = a[1] - a[2 * s + 1];
}

/* power_bin of bin k and of bin h - k at once, 0 < k < h, k != h/2: Z[h - k] and Z[k] give conj A and -conj B,
 * and W_n^(h - k) = -conj W_n^k (exactly, in the float table, but at k = h/2), so 2 conj X[h - k] = A + i W_n^k B:
 * the same bits as two power_bin calls with 17 operations instead of 26. */
INL void power_pair(const a2m_feat *e, int k, int h, const v16 *u, const v16 *v, v16 *pw) {
    v16 ar = u[0] + v[0], ai = u[1] - v[1], br = u[0] - v[0], bi = u[1] + v[1], tr, ti;
    CMUL(bi, -br, e->lrot[2 * k], e->lrot[2 * k + 1], tr, ti); /* -iB = (bi, -br) */
    v16 yr = ar + tr, yi = ai + ti, zr = ar - tr, zi = ai - ti;
    pw[k] = yr * yr + yi * yi, pw[h - k] = zr * zr + zi * zi;
}

/* Row 0 of x (k1 = 0): its C-point DFT over b is Z[R k2], paired with itself (Z[h - R k2] = Z[R (C - k2)]). */
INL void row0_power(const a2m_feat *e, v16 *x, v16 *pw, const int R, const int C) {
    const v16 *u = fft_small(e->ltw_c, C, x, (v16 *)e->lsub);
    for (int k2 = 0; k2 < C; k2++) power_bin(e, R * k2, u + 2 * k2, u + 2 * ((C - k2) % C), pw);
    power_bin(e, R * C, u, u, pw);
}

/* The second step: row k1 of x, its C-point DFT over b, is Z[k1 + R k2] for k2 < C, and Z[h - k] is in row
 * R - k1 (k1 > 0; row 0 holds its own). The two rows' last stages feed the power of both rows' bins straight
 * from registers, a butterfly of one row with the mirrored butterfly of the other (stored and read again, the
 * rows' values and loading them again for the power: in-process 0.78 -> 0.63 ms a take, min of 8 alternated
 * runs of 40 x 45 takes, load ~6). */
INL void rows_power(const a2m_feat *e, v16 *x, v16 *pw, const int R, const int C) {
    const int Cp = C + 1, h = R * C;
    v16 *t0 = (v16 *)e->lsub, *t1 = t0 + 2 * C;
    row0_power(e, x, pw, R, C);
    for (int k1 = 1; k1 <= R / 2; k1++) {
        const int k1p = R - k1;
        int r, s;
        const v16 *u = fft_head(e->ltw_c, C, x + 2 * Cp * k1, t0, &r, &s);
        const v16 *v = k1p == k1 ? u : fft_head(e->ltw_c, C, x + 2 * Cp * k1p, t1, &r, &s);
        for (int q = 0; q < s; q++) {
            v16 zu[16], zv[16]; /* u[q + s j], v[s - 1 - q + s j] */
            fft_last(u, r, s, q, zu), fft_last(v, r, s, s - 1 - q, zv);
            for (int j = 0; j < r; j++) /* v[C - 1 - k2] is zv[r - 1 - j] */
                if (k1p != k1 || 2 * (q + s * j) < C)
                    power_pair(e, k1 + R * (q + s * j), h, zu + 2 * j, zv + 2 * (r - 1 - j), pw);
        }
    }
}

/* Each band's sum over its bins, for the 16 frames: tile[m] (two sums a band: half the dependent adds). */
INL void mel_bands(const a2m_feat *e, const v16 *pw, v16 *tile) {
    for (int m = 0; m < e->f.n_mels; m++) {
        const float *w = e->mel_w + e->mel_off[m];
        const v16 *q = pw + e->mel_start[m];
        v16 a0 = {0}, a1 = {0};
        int j = 0;
        for (; j + 1 < e->mel_len[m]; j += 2) a0 += w[j] * q[j], a1 += w[j + 1] * q[j + 1];
        if (j < e->mel_len[m]) a0 += w[j] * q[j];
        tile[m] = a0 + a1;
    }
}

/* Mel power of nb <= 16 frames, the first at s, into rows of out [nb x n_mels]. */
LANES_DISPATCH static void lanes_block_body(a2m_feat *e, const float *s, int nb, float *out) {
    const int M = e->f.n_mels;
    v16 *x = (v16 *)e->lx, *pw = (v16 *)e->lpow, *tile = (v16 *)e->ltile;
    /* n_fft 2048, the default: the transforms' loops unrolled with constant lengths (in-process 0.853 ms a take
     * instead of 0.887, medians of 16 alternated processes; the same bits) */
    if (e->lr == 32 && e->lc == 32) columns(e, s, nb, x, 32, 32), rows_power(e, x, pw, 32, 32);
    else columns(e, s, nb, x, e->lr, e->lc), rows_power(e, x, pw, e->lr, e->lc);
    mel_bands(e, pw, tile);
    int m0 = 0;
    for (; m0 + 16 <= M; m0 += 16) {
        v16 r[16];
        memcpy(r, tile + m0, sizeof r);
        transpose16(r);
        for (int f = 0; f < nb; f++) *(v16_u *)(out + (size_t)f * M + m0) = r[f];
    }
    for (; m0 < M; m0++)
        for (int f = 0; f < nb; f++) out[(size_t)f * M + m0] = tile[m0][f];
}

void lanes_block(a2m_feat *e, const float *s, int nb, float *out) { lanes_block_body(e, s, nb, out); }
