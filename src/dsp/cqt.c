/* Constant-Q transform, equal to librosa 0.10's cqt() (vqt with gamma 0):
 * octave by octave from the top, each octave's filters applied in the
 * frequency domain to the FFT of every frame (sparse kernels, as librosa's
 * sparsify_rows keeps them), the signal halved with libsoxr HQ between
 * octaves while the hop stays even. Kernels are built in double precision
 * (FFTW double, once); frames are transformed with batched FFTW single
 * precision plans made under a mutex. a2m_cqt_db allocates nothing except
 * inside libsoxr. */
#include "a2m/cqt.h"

#include <fftw3.h>
#include <math.h>
#include <pthread.h>
#include <soxr.h>
#include <stdlib.h>
#include <string.h>

#include "a2m/error.h"

#define FRAME_BLOCK 32 /* frames transformed per FFTW execution */

static pthread_mutex_t fftw_plan_lock = PTHREAD_MUTEX_INITIALIZER;

typedef struct cqt_octave {
    int first_bin, n_bins;  /* output bins [first_bin, first_bin + n_bins) */
    int n_fft, hop;
    double sr;
    int *row;               /* [n_bins + 1] CSR row starts */
    int *col;               /* FFT bin of each kept kernel entry */
    float *kre, *kim;       /* kernel values */
    float *frames;          /* [FRAME_BLOCK x n_fft], fftwf aligned */
    fftwf_complex *spec;    /* [FRAME_BLOCK x (n_fft/2+1)] */
    float *xre, *xim;       /* [(n_fft/2+1) x FRAME_BLOCK] transposed spectra */
    fftwf_plan plan;
    float *signal;          /* padded signal of this octave: [n_fft/2 zeros | y | zeros] */
    size_t signal_cap;      /* floats */
    size_t max_len;         /* samples of y at this octave for max_samples input */
    soxr_t halve;           /* to the next octave, NULL if the next one keeps the rate */
} cqt_octave;

struct a2m_cqt {
    a2m_cqt_params p;
    size_t max_samples;
    int n_octaves;
    cqt_octave *oct;
    double *inv_sqrt_len;   /* [n_bins] 1/sqrt(filter length at the input rate) */
    float *mag;             /* [max_frames x n_bins] magnitude scratch for dB */
    size_t max_frames;
};

a2m_cqt_params a2m_cqt_default_params(void) {
    a2m_cqt_params p = {16000.0, 96, 32.70319566257483, 252, 36, 1.0, 1e-5, 80.0, 1};
    return p;
}

double a2m_cqt_bin_freq(a2m_cqt_params p, int k) { return p.fmin * pow(2.0, (double)k / p.bins_per_octave); }

void a2m_cqt_del(a2m_cqt *c) {
    if (!c) return;
    if (c->oct) {
        for (int i = 0; i < c->n_octaves; i++) {
            cqt_octave *o = &c->oct[i];
            pthread_mutex_lock(&fftw_plan_lock);
            if (o->plan) fftwf_destroy_plan(o->plan);
            pthread_mutex_unlock(&fftw_plan_lock);
            fftwf_free(o->frames);
            fftwf_free(o->spec);
            fftwf_free(o->xre), fftwf_free(o->xim);
            free(o->row), free(o->col), free(o->kre), free(o->kim), free(o->signal);
            if (o->halve) soxr_delete(o->halve);
        }
        free(c->oct);
    }
    free(c->inv_sqrt_len);
    free(c->mag);
    free(c);
}

/* librosa.filters._relative_bandwidth + wavelet_lengths (gamma = 0). */
static void filter_lengths(const double *freqs, int n, double sr, double *lengths) {
    for (int k = 0; k < n; k++) {
        double bpo;
        if (n == 1) bpo = 1.0; /* not used by a2m */
        else if (k == 0) bpo = 1.0 / (log2(freqs[1]) - log2(freqs[0]));
        else if (k == n - 1) bpo = 1.0 / (log2(freqs[n - 1]) - log2(freqs[n - 2]));
        else bpo = 2.0 / (log2(freqs[k + 1]) - log2(freqs[k - 1]));
        double r = pow(2.0, 2.0 / bpo);
        double alpha = (r - 1.0) / (r + 1.0);
        lengths[k] = (1.0 / alpha) * sr / freqs[k];
    }
}

