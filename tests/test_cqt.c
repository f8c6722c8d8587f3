/* CQT against librosa 0.10's values for 12 takes, plus pitch and bad-parameter checks. */
#include <stdint.h>
#include <zlib.h>

#include "a2m/audio.h"
#include "a2m/cqt.h"
#include "a2m/error.h"
#include "a2m/io.h"
#include "check.h"
#include "dsp/cqt_internal.h"
#include "test_rand.h"

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static void test_reference(const char *shared) {
    static const int takes[] = {1, 2, 3, 50, 101, 102, 150, 199, 201, 202, 250, 300};
    a2m_cqt *c;
    CHECK(a2m_cqt_new(a2m_cqt_default_params(), 64000, &c) == A2M_OK, "new: %s", a2m_errmsg());
    size_t total = 0, cap = 12 * 666 * 252;
    float *diffs = malloc(cap * sizeof *diffs);
    double sum = 0, worst = 0;
    int found = 0;
    for (size_t i = 0; i < sizeof takes / sizeof *takes; i++) {
        char wav[4096], ref[4096];
        snprintf(wav, sizeof wav, "%s/data/seed/audio/voice_%03d.wav", shared, takes[i]);
        snprintf(ref, sizeof ref, "%s/data/reference/librosa_cqt/voice_%03d.npy", shared, takes[i]);
        a2m_array r;
        if (a2m_npy_load(ref, &r)) continue;
        a2m_audio a;
        CHECK(a2m_audio_read(wav, 16000, &a) == A2M_OK, "read %s", wav);
        CHECK(a.n == 64000, "4 s take");
        CHECK(a2m_cqt_n_frames(c, a.n) == 666, "666 frames");
        float *db = malloc(666 * 252 * sizeof *db);
        CHECK(a2m_cqt_db(c, a.samples, a.n, db) == A2M_OK, "cqt: %s", a2m_errmsg());
        const float *rv = r.data;
        for (size_t j = 0; j < 666 * 252; j++) {
            float d = fabsf(db[j] - rv[j]);
            diffs[total++] = d;
            sum += d;
            if (d > worst) worst = d;
        }
        found++;
        free(db);
        a2m_audio_free(&a);
        a2m_array_free(&r);
    }
    CHECK(found == 12, "12 reference takes found (%d)", found);
    qsort(diffs, total, sizeof *diffs, cmp_float);
    double mad = sum / (double)total, p99 = diffs[(size_t)(0.99 * (double)(total - 1))];
    printf("CQT vs librosa over %d takes: mean abs diff %.4f dB, p99 %.4f dB, max %.3f dB\n", found, mad, p99, worst);
    CHECK(mad <= 0.1, "mean abs diff %.4f dB", mad);
    CHECK(p99 <= 1.0, "p99 %.4f dB", p99);
    free(diffs);
    a2m_cqt_del(c);
}

static void test_pitch(void) {
    a2m_cqt_params p = a2m_cqt_default_params();
    a2m_cqt *c;
    CHECK(a2m_cqt_new(p, 16000, &c) == A2M_OK, "new");
    float *x = malloc(16000 * sizeof *x), *db = malloc(a2m_cqt_n_frames(c, 16000) * 252 * sizeof *db);
    int bins[] = {36, 100, 150, 200, 240};
    for (size_t b = 0; b < sizeof bins / sizeof *bins; b++) {
        double f = a2m_cqt_bin_freq(p, bins[b]);
        for (int i = 0; i < 16000; i++) x[i] = (float)(0.5 * sin(2 * M_PI * f * i / 16000.0));
        a2m_cqt_db(c, x, 16000, db);
        const float *mid = db + 80 * 252;
        int arg = 0;
        for (int k = 1; k < 252; k++)
            if (mid[k] > mid[arg]) arg = k;
        CHECK(arg == bins[b], "tone at bin %d peaks at %d", bins[b], arg);
    }
    x[5] = NAN;
    CHECK(a2m_cqt_db(c, x, 16000, db) == A2M_ERR_NONFINITE, "NaN input rejected");
    CHECK(a2m_cqt_db(c, x, 16001, db) == A2M_ERR_RANGE, "input longer than prepared");
    CHECK(a2m_cqt_db(c, x, 0, db) == A2M_ERR_EMPTY, "empty input");
    free(x), free(db);
    a2m_cqt_del(c);
    a2m_cqt *bad = NULL;
    p.hop = 0;
    CHECK(a2m_cqt_new(p, 1000, &bad) == A2M_ERR_ARG && !bad, "hop 0 rejected");
    p = a2m_cqt_default_params();
    p.sample_rate = 8000; /* top bin ~4.1 kHz above Nyquist */
    CHECK(a2m_cqt_new(p, 1000, &bad) == A2M_ERR_ARG, "top bin above Nyquist rejected");
    p = a2m_cqt_default_params();
    p.sample_rate = 44100, p.hop = 256, p.n_bins = 84, p.bins_per_octave = 12;
    CHECK(a2m_cqt_new(p, 44100, &bad) == A2M_OK, "other parameters: %s", a2m_errmsg());
    a2m_cqt_del(bad);
}

