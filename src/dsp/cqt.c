/* Constant-Q transform, equal to librosa 0.10's cqt() (vqt with gamma 0):
 * octave by octave from the top, each octave's filters applied in the
 * frequency domain to the DFT of every frame (sparse kernels, as librosa's
 * sparsify_rows keeps them), the signal halved with libsoxr HQ between
 * octaves while the hop stays even. Kernels are built in double precision
 * (FFTW double, once).
 *
 * The kernels of an octave only touch a narrow band of DFT bins [j0, j0+nj)
 * (77 of 257 for the default parameters), so only those bins are computed:
 * - octaves with a large hop (hop > SLIDE_MAX_HOP): every frame through a
 *   batched FFTW single precision r2c plan (made under a mutex), the needed
 *   bins copied out;
 * - octaves with a small hop (n_fft / hop up to 341 at the bottom): a sliding
 *   DFT in double precision, X_{t+1}[j] = e^{2 pi i j hop / n}
 *   (X_t[j] + sum_{m<hop} (s[t hop + n + m] - s[t hop + m]) e^{-2 pi i j m / n}),
 *   started from an all-zero frame in extra leading zeros: hop * nj
 *   multiply-adds per frame instead of an n_fft FFT. The rotation has
 *   modulus 1, so rounding errors only add up (in double): on an hour of
 *   audio the dB features stay within 0.004 dB of the per-frame FFT's, no
 *   larger at the end than at the start.
 * Both give the same X_t[j] as the FFT of the frame, so the result (aliasing
 * of the hop subsampling included) is librosa's up to float rounding.
 * a2m_cqt_db allocates nothing except inside libsoxr. */
#include "a2m/cqt.h"

#include <fftw3.h>
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <soxr.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "a2m/error.h"
#include "core/finite.h"
#include "core/isa.h"
#include "dsp/cqt_internal.h"
#include "dsp/db.h"

static pthread_mutex_t fftw_plan_lock = PTHREAD_MUTEX_INITIALIZER;
static int wisdom_grew; /* a plan was measured that the loaded wisdom lacked (under fftw_plan_lock) */

int a2m_fftw_wisdom_load(const char *path) {
    pthread_mutex_lock(&fftw_plan_lock);
    int ok = fftwf_import_wisdom_from_filename(path);
    pthread_mutex_unlock(&fftw_plan_lock);
    return ok ? A2M_OK : a2m_error(A2M_ERR_IO, "%s: no FFTW wisdom (missing, corrupt or another FFTW build)", path);
}

int a2m_fftw_wisdom_new(void) {
    pthread_mutex_lock(&fftw_plan_lock);
    int grew = wisdom_grew;
    pthread_mutex_unlock(&fftw_plan_lock);
    return grew;
}

int a2m_fftw_wisdom_save(const char *path) {
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return a2m_error(A2M_ERR_ARG, "%s: path too long", path);
    pthread_mutex_lock(&fftw_plan_lock);
    int ok = fftwf_export_wisdom_to_filename(tmp);
    if (ok) wisdom_grew = 0;
    pthread_mutex_unlock(&fftw_plan_lock);
    if (!ok || rename(tmp, path) != 0) {
        remove(tmp);
        return a2m_error(A2M_ERR_IO, "%s: cannot write FFTW wisdom", path);
    }
    return A2M_OK;
}

/* A batched r2c plan (howmany transforms of n, contiguous) from the wisdom when it has one, else measured
 * (the wisdom has grown); under the process-wide planning lock. */
fftwf_plan dsp_plan_r2c_many(int n, int howmany, float *in, fftwf_complex *out) {
    int nf = n / 2 + 1;
    pthread_mutex_lock(&fftw_plan_lock);
    fftwf_plan plan =
        fftwf_plan_many_dft_r2c(1, &n, howmany, in, NULL, 1, n, out, NULL, 1, nf, FFTW_MEASURE | FFTW_WISDOM_ONLY);
    if (!plan) {
        plan = fftwf_plan_many_dft_r2c(1, &n, howmany, in, NULL, 1, n, out, NULL, 1, nf, FFTW_MEASURE);
        wisdom_grew = 1;
    }
    pthread_mutex_unlock(&fftw_plan_lock);
    return plan;
}

/* The same for howmany forward complex transforms of n, contiguous, in place or not. */
fftwf_plan dsp_plan_c2c_many(int n, int howmany, fftwf_complex *in, fftwf_complex *out) {
    pthread_mutex_lock(&fftw_plan_lock);
    fftwf_plan plan = fftwf_plan_many_dft(1, &n, howmany, in, NULL, 1, n, out, NULL, 1, n, FFTW_FORWARD,
                                          FFTW_MEASURE | FFTW_WISDOM_ONLY);
    if (!plan) {
        plan = fftwf_plan_many_dft(1, &n, howmany, in, NULL, 1, n, out, NULL, 1, n, FFTW_FORWARD, FFTW_MEASURE);
        wisdom_grew = 1;
    }
    pthread_mutex_unlock(&fftw_plan_lock);
    return plan;
}

