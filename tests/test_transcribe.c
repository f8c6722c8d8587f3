/* Transcription: frames -> notes rules, window mode vs whole-sequence mode on
 * the long recording (>= 99% of frames agree), notes against Prueba.mid with
 * the original project's CRNN, bad inputs. */
#include <math.h>

#include "a2m/audio.h"
#include "a2m/error.h"
#include "a2m/io.h"
#include "a2m/metrics.h"
#include "a2m/transcribe.h"
#include "a2m/uncertainty.h"
#include "check.h"
#include "nn/arch.h"
#include "transcribe/flux.h"
#include "transcribe/intonation.h"
#include "transcribe/range.h"
#include "transcribe/split.h"
#include "transcribe/window.h"

static void test_rules(void) {
    /* 0 0 1x12 0x3 1x12 0 2x4 0 3x11 : gap of 3 filled, 4-frame note dropped */
    int cls[48];
    int n = 0;
    for (int i = 0; i < 2; i++) cls[n++] = 0;
    for (int i = 0; i < 12; i++) cls[n++] = 1;
    for (int i = 0; i < 3; i++) cls[n++] = 0;
    for (int i = 0; i < 12; i++) cls[n++] = 1;
    cls[n++] = 0;
    for (int i = 0; i < 4; i++) cls[n++] = 2;
    cls[n++] = 0;
    for (int i = 0; i < 11; i++) cls[n++] = 3;
    int notes_map[4] = {-1, 60, 64, 67};
    a2m_transcribed_note *notes;
    size_t nn;
    CHECK(a2m_frames_to_notes(
              cls, NULL, (size_t)n, 4, notes_map, 0.006,
              (a2m_note_rules){5, 10, 0.3, 0.6, 0, 0, 0, 0, 0, 0, 0, NULL, 0, 0, NULL, 0, NULL, 0, NULL, {0, 0, 0}},
              &notes, &nn) == A2M_OK,
          "rules");
    CHECK(nn == 2, "two notes (%zu)", nn);
    if (nn == 2) {
        CHECK(notes[0].note.pitch == 60 && notes[0].first_frame == 2 && notes[0].n_frames == 27, "gap filled: %zu+%zu",
              notes[0].first_frame, notes[0].n_frames);
        CHECK_NEAR(notes[0].note.onset, 0.012, 1e-12, "onset seconds");
        CHECK(notes[1].note.pitch == 67 && notes[1].n_frames == 11, "last note kept");
    }
    free(notes);
}

/* Any-pitch rules: a model with classes silence, 60, 61, onset. Probabilities are made by hand: a 60 sung for
 * 40 frames with an onset peak at frame 21 (a repeated note), then 30 frames of weakly voiced 61 (noise). */
static void test_onset_rules(void) {
    enum { N = 80, C = 4 };
    float probs[N * C];
    int cls[N], notes_map[C] = {-1, 60, 61, A2M_CLASS_ONSET};
    for (int f = 0; f < N; f++) {
        float *q = probs + f * C;
        if (f < 5) q[0] = 0.9f, q[1] = 0.05f, q[2] = 0.03f, q[3] = 0.02f;
        else if (f < 45) q[0] = 0.05f, q[1] = 0.8f, q[2] = 0.05f, q[3] = 0.1f;
        else q[0] = 0.45f, q[1] = 0.05f, q[2] = 0.45f, q[3] = 0.05f; /* p(sung) 0.55 < 0.6 */
        if (f == 20) q[3] = 0.35f, q[1] = 0.55f;
        if (f == 21) q[3] = 0.5f, q[1] = 0.4f; /* the peak: cut before it, at frame 20 */
        if (f == 22) q[3] = 0.3f, q[1] = 0.6f;
    }
    CHECK(transcribe_onset_class(notes_map, C) == 3, "onset class found");
    for (int f = 0; f < N; f++) cls[f] = transcribe_frame_class(probs + f * C, C, 3);
    CHECK(cls[0] == 0 && cls[21] == 1 && cls[60] == 2, "frame classes: onset frames take their pitch (%d %d %d)",
          cls[0], cls[21], cls[60]);
    a2m_transcribed_note *notes;
    size_t nn;
    CHECK(a2m_frames_to_notes(
              cls, probs, N, C, notes_map, 0.006,
              (a2m_note_rules){5, 10, 0.3, 0.6, 0, 0, 0, 0, 0, 0, 0, NULL, 0, 0, NULL, 0, NULL, 0, NULL, {0, 0, 0}},
              &notes, &nn) == A2M_OK,
          "onset rules");
    CHECK(nn == 2, "repeated note split in two, weak note dropped (%zu notes)", nn);
    if (nn == 2) {
        CHECK(notes[0].first_frame == 5 && notes[0].n_frames == 15 && notes[1].first_frame == 20 &&
                  notes[1].n_frames == 25 && notes[0].note.pitch == 60 && notes[1].note.pitch == 60,
              "cut at frame 20: %zu+%zu, %zu+%zu", notes[0].first_frame, notes[0].n_frames, notes[1].first_frame,
              notes[1].n_frames);
    }
    free(notes);
    /* a higher threshold keeps one note; min_voicing 0.5 keeps the weak one */
    for (int f = 0; f < N; f++) cls[f] = transcribe_frame_class(probs + f * C, C, 3);
    CHECK(a2m_frames_to_notes(
              cls, probs, N, C, notes_map, 0.006,
              (a2m_note_rules){5, 10, 0.6, 0.5, 0, 0, 0, 0, 0, 0, 0, NULL, 0, 0, NULL, 0, NULL, 0, NULL, {0, 0, 0}},
              &notes, &nn) == A2M_OK &&
              nn == 2 && notes[0].n_frames == 40 && notes[1].note.pitch == 61,
          "threshold 0.6: one 60 of 40 frames and the 61 (%zu notes)", nn);
    free(notes);
}

