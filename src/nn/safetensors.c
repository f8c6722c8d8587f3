#include "nn/safetensors.h"

#include <stdlib.h>
#include <string.h>

#include "a2m/error.h"
#include "core/fileio.h"
#include "a2m/io.h"
#include "core/reader.h"

#define ST_MAX_HEADER ((size_t)100 << 20)
#define ST_MAX_FILE   ((size_t)4 << 30)

void st_free(st_file *f) {
    if (!f) return;
    for (size_t i = 0; i < f->n; i++) free(f->t[i].name), free(f->t[i].data);
    free(f->t);
    if (f->meta) json_decref(f->meta);
    memset(f, 0, sizeof *f);
}

static float half_to_float(uint16_t h, int bf16) {
    uint32_t bits;
    if (bf16) bits = (uint32_t)h << 16;
    else {
        uint32_t s = (uint32_t)(h >> 15) << 31, e = (h >> 10) & 0x1f, m = h & 0x3ff;
        if (e == 0 && m == 0) bits = s;
        else if (e == 0) { /* subnormal */ e = 127 - 15 + 1;
            while (!(m & 0x400)) m <<= 1, e--;
            bits = s | (e << 23) | ((m & 0x3ff) << 13);
        } else if (e == 31) bits = s | 0x7f800000u | (m << 13);
        else bits = s | ((e + 127 - 15) << 23) | (m << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/* 100 lines, over the 80 of the rule on purpose: one bounded reader walks the untrusted header from its length to
 * the last tensor's bytes, every check next to the read it guards (split, each piece would re-derive the bounds). */
int st_parse(const uint8_t *buf, size_t len, const char *name, st_file *out) {
    memset(out, 0, sizeof *out);
    a2m_reader r = a2m_reader_make(buf, len);
    uint64_t hlen = a2m_rd_u64le(&r);
    if (r.failed || hlen < 2 || hlen > ST_MAX_HEADER || hlen > a2m_reader_left(&r))
        return a2m_error(A2M_ERR_FORMAT, "%s: not a safetensors file (bad header length)", name);
    const char *htext = (const char *)a2m_rd_bytes(&r, (size_t)hlen);
    const uint8_t *data = buf + r.pos;
    size_t data_len = a2m_reader_left(&r);
    json_error_t jerr;
    json_t *root = json_loadb(htext, (size_t)hlen, JSON_REJECT_DUPLICATES, &jerr);
    if (!root || !json_is_object(root)) {
        if (root) json_decref(root);
        return a2m_error(A2M_ERR_FORMAT, "%s: safetensors header is not a JSON object", name);
    }
    size_t n = json_object_size(root);
    out->t = calloc(n ? n : 1, sizeof *out->t);
    if (!out->t) {
        json_decref(root);
        return a2m_error(A2M_ERR_NOMEM, "%s: out of memory", name);
    }
    int rc = A2M_OK;
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val) {
        if (strcmp(key, "__metadata__") == 0) {
            const char *mk;
            json_t *mv;
            if (!json_is_object(val)) rc = a2m_error(A2M_ERR_FORMAT, "%s: __metadata__ is not an object", name);
            else
                json_object_foreach(val, mk, mv) if (!json_is_string(mv)) rc =
                    a2m_error(A2M_ERR_FORMAT, "%s: metadata value of %s is not a string", name, mk);
            if (!rc) out->meta = json_incref(val);
            if (rc) break;
            continue;
        }
        json_t *dt = json_object_get(val, "dtype"), *sh = json_object_get(val, "shape"),
               *off = json_object_get(val, "data_offsets");
        if (!json_is_string(dt) || !json_is_array(sh) || !json_is_array(off) || json_array_size(off) != 2 ||
            json_array_size(sh) > ST_MAX_DIMS) {
            rc = a2m_error(A2M_ERR_FORMAT, "%s: tensor %s has a bad description", name, key);
            break;
        }
        const char *dts = json_string_value(dt);
        size_t esize = !strcmp(dts, "F32")                             ? 4
                       : !strcmp(dts, "F64")                           ? 8
                       : (!strcmp(dts, "F16") || !strcmp(dts, "BF16")) ? 2
                                                                       : 0;
        /* PyTorch's BatchNorm step counter (int64, one value): bookkeeping a2m neither needs nor keeps */
        size_t kl = strlen(key), sl = strlen("num_batches_tracked");
        int counter = !strcmp(dts, "I64") && kl >= sl && !strcmp(key + kl - sl, "num_batches_tracked");
        if (counter) {
            json_int_t b = json_integer_value(json_array_get(off, 0)), e = json_integer_value(json_array_get(off, 1));
            if (json_array_size(sh) != 0 || b < 0 || e != b + 8 || (uint64_t)e > data_len) {
                rc = a2m_error(A2M_ERR_FORMAT, "%s: tensor %s is not one int64", name, key);
                break;
            }
            continue;
        }
        if (!esize) {
            rc = a2m_error(A2M_ERR_UNSUPPORTED, "%s: tensor %s has dtype %s (F32, F64, F16, BF16 are read)", name, key,
                           dts);
            break;
        }
        st_tensor *t = &out->t[out->n];
        t->ndim = (int)json_array_size(sh);
        size_t count = 1;
        for (int d = 0; d < t->ndim && !rc; d++) {
            json_t *v = json_array_get(sh, (size_t)d);
            json_int_t s = json_integer_value(v);
            if (!json_is_integer(v) || s < 0 || (s > 0 && count > (ST_MAX_FILE / 8) / (size_t)s))
                rc = a2m_error(A2M_ERR_FORMAT, "%s: tensor %s has a bad shape", name, key);
            t->shape[d] = s;
            count *= (size_t)s;
        }
        if (rc) break;
        json_int_t b = json_integer_value(json_array_get(off, 0)), e = json_integer_value(json_array_get(off, 1));
        if (!json_is_integer(json_array_get(off, 0)) || !json_is_integer(json_array_get(off, 1)) || b < 0 || e < b ||
            (uint64_t)e > data_len || (size_t)(e - b) != count * esize) {
            rc = a2m_error(A2M_ERR_FORMAT, "%s: tensor %s: data offsets do not match its shape or the file", name, key);
            break;
        }
        t->name = strdup(key);
        t->count = count;
        t->data = malloc((count ? count : 1) * sizeof *t->data);
        out->n++;
        if (!t->name || !t->data) {
            rc = a2m_error(A2M_ERR_NOMEM, "%s: out of memory", name);
            break;
        }
        const uint8_t *src = data + b;
        for (size_t i = 0; i < count; i++) {
            if (esize == 4) memcpy(&t->data[i], src + 4 * i, 4);
            else if (esize == 8) {
                double v;
                memcpy(&v, src + 8 * i, 8);
                t->data[i] = (float)v;
            } else {
                uint16_t h = (uint16_t)(src[2 * i] | (src[2 * i + 1] << 8));
                t->data[i] = half_to_float(h, dts[0] == 'B');
            }
        }
    }
    json_decref(root);
    if (rc) st_free(out);
    return rc;
}

/* st_parse as an a2m_parse_fn */
static int st_parse_v(const uint8_t *b, size_t n, const char *name, void *out) { return st_parse(b, n, name, out); }

int st_read(const char *path, st_file *out) {
    memset(out, 0, sizeof *out);
    return a2m_parse_file(path, ST_MAX_FILE, st_parse_v, out);
}

const st_tensor *st_find(const st_file *f, const char *name) {
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->t[i].name, name) == 0) return &f->t[i];
    return NULL;
}