void dsp_plan_destroy(fftwf_plan plan) {
    if (!plan) return;
    pthread_mutex_lock(&fftw_plan_lock);
    fftwf_destroy_plan(plan);
    pthread_mutex_unlock(&fftw_plan_lock);
}

/* GCC/clang vector extensions: AVX2 in the x86-64-v3 clones of the hot loops
 * (A2M_DISPATCH, chosen at run time on AVX2 CPUs), lowered to SSE pairs
 * elsewhere. Loads and stores through the _u types (element alignment, may
 * alias their elements). */
typedef float v8sf __attribute__((vector_size(32)));
typedef double v4df __attribute__((vector_size(32)));
typedef float v8sf_u __attribute__((vector_size(32), aligned(4), may_alias));
typedef double v4df_u __attribute__((vector_size(32), aligned(8), may_alias));
#define ld8(p)    (*(const v8sf_u *)(p))
#define st8(p, v) (*(v8sf_u *)(p) = (v))
#define ld4(p)    (*(const v4df_u *)(p))
#define st4(p, v) (*(v4df_u *)(p) = (v))

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
            free(o->tw_re), free(o->tw_im), free(o->rot_re), free(o->rot_im), free(o->st_re), free(o->st_im);
            free(o->dd), free(o->u_re), free(o->u_im), free(o->xt_re), free(o->xt_im);
            if (o->halve) soxr_delete(o->halve);
        }
        free(c->oct);
    }
    free(c->inv_sqrt_len);
    free(c->power);
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

/* Ascending sort of n doubles (no NaN): quicksort, median of three, insertion sort below 16 (qsort's callback
 * per comparison made it ~40% slower: 252 sorts of 257 magnitudes per CQT); the order is the same. */
static void sort_doubles(double *a, int n) {
    while (n > 16) {
        int mid = n / 2; /* a[0] <= a[mid] <= a[n-1]: both scans stop inside, each side keeps an element */
        double t;
        if (a[mid] < a[0]) t = a[mid], a[mid] = a[0], a[0] = t;
        if (a[n - 1] < a[mid]) t = a[n - 1], a[n - 1] = a[mid], a[mid] = t;
        if (a[mid] < a[0]) t = a[mid], a[mid] = a[0], a[0] = t;
        double pivot = a[mid];
        int i = -1, j = n;
        for (;;) { /* Hoare: [0, j] <= pivot <= [j + 1, n), 0 <= j < n - 1 */
            do i++;
            while (a[i] < pivot);
            do j--;
            while (a[j] > pivot);
            if (i >= j) break;
            t = a[i], a[i] = a[j], a[j] = t;
        }
        if (j + 1 < n - j - 1) { /* the smaller side recursively, the larger in the loop */
            sort_doubles(a, j + 1);
            a += j + 1, n -= j + 1;
        } else {
            sort_doubles(a + j + 1, n - j - 1);
            n = j + 1;
        }
    }
    for (int i = 1; i < n; i++) {
        double v = a[i];
        int j = i;
        for (; j > 0 && a[j - 1] > v; j--) a[j] = a[j - 1];
        a[j] = v;
    }
}

/* librosa's sparsify_rows threshold of one kernel row: the smallest magnitude at which the ascending cumulative
 * share of the L1 norm reaches 1% (magnitudes >= it are kept). The reference: a full sort, the shares summed in
 * ascending order. */
double cqt_sparsify_threshold_sorted(const double *mags, int n, double norm, double *work) {
    memcpy(work, mags, (size_t)n * sizeof *work);
    sort_doubles(work, n);
    double cum = 0;
    for (int j = 0; j < n; j++) {
        cum += work[j] / norm;
        if (!(cum < 0.01)) return work[j];
    }
    return work[0];
}

/* The same threshold without the sort (it was 8% of a one-take `a2m features`): a quickselect that keeps the
 * sum of everything below its range finds the smallest value v with sum(m <= v) >= 1% of the norm. Its sums
 * run in another order than the sorted reference's, so v is taken only when sum(m < v) and sum(m <= v) are
 * each more than a relative 1e-9 away from the 1% (rounding moves them by ~n 1e-16): then the sorted scan
 * passes its 1% inside v's ties too, and the threshold is bit-identical; else the reference decides. */
double cqt_sparsify_threshold(const double *mags, int n, double norm, double *work) {
    double target = 0.01 * norm;
    if (!(norm > 0) || !isfinite(norm) || n <= 0) return cqt_sparsify_threshold_sorted(mags, n, norm, work);
    memcpy(work, mags, (size_t)n * sizeof *work);
    double *a = work, below = 0, v = NAN;
    int len = n;
    while (len > 0) {
        double x = a[0], y = a[len / 2], z = a[len - 1]; /* median of three as the pivot */
        double p = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
        int lt = 0, i = 0, gt = len; /* 3-way partition: [0, lt) < p, [lt, i) == p, [gt, len) > p */
        double sum_lt = 0, sum_eq = 0;
        while (i < gt) {
            double e = a[i];
            if (e < p) sum_lt += e, a[i] = a[lt], a[lt++] = e, i++;
            else if (e > p) a[i] = a[--gt], a[gt] = e;
            else sum_eq += e, i++;
        }
        if (below + sum_lt >= target) len = lt;
        else if (below + sum_lt + sum_eq >= target) {
            v = p;
            break;
        } else below += sum_lt + sum_eq, a += gt, len -= gt;
    }
    double lo = 0, hi = 0; /* sum(m < v), sum(m <= v) */
    for (int j = 0; j < n; j++) {
        if (mags[j] < v) lo += mags[j];
        if (mags[j] <= v) hi += mags[j];
    }
    if (isnan(v) || !(lo < target * (1 - 1e-9)) || !(hi >= target * (1 + 1e-9)))
        return cqt_sparsify_threshold_sorted(mags, n, norm, work);
    return v;
}

