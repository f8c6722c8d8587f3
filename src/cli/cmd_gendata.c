/* a2m gendata: training data for the any-pitch model. Take i of a run draws
 * every random choice from a2m_gen_seed(seed, source, i), so the files do not
 * depend on --jobs or on which other takes are made. */
#include <dirent.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "a2m/audio.h"
#include "a2m/dataset.h"
#include "a2m/error.h"
#include "a2m/gen.h"
#include "a2m/io.h"
#include "a2m/midi.h"
#include "core/grow.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/opts.h"

enum { RATE = 16000, ROW_MAX = 2048, MAX_SOUNDFONTS = 8 };
static const char *const DEFAULT_SOUNDFONTS =
    "/usr/share/sounds/sf3/FluidR3Mono_GM.sf3,/usr/share/sounds/sf3/MuseScore_General_Lite.sf3";
static const char *const MANIFEST_HEADER =
    "name,source,seconds,n_notes,pitch_lo,pitch_hi,voice,detune_cents,drift_cents,vibrato_hz,vibrato_cents,"
    "vibrato_delay_s,glide_s,scoop_cents,scoop_s,intonation_cents,take,shift,augment\n";

static const char *const GENDATA_HELP =
    "usage: a2m gendata -o DIR --source synth|fluid|seed|festival|recorded --count N [options]\n"
    "\n"
    "Writes DIR/<source>_<NNNNN>.wav (16 kHz mono 16-bit) and .mid (the notes meant, at the\n"
    "pitch sung, format 0) for N takes, and adds one row per take to DIR/manifest.csv with every\n"
    "random choice (performance, voice, augmentation chain). Take i depends only on (--seed,\n"
    "source, i): any --jobs gives the same bytes.\n"
    "\n"
    "sources:\n"
    "  synth   random melodies (MIDI 36-84, steps and leaps, rests, legato) sung by the additive\n"
    "          voice: vowels a e i o u per note, detune, drift, vibrato, portamento, loudness\n"
    "  fluid   the same melodies through libfluidsynth's voice presets (Choir Aahs, Voice Oohs,\n"
    "          Synth Voice, Solo Vox, ... of --soundfont), pitch bends for the performance\n"
    "  seed    the seed takes (--seed-dir, voice_NNN.wav + midi_NNN.mid, in order, cycling)\n"
    "          pitch-shifted by librubberband (formants kept) by a shift drawn from --shifts;\n"
    "          MIDI = the take's notes - 12 (the pitch actually sung) + shift\n"
    "  festival the same melodies sung by festival's singing mode (text2wave, kal voice), one\n"
    "          syllable per note, detune and drift per note (no vibrato; festival glides), sung\n"
    "          shifted into MIDI 36-70 (its voice crashes above ~510 Hz) and shifted back by\n"
    "          rubberband with new formants\n"
    "  recorded any recordings with their notes (--recordings, NAME.wav + NAME.mid, sorted by\n"
    "          name, cycling: take i is recording i % n), pitch-shifted as seed takes are and\n"
    "          time-stretched by a ratio drawn from --stretch; MIDI = the notes as written + shift,\n"
    "          every time times the ratio (more variety from a few real recordings)\n";

typedef enum { SRC_SYNTH, SRC_FLUID, SRC_SEED, SRC_FESTIVAL, SRC_RECORDED } source_kind;
static const char *const SOURCE_NAMES[] = {"synth", "fluid", "seed", "festival", "recorded"};

typedef struct options {
    const char *dir, *seed_dir, *recordings, *soundfonts;
    source_kind source;
    int count, seed, jobs, force, measured;
    int shifts[2];  /* --shifts LO..HI (seed) */
    int pitches[2]; /* --pitches LO..HI: the melodies' range (synth, fluid, festival) */
    double seconds, augment;
    double stretch[2]; /* --stretch LO..HI: time ratios (seed, recorded) */
} options;

typedef struct seed_take {
    char wav[4096], mid[4096];
} seed_take;

typedef struct run {
    const options *o;
    const char *sf[MAX_SOUNDFONTS];
    size_t n_sf;
    seed_take *takes;
    size_t n_takes;
    char **rows;          /* [count] manifest rows */
    pthread_mutex_t lock; /* next, done, failed, error, progress */
    size_t next, done;
    int failed;
    int created; /* this run made o->dir: a failed run removes what it wrote and the folder */
    char error[1024];
    cli_progress *progress;
} run;