/* FFTW wisdom: saved after a CQT measured its plans, loaded back, the same dB to the last bit (the plan is the
 * wisdom's); a corrupt file is refused and changes nothing. */
static void test_wisdom(void) {
    a2m_cqt_params p = a2m_cqt_default_params();
    size_t n = 16000, frames = n / 96;
    float *x = malloc(n * sizeof *x), *a = malloc(frames * 252 * sizeof *a), *b = malloc(frames * 252 * sizeof *b);
    for (size_t i = 0; i < n; i++) x[i] = (float)sin(2 * M_PI * 220 * i / 16000.0);
    a2m_cqt *c;
    CHECK(a2m_cqt_new(p, n, &c) == A2M_OK && a2m_cqt_db(c, x, n, a) == A2M_OK, "cqt");
    a2m_cqt_del(c);
    const char *path = test_tmp("wisdom");
    CHECK(a2m_fftw_wisdom_save(path) == A2M_OK && !a2m_fftw_wisdom_new(), "wisdom saved: %s", a2m_errmsg());
    CHECK(a2m_fftw_wisdom_load(path) == A2M_OK, "wisdom loaded");
    CHECK(a2m_cqt_new(p, n, &c) == A2M_OK && a2m_cqt_db(c, x, n, b) == A2M_OK, "cqt with wisdom");
    a2m_cqt_del(c);
    CHECK(!a2m_fftw_wisdom_new(), "no plan measured again");
    CHECK(memcmp(a, b, frames * 252 * sizeof *a) == 0, "the same dB to the last bit");
    /* another FFTW build: the preamble's configuration hashes differ; a truncated file: both refused, and the
     * wisdom already loaded stays whole (FFTW restores its table), so the plan is not measured again */
    char text[65536] = "";
    FILE *f = fopen(path, "rb");
    size_t len = f ? fread(text, 1, sizeof text - 1, f) : 0;
    if (f) fclose(f);
    char *hash = strstr(text, "#x");
    CHECK(len > 100 && hash, "wisdom text: %zu bytes", len);
    if (hash) {
        hash[2] = hash[2] == '1' ? '2' : '1';
        f = fopen(path, "wb");
        if (f) fwrite(text, 1, len, f), fclose(f);
        CHECK(a2m_fftw_wisdom_load(path) == A2M_ERR_IO, "wisdom of another FFTW configuration refused");
        hash[2] = hash[2] == '1' ? '2' : '1';
        f = fopen(path, "wb");
        if (f) fwrite(text, 1, len / 2, f), fclose(f);
        CHECK(a2m_fftw_wisdom_load(path) == A2M_ERR_IO, "truncated wisdom refused");
        CHECK(a2m_cqt_new(p, n, &c) == A2M_OK && !a2m_fftw_wisdom_new(), "the loaded wisdom kept its plan");
        a2m_cqt_del(c);
    }
    f = fopen(path, "w");
    if (f) fputs("(fftw-3.3.10 not really wisdom", f), fclose(f);
    CHECK(a2m_fftw_wisdom_load(path) == A2M_ERR_IO, "a corrupt wisdom file is refused");
    CHECK(a2m_fftw_wisdom_save("/nonexistent/dir/wisdom") == A2M_ERR_IO, "an unwritable path is an error");
    remove(path);
    free(x), free(a), free(b);
}

/* Writes bytes with a fresh CRC-32 in their last 4 (the kernel file's checksum). */
static void write_with_crc(const char *path, uint8_t *b, size_t len) {
    uint32_t c = (uint32_t)crc32(0L, b, (uInt)(len - 4));
    for (int i = 0; i < 4; i++) b[len - 4 + i] = (uint8_t)(c >> (8 * i));
    FILE *f = fopen(path, "wb");
    if (f) fwrite(b, 1, len, f), fclose(f);
}

