/* MIDI reader and writer: the reference files, hand-built files exercising
 * running status, sysex, tempo changes, format 1 merging, overlapping notes,
 * note-on velocity 0, every truncation of a valid file, write/read round
 * trips, the notes CSV reader and note names. */
#include "a2m/error.h"
#include "a2m/io.h"
#include "a2m/midi.h"
#include "check.h"

#include <stdint.h>
#include <unistd.h>

/* ---- a tiny SMF builder for hand-made files ---- */
typedef struct smf {
    uint8_t b[4096];
    size_t n;
    size_t track_len_at; /* where the open track's length goes */
} smf;

static void b_bytes(smf *s, const uint8_t *p, size_t n) {
    memcpy(s->b + s->n, p, n);
    s->n += n;
}
#define B(s, ...) b_bytes(s, (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__}))
static void b_vlq(smf *s, uint32_t v) {
    uint8_t t[5];
    int n = 0;
    t[n++] = v & 0x7f;
    while (v >>= 7) t[n++] = (uint8_t)(0x80 | (v & 0x7f));
    while (n) s->b[s->n++] = t[--n];
}
static void b_header(smf *s, int format, int ntracks, int division) {
    s->n = 0;
    B(s, 'M', 'T', 'h', 'd', 0, 0, 0, 6, 0, (uint8_t)format, (uint8_t)(ntracks >> 8), (uint8_t)ntracks,
      (uint8_t)(division >> 8), (uint8_t)division);
}
static void b_track_begin(smf *s) {
    B(s, 'M', 'T', 'r', 'k', 0, 0, 0, 0);
    s->track_len_at = s->n - 4;
}
static void b_track_end(smf *s) {
    size_t len = s->n - s->track_len_at - 4;
    s->b[s->track_len_at] = (uint8_t)(len >> 24);
    s->b[s->track_len_at + 1] = (uint8_t)(len >> 16);
    s->b[s->track_len_at + 2] = (uint8_t)(len >> 8);
    s->b[s->track_len_at + 3] = (uint8_t)len;
}
static void b_event(smf *s, uint32_t delta, const uint8_t *p, size_t n) {
    b_vlq(s, delta);
    b_bytes(s, p, n);
}
#define EV(s, delta, ...) b_event(s, delta, (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__}))

static int parse(const smf *s, a2m_notes *out) { return a2m_midi_parse(s->b, s->n, "test.mid", out); }

static int has_note(const a2m_notes *n, double on, double off, int pitch) {
    for (size_t i = 0; i < n->n; i++)
        if (fabs(n->notes[i].onset - on) < 1e-12 && fabs(n->notes[i].offset - off) < 1e-12 &&
            n->notes[i].pitch == pitch)
            return 1;
    return 0;
}

/* Every prefix of a valid file must give an error or a valid result, never a crash. */
static void check_all_truncations(const uint8_t *buf, size_t len, const char *what) {
    int errors = 0, ok = 0, bad = 0;
    for (size_t cut = 0; cut < len; cut++) {
        a2m_notes n;
        int rc = a2m_midi_parse(buf, cut, what, &n);
        if (rc == A2M_OK) {
            ok++;
            for (size_t i = 0; i < n.n; i++)
                if (!(n.notes[i].offset > n.notes[i].onset && n.notes[i].onset >= 0)) bad++;
            a2m_notes_free(&n);
        } else {
            errors++;
            if (rc != A2M_ERR_FORMAT) bad++;
            if (n.notes != NULL || n.n != 0) bad++;
        }
    }
    CHECK(bad == 0 && errors > 0, "%s: %d bad results over %zu truncations", what, bad, len);
}

