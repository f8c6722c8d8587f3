#include "a2m/error.h"
#include "a2m/io.h"
#include "core/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static atomic_uint temp_counter;

/* ---- temporaries to remove on an interrupt ------------------------------
 * A fixed table, so the signal handler touches no allocator or lock: a slot is
 * 0 free, 1 being filled, 2 live. Registration and removal take a mutex (job
 * threads write outputs at once); the handler only reads live slots. */
#define TEMP_SLOTS 64
static char temp_names[TEMP_SLOTS][1024];
static atomic_int temp_state[TEMP_SLOTS];
static pthread_mutex_t temp_lock = PTHREAD_MUTEX_INITIALIZER;

void a2m_temp_register(const char *path) {
    if (!path || strlen(path) >= sizeof temp_names[0]) return; /* best effort: not removed on an interrupt */
    pthread_mutex_lock(&temp_lock);
    for (int i = 0; i < TEMP_SLOTS; i++)
        if (atomic_load(&temp_state[i]) == 0) {
            atomic_store(&temp_state[i], 1);
            strcpy(temp_names[i], path);
            atomic_store(&temp_state[i], 2);
            break;
        }
    pthread_mutex_unlock(&temp_lock);
}

void a2m_temp_forget(const char *path) {
    if (!path) return;
    pthread_mutex_lock(&temp_lock);
    for (int i = 0; i < TEMP_SLOTS; i++)
        if (atomic_load(&temp_state[i]) == 2 && !strcmp(temp_names[i], path)) {
            atomic_store(&temp_state[i], 0);
            break;
        }
    pthread_mutex_unlock(&temp_lock);
}

struct dirent64_raw { /* the kernel's linux_dirent64 (getdents64), as no libc header declares it */
    uint64_t ino;
    int64_t off;
    unsigned short reclen;
    unsigned char type;
    char name[];
};

/* Removes a temporary file, or a temporary folder and the files in it (a dataset being written), with
 * async-signal-safe calls only (open, getdents64, unlinkat, rmdir). */
static void remove_temp(const char *path) {
    if (unlink(path) == 0 || (errno != EISDIR && errno != EPERM)) return;
    static uint64_t buf[1024]; /* records are 8-byte aligned; only the signal handler or a2m_temp_cleanup use it */
    for (int pass = 0; pass < 4 && rmdir(path) != 0 && errno == ENOTEMPTY; pass++) {
        int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) return;
        long n;
        while ((n = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0)
            for (long off = 0; off < n;) {
                struct dirent64_raw *d = (struct dirent64_raw *)(void *)((char *)buf + off);
                if (strcmp(d->name, ".") && strcmp(d->name, "..")) unlinkat(fd, d->name, 0);
                off += d->reclen;
            }
        close(fd);
    }
}

void a2m_temp_cleanup(void) {
    int e = errno;
    for (int i = 0; i < TEMP_SLOTS; i++) /* a temporary folder goes with the files in it */
        if (atomic_load(&temp_state[i]) == 2) {
            remove_temp(temp_names[i]);
            atomic_store(&temp_state[i], 0);
        }
    errno = e;
}

/* ---- what an output path is ---------------------------------------------- */
static int is_stdout_path(const char *path) { return !strcmp(path, "/dev/stdout"); }

/* Classifies path (following a symbolic link) and, for a regular file, stores in `real` (PATH_MAX) the name
 * to rename onto: the link's target, so a link stays a link. Refuses folders, block devices, sockets and
 * links to nothing. */
static int classify(const char *path, a2m_output_kind *kind, char *real) {
    struct stat ls, st;
    *kind = A2M_OUTPUT_NEW;
    if (real) snprintf(real, PATH_MAX, "%s", path);
    if (is_stdout_path(path)) return *kind = A2M_OUTPUT_STREAM, A2M_OK;
    if (lstat(path, &ls) != 0) return A2M_OK; /* missing (or unreachable: opening it will say why) */
    if (S_ISLNK(ls.st_mode) && stat(path, &st) != 0)
        return a2m_error(A2M_ERR_IO, "%s: is a symbolic link to nothing (refused: give the file itself)", path);
    if (!S_ISLNK(ls.st_mode)) st = ls;
    if (S_ISDIR(st.st_mode)) return a2m_error(A2M_ERR_IO, "%s: is a folder", path);
    if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)) return *kind = A2M_OUTPUT_STREAM, A2M_OK;
    if (!S_ISREG(st.st_mode))
        return a2m_error(A2M_ERR_IO, "%s: is a %s (refused)", path, S_ISBLK(st.st_mode) ? "block device" : "socket");
    *kind = A2M_OUTPUT_FILE;
    if (real && S_ISLNK(ls.st_mode) && !realpath(path, real))
        return a2m_error(A2M_ERR_IO, "%s: cannot resolve the symbolic link (%s)", path, strerror(errno));
    return A2M_OK;
}