/* An onset head (a model trained with --onset-head): the onset column is a sigmoid beside a softmax over the other
 * classes (rows need not sum to 1). A 60 held for 50 frames with p(onset) 0.95 at frame 30 (a repeated note) is two
 * notes on the Viterbi path; the sigmoid is not shared among the pitches: 50 frames where silence (0.52) beats 60
 * (0.46) under p(onset) 0.9 stay silent, which they would not if 0.9 were a softmax share of the pitches. */
static void test_onset_head_rules(void) {
    enum { N = 110, C = 4 };
    float probs[N * C];
    int cls[N], notes_map[C] = {-1, 60, 61, A2M_CLASS_ONSET};
    for (int f = 0; f < N; f++) {
        float *q = probs + f * C;
        if (f < 10) q[0] = 0.9f, q[1] = 0.05f, q[2] = 0.05f, q[3] = 0.02f;
        else if (f < 60)
            q[0] = 0.05f, q[1] = 0.9f, q[2] = 0.05f,
            q[3] = f == 10 || f == 30   ? 0.95f
                   : f == 29 || f == 31 ? 0.5f
                                        : 0.03f;
        else q[0] = 0.52f, q[1] = 0.46f, q[2] = 0.02f, q[3] = 0.9f;
    }
    a2m_note_rules r = {5, 10, 0.5, 0.0, 6, 2, 0, 0, 0, 0, 0, NULL, 0, 1, NULL, 0, NULL, 0, NULL, {0, 0, 0}};
    a2m_transcribed_note *notes;
    size_t nn;
    for (int f = 0; f < N; f++) cls[f] = transcribe_frame_class(probs + f * C, C, 3);
    CHECK(a2m_frames_to_notes(cls, probs, N, C, notes_map, 0.006, r, &notes, &nn) == A2M_OK, "onset-head rules");
    CHECK(nn == 2 && notes[0].first_frame == 10 && notes[0].n_frames == 19 && notes[1].first_frame == 29 &&
              notes[1].n_frames == 31 && notes[1].note.pitch == 60,
          "the repeated 60 cut before the onset peak, the weak frames silent (%zu notes)", nn);
    free(notes);
    r.onset_sigmoid = 0; /* read as a softmax share, p(onset) 0.9 would voice the weak frames */
    for (int f = 0; f < N; f++) cls[f] = transcribe_frame_class(probs + f * C, C, 3);
    CHECK(a2m_frames_to_notes(cls, probs, N, C, notes_map, 0.006, r, &notes, &nn) == A2M_OK && nn > 2 &&
              notes[nn - 1].first_frame + notes[nn - 1].n_frames == N,
          "as a share, the weak frames are sung (%zu notes)", nn);
    free(notes);
}

/* A scoop: 12 frames of 61 sliding into 40 frames of 60 (legato, one silent frame between) is one note of 60
 * from the scoop's start when glides are joined; a Viterbi path with a pitch-change cost removes a 3-frame
 * wobble to 61 that the frame argmax keeps. */
static void test_glide_and_path(void) {
    enum { N = 60, C = 4 };
    float probs[N * C];
    int cls[N], notes_map[C] = {-1, 60, 61, A2M_CLASS_ONSET};
    for (int f = 0; f < N; f++) {
        float *q = probs + f * C;
        int sil = f < 4 || f == 16 || f >= 57, high = (f >= 4 && f < 16) || (f >= 30 && f < 33);
        q[0] = sil ? 0.9f : 0.05f, q[3] = 0.02f;
        q[1] = sil ? 0.04f : high ? 0.33f : 0.88f, q[2] = 1.0f - q[0] - q[1] - q[3];
    }
    /* argmax path, nothing joined: 61 60 61 60; the Viterbi path drops the wobble (3 frames x 0.6 nats < two
     * changes at 6) but keeps the scoop (12 x 0.6 > 6); glides joined as well: one note from the scoop's start */
    const struct {
        a2m_note_rules r;
        size_t n;
    } cases[3] = {{{5, 3, 0.3, 0.6, 0, 0, 0, 0, 0, 0, 0, NULL, 0, 0, NULL, 0, NULL, 0, NULL, {0, 0, 0}}, 4},
                  {{5, 3, 0.3, 0.6, 6, 2, 0, 0, 0, 0, 0, NULL, 0, 0, NULL, 0, NULL, 0, NULL, {0, 0, 0}}, 2},
                  {{5, 3, 0.3, 0.6, 6, 2, 17, 0, 0, 0, 0, NULL, 0, 0, NULL, 0, NULL, 0, NULL, {0, 0, 0}}, 1}};
    for (int k = 0; k < 3; k++) {
        a2m_transcribed_note *notes;
        size_t nn;
        for (int f = 0; f < N; f++) cls[f] = transcribe_frame_class(probs + f * C, C, 3);
        CHECK(a2m_frames_to_notes(cls, probs, N, C, notes_map, 0.006, cases[k].r, &notes, &nn) == A2M_OK &&
                  nn == cases[k].n,
              "case %d: %zu notes, expected %zu", k, nn, cases[k].n);
        if (k == 2 && nn == 1)
            CHECK(notes[0].first_frame == 4 && notes[0].n_frames == 53 && notes[0].note.pitch == 60,
                  "one 60 over frames 4..56 (%zu+%zu, %g)", notes[0].first_frame, notes[0].n_frames,
                  notes[0].note.pitch);
        free(notes);
    }
}

