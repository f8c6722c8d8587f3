/* Transcription: audio -> frame class probabilities -> notes.
 * One a2m_transcriber per thread; the model is shared read-only. */
#ifndef A2M_TRANSCRIBE_H
#define A2M_TRANSCRIBE_H

#include <stddef.h>

#include "a2m/midi.h"
#include "a2m/model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum a2m_tuning_mode { A2M_TUNING_OFF = 0, A2M_TUNING_AUTO = 1, A2M_TUNING_FIXED = 2 } a2m_tuning_mode;

/* The weights of a split score (a2m_transcribe_params.split): per dB of spectral flux, per nat of the pitch
 * distribution's change, per unit of the note's own class dipping. */
typedef struct a2m_split_weights {
    double flux, pitch, dip;
} a2m_split_weights;

typedef struct a2m_transcribe_params {
    double window_s;         /* 6.0 (the BiLSTM was trained on 4 s takes; 6 s scores the same: see README); 0 = the
                          * whole recording as one sequence */
    double hop_s;            /* window step, 4.0: windows overlap by 2 s, so every frame still has >= 1 s of context on
                          * both sides in some window, and the network runs 1.5 times per frame instead of the 2 times
                          * of 4 s / 2 s; outputs are blended with a sine taper */
    int batch;               /* windows per network call, 4: the 4-window LSTM step is full and the buffers stay
                              * small (input 4 MB, audio read 16 s at a time); against 8, ~25% fewer page faults,
                              * 30 s 128 -> 122 ms and 60 s 203 -> 181 ms a whole process (hyperfine, 15 runs,
                              * load 0.8), the same notes */
    double max_gap_ms;       /* fill silence gaps shorter than this between runs of one note; <0: use frames */
    double min_note_ms;      /* drop notes shorter than this */
    int max_gap_frames;      /* used when max_gap_ms < 0; -1 (the default): the model's kind's, 5 (the original's) for
                          * models without an onset class, 10 (60 ms) for any-pitch models */
    int min_note_frames;     /* -1: 10 for models without an onset class, 18 (108 ms) for any-pitch models (a sung
                          * note's consonant or breath otherwise splits it: singreal 3-fold with 10 frames, 5 gap
                          * frames and pitch cost 6: COnPOff 0.418, COnP 0.594; with 18, 10 and 10: 0.459, 0.620) */
    a2m_precision precision; /* A2M_PRECISION_FP32 (exact); BF16 is faster on CPUs with avx512_bf16 */
    double onset_threshold;  /* 0.6: models with an onset class split notes where p(onset) peaks and its split score
                              * (split) reaches this */
    double min_voicing;      /* 0.6: models with an onset class drop notes whose mean p(sung) is below this */
    double pitch_cost;       /* 10: models with an onset class: cost (nats) of a pitch change in the smoothed path */
    double voicing_cost;     /* 2: ... of a change between silence and singing */
    double glide_ms;         /* 180: models with an onset class: shorter pitch runs inside a legato line are glides */
    double dip_depth;        /* 0 (off): models with an onset class: a note is also split where p(silence) peaks this
                              * far above its surroundings (a breath or consonant between two notes of one pitch;
                              * 0.15 split more right notes than wrong ones with an earlier model, not with the
                              * shipped one, whose onset class is weighted) */
    double legato_ms;        /* 250: models with an onset class: a note ends where the next begins when the silence
                              * between them is shorter than this (singers join notes; a pause in the sound, a
                              * consonant, is not a rest: singreal fold 0 COnPOff 0.19 -> 0.34) */
    double delay_ms;         /* 15: models with an onset class: added to every note's onset and offset (annotation
                              * conventions differ: singreal's notes start ~40 ms after the sound does, Prueba's ~15 ms
                              * before, and mir_eval's onset tolerance is 50 ms. With the onset snap, singreal 3-fold
                              * COnP 0.647 / 0.659 / 0.671 / 0.669 at 5 / 10 / 15 / 20 ms, Prueba 0.60 / 0.55 / 0.40 /
                              * 0.30: 15 serves the many singers' files, at a cost on the one seed recording) */
    int notes_only;          /* 0: results keep every frame's probabilities and class; 1: notes and the frame
                              * count only (probs and classes NULL), so memory does not grow with the recording */
    a2m_tuning_mode tuning;  /* A2M_TUNING_AUTO: models with an onset class (any-pitch) estimate the recording's
                              * tuning from the CQT and shift the features onto the semitone grid before the
                              * network (singreal 3-fold: see docs/anypitch.md); OFF; FIXED: tuning_cents */
    double tuning_cents;     /* A2M_TUNING_FIXED: the recording's tuning, -50..50 cents (+ = sharp) */
    double key_weight;       /* 0 (off): models with an onset class: pitches outside the melody's major scale (estimated
                              * from the frame probabilities, key.h) cost this many nats a frame in the Viterbi path */
    double onset_snap_ms;    /* 120: models with an onset class: a note's onset moves to the peak of p(onset) (plus
                              * onset_flux times the spectral flux) within this distance when p(onset) reaches 0.1
                              * there, the note and the one before keeping min_note frames (the path's class
                              * boundary lags or leads the attack: singreal 3-fold COn 0.708 -> 0.770 at 48 ms
                              * without the flux, 0.803 at 120 ms with it; docs/anypitch.md "Onset errors") */
    double tuning_lookahead_s;  /* 20: windows wait for this much audio (or the end) before the first runs, so
                              * the first notes are read with an estimate from 20 s of singing, not 4 */
    double mc_dropout;          /* 0: off; p in (0, 1): Monte-Carlo dropout, the network's dropout kept on at p (one
                              * stochastic pass, or mc_passes of them; `a2m transcribe --mc-dropout T` averages T) */
    unsigned long long mc_seed; /* the masks of that pass (mc_passes: of the first) */
    double onset_gap_ms;     /* -1: a note is split at an onset peak only min_note from its ends and the previous cut;
                              * >= 0: this far (a repeated note ~80 ms after the one before is missed otherwise) */
    double range_min_db;     /* 15: models with below/above-the-range classes (CQT): such a note is kept only where the
                          * spectrum has a peak out there standing this many dB (mean over the note) above the
                          * mean of the half octave around it, and takes that peak's pitch; noise and hum make the
                          * network say "above" too (white noise: 8.6 dB, sung notes 17-27 dB); 0 = off */
    double onset_flux;       /* 0.03: models with an onset class: the onset snap picks the frame of the largest p(onset)
                              * + onset_flux x the CQT's spectral flux (mean rise in dB over 12 ms): p(onset) often
                              * peaks on several frames around a note change, the sound's rise tells them apart
                              * (singreal COn nested 3-fold 0.770 -> 0.791, the snap grid alone 0.785); 0 = off */
    a2m_split_weights split; /* {0.06, 2, 0.6}: models with an onset class split a note at an inner p(onset) peak
                              * (>= 0.05) where p(onset) + flux x the flux (dB, the largest within 12 ms) + pitch x
                              * the pitch distribution's change (Jensen-Shannon, nats) + dip x the dip of the note's
                              * own class reaches onset_threshold (then 0.6; all 0: p(onset) alone, the threshold 0.3
                              * before): singreal 3-fold COn 0.803 -> 0.813 (nested 0.806), generated validation
                              * takes 0.744 -> 0.751 (transcribe/split.h, docs/anypitch.md "The split score") */
    int mc_passes;           /* 0: each model of a transcriber runs once (with mc_dropout's pass when that is > 0);
                              * T > 0: T Monte-Carlo dropout passes of each, members of the ensemble, the dropout at
                              * mc_dropout, or at the model's own (a2m_model_info.dropout) when mc_dropout is 0; pass
                              * t's masks from mc_seed + t and the window's index (window mode: the same however the
                              * audio is pushed) or the recording (one sequence) */
    unsigned char notes[16]; /* all clear (the default): every pitch the model knows. Else the notes allowed (bit
                              * n % 8 of byte n / 8 for MIDI note n, a2m_note_set_parse): each frame's probability
                              * of another pitch goes to the nearest allowed one, for a user who knows the melody's
                              * notes (a scale, an exercise's three): transcribe/fold.h */
} a2m_transcribe_params;
/* One sequence (window_s 0) holds the whole recording's features and activations: longer ones are refused. */
#define A2M_WHOLE_MAX_SECONDS 900.0
a2m_transcribe_params a2m_transcribe_default_params(void);

