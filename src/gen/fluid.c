/* Soundfont voices through libfluidsynth, offline: notes become note-on/off
 * events at 64-sample block boundaries (4 ms at 16 kHz), and the performance
 * (glides, detune, drift, vibrato) becomes pitch bends updated every block
 * with a bend range of 12 semitones (8192 steps: 0.15 cent resolution).
 * Consecutive notes alternate between two channels so a note's release keeps
 * its own bend (frozen at its offset) while the next note glides. Each
 * (preset, key) is measured once: its sampled tuning is bent away and its
 * note-on sent early by the time its sample takes to reach half level. Every
 * rendering runs on a fresh synthesizer (a reused one gave other samples). No
 * reverb or chorus: the augmentation chain adds rooms. */
#include "a2m/error.h"
#include "a2m/gen.h"
#include "a2m/io.h"
#include "gen/fluid_dl.h"

#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { BLOCK = 64, MAX_PRESETS = 64, BEND_RANGE = 12 };

enum { MAX_SOUNDFONTS = 8 };

typedef struct preset {
    int sf, bank, num; /* sf: index into paths */
    int keeper_id;     /* the soundfont's id in the keeper */
    char name[128];
} preset;

/* A synthesizer carries state from one rendering to the next however it is
 * reset (measured: a second rendering of the same notes differed from the
 * first), so every rendering gets a fresh one: the same take gives the same
 * bytes in any thread and order. The keeper, a synthesizer that never plays,
 * holds every voice preset selected, so their samples stay decoded in
 * fluidsynth's sample cache: a fresh synthesizer with a preset then costs
 * 15 ms of CPU instead of 50 (the sf3's Vorbis samples decoded again). */
struct a2m_fluid {
    fluid_settings_t *settings;
    fluid_synth_t *synth;  /* only while rendering */
    fluid_synth_t *keeper; /* every preset selected on its own channel */
    int rate;
    size_t n_paths;
    char *paths[MAX_SOUNDFONTS];
    size_t n_presets;
    preset presets[MAX_PRESETS];
    float tuning[MAX_PRESETS][128]; /* cents off per key, NAN until measured */
    float lead[MAX_PRESETS][128];   /* seconds a key's sample takes to reach half its level */
    float attack_tc, release_tc;    /* envelope offsets (timecents) for the renders to come */
};

static void quiet_log(int level, const char *message, void *data) {
    (void)level, (void)message, (void)data; /* the library never prints */
}
static void silence_fluid(void) {
    for (int level = FLUID_PANIC; level <= FLUID_DBG; level++) fluid_set_log_function(level, quiet_log, NULL);
}
static pthread_once_t log_once = PTHREAD_ONCE_INIT;

static int is_voice_name(const char *name) {
    static const char *const KEYS[] = {"aah", "ooh", "vox", "voice", "choir"};
    char low[128];
    size_t k = 0;
    for (; name[k] && k + 1 < sizeof low; k++) low[k] = (char)tolower((unsigned char)name[k]);
    low[k] = 0;
    for (size_t i = 0; i < sizeof KEYS / sizeof KEYS[0]; i++)
        if (strstr(low, KEYS[i])) return 1;
    return 0;
}

/* Lists sfont id's (soundfont sf's) voice presets into f. */
static void find_presets(a2m_fluid *f, int id, int sf_index, const char *path) {
    fluid_sfont_t *sf = fluid_synth_get_sfont_by_id(f->synth, id);
    if (!sf) return;
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    fluid_sfont_iteration_start(sf);
    for (fluid_preset_t *p; (p = fluid_sfont_iteration_next(sf)) && f->n_presets < MAX_PRESETS;) {
        const char *name = fluid_preset_get_name(p);
        /* bank 0 only: MuseScore's bank 17 "Expr." presets repeat bank 0's samples (same pitch to 0.1 cent) */
        if (!name || !is_voice_name(name) || fluid_preset_get_banknum(p) != 0) continue;
        preset *q = &f->presets[f->n_presets++];
        q->sf = sf_index;
        q->keeper_id = id;
        q->bank = fluid_preset_get_banknum(p);
        q->num = fluid_preset_get_num(p);
        snprintf(q->name, sizeof q->name, "%s:%03d:%03d %s", base, q->bank, q->num, name);
    }
}

