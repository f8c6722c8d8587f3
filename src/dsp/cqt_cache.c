/* CQT kernels kept between runs, beside the FFTW wisdom (issue 13): making the sparse kernels of the default CQT
 * (252 rows: a windowed phasor, its FFT, the sparsify threshold; FFTW's double-precision planner) was 29% of a
 * one-take `a2m features` (perf record, after the static link). Process-wide as FFTW's wisdom is, under one lock;
 * a program's main loads and saves the file (the library never opens one by itself). A file from another build
 * (format, FFTW version, libc, CPU features that choose FFTW's codelets) or one failing any check is ignored
 * whole, and the kernels are made anew: a cached kernel is the one this build makes, to the bit.
 * File, little-endian: "A2MCQTK\0", u32 format, u32 build tag, u32 entries, the entries, u32 CRC-32 of all before.
 * Entry (one octave): f64 sample_rate, f64 fmin, u32 hop, n_bins, bins_per_octave, octave, n_fft, rows, nnz,
 * u32 row[rows + 1], u32 col[nnz], f32 re[nnz], f32 im[nnz]. */
#include <fftw3.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#ifdef __GLIBC__
#include <gnu/libc-version.h>
#endif

#include "a2m/error.h"
#include "a2m/io.h"
#include "core/reader.h"
#include "dsp/cqt_internal.h"

#define KERNELS_MAGIC       "A2MCQTK"
#define KERNELS_FORMAT      1u /* bump when build_octave_kernel's arithmetic changes */
#define KERNELS_MAX_ENTRIES 1024u
#define KERNELS_MAX_FILE    ((size_t)64 << 20)

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static cqt_kernel_set cache; /* under cache_lock */
static int cache_grew;       /* a kernel was made that the loaded file lacked */

#if defined(__has_include)
#if __has_include("cqt_kernel_source.h")
#include "cqt_kernel_source.h" /* CMake writes it: A2M_CQT_KERNEL_SOURCE, the MD5 of src/dsp/cqt.c */
#endif
#endif
#ifndef A2M_CQT_KERNEL_SOURCE
#define A2M_CQT_KERNEL_SOURCE ""
#endif

/* The build's identity: the kernel code's hash, FFTW's and libc's versions, and the CPU features FFTW's estimate
 * planner chooses codelets by. */
static uint32_t build_tag(void) {
    char id[256];
    int avx = 0, avx2 = 0, avx512 = 0, fma = 0;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    avx = __builtin_cpu_supports("avx"), avx2 = __builtin_cpu_supports("avx2");
    avx512 = __builtin_cpu_supports("avx512f"), fma = __builtin_cpu_supports("fma");
#endif
    const char *libc = "";
#ifdef __GLIBC__
    libc = gnu_get_libc_version();
#endif
    snprintf(id, sizeof id, "%s|%s|%s|%d%d%d%d", A2M_CQT_KERNEL_SOURCE, fftw_version, libc, avx != 0, avx2 != 0,
             avx512 != 0, fma != 0);
    return (uint32_t)crc32(0L, (const Bytef *)id, (uInt)strlen(id));
}

static void entry_free(cqt_kernel_entry *e) { free(e->row), free(e->col), free(e->re), free(e->im); }

void cqt_kernels_clear(cqt_kernel_set *s) {
    for (size_t i = 0; i < s->n; i++) entry_free(&s->e[i]);
    free(s->e);
    memset(s, 0, sizeof *s);
}

