/* The one bounded reader for untrusted bytes (MIDI, .npy, safetensors, WAV
 * on stdin). Every read checks the remaining length; a short read sets
 * r->failed and returns 0, so parsers check r->failed once per record
 * instead of after every field. Never reads past p + len. */
#ifndef A2M_CORE_READER_H
#define A2M_CORE_READER_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct a2m_reader {
    const uint8_t *p;
    size_t len;
    size_t pos;
    int failed;
} a2m_reader;

static inline a2m_reader a2m_reader_make(const uint8_t *p, size_t len) {
    a2m_reader r = {p, len, 0, 0};
    return r;
}
static inline size_t a2m_reader_left(const a2m_reader *r) { return r->failed ? 0 : r->len - r->pos; }
static inline int a2m_reader_need(a2m_reader *r, size_t n) {
    if (r->failed || n > r->len - r->pos) {
        r->failed = 1;
        return 0;
    }
    return 1;
}
static inline uint8_t a2m_rd_u8(a2m_reader *r) {
    if (!a2m_reader_need(r, 1)) return 0;
    return r->p[r->pos++];
}
static inline uint8_t a2m_rd_peek_u8(a2m_reader *r) {
    if (!a2m_reader_need(r, 1)) return 0;
    return r->p[r->pos];
}
static inline uint16_t a2m_rd_u16be(a2m_reader *r) {
    if (!a2m_reader_need(r, 2)) return 0;
    uint16_t v = (uint16_t)((r->p[r->pos] << 8) | r->p[r->pos + 1]);
    r->pos += 2;
    return v;
}
static inline uint16_t a2m_rd_u16le(a2m_reader *r) {
    if (!a2m_reader_need(r, 2)) return 0;
    uint16_t v = (uint16_t)(r->p[r->pos] | (r->p[r->pos + 1] << 8));
    r->pos += 2;
    return v;
}
static inline uint32_t a2m_rd_u32be(a2m_reader *r) {
    if (!a2m_reader_need(r, 4)) return 0;
    const uint8_t *b = r->p + r->pos;
    r->pos += 4;
    return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
}
static inline uint32_t a2m_rd_u32le(a2m_reader *r) {
    if (!a2m_reader_need(r, 4)) return 0;
    const uint8_t *b = r->p + r->pos;
    r->pos += 4;
    return ((uint32_t)b[3] << 24) | ((uint32_t)b[2] << 16) | ((uint32_t)b[1] << 8) | b[0];
}
static inline uint64_t a2m_rd_u64le(a2m_reader *r) {
    uint64_t lo = a2m_rd_u32le(r);
    uint64_t hi = a2m_rd_u32le(r);
    return lo | (hi << 32);
}
/* Returns a pointer to n bytes inside the buffer (no copy), or NULL. */
static inline const uint8_t *a2m_rd_bytes(a2m_reader *r, size_t n) {
    if (!a2m_reader_need(r, n)) return NULL;
    const uint8_t *b = r->p + r->pos;
    r->pos += n;
    return b;
}
static inline void a2m_rd_skip(a2m_reader *r, size_t n) { (void)a2m_rd_bytes(r, n); }

#endif