static int make_settings(a2m_fluid *f, int rate) {
    f->settings = new_fluid_settings();
    if (!f->settings) return a2m_error(A2M_ERR_NOMEM, "fluid: cannot create settings");
    fluid_settings_setnum(f->settings, "synth.sample-rate", rate);
    fluid_settings_setint(f->settings, "synth.reverb.active", 0);
    fluid_settings_setint(f->settings, "synth.chorus.active", 0);
    fluid_settings_setint(f->settings, "synth.dynamic-sample-loading", 1); /* decode only the presets played */
    fluid_settings_setnum(f->settings, "synth.gain", 0.5);
    fluid_settings_setint(f->settings, "synth.midi-channels", MAX_PRESETS); /* the keeper's channels */
    f->rate = rate;
    return A2M_OK;
}

static int new_synth(a2m_fluid *f) {
    f->synth = new_fluid_synth(f->settings);
    return f->synth ? A2M_OK : a2m_error(A2M_ERR_NOMEM, "fluid: cannot create a synthesizer at %d Hz", f->rate);
}

static void end_synth(a2m_fluid *f) {
    if (f->synth) delete_fluid_synth(f->synth);
    f->synth = NULL;
}

/* "RIFF" size "sfbk": checked before fluidsynth sees the file (its DLS loader prints on other bytes). */
static int check_soundfont_file(const char *path) {
    if (!a2m_path_exists(path) || a2m_is_dir(path)) return a2m_error(A2M_ERR_IO, "%s: no such soundfont file", path);
    unsigned char h[12] = {0};
    FILE *fp = fopen(path, "rb");
    if (!fp) return a2m_error(A2M_ERR_IO, "%s: cannot open", path);
    size_t got = fread(h, 1, sizeof h, fp);
    fclose(fp);
    if (got != sizeof h || memcmp(h, "RIFF", 4) || memcmp(h + 8, "sfbk", 4))
        return a2m_error(A2M_ERR_FORMAT, "%s: not a soundfont (no RIFF sfbk header)", path);
    return A2M_OK;
}

static int load_soundfont(a2m_fluid *f, const char *path, int sf_index) {
    int rc = check_soundfont_file(path);
    if (rc) return rc;
    int id = fluid_synth_sfload(f->synth, path, 0);
    if (id == FLUID_FAILED) return a2m_error(A2M_ERR_FORMAT, "%s: not a soundfont fluidsynth can load", path);
    if (sf_index >= 0) find_presets(f, id, sf_index, path);
    return A2M_OK;
}

int a2m_fluid_new(const char *const *soundfonts, size_t n_sf, int rate, a2m_fluid **out) {
    *out = NULL;
    if (a2m_fluidsynth_load()) return a2m_error_prefix(A2M_ERR_UNSUPPORTED, "fluid");
    pthread_once(&log_once, silence_fluid);
    if (rate < 8000 || rate > 96000) return a2m_error(A2M_ERR_ARG, "fluid: rate %d outside 8000..96000", rate);
    if (n_sf == 0) return a2m_error(A2M_ERR_ARG, "fluid: no soundfont given");
    if (n_sf > MAX_SOUNDFONTS) return a2m_error(A2M_ERR_ARG, "fluid: more than %d soundfonts", MAX_SOUNDFONTS);
    a2m_fluid *f = calloc(1, sizeof *f);
    if (!f) return a2m_error(A2M_ERR_NOMEM, "fluid: out of memory");
    for (size_t p = 0; p < MAX_PRESETS; p++)
        for (int k = 0; k < 128; k++) f->tuning[p][k] = NAN;
    int rc = make_settings(f, rate);
    if (!rc) rc = new_synth(f);
    for (size_t i = 0; !rc && i < n_sf; i++) {
        f->paths[f->n_paths] = strdup(soundfonts[i]);
        if (!f->paths[f->n_paths++]) rc = a2m_error(A2M_ERR_NOMEM, "fluid: out of memory");
        else rc = load_soundfont(f, soundfonts[i], (int)i);
    }
    f->keeper = f->synth;
    f->synth = NULL;
    for (size_t i = 0; !rc && i < f->n_presets; i++)
        fluid_synth_program_select(f->keeper, (int)i, f->presets[i].keeper_id, f->presets[i].bank, f->presets[i].num);
    if (!rc && f->n_presets == 0)
        rc = a2m_error(A2M_ERR_FORMAT, "%s: no voice preset (Aah/Ooh/Vox/Voice/Choir)", soundfonts[0]);
    if (rc) a2m_fluid_del(f); /* the half-built synth: its _del frees whatever was made */
    else *out = f;
    return rc;
}