/* A periodic Hann window of `count` points and its L1 norm, kept per bin position within the octave: the bins
 * of every octave at one position have the same length (Q sr_octave / f), so the window (a third of the cosines
 * of making the kernels) is computed once per position, not once per bin. */
typedef struct hann_cache {
    long count;
    double l1, *w;
} hann_cache;

static const double *hann_window(hann_cache *h, long count, double *l1) {
    if (h->count != count) {
        double *w = realloc(h->w, (size_t)(count > 0 ? count : 1) * sizeof *w);
        if (!w) return NULL;
        h->w = w, h->count = count, h->l1 = 0;
        for (long j = 0; j < count; j++) h->l1 += (w[j] = 0.5 - 0.5 * cos(2.0 * M_PI * (double)j / (double)count));
    }
    *l1 = h->l1;
    return h->w;
}

/* Builds one octave's sparse frequency-domain kernel exactly as
 * librosa's __vqt_filter_fft + sparsify_rows + the sqrt(sr/my_sr) rescale. */
/* The filter lengths of an octave's bins at its rate (Q my_sr / f) and its transform size (the next power of 2). */
static int octave_lengths(const cqt_octave *o, const double *alpha_lengths_at_sr, double sr, double *lengths) {
    double maxlen = 0;
    for (int k = 0; k < o->n_bins; k++) {
        lengths[k] = alpha_lengths_at_sr[k] * o->sr / sr;
        if (lengths[k] > maxlen) maxlen = lengths[k];
    }
    return (int)pow(2.0, ceil(log2(maxlen)));
}

static int build_octave_kernel(cqt_octave *o, const double *freqs, const double *alpha_lengths_at_sr, double sr,
                               hann_cache *hann) {
    int nb = o->n_bins;
    double lengths[512];
    int n_fft = octave_lengths(o, alpha_lengths_at_sr, sr, lengths);
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
        double l1;
        const double *win = hann_window(&hann[k], count, &l1);
        if (!win) {
            nnz = -1;
            break;
        }
        for (int j = 0; j < n_fft; j++) buf[j][0] = buf[j][1] = 0.0;
        long lpad = (n_fft - count) / 2;
        double scale = ilen / n_fft;
        for (long j = 0; j < count; j++) {
            double w = win[j];
            double ph = (double)(start + j) * 2.0 * M_PI * f / o->sr;
            float re = (float)(w * cos(ph) / l1), im = (float)(w * sin(ph) / l1);
            buf[lpad + j][0] = (float)(re * scale);
            buf[lpad + j][1] = (float)(im * scale);
        }
        fftw_execute(plan);
        double norm = 0;
        for (int j = 0; j < nf; j++) norm += (mags[j] = hypot(buf[j][0], buf[j][1]));
        double thresh = cqt_sparsify_threshold(mags, nf, norm, sorted);
        o->row[k] = nnz;
        for (int j = 0; j < nf; j++)
            if (mags[j] >= thresh) {
                col[nnz] = j;
                kre[nnz] = (float)((float)buf[j][0] * rescale);
                kim[nnz] = (float)((float)buf[j][1] * rescale);
                nnz++;
            }
    }
    pthread_mutex_lock(&fftw_plan_lock);
    fftw_destroy_plan(plan);
    pthread_mutex_unlock(&fftw_plan_lock);
    fftw_free(buf);
    free(mags), free(sorted);
    if (nnz < 0) {
        free(kre), free(kim), free(col);
        return A2M_ERR_NOMEM;
    }
    o->row[nb] = nnz;
    /* shrunk to the nonzeros; a shrink that fails keeps the larger block (it leaked it, test_alloc_fail) */
    size_t keep = (size_t)(nnz ? nnz : 1);
    int *c2 = realloc(col, keep * sizeof *col);
    float *r2 = realloc(kre, keep * sizeof *kre), *i2 = realloc(kim, keep * sizeof *kim);
    o->col = c2 ? c2 : col, o->kre = r2 ? r2 : kre, o->kim = i2 ? i2 : kim;
    return A2M_OK;
}

