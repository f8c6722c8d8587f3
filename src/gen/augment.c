/* Augmentation toward phone recordings: noise at a measured SNR, a synthetic
 * room, RBJ-cookbook biquads (EQ, band-limiting), gain with a peak limit.
 * Every random choice comes from the seed. */
#include "a2m/error.h"
#include "a2m/gen.h"

#include <complex.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const NOISE_NAMES[A2M_NOISE_KINDS_] = {"white", "pink", "brown", "hum", "babble"};
const char *a2m_noise_name(a2m_noise_kind k) { return k >= 0 && k < A2M_NOISE_KINDS_ ? NOISE_NAMES[k] : "none"; }

static double mean_power(const float *x, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)x[i] * x[i];
    return n ? s / (double)n : 0;
}

/* Pink noise by Paul Kellet's filter (within 0.05 dB of 1/f above 9 Hz at 44.1 kHz). */
static void fill_pink(double *v, size_t n, uint64_t *rng) {
    double b[7] = {0};
    for (size_t i = 0; i < n; i++) {
        double w = a2m_gen_normal(rng);
        b[0] = 0.99886 * b[0] + w * 0.0555179;
        b[1] = 0.99332 * b[1] + w * 0.0750759;
        b[2] = 0.96900 * b[2] + w * 0.1538520;
        b[3] = 0.86650 * b[3] + w * 0.3104856;
        b[4] = 0.55000 * b[4] + w * 0.5329522;
        b[5] = -0.7616 * b[5] - w * 0.0168980;
        v[i] = b[0] + b[1] + b[2] + b[3] + b[4] + b[5] + b[6] + w * 0.5362;
        b[6] = w * 0.115926;
    }
}

/* Mains hum: 50 or 60 Hz with decaying odd-heavy harmonics, plus a little hiss. */
static void fill_hum(double *v, size_t n, int rate, uint64_t *rng) {
    double f = a2m_gen_uniform(rng) < 0.5 ? 50 : 60;
    double amp[8], ph[8];
    for (int h = 0; h < 8; h++) {
        amp[h] = a2m_gen_range(rng, 0.2, 1.0) / (1 + h * (h % 2 ? 1.0 : 0.5));
        ph[h] = a2m_gen_range(rng, 0, 2 * M_PI);
    }
    for (size_t i = 0; i < n; i++) {
        double t = (double)i / rate, s = 0;
        for (int h = 0; h < 8; h++) s += amp[h] * sin(2 * M_PI * f * (h + 1) * t + ph[h]);
        v[i] = s + 0.05 * a2m_gen_normal(rng);
    }
}

/* Babble-like: six talkers, each noise band-passed around 300-3000 Hz and
 * switched by a syllable-rate (2-6 Hz) envelope. */
static void fill_babble(double *v, size_t n, int rate, uint64_t *rng) {
    memset(v, 0, n * sizeof *v);
    for (int k = 0; k < 6; k++) {
        double syl = a2m_gen_range(rng, 2, 6), ph = a2m_gen_range(rng, 0, 2 * M_PI);
        double a_hi = 1 - exp(-2 * M_PI * a2m_gen_range(rng, 1500, 3000) / rate);
        double a_lo = 1 - exp(-2 * M_PI * a2m_gen_range(rng, 200, 400) / rate);
        double lp = 0, lp2 = 0;
        for (size_t i = 0; i < n; i++) {
            lp += a_hi * (a2m_gen_normal(rng) - lp);
            lp2 += a_lo * (lp - lp2);
            double env = 0.5 + 0.5 * sin(2 * M_PI * syl * (double)i / rate + ph);
            v[i] += (lp - lp2) * env * env;
        }
    }
}

static void fill_noise(double *v, size_t n, int rate, a2m_noise_kind kind, uint64_t *rng) {
    double acc = 0;
    switch (kind) {
    case A2M_NOISE_WHITE:
        for (size_t i = 0; i < n; i++) v[i] = a2m_gen_normal(rng);
        break;
    case A2M_NOISE_PINK: fill_pink(v, n, rng); break;
    case A2M_NOISE_BROWN: /* leaky integration: 1/f^2 above ~5 Hz, no DC wander */
        for (size_t i = 0; i < n; i++) v[i] = acc = 0.998 * acc + a2m_gen_normal(rng);
        break;
    case A2M_NOISE_HUM: fill_hum(v, n, rate, rng); break;
    default: fill_babble(v, n, rate, rng); break;
    }
}