void a2m_fluid_del(a2m_fluid *f) {
    if (!f) return;
    end_synth(f);
    if (f->keeper) delete_fluid_synth(f->keeper);
    for (size_t i = 0; i < f->n_paths; i++) free(f->paths[i]);
    if (f->settings) delete_fluid_settings(f->settings);
    free(f);
}

size_t a2m_fluid_n_presets(const a2m_fluid *f) { return f ? f->n_presets : 0; }
const char *a2m_fluid_preset_name(const a2m_fluid *f, size_t i) {
    return f && i < f->n_presets ? f->presets[i].name : "";
}

static void set_bend(fluid_synth_t *s, int chan, double semitones) {
    double v = 8192.0 + semitones / BEND_RANGE * 8192.0;
    fluid_synth_pitch_bend(s, chan, (int)fmin(16383, fmax(0, lround(v))));
}

static size_t block_of(double t, int rate) { return (size_t)llround(t * rate / BLOCK); }
/* A note lasts at least one block, so its note-off never precedes its note-on. */
static size_t off_block(const a2m_note *nt, int rate) {
    size_t on = block_of(nt->onset, rate), off = block_of(nt->offset, rate);
    return off > on ? off : on + 1;
}

/* A fresh synthesizer with the preset's soundfont: both channels on the preset, 12-semitone bends,
 * the envelope offsets when envelope is set. */
static int start_synth(a2m_fluid *f, const preset *q, int envelope) {
    int rc = new_synth(f);
    if (rc) return rc;
    int id = fluid_synth_sfload(f->synth, f->paths[q->sf], 0);
    if (id == FLUID_FAILED) return a2m_error(A2M_ERR_IO, "%s: cannot load the soundfont again", f->paths[q->sf]);
    for (int c = 0; c < 2; c++) {
        fluid_synth_program_select(f->synth, c, id, q->bank, q->num);
        fluid_synth_pitch_wheel_sens(f->synth, c, BEND_RANGE);
        fluid_synth_cc(f->synth, c, 7, 127);
        set_bend(f->synth, c, 0);
        if (envelope) { /* offsets added to the preset's own generators, as NRPNs are */
            fluid_synth_set_gen(f->synth, c, GEN_VOLENVATTACK, f->attack_tc);
            fluid_synth_set_gen(f->synth, c, GEN_VOLENVRELEASE, f->release_tc);
        }
    }
    return A2M_OK;
}

/* When note i is sent: its onset minus its key's lead (so the sample is at half level at the
 * onset), at most half the time since the previous onset, so a note never starts before the one
 * two back (on its channel) has ended. */
static double start_time(const a2m_note *notes, size_t i, const float *lead) {
    if (!lead) return notes[i].onset;
    double room = i ? 0.5 * (notes[i].onset - notes[i - 1].onset) : notes[i].onset;
    return notes[i].onset - fmin(lead[(int)lround(notes[i].pitch)], room);
}

/* Sends block b's events and bends (minus each key's tuning, tune[key] cents, and started lead[key]
 * early, if given). next: the next note to start. */
