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

/* ---- atomic output ----------------------------------------------------
 * What an output path is decides how it is written (a2m_output_kind_of):
 *   missing or a regular file: a temporary beside it, renamed over it at the end;
 *   a symbolic link to a regular file: the same beside its target, so the link stays a link;
 *   a character device, FIFO (also through a link) or "/dev/stdout" (standard output, the file
 *     descriptor itself): written into directly (a2m_atomic_*) or copied in from a temporary in
 *     $TMPDIR (a2m_rename_into): the node is never replaced;
 *   a folder, block device, socket or a link to nothing: refused (A2M_ERR_IO naming the path).
 * Temporaries are registered and a2m_temp_cleanup() (async-signal-safe) removes them. */
typedef enum a2m_output_kind {
    A2M_OUTPUT_NEW = 0,   /* nothing there yet */
    A2M_OUTPUT_FILE = 1,  /* an existing regular file (perhaps through a symbolic link): replaced */
    A2M_OUTPUT_STREAM = 2 /* device, FIFO or standard output: written through */
} a2m_output_kind;
int a2m_output_kind_of(const char *path, a2m_output_kind *kind);

typedef struct a2m_atomic_file {
    FILE *fp;       /* write here */
    char *path;     /* final name */
    char *tmp_path; /* "<path>.tmp.<pid>.<n>" beside the (link's target) file; NULL when written through */
} a2m_atomic_file;

/* Opens a temporary file beside path (or path itself when it is written through).
 * If !overwrite and path is an existing file: A2M_ERR_EXISTS. */
int a2m_atomic_open(a2m_atomic_file *f, const char *path, int overwrite);
/* Flushes, closes and renames onto path. On any failure the temporary is removed. */
int a2m_atomic_commit(a2m_atomic_file *f);
/* Closes and removes the temporary; safe to call twice or after commit. */
void a2m_atomic_abort(a2m_atomic_file *f);
/* A unique temporary name for path (caller frees; registered for a2m_temp_cleanup), for libraries that
 * open files themselves (libsndfile, cairo): write there, then a2m_rename_into() (which forgets it). */
char *a2m_temp_path_for(const char *path);
int a2m_rename_into(const char *tmp_path, const char *path);

/* Temporaries (files, or folders of files) to remove if the process is interrupted: a fixed table of
 * 64 names; a2m_temp_path_for registers, a2m_rename_into/commit/abort forget. a2m_temp_cleanup removes
 * every registered one (a folder with the files in it) using only async-signal-safe calls: call it
 * from a SIGINT/SIGTERM handler. Whoever renames a registered temporary itself calls a2m_temp_forget. */
void a2m_temp_register(const char *path);
void a2m_temp_forget(const char *path);
void a2m_temp_cleanup(void);

/* Reads a whole regular file (not a folder) of at most max_bytes. Caller frees *buf. */
int a2m_read_file(const char *path, uint8_t **buf, size_t *len, size_t max_bytes);
int a2m_path_exists(const char *path);
int a2m_is_dir(const char *path);
/* mkdir -p */
int a2m_mkdirs(const char *path);

/* ---- .npy arrays ------------------------------------------------------ */
typedef enum a2m_dtype { A2M_F32 = 0, A2M_F64 = 1, A2M_I64 = 2, A2M_I32 = 3, A2M_U8 = 4, A2M_I16 = 5 } a2m_dtype;

#define A2M_NPY_MAX_DIMS 8
typedef struct a2m_array {
    a2m_dtype dtype;
    int ndim;
    size_t shape[A2M_NPY_MAX_DIMS];
    void *data; /* C order, little-endian, malloc'd */
} a2m_array;

size_t a2m_dtype_size(a2m_dtype t);
size_t a2m_array_count(const a2m_array *a);
void a2m_array_free(a2m_array *a);
/* Parses .npy bytes (versions 1-3, C or Fortran order (returned in C order),
 * little-endian <f4 <f8 <i8 <i4 <i2 |u1 |b1).
 * name is used in error messages only. */
int a2m_npy_parse(const uint8_t *buf, size_t len, const char *name, a2m_array *out);
/* a2m_npy_parse that takes buf (malloc'd, freed on error): its data moved to buf's front becomes out->data
 * (Fortran order: copied, buf freed), where a copy of a dataset's 200 MB features was 49 k page faults */
int a2m_npy_parse_take(uint8_t *buf, size_t len, const char *name, a2m_array *out);
int a2m_npy_load(const char *path, a2m_array *out);
/* Loads any numeric .npy and converts to float32 (out->dtype == A2M_F32). */
int a2m_npy_load_f32(const char *path, a2m_array *out);
/* Saves atomically (temporary + rename); overwrites. */
int a2m_npy_save(const char *path, a2m_dtype dtype, int ndim, const size_t *shape, const void *data);

#ifdef __cplusplus
}
#endif
#endif