typedef struct mag_idx {
    double mag;
} mag_idx;
static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Builds one octave's sparse frequency-domain kernel exactly as
 * librosa's __vqt_filter_fft + sparsify_rows + the sqrt(sr/my_sr) rescale. */
static int build_octave_kernel(cqt_octave *o, const double *freqs, const double *alpha_lengths_at_sr, double sr) {
    int nb = o->n_bins;
    double lengths[512];
    double maxlen = 0;
    for (int k = 0; k < nb; k++) {
        lengths[k] = alpha_lengths_at_sr[k] * o->sr / sr; /* Q * my_sr / f */
        if (lengths[k] > maxlen) maxlen = lengths[k];
    }
    int n_fft = (int)pow(2.0, ceil(log2(maxlen)));
    o->n_fft = n_fft;
    int nf = n_fft / 2 + 1;
    fftw_complex *buf = fftw_alloc_complex((size_t)n_fft);
    double *mags = malloc((size_t)nf * sizeof *mags), *sorted = malloc((size_t)nf * sizeof *sorted);
    float *kre = malloc((size_t)nb * nf * sizeof *kre), *kim = malloc((size_t)nb * nf * sizeof *kim);
    int *col = malloc((size_t)nb * nf * sizeof *col);
    o->row = malloc((size_t)(nb + 1) * sizeof *o->row);
    if (!buf || !mags || !sorted || !kre || !kim || !col || !o->row) {
        fftw_free(buf), free(mags), free(sorted), free(kre), free(kim), free(col);
        return A2M_ERR_NOMEM;
    }
    pthread_mutex_lock(&fftw_plan_lock);
    fftw_plan plan = fftw_plan_dft_1d(n_fft, buf, buf, FFTW_FORWARD, FFTW_ESTIMATE);
    pthread_mutex_unlock(&fftw_plan_lock);
    double rescale = sqrt(sr / o->sr);
    int nnz = 0;
    for (int k = 0; k < nb; k++) {
        double ilen = lengths[k], f = freqs[k];
        long start = (long)floor(-ilen / 2.0), stop = (long)floor(ilen / 2.0);
        long count = stop - start;
        /* Hann (periodic) windowed phasor, L1-normalised, stored as complex64 */
        double l1 = 0;
        for (long j = 0; j < count; j++) l1 += 0.5 - 0.5 * cos(2.0 * M_PI * (double)j / (double)count);
        for (int j = 0; j < n_fft; j++) buf[j][0] = buf[j][1] = 0.0;
        long lpad = (n_fft - count) / 2;
        double scale = ilen / n_fft;
        for (long j = 0; j < count; j++) {
            double w = 0.5 - 0.5 * cos(2.0 * M_PI * (double)j / (double)count);
            double ph = (double)(start + j) * 2.0 * M_PI * f / o->sr;
            float re = (float)(w * cos(ph) / l1), im = (float)(w * sin(ph) / l1);
            buf[lpad + j][0] = (float)(re * scale);
            buf[lpad + j][1] = (float)(im * scale);
        }
        fftw_execute(plan);
        double norm = 0;
        for (int j = 0; j < nf; j++) norm += (mags[j] = hypot(buf[j][0], buf[j][1]));
        memcpy(sorted, mags, (size_t)nf * sizeof *sorted);
        qsort(sorted, (size_t)nf, sizeof *sorted, cmp_double);
        /* threshold: first sorted index whose cumulative share reaches 1% */
        double cum = 0, thresh = sorted[0];
        for (int j = 0; j < nf; j++) {
            cum += sorted[j] / norm;
            if (!(cum < 0.01)) {
                thresh = sorted[j];
                break;
            }
        }
        o->row[k] = nnz;
        for (int j = 0; j < nf; j++)
            if (mags[j] >= thresh) {
                col[nnz] = j;
                kre[nnz] = (float)((float)buf[j][0] * rescale);
                kim[nnz] = (float)((float)buf[j][1] * rescale);
                nnz++;
            }
    }
    o->row[nb] = nnz;
    pthread_mutex_lock(&fftw_plan_lock);
    fftw_destroy_plan(plan);
    pthread_mutex_unlock(&fftw_plan_lock);
    fftw_free(buf);
    free(mags), free(sorted);
    o->col = realloc(col, (size_t)(nnz ? nnz : 1) * sizeof *col);
    o->kre = realloc(kre, (size_t)(nnz ? nnz : 1) * sizeof *kre);
    o->kim = realloc(kim, (size_t)(nnz ? nnz : 1) * sizeof *kim);
    if (!o->col || !o->kre || !o->kim) return A2M_ERR_NOMEM;
    return A2M_OK;
}

