/* Random melodies (the notes meant) and a random performance of them (the
 * pitch actually sung): seeded, the same seed gives the same numbers. */
#include "a2m/error.h"
#include "a2m/gen.h"
#include "core/rand.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

uint64_t a2m_gen_next(uint64_t *s) { return a2m_splitmix64(s); }
double a2m_gen_uniform(uint64_t *s) { return a2m_uniform53(s); }
double a2m_gen_range(uint64_t *s, double lo, double hi) { return lo + (hi - lo) * a2m_gen_uniform(s); }
double a2m_gen_normal(uint64_t *s) {
    double u = a2m_gen_uniform(s), v = a2m_gen_uniform(s);
    return sqrt(-2.0 * log(1.0 - u)) * cos(2 * M_PI * v);
}

uint64_t a2m_gen_seed(uint64_t seed, const char *name, uint64_t i) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a of the name */
    for (const char *c = name ? name : ""; *c; c++) h = (h ^ (uint8_t)*c) * 1099511628211ull;
    uint64_t s = seed * 0xd1b54a32d192ed03ull ^ h;
    a2m_gen_next(&s);
    s ^= i * 0x8cb92ba72f3d8dd7ull;
    return a2m_gen_next(&s);
}

a2m_melody_params a2m_melody_default_params(void) {
    a2m_melody_params p = {8.0, 36, 84, 18, 0.08, 1.5, 0.3, 0.15, 0.6};
    return p;
}

static int check_melody(const a2m_melody_params *p) {
    if (!(p->seconds >= 1 && p->seconds <= 600))
        return a2m_error(A2M_ERR_ARG, "melody: %g s outside 1..600", p->seconds);
    if (p->lo < 0 || p->hi > 127 || p->hi < p->lo) return a2m_error(A2M_ERR_ARG, "melody: range %d..%d", p->lo, p->hi);
    if (p->max_range < 0) return a2m_error(A2M_ERR_ARG, "melody: negative max_range");
    if (!(p->min_dur_s > 0 && p->max_dur_s >= p->min_dur_s && p->median_dur_s > 0))
        return a2m_error(A2M_ERR_ARG, "melody: bad note durations");
    if (!(p->p_rest >= 0 && p->p_legato >= 0 && p->p_rest + p->p_legato <= 1))
        return a2m_error(A2M_ERR_ARG, "melody: rest/legato probabilities must be >= 0 and sum to <= 1");
    return A2M_OK;
}

/* An interval in semitones: repeated .15, steps (1-2) .45, thirds (3-4) .25,
 * 5-7 .12, 8-12 .03 (the shares of sung folk and pop melodies, roughly). */
static int random_interval(uint64_t *rng) {
    double u = a2m_gen_uniform(rng);
    int size = u < 0.15   ? 0
               : u < 0.60 ? 1 + (int)(2 * a2m_gen_uniform(rng))
               : u < 0.85 ? 3 + (int)(2 * a2m_gen_uniform(rng))
               : u < 0.97 ? 5 + (int)(3 * a2m_gen_uniform(rng))
                          : 8 + (int)(5 * a2m_gen_uniform(rng));
    return a2m_gen_uniform(rng) < 0.5 ? -size : size;
}

/* Next pitch inside [lo, hi]: an interval that would leave is mirrored. */
static int next_pitch(uint64_t *rng, int prev, int lo, int hi) {
    int step = random_interval(rng);
    int p = prev + step;
    if (p < lo || p > hi) p = prev - step;
    return p < lo ? lo : p > hi ? hi : p;
}

static double random_duration(uint64_t *rng, const a2m_melody_params *p, double tempo) {
    double d = p->median_dur_s * tempo * exp(0.6 * a2m_gen_normal(rng));
    return fmin(p->max_dur_s, fmax(p->min_dur_s, d));
}

int a2m_melody_random(a2m_melody_params p, uint64_t seed, a2m_note **notes, size_t *n) {
    *notes = NULL;
    *n = 0;
    int rc = check_melody(&p);
    if (rc) return rc;
    uint64_t rng = seed;
    int range = (int)fmin(p.max_range, p.hi - p.lo);
    range = range / 2 + (int)((range - range / 2 + 1) * a2m_gen_uniform(&rng)); /* half to all of max_range */
    /* the singer's centre is uniform over lo..hi and the window is cut at the ends: a window kept
     * whole inside 36..84 left MIDI 36 and 84 without a single frame in 60 takes */
    double centre = a2m_gen_range(&rng, p.lo, p.hi);
    int lo = (int)fmax(p.lo, lround(centre - 0.5 * range)), hi = (int)fmin(p.hi, lround(centre + 0.5 * range));
    range = hi - lo;
    double tempo = a2m_gen_range(&rng, 0.6, 1.6);
    double edge = fmin(1.0, 0.25 * p.seconds); /* short takes keep room for notes */
    double t = a2m_gen_range(&rng, 0.2, edge), end = p.seconds - a2m_gen_range(&rng, 0.2, edge);
    size_t cap = (size_t)(p.seconds / p.min_dur_s) + 2;
    a2m_note *v = calloc(cap, sizeof *v);
    if (!v) return a2m_error(A2M_ERR_NOMEM, "melody: out of memory");
    int pitch = lo + (int)((range + 1) * a2m_gen_uniform(&rng));
    size_t k = 0;
    while (k < cap) {
        double d = random_duration(&rng, &p, tempo);
        if (t + d > end) d = end - t;
        if (d < p.min_dur_s && k > 0) break;
        if (d < p.min_dur_s) d = p.min_dur_s; /* a take always has one note */
        v[k++] = (a2m_note){t, t + d, pitch, 50 + (int)(71 * a2m_gen_uniform(&rng)), 0};
        double u = a2m_gen_uniform(&rng);
        t += d + (u < p.p_rest                ? a2m_gen_range(&rng, 0.05, 0.8)
                  : u < p.p_rest + p.p_legato ? 0
                                              : a2m_gen_range(&rng, 0.02, 0.12));
        pitch = next_pitch(&rng, pitch, lo, hi);
    }
    *notes = v;
    *n = k;
    return A2M_OK;
}

