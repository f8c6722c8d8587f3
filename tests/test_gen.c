/* Training-data generation: melodies stay in range and follow their seed,
 * the performance is audible at the asked pitch (detune, vibrato) in the
 * additive voice and through fluidsynth, rubberband shifts by the asked
 * semitones and keeps the length, noise lands at the asked SNR. */
#include <complex.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a2m/audio.h"
#include "a2m/error.h"
#include "a2m/gen.h"
#include "check.h"

static const char *const SOUNDFONT = "/usr/share/sounds/sf3/FluidR3Mono_GM.sf3";

/* |DFT| of x at frequency f under a Hann window. */
static double dft_mag(const float *x, size_t n, double rate, double f) {
    double complex s = 0, w = cexp(-2 * M_PI * I * f / rate), z = 1;
    for (size_t i = 0; i < n; i++, z *= w) s += x[i] * (0.5 - 0.5 * cos(2 * M_PI * (double)i / (double)n)) * z;
    return cabs(s);
}

/* Fundamental near guess_hz (within +-100 cents) by the peak of the windowed
 * DFT: a 1-cent grid, then a parabola through the best three points. */
static double f0_near(const float *x, size_t n, double rate, double guess_hz) {
    double best = -1, mags[201];
    int bi = 0;
    for (int c = -100; c <= 100; c++) {
        mags[c + 100] = dft_mag(x, n, rate, guess_hz * pow(2, c / 1200.0));
        if (mags[c + 100] > best) best = mags[c + 100], bi = c + 100;
    }
    double off = 0;
    if (bi > 0 && bi < 200) {
        double a = mags[bi - 1], b = mags[bi], c = mags[bi + 1];
        off = 0.5 * (a - c) / (a - 2 * b + c);
    }
    return guess_hz * pow(2, (bi - 100 + off) / 1200.0);
}
static double cents(double f, double ref) { return 1200 * log2(f / ref); }
static double hz(double midi) { return 440 * pow(2, (midi - 69) / 12); }
static double rms(const float *x, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)x[i] * x[i];
    return sqrt(s / (double)n);
}

static void test_melody(void) {
    a2m_melody_params p = a2m_melody_default_params();
    size_t transitions = 0, legato = 0, repeats = 0, steps = 0, big = 0, bad = 0, notes_total = 0, low_notes = 0,
           high_notes = 0;
    int lo_seen = 127, hi_seen = 0;
    for (uint64_t seed = 0; seed < 300; seed++) {
        a2m_note *v;
        size_t n;
        CHECK(a2m_melody_random(p, seed, &v, &n) == A2M_OK && n >= 1, "seed %llu", (unsigned long long)seed);
        int lo = 127, hi = 0;
        for (size_t i = 0; i < n; i++) {
            int q = (int)v[i].pitch;
            lo = q < lo ? q : lo, hi = q > hi ? q : hi;
            low_notes += q <= 38, high_notes += q >= 82;
            double d = v[i].offset - v[i].onset;
            bad += q != v[i].pitch || q < 36 || q > 84 || d < 0.08 - 1e-9 || d > 1.5 + 1e-9 || v[i].velocity < 1 ||
                   v[i].velocity > 127 || v[i].onset < 0.2 || v[i].offset > 8 - 0.2 + 1e-9;
            if (i == 0) continue;
            transitions++;
            bad += v[i].onset < v[i - 1].offset - 1e-9;
            legato += fabs(v[i].onset - v[i - 1].offset) < 1e-9;
            int iv = abs(q - (int)v[i - 1].pitch);
            repeats += iv == 0, steps += iv == 1 || iv == 2, big += iv >= 8;
        }
        bad += hi - lo > 18;
        lo_seen = lo < lo_seen ? lo : lo_seen, hi_seen = hi > hi_seen ? hi : hi_seen;
        notes_total += n;
        free(v);
    }
    CHECK(bad == 0, "%zu notes out of range/length/order", bad);
    CHECK(lo_seen == 36 && hi_seen == 84, "300 takes reach %d..%d (36..84 allowed)", lo_seen, hi_seen);
    /* the ends are sung too: a uniform spread would put 6% of the notes in 36..38 and in 82..84 */
    CHECK((double)low_notes / notes_total > 0.03 && (double)high_notes / notes_total > 0.03,
          "notes in 36..38: %.3f, 82..84: %.3f", (double)low_notes / notes_total, (double)high_notes / notes_total);
    double fl = (double)legato / transitions, fr = (double)repeats / transitions, fs = (double)steps / transitions;
    CHECK(fl > 0.5 && fl < 0.7, "legato share %.3f (0.6 asked)", fl);
    CHECK(fr > 0.11 && fr < 0.19, "repeated-note share %.3f (0.15 asked)", fr);
    CHECK(fs > 0.38 && fs < 0.52, "step share %.3f (0.45 asked)", fs);
    CHECK((double)big / transitions < 0.06, "leaps of 8+ semitones %.3f (0.03 asked)", (double)big / transitions);
    CHECK(notes_total / 300 >= 8 && notes_total / 300 <= 30, "%zu notes per 8 s take", notes_total / 300);

    a2m_note *a, *b;
    size_t na, nb;
    a2m_melody_random(p, 42, &a, &na);
    a2m_melody_random(p, 42, &b, &nb);
    CHECK(na == nb && !memcmp(a, b, na * sizeof *a), "same seed, same melody");
    free(b);
    a2m_melody_random(p, 43, &b, &nb);
    CHECK(na != nb || memcmp(a, b, na * sizeof *a), "another seed, another melody");
    free(a);
    free(b);
    for (int k = 0; k < 4; k++) { /* short takes: every note inside */
        p.seconds = (double[]){1, 1.5, 3, 30}[k];
        for (uint64_t seed = 0; seed < 50; seed++) {
            CHECK(a2m_melody_random(p, seed, &a, &na) == A2M_OK && na >= 1, "%g s", p.seconds);
            CHECK(a[na - 1].offset <= p.seconds - 0.2 + 1e-9 && a[0].onset >= 0.2 - 1e-9, "%g s take: last offset %.3f",
                  p.seconds, a[na - 1].offset);
            free(a);
        }
    }
    p.seconds = 0.5;
    CHECK(a2m_melody_random(p, 1, &a, &na) == A2M_ERR_ARG && a == NULL, "0.5 s take refused");
    p = a2m_melody_default_params();
    p.p_rest = 0.6;
    CHECK(a2m_melody_random(p, 1, &a, &na) == A2M_ERR_ARG, "rest + legato probabilities above 1 refused");
}