typedef struct a2m_transcribed_note {
    a2m_note note; /* onset/offset in seconds, pitch */
    int cls;       /* model class */
    size_t first_frame, n_frames;
    double confidence;     /* mean probability of the class over the note's frames */
    double confidence_var; /* its variance */
    int out_of_range;      /* models with below/above classes: -1 sung below the model's lowest note, +1 above its
                            * highest, 0 inside the range; pitch is then the spectrum's peak out there (CQT models,
                            * range_min_db > 0), else the range's edge note -1 / +1 */
    double cents;          /* how it was sung: the mean deviation of the sung pitch (the CQT's peak near the note,
                            * parabola-interpolated) from the note's, in cents, + sharp, tuning included (a singer
                            * 40 cents flat throughout: about -40 on every note); NaN when not measured */
} a2m_transcribed_note;

typedef struct a2m_transcription {
    size_t n_frames;
    int n_classes;
    double frame_seconds; /* hop / sample rate */
    float *probs;         /* [n_frames x n_classes] */
    int *classes;         /* [n_frames] after post-processing */
    a2m_transcribed_note *notes;
    size_t n_notes;
    double tuning_cents; /* the shift the features were read with (A2M_TUNING_AUTO: the estimate over the
                               * whole recording; 0 when off or for models without an onset class) */
    float *uncertainty;  /* [n_frames x A2M_UNC_MEASURES] (uncertainty.h: a2m_predictive's measures over the
                          * members' probabilities) from transcribers and streams made by *_new_members with the
                          * frames kept; else NULL */
} a2m_transcription;