static void test_reference_files(const char *shared) {
    int parsed = 0, notes_total = 0, bad_pitch = 0, empty_takes = 0;
    for (int k = 1; k <= 300; k++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/data/seed/audio/midi_%03d.mid", shared, k);
        a2m_notes n;
        int rc = a2m_midi_read(path, &n);
        CHECK(rc == A2M_OK, "%s", a2m_errmsg());
        if (rc) continue;
        parsed++;
        notes_total += (int)n.n;
        CHECK(n.ticks_per_beat == 96, "take %d: tpb %d", k, n.ticks_per_beat);
        empty_takes += n.n == 0;
        for (size_t i = 0; i < n.n; i++) {
            double p = n.notes[i].pitch;
            if (p != 60 && p != 64 && p != 67) bad_pitch++;
            if (i) CHECK(n.notes[i].onset >= n.notes[i - 1].onset, "take %d: sorted by onset", k);
            CHECK(n.notes[i].offset > n.notes[i].onset && n.notes[i].offset < 300,
                  "take %d: note span (take 110 runs 214 s)", k);
        }
        if (k == 1) {
            uint8_t *buf;
            size_t len;
            CHECK(a2m_read_file(path, &buf, &len, 1 << 20) == A2M_OK, "read midi_001");
            check_all_truncations(buf, len, "midi_001.mid");
            free(buf);
            /* midi_001: 60 on at tick 8, 64 on at 98, 60 off at 102 (tpb 96, 120 bpm: 1/192 s per tick) */
            CHECK(n.n == 4 && has_note(&n, 8 / 192.0, 102 / 192.0, 60), "midi_001 first note");
        }
        a2m_notes_free(&n);
    }
    CHECK(parsed == 300 && bad_pitch == 0, "reference files: %d parsed, %d odd pitches", parsed, bad_pitch);
    /* takes 073, 112 and 187 have no notes (silent labels) */
    CHECK(empty_takes == 3, "%d takes without notes", empty_takes);
    printf("reference MIDI: %d files, %d notes, %d without notes\n", parsed, notes_total, empty_takes);

    char path[4096];
    snprintf(path, sizeof path, "%s/data/seed/long/Prueba.mid", shared);
    a2m_notes n;
    CHECK(a2m_midi_read(path, &n) == A2M_OK && n.n > 5, "Prueba.mid: %s", a2m_errmsg());
    if (n.n) CHECK(n.notes[n.n - 1].offset > 15 && n.notes[n.n - 1].offset < 26, "Prueba.mid spans ~24 s");
    a2m_notes_free(&n);
}

static void test_running_status_sysex_vel0(void) {
    smf s;
    b_header(&s, 0, 1, 100);
    b_track_begin(&s);
    EV(&s, 0, 0xff, 0x03, 4, 'v', 'o', 'x', '!'); /* track name */
    EV(&s, 0, 0xf0, 3, 0x7e, 0x09, 0xf7);         /* sysex */
    EV(&s, 0, 0x90, 60, 100);                     /* note on */
    EV(&s, 50, 64, 90);                           /* running status: note on 64 */
    EV(&s, 50, 60, 0);                            /* running status, velocity 0 = note off */
    EV(&s, 0, 0xf7, 2, 0x01, 0x02);               /* escape sysex */
    EV(&s, 0, 0xb0, 7, 100);                      /* control change */
    EV(&s, 0, 0xc0, 5);                           /* program change: 1 data byte */
    EV(&s, 100, 0x80, 64, 64);                    /* note off */
    EV(&s, 0, 0x90, 67, 80);                      /* note left open */
    EV(&s, 20, 0xff, 0x2f, 0);
    b_track_end(&s);
    a2m_notes n;
    int rc = parse(&s, &n);
    CHECK(rc == A2M_OK, "hand-built: %s", a2m_errmsg());
    double t = 0.5 / 100; /* seconds per tick */
    CHECK(n.n == 3, "3 notes, got %zu", n.n);
    CHECK(has_note(&n, 0, 100 * t, 60), "note 60 ended by velocity 0");
    CHECK(has_note(&n, 50 * t, 200 * t, 64), "note 64 via running status");
    CHECK(has_note(&n, 200 * t, 220 * t, 67), "open note ends at the last event");
    if (n.n == 3) CHECK(n.notes[1].velocity == 90 && n.notes[1].channel == 0, "velocity kept");
    check_all_truncations(s.b, s.n, "hand-built");
    a2m_notes_free(&n);

    /* running status is cancelled by sysex: a data byte after it is an error */
    b_header(&s, 0, 1, 100);
    b_track_begin(&s);
    EV(&s, 0, 0x90, 60, 100);
    EV(&s, 0, 0xf0, 1, 0xf7);
    EV(&s, 10, 60, 0);
    b_track_end(&s);
    CHECK(parse(&s, &n) == A2M_ERR_FORMAT, "running status after sysex rejected");
}

