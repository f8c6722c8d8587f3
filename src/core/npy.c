/* numpy .npy reader/writer. The header is an ASCII Python dict literal; we
 * accept exactly the keys numpy writes ('descr', 'fortran_order', 'shape')
 * and check that the data length matches the shape before touching it. */
#include "a2m/error.h"
#include "core/fileio.h"
#include "a2m/io.h"
#include "core/npy_view.h"
#include "core/reader.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#define NPY_MAX_FILE ((size_t)8 << 30)

static const struct {
    const char *descr;
    a2m_dtype t;
    size_t size;
} dtypes[] = {
    {"<f4", A2M_F32, 4}, {"<f8", A2M_F64, 8}, {"<i8", A2M_I64, 8}, {"<i4", A2M_I32, 4},
    {"|u1", A2M_U8, 1},  {"|b1", A2M_U8, 1},  {"<i2", A2M_I16, 2},
};

size_t a2m_dtype_size(a2m_dtype t) {
    switch (t) {
    case A2M_F32: return 4;
    case A2M_F64: return 8;
    case A2M_I64: return 8;
    case A2M_I32: return 4;
    case A2M_U8: return 1;
    case A2M_I16: return 2;
    }
    return 0;
}

static const char *dtype_descr(a2m_dtype t) {
    switch (t) {
    case A2M_F32: return "<f4";
    case A2M_F64: return "<f8";
    case A2M_I64: return "<i8";
    case A2M_I32: return "<i4";
    case A2M_U8: return "|u1";
    case A2M_I16: return "<i2";
    }
    return NULL;
}

size_t a2m_array_count(const a2m_array *a) {
    size_t n = 1;
    for (int i = 0; i < a->ndim; i++) n *= a->shape[i];
    return n;
}

void a2m_array_free(a2m_array *a) {
    if (!a) return;
    free(a->data);
    a->data = NULL;
    a->ndim = 0;
}

/* Finds 'key': in the header dict and returns a pointer just past the colon. */
static const char *find_key(const char *h, size_t n, const char *key) {
    size_t k = strlen(key);
    for (size_t i = 0; i + k + 2 < n; i++) {
        if ((h[i] == '\'' || h[i] == '"') && memcmp(h + i + 1, key, k) == 0 && h[i + 1 + k] == h[i]) {
            const char *p = h + i + k + 2;
            while (p < h + n && isspace((unsigned char)*p)) p++;
            if (p < h + n && *p == ':') return p + 1;
            return NULL;
        }
    }
    return NULL;
}

/* Fortran-order elements (the first index fastest) into C order (the last index fastest). */
static void from_fortran(const uint8_t *src, const size_t *shape, int ndim, size_t esize, void *dst) {
    size_t idx[A2M_NPY_MAX_DIMS] = {0}, stride[A2M_NPY_MAX_DIMS], count = 1;
    for (int k = 0; k < ndim; k++) stride[k] = k ? stride[k - 1] * shape[k - 1] : 1, count *= shape[k];
    uint8_t *d = dst;
    for (size_t i = 0; i < count; i++) {
        size_t at = 0;
        for (int k = 0; k < ndim; k++) at += idx[k] * stride[k];
        memcpy(d + i * esize, src + at * esize, esize);
        for (int k = ndim - 1; k >= 0 && ++idx[k] == shape[k]; k--) idx[k] = 0;
    }
}

/* own: buf itself (malloc'd), handed to out->data with the data moved to its front (C order), else copied; view
 * (own NULL): no data taken, *view the data's offset in buf (C order only) */