typedef struct a2m_transcriber a2m_transcriber;

int a2m_transcriber_new(const a2m_model *m, a2m_transcribe_params p, a2m_transcriber **out);
/* An ensemble: n models (each p.mc_passes times with Monte-Carlo dropout when that is > 0) are the members, at most
 * 256 (window mode keeps ~1.2 MB a member of the any-pitch model). The features are made once (the first model's
 * front end: every model must have the same features, bins and classes, else A2M_ERR_FORMAT naming the member), each
 * member normalises them with its model's mean and std, runs its own network and blends its windows; a frame's
 * probabilities (probs, decoded into notes as one model's are) are the members' mean, and
 * a2m_transcription.uncertainty their predictive measures. One model without passes decodes exactly as
 * a2m_transcriber_new's transcriber, and so does an ensemble of one model twice. The models are shared read-only
 * and must outlive t. */
int a2m_transcriber_new_members(const a2m_model *const *models, int n, a2m_transcribe_params p, a2m_transcriber **out);
void a2m_transcriber_del(a2m_transcriber *t);
/* x: mono samples at the model's analysis rate. */
int a2m_transcriber_run(a2m_transcriber *t, const float *x, size_t n, a2m_transcription *out);
/* Reads any audio file a2m_audio_read handles, resamples, transcribes. */
int a2m_transcriber_run_file(a2m_transcriber *t, const char *path, a2m_transcription *out);
void a2m_transcription_free(a2m_transcription *r);

/* Streaming transcription (window mode only): push samples at the model's
 * analysis rate as they arrive; each call hands out the notes decided by it
 * (valid until the next call). The CQT is computed as the audio comes (a
 * frame is final 2.7-4 s after its time), windows run as soon as their frames
 * exist, and a note is decided once no later sample can change it, so the
 * notes, in order, are exactly those of a2m_transcriber_run on the whole
 * recording (which runs this same pass). Memory does not grow with the audio,
 * except with keep_frames: then every frame's probabilities and classes and
 * every note are also kept, for a2m_transcribe_stream_result. */
typedef struct a2m_transcribe_stream a2m_transcribe_stream;
int a2m_transcribe_stream_new(const a2m_model *m, a2m_transcribe_params p, int keep_frames,
                              a2m_transcribe_stream **out);
/* A stream of an ensemble's members (a2m_transcriber_new_members) */
int a2m_transcribe_stream_new_members(const a2m_model *const *models, int n, a2m_transcribe_params p, int keep_frames,
                                      a2m_transcribe_stream **out);
void a2m_transcribe_stream_del(a2m_transcribe_stream *s);
/* Ready for a new recording (plans and weights kept). */
void a2m_transcribe_stream_reset(a2m_transcribe_stream *s);
int a2m_transcribe_stream_push(a2m_transcribe_stream *s, const float *x, size_t n, const a2m_transcribed_note **notes,
                               size_t *n_notes);