static void test_tempo_change(void) {
    smf s;
    b_header(&s, 0, 1, 100);
    b_track_begin(&s);
    EV(&s, 0, 0x90, 60, 100);
    EV(&s, 100, 0x80, 60, 0);                   /* 100 ticks at 120 bpm = 0.5 s */
    EV(&s, 0, 0xff, 0x51, 3, 0x03, 0xd0, 0x90); /* tempo 250000 us per beat (240 bpm) */
    EV(&s, 0, 0x90, 62, 100);
    EV(&s, 100, 0x80, 62, 0); /* 100 ticks at 240 bpm = 0.25 s */
    EV(&s, 0, 0xff, 0x2f, 0);
    b_track_end(&s);
    a2m_notes n;
    CHECK(parse(&s, &n) == A2M_OK, "tempo change: %s", a2m_errmsg());
    CHECK(n.n == 2 && has_note(&n, 0, 0.5, 60) && has_note(&n, 0.5, 0.75, 62), "tempo change mid-file");
    CHECK(n.first_tempo_bpm == 240.0, "first tempo %g", n.first_tempo_bpm);
    a2m_notes_free(&n);
}

/* Format 1: tempo map in track 0, notes in track 1, merged as mido does. */
static void test_format1_merge(void) {
    smf s;
    b_header(&s, 1, 2, 96);
    b_track_begin(&s);
    EV(&s, 0, 0xff, 0x51, 3, 0x0f, 0x42, 0x40); /* 1000000 us per beat */
    EV(&s, 50, 0xff, 0x2f, 0);                  /* end of track at tick 50 */
    b_track_end(&s);
    b_track_begin(&s);
    EV(&s, 100, 0x91, 64, 70); /* channel 1, tick 100 */
    EV(&s, 7, 0x81, 64, 0);
    EV(&s, 0, 0xff, 0x2f, 0);
    b_track_end(&s);
    a2m_notes n;
    CHECK(parse(&s, &n) == A2M_OK, "format 1: %s", a2m_errmsg());
    /* mido drops track 0's end_of_track and adds its delta to the next message:
     * the onset is 100 ticks in one step, not 50 + 50 */
    double spt = 1000000 * 1e-6 / 96;
    double onset = 100 * spt, offset = onset + 7 * spt;
    CHECK(n.n == 1 && n.notes[0].onset == onset && n.notes[0].offset == offset && n.notes[0].channel == 1,
          "format 1 merged timing");
    a2m_notes_free(&n);
}

static void test_overlapping_notes(void) {
    smf s;
    b_header(&s, 0, 1, 100);
    b_track_begin(&s);
    EV(&s, 0, 0x90, 60, 100);
    EV(&s, 10, 0x90, 60, 90); /* same pitch again before the first ends */
    EV(&s, 10, 0x80, 60, 0);  /* ends the first (FIFO) */
    EV(&s, 10, 0x80, 60, 0);  /* ends the second */
    EV(&s, 0, 0x80, 61, 0);   /* note off without note on: ignored */
    EV(&s, 0, 0x90, 62, 10);
    EV(&s, 0, 0x80, 62, 10); /* zero-length note: dropped */
    EV(&s, 0, 0xff, 0x2f, 0);
    b_track_end(&s);
    a2m_notes n;
    CHECK(parse(&s, &n) == A2M_OK, "overlap: %s", a2m_errmsg());
    double t = 0.005;
    CHECK(n.n == 2 && has_note(&n, 0, 20 * t, 60) && has_note(&n, 10 * t, 30 * t, 60), "FIFO pairing");
    if (n.n == 2) CHECK(n.notes[0].velocity == 100 && n.notes[1].velocity == 90, "FIFO velocities");
    a2m_notes_free(&n);
}