static void test_perf_pitch(void) {
    a2m_note v[2] = {{0.5, 1.5, 60, 100, 0}, {1.5, 2.5, 64, 100, 0}};
    a2m_perf q = a2m_perf_none();
    q.detune_cents = 20;
    CHECK_NEAR(a2m_perf_pitch(&q, v, 2, 1.0), 60.2, 1e-12, "detune +20 cents");
    q.glide_s = 0.1;
    CHECK_NEAR(a2m_perf_pitch(&q, v, 2, 1.5), 62.2, 1e-9, "legato boundary: halfway");
    CHECK_NEAR(a2m_perf_pitch(&q, v, 2, 1.44), 60.2, 1e-9, "before the glide");
    CHECK_NEAR(a2m_perf_pitch(&q, v, 2, 1.56), 64.2, 1e-9, "after the glide");
    CHECK(a2m_perf_pitch(&q, v, 2, 1.47) > 60.3 && a2m_perf_pitch(&q, v, 2, 1.47) < 62.2, "inside the glide");
    v[1].onset = 1.6; /* not legato: no glide */
    CHECK_NEAR(a2m_perf_pitch(&q, v, 2, 1.49), 60.2, 1e-9, "no glide across a gap");
    q.scoop_cents = 80;
    q.scoop_s = 0.1;
    CHECK_NEAR(a2m_perf_pitch(&q, v, 2, 1.6), 63.4, 1e-9, "a detached note scoops up from 80 cents below");
    CHECK_NEAR(a2m_perf_pitch(&q, v, 2, 1.65), 63.8, 1e-9, "half way");
    CHECK_NEAR(a2m_perf_pitch(&q, v, 2, 1.7), 64.2, 1e-9, "and is there after scoop_s");
    v[1].onset = 1.5;
    CHECK_NEAR(a2m_perf_pitch(&q, v, 2, 1.56), 64.2, 1e-9, "a legato note does not scoop");
    /* intonation: each note off by its own error, the same whatever slice of the notes is given */
    q = a2m_perf_none();
    q.intonation_cents = 20;
    q.note_seed = 99;
    double e0 = a2m_perf_pitch(&q, v, 2, 1.0) - 60, e1 = a2m_perf_pitch(&q, v, 2, 2.0) - 64;
    CHECK(fabs(e0) <= 0.4 && fabs(e1) <= 0.4 && e0 != e1 && e0 != 0, "note errors %.3f, %.3f semitones", e0, e1);
    CHECK_NEAR(a2m_perf_pitch(&q, v + 1, 1, 2.0) - 64, e1, 1e-12, "second note alone: same error");
    CHECK_NEAR(a2m_perf_pitch(&q, v, 2, 1.2) - 60, e0, 1e-12, "steady within the note");
    double sum2 = 0;
    a2m_note many[400];
    for (int k = 0; k < 400; k++) many[k] = (a2m_note){0.5 * k, 0.5 * k + 0.4, 60, 100, 0};
    for (int k = 0; k < 400; k++) sum2 += pow(a2m_perf_pitch(&q, many, 400, 0.5 * k + 0.2) - 60, 2);
    CHECK(sqrt(sum2 / 400) > 0.16 && sqrt(sum2 / 400) < 0.22,
          "note errors' RMS %.3f semitones (0.2 asked, clipped at 2x)", sqrt(sum2 / 400));
    a2m_perf r1 = a2m_perf_random(5), r2 = a2m_perf_random(5);
    CHECK(!memcmp(&r1, &r2, sizeof r1), "same seed, same performance");
    CHECK(fabs(r1.detune_cents) <= 35 && r1.drift_cents <= 20 && r1.vibrato_hz >= 4.5 && r1.vibrato_hz <= 7 &&
              r1.vibrato_cents <= 60 && r1.glide_s >= 0.03 && r1.glide_s <= 0.12 && r1.scoop_cents <= 120 &&
              r1.scoop_s >= 0.04 && r1.scoop_s <= 0.12 && r1.intonation_cents <= 25,
          "drawn within the ranges");
}