/* End of input: runs the last (zero-padded) windows and decides the rest. */
int a2m_transcribe_stream_finish(a2m_transcribe_stream *s, const a2m_transcribed_note **notes, size_t *n_notes);
/* After finish with keep_frames: the whole transcription (moved out; free with a2m_transcription_free). */
int a2m_transcribe_stream_result(a2m_transcribe_stream *s, a2m_transcription *out);
/* A whole recording through s (reset first): every sample of in, or x[0..n) when in is NULL. on_notes (or NULL)
 * gets the notes as they are decided; out (or NULL; needs keep_frames) gets the whole transcription. Errors of
 * the stream (not of the reader, whose messages name their input) are prefixed with `name`. */
typedef struct a2m_audio_stream a2m_audio_stream;
typedef void (*a2m_notes_fn)(void *user, const a2m_transcribed_note *notes, size_t n);
int a2m_transcribe_stream_run(a2m_transcribe_stream *s, a2m_audio_stream *in, const float *x, size_t n,
                              const char *name, a2m_notes_fn on_notes, void *user, a2m_transcription *out);

/* The rules that turn frame classes into notes. */
typedef struct a2m_note_rules {
    int max_gap;            /* silence runs shorter than this between two runs of one note are filled (frames) */
    int min_note;           /* shorter notes are dropped; shorter runs of another note inside a note absorbed */
    double onset_threshold; /* models with an onset class: a note is split where p(onset) peaks at or above this,
                             * min_note frames from either end (a repeated pitch, a legato step) */
    double min_voicing;     /* models with an onset class: notes whose mean 1 - p(silence) is below this are
                             * dropped (noise, hum: frames the model is unsure are sung) */
    double pitch_cost;      /* models with an onset class: frame classes are the most likely path (Viterbi) under
                             * the frame probabilities, a change of pitch costing this many nats (a wobble to a
                             * neighbouring semitone must be more likely for a while to become a note) */
    double voicing_cost;    /* ... and a change between silence and singing this many */
    int glide;              /* models with an onset class: a pitch run shorter than this (frames) joined to another
                             * pitch run without silence is a glide (a scoop into a note, a slide out of it): it
                             * becomes part of the next note (or of the previous one at the end of a phrase) */
    double dip_depth;       /* models with an onset class: a note is also split where p(silence) is a local maximum
                             * of at least 0.25 rising this far above its minima 12 frames either side (0: off) */
    double delay_s;         /* models with an onset class: added to every note's onset and offset */
    int legato;             /* models with an onset class: a silence shorter than this (frames) between two notes
                             * is not a rest: the first note ends where the second begins */
    int onset_snap;         /* models with an onset class: frames a note's onset may move to p(onset)'s peak (0: off) */
    const float *class_logprior; /* [n_classes] or NULL: added to each class's log probability in the Viterbi path
                             * (the key's scale: see a2m_transcribe_params.key_weight) */
    int onset_gap;     /* 0: onset cuts keep min_note frames from a note's ends and the previous cut; > 0: this many */
    int onset_sigmoid; /* 1: the onset class's probability is an onset head's sigmoid (a2m_model_info.onset_head),
                             * not a share of the softmax: it is not shared among the pitches */
    const float *range_evidence; /* [n_frames x 4] or NULL: per frame the prominence (dB) and MIDI note of the
                             * strongest CQT peak above the model's range, then below it (NaN: not measured) */
    double range_min_db; /* with range_evidence: a below/above note whose mean prominence is under this is dropped */
    const float *sung_pitch; /* [n_frames] or NULL: each frame's sung pitch (fractional MIDI, NaN: not measured),
                              * for the notes' cents */
    double flux_weight;      /* the onset snap's weight of onset_flux (a2m_transcribe_params.onset_flux) */
    const float *onset_flux; /* [n_frames] or NULL: the spectral flux of each frame (set by the transcriber) */
    a2m_split_weights split; /* the split score's weights (a2m_transcribe_params.split) */
} a2m_note_rules;
/* The rules of transcription parameters p at frame_seconds per frame. */
a2m_note_rules a2m_note_rules_from_params(a2m_transcribe_params p, double frame_seconds);

/* Frame classes -> notes with the rules (classes edited in place). probs [n_frames x n_classes] or NULL. */
int a2m_frames_to_notes(int *classes, const float *probs, size_t n_frames, int n_classes, const int *class_notes,
                        double frame_seconds, a2m_note_rules rules, a2m_transcribed_note **notes, size_t *n_notes);

#ifdef __cplusplus
}
#endif
#endif