static void block_events(a2m_fluid *f, const float *tune, const float *lead, const a2m_note *notes, size_t n,
                         const a2m_perf *perf, size_t b, size_t *next) {
    double t = (double)(b * BLOCK) / f->rate;
    for (size_t i = *next >= 2 ? *next - 2 : 0; i < *next; i++) /* offs before ons: legato notes share the block */
        if (off_block(&notes[i], f->rate) == b)
            fluid_synth_noteoff(f->synth, (int)(i % 2), (int)lround(notes[i].pitch));
    while (*next < n && block_of(start_time(notes, *next, lead), f->rate) <= b) {
        size_t i = (*next)++;
        int key = (int)lround(notes[i].pitch);
        set_bend(f->synth, (int)(i % 2),
                 a2m_perf_pitch(perf, notes, n, fmax(t, notes[i].onset)) - key - (tune ? tune[key] / 100 : 0));
        fluid_synth_noteon(f->synth, (int)(i % 2), key,
                           notes[i].velocity >= 1 && notes[i].velocity <= 127 ? notes[i].velocity : 100);
    }
    for (size_t i = *next >= 2 ? *next - 2 : 0; i < *next; i++) /* bends of sounding notes; frozen in release */
        if (t >= notes[i].onset && t < notes[i].offset) {
            long key = lround(notes[i].pitch);
            set_bend(f->synth, (int)(i % 2), a2m_perf_pitch(perf, notes, n, t) - key - (tune ? tune[key] / 100 : 0));
        }
}

static int check_notes(const a2m_note *notes, size_t n) {
    for (size_t i = 0; i < n; i++) {
        const a2m_note *nt = &notes[i];
        if (!(nt->onset >= 0 && nt->offset > nt->onset && nt->offset <= 3600 && nt->pitch >= 0 && nt->pitch <= 127))
            return a2m_error(A2M_ERR_RANGE, "fluid: note %zu (%.3f-%.3f s, pitch %g) out of range", i, nt->onset,
                             nt->offset, nt->pitch);
        if (i > 0 && (nt->onset < notes[i - 1].onset || nt->onset < notes[i - 1].offset - 1e-9))
            return a2m_error(A2M_ERR_ARG, "fluid: notes must be sorted and not overlap (note %zu)", i);
    }
    return A2M_OK;
}

/* Renders len samples (a multiple of BLOCK) into y with tuning tune[128] (cents). */
static int render_raw(a2m_fluid *f, size_t pi, const float *tune, const float *lead, const a2m_note *notes, size_t n,
                      const a2m_perf *perf, float *y, size_t len) {
    float right[BLOCK];
    int rc = start_synth(f, &f->presets[pi], tune != NULL);
    size_t next = 0;
    for (size_t b = 0; !rc && b < len / BLOCK; b++) {
        block_events(f, tune, lead, notes, n, perf, b, &next);
        if (fluid_synth_write_float(f->synth, BLOCK, y + b * BLOCK, 0, 1, right, 0, 1) != FLUID_OK)
            rc = a2m_error(A2M_ERR_INTERNAL, "fluid: rendering failed");
        for (int k = 0; k < BLOCK; k++) y[b * BLOCK + k] = 0.5f * (y[b * BLOCK + k] + right[k]);
    }
    end_synth(f);
    return rc;
}

int a2m_fluid_set_envelope(a2m_fluid *f, double attack_scale, double release_scale) {
    if (!f || !(attack_scale >= 0.01 && attack_scale <= 4) || !(release_scale >= 0.01 && release_scale <= 4))
        return a2m_error(A2M_ERR_ARG, "fluid: envelope scales %g, %g outside 0.01..4", attack_scale, release_scale);
    f->attack_tc = (float)(1200 * log2(attack_scale)); /* timecents: 1200 per doubling */
    f->release_tc = (float)(1200 * log2(release_scale));
    return A2M_OK;
}