/* One long note 57 (220 Hz): the measured pitch carries the detune; vibrato swings +-depth. */
static void test_voice_pitch(void) {
    a2m_note v[1] = {{0.1, 2.1, 57, 100, 0}};
    a2m_perf q = a2m_perf_none();
    q.detune_cents = 23;
    a2m_voice_params p = a2m_voice_default_params();
    p.breath = 0;
    float *y;
    size_t n;
    CHECK(a2m_voice_render(v, 1, &q, p, &y, &n) == A2M_OK && n == (size_t)((2.1 + 0.08) * 16000 + 0.5), "rendered %zu",
          n);
    double f = f0_near(y + 8000, 16000, 16000, 220);
    CHECK_NEAR(cents(f, hz(57)), 23, 2, "detuned note (cents)");
    double c;
    CHECK(a2m_gen_pitch_offset(y + 8000, 16000, 16000, 57, &c) == A2M_OK, "pitch offset");
    CHECK_NEAR(c, 23, 1, "a2m_gen_pitch_offset of the detuned note (cents)");
    CHECK(a2m_gen_pitch_offset(y + 8000, 16000, 16000, 58, &c) == A2M_OK, "pitch offset");
    CHECK_NEAR(c, -77, 1, "the same note from 58 (cents)");
    float zeros[1000] = {0};
    CHECK(a2m_gen_pitch_offset(zeros, 1000, 16000, 57, &c) == A2M_ERR_EMPTY, "silence has no pitch");
    CHECK(a2m_gen_pitch_offset(y, 100, 16000, 57, &c) == A2M_ERR_ARG, "100 samples refused");
    free(y);
    q = a2m_perf_none();
    q.vibrato_cents = 50;
    q.vibrato_hz = 5;
    CHECK(a2m_voice_render(v, 1, &q, p, &y, &n) == A2M_OK, "vibrato render");
    double mx = -1e9, mn = 1e9;
    for (size_t s = 8000; s + 640 < 28000; s += 160) { /* 40 ms windows over 1.25 s */
        double c = cents(f0_near(y + s, 640, 16000, 220), hz(57));
        mx = fmax(mx, c), mn = fmin(mn, c);
    }
    CHECK(mx > 35 && mx < 60 && mn < -35 && mn > -60, "vibrato swings %.1f..%.1f cents (+-50 asked)", mn, mx);
    free(y);
    float *y2;
    size_t n2;
    a2m_voice_render(v, 1, &q, p, &y, &n);
    a2m_voice_render(v, 1, &q, p, &y2, &n2);
    CHECK(n == n2 && !memcmp(y, y2, n * sizeof *y), "same seed, same samples");
    free(y);
    free(y2);
    /* consonants: a fricative's hiss before a detached onset, a plosive's closure between tied notes */
    a2m_note two[2] = {{0.5, 1.0, 57, 100, 0}, {1.0, 1.5, 57, 100, 0}};
    p.consonants = 1;
    size_t sh = 0, pl = 0;
    for (p.seed = 0; p.seed < 64 && !(sh && pl); p.seed++) { /* find seeds giving an 's' first and a 'p' second */
        if (!sh && a2m_voice_consonant(&p, 0) == 's') sh = p.seed + 1;
        if (!pl && a2m_voice_consonant(&p, 1) == 'p') pl = p.seed + 1;
    }
    CHECK(sh && pl, "seeds for s and p");
    p.seed = sh - 1;
    a2m_voice_render(two, 2, &q, p, &y, &n);
    double hiss = rms(y + 7000, 600), before = rms(y + 4000, 600); /* 0.44-0.475 s vs 0.25-0.29 s */
    CHECK(hiss > 0.01 && before == 0, "hiss before the onset: %.4f (silence before it: %.4f)", hiss, before);
    free(y);
    p.seed = pl - 1;
    a2m_voice_render(two, 2, &q, p, &y, &n);
    double closure = rms(y + 15600, 160), vowel = rms(y + 12000, 1600); /* 0.975-0.985 s vs 0.75-0.85 s */
    CHECK(closure < 0.2 * vowel, "plosive closure %.4f vs the vowel %.4f", closure, vowel);
    free(y);
    p.consonants = 1.5;
    CHECK(a2m_voice_render(two, 2, &q, p, &y, &n) == A2M_ERR_ARG, "consonants 1.5 refused");
    p.consonants = 0;
    a2m_note badn[1] = {{1.0, 0.5, 60, 100, 0}};
    CHECK(a2m_voice_render(badn, 1, &q, p, &y, &n) == A2M_ERR_RANGE && y == NULL, "offset before onset refused");
    p.rate = 100;
    CHECK(a2m_voice_render(v, 1, &q, p, &y, &n) == A2M_ERR_ARG, "rate 100 refused");
}