/* ---- one take ---- */

typedef struct take {
    a2m_note *notes;
    size_t n;
    float *y;
    size_t ny;
    char voice[512];
    a2m_perf perf;
    int has_perf, seed_index, shift;
    double stretch;
} take;

static void note_range(const take *t, int *lo, int *hi) {
    *lo = 127, *hi = 0;
    for (size_t i = 0; i < t->n; i++) {
        int p = (int)lround(t->notes[i].pitch);
        *lo = p < *lo ? p : *lo;
        *hi = p > *hi ? p : *hi;
    }
}

/* The additive voice: brighter formants for higher melodies (a 48 -> 72 centre moves them up 25%). */
static int make_synth_take(const run *r, uint64_t s, take *t) {
    uint64_t rng = a2m_gen_seed(s, "voice", 0);
    int lo, hi;
    note_range(t, &lo, &hi);
    a2m_voice_params vp = a2m_voice_default_params();
    vp.seconds = r->o->seconds;
    vp.formant_scale = 1.0 + 0.25 * fmin(1, fmax(0, (0.5 * (lo + hi) - 48) / 24)) + a2m_gen_range(&rng, -0.05, 0.05);
    vp.tilt = a2m_gen_range(&rng, 0.7, 1.6);
    vp.breath = a2m_gen_range(&rng, 0.005, 0.06);
    vp.attack_s = a2m_gen_range(&rng, 0.02, 0.08);
    vp.release_s = a2m_gen_range(&rng, 0.05, 0.15);
    vp.peak = a2m_gen_range(&rng, 0.3, 0.9);
    vp.seed = a2m_gen_next(&rng);
    vp.consonants = a2m_gen_range(&rng, 0, 0.8);
    int k = snprintf(t->voice, sizeof t->voice, "additive formants x%.2f tilt %.2f breath %.3f syllables ",
                     vp.formant_scale, vp.tilt, vp.breath);
    for (size_t i = 0; i < t->n && k + 8 < (int)sizeof t->voice; i++) { /* "pa/o/sha/mi" */
        char c = a2m_voice_consonant(&vp, i);
        k += snprintf(t->voice + k, sizeof t->voice - (size_t)k, "%s%s%c", i ? "/" : "",
                      c == 'S' ? "sh"
                      : c      ? (char[2]){c, 0}
                               : "",
                      a2m_voice_vowel(vp.seed, i));
    }
    return a2m_voice_render(t->notes, t->n, &t->perf, vp, &t->y, &t->ny);
}

/* A preset, and its release shortened x0.15..1 (log-uniform): the choirs ring 0.2-0.7 s after a
 * note-off, over frames labelled silent, where singers stop within ~0.1 s. */
static int make_fluid_take(const run *r, a2m_fluid *f, uint64_t s, take *t) {
    uint64_t rng = a2m_gen_seed(s, "preset", 0);
    size_t preset = (size_t)(a2m_gen_uniform(&rng) * (double)a2m_fluid_n_presets(f));
    double release = exp(a2m_gen_range(&rng, log(0.15), 0));
    int rc = a2m_fluid_set_envelope(f, 1, release);
    if (rc) return rc;
    snprintf(t->voice, sizeof t->voice, "%s release x%.2f", a2m_fluid_preset_name(f, preset), release);
    return a2m_fluid_render(f, preset, t->notes, t->n, &t->perf, r->o->seconds, a2m_gen_range(&rng, 0.3, 0.9), &t->y,
                            &t->ny);
}

/* A take's formants for a voice shifted by shift semitones: they follow the shift by 0-40%
 * (higher voices, higher formants), +-7%. */
static double random_formants(uint64_t *rng, int shift) {
    return fmin(1.45, fmax(0.7, pow(2, (shift * a2m_gen_range(rng, 0, 0.4) + a2m_gen_range(rng, -1.2, 1.2)) / 12)));
}

/* Festival: no vibrato, its own glides (the manifest says so). Its one male voice crashes above
 * ~510 Hz, so it sings the melody shifted into 36..70 by -shift semitones and rubberband shifts it
 * back with new formants: any pitch 36..84, and more than one voice. */