/* Legato: a 60 of 20 frames, 8 silent frames, a 61 of 20 frames: with legato 10 the 60 ends where the 61
 * begins; with legato 5 the silence is a rest. */
static void test_legato(void) {
    enum { N = 50, C = 4 };
    float probs[N * C];
    int cls[N], notes_map[C] = {-1, 60, 61, A2M_CLASS_ONSET};
    for (int f = 0; f < N; f++) {
        float *q = probs + f * C;
        int sil = f < 1 || (f >= 21 && f < 29) || f >= 49;
        q[0] = sil ? 0.9f : 0.05f, q[3] = 0.02f,
        q[1] = sil      ? 0.04f
               : f < 21 ? 0.9f
                        : 0.01f,
        q[2] = 1 - q[0] - q[1] - q[3];
    }
    for (int legato = 5; legato <= 10; legato += 5) {
        a2m_transcribed_note *notes;
        size_t nn;
        for (int f = 0; f < N; f++) cls[f] = transcribe_frame_class(probs + f * C, C, 3);
        a2m_note_rules r = {5, 3, 0.3, 0.6, 6, 2, 0, 0, 0, legato, 0, NULL, 0, 0, NULL, 0, NULL, 0, NULL, {0, 0, 0}};
        CHECK(a2m_frames_to_notes(cls, probs, N, C, notes_map, 0.006, r, &notes, &nn) == A2M_OK && nn == 2, "legato %d",
              legato);
        if (nn == 2)
            CHECK(notes[0].first_frame == 1 && notes[0].n_frames == (legato == 10 ? 28u : 20u) &&
                      fabs(notes[0].note.offset - (legato == 10 ? notes[1].note.onset : 21 * 0.006)) < 1e-9,
                  "legato %d: first note %zu+%zu, offset %g", legato, notes[0].first_frame, notes[0].n_frames,
                  notes[0].note.offset);
        free(notes);
    }
}

/* Onset snap: a 60 over frames 1..29 and a 61 over 30..49 (legato), p(onset) peaking at frame 26 (0.5) and at
 * frame 5 (0.05, below the 0.1 a move needs): with a reach of 6 frames the 61 starts at 26 and the 60 ends
 * there; the 60 stays at frame 1; with reach 3 nothing moves (26 is 4 frames away). */
static void test_onset_snap(void) {
    enum { N = 52, C = 4 };
    float probs[N * C];
    int cls[N], notes_map[C] = {-1, 60, 61, A2M_CLASS_ONSET};
    for (int f = 0; f < N; f++) {
        float *q = probs + f * C;
        int sil = f < 1 || f >= 50;
        q[3] = f == 26 ? 0.5f : f == 5 ? 0.05f : 0.01f;
        q[0] = sil ? 0.9f : 0.05f, q[1] = sil ? 0.04f : f < 30 ? 0.9f - q[3] : 0.01f, q[2] = 1 - q[0] - q[1] - q[3];
    }
    for (int reach = 3; reach <= 6; reach += 3) {
        a2m_transcribed_note *notes;
        size_t nn;
        for (int f = 0; f < N; f++) cls[f] = transcribe_frame_class(probs + f * C, C, 3);
        a2m_note_rules r = {5, 3, 0.9, 0.6, 6, 2, 0, 0, 0, 10, reach, NULL, 0, 0, NULL, 0, NULL, 0, NULL, {0, 0, 0}};
        CHECK(a2m_frames_to_notes(cls, probs, N, C, notes_map, 0.006, r, &notes, &nn) == A2M_OK && nn == 2, "snap %d",
              reach);
        size_t at = reach == 6 ? 26 : 30;
        if (nn == 2)
            CHECK(notes[0].first_frame == 1 && notes[0].n_frames == at - 1 && notes[1].first_frame == at &&
                      notes[1].n_frames == 50 - at && fabs(notes[1].note.onset - at * 0.006) < 1e-9 &&
                      notes[0].note.offset == notes[1].note.onset,
                  "snap %d: %zu+%zu, %zu+%zu (onset %g)", reach, notes[0].first_frame, notes[0].n_frames,
                  notes[1].first_frame, notes[1].n_frames, notes[1].note.onset);
        free(notes);
    }
}

/* Notes beyond the model's range (range.h): the regions of the shipped classes' CQT, a peak's prominence and
 * pitch, then the rules with hand-made evidence: a run of "above" without a peak is dropped (noise), with one it is
 * a note of the peak's pitch, split where the peak moves to another semitone and stays; a run of the octave
 * below right before it joins it (the network folding the note's start into the range). */