static int parse_npy(const uint8_t *buf, size_t len, const char *name, a2m_array *out, uint8_t *own, size_t *view) {
    memset(out, 0, sizeof *out);
    a2m_reader r = a2m_reader_make(buf, len);
    const uint8_t *magic = a2m_rd_bytes(&r, 6);
    if (!magic || memcmp(magic, "\x93NUMPY", 6) != 0) return a2m_error(A2M_ERR_FORMAT, "%s: not a .npy file", name);
    uint8_t major = a2m_rd_u8(&r);
    (void)a2m_rd_u8(&r);
    size_t hlen;
    if (major == 1) hlen = a2m_rd_u16le(&r);
    else if (major == 2 || major == 3) hlen = a2m_rd_u32le(&r);
    else return a2m_error(A2M_ERR_FORMAT, "%s: unsupported .npy version %u", name, major);
    const char *h = (const char *)a2m_rd_bytes(&r, hlen);
    if (!h) return a2m_error(A2M_ERR_FORMAT, "%s: truncated .npy header", name);

    const char *p = find_key(h, hlen, "descr");
    const char *end = h + hlen;
    if (!p) return a2m_error(A2M_ERR_FORMAT, "%s: .npy header has no descr", name);
    while (p < end && isspace((unsigned char)*p)) p++;
    if (p + 5 > end || (*p != '\'' && *p != '"')) return a2m_error(A2M_ERR_FORMAT, "%s: bad .npy descr", name);
    int found = -1;
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
        if (memcmp(p + 1, dtypes[i].descr, 3) == 0 && p[4] == p[0]) found = (int)i;
    if (found < 0) return a2m_error(A2M_ERR_UNSUPPORTED, "%s: unsupported .npy dtype %.5s", name, p);

    p = find_key(h, hlen, "fortran_order");
    if (!p) return a2m_error(A2M_ERR_FORMAT, "%s: .npy header has no fortran_order", name);
    while (p < end && isspace((unsigned char)*p)) p++;
    int fortran = p + 4 <= end && memcmp(p, "True", 4) == 0; /* numpy saves a transposed view so */

    p = find_key(h, hlen, "shape");
    if (!p) return a2m_error(A2M_ERR_FORMAT, "%s: .npy header has no shape", name);
    while (p < end && isspace((unsigned char)*p)) p++;
    if (p >= end || *p != '(') return a2m_error(A2M_ERR_FORMAT, "%s: bad .npy shape", name);
    p++;
    int ndim = 0;
    size_t count = 1;
    size_t esize = dtypes[found].size;
    for (;;) {
        while (p < end && (isspace((unsigned char)*p) || *p == ',')) p++;
        if (p >= end) return a2m_error(A2M_ERR_FORMAT, "%s: bad .npy shape", name);
        if (*p == ')') break;
        if (!isdigit((unsigned char)*p)) return a2m_error(A2M_ERR_FORMAT, "%s: bad .npy shape", name);
        size_t v = 0;
        while (p < end && isdigit((unsigned char)*p)) {
            if (v > (SIZE_MAX - 9) / 10) return a2m_error(A2M_ERR_FORMAT, "%s: .npy shape too large", name);
            v = v * 10 + (size_t)(*p - '0');
            p++;
        }
        if (ndim == A2M_NPY_MAX_DIMS) return a2m_error(A2M_ERR_UNSUPPORTED, "%s: too many dimensions", name);
        if (v != 0 && count > NPY_MAX_FILE / v) return a2m_error(A2M_ERR_FORMAT, "%s: .npy shape too large", name);
        count *= v;
        out->shape[ndim++] = v;
    }
    if (count > NPY_MAX_FILE / esize) return a2m_error(A2M_ERR_FORMAT, "%s: .npy shape too large", name);
    size_t nbytes = count * esize;
    if (a2m_reader_left(&r) < nbytes)
        return a2m_error(A2M_ERR_FORMAT, "%s: truncated .npy data (%zu of %zu bytes)", name, a2m_reader_left(&r),
                         nbytes);
    out->ndim = ndim;
    out->dtype = dtypes[found].t;
    if (view) {
        *view = r.pos;
        return fortran && ndim > 1 ? a2m_error(A2M_ERR_UNSUPPORTED, "%s: Fortran order", name) : A2M_OK;
    }
    if (own && !(fortran && ndim > 1)) { /* realloc only shrinks: its failure keeps the larger block */
        memmove(own, own + r.pos, nbytes);
        uint8_t *shrunk = realloc(own, nbytes ? nbytes : 1);
        out->data = shrunk ? shrunk : own;
        return A2M_OK;
    }
    out->data = malloc(nbytes ? nbytes : 1);
    if (!out->data) return a2m_error(A2M_ERR_NOMEM, "%s: out of memory", name);
    if (fortran && ndim > 1) from_fortran(buf + r.pos, out->shape, ndim, esize, out->data);
    else memcpy(out->data, buf + r.pos, nbytes);
    free(own);
    return A2M_OK;
}

int a2m_npy_parse(const uint8_t *buf, size_t len, const char *name, a2m_array *out) {
    return parse_npy(buf, len, name, out, NULL, NULL);
}

int a2m_npy_view(const uint8_t *buf, size_t len, const char *name, a2m_array *out, size_t *offset) {
    return parse_npy(buf, len, name, out, NULL, offset);
}

