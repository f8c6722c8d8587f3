/* Core: error codes, atomic output, .npy round trips and hostile .npy bytes. */
#include <dirent.h>
#include <float.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "a2m/error.h"
#include "a2m/io.h"
#include "check.h"
#include "core/finite.h"
#include "core/grow.h"

static void test_errors(void) {
    CHECK(strcmp(a2m_strerror(A2M_OK), "ok") == 0, "strerror ok");
    CHECK(strcmp(a2m_strerror(9999), "unknown error") == 0, "strerror unknown");
    /* every code has its own message (a code added without one would print "(null)" or repeat another's) */
    for (int e = 0; e < A2M_ERR_COUNT_; e++) {
        const char *m = a2m_strerror(e);
        CHECK(m && *m && strcmp(m, "unknown error") != 0, "code %d has a message", e);
        for (int f = 0; m && f < e; f++) CHECK(strcmp(m, a2m_strerror(f)) != 0, "codes %d and %d share '%s'", f, e, m);
    }
    CHECK(strcmp(a2m_strerror(A2M_ERR_COUNT_), "unknown error") == 0 && strcmp(a2m_strerror(-1), "unknown error") == 0,
          "codes outside the table");
    int rc = a2m_error(A2M_ERR_IO, "%s: cannot open", "x.wav");
    CHECK(rc == A2M_ERR_IO && strcmp(a2m_errmsg(), "x.wav: cannot open") == 0, "detail '%s'", a2m_errmsg());
}

static void test_npy_roundtrip(void) {
    char path[] = "/tmp/a2m_test_core_XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    float v[6] = {1, 2, 3, 4.5f, -1e-3f, 1e30f};
    size_t shape[2] = {2, 3};
    CHECK(a2m_npy_save(path, A2M_F32, 2, shape, v) == A2M_OK, "save: %s", a2m_errmsg());
    a2m_array a;
    CHECK(a2m_npy_load(path, &a) == A2M_OK, "load: %s", a2m_errmsg());
    CHECK(a.dtype == A2M_F32 && a.ndim == 2 && a.shape[0] == 2 && a.shape[1] == 3, "shape");
    CHECK(a.data && memcmp(a.data, v, sizeof v) == 0, "values");
    a2m_array_free(&a);

    int64_t l[5] = {0, 1, 2, 3, -7};
    size_t s1 = 5;
    CHECK(a2m_npy_save(path, A2M_I64, 1, &s1, l) == A2M_OK, "save i64");
    CHECK(a2m_npy_load_f32(path, &a) == A2M_OK && a.dtype == A2M_F32 && a.shape[0] == 5, "load i64 as f32");
    CHECK(a.data && ((float *)a.data)[4] == -7.0f, "i64 -> f32 value");
    a2m_array_free(&a);

    /* numpy must load what we write, when numpy is installed */
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"import numpy as n; a=n.load('%s'); assert a.dtype==n.int64 and a.shape==(5,) and "
             "a[4]==-7\" 2>/dev/null",
             path);
    if (system("/usr/bin/python3 -c 'import numpy' 2>/dev/null") == 0) CHECK(system(cmd) == 0, "numpy loads our .npy");
    unlink(path);
}

static void test_npy_hostile(void) {
    a2m_array a;
    const uint8_t junk[] = "not a numpy file at all";
    CHECK(a2m_npy_parse(junk, sizeof junk, "junk", &a) == A2M_ERR_FORMAT, "junk rejected");
    /* valid header claiming more data than present */
    const char hdr[] = "\x93NUMPY\x01\x00\x36\x00{'descr': '<f4', 'fortran_order': False, 'shape': (1000, 1000), }\n";
    CHECK(a2m_npy_parse((const uint8_t *)hdr, sizeof hdr - 1, "big", &a) == A2M_ERR_FORMAT,
          "truncated data rejected: %s", a2m_errmsg());
    const char huge[] =
        "\x93NUMPY\x01\x00\x46\x00{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999, 9), }\n";
    CHECK(a2m_npy_parse((const uint8_t *)huge, sizeof huge - 1, "huge", &a) != A2M_OK, "overflowing shape rejected");
    /* header length beyond the buffer */
    const uint8_t shorth[] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 0xff, 0xff, '{'};
    CHECK(a2m_npy_parse(shorth, sizeof shorth, "short", &a) == A2M_ERR_FORMAT, "short header rejected");
    CHECK(a2m_npy_load("/nonexistent/x.npy", &a) == A2M_ERR_IO, "missing file");
    CHECK(strstr(a2m_errmsg(), "/nonexistent/x.npy") != NULL, "message names file: %s", a2m_errmsg());
    CHECK(a2m_npy_load("/tmp", &a) == A2M_ERR_IO, "folder rejected");
}