static void test_range_rules(void) {
    enum { C = 7 };
    int map[C] = {-1, 78, 80, 84, A2M_CLASS_ONSET, A2M_CLASS_BELOW, A2M_CLASS_ABOVE}, full[53];
    full[0] = -1, full[50] = A2M_CLASS_ONSET, full[51] = A2M_CLASS_BELOW, full[52] = A2M_CLASS_ABOVE;
    for (int c = 1; c <= 49; c++) full[c] = 35 + c;
    transcribe_range rg;
    int no_range[4] = {-1, 60, 64, 67};
    CHECK(transcribe_range_init(&rg, a2m_cqt_default_params(), no_range, 4) == -1, "no below/above class: no check");
    REQUIRE(transcribe_range_init(&rg, a2m_cqt_default_params(), full, 53) == 0, "range of MIDI 36..84");
    CHECK(rg.above0 == 182 && rg.above1 == 252 && rg.below0 == 0 && rg.below1 == 35 && rg.half == 18,
          "C1-based 36-bin CQT: above from bin 182 (MIDI 84.67), below up to bin 34 (MIDI 35.33): %d %d %d", rg.above0,
          rg.below1, rg.half);
    float db[252], ev[TRANSCRIBE_RANGE_VALUES];
    for (int b = 0; b < 252; b++) db[b] = -40;
    db[(90 - 24) * 3] = -10, db[(30 - 24) * 3 + 1] = -20; /* F#6, and F#1 a third of a semitone sharp */
    transcribe_range_frame(&rg, db, 78, ev);
    CHECK_NEAR(ev[0], 30.0 - 30.0 / 37, 1e-4, "peak 30 dB over a flat octave: prominence over the 37-bin mean");
    CHECK(ev[1] == 90 && ev[3] == 30, "pitches of the peaks: %g, %g", ev[1], ev[3]);
    CHECK_NEAR(ev[2], 20.0 - 20.0 / 37, 1e-4, "below: bins 1..37 around bin 19");
    CHECK(ev[5] == 78 && ev[4] < 1, "nothing at F#5 itself, the octave below the peak: %g dB", ev[4]);
    db[(78 - 24) * 3 + 1] = -15; /* a fundamental there, a third of a semitone sharp */
    transcribe_range_frame(&rg, db, 78, ev);
    CHECK_NEAR(ev[4], 25.0 - 25.0 / 37, 1e-4, "F#5's bins reach a third of a semitone either side");

    enum { N = 120 };
    float probs[N * C] = {0}, evs[N * TRANSCRIBE_RANGE_VALUES];
    int cls[N];
    a2m_note_rules r = {5, 10, 0.3, 0.6, 0, 0, 0, 0, 0, 0, 0, NULL, 0, 0, evs, 15.0, NULL, 0, NULL, {0, 0, 0}};
    for (int trial = 0; trial < 3; trial++) {
        for (int f = 0; f < N; f++) {
            float *q = probs + f * C, *e = evs + f * TRANSCRIBE_RANGE_VALUES;
            q[0] = 0.05f, q[1] = f < 20 ? 0.9f : 0.0f, q[6] = f < 20 ? 0.0f : 0.9f; /* 78, then above */
            cls[f] = f < 20 ? 1 : 6;
            transcribe_range_none(e);
            e[0] = trial == 0 ? 8.0f : 25.0f, e[1] = f < 70 ? 90.0f : 92.0f; /* trial 0: no peak (noise) */
            if (trial == 2 && f >= 70 && f < 75) e[1] = NAN; /* unmeasured frames: the cut comes at 75 */
        }
        a2m_transcribed_note *notes;
        size_t nn;
        REQUIRE(a2m_frames_to_notes(cls, probs, N, C, map, 0.006, r, &notes, &nn) == A2M_OK, "range rules");
        if (trial == 0) {
            CHECK(nn == 1 && notes[0].note.pitch == 78 && !notes[0].out_of_range,
                  "no peak out there: the above run is dropped, the 78 stays (%zu notes)", nn);
        } else {
            CHECK(nn == 2, "trial %d: two notes (%zu)", trial, nn);
            if (nn == 2) {
                CHECK(notes[0].note.pitch == 90 && notes[0].out_of_range == 1 && notes[0].first_frame == 0 &&
                          notes[0].n_frames == (trial == 2 ? 75u : 70u),
                      "the 78 joins the F#6 above it: pitch %g, frames %zu+%zu", notes[0].note.pitch,
                      notes[0].first_frame, notes[0].n_frames);
                CHECK(notes[1].note.pitch == 92 && notes[1].out_of_range == 1 &&
                          notes[1].first_frame == (trial == 2 ? 75u : 70u),
                      "split where the peak moves to G#6 and stays: pitch %g at %zu", notes[1].note.pitch,
                      notes[1].first_frame);
            }
        }
        free(notes);
    }
}

/* The sung pitch of a frame (intonation.h): a peak shaped as a parabola in dB is found at its true fractional
 * bin, in dB and power rows, with the tuning shift; a rise to the search window's edge is no peak; a note's cents
 * leave out unmeasured frames and frames more than 75 cents away. */
