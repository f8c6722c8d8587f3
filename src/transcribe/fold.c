/* The notes a user allows (see fold.h). */
#include "transcribe/fold.h"

#include <string.h>

#include "a2m/error.h"
#include "nn/layers.h"

static int allowed_note(const unsigned char *set, int note) {
    return note >= 0 && note < 128 && (set[note / 8] >> (note % 8)) & 1;
}

/* The allowed class nearest below (dir -1) or above (dir +1) note: its class and distance in semitones, or -1. */
static int nearest(const unsigned char *set, const int *class_notes, int C, int note, int dir, int *dist) {
    int best = -1;
    for (int c = 0; c < C; c++) {
        int d = (class_notes[c] - note) * dir;
        if (class_notes[c] >= 0 && d > 0 && allowed_note(set, class_notes[c]) && (best < 0 || d < *dist))
            best = c, *dist = d;
    }
    return best;
}

int transcribe_fold_init(transcribe_fold *f, const unsigned char *allowed, const int *class_notes, int C) {
    memset(f, 0, sizeof *f);
    for (int c = 0; c < C; c++) f->to[c][0] = f->to[c][1] = c, f->share[c] = 1;
    for (int b = 0; allowed && b < 16; b++) f->on |= allowed[b] != 0;
    if (!f->on) return A2M_OK;
    f->class_notes = class_notes, f->argmax_voicing = 1;
    for (int c = 0; c < C; c++) f->argmax_voicing &= class_notes[c] != A2M_CLASS_ONSET;
    int any = 0, lo = 128, hi = -1;
    for (int c = 0; c < C; c++) {
        any |= allowed_note(allowed, class_notes[c]);
        if (class_notes[c] >= 0)
            lo = class_notes[c] < lo ? class_notes[c] : lo, hi = class_notes[c] > hi ? class_notes[c] : hi;
    }
    if (!any) return a2m_error(A2M_ERR_ARG, "none of the notes allowed is one of the model's (MIDI %d-%d)", lo, hi);
    for (int c = 0; c < C; c++) {
        if (class_notes[c] < 0 || allowed_note(allowed, class_notes[c])) continue;
        int db = 0, da = 0, below = nearest(allowed, class_notes, C, class_notes[c], -1, &db),
            above = nearest(allowed, class_notes, C, class_notes[c], +1, &da);
        if (below < 0 || (above >= 0 && da < db)) f->to[c][0] = f->to[c][1] = above;
        else if (above < 0 || db < da) f->to[c][0] = f->to[c][1] = below;
        else f->to[c][0] = below, f->to[c][1] = above, f->share[c] = 0.5f;
    }
    return A2M_OK;
}

void transcribe_fold_frame(const transcribe_fold *f, float *q, int C) {
    if (!f->on) return;
    if (f->argmax_voicing && f->class_notes[nn_argmax(q, C)] < 0) return; /* window.h's rule for these models */
    float out[A2M_MAX_CLASSES] = {0};
    for (int c = 0; c < C; c++) {
        out[f->to[c][0]] += f->share[c] * q[c];
        out[f->to[c][1]] += (1 - f->share[c]) * q[c];
    }
    memcpy(q, out, (size_t)C * sizeof *q);
}