static int make_festival_take(const run *r, uint64_t s, take *t) {
    uint64_t rng = a2m_gen_seed(s, "festival", 0), syl = a2m_gen_next(&rng);
    t->perf.vibrato_cents = 0;
    t->perf.glide_s = 0;
    t->perf.scoop_cents = 0;
    int lo, hi;
    note_range(t, &lo, &hi);
    int s_lo = (int)fmax(-12, hi - 70), s_hi = (int)fmin(fmin(24, lo - 36), s_lo + 12); /* shifts kept small */
    int shift = s_lo + (int)(a2m_gen_uniform(&rng) * (s_hi - s_lo + 1));
    if (s_hi < s_lo) shift = s_lo; /* --pitches beyond 36..84: the smallest shift that fits */
    double formants = random_formants(&rng, shift), peak = a2m_gen_range(&rng, 0.3, 0.9);
    int k = snprintf(t->voice, sizeof t->voice, "festival kal shift %+d formants x%.2f syllables ", shift, formants);
    for (size_t i = 0; i < t->n && k + 8 < (int)sizeof t->voice; i++)
        k += snprintf(t->voice + k, sizeof t->voice - (size_t)k, "%s%s", i ? "/" : "", a2m_festival_syllable(syl, i));
    a2m_note *sung = malloc(t->n * sizeof *sung);
    if (!sung) return a2m_error(A2M_ERR_NOMEM, "gendata: out of memory");
    for (size_t i = 0; i < t->n; i++) sung[i] = t->notes[i], sung[i].pitch -= shift;
    float *raw = NULL;
    size_t n_raw = 0;
    int rc = a2m_festival_render(sung, t->n, &t->perf, r->o->seconds, syl, peak, &raw, &n_raw);
    free(sung);
    if (!rc) rc = a2m_pitch_shift_formant(raw, n_raw, RATE, shift, formants, &t->y, &t->ny);
    free(raw);
    return rc;
}

/* How far each note of a recorded take is sung off its written pitch + offset (seed: -12), in
 * cents (within +-100; 0 for notes under 0.1 s), over the middle 60% of the note.
 * The seed singer's intonation spreads: voice_001's first "60" is sung at 49.1. */
static int measure_notes(const a2m_audio *a, const a2m_notes *mid, int offset, double *cents) {
    for (size_t k = 0; k < mid->n; k++) {
        const a2m_note *nt = &mid->notes[k];
        double len = nt->offset - nt->onset;
        size_t from = (size_t)((nt->onset + 0.2 * len) * RATE), n = (size_t)(0.6 * len * RATE);
        cents[k] = 0;
        if (len < 0.1 || from + n > a->n) continue;
        int rc = a2m_gen_pitch_offset(a->samples + from, n, RATE, nt->pitch + offset, &cents[k]);
        if (rc && rc != A2M_ERR_EMPTY) return rc;
    }
    return A2M_OK;
}