/* numpy.save of a transposed view writes Fortran order: read back in C order. */
static void test_npy_fortran(void) {
    /* data at 80 */
    char buf[128] = "\x93NUMPY\x01\x00\x46\x00{'descr': '<i2', 'fortran_order': True, 'shape': (2, 3), }           \n";
    const int16_t col_major[6] = {0, 3, 1, 4, 2, 5}; /* [[0 1 2] [3 4 5]] */
    memcpy(buf + 80, col_major, sizeof col_major);
    a2m_array a;
    for (int take = 0; take < 2; take++) { /* a2m_npy_parse, then a2m_npy_parse_take of a malloc'd copy */
        uint8_t *own = malloc(sizeof buf);
        memcpy(own, buf, sizeof buf);
        int rc = take ? a2m_npy_parse_take(own, 80 + sizeof col_major, "f", &a)
                      : a2m_npy_parse((const uint8_t *)buf, 80 + sizeof col_major, "f", &a);
        if (!take) free(own);
        CHECK(rc == A2M_OK, "%s", a2m_errmsg());
        const int16_t *v = a.data;
        CHECK(a.ndim == 2 && a.shape[0] == 2 && a.shape[1] == 3, "shape");
        for (int i = 0; i < 6; i++) CHECK(v[i] == i, "element %d is %d", i, v[i]);
        a2m_array_free(&a);
    }
    /* C order in place: the data moved to the front of the taken buffer; a bad header frees it */
    for (size_t i = 10; i + 6 < 80; i++) /* the same header length (the header holds NULs: no strstr) */
        if (!memcmp(buf + i, "True, ", 6)) memcpy(buf + i, "False,", 6);
    uint8_t *own = malloc(sizeof buf);
    memcpy(own, buf, sizeof buf);
    CHECK(a2m_npy_parse_take(own, 80 + sizeof col_major, "c", &a) == A2M_OK, "%s", a2m_errmsg());
    CHECK(a.ndim == 2 && memcmp(a.data, col_major, sizeof col_major) == 0, "C order taken in place");
    a2m_array_free(&a);
    own = malloc(8);
    memcpy(own, "notnumpy", 8);
    CHECK(a2m_npy_parse_take(own, 8, "bad", &a) == A2M_ERR_FORMAT, "bad bytes refused (and freed: ASan)");
}

static void test_atomic(void) {
    const char *p = test_tmp("atomic.txt");
    unlink(p);
    a2m_atomic_file f;
    CHECK(a2m_atomic_open(&f, p, 0) == A2M_OK, "open");
    fputs("hello", f.fp);
    CHECK(!a2m_path_exists(p), "target absent before commit");
    CHECK(a2m_atomic_commit(&f) == A2M_OK && a2m_path_exists(p), "commit");
    CHECK(a2m_atomic_open(&f, p, 0) == A2M_ERR_EXISTS, "no overwrite without force");
    CHECK(a2m_atomic_open(&f, p, 1) == A2M_OK, "overwrite");
    fputs("partial", f.fp);
    char *tmp = strdup(f.tmp_path);
    a2m_atomic_abort(&f);
    CHECK(!a2m_path_exists(tmp), "temporary removed on abort");
    free(tmp);
    uint8_t *buf;
    size_t n;
    CHECK(a2m_read_file(p, &buf, &n, 100) == A2M_OK && n == 5 && memcmp(buf, "hello", 5) == 0, "old content kept");
    free(buf);
    unlink(p);
}

static int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    if (d) closedir(d);
    return n;
}

static int file_is(const char *path, const char *text) {
    uint8_t *buf;
    size_t n;
    if (a2m_read_file(path, &buf, &n, 100) != A2M_OK) return 0;
    int same = n == strlen(text) && memcmp(buf, text, n) == 0;
    free(buf);
    return same;
}

static int write_atomic(const char *path, const char *text) {
    a2m_atomic_file f;
    int rc = a2m_atomic_open(&f, path, 1);
    if (!rc) fputs(text, f.fp), rc = a2m_atomic_commit(&f);
    return rc;
}

