/* Figure files from the command line's inputs (shared by plot and report). */
#ifndef A2M_CLI_PLOTS_H
#define A2M_CLI_PLOTS_H
#include "a2m/plot.h"
#include "cli/feat_opts.h"
int plot_loss_file(const char *log, const char *out, a2m_plot_size size);
int plot_confusion_file(const char *json_path, const char *out, a2m_plot_size size);
/* the "reliability" of an `a2m eval --json` file */
int plot_reliability_file(const char *json_path, const char *out, a2m_plot_size size);
int plot_cqt_file(const char *audio, const char *labels_midi, const char *ref, const char *est, const int *notes,
                  int n_notes, double transpose, const char *out, a2m_plot_size size);
/* the points of `a2m embed` (EMB.npy) coloured by EMB.labels.npy (labels NULL: the one beside EMB.npy) */
int plot_embed_file(const char *emb, const char *labels, const char *out, a2m_plot_size size);
/* plot features / plot distances: the features of o (dist: the distances between their frames), labels from MIDI */
int plot_features_file(const char *audio, const char *labels_midi, const int *notes, int n_notes,
                       const cli_feat_opts *o, int dist, const char *out, a2m_plot_size size);
#endif