a2m_perf a2m_perf_none(void) {
    a2m_perf q;
    memset(&q, 0, sizeof q);
    q.vibrato_hz = 5.5;
    return q;
}

a2m_perf a2m_perf_random(uint64_t seed) {
    uint64_t rng = seed;
    a2m_perf q = a2m_perf_none();
    q.detune_cents = a2m_gen_range(&rng, -35, 35);
    q.drift_cents = a2m_gen_range(&rng, 0, 20);
    q.vibrato_hz = a2m_gen_range(&rng, 4.5, 7.0);
    q.vibrato_cents = a2m_gen_range(&rng, 0, 60);
    q.vibrato_delay_s = a2m_gen_range(&rng, 0.05, 0.4);
    q.glide_s = a2m_gen_range(&rng, 0.03, 0.12);
    for (int k = 0; k < 4; k++) q.phase[k] = a2m_gen_range(&rng, 0, 2 * M_PI);
    for (int k = 0; k < 3; k++) q.drift_hz[k] = a2m_gen_range(&rng, 0.03, 0.3);
    /* amateur singers often scoop up into a note they start afresh */
    q.scoop_cents = a2m_gen_uniform(&rng) < 0.5 ? a2m_gen_range(&rng, 20, 120) : 0;
    q.scoop_s = a2m_gen_range(&rng, 0.04, 0.12);
    /* amateur singers miss single notes too: singreal's 18 files sit 36 cents off their notes on
     * average (middle 40% of each note), detune and drift alone gave 22 */
    q.intonation_cents = a2m_gen_range(&rng, 0, 25);
    q.note_seed = a2m_gen_next(&rng);
    return q;
}

static double smoothstep(double x) { return x <= 0 ? 0 : x >= 1 ? 1 : x * x * (3 - 2 * x); }

/* Index of the note sounding at t: the last one with onset <= t (0 before the first). */
static size_t note_at(const a2m_note *notes, size_t n, double t) {
    size_t lo = 0, hi = n; /* binary search: first onset > t */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (notes[mid].onset <= t) lo = mid + 1;
        else hi = mid;
    }
    return lo ? lo - 1 : 0;
}

/* Half the glide at the legato boundary between notes a and a+1 (0 if not legato). */
static double half_glide(const a2m_perf *q, const a2m_note *notes, size_t n, size_t a) {
    if (a + 1 >= n || fabs(notes[a].offset - notes[a + 1].onset) > 1e-9) return 0;
    double shortest = fmin(notes[a].offset - notes[a].onset, notes[a + 1].offset - notes[a + 1].onset);
    return fmin(0.5 * q->glide_s, 0.5 * shortest);
}

/* Pitch sung for a note (semitones): the note plus its error, N(0, intonation) clipped at 2
 * sigma, drawn from the onset so any slice of the notes gives the same value. */
static double sung(const a2m_perf *q, const a2m_note *nt) {
    if (!(q->intonation_cents > 0)) return nt->pitch;
    uint64_t s = a2m_gen_seed(q->note_seed, "intonation", (uint64_t)llround(fmax(0, nt->onset) * 1e6));
    return nt->pitch + q->intonation_cents * fmax(-2, fmin(2, a2m_gen_normal(&s))) / 100.0;
}

double a2m_perf_pitch(const a2m_perf *q, const a2m_note *notes, size_t n, double t) {
    if (n == 0) return 60;
    size_t i = note_at(notes, n, t);
    double pitch = sung(q, &notes[i]);
    double g = half_glide(q, notes, n, i); /* glide into the next note starts g before the boundary */
    if (g > 0 && t > notes[i].offset - g)
        pitch += (sung(q, &notes[i + 1]) - pitch) * smoothstep((t - notes[i].offset + g) / (2 * g));
    g = i > 0 ? half_glide(q, notes, n, i - 1) : 0; /* and ends g after it */
    if (g > 0 && t < notes[i].onset + g)
        pitch += (sung(q, &notes[i - 1]) - pitch) * (1 - smoothstep((t - notes[i].onset + g) / (2 * g)));
    int tied = i > 0 && fabs(notes[i - 1].offset - notes[i].onset) <= 1e-9;
    if (!tied && q->scoop_s > 0 && t >= notes[i].onset && t < notes[i].onset + q->scoop_s)
        pitch -= q->scoop_cents / 100.0 * (1 - smoothstep((t - notes[i].onset) / q->scoop_s));
    double drift = 0;
    for (int k = 0; k < 3; k++) drift += sin(2 * M_PI * q->drift_hz[k] * t + q->phase[k]);
    double since = t - notes[i].onset;
    double vib_env = q->vibrato_delay_s > 0 ? smoothstep(since / q->vibrato_delay_s) : 1;
    double vib = q->vibrato_cents * vib_env * sin(2 * M_PI * q->vibrato_hz * t + q->phase[3]);
    return pitch + (q->detune_cents + q->drift_cents * drift / 3.0 + vib) / 100.0;
}