/* The CQT kernel cache: the second CQT of one parameter set takes the kernels the first made (the same bits),
 * saved and loaded back none is made anew, a loaded kernel is the one used, and a damaged file, one of another
 * build, a truncated or missing one are refused whole (the kernels already loaded stay). */
static void test_kernel_cache(void) {
    a2m_cqt_params p = a2m_cqt_default_params();
    p.fmin *= 1.01; /* parameters no other test uses: the first CQT makes its kernels */
    size_t n = 16000, frames = n / 96, bytes = frames * 252 * sizeof(float);
    float *x = malloc(n * sizeof *x), *a = malloc(bytes), *b = malloc(bytes);
    for (size_t i = 0; i < n; i++) x[i] = (float)sin(2 * M_PI * 220 * i / 16000.0);
    a2m_cqt *c;
    CHECK(a2m_cqt_new(p, n, &c) == A2M_OK && a2m_cqt_db(c, x, n, a) == A2M_OK, "cqt");
    a2m_cqt_del(c);
    CHECK(a2m_cqt_kernels_new(), "kernels made");
    const char *path = test_tmp("kernels");
    CHECK(a2m_cqt_kernels_save(path) == A2M_OK && !a2m_cqt_kernels_new(), "kernels saved: %s", a2m_errmsg());
    CHECK(a2m_cqt_kernels_load(path) == A2M_OK, "kernels loaded: %s", a2m_errmsg());
    CHECK(a2m_cqt_new(p, n, &c) == A2M_OK && a2m_cqt_db(c, x, n, b) == A2M_OK, "cqt from the cache");
    a2m_cqt_del(c);
    CHECK(!a2m_cqt_kernels_new(), "no kernel made again");
    CHECK(memcmp(a, b, bytes) == 0, "the same dB to the last bit");
    uint8_t *file = NULL;
    size_t len = 0;
    CHECK(a2m_read_file(path, &file, &len, 1 << 24) == A2M_OK && len > 1000, "kernel file: %zu bytes", len);
    if (file && len > 1000) {
        /* the last float of the file is an imaginary part of the last octave's kernel: scaled, then used */
        file[len - 5] ^= 0x20;
        write_with_crc(path, file, len);
        CHECK(a2m_cqt_kernels_load(path) == A2M_OK, "a kernel changed under a valid checksum loads");
        CHECK(a2m_cqt_new(p, n, &c) == A2M_OK && a2m_cqt_db(c, x, n, b) == A2M_OK, "cqt from the changed kernels");
        a2m_cqt_del(c);
        CHECK(memcmp(a, b, bytes) != 0, "the loaded kernels are the ones used");
        file[len - 5] ^= 0x20;
        write_with_crc(path, file, len);
        CHECK(a2m_cqt_kernels_load(path) == A2M_OK, "restored");
        file[len / 2] ^= 1; /* a byte changed, the checksum not */
        FILE *f = fopen(path, "wb");
        if (f) fwrite(file, 1, len, f), fclose(f);
        CHECK(a2m_cqt_kernels_load(path) == A2M_ERR_FORMAT, "a damaged file is refused");
        file[len / 2] ^= 1;
        file[12] ^= 1; /* the build tag */
        write_with_crc(path, file, len);
        CHECK(a2m_cqt_kernels_load(path) == A2M_ERR_FORMAT, "kernels of another build refused");
        file[12] ^= 1;
        write_with_crc(path, file, len / 2);
        CHECK(a2m_cqt_kernels_load(path) == A2M_ERR_FORMAT, "a truncated file is refused");
        CHECK(a2m_cqt_new(p, n, &c) == A2M_OK && !a2m_cqt_kernels_new(), "the loaded kernels stay after refusals");
        a2m_cqt_del(c);
    }
    remove(path);
    CHECK(a2m_cqt_kernels_load(path) == A2M_ERR_IO, "a missing file: A2M_ERR_IO");
    CHECK(a2m_cqt_kernels_save("/nonexistent/dir/kernels") == A2M_ERR_IO, "an unwritable path is an error");
    free(file), free(x), free(a), free(b);
}

