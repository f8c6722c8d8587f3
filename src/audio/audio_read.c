/* Audio input and WAV output: libsndfile decodes (16-bit PCM WAV files: audio/wav.c), the channels are averaged
 * to mono (as librosa.to_mono does), libsoxr HQ resamples (as librosa.load's
 * default res_type "soxr_hq" does, including its output length). */
#include "a2m/audio.h"
#include "a2m/error.h"
#include "a2m/io.h"
#include "audio/pcm.h"
#include "audio/wav.h"
#include "core/finite.h"
#include "core/grow.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sndfile.h>
#include <soxr.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

enum { DECODE_CHUNK_FRAMES = 16384 };
/* Input stream cap (stdin is buffered whole so libsndfile can seek): 4 GiB. */
static const size_t STREAM_MAX_BYTES = (size_t)4 << 30;

/* ---- growable mono sample buffer (amortized doubling: linear memory) ---- */
typedef struct sample_buf {
    float *x; /* [cap] */
    size_t n, cap;
} sample_buf;

static int sample_buf_reserve(sample_buf *b, size_t extra, const char *name) {
    if (extra > SIZE_MAX - b->n || a2m_grow(&b->x, &b->cap, b->n + extra, sizeof *b->x, DECODE_CHUNK_FRAMES))
        return a2m_error(A2M_ERR_NOMEM, "%s: out of memory (audio too long?)", name);
    return A2M_OK;
}

int a2m_audio_is_file_name(const char *name) {
    static const char *ext[] = {".wav", ".flac", ".ogg", ".oga", ".opus", ".aif", ".aiff", ".aifc",
                                ".au",  ".snd",  ".caf", ".w64", ".rf64", ".mp3", ".wv",   ".voc"};
    const char *dot = strrchr(name, '.');
    if (!dot || name[0] == '.') return 0;
    for (size_t i = 0; i < sizeof ext / sizeof *ext; i++)
        if (!strcasecmp(dot, ext[i])) return 1;
    return 0;
}

/* A header's rate, or a raw stream's, within [PCM_MIN_RATE, PCM_MAX_RATE]. */
static int check_rate(double rate, const char *name) {
    if (!(rate >= PCM_MIN_RATE && rate <= PCM_MAX_RATE))
        return a2m_error(A2M_ERR_FORMAT, "%s: sample rate %g Hz is outside %g..%g Hz", name, rate, PCM_MIN_RATE,
                         PCM_MAX_RATE);
    return A2M_OK;
}

/* Decodes every frame of an open file, averaging channels into out (at most PCM_MAX_SECONDS of audio). */
static int decode_mono(SNDFILE *sf, const SF_INFO *info, const char *name, sample_buf *out) {
    int channels = info->channels;
    if (channels <= 0 || channels > 1024) return a2m_error(A2M_ERR_FORMAT, "%s: bad channel count %d", name, channels);
    int rc = check_rate(info->samplerate, name);
    if (rc) return rc;
    size_t max_n = (size_t)(PCM_MAX_SECONDS * info->samplerate);
    if (info->frames > 0 && (double)info->frames > (double)max_n)
        return a2m_error(A2M_ERR_RANGE, "%s: longer than %.0f hours (one-shot read; `transcribe` streams)", name,
                         PCM_MAX_SECONDS / 3600);
    float *frames = malloc((size_t)DECODE_CHUNK_FRAMES * (size_t)channels * sizeof *frames); /* [chunk, channels] */
    if (!frames) return a2m_error(A2M_ERR_NOMEM, "%s: out of memory", name);
    for (;;) {
        sf_count_t got = sf_readf_float(sf, frames, DECODE_CHUNK_FRAMES);
        /* asked after every read, as the stream does: the next read clears it (a FLAC file cut short: 'lost sync'
         * on the read that came short, then 0 frames and no error: 12,288 of 32,000 frames were taken whole) */
        if (sf_error(sf) != SF_ERR_NO_ERROR) {
            rc = a2m_error(A2M_ERR_FORMAT, "%s: decoding failed (%s)", name, sf_strerror(sf));
            break;
        }
        if (got <= 0) break;
        if (out->n + (size_t)got > max_n) {
            rc = a2m_error(A2M_ERR_RANGE, "%s: longer than %.0f hours (one-shot read; `transcribe` streams)", name,
                           PCM_MAX_SECONDS / 3600);
            break;
        }
        rc = sample_buf_reserve(out, (size_t)got, name);
        if (rc) break;
        pcm_mix_mono(out->x + out->n, frames, (size_t)got, channels);
        out->n += (size_t)got;
    }
    free(frames);
    return rc;
}

static int resample_named(const float *x, size_t n, double in_rate, double out_rate, const char *name, float **y,
                          size_t *ny);

