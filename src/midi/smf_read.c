/* Standard MIDI File reader. Every byte goes through the bounded reader, so
 * hostile or truncated input yields A2M_ERR_FORMAT, never a crash or a hang.
 *
 * Seconds follow mido (which the original project used) operation for
 * operation, so frame labels come out bit-exact:
 *   - each track's delta ticks become absolute ticks; all tracks' messages
 *     are concatenated in track order and stably sorted by absolute tick
 *     (mido.merge_tracks);
 *   - end_of_track messages are dropped and their delta is added to the
 *     next message (mido.tracks.fix_end_of_track), one end_of_track closes
 *     the merged stream;
 *   - walking the merged stream, time += delta * (tempo * 1e-6 / tpb) in
 *     double precision (mido.tick2second), the tempo starting at 500000 us
 *     per beat and changing after each set_tempo message. */
#include "a2m/error.h"
#include "core/fileio.h"
#include "a2m/io.h"
#include "a2m/midi.h"
#include "core/grow.h"
#include "core/reader.h"

#include <stdlib.h>
#include <string.h>

enum { MAX_NOTES = 1 << 20, MAX_EVENTS = 1 << 22 };
static const size_t MIDI_MAX_BYTES = (size_t)16 << 20;
static const uint32_t DEFAULT_TEMPO_US = 500000;

typedef enum msg_kind { MSG_OTHER, MSG_NOTE_ON, MSG_NOTE_OFF, MSG_TEMPO, MSG_END_OF_TRACK } msg_kind;

typedef struct midi_msg {
    uint64_t tick;  /* absolute, within its track */
    size_t order;   /* position in the concatenated tracks: the stable-sort key */
    uint32_t tempo; /* MSG_TEMPO: microseconds per beat */
    uint8_t kind;   /* msg_kind */
    uint8_t channel, pitch, velocity;
} midi_msg;

typedef struct msg_list {
    midi_msg *m; /* [cap] */
    size_t n, cap;
} msg_list;

static int msg_push(msg_list *l, midi_msg m, const char *name) {
    if (l->n >= MAX_EVENTS) return a2m_error(A2M_ERR_RANGE, "%s: more than %d MIDI events", name, MAX_EVENTS);
    if (a2m_grow(&l->m, &l->cap, l->n + 1, sizeof *l->m, 256))
        return a2m_error(A2M_ERR_NOMEM, "%s: out of memory", name);
    m.order = l->n;
    l->m[l->n++] = m;
    return A2M_OK;
}

/* Variable-length quantity: at most 4 bytes (28 bits) as the SMF spec says. */
static uint32_t read_vlq(a2m_reader *r) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        uint8_t b = a2m_rd_u8(r);
        v = (v << 7) | (b & 0x7f);
        if (!(b & 0x80)) return v;
    }
    r->failed = 1;
    return 0;
}

/* Data bytes following a status byte of a channel or system common message; -1: undefined. */
static int message_data_len(uint8_t status) {
    switch (status & 0xf0) {
    case 0x80:
    case 0x90:
    case 0xa0:
    case 0xb0:
    case 0xe0: return 2;
    case 0xc0:
    case 0xd0: return 1;
    default: break;
    }
    switch (status) {
    case 0xf1:
    case 0xf3: return 1;
    case 0xf2: return 2;
    case 0xf6:
    case 0xf8:
    case 0xfa:
    case 0xfb:
    case 0xfc:
    case 0xfe: return 0;
    default: return -1;
    }
}

/* Parses one MTrk body (len bytes) and appends its messages. */
static int parse_track(const uint8_t *p, size_t len, const char *name, int track_index, msg_list *out) {
    a2m_reader r = a2m_reader_make(p, len);
    uint64_t tick = 0;
    int running = 0; /* last channel status byte, 0 = none */
    while (a2m_reader_left(&r) > 0) {
        midi_msg m;
        memset(&m, 0, sizeof m);
        tick += read_vlq(&r);
        m.tick = tick;
        uint8_t status = a2m_rd_u8(&r);
        if (r.failed) break;
        if (status < 0x80) {
            if (!running)
                return a2m_error(A2M_ERR_FORMAT, "%s: track %d: data byte 0x%02x without a running status", name,
                                 track_index, status);
            r.pos--; /* the byte is the first data byte */
            status = (uint8_t)running;
        }
        if (status == 0xff) {
            uint8_t type = a2m_rd_u8(&r);
            uint32_t n = read_vlq(&r);
            const uint8_t *d = a2m_rd_bytes(&r, n);
            if (r.failed) break;
            if (type == 0x2f) {
                m.kind = MSG_END_OF_TRACK;
            } else if (type == 0x51 && n == 3) {
                m.kind = MSG_TEMPO;
                m.tempo = ((uint32_t)d[0] << 16) | ((uint32_t)d[1] << 8) | d[2];
            }
        } else if (status == 0xf0 || status == 0xf7) {
            uint32_t n = read_vlq(&r);
            a2m_rd_skip(&r, n);
            running = 0;
        } else {
            int n = message_data_len(status);
            if (n < 0)
                return a2m_error(A2M_ERR_FORMAT, "%s: track %d: undefined status byte 0x%02x", name, track_index,
                                 status);
            const uint8_t *d = a2m_rd_bytes(&r, (size_t)n);
            if (r.failed) break;
            for (int i = 0; i < n; i++)
                if (d[i] > 127)
                    return a2m_error(A2M_ERR_FORMAT, "%s: track %d: data byte 0x%02x out of range", name, track_index,
                                     d[i]);
            if (status < 0xf0) running = status;
            uint8_t type = status & 0xf0;
            if (type == 0x90 || type == 0x80) {
                m.kind = (type == 0x90 && d[1] > 0) ? MSG_NOTE_ON : MSG_NOTE_OFF;
                m.channel = status & 0x0f;
                m.pitch = d[0];
                m.velocity = d[1];
            }
        }
        int rc = msg_push(out, m, name);
        if (rc) return rc;
    }
    if (r.failed) return a2m_error(A2M_ERR_FORMAT, "%s: track %d is truncated", name, track_index);
    return A2M_OK;
}

