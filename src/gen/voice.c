/* Additive singing voice for generated training data: each phrase (a chain of
 * legato notes) is one continuous tone whose pitch follows the performance
 * (a2m_perf_pitch: glides, detune, drift, vibrato), harmonics falling as
 * 1/h^tilt under the formants of a vowel drawn per note (a e i o u, Peterson
 * & Barney's adult male values times formant_scale, cross-faded over 60 ms at
 * legato boundaries), loudness from each note's velocity, breath noise.
 * Optional consonants before notes (plosive closure and burst, s/sh hiss, a
 * nasal dip) give the onsets lyrics give. Pitch, loudness, harmonic amplitudes
 * and consonant levels are updated every 32 samples (2 ms at 16 kHz) and
 * interpolated; harmonics come from one sin/cos per sample by complex
 * rotation, so an 8 s take costs about 25 ms. */
#include "a2m/error.h"
#include "a2m/gen.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { BLOCK = 32, MAX_H = 80 };
static const char VOWELS[5] = {'a', 'e', 'i', 'o', 'u'};
static const double FORMANTS[5][3] = {
    {730, 1090, 2440}, {530, 1840, 2480}, {270, 2290, 3010}, {570, 840, 2410}, {300, 870, 2240}};
static const double FORMANT_BW[3] = {90, 110, 170};
static const double FORMANT_GAIN[3] = {1.0, 0.6, 0.3};
static const double VOWEL_FADE_S = 0.06, LEVEL_FADE_S = 0.03;

a2m_voice_params a2m_voice_default_params(void) {
    a2m_voice_params p = {16000, 0, 1.0, 1.0, 0.02, 0.04, 0.08, 0.5, 1, 0};
    return p;
}

/* Consonant before note i of a take: 0 none, 'p' plosive, 's' and 'S' (sh) fricatives, 'm' nasal. */
char a2m_voice_consonant(const a2m_voice_params *p, size_t i) {
    if (!(p->consonants > 0)) return 0;
    uint64_t s = a2m_gen_seed(p->seed, "consonant", i);
    if (!(a2m_gen_uniform(&s) < p->consonants)) return 0;
    return "psSm"[(int)(4 * a2m_gen_uniform(&s))];
}

static int vowel_index(uint64_t seed, size_t i) {
    uint64_t s = a2m_gen_seed(seed, "vowel", i);
    return (int)(a2m_gen_uniform(&s) * 5);
}
char a2m_voice_vowel(uint64_t seed, size_t i) { return VOWELS[vowel_index(seed, i)]; }

static double rise(double t, double len) {
    if (len <= 0 || t >= len) return 1.0;
    if (t <= 0) return 0.0;
    return 0.5 - 0.5 * cos(M_PI * t / len);
}

static double note_level(const a2m_note *nt) {
    int v = nt->velocity >= 1 && nt->velocity <= 127 ? nt->velocity : 100;
    return pow(v / 127.0, 1.5); /* about 0..-20 dB over velocities 127..27 */
}

/* Weight of note i+1 (vs i) at time t near their shared boundary b: 0 -> 1 over fade. */
static double crossfade(double t, double b, double fade) { return fmin(1, fmax(0, (t - b) / fade + 0.5)); }

typedef struct phrase {
    const a2m_note *notes; /* the phrase's notes */
    size_t n;
    size_t first_index; /* index of notes[0] in the take (vowel draw) */
} phrase;

/* Formant frequencies and level at time t inside a phrase. */
static void phrase_state(const phrase *ph, const a2m_voice_params *p, double t, double F[3], double *level) {
    size_t i = 0;
    while (i + 1 < ph->n && ph->notes[i + 1].onset <= t) i++;
    int v = vowel_index(p->seed, ph->first_index + i);
    double lv = note_level(&ph->notes[i]);
    for (int k = 0; k < 3; k++) F[k] = FORMANTS[v][k];
    /* fade from the previous note (its vowel and level) over the boundary */
    if (i > 0 && t < ph->notes[i].onset + 0.5 * VOWEL_FADE_S) {
        int u = vowel_index(p->seed, ph->first_index + i - 1);
        double w = crossfade(t, ph->notes[i].onset, VOWEL_FADE_S);
        for (int k = 0; k < 3; k++) F[k] = w * F[k] + (1 - w) * FORMANTS[u][k];
    }
    if (i > 0 && t < ph->notes[i].onset + 0.5 * LEVEL_FADE_S) {
        double w = crossfade(t, ph->notes[i].onset, LEVEL_FADE_S);
        lv = w * lv + (1 - w) * note_level(&ph->notes[i - 1]);
    }
    for (int k = 0; k < 3; k++) F[k] *= p->formant_scale;
    double end = ph->notes[ph->n - 1].offset, start = ph->notes[0].onset;
    double env = rise(t - start, fmin(p->attack_s, 0.5 * (ph->notes[0].offset - start)));
    if (t > end) env *= 1.0 - rise(t - end, p->release_s);
    *level = lv * env;
}