/* Seconds until the 5 ms RMS of y first reaches half the level of y[0.5 s..1 s] (at most 0.3). */
static double half_level_time(const float *y, int rate) {
    double steady = 0;
    for (int i = rate / 2; i < rate; i++) steady += (double)y[i] * y[i];
    steady = sqrt(steady / (rate / 2));
    int w = rate / 200;
    for (int s = 0; s + w <= (int)(0.3 * rate); s += w) {
        double e = 0;
        for (int i = s; i < s + w; i++) e += (double)y[i] * y[i];
        if (sqrt(e / w) >= 0.5 * steady) return (double)s / rate;
    }
    return 0.3;
}

int a2m_fluid_key_tuning(a2m_fluid *f, size_t pi, int key, double *cents, double *lead_s) {
    *cents = 0;
    if (lead_s) *lead_s = 0;
    if (!f || pi >= f->n_presets || key < 0 || key > 127)
        return a2m_error(A2M_ERR_ARG, "fluid: bad preset %zu or key %d", pi, key);
    if (!isnan(f->tuning[pi][key])) {
        *cents = f->tuning[pi][key];
        if (lead_s) *lead_s = f->lead[pi][key];
        return A2M_OK;
    }
    /* 1.25 s at 16 kHz, measured over its last second: sampled voices wander (Ohh Voices +-12 cents
     * at 5 Hz, Ahh Choir's low keys -10..-60 cents over 2 s), so shorter windows disagree by 20 cents */
    enum { LEN = 313 * BLOCK };
    float *y = calloc(LEN, sizeof *y);
    if (!y) return a2m_error(A2M_ERR_NOMEM, "fluid: out of memory");
    a2m_note nt = {0, (double)LEN / f->rate, key, 100, 0};
    a2m_perf plain = a2m_perf_none();
    int rc = render_raw(f, pi, NULL, NULL, &nt, 1, &plain, y, LEN);
    size_t from = LEN / 5;
    if (!rc) rc = a2m_gen_pitch_offset(y + from, LEN - from, f->rate, key, cents);
    double lead = rc ? 0 : half_level_time(y, f->rate);
    free(y);
    if (rc == A2M_ERR_EMPTY) *cents = 0, rc = A2M_OK; /* a silent key: nothing to correct */
    if (!rc) f->tuning[pi][key] = (float)*cents, f->lead[pi][key] = (float)lead;
    if (!rc && lead_s) *lead_s = lead;
    return rc;
}

int a2m_fluid_render(a2m_fluid *f, size_t pi, const a2m_note *notes, size_t n, const a2m_perf *perf, double seconds,
                     double peak, float **out, size_t *n_out) {
    *out = NULL;
    *n_out = 0;
    if (!f || pi >= f->n_presets || !(peak > 0 && peak <= 1) || !(seconds <= 3600))
        return a2m_error(A2M_ERR_ARG, "fluid: bad preset %zu, peak or length", pi);
    int rc = check_notes(notes, n);
    double cents;
    for (size_t i = 0; !rc && i < n; i++) rc = a2m_fluid_key_tuning(f, pi, (int)lround(notes[i].pitch), &cents, NULL);
    if (rc) return rc;
    double total = seconds > 0 ? seconds : (n ? notes[n - 1].offset + 0.5 : 0);
    size_t len = (size_t)llround(total * f->rate);
    if (len == 0) return a2m_error(A2M_ERR_EMPTY, "fluid: nothing to render");
    size_t padded = (len + BLOCK - 1) / BLOCK * BLOCK;
    float *y = calloc(padded, sizeof *y);
    if (!y) return a2m_error(A2M_ERR_NOMEM, "fluid: out of memory");
    rc = render_raw(f, pi, f->tuning[pi], f->lead[pi], notes, n, perf, y, padded);
    if (rc) {
        free(y);
        return rc;
    }
    float mx = 0;
    for (size_t i = 0; i < len; i++) mx = fmaxf(mx, fabsf(y[i]));
    if (mx > 0)
        for (size_t i = 0; i < len; i++) y[i] *= (float)peak / mx;
    *out = y;
    *n_out = len;
    return A2M_OK;
}
