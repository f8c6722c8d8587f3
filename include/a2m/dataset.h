/* Datasets: (audio, MIDI) pairs -> CQT dB features + frame labels, with one
 * global mean/std over all frames and bins of the whole dataset.
 *
 * On disk a dataset is a folder (see README "Dataset format"):
 *   index.json     version, names, frames per take, feature and label
 *                  parameters, mean/std, class counts, CRC-32 of each .npy
 *   features.npy   float32 [total_frames x n_bins]  raw features (CQT/mel dB, MFCC, LPC; not normalised)
 *   labels.npy     int64   [total_frames]
 * Takes are stored back to back; take i spans frames offsets[i]..offsets[i+1]. */
#ifndef A2M_DATASET_H
#define A2M_DATASET_H

#include <stddef.h>
#include <stdint.h>
#include "a2m/cqt.h"
#include "a2m/features.h"
#include "a2m/midi.h"

#ifdef __cplusplus
extern "C" {
#endif

#define A2M_DATASET_VERSION 1

typedef struct a2m_dataset {
    size_t n_takes;
    char **names;    /* [n_takes] "voice_001" (audio file name without extension) */
    size_t *offsets; /* [n_takes + 1] frame offsets */
    size_t total_frames;
    int n_bins;
    float *features;      /* [total_frames x n_bins] raw dB */
    int64_t *labels;      /* [total_frames] */
    double mean, std;     /* global normalisation: (x - mean) / std */
    a2m_cqt_params cqt;   /* sample rate, hop, dB step, last-frame drop (every kind); the CQT's bins */
    a2m_feat_params feat; /* the kind of features and the parameters of mel, MFCC, LPC */
    a2m_label_params labels_p;
    double take_seconds; /* 4.0: duration used for the frame count; <= 0: from audio */
    int64_t class_counts[A2M_MAX_CLASSES];
    /* a2m_dataset_load's mapping of features.npy that features lies in (a2m_dataset_free unmaps it), or NULL:
     * features is malloc'd (a2m_dataset_build's, a caller's) and freed */
    void *features_map;
    size_t features_map_len;
} a2m_dataset;

typedef struct a2m_dataset_params {
    a2m_cqt_params cqt;
    a2m_feat_params feat; /* kind cqt by default */
    a2m_label_params labels;
    double take_seconds;  /* 4.0: every take is cut/padded to this length; <= 0 keeps each take's length */
    size_t expect_frames; /* 666: takes with another frame count are named and rejected; 0 = no check */
} a2m_dataset_params;
a2m_dataset_params a2m_dataset_default_params(void);

/* Called after each take (from the building thread); may be NULL. */
typedef void (*a2m_progress_fn)(void *user, size_t done, size_t total, const char *what);

/* Pairs DIR/voice_N.wav with DIR/midi_N.mid (and x.wav with x.mid), in name order.
 * Unpaired files are skipped and listed in *warnings (malloc'd text, may be NULL). */
int a2m_dataset_build(const char *dir, a2m_dataset_params p, a2m_progress_fn progress, void *user, a2m_dataset *out,
                      char **warnings);
int a2m_dataset_save(const a2m_dataset *d, const char *dir);
int a2m_dataset_load(const char *dir, a2m_dataset *out);
/* a2m_dataset_load with its files read and checksummed by n_threads threads (each a part of each file) */
int a2m_dataset_load_threads(const char *dir, int n_threads, a2m_dataset *out);
void a2m_dataset_free(a2m_dataset *d);
/* The MIDI file paired with take `take` (an audio file's name without its extension) in dir, the rule
 * a2m_dataset_build pairs by: dir/midi_N.mid for voice_N, else dir/<take>.mid. 1 with the path in out [n] when
 * one exists, 0 when none does. */
int a2m_dataset_midi_partner(const char *dir, const char *take, char *out, size_t n);
/* Index of take `name` or -1. */
long a2m_dataset_find(const a2m_dataset *d, const char *name);

/* split.json: {"train": [names], "val": [...], "test": [...]}. Fills idx (malloc'd)
 * with dataset indices of the named split; unknown names are an error. */
int a2m_split_load(const char *path, const char *split, const a2m_dataset *d, size_t **idx, size_t *n);

#ifdef __cplusplus
}
#endif
#endif
