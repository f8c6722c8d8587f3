/* Standard MIDI Files: reader (format 0/1, running status, tempo map,
 * mido-exact seconds), writer, and MIDI -> frame labels. */
#ifndef A2M_MIDI_H
#define A2M_MIDI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct a2m_note {
    double onset;  /* seconds */
    double offset; /* seconds, > onset */
    double pitch;  /* MIDI number; fractional allowed in CSV/metrics */
    int velocity;  /* 1..127 */
    int channel;   /* 0..15 */
} a2m_note;

typedef struct a2m_notes {
    a2m_note *notes; /* sorted by onset, then pitch */
    size_t n;
    int ticks_per_beat;
    double first_tempo_bpm;
} a2m_notes;

/* Seconds are computed as mido does (tracks merged by absolute tick, each
 * delta converted at the tempo in force, summed in double precision), so
 * frame labels are bit-exact with the original project. A note-on with
 * velocity 0 is a note-off; overlapping notes of the same pitch pair FIFO;
 * a note left open ends at the last event. name is for messages. */
int a2m_midi_parse(const uint8_t *buf, size_t len, const char *name, a2m_notes *out);
int a2m_midi_read(const char *path, a2m_notes *out);
void a2m_notes_free(a2m_notes *n);

typedef struct a2m_midi_write_params {
    int ticks_per_beat; /* 480 */
    double tempo_bpm;   /* 120 */
    int program;        /* General MIDI program 0..127, 0 (piano) */
    int channel;        /* 0 */
    int velocity;       /* used when a note's velocity is 0: 100 */
} a2m_midi_write_params;
a2m_midi_write_params a2m_midi_write_default_params(void);
/* Format-0 file, notes rounded to the nearest tick, written atomically. */
int a2m_midi_write(const char *path, const a2m_note *notes, size_t n, a2m_midi_write_params p);
/* Same into memory (*buf malloc'd) for tests and streaming. */
int a2m_midi_encode(const a2m_note *notes, size_t n, a2m_midi_write_params p, uint8_t **buf, size_t *len);

/* Notes CSV: header "onset_s,offset_s,midi_pitch" optional; extra columns ignored. */
int a2m_notes_read_csv(const char *path, a2m_notes *out);
/* Reads a .mid/.midi or .csv by extension. */
int a2m_notes_read_any(const char *path, a2m_notes *out);

/* ---- frame labels ---- */
#define A2M_MAX_CLASSES 64
typedef struct a2m_label_params {
    double sample_rate;             /* 16000 */
    int hop;                        /* 96 */
    int n_notes;                    /* 3: classes 1..n_notes; 0 is silence */
    int notes[A2M_MAX_CLASSES - 1]; /* {60, 64, 67} */
    int transpose;                  /* semitones added to MIDI pitches before the class lookup */
    int onset_frames;               /* 0: none; N > 0: one more class, n_notes + 1 ("onset"), on the first N frames of
                           * every mapped note (an onset target for note segmentation: a repeated pitch
                           * or a legato step starts a new note) */
    int range_classes;              /* 0: notes outside the map are ignored; 1: two more classes after the others,
                           * "below" and "above" the map's range, for notes under its lowest / over its highest
                           * note (a model then says a pitch is out of its range instead of folding it in) */
} a2m_label_params;
/* Classes of a label map: silence, the notes, the onset class when onset_frames > 0, then below and above when
 * range_classes. */
int a2m_label_n_classes(const a2m_label_params *p);
/* class_notes values of the special classes in models (silence is -1) */
#define A2M_CLASS_ONSET (-2)
#define A2M_CLASS_BELOW (-3)
#define A2M_CLASS_ABOVE (-4)
a2m_label_params a2m_label_default_params(void);
/* Class of each of n_frames frames: frame of time t is floor(t*sr/hop); later
 * notes overwrite earlier ones; frames clamped to [0, n_frames). Notes whose
 * (transposed) pitch is not in the map are ignored and counted in *n_unmapped
 * (may be NULL). */
int a2m_labels_from_notes(const a2m_note *notes, size_t n, a2m_label_params p, int64_t *labels /* [n_frames] */,
                          size_t n_frames, size_t *n_unmapped);
/* Note name "C4" (MIDI 60 = C4) into buf (>= 8 bytes). */
const char *a2m_note_name(int midi, char *buf);
/* A set of notes from text (`a2m transcribe --notes`): comma-separated MIDI numbers (0-127), names with an octave
 * (C4 = 60, F#3, Bb2, C-1 = 0), ranges of either ("48-55", "C3-G3", both ends included), and names without an
 * octave for that pitch class in every octave ("C,D,E,F,G,A,B": C major). Into set: bit n % 8 of set[n / 8] for
 * note n (cleared first). A2M_ERR_ARG naming the item at fault; an empty text or item is one. */
int a2m_note_set_parse(const char *text, unsigned char set[16]);
/* The notes of such a set in ascending order into notes [128]; returns their count (0: the set is empty). */
int a2m_note_set_list(const unsigned char set[16], int notes[128]);

#ifdef __cplusplus
}
#endif
#endif
