/* Training-data generation for the any-pitch model: random melodies (the
 * notes meant), a random performance of them (detune, drift, vibrato,
 * portamento, loudness), three renderers (an additive voice with vowel
 * formants, libfluidsynth with a soundfont's voice presets, and librubberband
 * pitch shifts of recorded takes) and an augmentation chain toward phone
 * recordings (gain, EQ, band-limiting, room reverb, noise at a given SNR).
 * Every random choice comes from a seed: the same seed gives the same bytes. */
#ifndef A2M_GEN_H
#define A2M_GEN_H

#include <stddef.h>
#include <stdint.h>

#include "a2m/midi.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- random numbers (splitmix64) ---- */
uint64_t a2m_gen_next(uint64_t *state);
double a2m_gen_uniform(uint64_t *state); /* [0, 1) */
double a2m_gen_range(uint64_t *state, double lo, double hi);
double a2m_gen_normal(uint64_t *state); /* N(0, 1) */
/* A seed for item i of a stream named by a string: (seed, name, i) -> state. */
uint64_t a2m_gen_seed(uint64_t seed, const char *name, uint64_t i);

/* ---- melodies ---- */
typedef struct a2m_melody_params {
    double seconds;      /* take length, 8; notes end before it minus a trailing silence */
    int lo, hi;          /* 36, 84: every note inside [lo, hi] */
    int max_range;       /* 18: a take spans at most this many semitones */
    double min_dur_s;    /* 0.08 */
    double max_dur_s;    /* 1.5 */
    double median_dur_s; /* 0.3 (scaled by a per-take tempo factor 0.6..1.6) */
    double p_rest;       /* 0.15: a transition is a rest of 0.05..0.8 s */
    double p_legato;     /* 0.6: a transition is legato (offset = next onset); else a short gap */
} a2m_melody_params;
a2m_melody_params a2m_melody_default_params(void);
/* Intended notes (integer MIDI, velocity 50..120 drawn per note), sorted, *notes malloc'd;
 * at least one note. Leading and trailing silence 0.2..1 s. */
int a2m_melody_random(a2m_melody_params p, uint64_t seed, a2m_note **notes, size_t *n);

/* ---- a performance of the notes (the pitch actually sung) ---- */
typedef struct a2m_perf {
    double detune_cents;    /* whole take, -35..35 */
    double drift_cents;     /* amplitude of a slow wander (0.03-0.3 Hz), 0..20 */
    double vibrato_hz;      /* 4.5..7 */
    double vibrato_cents;   /* depth (peak), 0..60 */
    double vibrato_delay_s; /* after each onset before vibrato reaches full depth, 0.05..0.4 */
    double glide_s;         /* portamento between legato notes (centred on the boundary), 0.03..0.12 */
    double scoop_cents; /* a note not tied to the previous one starts this far below, 0 (half the takes) or 20..120 */
    double scoop_s;     /* and reaches its pitch after this long, 0.04..0.12 */
    double intonation_cents; /* each note sung off by N(0, this) cents (clipped at 2x), 0..25 */
    uint64_t note_seed;      /* draws each note's error from its onset time */
    double phase[4];         /* drift and vibrato phases, radians */
    double drift_hz[3];
} a2m_perf;
/* No detune, drift, vibrato or glide: the notes exactly. */
a2m_perf a2m_perf_none(void);
a2m_perf a2m_perf_random(uint64_t seed);
/* Pitch (fractional MIDI) sung at time t: the note sounding at t (or the last
 * one begun before t) off by its own intonation error, with the glide of a
 * legato boundary, the scoop up into a detached note, detune, drift and
 * vibrato. Notes sorted by onset. */
double a2m_perf_pitch(const a2m_perf *perf, const a2m_note *notes, size_t n, double t);

/* Cents by which a steady tone x[n] sits off MIDI note midi (within -100..100):
 * the peak of its first four harmonics' summed windowed DFT, 0.25-cent steps.
 * Silent x: A2M_ERR_EMPTY. */
int a2m_gen_pitch_offset(const float *x, size_t n, int rate, double midi, double *cents);