/* Empty / non-finite checks, then resampling to target_rate (<= 0: keep). Takes b->x. */
static int finish_audio(sample_buf *b, double rate, double target_rate, const char *name, a2m_audio *out) {
    if (b->n == 0) {
        free(b->x);
        return a2m_error(A2M_ERR_EMPTY, "%s: no audio samples", name);
    }
    size_t bad = a2m_first_absurd(b->x, b->n);
    if (bad < b->n) {
        double v = b->x[bad];
        free(b->x);
        return a2m_error(A2M_ERR_NONFINITE, "%s: sample %zu is %g: not a finite number within +-1e6", name, bad, v);
    }
    if (target_rate <= 0 || target_rate == rate) {
        float *fit = realloc(b->x, b->n * sizeof *fit); /* give back the growth slack */
        out->samples = fit ? fit : b->x;
        out->n = b->n;
        out->rate = rate;
        return A2M_OK;
    }
    float *y = NULL;
    size_t ny = 0;
    int rc = resample_named(b->x, b->n, rate, target_rate, name, &y, &ny);
    free(b->x);
    if (rc) return rc;
    out->samples = y;
    out->n = ny;
    out->rate = target_rate;
    return A2M_OK;
}

static int read_sndfile(SNDFILE *sf, const SF_INFO *info, const char *name, double target_rate, a2m_audio *out) {
    sample_buf b = {0};
    int rc = decode_mono(sf, info, name, &b);
    sf_close(sf);
    if (rc) {
        free(b.x);
        return rc;
    }
    return finish_audio(&b, (double)info->samplerate, target_rate, name, out);
}

int a2m_audio_check_path(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0) return a2m_error(A2M_ERR_IO, "%s: no such file", path);
    if (S_ISDIR(st.st_mode)) return a2m_error(A2M_ERR_IO, "%s: is a folder, not an audio file", path);
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) /* /dev/zero was called an empty file */
        return a2m_error(A2M_ERR_IO, "%s: is a device, not an audio file (standard input: give -)", path);
    if (S_ISFIFO(st.st_mode)) /* its size is 0: it was called an empty file */
        return a2m_error(A2M_ERR_IO, "%s: is a pipe, not an audio file (feed it to standard input: give -)", path);
    if (st.st_size == 0) return a2m_error(A2M_ERR_EMPTY, "%s: empty file", path);
    return A2M_OK;
}

/* count bytes from fd into b; 0 on an error or a short file */
static int read_all(int fd, uint8_t *b, size_t count) {
    while (count) {
        ssize_t got = read(fd, b, count);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return 0;
        b += got, count -= (size_t)got;
    }
    return 1;
}

/* Files up to this size may be read whole by read_wav_fast: 64 MB of 16-bit PCM is at most 33.5 M frames, under
 * the one-shot cap of PCM_MAX_SECONDS at the lowest rate (36 M), so no length check is needed there. */
enum { WAV_FAST_MAX_BYTES = 64 << 20 };

/* A 16-bit PCM WAV file read whole and converted here (audio/wav.h). *done = 0 leaves the file to libsndfile:
 * another format, anything unusual in a WAV file, or a read that failed (libsndfile then says what is wrong). */
static int read_wav_fast(const char *path, double target_rate, a2m_audio *out, int *done) {
    *done = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return A2M_OK;
    struct stat st;
    uint8_t head[12], *bytes = NULL;
    size_t len = 0;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= 44 && st.st_size <= WAV_FAST_MAX_BYTES &&
        read_all(fd, head, sizeof head) && !memcmp(head, "RIFF", 4) && !memcmp(head + 8, "WAVE", 4) &&
        (bytes = malloc((size_t)st.st_size))) {
        memcpy(bytes, head, sizeof head);
        len = read_all(fd, bytes + sizeof head, (size_t)st.st_size - sizeof head) ? (size_t)st.st_size : 0;
    }
    close(fd);
    wav_pcm16 w;
    if (!len || !wav_pcm16_parse(bytes, len, &w)) {
        free(bytes);
        return A2M_OK;
    }
    *done = 1;
    sample_buf b = {malloc(w.frames * sizeof *b.x), w.frames, w.frames};
    if (b.x) wav_pcm16_mono(&w, 0, w.frames, b.x);
    free(bytes);
    if (!b.x) return a2m_error(A2M_ERR_NOMEM, "%s: out of memory", path);
    return finish_audio(&b, w.rate, target_rate, path, out);
}

