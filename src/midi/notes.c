/* Note lists from CSV ("onset_s,offset_s,midi_pitch", header optional, extra
 * columns ignored), from a file of either kind, and note names. */
#include "a2m/error.h"
#include "core/fileio.h"
#include "a2m/io.h"
#include "a2m/midi.h"
#include "core/grow.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const size_t CSV_MAX_BYTES = (size_t)64 << 20;
enum { CSV_MAX_NOTES = 1 << 22 };

/* Parses one number field ending at ',' or the end of the line; advances *s. */
static int parse_field(const char **s, const char *end, double *v) {
    const char *p = *s;
    while (p < end && (*p == ' ' || *p == '\t')) p++;
    char tmp[64];
    size_t n = 0;
    while (p + n < end && p[n] != ',' && n < sizeof tmp - 1) {
        tmp[n] = p[n];
        n++;
    }
    if (p + n < end && p[n] != ',') return 0; /* field too long */
    while (n > 0 && isspace((unsigned char)tmp[n - 1])) n--;
    tmp[n] = '\0';
    if (n == 0) return 0;
    char *stop = NULL;
    *v = strtod(tmp, &stop);
    if (*stop != '\0') return 0;
    p += n;
    while (p < end && *p != ',') p++;
    *s = p < end ? p + 1 : p;
    return 1;
}

static int by_onset_then_pitch(const void *a, const void *b) {
    const a2m_note *x = a, *y = b;
    if (x->onset != y->onset) return x->onset < y->onset ? -1 : 1;
    if (x->pitch != y->pitch) return x->pitch < y->pitch ? -1 : 1;
    return 0;
}

static int parse_csv(const char *text, size_t len, const char *name, a2m_notes *out) {
    size_t cap = 0;
    const char *p = text, *end = text + len;
    for (size_t line = 1; p < end; line++) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol) eol = end;
        const char *stop = eol;
        if (stop > p && stop[-1] == '\r') stop--;
        const char *s = p;
        p = eol < end ? eol + 1 : end;
        while (s < stop && isspace((unsigned char)*s)) s++;
        if (s == stop || *s == '#') continue;
        double v[3];
        const char *f = s;
        int ok = parse_field(&f, stop, &v[0]) && parse_field(&f, stop, &v[1]) && parse_field(&f, stop, &v[2]);
        if (!ok) {
            if (out->n == 0 && isalpha((unsigned char)*s)) continue; /* a header line */
            return a2m_error(A2M_ERR_FORMAT, "%s: line %zu: expected onset_s,offset_s,midi_pitch", name, line);
        }
        if (!isfinite(v[0]) || !isfinite(v[1]) || !isfinite(v[2]))
            return a2m_error(A2M_ERR_NONFINITE, "%s: line %zu: non-finite value", name, line);
        if (v[0] < 0 || v[1] <= v[0])
            return a2m_error(A2M_ERR_FORMAT, "%s: line %zu: need 0 <= onset < offset", name, line);
        if (v[2] < 0 || v[2] > 127)
            return a2m_error(A2M_ERR_FORMAT, "%s: line %zu: pitch %g outside 0..127", name, line, v[2]);
        if (out->n == cap) {
            if (cap >= CSV_MAX_NOTES) return a2m_error(A2M_ERR_RANGE, "%s: more than %d notes", name, CSV_MAX_NOTES);
            if (a2m_grow(&out->notes, &cap, out->n + 1, sizeof *out->notes, 64))
                return a2m_error(A2M_ERR_NOMEM, "%s: out of memory", name);
        }
        out->notes[out->n++] = (a2m_note){v[0], v[1], v[2], 100, 0};
    }
    if (out->n) qsort(out->notes, out->n, sizeof *out->notes, by_onset_then_pitch);
    return A2M_OK;
}

static int csv_parse_file(const uint8_t *buf, size_t len, const char *name, void *out) {
    if (memchr(buf, '\0', len)) return a2m_error(A2M_ERR_FORMAT, "%s: not a text file", name);
    return parse_csv((const char *)buf, len, name, out);
}