int a2m_add_noise(float *x, size_t n, int rate, a2m_noise_kind kind, double snr_db, uint64_t seed) {
    if (kind < 0 || kind >= A2M_NOISE_KINDS_ || !isfinite(snr_db) || rate <= 0)
        return a2m_error(A2M_ERR_ARG, "augment: bad noise kind %d or SNR %g dB", (int)kind, snr_db);
    double ps = mean_power(x, n);
    if (!(ps > 0)) return a2m_error(A2M_ERR_EMPTY, "augment: silent signal, no SNR to set");
    double *v = malloc((n ? n : 1) * sizeof *v);
    if (!v) return a2m_error(A2M_ERR_NOMEM, "augment: out of memory");
    uint64_t rng = seed;
    fill_noise(v, n, rate, kind, &rng);
    double pn = 0;
    for (size_t i = 0; i < n; i++) pn += v[i] * v[i];
    pn /= (double)n;
    double g = pn > 0 ? sqrt(ps / pn * pow(10, -snr_db / 10)) : 0;
    for (size_t i = 0; i < n; i++) x[i] += (float)(g * v[i]);
    free(v);
    return A2M_OK;
}

/* In-place iterative radix-2 FFT (n a power of two); sign -1 forward, +1 inverse (unscaled). */
static void fft(double complex *a, size_t n, int sign) {
    for (size_t i = 1, j = 0; i < n; i++) {
        size_t bit = n >> 1;
        for (; j & bit; bit >>= 1) j ^= bit;
        j ^= bit;
        if (i < j) {
            double complex t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }
    for (size_t len = 2; len <= n; len <<= 1) {
        double complex wl = cexp(sign * 2 * M_PI * I / (double)len);
        for (size_t i = 0; i < n; i += len) {
            double complex w = 1;
            for (size_t k = 0; k < len / 2; k++) {
                double complex u = a[i + k], v = a[i + k + len / 2] * w;
                a[i + k] = u + v;
                a[i + k + len / 2] = u - v;
                w *= wl;
            }
        }
    }
}

/* y = (x * h)[0..n) by FFT. */
static int convolve(float *x, size_t n, const double *h, size_t nh) {
    size_t m = 1;
    while (m < n + nh) m <<= 1;
    double complex *a = calloc(m, sizeof *a), *b = calloc(m, sizeof *b);
    if (!a || !b) {
        free(a);
        free(b);
        return a2m_error(A2M_ERR_NOMEM, "augment: out of memory");
    }
    for (size_t i = 0; i < n; i++) a[i] = x[i];
    for (size_t i = 0; i < nh; i++) b[i] = h[i];
    fft(a, m, -1);
    fft(b, m, -1);
    for (size_t i = 0; i < m; i++) a[i] *= b[i];
    fft(a, m, 1);
    for (size_t i = 0; i < n; i++) x[i] = (float)(creal(a[i]) / (double)m);
    free(a);
    free(b);
    return A2M_OK;
}

int a2m_reverb(float *x, size_t n, int rate, double rt60_s, double drr_db, uint64_t seed) {
    if (!(rt60_s >= 0.01 && rt60_s <= 5) || !isfinite(drr_db) || rate <= 0)
        return a2m_error(A2M_ERR_ARG, "augment: reverb RT60 %g s outside 0.01..5 or bad DRR", rt60_s);
    if (n == 0) return A2M_OK;
    uint64_t rng = seed;
    size_t pre = (size_t)(a2m_gen_range(&rng, 0.005, 0.02) * rate), nh = pre + (size_t)(rt60_s * rate);
    double *h = calloc(nh, sizeof *h), tail = 0;
    if (!h) return a2m_error(A2M_ERR_NOMEM, "augment: out of memory");
    double decay = -6.907755 / (rt60_s * rate); /* ln(1e-3): -60 dB after rt60 */
    /* walls absorb highs first: the tail's noise is low-passed from 0.45 of the rate down to
     * 0.6-2.5 kHz at rt60 (two one-pole filters whose cut-off falls exponentially) */
    double fc0 = 0.45 * rate, fc1 = fmin(fc0, a2m_gen_range(&rng, 600, 2500)), lp = 0, lp2 = 0;
    for (size_t i = pre; i < nh; i++) {
        double u = (double)(i - pre) / (rt60_s * rate), a = 1 - exp(-2 * M_PI * fc0 * pow(fc1 / fc0, u) / rate);
        lp += a * (a2m_gen_normal(&rng) - lp);
        lp2 += a * (lp - lp2);
        h[i] = lp2 * exp(decay * (double)(i - pre));
        tail += h[i] * h[i];
    }
    double scale = sqrt(pow(10, -drr_db / 10) / tail); /* direct energy 1 */
    for (size_t i = pre; i < nh; i++) h[i] *= scale;
    h[0] = 1;
    double before = mean_power(x, n);
    int rc = convolve(x, n, h, nh);
    free(h);
    double after = mean_power(x, n);
    if (!rc && after > 0)
        for (size_t i = 0; i < n; i++) x[i] *= (float)sqrt(before / after);
    return rc;
}

int a2m_biquad(float *x, size_t n, int rate, char kind, double f, double q, double gain_db) {
    if (!(f > 0 && f < 0.5 * rate) || !(q > 0) || !isfinite(gain_db) || !strchr("plhHL", kind) || kind == 0)
        return a2m_error(A2M_ERR_ARG, "augment: biquad '%c' at %g Hz (q %g) out of range", kind ? kind : '?', f, q);
    double A = pow(10, gain_db / 40), w = 2 * M_PI * f / rate, cw = cos(w), al = sin(w) / (2 * q);
    double sA = 2 * sqrt(A) * al, b0, b1, b2, a0, a1, a2;
    switch (kind) {
    case 'p':
        b0 = 1 + al * A;
        b1 = -2 * cw;
        b2 = 1 - al * A;
        a0 = 1 + al / A;
        a1 = -2 * cw;
        a2 = 1 - al / A;
        break;
    case 'l':
        b0 = A * ((A + 1) - (A - 1) * cw + sA);
        b1 = 2 * A * ((A - 1) - (A + 1) * cw);
        b2 = A * ((A + 1) - (A - 1) * cw - sA);
        a0 = (A + 1) + (A - 1) * cw + sA;
        a1 = -2 * ((A - 1) + (A + 1) * cw);
        a2 = (A + 1) + (A - 1) * cw - sA;
        break;
    case 'h':
        b0 = A * ((A + 1) + (A - 1) * cw + sA);
        b1 = -2 * A * ((A - 1) + (A + 1) * cw);
        b2 = A * ((A + 1) + (A - 1) * cw - sA);
        a0 = (A + 1) - (A - 1) * cw + sA;
        a1 = 2 * ((A - 1) - (A + 1) * cw);
        a2 = (A + 1) - (A - 1) * cw - sA;
        break;
    case 'H':
        b0 = (1 + cw) / 2;
        b1 = -(1 + cw);
        b2 = b0;
        a0 = 1 + al;
        a1 = -2 * cw;
        a2 = 1 - al;
        break;
    default:
        b0 = (1 - cw) / 2;
        b1 = 1 - cw;
        b2 = b0;
        a0 = 1 + al;
        a1 = -2 * cw;
        a2 = 1 - al;
        break;
    }
    double x1 = 0, x2 = 0, y1 = 0, y2 = 0;
    for (size_t i = 0; i < n; i++) { /* direct form I in double */
        double y = (b0 * x[i] + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2) / a0;
        x2 = x1;
        x1 = x[i];
        y2 = y1;
        y1 = y;
        x[i] = (float)y;
    }
    return A2M_OK;
}

int a2m_compress(float *x, size_t n, int rate, double threshold_db, double ratio, double attack_s, double release_s) {
    if (!(threshold_db >= -60 && threshold_db <= 0) || !(ratio >= 1 && ratio <= 20) ||
        !(attack_s > 0 && attack_s <= 2) || !(release_s > 0 && release_s <= 2) || rate <= 0)
        return a2m_error(A2M_ERR_ARG, "augment: compressor %g dB, ratio %g, %g/%g s out of range", threshold_db, ratio,
                         attack_s, release_s);
    float peak = 0;
    for (size_t i = 0; i < n; i++) peak = fmaxf(peak, fabsf(x[i]));
    if (!(peak > 0)) return A2M_OK;
    double thr = peak * pow(10, threshold_db / 20), before = mean_power(x, n), env = 0;
    double a_att = exp(-1 / (attack_s * rate)), a_rel = exp(-1 / (release_s * rate));
    for (size_t i = 0; i < n; i++) { /* peak envelope, gain above the threshold divided by ratio (in dB) */
        double a = fabs(x[i]);
        env = a > env ? a_att * env + (1 - a_att) * a : a_rel * env + (1 - a_rel) * a;
        if (env > thr) x[i] *= (float)pow(env / thr, 1 / ratio - 1);
    }
    double after = mean_power(x, n); /* make-up gain: the loudness is kept, quiet parts come up (AGC) */
    if (after > 0)
        for (size_t i = 0; i < n; i++) x[i] *= (float)sqrt(before / after);
    return A2M_OK;
}

int a2m_soft_clip(float *x, size_t n, double drive_db) {
    if (!(drive_db >= 0 && drive_db <= 40))
        return a2m_error(A2M_ERR_ARG, "augment: clipping drive %g dB outside 0..40", drive_db);
    float peak = 0;
    for (size_t i = 0; i < n; i++) peak = fmaxf(peak, fabsf(x[i]));
    if (!(peak > 0) || drive_db == 0) return A2M_OK;
    double g = pow(10, drive_db / 20), norm = tanh(g);
    for (size_t i = 0; i < n; i++) x[i] = (float)(peak * tanh(g * x[i] / peak) / norm);
    return A2M_OK;
}

/* Draws the chain (no signal touched). */
static void draw_chain(uint64_t *rng, int rate, a2m_augment_info *in) {
    static const char EQ_KINDS[3] = {'p', 'l', 'h'};
    in->applied = 1;
    in->noise = -1;
    if (a2m_gen_uniform(rng) < 0.5) {
        in->n_eq = 1 + (a2m_gen_uniform(rng) < 0.5);
        for (int k = 0; k < in->n_eq; k++) {
            in->eq_kind[k] = EQ_KINDS[(int)(3 * a2m_gen_uniform(rng))];
            double lo = in->eq_kind[k] == 'h' ? 2000 : 100, hi = in->eq_kind[k] == 'l' ? 400 : fmin(5000, 0.4 * rate);
            in->eq_hz[k] = exp(a2m_gen_range(rng, log(lo), log(hi)));
            in->eq_q[k] = a2m_gen_range(rng, 0.5, 2.0);
            in->eq_db[k] = a2m_gen_range(rng, -9, 9);
        }
    }
    if (a2m_gen_uniform(rng) < 0.5) {
        in->rt60_s = a2m_gen_range(rng, 0.1, 0.9);
        in->drr_db = a2m_gen_range(rng, -3, 15);
    }
    if (a2m_gen_uniform(rng) < 0.5) {
        in->hp_hz = a2m_gen_range(rng, 80, 400);
        in->lp_hz = fmin(a2m_gen_range(rng, 3000, 8000), 0.45 * rate);
    }
    if (a2m_gen_uniform(rng) < 0.8) {
        in->noise = (int)(A2M_NOISE_KINDS_ * a2m_gen_uniform(rng));
        in->snr_db = a2m_gen_range(rng, 0, 40);
    }
    in->gain_db = a2m_gen_range(rng, -20, 6);
    if (a2m_gen_uniform(rng) < 0.3) { /* a phone's automatic gain control */
        in->comp_threshold_db = a2m_gen_range(rng, -35, -15);
        in->comp_ratio = a2m_gen_range(rng, 2, 8);
    }
    if (a2m_gen_uniform(rng) < 0.1) in->clip_drive_db = a2m_gen_range(rng, 3, 12); /* an overdriven input */
}

/* Applies a drawn chain: room, noise, phone band, EQ, AGC, clipping, gain with a 0.99 peak limit. */
static int apply_chain(float *x, size_t n, int rate, const a2m_augment_info *in, uint64_t *rng) {
    int rc = A2M_OK;
    if (in->rt60_s > 0) rc = a2m_reverb(x, n, rate, in->rt60_s, in->drr_db, a2m_gen_next(rng));
    if (!rc && in->noise >= 0 && mean_power(x, n) > 0)
        rc = a2m_add_noise(x, n, rate, (a2m_noise_kind)in->noise, in->snr_db, a2m_gen_next(rng));
    if (!rc && in->hp_hz > 0) rc = a2m_biquad(x, n, rate, 'H', in->hp_hz, 0.7071, 0);
    if (!rc && in->lp_hz > 0) rc = a2m_biquad(x, n, rate, 'L', in->lp_hz, 0.7071, 0);
    for (int k = 0; !rc && k < in->n_eq; k++)
        rc = a2m_biquad(x, n, rate, in->eq_kind[k], in->eq_hz[k], in->eq_q[k], in->eq_db[k]);
    if (!rc && in->comp_ratio > 0) rc = a2m_compress(x, n, rate, in->comp_threshold_db, in->comp_ratio, 0.01, 0.15);
    if (!rc && in->clip_drive_db > 0) rc = a2m_soft_clip(x, n, in->clip_drive_db);
    if (rc) return rc;
    float g = (float)pow(10, in->gain_db / 20), peak = 0;
    for (size_t i = 0; i < n; i++) peak = fmaxf(peak, fabsf(x[i] *= g));
    if (peak > 0.99f)
        for (size_t i = 0; i < n; i++) x[i] *= 0.99f / peak;
    return A2M_OK;
}

int a2m_augment(float *x, size_t n, int rate, double p, uint64_t seed, a2m_augment_info *info) {
    a2m_augment_info local;
    if (!info) info = &local;
    memset(info, 0, sizeof *info);
    info->noise = -1;
    if (!(p >= 0 && p <= 1) || rate < 8000)
        return a2m_error(A2M_ERR_ARG, "augment: probability %g outside 0..1 or rate %d", p, rate);
    uint64_t rng = seed;
    if (!(a2m_gen_uniform(&rng) < p)) return A2M_OK;
    draw_chain(&rng, rate, info);
    return apply_chain(x, n, rate, info, &rng);
}

void a2m_augment_describe(const a2m_augment_info *in, char *buf, size_t cap) {
    if (!cap) return;
    buf[0] = 0;
    if (!in->applied) {
        snprintf(buf, cap, "none");
        return;
    }
    size_t k = 0;
#define ADD(...) k += (size_t)snprintf(buf + (k < cap ? k : cap - 1), k < cap ? cap - k : 1, __VA_ARGS__)
    ADD("gain %+.1fdB", in->gain_db);
    for (int e = 0; e < in->n_eq; e++)
        ADD("; eq %s %.0fHz q%.2f %+.1fdB",
            in->eq_kind[e] == 'p'   ? "peak"
            : in->eq_kind[e] == 'l' ? "lowshelf"
                                    : "highshelf",
            in->eq_hz[e], in->eq_q[e], in->eq_db[e]);
    if (in->rt60_s > 0) ADD("; reverb rt60 %.2fs drr %.1fdB", in->rt60_s, in->drr_db);
    if (in->hp_hz > 0) ADD("; band %.0f-%.0fHz", in->hp_hz, in->lp_hz);
    if (in->noise >= 0) ADD("; noise %s snr %.1fdB", a2m_noise_name((a2m_noise_kind)in->noise), in->snr_db);
    if (in->comp_ratio > 0) ADD("; agc %.1fdB ratio %.1f", in->comp_threshold_db, in->comp_ratio);
    if (in->clip_drive_db > 0) ADD("; clip drive %.1fdB", in->clip_drive_db);
#undef ADD
}