static int by_tick_then_order(const void *a, const void *b) {
    const midi_msg *x = a, *y = b;
    if (x->tick != y->tick) return x->tick < y->tick ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Open notes of one (channel, pitch), first in first out. */
typedef struct open_notes {
    size_t *idx; /* [cap] indices into the note list */
    size_t head, n, cap;
} open_notes;

typedef struct note_builder {
    a2m_note *notes; /* [cap] */
    size_t n, cap;
    open_notes open[16 * 128];
} note_builder;

static void note_builder_free(note_builder *b) {
    free(b->notes);
    for (int i = 0; i < 16 * 128; i++) free(b->open[i].idx);
}

static int note_start(note_builder *b, const midi_msg *m, double t, const char *name) {
    if (b->n >= MAX_NOTES) return a2m_error(A2M_ERR_RANGE, "%s: more than %d notes", name, MAX_NOTES);
    if (a2m_grow(&b->notes, &b->cap, b->n + 1, sizeof *b->notes, 64))
        return a2m_error(A2M_ERR_NOMEM, "%s: out of memory", name);
    open_notes *o = &b->open[m->channel * 128 + m->pitch];
    if (o->head + o->n == o->cap) {
        if (o->head > 0) { /* compact the queue before growing it */
            memmove(o->idx, o->idx + o->head, o->n * sizeof *o->idx);
            o->head = 0;
        }
        if (a2m_grow(&o->idx, &o->cap, o->n + 1, sizeof *o->idx, 4))
            return a2m_error(A2M_ERR_NOMEM, "%s: out of memory", name);
    }
    o->idx[o->head + o->n++] = b->n;
    a2m_note note = {t, -1.0, (double)m->pitch, m->velocity, m->channel};
    b->notes[b->n++] = note;
    return A2M_OK;
}

static void note_end(note_builder *b, const midi_msg *m, double t) {
    open_notes *o = &b->open[m->channel * 128 + m->pitch];
    if (o->n == 0) return; /* a note-off without a note-on: ignored */
    b->notes[o->idx[o->head]].offset = t;
    o->head++;
    o->n--;
}

static int by_onset_then_pitch(const void *a, const void *b) {
    const a2m_note *x = a, *y = b;
    if (x->onset != y->onset) return x->onset < y->onset ? -1 : 1;
    if (x->pitch != y->pitch) return x->pitch < y->pitch ? -1 : 1;
    if (x->offset != y->offset) return x->offset < y->offset ? -1 : 1;
    return 0;
}

/* Walks the merged stream as mido does and pairs note-ons with note-offs. */
static int build_notes(msg_list *msgs, int tpb, const char *name, a2m_notes *out) {
    if (msgs->n) qsort(msgs->m, msgs->n, sizeof *msgs->m, by_tick_then_order);
    note_builder *b = calloc(1, sizeof *b);
    if (!b) return a2m_error(A2M_ERR_NOMEM, "%s: out of memory", name);
    uint32_t tempo = DEFAULT_TEMPO_US;
    double time = 0.0;
    uint64_t prev_tick = 0, pending_eot_delta = 0;
    int rc = A2M_OK, have_tempo = 0;
    for (size_t i = 0; i < msgs->n && !rc; i++) {
        const midi_msg *m = &msgs->m[i];
        uint64_t delta = m->tick - prev_tick;
        prev_tick = m->tick;
        if (m->kind == MSG_END_OF_TRACK) { /* fix_end_of_track: its delta moves to the next message */
            pending_eot_delta += delta;
            continue;
        }
        delta += pending_eot_delta;
        pending_eot_delta = 0;
        if (delta > 0) {
            double seconds_per_tick = (double)tempo * 1e-6 / (double)tpb;
            double dt = (double)delta * seconds_per_tick;
            time = time + dt;
        }
        if (m->kind == MSG_NOTE_ON) rc = note_start(b, m, time, name);
        else if (m->kind == MSG_NOTE_OFF) note_end(b, m, time);
        else if (m->kind == MSG_TEMPO) {
            tempo = m->tempo;
            if (!have_tempo && m->tempo > 0) out->first_tempo_bpm = 60e6 / m->tempo;
            have_tempo = 1;
        }
    }
    if (!rc && pending_eot_delta > 0) { /* the closing end_of_track */
        double seconds_per_tick = (double)tempo * 1e-6 / (double)tpb;
        double dt = (double)pending_eot_delta * seconds_per_tick;
        time = time + dt;
    }
    if (rc) {
        note_builder_free(b);
        free(b);
        return rc;
    }
    /* Notes left open end at the last event; zero-length notes are dropped. */
    size_t kept = 0;
    for (size_t i = 0; i < b->n; i++) {
        a2m_note nt = b->notes[i];
        if (nt.offset < 0) nt.offset = time;
        if (nt.offset > nt.onset) b->notes[kept++] = nt;
    }
    if (kept) qsort(b->notes, kept, sizeof *b->notes, by_onset_then_pitch);
    out->notes = b->notes;
    out->n = kept;
    b->notes = NULL;
    note_builder_free(b);
    free(b);
    return A2M_OK;
}

int a2m_midi_parse(const uint8_t *buf, size_t len, const char *name, a2m_notes *out) {
    memset(out, 0, sizeof *out);
    out->first_tempo_bpm = 120.0;
    a2m_reader r = a2m_reader_make(buf, len);
    const uint8_t *magic = a2m_rd_bytes(&r, 4);
    if (!magic || memcmp(magic, "MThd", 4) != 0)
        return a2m_error(A2M_ERR_FORMAT, "%s: not a MIDI file (no MThd)", name);
    uint32_t hlen = a2m_rd_u32be(&r);
    if (r.failed || hlen < 6) return a2m_error(A2M_ERR_FORMAT, "%s: truncated MIDI header", name);
    uint16_t format = a2m_rd_u16be(&r);
    uint16_t ntracks = a2m_rd_u16be(&r);
    uint16_t division = a2m_rd_u16be(&r);
    a2m_rd_skip(&r, hlen - 6);
    if (r.failed) return a2m_error(A2M_ERR_FORMAT, "%s: truncated MIDI header", name);
    if (format > 2) return a2m_error(A2M_ERR_FORMAT, "%s: unknown MIDI format %u", name, format);
    if (format == 2)
        return a2m_error(A2M_ERR_UNSUPPORTED, "%s: MIDI format 2 (independent tracks) is not supported", name);
    if (division & 0x8000) return a2m_error(A2M_ERR_UNSUPPORTED, "%s: SMPTE time division is not supported", name);
    if (division == 0) return a2m_error(A2M_ERR_FORMAT, "%s: zero ticks per beat", name);
    out->ticks_per_beat = division;

    msg_list msgs = {0};
    int rc = A2M_OK;
    int found = 0;
    while (found < ntracks && a2m_reader_left(&r) > 0) {
        const uint8_t *id = a2m_rd_bytes(&r, 4);
        uint32_t clen = a2m_rd_u32be(&r);
        const uint8_t *body = a2m_rd_bytes(&r, clen);
        if (r.failed) {
            rc = a2m_error(A2M_ERR_FORMAT, "%s: track %d is truncated", name, found);
            break;
        }
        if (memcmp(id, "MTrk", 4) != 0) continue; /* unknown chunks are skipped, as the SMF spec asks */
        rc = parse_track(body, clen, name, found, &msgs);
        if (rc) break;
        found++;
    }
    if (!rc && found < ntracks)
        rc = a2m_error(A2M_ERR_FORMAT, "%s: %d of %u tracks present (truncated file)", name, found, ntracks);
    if (!rc) rc = build_notes(&msgs, division, name, out);
    free(msgs.m);
    if (rc) {
        free(out->notes);
        out->notes = NULL;
        out->n = 0;
    }
    return rc;
}

static int midi_parse_file(const uint8_t *buf, size_t len, const char *name, void *out) {
    return len ? a2m_midi_parse(buf, len, name, out) : a2m_error(A2M_ERR_EMPTY, "%s: empty file", name);
}

int a2m_midi_read(const char *path, a2m_notes *out) {
    memset(out, 0, sizeof *out);
    return a2m_parse_file(path, MIDI_MAX_BYTES, midi_parse_file, out);
}

void a2m_notes_free(a2m_notes *n) {
    if (!n) return;
    free(n->notes);
    n->notes = NULL;
    n->n = 0;
}
