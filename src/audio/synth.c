/* Voice-like test-signal synthesizer: for each note, a sum of harmonics
 * shaped by a vowel's formant envelope ("ah"), with delayed vibrato, a
 * raised-cosine attack and release, and band-limited breath noise. The
 * output is normalized to a fixed peak and depends only on the notes, the
 * parameters and the seed. */
#include "a2m/audio.h"
#include "a2m/error.h"
#include "core/rand.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const double MAX_DURATION_S = 3600.0;
/* The notes' sounding time in all (each note's length + release): the work is ~3.4 ms of CPU a note-second at
 * 16 kHz (2,000 one-second notes at once: 7.4 s), so a 4 KB MIDI file of 65,535 tracks of one chord note ran for
 * minutes; 4 hours of note time is a minute of work, and a melody an hour long uses a quarter of it. */
static const double MAX_SOUNDING_S = 4 * 3600.0;
/* The vowel "ah": formant centre frequencies, bandwidths and gains. */
static const double FORMANT_HZ[3] = {700.0, 1220.0, 2600.0};
static const double FORMANT_BW_HZ[3] = {130.0, 70.0, 160.0};
static const double FORMANT_GAIN[3] = {1.0, 0.5, 0.25};
static const double VIBRATO_ONSET_S = 0.15; /* vibrato fades in over this time */

/* transpose 0, duration_s 0: the notes' length */
a2m_synth_params a2m_synth_default_params(void) {
    a2m_synth_params p = {.rate = 16000, .n_harmonics = 12, .breath = 0.02, .gain = 0.5, .seed = 1};
    p.vibrato_hz = 5.5, p.vibrato_cents = 30; /* faded in over VIBRATO_ONSET_S */
    p.attack_s = 0.04, p.release_s = 0.08;    /* the raised-cosine ramps of each note */
    return p;
}

/* Amplitude of harmonic number h (1 = fundamental) at frequency f of a sung
 * vowel: a glottal source falling 6 dB per octave of harmonic number, shaped
 * by the vowel's formant resonances over a floor. The fundamental stays the
 * strongest partial, as in the chest voice of the seed recordings. */
static double vowel_envelope(double f, int h) {
    double a = 0.6; /* floor between formants */
    for (int k = 0; k < 3; k++) {
        double d = (f - FORMANT_HZ[k]) / (0.5 * FORMANT_BW_HZ[k]);
        a += FORMANT_GAIN[k] / (1.0 + d * d);
    }
    return a / h;
}

/* Raised-cosine rise over [0, len]: 0 -> 1. */
static double rise(double t, double len) {
    if (len <= 0 || t >= len) return 1.0;
    if (t <= 0) return 0.0;
    return 0.5 - 0.5 * cos(M_PI * t / len);
}

static int check_params(const a2m_synth_params *p) {
    if (p->rate < 1000 || p->rate > 384000)
        return a2m_error(A2M_ERR_ARG, "synth: rate %d outside 1000..384000", p->rate);
    if (p->n_harmonics < 1 || p->n_harmonics > 64)
        return a2m_error(A2M_ERR_ARG, "synth: %d harmonics outside 1..64", p->n_harmonics);
    if (!(p->vibrato_hz >= 0 && p->vibrato_hz < 50) || !(p->vibrato_cents >= 0 && p->vibrato_cents <= 200))
        return a2m_error(A2M_ERR_ARG, "synth: vibrato %g Hz / %g cents out of range", p->vibrato_hz, p->vibrato_cents);
    if (!(p->breath >= 0 && p->breath <= 1)) return a2m_error(A2M_ERR_ARG, "synth: breath %g outside 0..1", p->breath);
    if (!(p->attack_s >= 0 && p->attack_s <= 2) || !(p->release_s >= 0 && p->release_s <= 2))
        return a2m_error(A2M_ERR_ARG, "synth: attack/release outside 0..2 s");
    if (!(p->gain > 0 && p->gain <= 1)) return a2m_error(A2M_ERR_ARG, "synth: gain %g outside (0, 1]", p->gain);
    if (!(fabs(p->transpose) <= 48)) return a2m_error(A2M_ERR_ARG, "synth: transpose %g outside -48..48", p->transpose);
    if (!(p->duration_s <= MAX_DURATION_S))
        return a2m_error(A2M_ERR_RANGE, "synth: duration above %g s", MAX_DURATION_S);
    return A2M_OK;
}