static size_t frames_for(size_t len, int hop) { return 1 + len / (size_t)hop; }

int a2m_cqt_new(a2m_cqt_params p, size_t max_samples, a2m_cqt **out) {
    *out = NULL;
    if (!(p.sample_rate > 0) || p.hop <= 0 || !(p.fmin > 0) || p.n_bins <= 1 || p.bins_per_octave <= 0 ||
        p.n_bins > 4096 || p.bins_per_octave > 512 || !(p.amin > 0) || !(p.ref > 0))
        return a2m_error(A2M_ERR_ARG, "cqt: invalid parameters");
    double fmax = a2m_cqt_bin_freq(p, p.n_bins - 1);
    if (fmax * (1.0 + 0.5 * 1.50018310546875 * 0.019) >= p.sample_rate / 2) /* hann bandwidth, ~alpha */
        return a2m_error(A2M_ERR_ARG, "cqt: top bin %.1f Hz is above the Nyquist frequency of %.0f Hz", fmax,
                         p.sample_rate / 2);
    if (max_samples == 0) return a2m_error(A2M_ERR_ARG, "cqt: max_samples is 0");
    a2m_cqt *c = calloc(1, sizeof *c);
    if (!c) return a2m_error(A2M_ERR_NOMEM, "cqt: out of memory");
    c->p = p;
    c->max_samples = max_samples;
    int n = p.n_bins, bpo = p.bins_per_octave;
    c->n_octaves = (n + bpo - 1) / bpo;
    double *freqs = malloc((size_t)n * sizeof *freqs), *lengths = malloc((size_t)n * sizeof *lengths);
    c->inv_sqrt_len = malloc((size_t)n * sizeof *c->inv_sqrt_len);
    c->oct = calloc((size_t)c->n_octaves, sizeof *c->oct);
    int rc = (!freqs || !lengths || !c->inv_sqrt_len || !c->oct) ? A2M_ERR_NOMEM : A2M_OK;
    if (!rc) {
        for (int k = 0; k < n; k++) freqs[k] = a2m_cqt_bin_freq(p, k);
        filter_lengths(freqs, n, p.sample_rate, lengths);
        for (int k = 0; k < n; k++) c->inv_sqrt_len[k] = 1.0 / sqrt(lengths[k]);
    }
    double sr = p.sample_rate;
    int hop = p.hop;
    size_t len = max_samples;
    c->max_frames = frames_for(max_samples, p.hop);
    for (int i = 0; i < c->n_octaves && !rc; i++) {
        cqt_octave *o = &c->oct[i];
        int hi = n - bpo * i, lo = hi - bpo < 0 ? 0 : hi - bpo;
        o->first_bin = lo, o->n_bins = hi - lo, o->sr = sr, o->hop = hop, o->max_len = len;
        rc = build_octave_kernel(o, freqs + lo, lengths + lo, p.sample_rate);
        if (rc) break;
        size_t frames = frames_for(len, hop);
        if (frames < c->max_frames) c->max_frames = frames;
        o->signal_cap = (size_t)(frames - 1) * hop + o->n_fft + len + 1;
        o->signal = calloc(o->signal_cap, sizeof *o->signal);
        o->frames = fftwf_alloc_real((size_t)FRAME_BLOCK * o->n_fft);
        o->spec = fftwf_alloc_complex((size_t)FRAME_BLOCK * (o->n_fft / 2 + 1));
        o->xre = fftwf_alloc_real((size_t)FRAME_BLOCK * (o->n_fft / 2 + 1));
        o->xim = fftwf_alloc_real((size_t)FRAME_BLOCK * (o->n_fft / 2 + 1));
        if (!o->signal || !o->frames || !o->spec || !o->xre || !o->xim) {
            rc = A2M_ERR_NOMEM;
            break;
        }
        pthread_mutex_lock(&fftw_plan_lock);
        o->plan = fftwf_plan_many_dft_r2c(1, &o->n_fft, FRAME_BLOCK, o->frames, NULL, 1, o->n_fft, o->spec, NULL, 1,
                                          o->n_fft / 2 + 1, FFTW_MEASURE);
        pthread_mutex_unlock(&fftw_plan_lock);
        if (!o->plan) {
            rc = A2M_ERR_INTERNAL;
            break;
        }
        if (hop % 2 == 0 && i + 1 < c->n_octaves) {
            soxr_error_t err = NULL;
            soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
            soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
            o->halve = soxr_create(2.0, 1.0, 1, &err, &io, &q, NULL);
            if (err) {
                rc = A2M_ERR_INTERNAL;
                break;
            }
            hop /= 2, sr /= 2, len = (len + 1) / 2;
        }
    }
    free(freqs), free(lengths);
    if (!rc) {
        c->mag = malloc((size_t)frames_for(max_samples, p.hop) * n * sizeof *c->mag);
        if (!c->mag) rc = A2M_ERR_NOMEM;
    }
    if (rc) {
        a2m_cqt_del(c);
        return a2m_error(rc, "cqt: cannot prepare kernels (%s)", a2m_strerror(rc));
    }
    *out = c;
    return A2M_OK;
}