/* One CQT for inputs of any length (a2m_cqt_reserve): grown from 1 s to 3 s, then used for 1 s again, the same
 * bits as CQTs made for each length. The second use clears the halvers (soxr_clear) where a fresh CQT's are used
 * as soxr_create made them (cqt_halver_fresh): the same bits either way. */
static void test_reserve(void) {
    a2m_cqt_params p = a2m_cqt_default_params();
    size_t n1 = 16000, n3 = 48000;
    float *x = malloc(n3 * sizeof *x), *a = malloc(n3 / 96 * 252 * sizeof *a), *b = malloc(n3 / 96 * 252 * sizeof *b);
    for (size_t i = 0; i < n3; i++) x[i] = (float)(0.3 * sin(2 * M_PI * (110 + i * 0.01) * i / 16000.0));
    a2m_cqt *grown, *fresh;
    CHECK(a2m_cqt_new(p, n1, &grown) == A2M_OK, "new");
    CHECK(a2m_cqt_db(grown, x, n3, a) == A2M_ERR_RANGE, "longer than prepared");
    CHECK(a2m_cqt_reserve(grown, n3) == A2M_OK && a2m_cqt_db(grown, x, n3, a) == A2M_OK, "grown: %s", a2m_errmsg());
    CHECK(a2m_cqt_new(p, n3, &fresh) == A2M_OK && a2m_cqt_db(fresh, x, n3, b) == A2M_OK, "fresh 3 s");
    size_t f3 = a2m_cqt_n_frames(fresh, n3), f1 = a2m_cqt_n_frames(fresh, n1);
    CHECK(memcmp(a, b, f3 * 252 * sizeof *a) == 0, "grown CQT: the same bits as one made for 3 s");
    a2m_cqt_del(fresh);
    CHECK(a2m_cqt_reserve(grown, n1) == A2M_OK && a2m_cqt_db(grown, x, n1, a) == A2M_OK, "1 s again");
    CHECK(a2m_cqt_new(p, n1, &fresh) == A2M_OK && a2m_cqt_db(fresh, x, n1, b) == A2M_OK, "fresh 1 s");
    CHECK(memcmp(a, b, f1 * 252 * sizeof *a) == 0, "after a longer input: the same bits as one made for 1 s");
    a2m_cqt_del(fresh), a2m_cqt_del(grown);
    free(x), free(a), free(b);
}

/* The kernel rows' sparsify threshold by selection equals the sorted reference's to the bit: kernel-like rows (a
 * peak over a long tail of tiny magnitudes, as the 252 rows of the default CQT), uniform and quantised ones (ties),
 * a single non-zero, a zero row, and rows whose 1% falls exactly on a value (the reference decides those). */
static void test_sparsify_threshold(void) {
    enum { N = 257 };
    double m[N], w[N];
    int bad = 0, rows = 0;
    for (int r = 0; r < 3000; r++, rows++) {
        int kind = r % 6, n = kind == 5 ? 1 + r % N : N;
        double c = (r * 7) % N, norm = 0;
        for (int j = 0; j < n; j++) {
            double u = 0.5 * (frand() + 1.0), d = (j - c) / (1 + r % 5);
            m[j] = kind == 0   ? 1.0 / (1.0 + d * d * d * d) + 1e-9 * u /* kernel-like */
                   : kind == 1 ? u
                   : kind == 2 ? (double)(int)(u * 4) /* 4 values: many ties */
                   : kind == 3 ? (j == (int)c ? 1.0 : 0.0)
                   : kind == 4 ? (j < 1 + r % 3 ? 1.0 : (j == N - 1 ? 99.0 : 0.0)) /* 1% exactly at a value */
                               : u * u * u;
            norm += m[j];
        }
        bad += cqt_sparsify_threshold(m, n, norm, w) != cqt_sparsify_threshold_sorted(m, n, norm, w);
    }
    CHECK(bad == 0, "selection threshold differs from the sorted one in %d of %d rows", bad, rows);
    for (int j = 0; j < N; j++) m[j] = 0;
    CHECK(cqt_sparsify_threshold(m, N, 0.0, w) == 0.0, "a zero row keeps everything (threshold 0)");
}

int main(void) {
    test_sparsify_threshold();
    test_pitch();
    test_reserve();
    test_wisdom();
    test_kernel_cache();
    const char *shared = test_shared_dir();
    if (shared) test_reference(shared);
    return test_done("test_cqt");
}
