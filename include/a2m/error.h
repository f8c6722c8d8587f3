/* a2m error codes. Every library function that can fail returns an int:
 * A2M_OK (0) or one of these codes, and records a one-line detail naming the
 * file and the problem ("take.wav: not an audio file") for a2m_errmsg().
 * The library never prints and never exits. Codes are stable: never renumber. */
#ifndef A2M_ERROR_H
#define A2M_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum a2m_err {
    A2M_OK = 0,
    A2M_ERR_NOMEM = 1,        /* allocation failed */
    A2M_ERR_IO = 2,           /* cannot open, read, write or rename a file */
    A2M_ERR_FORMAT = 3,       /* bytes are not the expected format (truncated, hostile, wrong magic) */
    A2M_ERR_ARG = 4,          /* invalid argument or parameter */
    A2M_ERR_EMPTY = 5,        /* nothing to work on: zero-length or silent audio, MIDI without notes */
    A2M_ERR_NONFINITE = 6,    /* NaN or infinity in input */
    A2M_ERR_SHAPE = 7,        /* array or tensor shape mismatch */
    A2M_ERR_ARCH = 8,         /* unknown or incompatible model architecture */
    A2M_ERR_EXISTS = 9,       /* output exists and overwriting was not asked for */
    A2M_ERR_UNSUPPORTED = 10, /* valid but not supported (e.g. SMPTE time division) */
    A2M_ERR_RANGE = 11,       /* value out of the allowed range (too long, too short) */
    A2M_ERR_INTERNAL = 12,    /* a bug: please report */
    A2M_ERR_CANCELLED = 13,   /* stopped by the caller (a progress callback asked to stop) */
    A2M_ERR_COUNT_
} a2m_err;

/* Short fixed text for a code ("out of memory"). Never NULL. */
const char *a2m_strerror(int err);

/* Detail of the last error raised on this thread ("" if none). */
const char *a2m_errmsg(void);

/* Records a detail (printf format) for this thread and returns err, so a
 * failure site reads: return a2m_error(A2M_ERR_IO, "%s: cannot open", path); */
int a2m_error(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prefixes this thread's detail with "prefix: " (unless it already starts
 * with it) and returns err: adds the file name to a lower layer's message. */
int a2m_error_prefix(int err, const char *prefix);

/* Clears this thread's detail. */
void a2m_error_clear(void);

#ifdef __cplusplus
}
#endif
#endif
