/* Shipped models by name (`anypitch`, `seed`) for every option that takes a model file. */
#ifndef A2M_CLI_MODELS_H
#define A2M_CLI_MODELS_H

#include <stddef.h>

/* The model file of arg: an existing file of that name; else a shipped model's name ("anypitch": any melody, MIDI
 * 36-84; "seed": the seed project's three classes), looked up in PREFIX/share/a2m/models beside PREFIX/bin/a2m, then
 * in models/ of the source tree the executable was built in, then ./models; else arg itself as a path. arg NULL:
 * $A2M_MODEL, else the shipped "anypitch". The result is arg, the environment's value or buf. */
const char *cli_model_path(const char *arg, char *buf, size_t n);

#endif