static void test_sung_pitch(void) {
    a2m_cqt_params cq = a2m_cqt_default_params();
    float db[252], pw[252];
    double b0 = (64 - 24) * 3 + 0.4 + 1.0; /* E4 sung 0.467 semitone sharp, read with a shift of +1 bin */
    for (int b = 0; b < 252; b++) db[b] = (float)(-40 - 2.0 * (b - b0) * (b - b0)), pw[b] = powf(10.0f, db[b] / 10);
    CHECK_NEAR(transcribe_sung_pitch(cq, db, 0, 64, 1.0), 64 + 1.4 / 3, 1e-4, "dB row: the parabola's vertex");
    CHECK_NEAR(transcribe_sung_pitch(cq, pw, 1, 64, 1.0), 64 + 1.4 / 3, 1e-3, "power row");
    CHECK(isnan(transcribe_sung_pitch(cq, db, 0, 60, 0.0)), "4 semitones off: rising to the window's edge, NaN");
    CHECK(isnan(transcribe_sung_pitch(cq, db, 0, 107, 0.0)), "the window past the CQT's top: NaN");
    float sung[6] = {64.2f, 64.3f, NAN, 64.1f, 65.0f, 63.1f};
    CHECK_NEAR(transcribe_note_cents(sung, 0, 6, 64), 20.0, 1e-4, "mean of 20, 30, 10 cents (NaN, 100, -90 left out)");
    CHECK(isnan(transcribe_note_cents(sung, 4, 2, 64)), "nothing within 75 cents: NaN");
}

/* Onset snap with the spectral flux: a 60 over frames 1..29 and a 61 over 30..49 (legato), p(onset) peaking at
 * frame 24 (0.5) and at 28 (0.45), the sound rising at 28 (flux 5 dB): p(onset) alone moves the 61 to 24; with a
 * flux weight of 0.03 (0.45 + 0.15 > 0.5) to 28. Without any p(onset) reaching 0.1 the flux moves nothing. */
static void test_onset_flux(void) {
    enum { N = 52, C = 4 };
    float probs[N * C], flux[N];
    int cls[N], notes_map[C] = {-1, 60, 61, A2M_CLASS_ONSET};
    for (int weak = 0; weak <= 1; weak++) {
        for (int f = 0; f < N; f++) {
            float *q = probs + f * C;
            int sil = f < 1 || f >= 50;
            q[3] = weak ? 0.05f : f == 24 ? 0.5f : f == 28 ? 0.45f : 0.01f;
            q[0] = sil ? 0.9f : 0.05f, q[1] = sil ? 0.04f : f < 30 ? 0.9f - q[3] : 0.01f;
            q[2] = 1 - q[0] - q[1] - q[3];
            flux[f] = f == 28 ? 5.0f : 0.5f;
        }
        for (int w = 0; w <= 1; w++) {
            a2m_transcribed_note *notes;
            size_t nn;
            for (int f = 0; f < N; f++) cls[f] = transcribe_frame_class(probs + f * C, C, 3);
            a2m_note_rules r = {5,    3, 0.9,  0.6,          6,    2,        0, 0, 0, 10, 12, NULL, 0, 0,
                                NULL, 0, NULL, w ? 0.03 : 0, flux, {0, 0, 0}};
            CHECK(a2m_frames_to_notes(cls, probs, N, C, notes_map, 0.006, r, &notes, &nn) == A2M_OK && nn == 2,
                  "flux %d %d", weak, w);
            size_t at = weak ? 30 : w ? 28 : 24;
            if (nn == 2)
                CHECK(notes[0].first_frame == 1 && notes[0].n_frames == at - 1 && notes[1].first_frame == at &&
                          notes[0].note.offset == notes[1].note.onset,
                      "flux %d %d: %zu+%zu, %zu+%zu", weak, w, notes[0].first_frame, notes[0].n_frames,
                      notes[1].first_frame, notes[1].n_frames);
            free(notes);
        }
    }
    /* the flux itself: mean over bins of the rise in dB from 2 frames before, floored at -80 dB */
    transcribe_flux fl;
    REQUIRE(transcribe_flux_init(&fl, 2) == A2M_OK, "flux init");
    const float db[5 * 2] = {-90, -10, -90, -10, -60, -10, -20, -4, -20, -4};
    float out[5];
    transcribe_flux_add(&fl, db, 3, 0, 0, 0, out); /* in two pieces: the same as in one */
    transcribe_flux_add(&fl, db + 6, 2, 0, 0, 0, out + 3);
    const float want[5] = {0, 0, 10, (60 + 6) / 2.0f, (40 + 6) / 2.0f}; /* -90 counts as -80 */
    for (int f = 0; f < 5; f++)
        CHECK(fabsf(out[f] - want[f]) < 1e-5f, "flux frame %d: %g, want %g", f, out[f], want[f]);
    const float pw[2] = {1e-3f, 1.0f}; /* power rows: 10 log10, the floor applied to them too */
    transcribe_flux_reset(&fl);
    for (int f = 0; f < 3; f++)
        transcribe_flux_add(&fl, f == 2 ? pw : (const float[2]){1e-12f, 1e-12f}, 1, 1, 1e-10f, 0, out);
    CHECK(fabsf(out[0] - (50 + 80) / 2.0f) < 1e-3f, "flux of power rows: %g", out[0]);
    transcribe_flux_free(&fl);
}

/* The split score (split.h): one note of MIDI 60 over frames 1..59 with an inner p(onset) peak of 0.32 at frame 30
 * (its mass taken from p(60): 0.85 -> 0.54 there), the flux 0.5 dB but where said. The old rule (threshold 0.3,
 * p(onset) alone) splits it; the default weights (0.06 per dB, 2 per nat, 0.6 per unit of dip; threshold 0.6)
 * score it 0.32 + 0.03 + 0.6 x (0.8447 - 0.54) = 0.533 and keep one note, unless the sound rises there (6 dB:
 * + 0.33 = 0.863), which splits it one frame before the peak. */