int a2m_npy_parse_take(uint8_t *buf, size_t len, const char *name, a2m_array *out) {
    int rc = parse_npy(buf, len, name, out, buf, NULL);
    if (rc) free(buf);
    return rc;
}

/* a2m_npy_parse as an a2m_parse_fn */
static int npy_parse(const uint8_t *b, size_t n, const char *name, void *out) { return a2m_npy_parse(b, n, name, out); }

int a2m_npy_load(const char *path, a2m_array *out) {
    memset(out, 0, sizeof *out);
    return a2m_parse_file(path, NPY_MAX_FILE, npy_parse, out);
}

int a2m_npy_load_f32(const char *path, a2m_array *out) {
    int rc = a2m_npy_load(path, out);
    if (rc || out->dtype == A2M_F32) return rc;
    size_t n = a2m_array_count(out);
    float *f = malloc(n ? n * sizeof(float) : 1);
    if (!f) {
        a2m_array_free(out);
        return a2m_error(A2M_ERR_NOMEM, "%s: out of memory", path);
    }
    for (size_t i = 0; i < n; i++) {
        switch (out->dtype) {
        case A2M_F64: f[i] = (float)((double *)out->data)[i]; break;
        case A2M_I64: f[i] = (float)((int64_t *)out->data)[i]; break;
        case A2M_I32: f[i] = (float)((int32_t *)out->data)[i]; break;
        case A2M_I16: f[i] = (float)((int16_t *)out->data)[i]; break;
        case A2M_U8: f[i] = (float)((uint8_t *)out->data)[i]; break;
        case A2M_F32: break;
        }
    }
    free(out->data);
    out->data = f;
    out->dtype = A2M_F32;
    return A2M_OK;
}

/* The header and the data in one writev (written around stdio, which holds nothing): through stdio a take's
 * features (660 KB) were three writes (4096, 663552 and 3808 bytes, strace). Returns 0 or the errno. */
static int write_all(int fd, struct iovec *iov, int n) {
    while (n > 0) {
        ssize_t w = writev(fd, iov, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return w < 0 ? errno : EIO;
        for (; n > 0 && (size_t)w >= iov->iov_len; iov++, n--) w -= (ssize_t)iov->iov_len;
        if (n > 0) iov->iov_base = (char *)iov->iov_base + w, iov->iov_len -= (size_t)w;
    }
    return 0;
}

int a2m_npy_save(const char *path, a2m_dtype dtype, int ndim, const size_t *shape, const void *data) {
    if (ndim < 0 || ndim > A2M_NPY_MAX_DIMS || !dtype_descr(dtype))
        return a2m_error(A2M_ERR_ARG, "%s: bad array description", path);
    char header[512];
    int n = snprintf(header, sizeof header, "{'descr': '%s', 'fortran_order': False, 'shape': (", dtype_descr(dtype));
    size_t count = 1;
    for (int i = 0; i < ndim; i++) {
        n +=
            snprintf(header + n, sizeof header - (size_t)n, "%zu%s", shape[i], (ndim == 1 || i + 1 < ndim) ? ", " : "");
        count *= shape[i];
    }
    if (ndim == 1) n -= 1; /* numpy writes (5,) */
    n += snprintf(header + n, sizeof header - (size_t)n, "), }");
    /* pad with spaces so magic(6)+version(2)+len(2)+header+'\n' is a multiple of 64 */
    size_t total = 10 + (size_t)n + 1;
    size_t pad = (64 - total % 64) % 64;
    uint16_t hl = (uint16_t)((size_t)n + pad + 1);
    uint8_t head[10 + sizeof header + 64] = {
        0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (uint8_t)(hl & 0xff), (uint8_t)(hl >> 8)};
    memcpy(head + 10, header, (size_t)n);
    memset(head + 10 + n, ' ', pad);
    head[total + pad - 1] = '\n';
    a2m_atomic_file f;
    int rc = a2m_atomic_open(&f, path, 1);
    if (rc) return rc;
    struct iovec iov[2] = {{head, total + pad}, {(void *)(uintptr_t)data, count * a2m_dtype_size(dtype)}};
    int e = write_all(fileno(f.fp), iov, 2);
    if (e) {
        a2m_atomic_abort(&f);
        return a2m_error(A2M_ERR_IO, "%s: write failed (%s)", path, strerror(e));
    }
    return a2m_atomic_commit(&f);
}