/* "voice_001.wav formants x1.12 cents +105/+45/+40/+3" (stretched: "... stretch x1.10 cents ...") */
static void describe_recorded(const char *wav, double formants, double stretch, const double *cents, size_t n,
                              char *buf, size_t cap) {
    const char *base = strrchr(wav, '/');
    size_t k = (size_t)snprintf(buf, cap, "%s formants x%.2f ", base ? base + 1 : wav, formants);
    if (stretch != 1) k += (size_t)snprintf(buf + k, cap - k, "stretch x%.3f ", stretch);
    k += (size_t)snprintf(buf + k, cap - k, "cents ");
    for (size_t i = 0; i < n && k + 8 < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%+.0f", i ? "/" : "", cents[i]);
}

/* The time ratio of a recorded take: 1 unless --stretch asks, drawn from its own stream (so the seed
 * source's takes without --stretch keep the bytes they had before it existed), uniform in log. */
static double draw_stretch(const options *o, uint64_t s) {
    if (o->stretch[0] == 1 && o->stretch[1] == 1) return 1;
    uint64_t rng = a2m_gen_seed(s, "stretch", 0);
    return exp(a2m_gen_range(&rng, log(o->stretch[0]), log(o->stretch[1])));
}

/* Recording i % n_takes shifted by a drawn shift and stretched by a drawn ratio; its notes + offset
 * (seed: - 12; or, --seed-pitch measured, the nearest semitone to the pitch sung) + shift, every time
 * times the ratio. */
static int make_recorded_take(const run *r, size_t i, uint64_t s, take *t) {
    const seed_take *st = &r->takes[i % r->n_takes];
    int offset = r->o->source == SRC_SEED ? -12 : 0;
    uint64_t rng = a2m_gen_seed(s, "shift", 0);
    t->seed_index = (int)(i % r->n_takes);
    t->shift = r->o->shifts[0] + (int)(a2m_gen_uniform(&rng) * (r->o->shifts[1] - r->o->shifts[0] + 1));
    t->stretch = draw_stretch(r->o, s);
    double formants = random_formants(&rng, t->shift); /* another singer */
    a2m_audio a = {0};
    a2m_notes mid = {0};
    int rc = a2m_audio_read(st->wav, RATE, &a);
    if (!rc) rc = a2m_midi_read(st->mid, &mid);
    double *cents = calloc(mid.n + 1, sizeof *cents);
    if (!rc && !cents) rc = a2m_error(A2M_ERR_NOMEM, "gendata: out of memory");
    if (!rc && (rc = measure_notes(&a, &mid, offset, cents))) a2m_error_prefix(rc, st->wav);
    if (!rc && (rc = a2m_stretch_shift(a.samples, a.n, RATE, t->shift, formants, t->stretch, &t->y, &t->ny)))
        a2m_error_prefix(rc, st->wav);
    a2m_audio_free(&a);
    t->notes = mid.notes;
    t->n = mid.n;
    for (size_t k = 0; !rc && k < t->n; k++) {
        t->notes[k].pitch += t->shift + offset + (r->o->measured ? round(cents[k] / 100) : 0);
        t->notes[k].onset *= t->stretch;
        t->notes[k].offset *= t->stretch;
    }
    if (!rc) describe_recorded(st->wav, formants, t->stretch, cents, t->n, t->voice, sizeof t->voice);
    free(cents);
    return rc;
}

static void format_row(const run *r, const char *name, const take *t, const a2m_augment_info *aug, char *row) {
    int lo, hi;
    note_range(t, &lo, &hi);
    char chain[512], perf[256] = ",,,,,,,,", seed[64] = ",";
    a2m_augment_describe(aug, chain, sizeof chain);
    const a2m_perf *q = &t->perf;
    if (t->has_perf)
        snprintf(perf, sizeof perf, "%.1f,%.1f,%.2f,%.1f,%.3f,%.3f,%.1f,%.3f,%.1f", q->detune_cents, q->drift_cents,
                 q->vibrato_hz, q->vibrato_cents, q->vibrato_delay_s, q->glide_s, q->scoop_cents, q->scoop_s,
                 q->intonation_cents);
    if (r->o->source == SRC_SEED || r->o->source == SRC_RECORDED)
        snprintf(seed, sizeof seed, "%d,%+d", t->seed_index + 1, t->shift);
    snprintf(row, ROW_MAX, "%s,%s,%.3f,%zu,%d,%d,%s,%s,%s,%s\n", name, SOURCE_NAMES[r->o->source], (double)t->ny / RATE,
             t->n, lo, hi, t->voice, perf, seed, chain);
}

/* Take i's files: DIR/NAME.wav and DIR/NAME.mid, NAME = source_00042 (the manifest's first column) */
static void take_paths(const options *o, size_t i, char name[64], char wav[4200], char mid[4200]) {
    snprintf(name, 64, "%s_%05zu", SOURCE_NAMES[o->source], i);
    snprintf(wav, 4200, "%s/%s.wav", o->dir, name);
    snprintf(mid, 4200, "%s/%s.mid", o->dir, name);
}

static int write_take(const run *r, size_t i, a2m_fluid *f, char *row) {
    const options *o = r->o;
    uint64_t s = a2m_gen_seed((uint64_t)o->seed, SOURCE_NAMES[o->source], i);
    take t = {0};
    int rc = A2M_OK;
    if (o->source == SRC_SEED || o->source == SRC_RECORDED) {
        rc = make_recorded_take(r, i, s, &t);
    } else {
        a2m_melody_params mp = a2m_melody_default_params();
        mp.seconds = o->seconds;
        mp.lo = o->pitches[0], mp.hi = o->pitches[1];
        t.perf = a2m_perf_random(a2m_gen_seed(s, "perf", 0));
        t.has_perf = 1;
        rc = a2m_melody_random(mp, a2m_gen_seed(s, "melody", 0), &t.notes, &t.n);
        if (!rc && o->source == SRC_SYNTH) rc = make_synth_take(r, s, &t);
        else if (!rc && o->source == SRC_FLUID) rc = make_fluid_take(r, f, s, &t);
        else if (!rc) rc = make_festival_take(r, s, &t);
    }
    a2m_augment_info aug;
    if (!rc) rc = a2m_augment(t.y, t.ny, RATE, o->augment, a2m_gen_seed(s, "augment", 0), &aug);
    char name[64], wav[4200], mid[4200];
    take_paths(o, i, name, wav, mid);
    if (!rc) rc = a2m_audio_write_wav(wav, t.y, t.ny, RATE);
    if (!rc && (rc = a2m_midi_write(mid, t.notes, t.n, a2m_midi_write_default_params())))
        remove(wav); /* both or neither */
    if (!rc) format_row(r, name, &t, &aug, row);
    free(t.notes);
    free(t.y);
    return rc;
}

/* ---- workers ---- */

static void *worker(void *arg) {
    run *r = arg;
    a2m_fluid *f = NULL;
    int rc = r->o->source == SRC_FLUID ? a2m_fluid_new(r->sf, r->n_sf, RATE, &f) : A2M_OK;
    char *row = malloc(ROW_MAX);
    if (!rc && !row) rc = a2m_error(A2M_ERR_NOMEM, "gendata: out of memory");
    for (;;) {
        pthread_mutex_lock(&r->lock);
        size_t i = r->next++;
        int stop = rc || r->failed || i >= (size_t)r->o->count || cli_interrupted();
        if (rc && !r->failed) {
            r->failed = 1;
            snprintf(r->error, sizeof r->error, "%s", a2m_errmsg());
        }
        pthread_mutex_unlock(&r->lock);
        if (stop) break;
        rc = write_take(r, i, f, row);
        pthread_mutex_lock(&r->lock);
        if (!rc && !(r->rows[i] = strdup(row))) rc = a2m_error(A2M_ERR_NOMEM, "gendata: out of memory");
        if (!rc) cli_progress_update(r->progress, ++r->done, NULL);
        pthread_mutex_unlock(&r->lock);
    }
    free(row);
    a2m_fluid_del(f);
    return NULL;
}

static int run_workers(run *r) {
    pthread_t th[64];
    int n = r->o->jobs, started = 0;
    for (; started < n; started++)
        if (pthread_create(&th[started], NULL, worker, r)) break;
    if (started == 0) worker(r);
    for (int k = 0; k < started; k++) pthread_join(th[k], NULL);
    return r->failed;
}

/* ---- manifest: earlier rows kept (except takes rewritten now) and the new ones, sorted by name ---- */

/* An old row whose take this run wrote again (an interrupted run leaves the rows of takes it did not reach) */
static int rewritten(const run *r, const char *line) {
    size_t len = strlen(SOURCE_NAMES[r->o->source]);
    if (strncmp(line, SOURCE_NAMES[r->o->source], len) || line[len] != '_') return 0;
    char *end;
    long i = strtol(line + len + 1, &end, 10);
    return *end == ',' && i >= 0 && i < r->o->count && r->rows[i];
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Rows of the old manifest text (modified in place) that stay, then the new rows; *lines malloc'd. */
static int collect_rows(const run *r, char *text, size_t text_len, char ***lines, size_t *n) {
    size_t cap = (size_t)r->o->count + 1;
    for (size_t i = 0; i < text_len; i++) cap += text[i] == '\n';
    char **v = malloc(cap * sizeof *v);
    if (!v) return a2m_error(A2M_ERR_NOMEM, "gendata: out of memory");
    size_t k = 0;
    for (char *save = NULL, *line = text ? strtok_r(text, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save))
        if (strncmp(line, "name,", 5) && !rewritten(r, line)) v[k++] = line;
    for (int i = 0; i < r->o->count; i++) {
        if (!r->rows[i]) continue; /* not reached (an interrupt) or failed */
        r->rows[i][strcspn(r->rows[i], "\n")] = 0;
        v[k++] = r->rows[i];
    }
    qsort(v, k, sizeof *v, cmp_str);
    *lines = v;
    *n = k;
    return A2M_OK;
}

static int write_manifest(const run *r) {
    char path[4200];
    snprintf(path, sizeof path, "%s/manifest.csv", r->o->dir);
    uint8_t *old = NULL;
    size_t old_len = 0, n = 0;
    int rc = a2m_path_exists(path) ? a2m_read_file(path, &old, &old_len, (size_t)256 << 20) : A2M_OK;
    char *text = old ? realloc(old, old_len + 1) : NULL;
    if (old && !text) {
        free(old);
        rc = a2m_error(A2M_ERR_NOMEM, "%s: out of memory", path);
    }
    if (text) text[old_len] = 0;
    char **lines = NULL;
    if (!rc) rc = collect_rows(r, text, old_len, &lines, &n);
    a2m_atomic_file f;
    if (!rc) rc = a2m_atomic_open(&f, path, 1);
    if (!rc) {
        fputs(MANIFEST_HEADER, f.fp);
        for (size_t i = 0; i < n; i++) fprintf(f.fp, "%s\n", lines[i]);
        rc = a2m_atomic_commit(&f);
    }
    free(lines);
    free(text);
    return rc;
}

/* ---- inputs ---- */

static int cmp_takes(const void *a, const void *b) {
    return strcmp(((const seed_take *)a)->wav, ((const seed_take *)b)->wav);
}

/* The takes of dir, sorted: seed, voice_NNN.wav with a midi_NNN.mid; recorded, any NAME.wav with a NAME.mid. */
static int list_takes(run *r, const char *dir) {
    int seed = r->o->source == SRC_SEED;
    DIR *d = opendir(dir);
    if (!d) return cli_fail("%s: cannot open the %s folder", dir, seed ? "seed" : "recordings");
    size_t cap = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        unsigned num;
        if (len < 5 || len > 200 || strcmp(e->d_name + len - 4, ".wav") ||
            (seed && (len < 11 || sscanf(e->d_name, "voice_%u", &num) != 1)))
            continue;
        if (a2m_grow(&r->takes, &cap, r->n_takes + 1, sizeof *r->takes, 64)) break;
        seed_take *t = &r->takes[r->n_takes];
        snprintf(t->wav, sizeof t->wav, "%s/%s", dir, e->d_name);
        char take[256];
        snprintf(take, sizeof take, "%.*s", (int)(len - 4), e->d_name);
        if (a2m_dataset_midi_partner(dir, take, t->mid, sizeof t->mid)) r->n_takes++;
    }
    closedir(d);
    if (r->n_takes == 0)
        return cli_fail("%s: no %s", dir, seed ? "voice_NNN.wav with a midi_NNN.mid" : "NAME.wav with a NAME.mid");
    qsort(r->takes, r->n_takes, sizeof *r->takes, cmp_takes);
    return 0;
}

/* Splits --soundfont and checks that a synthesizer loads them (the error names the file). */
static int check_soundfonts(run *r, char *list) {
    for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (r->n_sf == MAX_SOUNDFONTS)
            return cli_usage_error("gendata", "--soundfont: at most %d files", MAX_SOUNDFONTS);
        r->sf[r->n_sf++] = tok;
    }
    if (r->n_sf == 0) return cli_usage_error("gendata", "--soundfont: no file given");
    a2m_fluid *f;
    int rc = a2m_fluid_new(r->sf, r->n_sf, RATE, &f);
    if (rc) return cli_lib_fail(rc);
    a2m_fluid_del(f);
    return 0;
}

