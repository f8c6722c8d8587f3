/* Standard MIDI File writer: one format-0 track with a tempo meta event, a
 * program change, the notes rounded to the nearest tick (note-offs before
 * note-ons at the same tick, so repeated notes re-trigger) and end of track. */
#include "a2m/error.h"
#include "a2m/io.h"
#include "a2m/midi.h"
#include "core/grow.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

a2m_midi_write_params a2m_midi_write_default_params(void) {
    a2m_midi_write_params p = {480, 120.0, 0, 0, 100};
    return p;
}

typedef struct byte_buf {
    uint8_t *b; /* [cap] */
    size_t n, cap;
    int failed;
} byte_buf;

static void put(byte_buf *o, const uint8_t *src, size_t n) {
    if (o->failed) return;
    if (n > SIZE_MAX - o->n || a2m_grow(&o->b, &o->cap, o->n + n, 1, 256)) {
        o->failed = 1;
        return;
    }
    memcpy(o->b + o->n, src, n);
    o->n += n;
}
static void put_u8(byte_buf *o, uint8_t v) { put(o, &v, 1); }
static void put_u16be(byte_buf *o, uint32_t v) {
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    put(o, b, 2);
}
static void put_u32be(byte_buf *o, uint32_t v) {
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    put(o, b, 4);
}
static void put_vlq(byte_buf *o, uint32_t v) {
    uint8_t tmp[5];
    int n = 0;
    tmp[n++] = v & 0x7f;
    while (v >>= 7) tmp[n++] = (uint8_t)(0x80 | (v & 0x7f));
    while (n) put_u8(o, tmp[--n]);
}

typedef struct note_event {
    uint32_t tick;
    uint8_t is_on, pitch, velocity;
} note_event;

static int by_tick_off_first(const void *a, const void *b) {
    const note_event *x = a, *y = b;
    if (x->tick != y->tick) return x->tick < y->tick ? -1 : 1;
    if (x->is_on != y->is_on) return x->is_on ? 1 : -1;
    return (int)x->pitch - (int)y->pitch;
}

/* Largest tick a variable-length quantity can hold. */
static const double MAX_TICK = 268435455.0;

static int check_params(a2m_midi_write_params p, const char *name) {
    if (p.ticks_per_beat < 1 || p.ticks_per_beat > 32767)
        return a2m_error(A2M_ERR_ARG, "%s: ticks per beat %d outside 1..32767", name, p.ticks_per_beat);
    if (!(p.tempo_bpm >= 4.0 && p.tempo_bpm <= 1000.0))
        return a2m_error(A2M_ERR_ARG, "%s: tempo %g bpm outside 4..1000", name, p.tempo_bpm);
    if (p.program < 0 || p.program > 127)
        return a2m_error(A2M_ERR_ARG, "%s: program %d outside 0..127", name, p.program);
    if (p.channel < 0 || p.channel > 15) return a2m_error(A2M_ERR_ARG, "%s: channel %d outside 0..15", name, p.channel);
    if (p.velocity < 1 || p.velocity > 127)
        return a2m_error(A2M_ERR_ARG, "%s: velocity %d outside 1..127", name, p.velocity);
    return A2M_OK;
}

/* a2m_midi_encode with name (the output file) in error messages. */
static int encode_named(const a2m_note *notes, size_t n, a2m_midi_write_params p, const char *name, uint8_t **buf,
                        size_t *len) {
    *buf = NULL;
    *len = 0;
    int rc = check_params(p, name);
    if (rc) return rc;
    uint32_t tempo_us = (uint32_t)lround(60e6 / p.tempo_bpm);
    double seconds_per_tick = (double)tempo_us * 1e-6 / p.ticks_per_beat;
    note_event *ev = malloc((n ? n : 1) * 2 * sizeof *ev);
    if (!ev) return a2m_error(A2M_ERR_NOMEM, "%s: out of memory", name);
    for (size_t i = 0; i < n; i++) {
        const a2m_note *nt = &notes[i];
        if (!isfinite(nt->onset) || !isfinite(nt->offset) || !isfinite(nt->pitch)) {
            free(ev);
            return a2m_error(A2M_ERR_NONFINITE, "%s: note %zu has a non-finite time or pitch", name, i);
        }
        double on = round(nt->onset / seconds_per_tick), off = round(nt->offset / seconds_per_tick);
        double pitch = round(nt->pitch);
        if (on < 0 || off > MAX_TICK || nt->offset <= nt->onset || pitch < 0 || pitch > 127) {
            free(ev);
            return a2m_error(A2M_ERR_RANGE, "%s: note %zu (%.3f-%.3f s, pitch %g) out of range", name, i, nt->onset,
                             nt->offset, nt->pitch);
        }
        if (off <= on) off = on + 1; /* never shorter than one tick */
        uint8_t vel = (uint8_t)(nt->velocity >= 1 && nt->velocity <= 127 ? nt->velocity : p.velocity);
        ev[2 * i] = (note_event){(uint32_t)on, 1, (uint8_t)pitch, vel};
        ev[2 * i + 1] = (note_event){(uint32_t)off, 0, (uint8_t)pitch, 0};
    }
    qsort(ev, 2 * n, sizeof *ev, by_tick_off_first);

    byte_buf track = {0};
    put_vlq(&track, 0); /* tempo */
    put(&track, (const uint8_t[]){0xff, 0x51, 0x03}, 3);
    put(&track, (const uint8_t[]){(uint8_t)(tempo_us >> 16), (uint8_t)(tempo_us >> 8), (uint8_t)tempo_us}, 3);
    put_vlq(&track, 0); /* program */
    put_u8(&track, (uint8_t)(0xc0 | p.channel));
    put_u8(&track, (uint8_t)p.program);
    uint32_t prev = 0;
    for (size_t i = 0; i < 2 * n; i++) {
        put_vlq(&track, ev[i].tick - prev);
        prev = ev[i].tick;
        put_u8(&track, (uint8_t)((ev[i].is_on ? 0x90 : 0x80) | p.channel));
        put_u8(&track, ev[i].pitch);
        put_u8(&track, ev[i].is_on ? ev[i].velocity : 0);
    }
    put_vlq(&track, 0);
    put(&track, (const uint8_t[]){0xff, 0x2f, 0x00}, 3);
    free(ev);

    byte_buf file = {0};
    put(&file, (const uint8_t *)"MThd", 4);
    put_u32be(&file, 6);
    put_u16be(&file, 0);
    put_u16be(&file, 1);
    put_u16be(&file, (uint32_t)p.ticks_per_beat);
    put(&file, (const uint8_t *)"MTrk", 4);
    put_u32be(&file, (uint32_t)track.n);
    put(&file, track.b, track.n);
    int failed = track.failed || file.failed;
    free(track.b);
    if (failed) {
        free(file.b);
        return a2m_error(A2M_ERR_NOMEM, "%s: out of memory", name);
    }
    *buf = file.b;
    *len = file.n;
    return A2M_OK;
}

int a2m_midi_encode(const a2m_note *notes, size_t n, a2m_midi_write_params p, uint8_t **buf, size_t *len) {
    return encode_named(notes, n, p, "MIDI", buf, len);
}

int a2m_midi_write(const char *path, const a2m_note *notes, size_t n, a2m_midi_write_params p) {
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = encode_named(notes, n, p, path, &buf, &len);
    if (rc) return rc;
    a2m_atomic_file f;
    rc = a2m_atomic_open(&f, path, 1);
    if (!rc) {
        fwrite(buf, 1, len, f.fp);
        rc = a2m_atomic_commit(&f);
    }
    free(buf);
    return rc;
}