/* Replacing an existing file (the names swapped, then the old one unlinked: fileio.c's replace_file) behaves as
 * rename() over it: the new content under the name, a hard link to the old file keeps the old content, a
 * symbolic link stays a link to the new content, no temporary left; a temporary folder onto a file is refused. */
static void test_replace(void) {
    char dir[256];
    snprintf(dir, sizeof dir, "%s", test_tmp("replace"));
    REQUIRE(mkdir(dir, 0777) == 0, "mkdir %s", dir);
    char p[300], hard[300], sym[300], sub[300];
    snprintf(p, sizeof p, "%s/out.npy", dir), snprintf(hard, sizeof hard, "%s/hard", dir);
    snprintf(sym, sizeof sym, "%s/link", dir), snprintf(sub, sizeof sub, "%s/sub", dir);
    CHECK(write_atomic(p, "old") == A2M_OK && link(p, hard) == 0, "first version");
    CHECK(write_atomic(p, "new!") == A2M_OK && file_is(p, "new!"), "replaced: %s", a2m_errmsg());
    CHECK(file_is(hard, "old"), "a hard link to the old file keeps it");
    CHECK(symlink(p, sym) == 0 && write_atomic(sym, "third") == A2M_OK, "through a link: %s", a2m_errmsg());
    struct stat ls;
    CHECK(lstat(sym, &ls) == 0 && S_ISLNK(ls.st_mode) && file_is(p, "third"), "the link stays a link");
    CHECK(count_entries(dir) == 3, "out.npy, hard, link and no temporary: %d entries", count_entries(dir));
    CHECK(mkdir(sub, 0777) == 0 && a2m_rename_into(sub, p) == A2M_ERR_IO && file_is(p, "third"),
          "a folder onto a file refused, the file kept");
    unlink(p), unlink(hard), unlink(sym), rmdir(sub), rmdir(dir);
}

/* a2m_grow: doubling from the first size, the contents kept; an overflowing size refused, the array kept */
static void test_grow(void) {
    int *a = NULL;
    size_t cap = 0;
    CHECK(a2m_grow(&a, &cap, 1, sizeof *a, 4) == A2M_OK && a && cap == 4, "first: cap %zu", cap);
    for (int i = 0; i < 4 && a; i++) a[i] = i;
    CHECK(a2m_grow(&a, &cap, 4, sizeof *a, 4) == A2M_OK && cap == 4, "already room");
    CHECK(a2m_grow(&a, &cap, 9, sizeof *a, 4) == A2M_OK && cap == 16 && a[3] == 3, "doubled to 16, kept: %zu", cap);
    int *kept = a;
    CHECK(a2m_grow(&a, &cap, SIZE_MAX / 2, sizeof *a, 4) == A2M_ERR_NOMEM && a == kept && cap == 16,
          "overflowing size refused, array kept");
    free(a);
}

/* The scan for samples that are NaN, infinite or beyond +-1e6: at every position (vector body and tail, first and
 * later chunks), the bound itself allowed, the next float past it and -0 / denormals not flagged wrongly. */
static void test_absurd_scan(void) {
    enum { N = 2100 };
    static float x[N];
    for (size_t i = 0; i < N; i++) x[i] = (float)(i % 7) * 1e5f - 3e5f; /* within +-1e6 */
    x[5] = 1e6f, x[6] = -1e6f, x[7] = -0.0f, x[8] = FLT_TRUE_MIN;
    CHECK(a2m_first_absurd(x, N) == N, "no absurd sample in a good signal");
    const float bad[] = {NAN, INFINITY, -INFINITY, 3e38f, -3e38f, 0}; /* [5]: set to the float after 1e6 */
    int wrong = 0;
    for (int b = 0; b < 6; b++)
        for (size_t at = 0; at < N; at += 97) {
            float keep = x[at];
            x[at] = b == 5 ? nextafterf(1e6f, 2e6f) : bad[b];
            wrong += a2m_first_absurd(x, N) != at || a2m_first_absurd(x, at) != at;
            x[at] = keep;
        }
    CHECK(wrong == 0, "each absurd sample found where it is (%d wrong)", wrong);
}

int main(void) {
    test_errors();
    test_absurd_scan();
    test_grow();
    test_npy_roundtrip();
    test_npy_hostile();
    test_npy_fortran();
    test_atomic();
    test_replace();
    return test_done("test_core");
}
