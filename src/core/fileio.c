#include "a2m/error.h"
#include "a2m/io.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static atomic_uint temp_counter;

char *a2m_temp_path_for(const char *path) {
    size_t n = strlen(path) + 64;
    char *tmp = malloc(n);
    if (!tmp) return NULL;
    snprintf(tmp, n, "%s.tmp.%ld.%u", path, (long)getpid(), atomic_fetch_add(&temp_counter, 1));
    return tmp;
}

int a2m_rename_into(const char *tmp_path, const char *path) {
    if (rename(tmp_path, path) != 0) {
        int e = errno;
        unlink(tmp_path);
        return a2m_error(A2M_ERR_IO, "%s: cannot write (%s)", path, strerror(e));
    }
    return A2M_OK;
}

int a2m_path_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

int a2m_is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int a2m_mkdirs(const char *path) {
    char *p = strdup(path);
    if (!p) return a2m_error(A2M_ERR_NOMEM, "%s: out of memory", path);
    for (char *s = p + 1; ; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(p, 0777) != 0 && errno != EEXIST) {
                int e = errno;
                free(p);
                return a2m_error(A2M_ERR_IO, "%s: cannot create folder (%s)", path, strerror(e));
            }
            *s = c;
            if (c == '\0') break;
        }
    }
    free(p);
    if (!a2m_is_dir(path)) return a2m_error(A2M_ERR_IO, "%s: exists and is not a folder", path);
    return A2M_OK;
}

int a2m_atomic_open(a2m_atomic_file *f, const char *path, int overwrite) {
    memset(f, 0, sizeof *f);
    if (!overwrite && a2m_path_exists(path))
        return a2m_error(A2M_ERR_EXISTS, "%s: exists (use --force to overwrite)", path);
    if (a2m_is_dir(path)) return a2m_error(A2M_ERR_IO, "%s: is a folder", path);
    f->path = strdup(path);
    f->tmp_path = a2m_temp_path_for(path);
    if (!f->path || !f->tmp_path) {
        a2m_atomic_abort(f);
        return a2m_error(A2M_ERR_NOMEM, "%s: out of memory", path);
    }
    f->fp = fopen(f->tmp_path, "wb");
    if (!f->fp) {
        int e = errno;
        a2m_atomic_abort(f);
        return a2m_error(A2M_ERR_IO, "%s: cannot write (%s)", path, strerror(e));
    }
    return A2M_OK;
}

int a2m_atomic_commit(a2m_atomic_file *f) {
    if (!f->fp) return a2m_error(A2M_ERR_INTERNAL, "atomic file committed twice");
    int bad = ferror(f->fp);
    bad |= fflush(f->fp) != 0;
    bad |= fclose(f->fp) != 0;
    f->fp = NULL;
    int rc = A2M_OK;
    if (bad) {
        rc = a2m_error(A2M_ERR_IO, "%s: write failed (disk full?)", f->path);
        unlink(f->tmp_path);
    } else {
        rc = a2m_rename_into(f->tmp_path, f->path);
    }
    free(f->path);
    free(f->tmp_path);
    f->path = f->tmp_path = NULL;
    return rc;
}

void a2m_atomic_abort(a2m_atomic_file *f) {
    if (f->fp) {
        fclose(f->fp);
        f->fp = NULL;
    }
    if (f->tmp_path) unlink(f->tmp_path);
    free(f->path);
    free(f->tmp_path);
    f->path = f->tmp_path = NULL;
}

int a2m_read_file(const char *path, uint8_t **buf, size_t *len, size_t max_bytes) {
    *buf = NULL;
    *len = 0;
    struct stat st;
    if (stat(path, &st) != 0) return a2m_error(A2M_ERR_IO, "%s: no such file", path);
    if (S_ISDIR(st.st_mode)) return a2m_error(A2M_ERR_IO, "%s: is a folder, not a file", path);
    FILE *fp = fopen(path, "rb");
    if (!fp) return a2m_error(A2M_ERR_IO, "%s: cannot open (%s)", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    uint8_t *b = malloc(cap);
    if (!b) {
        fclose(fp);
        return a2m_error(A2M_ERR_NOMEM, "%s: out of memory", path);
    }
    for (;;) {
        if (n == cap) {
            if (cap >= max_bytes) {
                free(b);
                fclose(fp);
                return a2m_error(A2M_ERR_RANGE, "%s: larger than %zu bytes", path, max_bytes);
            }
            size_t ncap = cap * 2 > max_bytes ? max_bytes : cap * 2;
            uint8_t *nb = realloc(b, ncap);
            if (!nb) {
                free(b);
                fclose(fp);
                return a2m_error(A2M_ERR_NOMEM, "%s: out of memory", path);
            }
            b = nb;
            cap = ncap;
        }
        size_t got = fread(b + n, 1, cap - n, fp);
        n += got;
        if (got == 0) break;
    }
    int err = ferror(fp);
    fclose(fp);
    if (err) {
        free(b);
        return a2m_error(A2M_ERR_IO, "%s: read error", path);
    }
    if (n == cap && cap >= max_bytes) { /* exactly at the cap: fine */ }
    *buf = b;
    *len = n;
    return A2M_OK;
}