static void test_fluid(void) {
    FILE *fp = fopen(SOUNDFONT, "rb");
    if (!fp) {
        fprintf(stderr, "SKIP fluid: %s missing (apt-get install fluidr3mono-gm-soundfont)\n", SOUNDFONT);
        return;
    }
    fclose(fp);
    const char *sf[1] = {SOUNDFONT};
    a2m_fluid *f;
    CHECK(a2m_fluid_new(sf, 1, 16000, &f) == A2M_OK && a2m_fluid_n_presets(f) >= 3, "voice presets found");
    if (!f) return;
    size_t choir = 0, oohs = 0;
    for (size_t i = 0; i < a2m_fluid_n_presets(f); i++) {
        if (strstr(a2m_fluid_preset_name(f, i), "000:052")) choir = i;
        if (strstr(a2m_fluid_preset_name(f, i), "000:053")) oohs = i;
    }
    CHECK(strstr(a2m_fluid_preset_name(f, choir), "Choir"), "GM 52 is a choir: %s", a2m_fluid_preset_name(f, choir));
    a2m_note v[1] = {{0.1, 2.1, 57, 100, 0}};
    a2m_perf q = a2m_perf_none();
    float *y, *y0;
    size_t n;
    /* Ohh Voices is sampled in tune (-1 cent at 220 Hz); the choir's layers are not (-35/-21 cents at
     * the fundamental/2nd harmonic), so it is checked by the difference a bend makes */
    CHECK(a2m_fluid_render(f, oohs, v, 1, &q, 2.5, 0.5, &y0, &n) == A2M_OK && n == 40000, "fluid render %zu", n);
    q.detune_cents = 30;
    CHECK(a2m_fluid_render(f, oohs, v, 1, &q, 2.5, 0.5, &y, &n) == A2M_OK && n == 40000, "fluid render %zu", n);
    if (!y || !y0) return;
    CHECK(rms(y + 8000, 16000) > 0.05, "not silent: RMS %.4f", rms(y + 8000, 16000));
    CHECK(rms(y + 38400, 1600) < 0.2 * rms(y + 8000, 16000), "released after the offset");
    CHECK_NEAR(cents(f0_near(y + 8000, 16000, 16000, 220), hz(57)), 30, 5, "oohs pitch with a 30-cent bend (cents)");
    CHECK_NEAR(cents(f0_near(y0 + 8000, 16000, 16000, 220), hz(57)), 0, 5, "oohs pitch without bend (cents)");
    free(y);
    free(y0);
    /* FluidR3's Ahh Choir at key 52 is sampled ~40 cents flat; renders bend it back */
    double raw, after;
    double lead;
    CHECK(a2m_fluid_key_tuning(f, choir, 52, &raw, &lead) == A2M_OK && raw < -25 && raw > -55,
          "Ahh Choir key 52: %.1f cents", raw);
    CHECK(lead > 0.03 && lead < 0.2, "Ahh Choir key 52 reaches half level after %.3f s", lead);
    /* started early by its lead, a note is at half level at its onset */
    a2m_note at05[1] = {{0.5, 1.5, 52, 100, 0}};
    a2m_fluid_render(f, choir, at05, 1, &q, 1.6, 0.5, &y, &n);
    double steady = rms(y + 12800, 8000), half_at = -1;
    for (size_t s = 0; s + 80 <= 16000 && half_at < 0; s += 80)
        if (rms(y + s, 80) >= 0.5 * steady) half_at = (double)s / 16000;
    CHECK(fabs(half_at - 0.5) < 0.025, "Ahh Choir key 52 at half level at %.3f s (onset 0.5)", half_at);
    free(y);
    /* release x0.25: 20 dB down within 0.15 s of the offset (x1: 0.3 s) */
    CHECK(a2m_fluid_set_envelope(f, 1, 0.25) == A2M_OK, "envelope");
    a2m_fluid_render(f, choir, at05, 1, &q, 2.0, 0.5, &y, &n);
    CHECK(rms(y + 26400, 800) < 0.1 * steady, "released x0.25: %.4f vs %.4f at 0.15-0.2 s after the offset",
          rms(y + 26400, 800), steady);
    free(y);
    CHECK(a2m_fluid_set_envelope(f, 1, 0) == A2M_ERR_ARG, "release scale 0 refused");
    a2m_fluid_set_envelope(f, 1, 1);
    a2m_note v52[1] = {{0.0, 1.6, 52, 100, 0}};
    q.detune_cents = 0;
    a2m_fluid_render(f, choir, v52, 1, &q, 1.6, 0.5, &y, &n);
    a2m_gen_pitch_offset(y + 4800, 20000, 16000, 52, &after);
    CHECK(fabs(after) < 8, "Ahh Choir key 52 after the tuning bend: %.1f cents", after);
    free(y);
    a2m_fluid_render(f, choir, v, 1, &q, 2.5, 0.5, &y0, &n);
    q.detune_cents = -40;
    a2m_fluid_render(f, choir, v, 1, &q, 2.5, 0.5, &y, &n);
    double d = cents(f0_near(y + 8000, 16000, 16000, 440), f0_near(y0 + 8000, 16000, 16000, 440));
    CHECK_NEAR(d, -40, 3, "choir: a -40-cent bend moves the 2nd harmonic by (cents)");
    free(y);
    free(y0);
    a2m_note badn[2] = {{0.1, 1.0, 57, 100, 0}, {0.5, 1.5, 60, 100, 0}};
    CHECK(a2m_fluid_render(f, choir, badn, 2, &q, 2, 0.5, &y, &n) == A2M_ERR_ARG, "overlapping notes refused");
    CHECK(a2m_fluid_render(f, 999, v, 1, &q, 2, 0.5, &y, &n) == A2M_ERR_ARG, "preset out of range refused");
    a2m_fluid_del(f);
    const char *missing[1] = {"/nonexistent/x.sf2"};
    CHECK(a2m_fluid_new(missing, 1, 16000, &f) == A2M_ERR_IO && strstr(a2m_errmsg(), "/nonexistent/x.sf2"),
          "missing: %s", a2m_errmsg());
}