static const char *default_seed_dir(char *buf, size_t cap) {
    const char *shared = getenv("A2M_SHARED");
    snprintf(buf, cap, "%s/data/seed/audio", shared && shared[0] ? shared : "../shared");
    return buf;
}

/* ---- options ---- */

/* --shifts / --pitches LO..HI (dst: two ints) within lo..hi */
static int parse_range(const char *name, const char *v, int *r, int lo, int hi) {
    char tail;
    int a, b;
    if (sscanf(v, "%d..%d%c", &a, &b, &tail) != 2 || a > b || a < lo || b > hi)
        return cli_usage_error("gendata", "%s: '%s' is not LO..HI within %d..%d", name, v, lo, hi), 0;
    r[0] = a, r[1] = b;
    return 1;
}

static int parse_shifts(const char *cmd, const char *name, const char *v, void *dst) {
    (void)cmd;
    return parse_range(name, v, dst, -24, 24);
}

static int parse_pitches(const char *cmd, const char *name, const char *v, void *dst) {
    (void)cmd;
    return parse_range(name, v, dst, 12, 108);
}

/* --stretch LO..HI: time ratios within 0.5..2 */
static int parse_stretch(const char *cmd, const char *name, const char *v, void *dst) {
    (void)cmd;
    double *r = dst, a, b;
    char tail;
    if (sscanf(v, "%lf..%lf%c", &a, &b, &tail) != 2 || !(a <= b && a >= 0.5 && b <= 2))
        return cli_usage_error("gendata", "%s: '%s' is not LO..HI within 0.5..2", name, v), 0;
    r[0] = a, r[1] = b;
    return 1;
}