const char *st_meta(const st_file *f, const char *key) {
    return f->meta ? json_string_value(json_object_get(f->meta, key)) : NULL;
}

int st_write(const char *path, const st_out_tensor *t, size_t n, json_t *meta) {
    json_t *root = json_object();
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *shape = json_array();
        size_t count = 1;
        for (int d = 0; d < t[i].ndim; d++) {
            json_array_append_new(shape, json_integer(t[i].shape[d]));
            count *= (size_t)t[i].shape[d];
        }
        json_object_set_new(root, t[i].name,
                            json_pack("{s:s,s:o,s:[I,I]}", "dtype", "F32", "shape", shape, "data_offsets",
                                      (json_int_t)off, (json_int_t)(off + 4 * count)));
        off += 4 * count;
    }
    if (meta) json_object_set(root, "__metadata__", meta);
    char *text = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(root);
    if (!text) return a2m_error(A2M_ERR_NOMEM, "%s: out of memory", path);
    size_t hlen = strlen(text), pad = (8 - hlen % 8) % 8;
    a2m_atomic_file f;
    int rc = a2m_atomic_open(&f, path, 1);
    if (!rc) {
        uint64_t total = hlen + pad;
        uint8_t le[8];
        for (int i = 0; i < 8; i++) le[i] = (uint8_t)(total >> (8 * i));
        fwrite(le, 1, 8, f.fp);
        fwrite(text, 1, hlen, f.fp);
        for (size_t i = 0; i < pad; i++) fputc(' ', f.fp);
        /* data in the same order as offsets were assigned */
        for (size_t i = 0; i < n; i++) {
            size_t count = 1;
            for (int d = 0; d < t[i].ndim; d++) count *= (size_t)t[i].shape[d];
            fwrite(t[i].data, 4, count, f.fp);
        }
        rc = a2m_atomic_commit(&f);
    }
    free(text);
    return rc;
}