static float rd_f32(a2m_reader *r) {
    uint32_t u = a2m_rd_u32le(r);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static double rd_f64(a2m_reader *r) {
    uint64_t u = a2m_rd_u64le(r);
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

/* One entry: its header in range, then row starts, columns and finite values; A2M_OK or the first failure. */
static int parse_entry(a2m_reader *r, cqt_kernel_entry *e) {
    e->sample_rate = rd_f64(r), e->fmin = rd_f64(r);
    e->hop = (int)a2m_rd_u32le(r), e->n_bins = (int)a2m_rd_u32le(r), e->bpo = (int)a2m_rd_u32le(r);
    e->octave = (int)a2m_rd_u32le(r), e->n_fft = (int)a2m_rd_u32le(r), e->rows = (int)a2m_rd_u32le(r);
    uint32_t nnz = a2m_rd_u32le(r);
    if (r->failed || !(e->sample_rate > 0) || !isfinite(e->sample_rate) || !(e->fmin > 0) || !isfinite(e->fmin) ||
        e->hop <= 0 || e->hop > (1 << 20) || e->n_bins < 2 || e->n_bins > 4096 || e->bpo <= 0 || e->bpo > 512 ||
        e->octave < 0 || e->octave >= (e->n_bins + e->bpo - 1) / e->bpo || e->n_fft < 2 || e->n_fft > (1 << 22) ||
        (e->n_fft & (e->n_fft - 1)) || e->rows <= 0 || e->rows > 512 ||
        (uint64_t)nnz > (uint64_t)e->rows * (uint64_t)(e->n_fft / 2 + 1) ||
        a2m_reader_left(r) / 4 < (size_t)e->rows + 1 + 3 * (size_t)nnz)
        return A2M_ERR_FORMAT;
    e->nnz = (int)nnz;
    size_t keep = nnz ? nnz : 1;
    e->row = malloc(((size_t)e->rows + 1) * sizeof *e->row), e->col = malloc(keep * sizeof *e->col);
    e->re = malloc(keep * sizeof *e->re), e->im = malloc(keep * sizeof *e->im);
    if (!e->row || !e->col || !e->re || !e->im) return A2M_ERR_NOMEM;
    for (int k = 0; k <= e->rows; k++) {
        uint32_t v = a2m_rd_u32le(r);
        if (v > nnz || (k == 0 && v != 0) || (k > 0 && (int)v < e->row[k - 1])) return A2M_ERR_FORMAT;
        e->row[k] = (int)v;
    }
    if (e->row[e->rows] != e->nnz) return A2M_ERR_FORMAT;
    for (uint32_t j = 0; j < nnz; j++) {
        uint32_t c = a2m_rd_u32le(r);
        if (c > (uint32_t)(e->n_fft / 2)) return A2M_ERR_FORMAT;
        e->col[j] = (int)c;
    }
    for (uint32_t j = 0; j < nnz; j++) e->re[j] = rd_f32(r);
    for (uint32_t j = 0; j < nnz; j++) e->im[j] = rd_f32(r);
    for (uint32_t j = 0; j < nnz; j++)
        if (!isfinite(e->re[j]) || !isfinite(e->im[j])) return A2M_ERR_FORMAT;
    return r->failed ? A2M_ERR_FORMAT : A2M_OK;
}

/* The kernels in a file's body (the bytes before its checksum; any bytes: tests/fuzz/fuzz_cqt_kernels.c) and its
 * build tag; on failure out is empty and the error names `name`. */
int cqt_kernels_parse(const uint8_t *buf, size_t len, const char *name, uint32_t *tag, cqt_kernel_set *out) {
    memset(out, 0, sizeof *out);
    a2m_reader r = a2m_reader_make(buf, len);
    const uint8_t *magic = a2m_rd_bytes(&r, 8);
    uint32_t format = a2m_rd_u32le(&r), n;
    *tag = a2m_rd_u32le(&r), n = a2m_rd_u32le(&r);
    if (!magic || memcmp(magic, KERNELS_MAGIC, 8) != 0 || format != KERNELS_FORMAT || n > KERNELS_MAX_ENTRIES)
        return a2m_error(A2M_ERR_FORMAT, "%s: not an a2m CQT kernel file of this format", name);
    out->e = calloc(n ? n : 1, sizeof *out->e);
    int rc = out->e ? A2M_OK : A2M_ERR_NOMEM;
    for (uint32_t i = 0; i < n && !rc; i++, out->n++) rc = parse_entry(&r, &out->e[i]);
    if (!rc && a2m_reader_left(&r) != 0) rc = A2M_ERR_FORMAT;
    if (rc) {
        cqt_kernels_clear(out);
        return rc == A2M_ERR_NOMEM ? a2m_error(rc, "%s: out of memory", name)
                                   : a2m_error(rc, "%s: a CQT kernel entry is malformed", name);
    }
    out->cap = n;
    return A2M_OK;
}

/* A file: its checksum, then its body and build tag. */
static int load_file(const uint8_t *buf, size_t len, const char *name, cqt_kernel_set *set) {
    memset(set, 0, sizeof *set);
    if (len < 4 ||
        (uint32_t)crc32(0L, buf, (uInt)(len - 4)) !=
            (buf[len - 4] | (uint32_t)buf[len - 3] << 8 | (uint32_t)buf[len - 2] << 16 | (uint32_t)buf[len - 1] << 24))
        return a2m_error(A2M_ERR_FORMAT, "%s: CQT kernels fail their checksum", name);
    uint32_t tag;
    int rc = cqt_kernels_parse(buf, len - 4, name, &tag, set);
    if (!rc && tag != build_tag()) {
        cqt_kernels_clear(set);
        rc = a2m_error(A2M_ERR_FORMAT, "%s: CQT kernels of another build", name);
    }
    return rc;
}

int a2m_cqt_kernels_load(const char *path) {
    uint8_t *buf = NULL;
    size_t len = 0;
    cqt_kernel_set set;
    int rc = a2m_read_file(path, &buf, &len, KERNELS_MAX_FILE);
    if (!rc) rc = load_file(buf, len, path, &set);
    free(buf);
    if (rc) return rc;
    pthread_mutex_lock(&cache_lock);
    cqt_kernels_clear(&cache);
    cache = set, cache_grew = 0;
    pthread_mutex_unlock(&cache_lock);
    return A2M_OK;
}

int a2m_cqt_kernels_new(void) {
    pthread_mutex_lock(&cache_lock);
    int grew = cache_grew;
    pthread_mutex_unlock(&cache_lock);
    return grew;
}

static uint8_t *put_u32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) *p++ = (uint8_t)(v >> (8 * i));
    return p;
}

