/* File helpers shared by every module: atomic output (write a temporary file
 * beside the target, then rename, so no half-written output is ever left),
 * whole-file reads with a size cap, and .npy arrays (numpy's format). */
#ifndef A2M_IO_H
#define A2M_IO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- atomic output ---------------------------------------------------- */
typedef struct a2m_atomic_file {
    FILE *fp;        /* write here */
    char *path;      /* final name */
    char *tmp_path;  /* "<path>.tmp.<pid>.<n>" in the same folder */
} a2m_atomic_file;

/* Opens a temporary file beside path. If !overwrite and path exists: A2M_ERR_EXISTS. */
int a2m_atomic_open(a2m_atomic_file *f, const char *path, int overwrite);
/* Flushes, closes and renames onto path. On any failure the temporary is removed. */
int a2m_atomic_commit(a2m_atomic_file *f);
/* Closes and removes the temporary; safe to call twice or after commit. */
void a2m_atomic_abort(a2m_atomic_file *f);
/* A unique temporary name beside path (caller frees), for libraries that open
 * files themselves (libsndfile, cairo): write there, then a2m_rename_into(). */
char *a2m_temp_path_for(const char *path);
int a2m_rename_into(const char *tmp_path, const char *path);

/* Reads a whole regular file (not a folder) of at most max_bytes. Caller frees *buf. */
int a2m_read_file(const char *path, uint8_t **buf, size_t *len, size_t max_bytes);
int a2m_path_exists(const char *path);
int a2m_is_dir(const char *path);
/* mkdir -p */
int a2m_mkdirs(const char *path);

/* ---- .npy arrays ------------------------------------------------------ */
typedef enum a2m_dtype {
    A2M_F32 = 0, A2M_F64 = 1, A2M_I64 = 2, A2M_I32 = 3, A2M_U8 = 4, A2M_I16 = 5
} a2m_dtype;

#define A2M_NPY_MAX_DIMS 8
typedef struct a2m_array {
    a2m_dtype dtype;
    int ndim;
    size_t shape[A2M_NPY_MAX_DIMS];
    void *data;      /* C order, little-endian, malloc'd */
} a2m_array;

size_t a2m_dtype_size(a2m_dtype t);
size_t a2m_array_count(const a2m_array *a);
void a2m_array_free(a2m_array *a);
/* Parses .npy bytes (versions 1-3, C order, little-endian <f4 <f8 <i8 <i4 <i2 |u1 |b1).
 * name is used in error messages only. */
int a2m_npy_parse(const uint8_t *buf, size_t len, const char *name, a2m_array *out);
int a2m_npy_load(const char *path, a2m_array *out);
/* Loads any numeric .npy and converts to float32 (out->dtype == A2M_F32). */
int a2m_npy_load_f32(const char *path, a2m_array *out);
/* Saves atomically (temporary + rename); overwrites. */
int a2m_npy_save(const char *path, a2m_dtype dtype, int ndim, const size_t *shape, const void *data);

#ifdef __cplusplus
}
#endif
#endif
