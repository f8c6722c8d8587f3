/* One frame of a2m_predictive (uncertainty.c): its sums over samples and what they give, shared with the
 * ensemble transcriber (transcribe/stream.c), which finishes each frame as it becomes final, so both compute
 * the same numbers. Internal to the library. */
#ifndef A2M_EVAL_PREDICTIVE_H
#define A2M_EVAL_PREDICTIVE_H

/* One sample q [C] added to a frame's sums of p and p^2 [C] and of the samples' entropies. */
void predictive_frame_add(double *sum, double *sum2, double *ent, const float *q, int C);
/* The frame's mean [C] (or NULL) and measures [A2M_UNC_MEASURES] (or NULL) from S >= 1 samples' sums. */
void predictive_frame_finish(const double *sum, const double *sum2, double ent, int S, int C, float *mean,
                             float *measures);

#endif