/* Frames for n input samples, after __trim_stack and the optional last-frame drop. */
size_t a2m_cqt_n_frames(const a2m_cqt *c, size_t n) {
    size_t frames = (size_t)-1, len = n;
    for (int i = 0; i < c->n_octaves; i++) {
        size_t f = frames_for(len, c->oct[i].hop);
        if (f < frames) frames = f;
        if (c->oct[i].halve) len = (len + 1) / 2;
    }
    if (c->p.drop_last_frame && frames > 0) frames--;
    return frames;
}

/* y (len samples, already in o->signal at offset n_fft/2) -> |response| into mag columns */
static void octave_response(cqt_octave *o, size_t len, size_t n_frames, const double *inv_sqrt_len, float *mag,
                            int n_bins_total) {
    int n_fft = o->n_fft, nf = n_fft / 2 + 1, half = n_fft / 2;
    float *s = o->signal;
    memset(s, 0, (size_t)half * sizeof *s);
    size_t need = (n_frames - 1) * (size_t)o->hop + (size_t)n_fft;
    if (need > half + len) memset(s + half + len, 0, (need - half - len) * sizeof *s);
    for (size_t t0 = 0; t0 < n_frames; t0 += FRAME_BLOCK) {
        size_t nb = n_frames - t0 < FRAME_BLOCK ? n_frames - t0 : FRAME_BLOCK;
        for (size_t b = 0; b < nb; b++)
            memcpy(o->frames + b * n_fft, s + (t0 + b) * o->hop, (size_t)n_fft * sizeof *s);
        if (nb < FRAME_BLOCK) memset(o->frames + nb * n_fft, 0, (FRAME_BLOCK - nb) * n_fft * sizeof *s);
        fftwf_execute(o->plan);
        /* spectra to [FFT bin][frame] planes so the kernel loop runs over frames in SIMD */
        float *xre = o->xre, *xim = o->xim;
        for (int b = 0; b < FRAME_BLOCK; b++) {
            const fftwf_complex *X = o->spec + (size_t)b * nf;
            for (int f = 0; f < nf; f++) xre[f * FRAME_BLOCK + b] = X[f][0], xim[f * FRAME_BLOCK + b] = X[f][1];
        }
        for (int k = 0; k < o->n_bins; k++) {
            float re[FRAME_BLOCK] = {0}, im[FRAME_BLOCK] = {0};
            for (int j = o->row[k]; j < o->row[k + 1]; j++) {
                const float kr = o->kre[j], ki = o->kim[j];
                const float *ar = xre + (size_t)o->col[j] * FRAME_BLOCK, *ai = xim + (size_t)o->col[j] * FRAME_BLOCK;
                for (int b = 0; b < FRAME_BLOCK; b++) {
                    re[b] += kr * ar[b] - ki * ai[b];
                    im[b] += kr * ai[b] + ki * ar[b];
                }
            }
            const float w = (float)inv_sqrt_len[o->first_bin + k];
            float *m = mag + t0 * n_bins_total + o->first_bin + k;
            for (size_t b = 0; b < nb; b++) m[b * n_bins_total] = sqrtf(re[b] * re[b] + im[b] * im[b]) * w;
        }
    }
}