static uint8_t *put_u64(uint8_t *p, uint64_t v) { return put_u32(put_u32(p, (uint32_t)v), (uint32_t)(v >> 32)); }

static uint8_t *put_entry(uint8_t *p, const cqt_kernel_entry *e) {
    uint64_t u;
    memcpy(&u, &e->sample_rate, 8), p = put_u64(p, u);
    memcpy(&u, &e->fmin, 8), p = put_u64(p, u);
    int head[] = {e->hop, e->n_bins, e->bpo, e->octave, e->n_fft, e->rows, e->nnz};
    for (int i = 0; i < 7; i++) p = put_u32(p, (uint32_t)head[i]);
    for (int k = 0; k <= e->rows; k++) p = put_u32(p, (uint32_t)e->row[k]);
    for (int j = 0; j < e->nnz; j++) p = put_u32(p, (uint32_t)e->col[j]);
    for (int j = 0; j < 2 * e->nnz; j++) {
        uint32_t v;
        memcpy(&v, j < e->nnz ? &e->re[j] : &e->im[j - e->nnz], 4);
        p = put_u32(p, v);
    }
    return p;
}

/* The file's bytes of every cached kernel (under cache_lock). */
static uint8_t *serialise(size_t *len) {
    size_t n = 8 + 12 + 4;
    for (size_t i = 0; i < cache.n; i++) n += 44 + 4 * ((size_t)cache.e[i].rows + 1 + 3 * (size_t)cache.e[i].nnz);
    uint8_t *buf = malloc(n), *p = buf;
    if (!buf) return NULL;
    memcpy(p, KERNELS_MAGIC, 8), p += 8;
    p = put_u32(put_u32(put_u32(p, KERNELS_FORMAT), build_tag()), (uint32_t)cache.n);
    for (size_t i = 0; i < cache.n; i++) p = put_entry(p, &cache.e[i]);
    put_u32(p, (uint32_t)crc32(0L, buf, (uInt)(n - 4)));
    *len = n;
    return buf;
}

/* Writes the kernels atomically (a temporary file renamed over path). */
int a2m_cqt_kernels_save(const char *path) {
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return a2m_error(A2M_ERR_ARG, "%s: path too long", path);
    size_t len = 0;
    pthread_mutex_lock(&cache_lock);
    uint8_t *buf = serialise(&len);
    if (buf) cache_grew = 0;
    pthread_mutex_unlock(&cache_lock);
    if (!buf) return a2m_error(A2M_ERR_NOMEM, "%s: out of memory", path);
    FILE *f = fopen(tmp, "wb");
    int ok = f && fwrite(buf, 1, len, f) == len;
    if (f && fclose(f) != 0) ok = 0;
    free(buf);
    if (!ok || rename(tmp, path) != 0) {
        remove(tmp);
        return a2m_error(A2M_ERR_IO, "%s: cannot write CQT kernels", path);
    }
    return A2M_OK;
}