static void test_rejected(void) {
    smf s;
    a2m_notes n;
    b_header(&s, 0, 1, 0xe728); /* -25 fps, 40 ticks per frame */
    b_track_begin(&s);
    EV(&s, 0, 0xff, 0x2f, 0);
    b_track_end(&s);
    CHECK(parse(&s, &n) == A2M_ERR_UNSUPPORTED, "SMPTE division");
    CHECK(strstr(a2m_errmsg(), "test.mid") && strstr(a2m_errmsg(), "SMPTE"), "message: %s", a2m_errmsg());
    b_header(&s, 2, 1, 96);
    CHECK(parse(&s, &n) == A2M_ERR_UNSUPPORTED, "format 2");
    b_header(&s, 0, 1, 0);
    CHECK(parse(&s, &n) == A2M_ERR_FORMAT, "zero division");
    b_header(&s, 0, 2, 96);
    b_track_begin(&s);
    EV(&s, 0, 0xff, 0x2f, 0);
    b_track_end(&s);
    CHECK(parse(&s, &n) == A2M_ERR_FORMAT, "missing track");
    b_header(&s, 0, 1, 96);
    b_track_begin(&s);
    EV(&s, 0, 60, 100); /* data byte without status */
    b_track_end(&s);
    CHECK(parse(&s, &n) == A2M_ERR_FORMAT, "no running status");
    b_header(&s, 0, 1, 96);
    b_track_begin(&s);
    B(&s, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x90, 60, 100); /* 5-byte delta */
    b_track_end(&s);
    CHECK(parse(&s, &n) == A2M_ERR_FORMAT, "overlong variable-length quantity");
    b_header(&s, 0, 1, 96);
    b_track_begin(&s);
    EV(&s, 0, 0x90, 60, 200); /* data byte > 127 */
    b_track_end(&s);
    CHECK(parse(&s, &n) == A2M_ERR_FORMAT, "data byte out of range");
    b_header(&s, 0, 1, 96);
    b_track_begin(&s);
    EV(&s, 0, 0xf4); /* undefined status */
    b_track_end(&s);
    CHECK(parse(&s, &n) == A2M_ERR_FORMAT, "undefined status");
    b_header(&s, 0, 1, 96);
    b_track_begin(&s);
    EV(&s, 0, 0xff, 0x01, 0x7f); /* meta longer than the track */
    b_track_end(&s);
    CHECK(parse(&s, &n) == A2M_ERR_FORMAT, "meta overrun");
    CHECK(a2m_midi_parse((const uint8_t *)"RIFF....", 8, "x.mid", &n) == A2M_ERR_FORMAT, "not MIDI");
    CHECK(a2m_midi_parse(NULL, 0, "x.mid", &n) == A2M_ERR_FORMAT, "zero bytes");

    /* unknown chunks are skipped; huge track count with few bytes terminates */
    b_header(&s, 1, 1, 96);
    B(&s, 'X', 'Y', 'Z', 'W', 0, 0, 0, 2, 1, 2);
    b_track_begin(&s);
    EV(&s, 0, 0x90, 60, 100);
    EV(&s, 96, 0x80, 60, 0);
    b_track_end(&s);
    CHECK(parse(&s, &n) == A2M_OK && n.n == 1 && n.notes[0].offset == 0.5, "alien chunk skipped");
    a2m_notes_free(&n);
    s.b[10] = 0xff;
    s.b[11] = 0xff;
    CHECK(parse(&s, &n) == A2M_ERR_FORMAT, "65535 declared tracks");
}