int a2m_audio_read(const char *path, double target_rate, a2m_audio *out) {
    memset(out, 0, sizeof *out);
    int rc = a2m_audio_check_path(path), done;
    if (rc) return rc;
    rc = read_wav_fast(path, target_rate, out, &done);
    if (done) return rc;
    if ((rc = wav_check_whole(path))) return rc; /* libsndfile would read a cut WAV file as far as it goes */
    SF_INFO info;
    memset(&info, 0, sizeof info);
    SNDFILE *sf = sf_open(path, SFM_READ, &info);
    if (!sf) return a2m_error(A2M_ERR_FORMAT, "%s: not an audio file (%s)", path, sf_strerror(NULL));
    return read_sndfile(sf, &info, path, target_rate, out);
}

/* ---- streams: bytes buffered in memory, decoded through libsndfile's virtual I/O ---- */
typedef struct mem_stream {
    const uint8_t *p;
    sf_count_t len, pos;
} mem_stream;

static sf_count_t mem_len(void *u) { return ((mem_stream *)u)->len; }
static sf_count_t mem_tell(void *u) { return ((mem_stream *)u)->pos; }
static sf_count_t mem_seek(sf_count_t off, int whence, void *u) {
    mem_stream *m = u;
    sf_count_t base = whence == SEEK_CUR ? m->pos : whence == SEEK_END ? m->len : 0;
    if (off < -base || off > m->len - base) return -1;
    m->pos = base + off;
    return m->pos;
}
static sf_count_t mem_read(void *dst, sf_count_t n, void *u) {
    mem_stream *m = u;
    sf_count_t left = m->len - m->pos;
    if (n > left) n = left;
    if (n <= 0) return 0;
    memcpy(dst, m->p + m->pos, (size_t)n);
    m->pos += n;
    return n;
}
static sf_count_t mem_write(const void *src, sf_count_t n, void *u) {
    (void)src;
    (void)n;
    (void)u;
    return 0;
}

static int slurp_stream(FILE *fp, const char *name, uint8_t **buf, size_t *len) {
    size_t cap = 1 << 16, n = 0;
    uint8_t *b = malloc(cap);
    if (!b) return a2m_error(A2M_ERR_NOMEM, "%s: out of memory", name);
    for (;;) {
        if (n == cap) {
            if (cap >= STREAM_MAX_BYTES) {
                free(b);
                return a2m_error(A2M_ERR_RANGE, "%s: stream larger than %zu bytes", name, STREAM_MAX_BYTES);
            }
            if (a2m_grow(&b, &cap, cap + 1, 1, 0)) {
                free(b);
                return a2m_error(A2M_ERR_NOMEM, "%s: out of memory", name);
            }
        }
        size_t got = fread(b + n, 1, cap - n, fp);
        n += got;
        if (got == 0) break;
    }
    if (ferror(fp)) {
        free(b);
        return a2m_error(A2M_ERR_IO, "%s: read error", name);
    }
    *buf = b;
    *len = n;
    return A2M_OK;
}

int a2m_audio_read_stream(FILE *fp, const char *name, double raw_rate, double target_rate, a2m_audio *out) {
    memset(out, 0, sizeof *out);
    uint8_t *bytes = NULL;
    size_t len = 0;
    int rc = slurp_stream(fp, name, &bytes, &len);
    if (rc) return rc;
    if (len == 0) {
        free(bytes);
        return a2m_error(A2M_ERR_EMPTY, "%s: empty stream", name);
    }
    if (raw_rate > 0) {
        if ((rc = check_rate(raw_rate, name)) == A2M_OK && (double)len / 4 > PCM_MAX_SECONDS * raw_rate)
            rc = a2m_error(A2M_ERR_RANGE, "%s: longer than %.0f hours", name, PCM_MAX_SECONDS / 3600);
        if (rc) {
            free(bytes);
            return rc;
        }
        if (len % 4 != 0) {
            free(bytes);
            return a2m_error(A2M_ERR_FORMAT, "%s: raw float32 stream length %zu is not a multiple of 4", name, len);
        }
        sample_buf b = {malloc(len), len / 4, len / 4};
        if (!b.x) {
            free(bytes);
            return a2m_error(A2M_ERR_NOMEM, "%s: out of memory", name);
        }
        pcm_f32le_decode(b.x, bytes, b.n);
        free(bytes);
        return finish_audio(&b, raw_rate, target_rate, name, out);
    }
    mem_stream m = {bytes, (sf_count_t)len, 0};
    SF_VIRTUAL_IO vio = {mem_len, mem_seek, mem_read, mem_write, mem_tell};
    SF_INFO info;
    memset(&info, 0, sizeof info);
    SNDFILE *sf = sf_open_virtual(&vio, SFM_READ, &info, &m);
    if (!sf) {
        free(bytes);
        return a2m_error(A2M_ERR_FORMAT, "%s: not an audio stream (%s)", name, sf_strerror(NULL));
    }
    rc = read_sndfile(sf, &info, name, target_rate, out);
    free(bytes);
    return rc;
}