static int same_key(const cqt_kernel_entry *e, a2m_cqt_params p, int octave) {
    return e->sample_rate == p.sample_rate && e->fmin == p.fmin && e->hop == p.hop && e->n_bins == p.n_bins &&
           e->bpo == p.bins_per_octave && e->octave == octave;
}

/* Octave `octave` of p's kernels into o (row, col, kre, kim, n_fft) when cached with o's rows and the n_fft this
 * build computes: *found 1; else *found 0 and o untouched. A2M_ERR_NOMEM leaves o's arrays for a2m_cqt_del. */
int cqt_kernels_get(a2m_cqt_params p, int octave, int n_fft, cqt_octave *o, int *found) {
    *found = 0;
    int rc = A2M_OK;
    pthread_mutex_lock(&cache_lock);
    for (size_t i = 0; i < cache.n; i++) {
        const cqt_kernel_entry *e = &cache.e[i];
        if (!same_key(e, p, octave) || e->rows != o->n_bins || e->n_fft != n_fft) continue;
        size_t keep = (size_t)(e->nnz ? e->nnz : 1);
        o->row = malloc(((size_t)e->rows + 1) * sizeof *o->row), o->col = malloc(keep * sizeof *o->col);
        o->kre = malloc(keep * sizeof *o->kre), o->kim = malloc(keep * sizeof *o->kim);
        if (!o->row || !o->col || !o->kre || !o->kim) {
            rc = A2M_ERR_NOMEM;
            break;
        }
        memcpy(o->row, e->row, ((size_t)e->rows + 1) * sizeof *o->row);
        memcpy(o->col, e->col, (size_t)e->nnz * sizeof *o->col);
        memcpy(o->kre, e->re, (size_t)e->nnz * sizeof *o->kre);
        memcpy(o->kim, e->im, (size_t)e->nnz * sizeof *o->kim);
        o->n_fft = n_fft, *found = 1;
        break;
    }
    pthread_mutex_unlock(&cache_lock);
    return rc;
}

/* Keeps a copy of octave `octave`'s freshly made kernels (before prepare_front_end shifts its columns); without
 * memory it keeps nothing (a cache). */
void cqt_kernels_put(a2m_cqt_params p, int octave, const cqt_octave *o) {
    int nnz = o->row[o->n_bins];
    size_t keep = (size_t)(nnz ? nnz : 1);
    cqt_kernel_entry e = {p.sample_rate,
                          p.fmin,
                          p.hop,
                          p.n_bins,
                          p.bins_per_octave,
                          octave,
                          o->n_fft,
                          o->n_bins,
                          nnz,
                          malloc(((size_t)o->n_bins + 1) * sizeof *e.row),
                          malloc(keep * sizeof *e.col),
                          malloc(keep * sizeof *e.re),
                          malloc(keep * sizeof *e.im)};
    if (!e.row || !e.col || !e.re || !e.im) {
        entry_free(&e);
        return;
    }
    memcpy(e.row, o->row, ((size_t)o->n_bins + 1) * sizeof *e.row);
    memcpy(e.col, o->col, (size_t)nnz * sizeof *e.col);
    memcpy(e.re, o->kre, (size_t)nnz * sizeof *e.re);
    memcpy(e.im, o->kim, (size_t)nnz * sizeof *e.im);
    pthread_mutex_lock(&cache_lock);
    size_t at = 0; /* an entry of the same key (not used: another n_fft or rows) is replaced */
    while (at < cache.n && !same_key(&cache.e[at], p, octave)) at++;
    if (at == cache.n && cache.n < KERNELS_MAX_ENTRIES && cache.n == cache.cap) {
        size_t cap = cache.cap ? 2 * cache.cap : 16;
        cqt_kernel_entry *g = realloc(cache.e, cap * sizeof *g);
        if (g) cache.e = g, cache.cap = cap;
    }
    if (at < cache.n) entry_free(&cache.e[at]), cache.e[at] = e, cache_grew = 1;
    else if (at < cache.cap) cache.e[cache.n++] = e, cache_grew = 1;
    else entry_free(&e);
    pthread_mutex_unlock(&cache_lock);
}