static void test_festival(void) {
    a2m_note v[3] = {{0.3, 0.8, 57, 100, 0}, {0.8, 1.3, 60, 100, 0}, {1.6, 2.2, 50, 100, 0}};
    a2m_perf q = a2m_perf_none();
    float *y, *y2;
    size_t n, n2;
    int rc = a2m_festival_render(v, 3, &q, 2.5, 7, 0.5, &y, &n);
    if (rc == A2M_ERR_IO && strstr(a2m_errmsg(), "cannot run")) {
        fprintf(stderr, "SKIP festival: %s\n", a2m_errmsg());
        return;
    }
    CHECK(rc == A2M_OK && n == 40000, "festival: %s", a2m_errmsg());
    if (rc) return;
    for (int i = 0; i < 3; i++) { /* the middle 40% of each note */
        double len = v[i].offset - v[i].onset, c = 999;
        a2m_gen_pitch_offset(y + (size_t)((v[i].onset + 0.3 * len) * 16000), (size_t)(0.4 * len * 16000), 16000,
                             v[i].pitch, &c);
        CHECK(fabs(c) < 30, "festival note %d (MIDI %g) sung %.1f cents off", i, v[i].pitch, c);
    }
    CHECK(rms(y + 22000, 2400) < 0.1 * rms(y + 6400, 4000), "rest between the notes: %.4f", rms(y + 22000, 2400));
    CHECK(a2m_festival_render(v, 3, &q, 2.5, 7, 0.5, &y2, &n2) == A2M_OK && n2 == n && !memcmp(y, y2, n * sizeof *y),
          "same score, same samples");
    free(y);
    free(y2);
    CHECK(a2m_festival_render(v, 0, &q, 1, 7, 0.5, &y, &n) == A2M_ERR_ARG, "no notes refused");
    a2m_note overlap[2] = {{0.1, 0.6, 50, 100, 0}, {0.5, 0.9, 52, 100, 0}};
    CHECK(a2m_festival_render(overlap, 2, &q, 1, 7, 0.5, &y, &n) == A2M_ERR_RANGE, "overlapping notes refused");
    a2m_note high[1] = {{0.1, 0.5, 72, 100, 0}};
    CHECK(a2m_festival_render(high, 1, &q, 1, 7, 0.5, &y, &n) == A2M_ERR_RANGE, "MIDI 72 refused (text2wave crashes)");
}

/* First sample whose 10 ms RMS passes 0.1 of the peak RMS. */
static size_t onset_sample(const float *x, size_t n) {
    double peak = 0;
    for (size_t s = 0; s + 160 <= n; s += 16) peak = fmax(peak, rms(x + s, 160));
    for (size_t s = 0; s + 160 <= n; s += 16)
        if (rms(x + s, 160) > 0.1 * peak) return s;
    return n;
}

/* One plain note of MIDI 57 (no vibrato, no breath) from onset to 1.8 s of a 2.2 s take. */
static float *plain_note(double onset, size_t *n) {
    a2m_note v[1] = {{onset, 1.8, 57, 100, 0}};
    a2m_perf q = a2m_perf_none();
    a2m_voice_params p = a2m_voice_default_params();
    p.seconds = 2.2;
    p.breath = 0;
    float *x = NULL;
    CHECK(a2m_voice_render(v, 1, &q, p, &x, n) == A2M_OK, "plain note rendered");
    return x;
}