int a2m_output_kind_of(const char *path, a2m_output_kind *kind) { return classify(path, kind, NULL); }

/* Opens a device, FIFO or standard output to write into it (no O_CREAT: it exists, and nothing is created). */
static int open_stream(const char *path) {
    if (is_stdout_path(path)) return fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 0);
    return open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
}

char *a2m_temp_path_for(const char *path) {
    char real[PATH_MAX];
    a2m_output_kind kind;
    const char *base = path;
    if (classify(path, &kind, real) == A2M_OK && kind == A2M_OUTPUT_FILE) base = real; /* refusals: at the rename */
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir) dir = "/tmp";
    size_t n = strlen(base) + strlen(dir) + 64;
    char *tmp = malloc(n);
    if (!tmp) return NULL;
    unsigned k = atomic_fetch_add(&temp_counter, 1);
    if (kind == A2M_OUTPUT_STREAM) /* a device's folder (/dev) is no place for files: copied in at the end */
        snprintf(tmp, n, "%s/a2m.tmp.%ld.%u", dir, (long)getpid(), k);
    else snprintf(tmp, n, "%s.tmp.%ld.%u", base, (long)getpid(), k);
    a2m_temp_register(tmp);
    return tmp;
}

/* Copies the finished temporary into a device, FIFO or standard output. */
static int copy_into(const char *tmp_path, const char *path) {
    int in = open(tmp_path, O_RDONLY | O_CLOEXEC), out = in < 0 ? -1 : open_stream(path), e = 0;
    if (in < 0 || out < 0) e = errno;
    static const size_t cap = 1 << 16;
    char *buf = e ? NULL : malloc(cap);
    if (!e && !buf) e = ENOMEM;
    for (ssize_t got; !e && (got = read(in, buf, cap)) != 0;) {
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) e = errno;
        for (ssize_t put = 0, w; !e && put < got; put += w)
            if ((w = write(out, buf + put, (size_t)(got - put))) < 0) e = errno == EINTR ? 0 : errno, w = 0;
    }
    free(buf);
    if (in >= 0) close(in);
    if (out >= 0 && close(out) != 0 && !e && errno != EINTR) e = errno;
    return e ? a2m_error(A2M_ERR_IO, "%s: cannot write (%s)", path, strerror(e)) : A2M_OK;
}

/* Puts the finished regular file tmp_path in place of the existing regular file real. rename() over an existing
 * file makes ext4 (auto_da_alloc, the default) allocate and start writing the new file's blocks inside the rename:
 * `a2m features DIR -o OUT --force` over last run's 45 .npy waited 0.39 s in rename (strace -T: 8.6 ms a file, up
 * to 28 ms) and spent ~1.4 ms CPU a file more than into a new folder. Swapping the two names (renameat2
 * RENAME_EXCHANGE, Linux 3.15+, one atomic step: real is the old file or the new one, never neither) and then
 * unlinking the temporary, which now names the old file, is a rename onto a free name for ext4: the new file is
 * written back later, as a file written into a new folder is. The temporary stays registered until then, so an
 * interrupt in between removes it. What it gives up is ext4's guess for programs that do not fsync: a power cut
 * before the write-back may leave the replaced file empty, as it may any new file a2m writes (a2m never fsyncs).
 * Elsewhere (another kernel, a file system refusing the flag): rename(). */
static int replace_file(const char *tmp_path, const char *real) {
#if defined(__linux__) && defined(SYS_renameat2)
    const unsigned exchange = 1u << 1; /* RENAME_EXCHANGE (<linux/fs.h>) */
    struct stat ts;                    /* a temporary folder (a dataset) onto a file fails, as with rename() */
    if (lstat(tmp_path, &ts) == 0 && S_ISREG(ts.st_mode) &&
        syscall(SYS_renameat2, AT_FDCWD, tmp_path, AT_FDCWD, real, exchange) == 0) {
        if (unlink(tmp_path) == 0 || errno == ENOENT) return 0;
        int e = errno; /* a folder put at real since classify(): back where it was, refused as rename() would */
        syscall(SYS_renameat2, AT_FDCWD, tmp_path, AT_FDCWD, real, exchange);
        errno = e;
        return -1;
    }
#endif
    return rename(tmp_path, real);
}