static int show_stretch(const void *v, char *buf, size_t n) {
    const double *r = v;
    return snprintf(buf, n, "%g..%g", r[0], r[1]), 1;
}

static int show_range(const void *v, char *buf, size_t n) {
    const int *r = v;
    return snprintf(buf, n, "%d..%d", r[0], r[1]), 1;
}

static int show_soundfonts(const void *v, char *buf, size_t n) {
    (void)v;
    return snprintf(buf, n, "%s", DEFAULT_SOUNDFONTS), 1;
}

static int show_seed_dir(const void *v, char *buf, size_t n) {
    (void)v;
    return snprintf(buf, n, "$A2M_SHARED/data/seed/audio or ../shared/data/seed/audio"), 1;
}

static int parse_args(int argc, char **argv, options *o) {
    int have_source = 0, source = 0;
    const cli_option opts[] = {
        {CLI_STR_OPT("--output", &o->dir), .alias = "-o", .meta = "DIR",
         .help = "output folder; an existing one is refused unless --force"},
        {CLI_CHOICE_OPT("--source", &source, "synth|fluid|seed|festival|recorded"), .given = &have_source, .nodef = 1,
         .help = "where the takes come from (required)"},
        {CLI_INT_OPT("--count", &o->count, 1, 100000), .meta = "N", .nodef = 1,
         .help = "takes to write (required; for seed/recorded: (take, shift) pairs, cycling the takes)"},
        {CLI_INT_OPT("--seed", &o->seed, 0, 2147483647), .meta = "S", .help = "run seed"},
        {CLI_DBL_OPT("--seconds", &o->seconds, 1, 600), .meta = "S",
         .help = "take length for synth/fluid (seed takes keep their 4 s)"},
        {CLI_DBL_OPT("--augment", &o->augment, 0, 1), .meta = "P",
         .help = "probability of a random phone-like chain per take: EQ, room reverb,\n"
                 "band-limiting, noise (white/pink/brown/hum/babble, SNR 0-40 dB), gain (0: clean)"},
        {CLI_CUSTOM_OPT("--shifts", o->shifts, parse_shifts, show_range), .meta = "LO..HI",
         .help = "seed/recorded shifts in semitones, drawn uniformly"},
        {CLI_CUSTOM_OPT("--pitches", o->pitches, parse_pitches, show_range), .meta = "LO..HI",
         .help = "synth/fluid/festival melodies inside MIDI LO..HI (wider ranges teach a model\n"
                 "what lies beyond its classes)"},
        {CLI_CHOICE_OPT("--seed-pitch", &o->measured, "written|measured"),
         .help = "seed labels: written (the take's MIDI - 12) or measured (each note at the semitone\n"
                 "nearest its sung pitch: the seed singer is often 50-100 cents off); the manifest's\n"
                 "voice column lists each note's cents"},
        {CLI_STR_OPT("--seed-dir", &o->seed_dir), .meta = "DIR", .show = show_seed_dir, .help = "seed takes"},
        {CLI_STR_OPT("--recordings", &o->recordings), .meta = "DIR", .nodef = 1,
         .help = "recorded: a folder of NAME.wav + NAME.mid (required for recorded)"},
        {CLI_CUSTOM_OPT("--stretch", o->stretch, parse_stretch, show_stretch), .meta = "LO..HI",
         .help = "seed/recorded: time ratios drawn uniformly in log (> 1 slower; 1..1 off)"},
        {CLI_STR_OPT("--soundfont", &o->soundfonts), .meta = "F[,F]", .show = show_soundfonts,
         .help = "soundfonts for fluid"},
        {CLI_INT_OPT("--jobs", &o->jobs, 1, 64), .meta = "N", .help = "worker threads"},
        {CLI_FLAG_OPT("--force", &o->force),
         .help = "write into an existing DIR (takes of the same names are replaced)"},
        {.name = NULL}};
    const cli_spec spec = {"gendata", GENDATA_HELP, {{NULL, opts}}, NULL};
    int rc = cli_parse_upto(argc, argv, &spec, NULL, 0);
    if (rc >= 0) return rc ? rc : -1;
    o->source = (source_kind)source;
    if (!o->dir) return cli_usage_error("gendata", "missing -o DIR");
    if (!have_source) return cli_usage_error("gendata", "missing --source synth|fluid|seed|festival|recorded");
    if (o->source == SRC_RECORDED && !o->recordings)
        return cli_usage_error("gendata", "--source recorded needs --recordings DIR");
    if (!o->count) return cli_usage_error("gendata", "missing --count N");
    return 0;
}