static void test_shift(void) {
    float *y;
    size_t n, ny;
    float *x = plain_note(0.3, &n);
    if (!x) return;
    for (int k = 0; k < 3; k++) {
        double st = (double[]){5, -7, 12}[k];
        CHECK(a2m_pitch_shift(x, n, 16000, st, &y, &ny) == A2M_OK && ny == n, "shift %g keeps %zu samples", st, n);
        if (!y) continue;
        double f = f0_near(y + 8000, 16000, 16000, hz(57 + st));
        CHECK_NEAR(cents(f, hz(57 + st)), 0, 10, "shifted pitch (cents off)");
        long lag = (long)onset_sample(y, ny) - (long)onset_sample(x, n);
        CHECK(labs(lag) <= 320, "onset moved by %ld samples (20 ms allowed)", lag);
        free(y);
    }
    /* formants x1.25 at the same pitch: pitch kept, the harmonics' centroid moves up */
    float *z;
    size_t nz;
    CHECK(a2m_pitch_shift_formant(x, n, 16000, 0, 1.0, &y, &ny) == A2M_OK && !memcmp(x, y, n * sizeof *x),
          "no shift: a copy");
    free(y);
    CHECK(a2m_pitch_shift_formant(x, n, 16000, 0.01, 1.25, &z, &nz) == A2M_OK && nz == n, "formants x1.25");
    CHECK(a2m_pitch_shift_formant(x, n, 16000, 0.01, 1.0, &y, &ny) == A2M_OK && ny == n, "formants kept");
    if (y && z) {
        CHECK_NEAR(cents(f0_near(z + 8000, 16000, 16000, hz(57)), hz(57)), 1, 10, "formant-shifted pitch (cents off)");
        double c1 = 0, e1 = 0, c2 = 0, e2 = 0;
        for (int h = 1; h <= 30; h++) {
            double a1 = dft_mag(y + 8000, 8000, 16000, h * hz(57)), a2 = dft_mag(z + 8000, 8000, 16000, h * hz(57));
            c1 += h * a1 * a1, e1 += a1 * a1, c2 += h * a2 * a2, e2 += a2 * a2;
        }
        CHECK(c2 / e2 > 1.1 * (c1 / e1), "harmonic centroid %.2f -> %.2f", c1 / e1, c2 / e2);
    }
    free(y);
    free(z);
    CHECK(a2m_pitch_shift_formant(x, n, 16000, 0, 3, &y, &ny) == A2M_ERR_ARG, "formants x3 refused");
    CHECK(a2m_pitch_shift(x, n, 16000, 50, &y, &ny) == A2M_ERR_ARG, "50 semitones refused");
    CHECK(a2m_pitch_shift(x, 0, 16000, 3, &y, &ny) == A2M_ERR_EMPTY, "no samples refused");
    free(x);
}

/* A time stretch: the length and the onset scale by the ratio, the pitch moves by the shift alone. */
static void test_stretch(void) {
    float *y;
    size_t n, ny;
    float *x = plain_note(0.5, &n);
    if (!x) return;
    for (int k = 0; k < 3; k++) {
        double r = (double[]){0.8, 1.25, 1.1}[k], st = (double[]){0, 3, -4}[k];
        CHECK(a2m_stretch_shift(x, n, 16000, st, 1.0, r, &y, &ny) == A2M_OK && ny == (size_t)llround(n * r),
              "stretch x%g: %zu samples for %zu", r, ny, n);
        if (!y) continue;
        /* the note's middle (1.15 s) times the ratio */
        double f = f0_near(y + (size_t)(1.15 * r * 16000) - 4000, 8000, 16000, hz(57 + st));
        CHECK(fabs(cents(f, hz(57 + st))) < 10, "stretched x%g, shifted %+g: %.1f cents off", r, st,
              cents(f, hz(57 + st)));
        long want = lround(onset_sample(x, n) * r), got = (long)onset_sample(y, ny);
        CHECK(labs(got - want) <= 320, "stretch x%g: onset at %ld, %ld expected (20 ms allowed)", r, got, want);
        double tail = rms(y + ny - 1600, 1600), body = rms(y + (size_t)(1.15 * r * 16000), 1600);
        CHECK(tail < 0.05 * body, "stretch x%g: the rest after the note stays quiet (%g vs %g)", r, tail, body);
        free(y);
    }
    CHECK(a2m_stretch_shift(x, n, 16000, 0, 1.0, 1.0, &y, &ny) == A2M_OK && ny == n && !memcmp(x, y, n * sizeof *x),
          "ratio 1, no shift: a copy");
    free(y);
    CHECK(a2m_stretch_shift(x, n, 16000, 0, 1.0, 3.0, &y, &ny) == A2M_ERR_ARG && !y, "ratio 3 refused");
    CHECK(a2m_stretch_shift(x, n, 16000, 0, 1.0, NAN, &y, &ny) == A2M_ERR_ARG && !y, "ratio NaN refused");
    free(x);
}