/* An octave's kernels from the process's kernel cache (cqt_cache.c), else made and put there. */
static int octave_kernel(a2m_cqt_params p, int octave, cqt_octave *o, const double *freqs,
                         const double *alpha_lengths_at_sr, hann_cache *hann) {
    double lengths[512];
    int found = 0,
        rc = cqt_kernels_get(p, octave, octave_lengths(o, alpha_lengths_at_sr, p.sample_rate, lengths), o, &found);
    if (rc || found) return rc;
    rc = build_octave_kernel(o, freqs, alpha_lengths_at_sr, p.sample_rate, hann);
    if (!rc) cqt_kernels_put(p, octave, o);
    return rc;
}

/* The padded signal buffer of an octave for `frames` frames of `len` samples (its y), zeros. */
static int signal_for(cqt_octave *o, size_t frames, size_t len) {
    size_t cap = (size_t)o->lead + (size_t)(frames - 1) * o->hop + (size_t)o->n_fft + len + 1;
    float *s = calloc(cap, sizeof *s);
    if (!s) return A2M_ERR_NOMEM;
    free(o->signal);
    o->signal = s, o->signal_cap = cap, o->max_len = len;
    return A2M_OK;
}

/* The band of DFT bins the kernels use, the padded signal buffer and either
 * the FFT plan or the sliding-DFT tables of one octave. */