static int prepare(run *r, char *sf_list) {
    const options *o = r->o;
    char buf[4096], in_real[PATH_MAX], out_real[PATH_MAX];
    const char *in = o->source == SRC_RECORDED ? o->recordings
                     : o->seed_dir             ? o->seed_dir
                                               : default_seed_dir(buf, sizeof buf);
    int recorded = o->source == SRC_SEED || o->source == SRC_RECORDED, rc = 0;
    if (recorded && realpath(in, in_real) && realpath(o->dir, out_real) && !strcmp(in_real, out_real))
        return cli_fail("%s: is the %s folder, an input", o->dir, o->source == SRC_SEED ? "seed" : "recordings");
    if (recorded) rc = list_takes(r, in);
    if (!rc && o->source == SRC_FLUID) rc = check_soundfonts(r, sf_list);
    if (rc) return rc;
    if (a2m_path_exists(o->dir) && !a2m_is_dir(o->dir)) return cli_fail("%s: exists and is not a folder", o->dir);
    if (a2m_path_exists(o->dir) && !o->force) return cli_fail("%s: exists (--force writes into it)", o->dir);
    r->created = !a2m_path_exists(o->dir);
    if ((rc = a2m_mkdirs(o->dir))) return cli_lib_fail(rc);
    return 0;
}

