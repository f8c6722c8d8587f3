/* Internal to the library: a whole file read (a2m_read_file) and handed to a parser, the pattern of every loader
 * of untrusted bytes (.npy, safetensors, MIDI, notes CSV, search spaces), written once. */
#ifndef A2M_CORE_FILEIO_H
#define A2M_CORE_FILEIO_H

#include <stddef.h>
#include <stdint.h>

/* A parser of buf's len bytes into *out; name is the file's, for its errors. */
typedef int (*a2m_parse_fn)(const uint8_t *buf, size_t len, const char *name, void *out);

/* Reads path (at most max_bytes) and returns parse(buf, len, path, out), the buffer freed after; or the read's
 * error (out untouched). */
int a2m_parse_file(const char *path, size_t max_bytes, a2m_parse_fn parse, void *out);

#endif