/* Adds one note into out[n_out]. */
static void render_note(const a2m_note *note, const a2m_synth_params *p, uint64_t *rng, float *out, size_t n_out) {
    double rate = p->rate, nyquist = 0.5 * rate;
    double f0 = 440.0 * pow(2.0, (note->pitch + p->transpose - 69.0) / 12.0);
    double vel = note->velocity >= 1 && note->velocity <= 127 ? note->velocity : 100;
    double level = 0.4 + 0.6 * vel / 127.0;
    double length = note->offset - note->onset;
    double attack = fmin(p->attack_s, 0.5 * length);
    double vib_phase = 2 * M_PI * a2m_uniform53(rng);
    double amp[64];
    for (int k = 0; k < p->n_harmonics; k++) amp[k] = vowel_envelope(f0 * (k + 1), k + 1);
    size_t first = (size_t)ceil(note->onset * rate);
    double end_t = note->offset + p->release_s;
    size_t last = (size_t)fmin(ceil(end_t * rate), (double)n_out);
    double phase = 0, noise_lp = 0, noise_bp = 0;
    double noise_coef = 1.0 - exp(-2 * M_PI * fmin(3000.0, 0.4 * rate) / rate);
    for (size_t i = first; i < last; i++) {
        double t = (double)i / rate - note->onset;
        double env = rise(t, attack);
        if (t > length) env *= 1.0 - rise(t - length, p->release_s);
        double vib =
            p->vibrato_cents / 1200.0 * rise(t, VIBRATO_ONSET_S) * sin(2 * M_PI * p->vibrato_hz * t + vib_phase);
        double f = f0 * pow(2.0, vib);
        phase += 2 * M_PI * f / rate;
        if (phase > 2 * M_PI * 1024) phase -= 2 * M_PI * 1024; /* keep precision; harmonics stay aligned */
        double tone = 0;
        for (int k = 0; k < p->n_harmonics && f * (k + 1) < 0.95 * nyquist; k++) tone += amp[k] * sin((k + 1) * phase);
        /* breath: white noise through a one-pole low-pass minus a slower one (a crude band-pass) */
        double white = 2 * a2m_uniform53(rng) - 1;
        noise_lp += noise_coef * (white - noise_lp);
        noise_bp += 0.05 * (noise_lp - noise_bp);
        out[i] += (float)(level * env * (tone + p->breath * 8.0 * (noise_lp - noise_bp)));
    }
}

int a2m_synth_render(const a2m_note *notes, size_t n_notes, a2m_synth_params p, float **out, size_t *n) {
    *out = NULL;
    *n = 0;
    int rc = check_params(&p);
    if (rc) return rc;
    double end = 0, sounding = 0;
    for (size_t i = 0; i < n_notes; i++) {
        const a2m_note *nt = &notes[i];
        if (!isfinite(nt->onset) || !isfinite(nt->offset) || !isfinite(nt->pitch))
            return a2m_error(A2M_ERR_NONFINITE, "synth: note %zu has a non-finite time or pitch", i);
        if (nt->onset < 0 || nt->offset <= nt->onset || nt->pitch < 0 || nt->pitch > 127)
            return a2m_error(A2M_ERR_RANGE, "synth: note %zu (%.3f-%.3f s, pitch %g) out of range", i, nt->onset,
                             nt->offset, nt->pitch);
        end = fmax(end, nt->offset + p.release_s);
        sounding += nt->offset - nt->onset + p.release_s;
    }
    if (sounding > MAX_SOUNDING_S)
        return a2m_error(A2M_ERR_RANGE, "synth: the notes sound %.0f s in all, more than %g s (a voice, not a crowd)",
                         sounding, MAX_SOUNDING_S);
    double duration = p.duration_s > 0 ? p.duration_s : end;
    if (duration > MAX_DURATION_S) return a2m_error(A2M_ERR_RANGE, "synth: notes run past %g s", MAX_DURATION_S);
    size_t len = (size_t)llround(duration * p.rate);
    if (len == 0) return a2m_error(A2M_ERR_EMPTY, "synth: nothing to render (no notes and no duration)");
    float *y = calloc(len, sizeof *y);
    if (!y) return a2m_error(A2M_ERR_NOMEM, "synth: out of memory");
    uint64_t rng = 0x5eed0000ull ^ p.seed;
    for (size_t i = 0; i < n_notes; i++) render_note(&notes[i], &p, &rng, y, len);
    float peak = 0;
    for (size_t i = 0; i < len; i++) peak = fmaxf(peak, fabsf(y[i]));
    if (peak > 0) {
        float scale = (float)p.gain / peak;
        for (size_t i = 0; i < len; i++) y[i] *= scale;
    }
    *out = y;
    *n = len;
    return A2M_OK;
}
