/* A melody's scale, from the frame probabilities. Internal to the library.
 *
 * Most sung melodies keep to one major (or its relative minor's) scale: 7 of the 12 pitch classes. A note sung
 * between two semitones (an amateur's intonation, the seed singer's sharp C) is then more likely the one in the
 * scale. The estimate: the probability mass of each pitch class over the sung frames; the scale is the rotation
 * of the major scale holding the most mass. The transcriber adds -weight nats to the log probability of the
 * pitches outside it in the Viterbi path: a pitch outside the scale still wins where the network is sure. */
#ifndef A2M_TRANSCRIBE_KEY_H
#define A2M_TRANSCRIBE_KEY_H

#include <stddef.h>

typedef struct transcribe_key {
    double mass[12]; /* summed p(pitch class) over the frames seen, C = 0 */
} transcribe_key;

void transcribe_key_init(transcribe_key *k);
/* Adds frames probs [n x C]; class_notes gives each class's MIDI note (< 0: silence, onset, range classes). */
void transcribe_key_add(transcribe_key *k, const float *probs, size_t n, int C, const int *class_notes);
/* The tonic (0 = C) of the major scale holding the most mass, and into *share (when not NULL) that share of all the
 * mass (0 when none). */
int transcribe_key_tonic(const transcribe_key *k, double *share);
/* prior [C]: -weight for pitches outside the major scale on `tonic`, 0 for the others and every non-pitch class. */
void transcribe_key_logprior(int tonic, double weight, const int *class_notes, int C, float *prior);

#endif