static int prepare_front_end(cqt_octave *o, size_t frames, size_t len) {
    int n_fft = o->n_fft, nf = n_fft / 2 + 1, hop = o->hop, nnz = o->row[o->n_bins];
    int j0 = nf, j1 = 0;
    for (int j = 0; j < nnz; j++) {
        if (o->col[j] < j0) j0 = o->col[j];
        if (o->col[j] > j1) j1 = o->col[j];
    }
    if (nnz == 0) j0 = j1 = 0;
    for (int j = 0; j < nnz; j++) o->col[j] -= j0;
    o->j0 = j0;
    o->nj = (j1 - j0 + 1 + BIN_ALIGN - 1) / BIN_ALIGN * BIN_ALIGN;
    o->sliding = hop <= SLIDE_MAX_HOP;
    o->lead = o->sliding ? (n_fft / 2 + hop - 1) / hop * hop : 0;
    o->off = (size_t)o->lead + (size_t)n_fft / 2;
    o->xre = fftwf_alloc_real((size_t)FRAME_BLOCK * o->nj);
    o->xim = fftwf_alloc_real((size_t)FRAME_BLOCK * o->nj);
    if (signal_for(o, frames, len) || !o->xre || !o->xim) return A2M_ERR_NOMEM;
    if (o->sliding) {
        size_t nj = (size_t)o->nj;
        o->tw_re = malloc((size_t)hop * nj * sizeof *o->tw_re);
        o->tw_im = malloc((size_t)hop * nj * sizeof *o->tw_im);
        o->rot_re = malloc(nj * sizeof *o->rot_re), o->rot_im = malloc(nj * sizeof *o->rot_im);
        o->st_re = malloc(nj * sizeof *o->st_re), o->st_im = malloc(nj * sizeof *o->st_im);
        o->dd = malloc((size_t)(FRAME_BLOCK + 2) * hop * sizeof *o->dd);
        o->u_re = malloc((size_t)FRAME_BLOCK * nj * sizeof *o->u_re);
        o->u_im = malloc((size_t)FRAME_BLOCK * nj * sizeof *o->u_im);
        o->xt_re = malloc((size_t)FRAME_BLOCK * nj * sizeof *o->xt_re);
        o->xt_im = malloc((size_t)FRAME_BLOCK * nj * sizeof *o->xt_im);
        if (!o->tw_re || !o->tw_im || !o->rot_re || !o->rot_im || !o->st_re || !o->st_im || !o->dd || !o->u_re ||
            !o->u_im || !o->xt_re || !o->xt_im)
            return A2M_ERR_NOMEM;
        for (size_t q = 0; q < nj; q++) {
            long j = j0 + (long)q;
            for (int m = 0; m < hop; m++) {
                double ph = -2.0 * M_PI * (double)((j * m) % n_fft) / n_fft;
                size_t at = (q / 8 * (size_t)hop + (size_t)m) * 8 + q % 8;
                o->tw_re[at] = cos(ph), o->tw_im[at] = sin(ph);
            }
            double ph = 2.0 * M_PI * (double)((j * hop) % n_fft) / n_fft;
            o->rot_re[q] = cos(ph), o->rot_im[q] = sin(ph);
        }
        return A2M_OK;
    }
    o->frames = fftwf_alloc_real((size_t)FRAME_BLOCK * n_fft);
    o->spec = fftwf_alloc_complex((size_t)FRAME_BLOCK * nf);
    if (!o->frames || !o->spec) return A2M_ERR_NOMEM;
    o->plan = dsp_plan_r2c_many(n_fft, FRAME_BLOCK, o->frames, o->spec);
    return o->plan ? A2M_OK : A2M_ERR_INTERNAL;
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
    hann_cache *hann = calloc((size_t)bpo, sizeof *hann);
    if (!hann) rc = A2M_ERR_NOMEM;
    for (int i = 0; i < c->n_octaves && !rc; i++) {
        cqt_octave *o = &c->oct[i];
        int hi = n - bpo * i, lo = hi - bpo < 0 ? 0 : hi - bpo;
        o->first_bin = lo, o->n_bins = hi - lo, o->sr = sr, o->hop = hop;
        rc = octave_kernel(p, i, o, freqs + lo, lengths + lo, hann);
        if (rc) break;
        size_t frames = frames_for(len, hop);
        if (frames < c->max_frames) c->max_frames = frames;
        rc = prepare_front_end(o, frames, len);
        if (rc) break;
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
    for (int b = 0; hann && b < bpo; b++) free(hann[b].w);
    free(hann), free(freqs), free(lengths);
    if (!rc) {
        c->power = malloc((size_t)frames_for(max_samples, p.hop) * n * sizeof *c->power);
        if (!c->power) rc = A2M_ERR_NOMEM;
    }
    if (rc) {
        a2m_cqt_del(c);
        return a2m_error(rc, "cqt: cannot prepare kernels (%s)", a2m_strerror(rc));
    }
    *out = c;
    return A2M_OK;
}

/* Longer inputs for the same kernels and plans: only the signal buffers and the power scratch grow. */
int a2m_cqt_reserve(a2m_cqt *c, size_t max_samples) {
    if (max_samples <= c->max_samples) return A2M_OK;
    size_t len = max_samples, max_frames = frames_for(max_samples, c->p.hop);
    for (int i = 0; i < c->n_octaves; i++) {
        cqt_octave *o = &c->oct[i];
        size_t frames = frames_for(len, o->hop);
        if (frames < max_frames) max_frames = frames;
        if (signal_for(o, frames, len))
            return a2m_error(A2M_ERR_NOMEM, "cqt: out of memory for %zu samples", max_samples);
        if (o->halve) len = (len + 1) / 2;
    }
    float *power = malloc(frames_for(max_samples, c->p.hop) * (size_t)c->p.n_bins * sizeof *power);
    if (!power) return a2m_error(A2M_ERR_NOMEM, "cqt: out of memory for %zu samples", max_samples);
    free(c->power);
    c->power = power, c->max_frames = max_frames, c->max_samples = max_samples;
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

/* The 8 x 8 block at src (rows sstride floats apart) transposed into dst (rows dstride apart): unpack, shuffle
 * and lane moves, the same values moved (__builtin_shufflevector: GCC 12+ and clang, which builds the fuzzers). */
#define LO(a, b) __builtin_shufflevector(a, b, 0, 8, 1, 9, 4, 12, 5, 13)
#define HI(a, b) __builtin_shufflevector(a, b, 2, 10, 3, 11, 6, 14, 7, 15)
#define EV(a, b) __builtin_shufflevector(a, b, 0, 1, 8, 9, 4, 5, 12, 13)
#define OD(a, b) __builtin_shufflevector(a, b, 2, 3, 10, 11, 6, 7, 14, 15)
#define H0(a, b) __builtin_shufflevector(a, b, 0, 1, 2, 3, 8, 9, 10, 11)
#define H1(a, b) __builtin_shufflevector(a, b, 4, 5, 6, 7, 12, 13, 14, 15)
static inline __attribute__((always_inline)) void transpose8(const float *src, size_t sstride, float *dst,
                                                             size_t dstride) {
    v8sf r0 = ld8(src), r1 = ld8(src + sstride), r2 = ld8(src + 2 * sstride), r3 = ld8(src + 3 * sstride);
    v8sf r4 = ld8(src + 4 * sstride), r5 = ld8(src + 5 * sstride), r6 = ld8(src + 6 * sstride);
    v8sf r7 = ld8(src + 7 * sstride);
    v8sf t0 = LO(r0, r1), t1 = HI(r0, r1), t2 = LO(r2, r3), t3 = HI(r2, r3);
    v8sf t4 = LO(r4, r5), t5 = HI(r4, r5), t6 = LO(r6, r7), t7 = HI(r6, r7);
    v8sf s0 = EV(t0, t2), s1 = OD(t0, t2), s2 = EV(t1, t3), s3 = OD(t1, t3);
    v8sf s4 = EV(t4, t6), s5 = OD(t4, t6), s6 = EV(t5, t7), s7 = OD(t5, t7);
    st8(dst, H0(s0, s4)), st8(dst + dstride, H0(s1, s5));
    st8(dst + 2 * dstride, H0(s2, s6)), st8(dst + 3 * dstride, H0(s3, s7));
    st8(dst + 4 * dstride, H1(s0, s4)), st8(dst + 5 * dstride, H1(s1, s5));
    st8(dst + 6 * dstride, H1(s2, s6)), st8(dst + 7 * dstride, H1(s3, s7));
}

/* Rows 0 .. n_out-1 of t [step][nj] into columns 0 .. n_out-1 of x [nj][FRAME_BLOCK]. Storing each step's bins
 * straight into their columns, one float a store, was a quarter of the sliding DFT's time (perf annotate:
 * vextractps). With this and bins_to_frames: in-process CQT of the 45 takes, min of 40 passes, 8 alternated
 * runs at load ~11, median 2.30 -> 2.19 ms CPU a take (best 2.135 -> 2.074); the same bits. */
static inline __attribute__((always_inline)) void steps_to_bins(const float *t, int nj, int n_out, float *x) {
    int full = n_out / 8 * 8;
    for (int i0 = 0; i0 < full; i0 += 8)
        for (int q0 = 0; q0 < nj; q0 += 8)
            transpose8(t + (size_t)i0 * nj + q0, (size_t)nj, x + q0 * FRAME_BLOCK + i0, FRAME_BLOCK);
    for (int i = full; i < n_out; i++)
        for (int q = 0; q < nj; q++) x[q * FRAME_BLOCK + i] = t[(size_t)i * nj + q];
}

/* Sliding DFT: from the current frame t, writes X_t .. X_{t+n_out-1} into
 * columns 0 .. n_out-1 of xre/xim and takes `steps` (<= FRAME_BLOCK) steps;
 * p points at frame t's first sample. The updates of all steps (a
 * [steps x hop] x [hop x nj] product, 3 frames x 8 bins at a time, so a
 * twiddle panel is read from L1 for a whole block) come before the
 * sequential rotations. */
A2M_DISPATCH static void cqt_slide_body(cqt_octave *o, const float *p, int steps, int n_out) {
    const int nj = o->nj, hop = o->hop, n_fft = o->n_fft;
    const int groups = (steps + 2) / 3;
    double *dd = o->dd, *u_re = o->u_re, *u_im = o->u_im;
    for (int r = 0; r < steps * hop; r++) dd[r] = (double)p[n_fft + r] - (double)p[r];
    for (int r = steps * hop; r < groups * 3 * hop; r++) dd[r] = 0.0;
    for (int q0 = 0; q0 < nj; q0 += 8) {
        const double *twr = o->tw_re + (size_t)q0 * hop, *twi = o->tw_im + (size_t)q0 * hop;
        for (int g = 0; g < groups; g++) {
            const double *d0 = dd + (size_t)g * 3 * hop, *d1 = d0 + hop, *d2 = d1 + hop;
            v4df ra0 = {0}, rb0 = {0}, ia0 = {0}, ib0 = {0}, ra1 = {0}, rb1 = {0}, ia1 = {0}, ib1 = {0};
            v4df ra2 = {0}, rb2 = {0}, ia2 = {0}, ib2 = {0};
            for (int m = 0; m < hop; m++) {
                const double *cr = twr + 8 * m, *ci = twi + 8 * m;
                const double e0 = d0[m], e1 = d1[m], e2 = d2[m];
                ra0 += e0 * ld4(cr), rb0 += e0 * ld4(cr + 4), ia0 += e0 * ld4(ci), ib0 += e0 * ld4(ci + 4);
                ra1 += e1 * ld4(cr), rb1 += e1 * ld4(cr + 4), ia1 += e1 * ld4(ci), ib1 += e1 * ld4(ci + 4);
                ra2 += e2 * ld4(cr), rb2 += e2 * ld4(cr + 4), ia2 += e2 * ld4(ci), ib2 += e2 * ld4(ci + 4);
            }
            double *ur = u_re + (size_t)g * 3 * nj + q0, *ui = u_im + (size_t)g * 3 * nj + q0;
            st4(ur, ra0), st4(ur + 4, rb0), st4(ui, ia0), st4(ui + 4, ib0);
            if (g * 3 + 1 < steps) st4(ur + nj, ra1), st4(ur + nj + 4, rb1), st4(ui + nj, ia1), st4(ui + nj + 4, ib1);
            if (g * 3 + 2 < steps)
                st4(ur + 2 * nj, ra2), st4(ur + 2 * nj + 4, rb2), st4(ui + 2 * nj, ia2), st4(ui + 2 * nj + 4, ib2);
        }
    }
    double *sr = o->st_re, *si = o->st_im;
    const double *rr = o->rot_re, *ri = o->rot_im;
    float *tre = o->xt_re, *tim = o->xt_im;
    for (int i = 0; i < steps || i < n_out; i++) {
        if (i < n_out)
            for (int q = 0; q < nj; q++) tre[i * nj + q] = (float)sr[q], tim[i * nj + q] = (float)si[q];
        if (i < steps)
            for (int q = 0; q < nj; q += 4) {
                const v4df a = ld4(sr + q) + ld4(u_re + (size_t)i * nj + q);
                const v4df b = ld4(si + q) + ld4(u_im + (size_t)i * nj + q);
                const v4df c = ld4(rr + q), s = ld4(ri + q);
                st4(sr + q, a * c - b * s);
                st4(si + q, a * s + b * c);
            }
    }
    steps_to_bins(tre, nj, n_out, o->xre);
    steps_to_bins(tim, nj, n_out, o->xim);
}

void cqt_slide(cqt_octave *o, const float *p, int steps, int n_out) { cqt_slide_body(o, p, steps, n_out); }

/* Spectra (bins [j0, j0+nj)) of nb frames, the first starting at s, into xre/xim[bin][frame]. */
void cqt_fft_block(cqt_octave *o, const float *s, size_t nb) {
    const int n_fft = o->n_fft, nf = n_fft / 2 + 1, nj = o->nj, j0 = o->j0;
    const int nq = nj < nf - j0 ? nj : nf - j0;
    for (size_t b = 0; b < nb; b++) memcpy(o->frames + b * n_fft, s + b * o->hop, (size_t)n_fft * sizeof *s);
    if (nb < FRAME_BLOCK) memset(o->frames + nb * n_fft, 0, (FRAME_BLOCK - nb) * n_fft * sizeof *s);
    fftwf_execute(o->plan);
    float *xre = o->xre, *xim = o->xim;
    for (int b = 0; b < FRAME_BLOCK; b++) {
        const fftwf_complex *X = o->spec + (size_t)b * nf + j0;
        for (int q = 0; q < nq; q++) xre[q * FRAME_BLOCK + b] = X[q][0], xim[q * FRAME_BLOCK + b] = X[q][1];
    }
}

/* Bins k0 .. k0+nk-1 (tile[k - k0][frame]) into rows [0, nb) of power (row stride n): 8 bins x 8 frames at a
 * time. A float a store down a column of power was a quarter of the kernels' time, the transposes are ~11% of
 * it (perf annotate). */
static inline __attribute__((always_inline)) void bins_to_frames(float tile[8][FRAME_BLOCK], int k0, int nk, size_t nb,
                                                                 float *power, int n) {
    size_t b = 0;
    if (nk == 8)
        for (; b + 8 <= nb; b += 8) transpose8(&tile[0][b], FRAME_BLOCK, power + b * n + k0, (size_t)n);
    for (; b < nb; b++)
        for (int j = 0; j < nk; j++) power[b * n + k0 + j] = tile[j][b];
}

/* The octave's kernels applied to the nb spectra in xre/xim: |response|^2
 * into rows [0, nb) of power (row stride n_bins_total, this octave's bins). */
A2M_DISPATCH static void cqt_kernel_power_body(const cqt_octave *o, size_t nb, const double *inv_sqrt_len, float *power,
                                               int n_bins_total) {
    const float *xre = o->xre, *xim = o->xim;
    float tile[8][FRAME_BLOCK];
    power += o->first_bin;
    for (int k = 0; k < o->n_bins; k++) {
        v8sf re0 = {0}, re1 = {0}, re2 = {0}, re3 = {0}, im0 = {0}, im1 = {0}, im2 = {0}, im3 = {0};
        for (int j = o->row[k]; j < o->row[k + 1]; j++) {
            const float kr = o->kre[j], ki = o->kim[j];
            const float *ar = xre + (size_t)o->col[j] * FRAME_BLOCK, *ai = xim + (size_t)o->col[j] * FRAME_BLOCK;
            v8sf r0 = ld8(ar), r1 = ld8(ar + 8), r2 = ld8(ar + 16), r3 = ld8(ar + 24);
            v8sf i0 = ld8(ai), i1 = ld8(ai + 8), i2 = ld8(ai + 16), i3 = ld8(ai + 24);
            re0 += kr * r0 - ki * i0, re1 += kr * r1 - ki * i1, re2 += kr * r2 - ki * i2, re3 += kr * r3 - ki * i3;
            im0 += kr * i0 + ki * r0, im1 += kr * i1 + ki * r1, im2 += kr * i2 + ki * r2, im3 += kr * i3 + ki * r3;
        }
        const float w2 = (float)(inv_sqrt_len[o->first_bin + k] * inv_sqrt_len[o->first_bin + k]);
        float *pw = tile[k % 8];
        st8(pw, (re0 * re0 + im0 * im0) * w2), st8(pw + 8, (re1 * re1 + im1 * im1) * w2);
        st8(pw + 16, (re2 * re2 + im2 * im2) * w2), st8(pw + 24, (re3 * re3 + im3 * im3) * w2);
        if (k % 8 == 7 || k + 1 == o->n_bins) bins_to_frames(tile, k / 8 * 8, k % 8 + 1, nb, power, n_bins_total);
    }
}

void cqt_kernel_power(const cqt_octave *o, size_t nb, const double *inv_sqrt_len, float *power, int n_bins_total) {
    cqt_kernel_power_body(o, nb, inv_sqrt_len, power, n_bins_total);
}

/* y (len samples, already in o->signal at o->off) -> |response|^2 into power columns */
static void octave_response(cqt_octave *o, size_t len, size_t n_frames, const double *inv_sqrt_len, float *power,
                            int n_bins_total) {
    const int n_fft = o->n_fft, hop = o->hop, nj = o->nj;
    float *s = o->signal;
    memset(s, 0, o->off * sizeof *s);
    size_t need = (size_t)o->lead + (n_frames - 1) * (size_t)hop + (size_t)n_fft;
    if (need > o->off + len) memset(s + o->off + len, 0, (need - o->off - len) * sizeof *s);
    if (o->sliding) { /* from the all-zero frame -lead/hop to frame 0 */
        memset(o->st_re, 0, (size_t)nj * sizeof *o->st_re);
        memset(o->st_im, 0, (size_t)nj * sizeof *o->st_im);
        for (int t = 0, k = o->lead / hop; t < k; t += FRAME_BLOCK)
            cqt_slide(o, s + (size_t)t * hop, k - t < FRAME_BLOCK ? k - t : FRAME_BLOCK, 0);
    }
    for (size_t t0 = 0; t0 < n_frames; t0 += FRAME_BLOCK) {
        size_t nb = n_frames - t0 < FRAME_BLOCK ? n_frames - t0 : FRAME_BLOCK;
        if (o->sliding) {
            cqt_slide(o, s + o->lead + t0 * hop, (int)(t0 + nb < n_frames ? nb : nb - 1), (int)nb);
        } else {
            cqt_fft_block(o, s + o->lead + t0 * hop, nb);
        }
        cqt_kernel_power(o, nb, inv_sqrt_len, power + t0 * n_bins_total, n_bins_total);
    }
}

/* soxr_clear frees a halver's filters and designs them again (libsoxr 0.1.3), as soxr_create did (~25 us a
 * halver; 5 halvers for the default CQT). One made by soxr_create and not used yet needs none of it: a one-take
 * `a2m features` designs them once, not twice (soxr_set_io_ratio 20 -> 10 calls, perf probe; its share of the
 * process 3.7% -> 2.4%, perf over 100 runs); every .npy byte-identical. */
void cqt_halver_fresh(cqt_octave *o) {
    if (o->halve && o->halve_used) soxr_clear(o->halve);
    o->halve_used = 1;
}

/* librosa.resample(y, orig_sr=2, target_sr=1, res_type='soxr_hq', scale=True):
 * ceil(n/2) samples (zero-padded if soxr gives fewer), times sqrt(2). */
static int halve_into(cqt_octave *o, const float *in, size_t n, float *out, size_t *n_out) {
    size_t olen = (n + 1) / 2, done = 0, idone = 0, odone = 0;
    cqt_halver_fresh(o);
    soxr_t s = o->halve;
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

/* Every octave's |response|^2 for all frames (no last-frame drop) into c->power. */
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
        float *dst = o->signal + o->off;
        if (i == 0) memcpy(dst, x, len * sizeof *x);
        octave_response(o, len, *all_frames, c->inv_sqrt_len, c->power, c->p.n_bins);
        if (i + 1 < c->n_octaves) {
            cqt_octave *next = &c->oct[i + 1];
            float *ndst = next->signal + next->off;
            if (o->halve) {
                if (halve_into(o, dst, len, ndst, &len)) return a2m_error(A2M_ERR_INTERNAL, "cqt: resampler failed");
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
    size_t keep = a2m_cqt_n_frames(c, n) * (size_t)c->p.n_bins;
    for (size_t i = 0; i < keep; i++) mag[i] = sqrtf(c->power[i]);
    return A2M_OK;
}

/* amplitude_to_db(ref, amin, top_db): 10 log10(max(amin^2, |C|^2)) - 10 log10(max(amin^2, ref^2)),
 * floored at (max over the first n_max frames) - top_db. Also in an x86-64-v4 clone (GCC, as stft.c's DCT):
 * the mel and MFCC features' dB pass, 4% of a mel take in-process in the v3 clone (perf); the same bits (the
 * same operations, element by element). */
A2M_DISPATCH_V4
static void a2m_cqt_power_db_body(a2m_cqt_params p, const float *power, size_t n_max, size_t n_keep, float *db) {
    size_t count = n_max * (size_t)p.n_bins, keep = n_keep * (size_t)p.n_bins;
    float amin2 = (float)(p.amin * p.amin);
    if (!(amin2 >= FLT_MIN)) amin2 = FLT_MIN;
    float ref_db = (float)(10.0 * log10(fmax(p.amin * p.amin, p.ref * p.ref)));
    /* the loudest frame is the one with the largest power: max over the bits of non-negative floats */
    float top_pw = a2m_max_nonneg(power, count);
    float floor_db =
        p.top_db > 0 ? a2m_db_of_power(top_pw > amin2 ? top_pw : amin2) - ref_db - (float)p.top_db : -INFINITY;
    for (size_t i = 0; i < keep; i++) {
        float d = a2m_db_of_power(power[i] > amin2 ? power[i] : amin2) - ref_db;
        db[i] = d > floor_db ? d : floor_db;
    }
}

void a2m_cqt_power_db(a2m_cqt_params p, const float *power, size_t n_max, size_t n_keep, float *db) {
    a2m_cqt_power_db_body(p, power, n_max, n_keep, db);
}

/* the floor is relative to every frame, the dropped last one included */
int a2m_cqt_db(a2m_cqt *c, const float *x, size_t n, float *db) {
    size_t all;
    int rc = compute_magnitude(c, x, n, &all);
    if (rc) return rc;
    a2m_cqt_power_db(c->p, c->power, all, a2m_cqt_n_frames(c, n), db);
    return A2M_OK;
}