static void test_split_score(void) {
    enum { N = 62, C = 4 };
    float probs[N * C], flux[N];
    int cls[N], notes_map[C] = {-1, 60, 61, A2M_CLASS_ONSET};
    for (int f = 0; f < N; f++) {
        float *q = probs + f * C;
        int sil = f < 1 || f >= 60;
        q[3] = f == 30 ? 0.32f : 0.01f, q[2] = 0.01f;
        q[1] = sil ? 0.04f : 0.85f - (q[3] - 0.01f);
        q[0] = 1 - q[1] - q[2] - q[3];
    }
    a2m_transcribe_params dp = a2m_transcribe_default_params();
    for (int k = 0; k < 3; k++) { /* old rule; defaults, flat flux; defaults, 6 dB at frame 30 */
        for (int f = 0; f < N; f++) flux[f] = k == 2 && f == 30 ? 6.0f : 0.5f;
        a2m_note_rules r = {5, 3, 0.3, 0.6, 6, 2, 0, 0, 0, 10, 0, NULL, 0, 0, NULL, 0, NULL, 0, flux, {0, 0, 0}};
        if (k) r.onset_threshold = dp.onset_threshold, r.split = dp.split;
        for (int f = 0; f < N; f++) cls[f] = transcribe_frame_class(probs + f * C, C, 3);
        a2m_transcribed_note *notes;
        size_t nn, want = k == 1 ? 1 : 2;
        CHECK(a2m_frames_to_notes(cls, probs, N, C, notes_map, 0.006, r, &notes, &nn) == A2M_OK && nn == want,
              "split case %d: %zu notes, want %zu", k, nn, want);
        if (nn == 2) CHECK(notes[1].first_frame == 29 && notes[0].first_frame == 1, "split case %d: at 29", k);
        free(notes);
    }
    a2m_split_weights w = dp.split;
    double js = transcribe_pitch_divergence(probs, C, notes_map, 30, 1, 60), mean = (58 * 0.85 + 0.54) / 59;
    CHECK(js > 0 && js < 1e-3, "divergence of a barely moving distribution: %g", js);
    double want = 0.32 + 0.06 * 6 + 2 * js + 0.6 * (mean - 0.54); /* the largest divergence within 2 frames: f=30's */
    CHECK_NEAR(transcribe_split_score(probs, C, 3, notes_map, 1, flux, w, 30, 1, 60), want, 2e-3, "split score");
    /* all of the pitch mass moving from 60 to 61 at frame 30: ln 2 */
    for (int f = 0; f < N; f++) probs[f * C + 2] = f >= 30 ? probs[f * C + 1] : 0, probs[f * C + 1] *= f < 30;
    CHECK_NEAR(transcribe_pitch_divergence(probs, C, notes_map, 30, 1, 60), log(2.0), 1e-9, "divergence ln 2");
}

/* --onset-gap: a peak whose split score reaches twice the threshold splits a note closer than min_note to its
 * start; the bar is the score's, so the default threshold 0.6 leaves it reachable (p(onset) 0.5 here: the old bar
 * on p(onset) alone, min(1.2, 0.95), never let it split). */
static void test_onset_gap(void) {
    enum { N = 62, C = 4, PEAK = 8 };
    float probs[N * C], flux[N];
    int cls[N], notes_map[C] = {-1, 60, 61, A2M_CLASS_ONSET};
    a2m_transcribe_params dp = a2m_transcribe_default_params();
    for (int k = 0; k < 3; k++) { /* gap off, 15 dB of flux; gap 3, 15 dB; gap 3, flat flux */
        for (int f = 0; f < N; f++) {
            float *q = probs + f * C;
            int sil = f < 1 || f >= 60;
            q[3] = f == PEAK ? 0.5f : 0.01f, q[2] = 0.01f;
            q[1] = sil ? 0.04f : 0.85f - (q[3] - 0.01f);
            q[0] = 1 - q[1] - q[2] - q[3];
            flux[f] = k < 2 && f == PEAK ? 15.0f : 0.5f;
        }
        a2m_note_rules r = {5, 3, 0.3, 0.6, 6, 2, 0, 0, 0, 10, 0, NULL, 0, 0, NULL, 0, NULL, 0, flux, {0, 0, 0}};
        r.onset_threshold = dp.onset_threshold, r.split = dp.split, r.min_note = 10;
        r.onset_gap = k ? 3 : 0;
        for (int f = 0; f < N; f++) cls[f] = transcribe_frame_class(probs + f * C, C, 3);
        a2m_transcribed_note *notes;
        size_t nn, want = k == 1 ? 2 : 1;
        CHECK(a2m_frames_to_notes(cls, probs, N, C, notes_map, 0.006, r, &notes, &nn) == A2M_OK && nn == want,
              "onset gap case %d: %zu notes, want %zu", k, nn, want);
        if (nn == 2) CHECK(notes[1].first_frame == PEAK - 1, "onset gap: the cut at %d", PEAK - 1);
        free(notes);
    }
}

/* The original project's seed CRNN (../shared) with the seed data's normalisation figures. */
static a2m_model *load_seed_model(const char *shared) {
    char path[4096];
    snprintf(path, sizeof path, "%s/data/reference/seed_crnn/seed_crnn.safetensors", shared);
    a2m_model *m;
    REQUIRE(a2m_model_load(path, NULL, &m) == A2M_OK, "seed model: %s", a2m_errmsg());
    snprintf(path, sizeof path, "%s/data/reference/librosa_cqt/cqt_mean_std.npy", shared);
    a2m_array ms;
    REQUIRE(a2m_npy_load(path, &ms) == A2M_OK && ms.dtype == A2M_F64 && ms.shape[0] >= 2, "mean/std: %s", a2m_errmsg());
    m->info.norm_mean = ((double *)ms.data)[0], m->info.norm_std = ((double *)ms.data)[1];
    a2m_array_free(&ms);
    return m;
}