/* ---- additive voice ---- */
typedef struct a2m_voice_params {
    int rate;             /* 16000 */
    double seconds;       /* output length; <= 0: last offset + release */
    double formant_scale; /* 1.0 (adult male); 1.1-1.2 brighter voices */
    double tilt;          /* source slope: harmonic h at 1/h^tilt, 1.0 */
    double breath;        /* breath noise relative to the tone, 0.02 */
    double attack_s;      /* 0.04 */
    double release_s;     /* 0.08 */
    double peak;          /* output peak, 0.5 */
    uint64_t seed;        /* vowels per note (a e i o u) and noise */
    double consonants;    /* probability of a consonant before a note (lyrics), 0 */
} a2m_voice_params;
a2m_voice_params a2m_voice_default_params(void);
/* Renders notes as performed by perf (legato notes as one continuous tone). */
int a2m_voice_render(const a2m_note *notes, size_t n, const a2m_perf *perf, a2m_voice_params p, float **out,
                     size_t *n_out);
/* Vowel of note i for a seed: 'a', 'e', 'i', 'o' or 'u'. */
char a2m_voice_vowel(uint64_t seed, size_t i);
/* Consonant before note i: 0 none, 'p' plosive (closure + burst), 's', 'S' (sh)
 * fricative (hiss before the onset), 'm' nasal (a dip between tied notes). */
char a2m_voice_consonant(const a2m_voice_params *p, size_t i);

/* ---- libfluidsynth ---- */
typedef struct a2m_fluid a2m_fluid;
/* Loads soundfonts (.sf2/.sf3) for offline rendering at rate and lists their
 * voice presets of bank 0 (names containing Aah, Ooh, Vox, Voice, Choir). A missing or
 * unreadable file is A2M_ERR_IO naming it; none with a voice preset is
 * A2M_ERR_FORMAT. fluidsynth's log output is silenced. */
int a2m_fluid_new(const char *const *soundfonts, size_t n_soundfonts, int rate, a2m_fluid **out);
void a2m_fluid_del(a2m_fluid *f);
size_t a2m_fluid_n_presets(const a2m_fluid *f);
const char *a2m_fluid_preset_name(const a2m_fluid *f, size_t i); /* "FluidR3Mono_GM.sf3:000:052 Choir Aahs" */
/* Cents by which preset i's key sounds off when played plainly (a2m_gen_pitch_offset
 * of a 1.25 s note over its last second; FluidR3's Ahh Choir: -30..-40 at keys 36-52,
 * Voice Oohs within 10 everywhere), and (lead_s, may be NULL) the seconds its sample
 * takes to reach half its level (choirs 60-170 ms). Measured once per (preset, key)
 * and kept in f. */
int a2m_fluid_key_tuning(a2m_fluid *f, size_t preset, int key, double *cents, double *lead_s);
/* Scales the presets' envelope attack and release times (0.01..4; 1 = as
 * sampled) for the renders to come (release: 200-670 ms to fall 20 dB after a
 * note-off, x0.25 -> 50-200 ms; a choir's slow onset is in its samples, not its
 * envelope: renders start each note early by its key's lead instead). */
int a2m_fluid_set_envelope(a2m_fluid *f, double attack_scale, double release_scale);
/* Renders notes with voice preset i, pitch bends following perf (bend range
 * 12 semitones, consecutive notes on alternating channels so a release keeps
 * its own pitch), peak-normalised to peak; length seconds (<= 0: last offset + 0.5 s).
 * Each key's sampled tuning (a2m_fluid_key_tuning) is bent away, so the pitch
 * sounding is the note plus perf's deviations, and each note starts its key's
 * lead early (at most half the time since the previous onset), so it is at half
 * level at its onset. */
int a2m_fluid_render(a2m_fluid *f, size_t preset, const a2m_note *notes, size_t n, const a2m_perf *perf, double seconds,
                     double peak, float **out, size_t *n_out);

/* ---- festival (a subprocess) ---- */
/* Sings notes (sorted, not overlapping, MIDI 24..71: its voice crashes above ~510 Hz) with festival's singing
 * mode (`text2wave -mode singing`, the kal diphone voice): one syllable per note
 * (la, doo, ah, ... drawn from seed), each at the frequency perf gives at the
 * note's middle without vibrato (festival glides between notes by itself);
 * seconds long at 16 kHz, peak-normalised. text2wave missing or failing: A2M_ERR_IO. */