/* ---- resampling ---- */
int a2m_resample(const float *x, size_t n, double in_rate, double out_rate, float **y, size_t *ny) {
    return resample_named(x, n, in_rate, out_rate, "resample", y, ny);
}

/* a2m_resample with name (the file) in error messages. */
static int resample_named(const float *x, size_t n, double in_rate, double out_rate, const char *name, float **y,
                          size_t *ny) {
    *y = NULL;
    *ny = 0;
    if (!(in_rate > 0) || !(out_rate > 0) || !isfinite(in_rate) || !isfinite(out_rate))
        return a2m_error(A2M_ERR_ARG, "%s: bad sample rates %g -> %g", name, in_rate, out_rate);
    /* python-soxr sizes its buffer as ceil(n * out / in); librosa then fixes the
     * length to ceil(n * (out / in)), zero-padding or cutting. Both kept exactly. */
    double soxr_len = ceil((double)n * out_rate / in_rate);
    double librosa_len = ceil((double)n * (out_rate / in_rate));
    double cap = fmax(soxr_len, librosa_len);
    if (cap > (double)(SIZE_MAX / sizeof(float) / 2))
        return a2m_error(A2M_ERR_RANGE, "%s: resampled audio too long", name);
    size_t olen = (size_t)soxr_len, final_len = (size_t)librosa_len;
    float *out = calloc(cap > 0 ? (size_t)cap : 1, sizeof *out);
    if (!out) return a2m_error(A2M_ERR_NOMEM, "%s: out of memory", name);
    if (n == 0 || olen == 0) {
        *y = out;
        *ny = final_len;
        return A2M_OK;
    }
    soxr_error_t err = NULL;
    soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
    soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
    soxr_t s = soxr_create(in_rate, out_rate, 1, &err, &io, &q, NULL);
    if (err || !s) {
        free(out);
        return a2m_error(A2M_ERR_INTERNAL, "%s: soxr_create failed (%s)", name, err ? err : "?");
    }
    /* Fed in chunks (as python-soxr does) so long inputs stay fast. */
    size_t chunk = (size_t)(48000.0 * in_rate / out_rate);
    if (chunk < 1) chunk = 1;
    size_t pos = 0, done_total = 0, odone = 0;
    while (!err && pos < n) {
        size_t len = n - pos < chunk ? n - pos : chunk;
        err = soxr_process(s, x + pos, len, NULL, out + done_total, olen - done_total, &odone);
        done_total += odone;
        pos += len;
    }
    /* One flush of the filter tail, as python-soxr does; any shortfall stays zero. */
    if (!err && done_total < olen) {
        err = soxr_process(s, NULL, 0, NULL, out + done_total, olen - done_total, &odone);
        done_total += odone;
    }
    soxr_delete(s);
    if (err) {
        free(out);
        return a2m_error(A2M_ERR_INTERNAL, "%s: soxr failed (%s)", name, err);
    }
    *y = out;
    *ny = final_len;
    return A2M_OK;
}

int a2m_audio_is_silent(const a2m_audio *a) {
    for (size_t i = 0; i < a->n; i++)
        if (fabsf(a->samples[i]) >= 1e-6f) return 0;
    return 1;
}

void a2m_audio_free(a2m_audio *a) {
    if (!a) return;
    free(a->samples);
    a->samples = NULL;
    a->n = 0;
}

int a2m_audio_write_wav(const char *path, const float *x, size_t n, int rate) {
    if (rate <= 0) return a2m_error(A2M_ERR_ARG, "%s: bad sample rate %d", path, rate);
    if (a2m_is_dir(path)) return a2m_error(A2M_ERR_IO, "%s: is a folder", path);
    char *tmp = a2m_temp_path_for(path);
    if (!tmp) return a2m_error(A2M_ERR_NOMEM, "%s: out of memory", path);
    SF_INFO info;
    memset(&info, 0, sizeof info);
    info.samplerate = rate;
    info.channels = 1;
    info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
    SNDFILE *sf = sf_open(tmp, SFM_WRITE, &info);
    if (!sf) {
        int rc = a2m_error(A2M_ERR_IO, "%s: cannot write (%s)", path, sf_strerror(NULL));
        free(tmp);
        return rc;
    }
    sf_command(sf, SFC_SET_CLIPPING, NULL, SF_TRUE);
    sf_count_t wrote = n ? sf_writef_float(sf, x, (sf_count_t)n) : 0;
    int bad = wrote != (sf_count_t)n;
    bad |= sf_close(sf) != 0;
    int rc;
    if (bad) {
        remove(tmp);
        rc = a2m_error(A2M_ERR_IO, "%s: write failed (disk full?)", path);
    } else {
        rc = a2m_rename_into(tmp, path);
    }
    free(tmp);
    return rc;
}
