/* Standard MIDI File reader and writer.
 * Reader: every byte goes through the bounded reader; seconds follow mido
 * exactly (tracks merged by absolute tick with a stable sort, each event's
 * delta converted at the tempo in force, summed in double), which makes
 * frame labels bit-exact with the original project. */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "a2m/error.h"
#include "a2m/io.h"
#include "a2m/midi.h"
#include "core/reader.h"

#define MIDI_MAX_FILE ((size_t)64 << 20)
#define MIDI_MAX_EVENTS ((size_t)4 << 20)

typedef struct smf_event {
    uint64_t tick;   /* absolute */
    uint32_t seq;    /* position in the file: stable-sort key */
    uint8_t kind;    /* 0 other, 1 note on, 2 note off, 3 tempo */
    uint8_t channel, pitch, velocity;
    uint32_t tempo;  /* microseconds per beat */
} smf_event;

typedef struct event_list {
    smf_event *e;
    size_t n, cap;
} event_list;

static int push_event(event_list *l, smf_event ev, const char *name) {
    if (l->n == l->cap) {
        if (l->cap >= MIDI_MAX_EVENTS) return a2m_error(A2M_ERR_RANGE, "%s: too many MIDI events", name);
        size_t nc = l->cap ? l->cap * 2 : 256;
        smf_event *ne = realloc(l->e, nc * sizeof *ne);
        if (!ne) return a2m_error(A2M_ERR_NOMEM, "%s: out of memory", name);
        l->e = ne, l->cap = nc;
    }
    l->e[l->n++] = ev;
    return A2M_OK;
}

/* Variable-length quantity: at most 4 bytes. */
static uint32_t read_vlq(a2m_reader *r) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        uint8_t b = a2m_rd_u8(r);
        v = (v << 7) | (b & 0x7f);
        if (!(b & 0x80)) return v;
    }
    r->failed = 1; /* longer than 4 bytes */
    return 0;
}

