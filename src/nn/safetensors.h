/* safetensors reader/writer: 8-byte little-endian header length, a JSON
 * header {name: {dtype, shape, data_offsets}, "__metadata__": {str: str}},
 * then the raw little-endian data. Parsing is strict: every offset and shape
 * is checked against the buffer before use. */
#ifndef A2M_NN_SAFETENSORS_H
#define A2M_NN_SAFETENSORS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define ST_MAX_DIMS 8

typedef struct st_tensor {
    char *name;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    size_t count; /* elements */
    float *data;  /* converted to float32, malloc'd */
} st_tensor;

typedef struct st_file {
    st_tensor *t;
    size_t n;
    json_t *meta; /* "__metadata__" object or NULL */
} st_file;

int st_parse(const uint8_t *buf, size_t len, const char *name, st_file *out);
int st_read(const char *path, st_file *out);
void st_free(st_file *f);
const st_tensor *st_find(const st_file *f, const char *name);
/* Metadata string or NULL. */
const char *st_meta(const st_file *f, const char *key);

typedef struct st_out_tensor {
    const char *name;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    const float *data;
} st_out_tensor;
/* Writes F32 tensors + string metadata (json object of strings, may be NULL) atomically. */
int st_write(const char *path, const st_out_tensor *t, size_t n, json_t *meta);

#endif