/* A failed run into a folder it made leaves nothing: its takes, then the folder (empty unless someone wrote
 * into it meanwhile, in which case rmdir fails and it stays). */
static void remove_written(const run *r) {
    char name[64], wav[4200], mid[4200];
    for (size_t i = 0; i < (size_t)r->o->count; i++) {
        if (!r->rows[i]) continue;
        take_paths(r->o, i, name, wav, mid);
        remove(wav);
        remove(mid);
    }
    rmdir(r->o->dir);
}

int cmd_gendata(int argc, char **argv) {
    a2m_melody_params mp = a2m_melody_default_params(); /* the melodies' length and range */
    options o = {
        .seed = 1, .jobs = 1, .seconds = mp.seconds, .shifts = {-12, 12}, .pitches = {mp.lo, mp.hi}, .stretch = {1, 1}};
    int rc = parse_args(argc, argv, &o);
    if (rc) return rc < 0 ? 0 : rc;
    run r;
    memset(&r, 0, sizeof r);
    r.o = &o;
    char *sf_list = strdup(o.soundfonts ? o.soundfonts : DEFAULT_SOUNDFONTS);
    r.rows = calloc((size_t)o.count, sizeof *r.rows);
    if (!sf_list || !r.rows) rc = cli_fail("out of memory");
    if (!rc) rc = prepare(&r, sf_list);
    if (!rc) {
        pthread_mutex_init(&r.lock, NULL);
        r.progress = cli_progress_new("gendata", (size_t)o.count);
        /* the first Ctrl-C lets the takes being made finish and lists every take written in manifest.csv (the
         * takes were kept without their rows; with --force over an older run, its rows described other takes);
         * a second one ends at once */
        cli_signals_graceful();
        rc = run_workers(&r) ? cli_fail("%s", r.error) : 0;
        if (rc || cli_interrupted()) cli_progress_free(r.progress);
        else cli_progress_done(r.progress, NULL);
        if (rc && r.created) remove_written(&r);
        /* a failure inside an older folder (--force) lists, as an interrupt does, the takes it rewrote */
        int mrc = rc && r.created ? 0 : write_manifest(&r);
        if (mrc) rc = cli_lib_fail(mrc);
        if (!rc && cli_interrupted()) {
            fprintf(stderr, "a2m gendata: interrupted: %zu of %d takes written, listed in %s/manifest.csv\n", r.done,
                    o.count, o.dir);
            rc = 128 + cli_interrupted();
        }
        pthread_mutex_destroy(&r.lock);
    }
    if (!rc) printf("%s: %d %s takes\n", o.dir, o.count, SOURCE_NAMES[o.source]);
    for (int i = 0; r.rows && i < o.count; i++) free(r.rows[i]);
    free(r.rows);
    free(r.takes);
    free(sf_list);
    return rc;
}