/* The notes of Prueba.mid against (at most 256 of) the transcription's */
static a2m_note_metrics prueba_metrics(const char *shared, const a2m_transcription *t) {
    a2m_notes ref;
    char mid[4096];
    snprintf(mid, sizeof mid, "%s/data/seed/long/Prueba.mid", shared);
    REQUIRE(a2m_midi_read(mid, &ref) == A2M_OK, "Prueba.mid");
    a2m_note est[256];
    size_t ne = t->n_notes < 256 ? t->n_notes : 256;
    for (size_t i = 0; i < ne; i++) est[i] = t->notes[i].note;
    a2m_note_metrics nm;
    a2m_note_metrics_compute(ref.notes, ref.n, est, ne, a2m_note_metric_default_params(), &nm);
    a2m_notes_free(&ref);
    return nm;
}

/* Window vs whole sequence with the shipped default model: the same argmax nearly everywhere, and the Prueba
 * targets. */
static void test_default_model_windows(const char *shared) {
    const char *src = getenv("A2M_SOURCE") ? getenv("A2M_SOURCE") : ".";
    char model_path[4096], path[4096];
    snprintf(model_path, sizeof model_path, "%s/models/a2m-crnn.safetensors", src);
    snprintf(path, sizeof path, "%s/data/seed/long/Prueba.wav", shared);
    a2m_model *dm = NULL;
    REQUIRE(a2m_model_load(model_path, NULL, &dm) == A2M_OK, "default model %s: %s", model_path, a2m_errmsg());
    a2m_transcribe_params pw = a2m_transcribe_default_params(), pf = pw;
    pf.window_s = 0;
    a2m_transcriber *dw, *df;
    a2m_transcription aw, af;
    REQUIRE(a2m_transcriber_new(dm, pw, &dw) == A2M_OK && a2m_transcriber_new(dm, pf, &df) == A2M_OK, "transcribers");
    REQUIRE(a2m_transcriber_run_file(dw, path, &aw) == A2M_OK && a2m_transcriber_run_file(df, path, &af) == A2M_OK,
            "both modes");
    REQUIRE(aw.n_frames == af.n_frames && aw.n_frames == 4000, "24 s = 4000 frames (%zu)", aw.n_frames);
    size_t same = 0;
    for (size_t f = 0; f < aw.n_frames; f++) {
        const float *a = aw.probs + f * 4, *b = af.probs + f * 4;
        int ia = 0, ib = 0;
        for (int c = 1; c < 4; c++) ia = a[c] > a[ia] ? c : ia, ib = b[c] > b[ib] ? c : ib;
        same += ia == ib;
    }
    double agree = (double)same / (double)aw.n_frames;
    printf("default model: window vs whole-sequence argmax agreement %.4f\n", agree);
    CHECK(agree >= 0.99, "agreement %.4f", agree);
    a2m_note_metrics dmm = prueba_metrics(shared, &aw);
    printf("default model on Prueba: COnP F1 %.3f, COnPOff F1 %.3f\n", dmm.onset_pitch.f1, dmm.onset_pitch_offset.f1);
    CHECK(dmm.onset_pitch.f1 >= 0.90 && dmm.onset_pitch_offset.f1 >= 0.85, "Prueba targets");
    a2m_transcription_free(&aw), a2m_transcription_free(&af);
    a2m_transcriber_del(dw), a2m_transcriber_del(df);
    a2m_model_del(dm);
}

/* The original project's model with consistent features on Prueba (windows); every note's confidence in (0, 1]. */
static void test_seed_model_prueba(const a2m_model *m, const char *shared) {
    char path[4096];
    snprintf(path, sizeof path, "%s/data/seed/long/Prueba.wav", shared);
    a2m_transcriber *tw;
    REQUIRE(a2m_transcriber_new(m, a2m_transcribe_default_params(), &tw) == A2M_OK, "window transcriber");
    a2m_transcription rw;
    REQUIRE(a2m_transcriber_run_file(tw, path, &rw) == A2M_OK, "window mode: %s", a2m_errmsg());
    a2m_note_metrics nm = prueba_metrics(shared, &rw);
    printf("seed CRNN on Prueba (windows): COnP F1 %.3f, COnPOff F1 %.3f\n", nm.onset_pitch.f1,
           nm.onset_pitch_offset.f1);
    CHECK(nm.onset_pitch.f1 >= 0.8, "the original's model with consistent features reaches ~0.83 COnP (%.3f)",
          nm.onset_pitch.f1);
    for (size_t i = 0; i < rw.n_notes; i++)
        CHECK(rw.notes[i].confidence > 0 && rw.notes[i].confidence <= 1 && rw.notes[i].confidence_var >= 0,
              "confidence");
    a2m_transcription_free(&rw);
    a2m_transcriber_del(tw);
}

/* An ensemble of one model twice (a2m_transcriber_new_members): the mean of two equal probabilities is exact and the
 * decoder is one model's, so probabilities and notes are those of the model alone; its uncertainty has every frame,
 * the variance and mutual information of two equal samples 0. Members of other classes, or Monte-Carlo passes of a
 * model without dropout, are refused. */
