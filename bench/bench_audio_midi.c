/* Figures for audio input, resampling, MIDI parsing, labels and the
 * synthesizer (minimum of several runs: the machine is shared). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "a2m/audio.h"
#include "a2m/error.h"
#include "a2m/io.h"
#include "a2m/midi.h"

enum { REPEATS = 5 };

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(void) {
    const char *shared = getenv("A2M_SHARED");
    if (!shared) shared = "../shared";
    char path[4096];
    snprintf(path, sizeof path, "%s/data/seed/long/Prueba.wav", shared);

    double best = 1e30;
    size_t n = 0;
    for (int r = 0; r < REPEATS; r++) {
        a2m_audio a;
        double t0 = now_s();
        if (a2m_audio_read(path, 16000, &a)) {
            fprintf(stderr, "%s\n", a2m_errmsg());
            return 1;
        }
        double dt = now_s() - t0;
        best = dt < best ? dt : best;
        n = a.n;
        a2m_audio_free(&a);
    }
    printf("read+mix+resample Prueba.wav (24 s, 22.05 kHz stereo 24-bit -> 16 kHz mono): %.1f ms, %.0fx real time\n",
           best * 1e3, (double)n / 16000 / best);

    best = 1e30;
    size_t notes_total = 0;
    for (int r = 0; r < REPEATS; r++) {
        double t0 = now_s();
        notes_total = 0;
        for (int k = 1; k <= 300; k++) {
            snprintf(path, sizeof path, "%s/data/seed/audio/midi_%03d.mid", shared, k);
            a2m_notes notes;
            if (a2m_midi_read(path, &notes)) continue;
            int64_t labels[666];
            a2m_labels_from_notes(notes.notes, notes.n, a2m_label_default_params(), labels, 666, NULL);
            notes_total += notes.n;
            a2m_notes_free(&notes);
        }
        double dt = now_s() - t0;
        best = dt < best ? dt : best;
    }
    printf("MIDI read + labels, 300 takes (%zu notes): %.2f ms (%.1f us per take)\n", notes_total, best * 1e3,
           best / 300 * 1e6);

    a2m_note notes[8];
    for (int i = 0; i < 8; i++) notes[i] = (a2m_note){0.5 * i + 0.1, 0.5 * i + 0.5, 60 + (i % 3) * 4 - 12, 100, 0};
    best = 1e30;
    for (int r = 0; r < REPEATS; r++) {
        float *y;
        double t0 = now_s();
        if (a2m_synth_render(notes, 8, a2m_synth_default_params(), &y, &n)) return 1;
        double dt = now_s() - t0;
        best = dt < best ? dt : best;
        free(y);
    }
    printf("synth 8 notes, %.2f s at 16 kHz, 12 harmonics: %.1f ms, %.0fx real time\n", (double)n / 16000, best * 1e3,
           (double)n / 16000 / best);
    return 0;
}