int a2m_rename_into(const char *tmp_path, const char *path) {
    char real[PATH_MAX];
    a2m_output_kind kind;
    int rc = classify(path, &kind, real);
    if (!rc && kind == A2M_OUTPUT_STREAM) rc = copy_into(tmp_path, path);
    else if (!rc && (kind == A2M_OUTPUT_FILE ? replace_file(tmp_path, real) : rename(tmp_path, real)) != 0)
        rc = a2m_error(A2M_ERR_IO, "%s: cannot write (%s)", path, strerror(errno));
    unlink(tmp_path);
    a2m_temp_forget(tmp_path);
    return rc;
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
    for (char *s = p + 1;; s++) {
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
    a2m_output_kind kind;
    int rc = classify(path, &kind, NULL);
    if (rc) return rc;
    if (!overwrite && kind == A2M_OUTPUT_FILE)
        return a2m_error(A2M_ERR_EXISTS, "%s: exists (use --force to replace it)", path);
    f->path = strdup(path);
    f->tmp_path = kind == A2M_OUTPUT_STREAM ? NULL : a2m_temp_path_for(path);
    if (!f->path || (kind != A2M_OUTPUT_STREAM && !f->tmp_path)) {
        a2m_atomic_abort(f);
        return a2m_error(A2M_ERR_NOMEM, "%s: out of memory", path);
    }
    /* a device, FIFO or standard output is written into directly: there is no file to replace */
    int fd = kind == A2M_OUTPUT_STREAM ? open_stream(path) : -1;
    f->fp = kind == A2M_OUTPUT_STREAM ? (fd < 0 ? NULL : fdopen(fd, "wb")) : fopen(f->tmp_path, "wb");
    if (!f->fp) {
        int e = errno;
        if (fd >= 0) close(fd);
        a2m_atomic_abort(f);
        return a2m_error(A2M_ERR_IO, "%s: cannot write (%s)", path, strerror(e));
    }
    return A2M_OK;
}

int a2m_atomic_commit(a2m_atomic_file *f) {
    if (!f->fp) return a2m_error(A2M_ERR_INTERNAL, "atomic file committed twice");
    errno = 0;
    int e = fflush(f->fp) != 0 ? (errno ? errno : EIO) : 0;
    if (!e && ferror(f->fp)) e = -1; /* an earlier write failed; stdio kept no reason */
    if (fclose(f->fp) != 0 && !e) e = errno ? errno : EIO;
    f->fp = NULL;
    int rc = A2M_OK;
    if (e) {
        rc = a2m_error(A2M_ERR_IO, "%s: write failed%s%s%s", f->path, e > 0 ? " (" : "", e > 0 ? strerror(e) : "",
                       e > 0 ? ")" : " (disk or device full?)");
        if (f->tmp_path) unlink(f->tmp_path), a2m_temp_forget(f->tmp_path);
    } else if (f->tmp_path) {
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
    if (f->tmp_path) unlink(f->tmp_path), a2m_temp_forget(f->tmp_path);
    free(f->path);
    free(f->tmp_path);
    f->path = f->tmp_path = NULL;
}

int a2m_parse_file(const char *path, size_t max_bytes, a2m_parse_fn parse, void *out) {
    uint8_t *buf;
    size_t len;
    int rc = a2m_read_file(path, &buf, &len, max_bytes);
    if (rc) return rc;
    rc = parse(buf, len, path, out);
    free(buf);
    return rc;
}

int a2m_read_file(const char *path, uint8_t **buf, size_t *len, size_t max_bytes) {
    *buf = NULL;
    *len = 0;
    struct stat st;
    if (stat(path, &st) != 0) return a2m_error(A2M_ERR_IO, "%s: no such file", path);
    if (S_ISDIR(st.st_mode)) return a2m_error(A2M_ERR_IO, "%s: is a folder, not a file", path);
    /* a device holds no file: /dev/zero as a .npy was read into 8 GB before its cap refused it (a pipe, whose
     * writer ends it, is still read) */
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) return a2m_error(A2M_ERR_IO, "%s: is a device, not a file", path);
    FILE *fp = fopen(path, "rb");
    if (!fp) return a2m_error(A2M_ERR_IO, "%s: cannot open (%s)", path, strerror(errno));
    /* a regular file's size (+1 to see its end) at once: a 1 MB model was read through 64 KB doubling (1 MB of
     * copies); anything else, or a file that changes, still grows by doubling */
    size_t cap = 1 << 16, n = 0;
    if (S_ISREG(st.st_mode) && (uint64_t)st.st_size < max_bytes && (size_t)st.st_size + 1 > cap)
        cap = (size_t)st.st_size + 1;
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
            size_t ncap = cap * 2 > max_bytes ? max_bytes : cap * 2; /* doubling capped at max_bytes: not a2m_grow */
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
    if (n == cap && cap >= max_bytes) { /* exactly at the cap: fine */
    }
    *buf = b;
    *len = n;
    return A2M_OK;
}