int a2m_notes_read_csv(const char *path, a2m_notes *out) {
    memset(out, 0, sizeof *out);
    out->first_tempo_bpm = 120.0;
    int rc = a2m_parse_file(path, CSV_MAX_BYTES, csv_parse_file, out);
    if (rc) a2m_notes_free(out);
    return rc;
}

static int has_ext(const char *path, const char *ext) {
    size_t n = strlen(path), e = strlen(ext);
    return n > e && strcasecmp(path + n - e, ext) == 0;
}

int a2m_notes_read_any(const char *path, a2m_notes *out) {
    if (has_ext(path, ".mid") || has_ext(path, ".midi") || has_ext(path, ".smf")) return a2m_midi_read(path, out);
    if (has_ext(path, ".csv") || has_ext(path, ".txt")) return a2m_notes_read_csv(path, out);
    memset(out, 0, sizeof *out);
    return a2m_error(A2M_ERR_ARG, "%s: unknown note file type (expected .mid, .midi or .csv)", path);
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

/* One note of a set's text at *s: a MIDI number, or a name with an octave (*is_class 0), or a name alone (the pitch
 * class, *is_class 1, *note 0..11). Advances *s; 0 when there is none. */
static int note_token(const char **s, int *note, int *is_class) {
    static const int letter_pc[7] = {9, 11, 0, 2, 4, 5, 7}; /* A B C D E F G */
    const char *p = *s;
    char *end;
    *is_class = 0;
    if (isdigit((unsigned char)*p)) {
        long v = strtol(p, &end, 10);
        if (v > 127) return 0;
        *note = (int)v, *s = end;
        return 1;
    }
    int l = toupper((unsigned char)*p) - 'A';
    if (l < 0 || l > 6) return 0;
    int pc = letter_pc[l];
    p++;
    if (*p == '#') pc++, p++;
    else if (*p == 'b') pc--, p++;
    if (isdigit((unsigned char)*p) || (*p == '-' && isdigit((unsigned char)p[1]))) {
        long oct = strtol(p, &end, 10); /* LONG_MAX on overflow: checked before the sum (the fuzzer's e0333...3) */
        if (oct < -1 || oct > 9) return 0;
        long v = (oct + 1) * 12 + pc;
        if (v < 0 || v > 127) return 0;
        *note = (int)v, *s = end;
        return 1;
    }
    *note = (pc + 12) % 12, *is_class = 1, *s = p;
    return 1;
}

int a2m_note_set_parse(const char *text, unsigned char set[16]) {
    memset(set, 0, 16);
    const char *p = text;
    do {
        const char *item = p;
        int lo, hi, cls, cls2 = 0;
        while (*p == ' ') p++;
        int ok = note_token(&p, &lo, &cls);
        hi = lo;
        if (ok && *p == '-') p++, ok = !cls && note_token(&p, &hi, &cls2) && !cls2 && hi >= lo;
        while (ok && *p == ' ') p++;
        if (!ok || (*p && *p != ',')) {
            size_t n = strcspn(item, ",");
            memset(set, 0, 16);
            return a2m_error(A2M_ERR_ARG,
                             "\"%.*s\" is not a note (MIDI 0-127, a name as C4 or F#3 or Bb, or a range "
                             "as 48-55)",
                             (int)(n < 40 ? n : 40), item);
        }
        for (int n = lo; n <= (cls ? 127 : hi); n += cls ? 12 : 1) set[n / 8] |= (unsigned char)(1u << (n % 8));
    } while (*p++ == ',');
    return A2M_OK;
}

int a2m_note_set_list(const unsigned char set[16], int notes[128]) {
    int count = 0;
    for (int n = 0; n < 128; n++)
        if ((set[n / 8] >> (n % 8)) & 1) notes[count++] = n;
    return count;
}