static void test_files(void) {
    char dir[] = "/tmp/a2m_test_midi.XXXXXX";
    if (!mkdtemp(dir)) return;
    char path[256];
    a2m_notes n;
    snprintf(path, sizeof path, "%s/missing.mid", dir);
    CHECK(a2m_midi_read(path, &n) == A2M_ERR_IO && strstr(a2m_errmsg(), path), "missing: %s", a2m_errmsg());
    CHECK(a2m_midi_read(dir, &n) == A2M_ERR_IO && strstr(a2m_errmsg(), "folder"), "folder: %s", a2m_errmsg());
    snprintf(path, sizeof path, "%s/empty.mid", dir);
    fclose(fopen(path, "wb"));
    CHECK(a2m_midi_read(path, &n) == A2M_ERR_EMPTY, "empty file");

    /* write -> read: same ticks, repeated pitch re-triggers */
    a2m_note notes[] = {
        {0.0, 0.5, 60, 100, 0},
        {0.5, 1.0, 60, 80, 0},
        {0.25, 2.0, 64, 0, 0},
        {1.0 + 1.0 / 960, 1.5, 67.4, 127, 0},
    };
    a2m_midi_write_params wp = a2m_midi_write_default_params();
    snprintf(path, sizeof path, "%s/out.mid", dir);
    CHECK(a2m_midi_write(path, notes, 4, wp) == A2M_OK, "write: %s", a2m_errmsg());
    CHECK(a2m_midi_read(path, &n) == A2M_OK && n.n == 4, "read back: %s", a2m_errmsg());
    double spt = 0.5 / 480;
    int same = n.n == 4;
    for (size_t i = 0; same && i < 4; i++) {
        int found = 0;
        for (size_t j = 0; j < 4; j++)
            if (llround(n.notes[j].onset / spt) == llround(notes[i].onset / spt) &&
                llround(n.notes[j].offset / spt) == llround(notes[i].offset / spt) &&
                n.notes[j].pitch == round(notes[i].pitch))
                found = 1;
        same &= found;
    }
    CHECK(same, "round trip keeps every note's ticks");
    if (n.n == 4) CHECK(n.notes[1].pitch == 64 && n.notes[1].velocity == 100, "velocity 0 -> default");
    a2m_notes_free(&n);

    /* encode at another resolution and tempo, re-encode the parsed notes: identical bytes */
    wp.ticks_per_beat = 96;
    wp.tempo_bpm = 90;
    wp.program = 52;
    uint8_t *b1, *b2;
    size_t l1, l2;
    CHECK(a2m_midi_encode(notes, 4, wp, &b1, &l1) == A2M_OK, "encode");
    CHECK(a2m_midi_parse(b1, l1, "mem", &n) == A2M_OK && n.ticks_per_beat == 96 && fabs(n.first_tempo_bpm - 90) < 1e-3,
          "parse encoded");
    CHECK(a2m_midi_encode(n.notes, n.n, wp, &b2, &l2) == A2M_OK && l1 == l2 && memcmp(b1, b2, l1) == 0,
          "encode(parse(encode(x))) == encode(x)");
    check_all_truncations(b1, l1, "encoded");
    free(b1);
    free(b2);
    a2m_notes_free(&n);

    /* an empty note list is a valid file without notes */
    CHECK(a2m_midi_encode(NULL, 0, wp, &b1, &l1) == A2M_OK && a2m_midi_parse(b1, l1, "mem", &n) == A2M_OK && n.n == 0,
          "empty MIDI");
    free(b1);
    a2m_note bad = {1.0, 0.5, 60, 100, 0};
    CHECK(a2m_midi_encode(&bad, 1, wp, &b1, &l1) == A2M_ERR_RANGE, "offset before onset rejected");
    bad = (a2m_note){0.0, NAN, 60, 100, 0};
    CHECK(a2m_midi_encode(&bad, 1, wp, &b1, &l1) == A2M_ERR_NONFINITE, "NaN rejected");
    wp.ticks_per_beat = 0;
    CHECK(a2m_midi_encode(notes, 1, wp, &b1, &l1) == A2M_ERR_ARG, "bad params rejected");
    CHECK(a2m_midi_write(dir, notes, 1, a2m_midi_write_default_params()) == A2M_ERR_IO, "write onto a folder");

    /* CSV */
    snprintf(path, sizeof path, "%s/notes.csv", dir);
    FILE *f = fopen(path, "wb");
    fputs("onset_s,offset_s,midi_pitch,confidence\r\n# comment\r\n1.5, 2.0, 64, 0.9\r\n\r\n0.0,1.0,60.5\r\n", f);
    fclose(f);
    CHECK(a2m_notes_read_any(path, &n) == A2M_OK && n.n == 2, "CSV: %s", a2m_errmsg());
    if (n.n == 2) CHECK(n.notes[0].pitch == 60.5 && n.notes[1].onset == 1.5 && n.notes[1].offset == 2.0, "CSV values");
    a2m_notes_free(&n);
    f = fopen(path, "wb");
    fputs("0,1,60\n0.5,abc,62\n", f);
    fclose(f);
    CHECK(a2m_notes_read_csv(path, &n) == A2M_ERR_FORMAT && strstr(a2m_errmsg(), "line 2"), "CSV bad line: %s",
          a2m_errmsg());
    f = fopen(path, "wb");
    fputs("0,nan,60\n", f);
    fclose(f);
    CHECK(a2m_notes_read_csv(path, &n) == A2M_ERR_NONFINITE, "CSV NaN");
    f = fopen(path, "wb");
    fputs("2,1,60\n", f);
    fclose(f);
    CHECK(a2m_notes_read_csv(path, &n) == A2M_ERR_FORMAT, "CSV offset before onset");
    snprintf(path, sizeof path, "%s/notes.xyz", dir);
    CHECK(a2m_notes_read_any(path, &n) == A2M_ERR_ARG, "unknown extension");

    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "cannot clean %s\n", dir);
}

