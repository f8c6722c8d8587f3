/* Festival's singing mode (Debian festival + festvox-kallpc16k) as a second
 * synthetic singer: the notes become a SINGING XML score (REST for gaps, one
 * monosyllable per note at an exact frequency and length in seconds), sung by
 * `text2wave -mode singing` run as a subprocess. Festival names notes an
 * octave high ("A4" = MIDI 57), so the score gives frequencies (FREQ), not
 * names. Measured on a test score: voiced onsets within 40 ms of the score's,
 * pitch within 20 cents of FREQ; it crashes above ~510 Hz, so notes stop at
 * MIDI 71 (gendata sings higher melodies shifted down and shifts them back).
 * Festival has no vibrato; the performance's detune, drift and intonation
 * error (at each note's middle) set each note's frequency. */
#include "a2m/audio.h"
#include "a2m/error.h"
#include "a2m/gen.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* text2wave's kal voice crashes (SIGSEGV) singing above ~510 Hz (500 Hz sings,
 * 520 Hz crashes, measured): notes up to MIDI 71 (494 Hz), frequencies capped at 500 Hz. */
enum { MAX_MIDI = 71 };
static const double MAX_HZ = 500.0;

/* one syllable each in festival's lexicon ("mm" was two, "em em", and every later note came late) */
static const char *const SYLLABLES[] = {"la", "na", "da", "ma", "doo",  "loo", "lee",  "no",
                                        "so", "ah", "oh", "ba", "yeah", "hey", "moon", "too"};
enum { N_SYLLABLES = sizeof SYLLABLES / sizeof SYLLABLES[0] };

const char *a2m_festival_syllable(uint64_t seed, size_t i) {
    uint64_t s = a2m_gen_seed(seed, "syllable", i);
    return SYLLABLES[(size_t)(a2m_gen_uniform(&s) * N_SYLLABLES)];
}

/* Writes the score to fp. */
static void write_score(FILE *fp, const a2m_note *notes, size_t n, const a2m_perf *perf, uint64_t seed) {
    a2m_perf steady = *perf; /* detune and drift only: festival glides by itself and has no vibrato */
    steady.vibrato_cents = 0;
    steady.glide_s = 0;
    steady.scoop_cents = 0;
    fprintf(fp, "<?xml version=\"1.0\"?>\n<!DOCTYPE SINGING PUBLIC \"-//SINGING//DTD SINGING mark up//EN\" "
                "\"Singing.v0_1.dtd\" []>\n<SINGING BPM=\"60\">\n");
    double t = 0;
    for (size_t i = 0; i < n; i++) {
        if (notes[i].onset > t + 1e-3) fprintf(fp, "<REST SECONDS=\"%.4f\"></REST>\n", notes[i].onset - t);
        double mid = 0.5 * (notes[i].onset + notes[i].offset);
        double f = fmin(MAX_HZ, 440 * pow(2, (a2m_perf_pitch(&steady, notes + i, 1, mid) - 69) / 12));
        fprintf(fp, "<PITCH FREQ=\"%.3f\"><DURATION SECONDS=\"%.4f\">%s</DURATION></PITCH>\n", f,
                notes[i].offset - notes[i].onset, a2m_festival_syllable(seed, i));
        t = notes[i].offset;
    }
    fprintf(fp, "</SINGING>\n");
}

/* Runs text2wave -mode singing score -o wav with no output on the terminal. */
static int run_text2wave(const char *score, const char *wav) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    char *argv[] = {"text2wave", "-mode", "singing", (char *)score, "-o", (char *)wav, NULL};
    pid_t pid;
    int err = posix_spawnp(&pid, "text2wave", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (err)
        return a2m_error(A2M_ERR_IO, "text2wave: cannot run (%s; apt-get install festival festvox-kallpc16k)",
                         strerror(err));
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return a2m_error(A2M_ERR_IO, "text2wave: lost the process (%s)", strerror(errno));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return a2m_error(A2M_ERR_IO, "text2wave: failed (status %d) singing %s", status, score);
    return A2M_OK;
}

/* Temporary score and audio names: "<dir>/a2m-festival-XXXXXX" + ".xml" / ".wav". */
static int temp_names(char *score, char *wav, size_t cap) {
    const char *dir = getenv("TMPDIR");
    snprintf(score, cap, "%s/a2m-festival-XXXXXX", dir && dir[0] ? dir : "/tmp");
    int fd = mkstemp(score);
    if (fd < 0) return a2m_error(A2M_ERR_IO, "%s: cannot create a temporary file (%s)", score, strerror(errno));
    close(fd);
    snprintf(wav, cap, "%s.wav", score);
    return A2M_OK;
}

int a2m_festival_render(const a2m_note *notes, size_t n, const a2m_perf *perf, double seconds, uint64_t seed,
                        double peak, float **out, size_t *n_out) {
    *out = NULL;
    *n_out = 0;
    if (n == 0 || !(seconds > 0 && seconds <= 600) || !(peak > 0 && peak <= 1))
        return a2m_error(A2M_ERR_ARG, "festival: no notes, length %g s or peak %g", seconds, peak);
    for (size_t i = 0; i < n; i++)
        if (!(notes[i].onset >= 0 && notes[i].offset > notes[i].onset && notes[i].pitch >= 24 &&
              notes[i].pitch <= MAX_MIDI) ||
            (i && notes[i].onset < notes[i - 1].offset - 1e-9))
            return a2m_error(A2M_ERR_RANGE, "festival: note %zu out of range or overlapping", i);
    char score[4096], wav[4200];
    int rc = temp_names(score, wav, sizeof score);
    if (rc) return rc;
    FILE *fp = fopen(score, "w");
    if (!fp) rc = a2m_error(A2M_ERR_IO, "%s: cannot write the score", score);
    if (fp) {
        write_score(fp, notes, n, perf, seed);
        if (fclose(fp)) rc = a2m_error(A2M_ERR_IO, "%s: cannot write the score", score);
    }
    if (!rc) rc = run_text2wave(score, wav);
    a2m_audio a = {0};
    if (!rc) rc = a2m_audio_read(wav, 16000, &a);
    remove(score);
    remove(wav);
    if (rc) return rc;
    size_t len = (size_t)llround(seconds * 16000);
    float *y = calloc(len, sizeof *y);
    if (!y) rc = a2m_error(A2M_ERR_NOMEM, "festival: out of memory");
    else memcpy(y, a.samples, (a.n < len ? a.n : len) * sizeof *y);
    a2m_audio_free(&a);
    float mx = 0;
    for (size_t i = 0; y && i < len; i++) mx = fmaxf(mx, fabsf(y[i]));
    if (!rc && !(mx > 0)) rc = a2m_error(A2M_ERR_EMPTY, "text2wave: sang nothing");
    for (size_t i = 0; !rc && i < len; i++) y[i] *= (float)peak / mx;
    if (rc) {
        free(y);
        y = NULL;
    }
    *out = y;
    *n_out = y ? len : 0;
    return rc;
}
