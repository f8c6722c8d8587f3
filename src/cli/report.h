/* Printing and JSON of metrics, shared by eval and compare. */
#ifndef A2M_CLI_REPORT_H
#define A2M_CLI_REPORT_H

#include <jansson.h>
#include <stdio.h>

#include "a2m/metrics.h"

/* class_notes[0] = -1 (silence), NULL = class numbers */
void report_class_name(const int *class_notes, int c, char *buf, size_t n);
void report_print_frame_metrics(FILE *out, const a2m_frame_metrics *fm, const int *class_notes);
json_t *report_frame_metrics_json(const a2m_frame_metrics *fm, const int *class_notes);
/* the "reliability" section of eval: ECE/MCE, the confidence bins, per class confidence vs precision */
void report_print_reliability(FILE *out, const a2m_reliability *r, const int *class_notes);
/* {"ece", "mce", "mean_confidence", "accuracy", "mean_entropy", "bins": [...], "per_class": [...]} */
json_t *report_reliability_json(const a2m_reliability *r);
/* a JSON document read from path into *root (to json_decref), or A2M_ERR_FORMAT "PATH: not JSON (why)" */
int report_load_json(const char *path, json_t **root);
/* atomic write of a JSON document */
int report_write_json(const char *path, json_t *o);
/* eval's --json document of MODEL on a split, nothing printed (cmd_eval.c); returns the exit code */
int cli_eval_json(const char *model, const char *ds, const char *split, const char *splits, const char *json);

#endif