/* A real seed take: its first note moves by the shift (within 10 cents) under rubberband. */
static void test_shift_seed(void) {
    const char *shared = test_shared_dir();
    if (!shared) return;
    char wav[4200], mid[4200];
    snprintf(wav, sizeof wav, "%s/data/seed/audio/voice_001.wav", shared);
    snprintf(mid, sizeof mid, "%s/data/seed/audio/midi_001.mid", shared);
    a2m_audio a = {0};
    a2m_notes m = {0};
    CHECK(a2m_audio_read(wav, 16000, &a) == A2M_OK && a2m_midi_read(mid, &m) == A2M_OK && m.n >= 1, "voice_001");
    if (!a.samples || !m.n) return;
    /* the middle 60% of the first note, sung an octave below its written pitch */
    double len = m.notes[0].offset - m.notes[0].onset, sung = m.notes[0].pitch - 12;
    size_t from = (size_t)((m.notes[0].onset + 0.2 * len) * 16000), n = (size_t)(0.6 * len * 16000);
    double c0 = 0, c1 = 0;
    CHECK(from + n <= a.n && a2m_gen_pitch_offset(a.samples + from, n, 16000, sung, &c0) == A2M_OK, "seed note pitch");
    /* the seed singer's "60" here is sung ~1 semitone sharp (autocorrelation: MIDI 49.2) */
    CHECK(c0 > 80 && c0 <= 105, "voice_001's first note is %.1f cents off %g", c0, sung);
    for (int k = 0; k < 2; k++) {
        double st = k ? -12 : 7;
        float *y;
        size_t ny;
        CHECK(a2m_pitch_shift(a.samples, a.n, 16000, st, &y, &ny) == A2M_OK && ny == a.n, "shift %g", st);
        if (!y) continue;
        a2m_gen_pitch_offset(y + from, n, 16000, sung + st, &c1);
        CHECK_NEAR(c1, c0, 10, "shifted seed note (cents off its new pitch vs the original's)");
        free(y);
    }
    a2m_audio_free(&a);
    a2m_notes_free(&m);
}