static void test_members(const a2m_model *m, const char *shared) {
    const char *src = getenv("A2M_SOURCE") ? getenv("A2M_SOURCE") : ".";
    char path[4096];
    snprintf(path, sizeof path, "%s/models/a2m-anypitch.safetensors", src);
    a2m_model *ap = NULL;
    REQUIRE(a2m_model_load(path, NULL, &ap) == A2M_OK, "any-pitch model: %s", a2m_errmsg());
    a2m_transcribe_params p = a2m_transcribe_default_params();
    a2m_transcriber *t1, *t2, *bad = NULL;
    const a2m_model *other[2] = {m, ap}, *twice[2] = {m, m};
    CHECK(a2m_transcriber_new_members(other, 2, p, &bad) == A2M_ERR_FORMAT && !bad &&
              strstr(a2m_errmsg(), "ensemble member 2"),
          "other classes refused, naming the member: %s", a2m_errmsg());
    a2m_transcribe_params mc = p;
    mc.mc_passes = 2;
    CHECK(a2m_transcriber_new_members(twice, 1, mc, &bad) == A2M_ERR_ARG && !bad, "passes without dropout: %s",
          a2m_errmsg());
    snprintf(path, sizeof path, "%s/data/seed/long/Prueba.wav", shared);
    REQUIRE(a2m_transcriber_new(m, p, &t1) == A2M_OK && a2m_transcriber_new_members(twice, 2, p, &t2) == A2M_OK,
            "transcribers: %s", a2m_errmsg());
    a2m_transcription r1, r2;
    REQUIRE(a2m_transcriber_run_file(t1, path, &r1) == A2M_OK && a2m_transcriber_run_file(t2, path, &r2) == A2M_OK,
            "runs: %s", a2m_errmsg());
    CHECK(r1.n_frames == r2.n_frames && !memcmp(r1.probs, r2.probs, r1.n_frames * 4 * sizeof *r1.probs),
          "the mean of [m, m] is m's probabilities");
    int same = r1.n_notes == r2.n_notes && r1.n_notes > 10;
    for (size_t i = 0; same && i < r1.n_notes; i++)
        same = r1.notes[i].first_frame == r2.notes[i].first_frame && r1.notes[i].n_frames == r2.notes[i].n_frames &&
               r1.notes[i].note.pitch == r2.notes[i].note.pitch && r1.notes[i].confidence == r2.notes[i].confidence;
    CHECK(same, "[m, m] gives m's notes (%zu and %zu)", r1.n_notes, r2.n_notes);
    CHECK(!r1.uncertainty && r2.uncertainty, "uncertainty from the members' transcriber only");
    double spread = 0, top = 0;
    for (size_t f = 0; r2.uncertainty && f < r2.n_frames; f++) {
        const float *u = r2.uncertainty + f * A2M_UNC_MEASURES, *q = r1.probs + f * 4;
        spread += u[A2M_UNC_VARIANCE] + u[A2M_UNC_MUTUAL];
        double mx = fmax(fmax(q[0], q[1]), fmax(q[2], q[3]));
        top = fmax(top, fabs(u[A2M_UNC_MAXPROB] - mx));
    }
    CHECK(spread == 0 && top < 1e-7, "two equal samples: variance and MI 0 (%g), max_probability the max (%g)", spread,
          top);
    a2m_transcription_free(&r1), a2m_transcription_free(&r2);
    a2m_transcriber_del(t1), a2m_transcriber_del(t2);
    a2m_model_del(ap);
}

/* Bad inputs: no samples, fewer than a frame, a missing file (named in the message), NaN samples. */
static void test_bad_inputs(const a2m_model *m) {
    a2m_transcriber *tw;
    REQUIRE(a2m_transcriber_new(m, a2m_transcribe_default_params(), &tw) == A2M_OK, "window transcriber");
    a2m_transcription r;
    float x[50] = {0};
    CHECK(a2m_transcriber_run(tw, x, 0, &r) == A2M_ERR_EMPTY, "no samples");
    CHECK(a2m_transcriber_run(tw, x, 50, &r) == A2M_ERR_RANGE, "shorter than a frame");
    CHECK(a2m_transcriber_run_file(tw, "/nonexistent.wav", &r) == A2M_ERR_IO, "missing file");
    CHECK(strstr(a2m_errmsg(), "/nonexistent.wav") != NULL, "message names the file");
    float y[20000] = {0};
    y[100] = NAN;
    CHECK(a2m_transcriber_run(tw, y, 20000, &r) == A2M_ERR_NONFINITE, "NaN samples: %s", a2m_errmsg());
    a2m_transcriber_del(tw);
}

int main(void) {
    test_sung_pitch();
    test_range_rules();
    test_rules();
    test_legato();
    test_onset_snap();
    test_onset_flux();
    test_split_score();
    test_onset_gap();
    test_onset_rules();
    test_onset_head_rules();
    test_glide_and_path();
    const char *shared = test_shared_dir();
    if (!shared) return test_done("test_transcribe");
    a2m_model *m = load_seed_model(shared);
    test_default_model_windows(shared);
    test_seed_model_prueba(m, shared);
    test_bad_inputs(m);
    test_members(m, shared);
    a2m_model_del(m);
    return test_done("test_transcribe");
}