/* librosa.resample(y, orig_sr=2, target_sr=1, res_type='soxr_hq', scale=True):
 * ceil(n/2) samples (zero-padded if soxr gives fewer), times sqrt(2). */
static int halve_into(soxr_t s, const float *in, size_t n, float *out, size_t *n_out) {
    size_t olen = (n + 1) / 2, done = 0, idone = 0, odone = 0;
    soxr_clear(s);
    soxr_error_t err = soxr_process(s, in, n, &idone, out, olen, &odone);
    done = odone;
    while (!err && done < olen) {
        err = soxr_process(s, NULL, 0, NULL, out + done, olen - done, &odone);
        if (odone == 0) break;
        done += odone;
    }
    if (err) return A2M_ERR_INTERNAL;
    for (size_t i = done; i < olen; i++) out[i] = 0.0f;
    const float k = (float)M_SQRT2;
    for (size_t i = 0; i < olen; i++) out[i] *= k;
    *n_out = olen;
    return A2M_OK;
}

/* Every octave's response for all frames (no last-frame drop) into c->mag. */
static int compute_magnitude(a2m_cqt *c, const float *x, size_t n, size_t *all_frames) {
    if (n == 0) return a2m_error(A2M_ERR_EMPTY, "cqt: empty input");
    if (n > c->max_samples)
        return a2m_error(A2M_ERR_RANGE, "cqt: %zu samples, more than the %zu it was prepared for", n, c->max_samples);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return a2m_error(A2M_ERR_NONFINITE, "cqt: NaN or infinite sample at %zu", i);
    *all_frames = a2m_cqt_n_frames(c, n) + (c->p.drop_last_frame ? 1 : 0);
    size_t len = n;
    for (int i = 0; i < c->n_octaves; i++) {
        cqt_octave *o = &c->oct[i];
        float *dst = o->signal + o->n_fft / 2;
        if (i == 0) memcpy(dst, x, len * sizeof *x);
        octave_response(o, len, *all_frames, c->inv_sqrt_len, c->mag, c->p.n_bins);
        if (i + 1 < c->n_octaves) {
            cqt_octave *next = &c->oct[i + 1];
            float *ndst = next->signal + next->n_fft / 2;
            if (o->halve) {
                if (halve_into(o->halve, dst, len, ndst, &len)) return a2m_error(A2M_ERR_INTERNAL, "cqt: resampler failed");
            } else {
                memcpy(ndst, dst, len * sizeof *dst);
            }
        }
    }
    return A2M_OK;
}

int a2m_cqt_magnitude(a2m_cqt *c, const float *x, size_t n, float *mag) {
    size_t all;
    int rc = compute_magnitude(c, x, n, &all);
    if (rc) return rc;
    memcpy(mag, c->mag, a2m_cqt_n_frames(c, n) * (size_t)c->p.n_bins * sizeof *mag);
    return A2M_OK;
}

/* amplitude_to_db(ref, amin, top_db): 10 log10(max(amin^2, |C|^2)) - 10 log10(max(amin^2, ref^2)),
 * floored at (max over every frame, before the last-frame drop) - top_db. */
int a2m_cqt_db(a2m_cqt *c, const float *x, size_t n, float *db) {
    size_t all;
    int rc = compute_magnitude(c, x, n, &all);
    if (rc) return rc;
    size_t count = all * (size_t)c->p.n_bins, keep = a2m_cqt_n_frames(c, n) * (size_t)c->p.n_bins;
    float amin2 = (float)(c->p.amin * c->p.amin);
    float ref_db = (float)(10.0 * log10(fmax(c->p.amin * c->p.amin, c->p.ref * c->p.ref)));
    float top = -INFINITY;
    for (size_t i = 0; i < count; i++) {
        float pw = c->mag[i] * c->mag[i];
        float d = 10.0f * log10f(pw > amin2 ? pw : amin2) - ref_db;
        c->mag[i] = d;
        if (d > top) top = d;
    }
    float floor_db = c->p.top_db > 0 ? top - (float)c->p.top_db : -INFINITY;
    for (size_t i = 0; i < keep; i++) db[i] = c->mag[i] > floor_db ? c->mag[i] : floor_db;
    return A2M_OK;
}
