/* Inputs of a batch command (transcribe): folders expanded, output names. */
#ifndef A2M_CLI_INPUTS_H
#define A2M_CLI_INPUTS_H

#include <stddef.h>

typedef struct cli_inputs {
    char **paths;  /* [n] audio files: the arguments, folders replaced by the audio files under them */
    char **midis;  /* [n] the MIDI file each one writes */
    size_t *roots; /* [n] how much of each path its output name leaves out (its argument's folder) */
    int n;
} cli_inputs;

/* Output names: without out, next to each input (x.wav -> x.mid); one file and out (no trailing '/', not an
 * existing folder): out itself; otherwise
 * out/<file name>.mid for a file argument and out/<path below the folder>.mid for the files of a folder
 * argument. Two inputs naming one output is an error. */
int cli_inputs_expand(const char *const *args, int n_args, const char *out, cli_inputs *r);
void cli_inputs_free(cli_inputs *r);

#endif
