/* The onset head's training targets (train --onset-head), from a dataset's onset-class labels. */
#ifndef A2M_TRAIN_ONSET_H
#define A2M_TRAIN_ONSET_H

#include <stdint.h>

#include "a2m/dataset.h"

/* From a dataset labelled with an onset class oc (`a2m dataset --onset-frames`): lab [total_frames] the labels with
 * each onset frame given the class of the frame after its run (the note's pitch; -1, masked, when that is silence or
 * the take's end: a note shorter than the run), tgt [total_frames] 0.5 / 1 / 1 / 1 / 0.5 over frames -1..3 of each
 * run's first frame (a note start, never before its take's first frame), the larger where two windows meet. */
void train_onset_head_targets(const a2m_dataset *d, int oc, int64_t *lab, float *tgt);

#endif