/* A consonant's effect at time since = t - onset of its note: the tone's gain (a closure or a dip
 * when the note is tied to the previous one) and the level of its noise. Plosive: 40 ms closure,
 * a 12 ms burst at the onset; fricative: 80 ms of hiss before the onset; nasal: a dip to 0.35. */
static void consonant_shape(char kind, double since, int tied, double *gain, double *hiss) {
    *gain = 1, *hiss = 0;
    if (kind == 'p') {
        if (tied && since > -0.05 && since < 0.015)
            *gain = 0.05 + 0.95 * fmax(1 - rise(since + 0.05, 0.01), rise(since, 0.015));
        if (since >= 0 && since < 0.012) *hiss = 1.2 * (1 - since / 0.012);
    } else if (kind == 's' || kind == 'S') {
        if (since > -0.08 && since < 0) *hiss = 0.5 * rise(since + 0.08, 0.015) * (1 - rise(since + 0.01, 0.01));
        if (tied && since > -0.09 && since < 0.01)
            *gain = 0.15 + 0.85 * fmax(1 - rise(since + 0.09, 0.015), rise(since, 0.01));
    } else if (kind == 'm' && tied && since > -0.05 && since < 0.03) {
        *gain = 1 - 0.65 * (1 - rise(fabs(since + 0.01), 0.04));
    }
}

/* The consonant around time t in a phrase: the tone's gain, the noise level (times the note's
 * level) and its band (low and high cut-off, Hz). */
static void consonant_state(const phrase *ph, const a2m_voice_params *p, double t, double *gain, double *hiss,
                            double band[2]) {
    size_t j = 0;
    while (j < ph->n && t >= ph->notes[j].onset + 0.02) j++; /* the note starting next, or just now */
    *gain = 1, *hiss = 0;
    if (j == ph->n) return;
    char kind = a2m_voice_consonant(p, ph->first_index + j);
    consonant_shape(kind, t - ph->notes[j].onset, j > 0, gain, hiss);
    *hiss *= note_level(&ph->notes[j]);
    band[0] = kind == 's' ? 4000 : kind == 'S' ? 1800 : 500;
    band[1] = kind == 's' ? 7500 : kind == 'S' ? 4500 : 6000;
}

static void harmonic_amps(const double F[3], double f0, double tilt, int nh, double *amp) {
    for (int h = 1; h <= nh; h++) {
        double f = f0 * h, a = 0.3;
        for (int k = 0; k < 3; k++) {
            double d = (f - F[k]) / (0.5 * FORMANT_BW[k]);
            a += FORMANT_GAIN[k] / (1.0 + d * d);
        }
        amp[h - 1] = a * pow(h, -tilt);
    }
}

static double hz(double midi) { return 440.0 * pow(2.0, (midi - 69.0) / 12.0); }

/* Adds one phrase into y[len]; its pitch follows its own notes, so a release
 * overlapping the next phrase keeps its pitch. */