static void test_note_names(void) {
    char buf[8];
    CHECK(strcmp(a2m_note_name(60, buf), "C4") == 0, "60 = C4");
    CHECK(strcmp(a2m_note_name(61, buf), "C#4") == 0, "61 = C#4");
    CHECK(strcmp(a2m_note_name(21, buf), "A0") == 0, "21 = A0");
    CHECK(strcmp(a2m_note_name(0, buf), "C-1") == 0, "0 = C-1");
    CHECK(strcmp(a2m_note_name(127, buf), "G9") == 0, "127 = G9");
    CHECK(strcmp(a2m_note_name(128, buf), "?") == 0, "128 = ?");
}

static int in_set(const unsigned char *set, int n) { return (set[n / 8] >> (n % 8)) & 1; }

static int set_count(const unsigned char *set) {
    int k = 0;
    for (int n = 0; n < 128; n++) k += in_set(set, n);
    return k;
}

/* `--notes` texts: numbers, names with and without an octave, ranges; every malformed item refused by name */
static void test_note_sets(void) {
    unsigned char set[16];
    CHECK(a2m_note_set_parse("48,52,55", set) == A2M_OK && set_count(set) == 3 && in_set(set, 48) && in_set(set, 52) &&
              in_set(set, 55),
          "48,52,55");
    CHECK(a2m_note_set_parse("C3, E3 ,G3", set) == A2M_OK && set_count(set) == 3 && in_set(set, 48) &&
              in_set(set, 52) && in_set(set, 55),
          "C3,E3,G3 (spaces around items)");
    CHECK(a2m_note_set_parse("C3-G3", set) == A2M_OK && set_count(set) == 8 && in_set(set, 48) && in_set(set, 55),
          "C3-G3: 48..55");
    CHECK(a2m_note_set_parse("Bb2,B#3,Cb4,c-1,G9,f#3", set) == A2M_OK && set_count(set) == 6 && in_set(set, 46) &&
              in_set(set, 60) && in_set(set, 59) && in_set(set, 0) && in_set(set, 127) && in_set(set, 54),
          "Bb2 46, B#3 60, Cb4 59, c-1 0, G9 127, f#3 54");
    CHECK(a2m_note_set_parse("C,E,G", set) == A2M_OK && set_count(set) == 11 + 11 + 11 && in_set(set, 0) &&
              in_set(set, 4) && in_set(set, 127) && !in_set(set, 1) && in_set(set, 120),
          "C,E,G: every octave (%d notes)", set_count(set));
    CHECK(a2m_note_set_parse("Cb", set) == A2M_OK && in_set(set, 11) && !in_set(set, 0), "Cb: the pitch class B");
    int list[128];
    CHECK(a2m_note_set_parse("G3,C3-D3,127,0", set) == A2M_OK && a2m_note_set_list(set, list) == 6 && list[0] == 0 &&
              list[1] == 48 && list[3] == 50 && list[4] == 55 && list[5] == 127,
          "the set listed in ascending order");
    memset(set, 0, sizeof set);
    CHECK(a2m_note_set_list(set, list) == 0, "an empty set lists no note");
    static const char *bad[] = {"",
                                ",",
                                "48,",
                                ",48",
                                "48,,52",
                                "H3",
                                "C3-",
                                "60-50",
                                "C-E",
                                "C-G3",
                                "128",
                                "G#9",
                                "C10",
                                "e0333333333333333333333333333-40",
                                "C-99999999999999999999999",
                                "C3x",
                                "-5",
                                "48 52",
                                "C##3",
                                "4-"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        set[0] = 0xff;
        int rc = a2m_note_set_parse(bad[i], set);
        CHECK(rc == A2M_ERR_ARG && set[0] == 0 && strstr(a2m_errmsg(), "is not a note"), "\"%s\" refused: %s", bad[i],
              a2m_errmsg());
    }
    CHECK(a2m_note_set_parse("48,H3", set) == A2M_ERR_ARG && strstr(a2m_errmsg(), "\"H3\""), "names the item: %s",
          a2m_errmsg());
}

int main(void) {
    test_running_status_sysex_vel0();
    test_tempo_change();
    test_format1_merge();
    test_overlapping_notes();
    test_rejected();
    test_files();
    test_note_names();
    test_note_sets();
    const char *shared = test_shared_dir();
    if (shared) test_reference_files(shared);
    return test_done("test_midi");
}