static void test_noise(void) {
    a2m_note v[1] = {{0.1, 1.5, 62, 100, 0}};
    a2m_perf q = a2m_perf_none();
    a2m_voice_params p = a2m_voice_default_params();
    p.seconds = 2;
    float *x, *y = malloc(32000 * sizeof *y);
    size_t n;
    a2m_voice_render(v, 1, &q, p, &x, &n);
    for (int kind = 0; kind < A2M_NOISE_KINDS_; kind++) {
        for (int k = 0; k < 3; k++) {
            double snr = (double[]){0, 12.5, 40}[k];
            memcpy(y, x, n * sizeof *y);
            CHECK(a2m_add_noise(y, n, 16000, (a2m_noise_kind)kind, snr, 9) == A2M_OK, "noise %d", kind);
            double ps = 0, pn = 0;
            for (size_t i = 0; i < n; i++)
                ps += (double)x[i] * x[i], pn += ((double)y[i] - x[i]) * ((double)y[i] - x[i]);
            CHECK_NEAR(10 * log10(ps / pn), snr, 0.5, a2m_noise_name((a2m_noise_kind)kind));
        }
    }
    memcpy(y, x, n * sizeof *y);
    CHECK(a2m_reverb(y, n, 16000, 0.6, 3, 4) == A2M_OK, "reverb");
    CHECK_NEAR(rms(y, n), rms(x, n), 1e-3 * rms(x, n), "reverb keeps the RMS");
    CHECK(rms(x + 26000, 1600) == 0 && rms(y + 26000, 1600) > 0.01 * rms(y, n), "reverb tail after the note: %.4f",
          rms(y + 26000, 1600));
    /* the room darkens as it decays: the impulse response's share of high frequencies (energy of
     * the first difference over energy) falls from its first 50 ms to 0.4-0.5 s */
    memset(y, 0, n * sizeof *y);
    y[1000] = 1;
    a2m_reverb(y, n, 16000, 0.8, 0, 5);
    double hf[2];
    for (int k = 0; k < 2; k++) {
        size_t from = 1000 + (k ? 6400 : 320), len = k ? 1600 : 480;
        double d = 0, e = 0;
        for (size_t i = from; i < from + len; i++) d += pow(y[i] - y[i - 1], 2), e += (double)y[i] * y[i];
        hf[k] = d / e;
    }
    CHECK(hf[1] < 0.75 * hf[0], "high-frequency share early %.3f, late %.3f (white noise: 2)", hf[0], hf[1]);
    /* low-pass 1 kHz: a 3 kHz tone loses >= 15 dB (12 dB/octave, 1.6 octaves) */
    for (size_t i = 0; i < n; i++) y[i] = (float)sin(2 * M_PI * 3000 * (double)i / 16000);
    double before = rms(y + 1000, 30000);
    a2m_biquad(y, n, 16000, 'L', 1000, 0.7071, 0);
    CHECK(20 * log10(rms(y + 1000, 30000) / before) < -15, "low-pass: %.1f dB",
          20 * log10(rms(y + 1000, 30000) / before));
    CHECK(a2m_reverb(y, n, 16000, 0, 3, 1) == A2M_ERR_ARG && a2m_reverb(y, n, 16000, 9, 3, 1) == A2M_ERR_ARG,
          "RT60 0 and 9 s refused");
    CHECK(a2m_reverb(y, n, 16000, 0.5, NAN, 1) == A2M_ERR_ARG, "NaN DRR refused");
    CHECK(a2m_biquad(y, n, 16000, 'L', 9000, 0.7, 0) == A2M_ERR_ARG, "cut-off above Nyquist refused");
    CHECK(a2m_biquad(y, n, 16000, 'x', 100, 0.7, 0) == A2M_ERR_ARG, "unknown biquad refused");
    /* AGC: a loud half and a half 20 dB quieter come within 8 dB (ratio 4 above -30 dB: ~5 dB) */
    for (size_t i = 0; i < n; i++) y[i] = (float)((i < n / 2 ? 0.8 : 0.08) * sin(2 * M_PI * 300 * (double)i / 16000));
    double loud = rms(y + 2000, 12000), quiet = rms(y + 18000, 12000), pw = rms(y, n);
    CHECK(a2m_compress(y, n, 16000, -30, 4, 0.01, 0.15) == A2M_OK, "compress");
    double diff = 20 * log10(rms(y + 2000, 12000) / rms(y + 18000, 12000));
    CHECK(20 * log10(loud / quiet) > 19.9 && diff < 8 && diff > 2, "AGC: 20 dB between the halves -> %.1f dB", diff);
    CHECK_NEAR(rms(y, n), pw, 1e-3 * pw, "AGC keeps the loudness");
    CHECK(a2m_compress(y, n, 16000, -30, 0.5, 0.01, 0.15) == A2M_ERR_ARG, "ratio 0.5 refused");
    /* clipping: a sine driven 12 dB comes out squarer (RMS/peak 0.707 -> above 0.85), peak kept */
    for (size_t i = 0; i < n; i++) y[i] = (float)(0.5 * sin(2 * M_PI * 300 * (double)i / 16000));
    CHECK(a2m_soft_clip(y, n, 12) == A2M_OK, "clip");
    float cp = 0;
    for (size_t i = 0; i < n; i++) cp = fmaxf(cp, fabsf(y[i]));
    CHECK(fabsf(cp - 0.5f) < 1e-3f && rms(y, n) / cp > 0.85, "clipped sine: peak %.4f, RMS/peak %.3f", cp,
          rms(y, n) / cp);
    CHECK(a2m_soft_clip(y, n, -1) == A2M_ERR_ARG, "negative drive refused");
    memset(y, 0, n * sizeof *y);
    CHECK(a2m_add_noise(y, n, 16000, A2M_NOISE_WHITE, 10, 1) == A2M_ERR_EMPTY, "silence has no SNR");
    CHECK(a2m_add_noise(x, n, 16000, A2M_NOISE_KINDS_, 10, 1) == A2M_ERR_ARG, "unknown noise refused");

    a2m_augment_info info;
    memcpy(y, x, n * sizeof *y);
    CHECK(a2m_augment(y, n, 16000, 0, 3, &info) == A2M_OK && !info.applied && !memcmp(x, y, n * sizeof *y),
          "p = 0: untouched");
    int noisy = 0;
    for (uint64_t s = 0; s < 40; s++) {
        memcpy(y, x, n * sizeof *y);
        CHECK(a2m_augment(y, n, 16000, 1, s, &info) == A2M_OK && info.applied, "p = 1: applied");
        float peak = 0;
        for (size_t i = 0; i < n; i++) peak = fmaxf(peak, fabsf(y[i]));
        CHECK(peak <= 0.99f + 1e-6f && isfinite(peak), "peak %.4f", peak);
        noisy += info.noise >= 0;
        CHECK(info.noise < 0 || (info.snr_db >= 0 && info.snr_db <= 40), "SNR %.1f", info.snr_db);
    }
    CHECK(noisy >= 24 && noisy <= 39, "noise in %d of 40 chains (80%% asked)", noisy);
    char d1[512], d2[512];
    float *z = malloc(n * sizeof *z);
    memcpy(y, x, n * sizeof *y);
    memcpy(z, x, n * sizeof *z);
    a2m_augment(y, n, 16000, 1, 77, &info);
    a2m_augment_describe(&info, d1, sizeof d1);
    a2m_augment(z, n, 16000, 1, 77, &info);
    a2m_augment_describe(&info, d2, sizeof d2);
    CHECK(!memcmp(y, z, n * sizeof *y) && !strcmp(d1, d2) && !strchr(d1, ','), "same seed, same chain: %s", d1);
    CHECK(a2m_augment(y, n, 16000, 1.5, 1, &info) == A2M_ERR_ARG, "p 1.5 refused");
    free(z);
    free(x);
    free(y);
}

int main(void) {
    test_melody();
    test_perf_pitch();
    test_voice_pitch();
    test_fluid();
    test_shift();
    test_stretch();
    test_shift_seed();
    test_festival();
    test_noise();
    return test_done("test_gen");
}