int a2m_festival_render(const a2m_note *notes, size_t n, const a2m_perf *perf, double seconds, uint64_t seed,
                        double peak, float **out, size_t *n_out);
const char *a2m_festival_syllable(uint64_t seed, size_t i);

/* ---- librubberband ---- */
/* Shifts pitch by semitones (-48..48) keeping duration and formants (offline,
 * finer engine); *y malloc'd, *ny == n. */
int a2m_pitch_shift(const float *x, size_t n, int rate, double semitones, float **y, size_t *ny);
/* Same with the formants moved by formant_scale (0.5..2; 1 = kept): another
 * singer's vocal tract (higher voices have higher formants). */
int a2m_pitch_shift_formant(const float *x, size_t n, int rate, double semitones, double formant_scale, float **y,
                            size_t *ny);
/* Same, and every time multiplied by time_ratio (0.5..2; > 1 slower): *ny ==
 * round(n * time_ratio), a note at t..u in x sits at t * r..u * r in y. */
int a2m_stretch_shift(const float *x, size_t n, int rate, double semitones, double formant_scale, double time_ratio,
                      float **y, size_t *ny);

/* ---- augmentation ---- */
typedef enum a2m_noise_kind {
    A2M_NOISE_WHITE = 0,
    A2M_NOISE_PINK,
    A2M_NOISE_BROWN,
    A2M_NOISE_HUM,
    A2M_NOISE_BABBLE,
    A2M_NOISE_KINDS_
} a2m_noise_kind;
const char *a2m_noise_name(a2m_noise_kind k);
/* Adds noise of a kind at snr_db relative to x's mean power (over the whole
 * buffer). Silent x: A2M_ERR_EMPTY. */
int a2m_add_noise(float *x, size_t n, int rate, a2m_noise_kind kind, double snr_db, uint64_t seed);
/* Convolves x with a synthetic room (direct path + exponentially decaying
 * noise after a 5-20 ms predelay, darker as it decays (low-passed down to
 * 0.6-2.5 kHz at rt60), RT60 rt60_s, direct-to-reverberant ratio drr_db); length
 * kept, loudness (RMS) kept. */
int a2m_reverb(float *x, size_t n, int rate, double rt60_s, double drr_db, uint64_t seed);
/* RBJ biquads in place: kind 'p' peaking, 'l' low shelf, 'h' high shelf,
 * 'H' high-pass, 'L' low-pass (q = 0.7071 for Butterworth). */
int a2m_biquad(float *x, size_t n, int rate, char kind, double f_hz, double q, double gain_db);
/* Compressor with make-up gain, as a phone's AGC: above threshold_db (relative
 * to x's peak) the level grows 1/ratio as fast; peak envelope with attack and
 * release times; the mean power is kept. */
int a2m_compress(float *x, size_t n, int rate, double threshold_db, double ratio, double attack_s, double release_s);
/* tanh saturation driven drive_db above x's peak, peak kept. */
int a2m_soft_clip(float *x, size_t n, double drive_db);

typedef struct a2m_augment_info {
    int applied; /* 0: the take is clean */
    double gain_db;
    int n_eq; /* 0..2 */
    char eq_kind[2];
    double eq_hz[2], eq_q[2], eq_db[2];
    double hp_hz, lp_hz;   /* 0: no band-limiting */
    double rt60_s, drr_db; /* rt60 0: no reverb */
    int noise;             /* -1 none, else a2m_noise_kind */
    double snr_db;
    double comp_threshold_db, comp_ratio; /* ratio 0: no AGC */
    double clip_drive_db;                 /* 0: no clipping */
} a2m_augment_info;
/* With probability p the take gets a random chain (reverb 50%, noise 80%,
 * band-limiting 50%, EQ 50%, AGC 30% (threshold -35..-15 dB, ratio 2..8),
 * soft clipping 10% (drive 3..12 dB), then gain -20..+6 dB, peak-limited to
 * 0.99); otherwise nothing. info may be NULL. */
int a2m_augment(float *x, size_t n, int rate, double p, uint64_t seed, a2m_augment_info *info);
/* "gain -3.2dB; eq peak 1200Hz q1.1 +4.0dB; reverb rt60 0.45s drr 6.0dB; ..." (no commas) */
void a2m_augment_describe(const a2m_augment_info *info, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