static void render_phrase(const phrase *ph, const a2m_perf *perf, const a2m_voice_params *p, uint64_t *rng, float *y,
                          size_t len) {
    double rate = p->rate;
    size_t i0 = (size_t)ceil(fmax(0, ph->notes[0].onset - 0.1) * rate); /* room for a consonant */
    size_t i1 = (size_t)fmin((double)len, ceil((ph->notes[ph->n - 1].offset + p->release_s) * rate));
    double phase = 2 * M_PI * a2m_gen_uniform(rng), lp = 0, bp = 0;
    double noise_coef = 1.0 - exp(-2 * M_PI * fmin(3000.0, 0.4 * rate) / rate);
    double amp[MAX_H], F[3], level0, level1, gain0, gain1, hiss0, hiss1, band[2] = {500, 6000}, c_lo = 0, c_hi = 0;
    double f_a = hz(a2m_perf_pitch(perf, ph->notes, ph->n, (double)i0 / rate));
    phrase_state(ph, p, (double)i0 / rate, F, &level0);
    consonant_state(ph, p, (double)i0 / rate, &gain0, &hiss0, band);
    for (size_t b = i0; b < i1; b += BLOCK) {
        size_t e = b + BLOCK < i1 ? b + BLOCK : i1;
        double f_b = hz(a2m_perf_pitch(perf, ph->notes, ph->n, (double)e / rate));
        phrase_state(ph, p, (double)e / rate, F, &level1);
        consonant_state(ph, p, (double)e / rate, &gain1, &hiss1, band);
        double a_lo = 1 - exp(-2 * M_PI * band[0] / rate),
               a_hi = 1 - exp(-2 * M_PI * fmin(band[1], 0.45 * rate) / rate);
        int nh = (int)fmin(MAX_H, 0.45 * rate / fmax(f_a, f_b));
        harmonic_amps(F, 0.5 * (f_a + f_b), p->tilt, nh, amp);
        for (size_t i = b; i < e; i++) {
            double w = (double)(i - b) / BLOCK;
            phase += 2 * M_PI * (f_a + w * (f_b - f_a)) / rate;
            if (phase > 2 * M_PI) phase -= 2 * M_PI;
            double c1 = cos(phase), s1 = sin(phase), c = c1, s = s1, tone = 0;
            for (int h = 0; h < nh; h++) {
                tone += amp[h] * s;
                double cn = c * c1 - s * s1;
                s = s * c1 + c * s1;
                c = cn;
            }
            double white = 2 * a2m_gen_uniform(rng) - 1;
            lp += noise_coef * (white - lp);
            bp += 0.05 * (lp - bp);
            double level = level0 + w * (level1 - level0), gain = gain0 + w * (gain1 - gain0);
            double hiss = hiss0 + w * (hiss1 - hiss0);
            if (hiss0 > 0 || hiss1 > 0) { /* band-passed noise: one-pole high-pass, then low-pass */
                c_lo += a_lo * (white - c_lo);
                c_hi += a_hi * ((white - c_lo) - c_hi);
            }
            y[i] += (float)(level * gain * (tone + p->breath * 8.0 * (lp - bp)) + hiss * c_hi);
        }
        f_a = f_b;
        level0 = level1;
        gain0 = gain1;
        hiss0 = hiss1;
    }
}

static int check_voice(const a2m_note *notes, size_t n, const a2m_voice_params *p) {
    if (p->rate < 8000 || p->rate > 192000)
        return a2m_error(A2M_ERR_ARG, "voice: rate %d outside 8000..192000", p->rate);
    if (!(p->formant_scale >= 0.5 && p->formant_scale <= 2) || !(p->tilt >= 0 && p->tilt <= 4) ||
        !(p->breath >= 0 && p->breath <= 1) || !(p->attack_s >= 0 && p->attack_s <= 2) ||
        !(p->release_s >= 0 && p->release_s <= 2) || !(p->peak > 0 && p->peak <= 1) || !(p->seconds <= 3600) ||
        !(p->consonants >= 0 && p->consonants <= 1))
        return a2m_error(A2M_ERR_ARG, "voice: a parameter is out of range");
    for (size_t i = 0; i < n; i++) {
        const a2m_note *nt = &notes[i];
        if (!(nt->onset >= 0 && nt->offset > nt->onset && nt->offset <= 3600 && nt->pitch >= 0 && nt->pitch <= 127))
            return a2m_error(A2M_ERR_RANGE, "voice: note %zu (%.3f-%.3f s, pitch %g) out of range", i, nt->onset,
                             nt->offset, nt->pitch);
        if (i > 0 && nt->onset < notes[i - 1].onset) return a2m_error(A2M_ERR_ARG, "voice: notes not sorted by onset");
    }
    return A2M_OK;
}

int a2m_voice_render(const a2m_note *notes, size_t n, const a2m_perf *perf, a2m_voice_params p, float **out,
                     size_t *n_out) {
    *out = NULL;
    *n_out = 0;
    int rc = check_voice(notes, n, &p);
    if (rc) return rc;
    double seconds = p.seconds > 0 ? p.seconds : (n ? notes[n - 1].offset + p.release_s : 0);
    size_t len = (size_t)llround(seconds * p.rate);
    if (len == 0) return a2m_error(A2M_ERR_EMPTY, "voice: nothing to render (no notes and no length)");
    float *y = calloc(len, sizeof *y);
    if (!y) return a2m_error(A2M_ERR_NOMEM, "voice: out of memory");
    uint64_t rng = a2m_gen_seed(p.seed, "voice", 0);
    for (size_t a = 0; a < n;) {
        size_t b = a + 1; /* the phrase runs while offsets meet the next onsets */
        while (b < n && fabs(notes[b - 1].offset - notes[b].onset) <= 1e-9) b++;
        phrase ph = {notes + a, b - a, a};
        render_phrase(&ph, perf, &p, &rng, y, len);
        a = b;
    }
    float peak = 0;
    for (size_t i = 0; i < len; i++) peak = fmaxf(peak, fabsf(y[i]));
    if (peak > 0)
        for (size_t i = 0; i < len; i++) y[i] *= (float)p.peak / peak;
    *out = y;
    *n_out = len;
    return A2M_OK;
}