static int parse_track(a2m_reader *r, event_list *l, uint32_t *seq, const char *name) {
    uint64_t tick = 0;
    uint8_t running = 0;
    while (a2m_reader_left(r) > 0) {
        tick += read_vlq(r);
        uint8_t status = a2m_rd_peek_u8(r);
        if (r->failed) break;
        if (status & 0x80) {
            r->pos++;
        } else {
            if (!running) return a2m_error(A2M_ERR_FORMAT, "%s: data byte without a running status", name);
            status = running;
        }
        smf_event ev = {tick, (*seq)++, 0, 0, 0, 0, 0};
        if (status == 0xff) {
            uint8_t type = a2m_rd_u8(r);
            uint32_t len = read_vlq(r);
            const uint8_t *d = a2m_rd_bytes(r, len);
            if (r->failed) break;
            if (type == 0x51 && len == 3) {
                ev.kind = 3;
                ev.tempo = ((uint32_t)d[0] << 16) | ((uint32_t)d[1] << 8) | d[2];
            }
            if (type == 0x2f) { /* end of track: mido drops it from the merged stream */
                (*seq)--;
                return A2M_OK;
            }
        } else if (status == 0xf0 || status == 0xf7) {
            uint32_t len = read_vlq(r);
            a2m_rd_skip(r, len);
            running = 0;
        } else if (status >= 0xf1) {
            static const uint8_t sys_len[16] = {0, 1, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
            a2m_rd_skip(r, sys_len[status & 0x0f]);
        } else {
            running = status;
            uint8_t hi = status & 0xf0;
            uint8_t a = a2m_rd_u8(r) & 0x7f;
            uint8_t b = (hi == 0xc0 || hi == 0xd0) ? 0 : (a2m_rd_u8(r) & 0x7f);
            ev.channel = status & 0x0f;
            if (hi == 0x90 && b > 0) ev.kind = 1, ev.pitch = a, ev.velocity = b;
            else if (hi == 0x80 || hi == 0x90) ev.kind = 2, ev.pitch = a;
        }
        if (r->failed) break;
        int rc = push_event(l, ev, name);
        if (rc) return rc;
    }
    if (r->failed) return a2m_error(A2M_ERR_FORMAT, "%s: truncated MIDI track", name);
    return A2M_OK;
}

static int cmp_event(const void *a, const void *b) {
    const smf_event *x = a, *y = b;
    if (x->tick != y->tick) return x->tick < y->tick ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int cmp_note(const void *a, const void *b) {
    const a2m_note *x = a, *y = b;
    if (x->onset != y->onset) return x->onset < y->onset ? -1 : 1;
    return (x->pitch > y->pitch) - (x->pitch < y->pitch);
}

void a2m_notes_free(a2m_notes *n) {
    if (!n) return;
    free(n->notes);
    n->notes = NULL;
    n->n = 0;
}

static int push_note(a2m_notes *out, size_t *cap, a2m_note nt, const char *name) {
    if (out->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        a2m_note *nn = realloc(out->notes, nc * sizeof *nn);
        if (!nn) return a2m_error(A2M_ERR_NOMEM, "%s: out of memory", name);
        out->notes = nn, *cap = nc;
    }
    out->notes[out->n++] = nt;
    return A2M_OK;
}

int a2m_midi_parse(const uint8_t *buf, size_t len, const char *name, a2m_notes *out) {
    memset(out, 0, sizeof *out);
    a2m_reader r = a2m_reader_make(buf, len);
    const uint8_t *magic = a2m_rd_bytes(&r, 4);
    uint32_t hlen = a2m_rd_u32be(&r);
    if (!magic || memcmp(magic, "MThd", 4) != 0 || hlen < 6) return a2m_error(A2M_ERR_FORMAT, "%s: not a MIDI file", name);
    uint16_t format = a2m_rd_u16be(&r), ntracks = a2m_rd_u16be(&r), division = a2m_rd_u16be(&r);
    a2m_rd_skip(&r, hlen - 6);
    if (r.failed) return a2m_error(A2M_ERR_FORMAT, "%s: truncated MIDI header", name);
    if (format > 1) return a2m_error(A2M_ERR_UNSUPPORTED, "%s: MIDI format %u not supported (0 and 1 are)", name, format);
    if (division & 0x8000) return a2m_error(A2M_ERR_UNSUPPORTED, "%s: SMPTE time division not supported", name);
    if (division == 0) return a2m_error(A2M_ERR_FORMAT, "%s: zero ticks per beat", name);
    event_list l = {0};
    uint32_t seq = 0;
    int rc = A2M_OK;
    for (unsigned t = 0; t < ntracks && a2m_reader_left(&r) > 0 && !rc; t++) {
        const uint8_t *id = a2m_rd_bytes(&r, 4);
        uint32_t clen = a2m_rd_u32be(&r);
        if (r.failed) {
            rc = a2m_error(A2M_ERR_FORMAT, "%s: truncated MIDI chunk header", name);
            break;
        }
        if (clen > a2m_reader_left(&r)) {
            rc = a2m_error(A2M_ERR_FORMAT, "%s: MIDI chunk longer than the file", name);
            break;
        }
        a2m_reader tr = a2m_reader_make(a2m_rd_bytes(&r, clen), clen);
        if (memcmp(id, "MTrk", 4) != 0) {
            t--; /* unknown chunk: skipped, does not count as a track */
            continue;
        }
        rc = parse_track(&tr, &l, &seq, name);
    }
    if (rc) {
        free(l.e);
        return rc;
    }
    if (l.n) qsort(l.e, l.n, sizeof *l.e, cmp_event);

    /* mido's iteration: seconds += delta_ticks * (tempo * 1e-6 / tpb) */
    double now = 0.0;
    uint32_t tempo = 500000;
    uint64_t prev_tick = 0;
    int first_tempo_set = 0;
    out->ticks_per_beat = division;
    out->first_tempo_bpm = 120.0;
    /* open notes per (channel, pitch): FIFO of onset times and velocities */
    typedef struct open_note {
        double onset;
        int velocity;
        struct open_note *next;
    } open_note;
    open_note *heads[16][128] = {{0}}, *tails[16][128] = {{0}};
    size_t cap = 0;
    for (size_t i = 0; i < l.n && !rc; i++) {
        smf_event *e = &l.e[i];
        uint64_t delta = e->tick - prev_tick;
        prev_tick = e->tick;
        if (delta > 0) now += (double)delta * ((double)tempo * 1e-6 / (double)division);
        if (e->kind == 3) {
            if (e->tempo == 0) continue;
            tempo = e->tempo;
            if (!first_tempo_set) out->first_tempo_bpm = 60e6 / tempo, first_tempo_set = 1;
        } else if (e->kind == 1) {
            open_note *o = malloc(sizeof *o);
            if (!o) {
                rc = a2m_error(A2M_ERR_NOMEM, "%s: out of memory", name);
                break;
            }
            o->onset = now, o->velocity = e->velocity, o->next = NULL;
            if (tails[e->channel][e->pitch]) tails[e->channel][e->pitch]->next = o;
            else heads[e->channel][e->pitch] = o;
            tails[e->channel][e->pitch] = o;
        } else if (e->kind == 2) {
            open_note *o = heads[e->channel][e->pitch];
            if (!o) continue; /* note-off without note-on */
            heads[e->channel][e->pitch] = o->next;
            if (!o->next) tails[e->channel][e->pitch] = NULL;
            a2m_note nt = {o->onset, now, e->pitch, o->velocity, e->channel};
            free(o);
            if (nt.offset > nt.onset) rc = push_note(out, &cap, nt, name);
        }
    }
    /* notes left open end at the last event */
    for (int c = 0; c < 16; c++)
        for (int p = 0; p < 128; p++)
            while (heads[c][p]) {
                open_note *o = heads[c][p];
                heads[c][p] = o->next;
                if (!rc && now > o->onset) rc = push_note(out, &cap, (a2m_note){o->onset, now, p, o->velocity, c}, name);
                free(o);
            }
    free(l.e);
    if (rc) {
        a2m_notes_free(out);
        return rc;
    }
    if (out->n) qsort(out->notes, out->n, sizeof *out->notes, cmp_note);
    return A2M_OK;
}

int a2m_midi_read(const char *path, a2m_notes *out) {
    memset(out, 0, sizeof *out);
    uint8_t *buf;
    size_t len;
    int rc = a2m_read_file(path, &buf, &len, MIDI_MAX_FILE);
    if (rc) return rc;
    rc = a2m_midi_parse(buf, len, path, out);
    free(buf);
    return rc;
}

/* ---------------------------------------------------------------- writer */

a2m_midi_write_params a2m_midi_write_default_params(void) {
    a2m_midi_write_params p = {480, 120.0, 0, 0, 100};
    return p;
}

typedef struct byte_buf {
    uint8_t *p;
    size_t n, cap;
    int failed;
} byte_buf;

static void put(byte_buf *b, const void *src, size_t n) {
    if (b->failed) return;
    if (b->n + n > b->cap) {
        size_t nc = b->cap ? b->cap : 256;
        while (nc < b->n + n) nc *= 2;
        uint8_t *np = realloc(b->p, nc);
        if (!np) {
            b->failed = 1;
            return;
        }
        b->p = np, b->cap = nc;
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
}
static void put_u8(byte_buf *b, uint8_t v) { put(b, &v, 1); }
static void put_vlq(byte_buf *b, uint32_t v) {
    uint8_t tmp[5];
    int n = 0;
    tmp[n++] = v & 0x7f;
    while (v >>= 7) tmp[n++] = 0x80 | (v & 0x7f);
    while (n) put_u8(b, tmp[--n]);
}

typedef struct out_event {
    uint64_t tick;
    int on; /* 0 off first at equal ticks */
    int pitch, velocity;
} out_event;

static int cmp_out(const void *a, const void *b) {
    const out_event *x = a, *y = b;
    if (x->tick != y->tick) return x->tick < y->tick ? -1 : 1;
    if (x->on != y->on) return x->on - y->on;
    return x->pitch - y->pitch;
}

int a2m_midi_encode(const a2m_note *notes, size_t n, a2m_midi_write_params p, uint8_t **buf, size_t *len) {
    *buf = NULL;
    *len = 0;
    if (p.ticks_per_beat <= 0 || p.ticks_per_beat > 0x7fff || !(p.tempo_bpm > 0) || p.program < 0 || p.program > 127 ||
        p.channel < 0 || p.channel > 15)
        return a2m_error(A2M_ERR_ARG, "MIDI writer: bad parameters");
    double ticks_per_s = p.ticks_per_beat * p.tempo_bpm / 60.0;
    out_event *ev = malloc((2 * n + 1) * sizeof *ev);
    if (!ev) return a2m_error(A2M_ERR_NOMEM, "MIDI writer: out of memory");
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        const a2m_note *nt = &notes[i];
        if (!isfinite(nt->onset) || !isfinite(nt->offset) || nt->onset < 0 || nt->offset <= nt->onset) continue;
        int pitch = (int)lround(nt->pitch);
        if (pitch < 0 || pitch > 127) continue;
        int vel = nt->velocity > 0 && nt->velocity < 128 ? nt->velocity : p.velocity;
        uint64_t on = (uint64_t)llround(nt->onset * ticks_per_s), off = (uint64_t)llround(nt->offset * ticks_per_s);
        if (off <= on) off = on + 1;
        ev[m++] = (out_event){on, 1, pitch, vel};
        ev[m++] = (out_event){off, 0, pitch, 0};
    }
    qsort(ev, m, sizeof *ev, cmp_out);
    byte_buf trk = {0};
    uint32_t tempo = (uint32_t)lround(60e6 / p.tempo_bpm);
    uint8_t tempo_ev[] = {0x00, 0xff, 0x51, 0x03, (uint8_t)(tempo >> 16), (uint8_t)(tempo >> 8), (uint8_t)tempo};
    put(&trk, tempo_ev, sizeof tempo_ev);
    uint8_t prog[] = {0x00, (uint8_t)(0xc0 | p.channel), (uint8_t)p.program};
    put(&trk, prog, sizeof prog);
    uint64_t prev = 0;
    for (size_t i = 0; i < m; i++) {
        put_vlq(&trk, (uint32_t)(ev[i].tick - prev));
        prev = ev[i].tick;
        put_u8(&trk, (uint8_t)((ev[i].on ? 0x90 : 0x80) | p.channel));
        put_u8(&trk, (uint8_t)ev[i].pitch);
        put_u8(&trk, (uint8_t)(ev[i].on ? ev[i].velocity : 64));
    }
    uint8_t eot[] = {0x00, 0xff, 0x2f, 0x00};
    put(&trk, eot, sizeof eot);
    free(ev);
    byte_buf file = {0};
    uint8_t hdr[] = {'M', 'T', 'h', 'd', 0, 0, 0, 6, 0, 0, 0, 1, (uint8_t)(p.ticks_per_beat >> 8), (uint8_t)p.ticks_per_beat,
                     'M', 'T', 'r', 'k', (uint8_t)(trk.n >> 24), (uint8_t)(trk.n >> 16), (uint8_t)(trk.n >> 8), (uint8_t)trk.n};
    put(&file, hdr, sizeof hdr);
    put(&file, trk.p, trk.n);
    free(trk.p);
    if (trk.failed || file.failed) {
        free(file.p);
        return a2m_error(A2M_ERR_NOMEM, "MIDI writer: out of memory");
    }
    *buf = file.p;
    *len = file.n;
    return A2M_OK;
}

int a2m_midi_write(const char *path, const a2m_note *notes, size_t n, a2m_midi_write_params p) {
    uint8_t *buf;
    size_t len;
    int rc = a2m_midi_encode(notes, n, p, &buf, &len);
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

/* ------------------------------------------------------------- CSV, names */

int a2m_notes_read_csv(const char *path, a2m_notes *out) {
    memset(out, 0, sizeof *out);
    uint8_t *buf;
    size_t len;
    int rc = a2m_read_file(path, &buf, &len, MIDI_MAX_FILE);
    if (rc) return rc;
    char *text = realloc(buf, len + 1);
    if (!text) {
        free(buf);
        return a2m_error(A2M_ERR_NOMEM, "%s: out of memory", path);
    }
    text[len] = '\0';
    size_t cap = 0, line_no = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line && !rc; line = strtok_r(NULL, "\n", &save)) {
        line_no++;
        while (isspace((unsigned char)*line)) line++;
        if (!*line || *line == '#') continue;
        double on, off, pitch;
        int used = 0;
        if (sscanf(line, "%lf ,%lf ,%lf%n", &on, &off, &pitch, &used) != 3) {
            if (line_no == 1) continue; /* header */
            rc = a2m_error(A2M_ERR_FORMAT, "%s:%zu: expected onset_s,offset_s,midi_pitch", path, line_no);
            break;
        }
        if (!isfinite(on) || !isfinite(off) || !isfinite(pitch) || off < on || pitch < 0 || pitch > 127) {
            rc = a2m_error(A2M_ERR_FORMAT, "%s:%zu: bad note values", path, line_no);
            break;
        }
        rc = push_note(out, &cap, (a2m_note){on, off, pitch, 100, 0}, path);
    }
    free(text);
    if (rc) {
        a2m_notes_free(out);
        return rc;
    }
    if (out->n) qsort(out->notes, out->n, sizeof *out->notes, cmp_note);
    return A2M_OK;
}

int a2m_notes_read_any(const char *path, a2m_notes *out) {
    size_t n = strlen(path);
    if (n >= 4 && strcasecmp(path + n - 4, ".csv") == 0) return a2m_notes_read_csv(path, out);
    return a2m_midi_read(path, out);
}

const char *a2m_note_name(int midi, char *buf) {
    static const char *names[12] = {"C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"};
    if (midi < 0 || midi > 127) {
        snprintf(buf, 8, "?");
        return buf;
    }
    snprintf(buf, 8, "%s%d", names[midi % 12], midi / 12 - 1);
    return buf;
}
