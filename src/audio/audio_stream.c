/* Streaming audio input: a pipe (stdin) decoded chunk by chunk, mixed to
 * mono and resampled with a streaming libsoxr HQ resampler, so samples reach
 * the caller while the producer is still writing. The samples equal what
 * a2m_audio_read gives for the same bytes: soxr's output does not depend on
 * how its input is chunked, and the stream's length is fixed at its end to
 * librosa's ceil(n * out / in) exactly as the whole-file path does. */
#include <math.h>
#include <sndfile.h>
#include <soxr.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "a2m/audio.h"
#include "a2m/error.h"
#include "audio/pcm.h"
#include "audio/wav.h"
#include "core/finite.h"

enum { STREAM_CHUNK = 4096 }; /* input frames decoded per read */

struct a2m_audio_stream {
    const char *name;
    FILE *fp;
    SNDFILE *sf; /* NULL for raw float32 */
    int channels;
    double in_rate, out_rate;
    soxr_t soxr;   /* NULL when the rates are equal */
    float *frames; /* [STREAM_CHUNK x channels] decoded input */
    float *mono;   /* [STREAM_CHUNK] */
    float *held;   /* [held_cap] resampled samples not yet handed out */
    size_t held_n, held_pos, held_cap;
    uint64_t n_in, n_prod, n_out; /* input frames read, resampled samples made, samples handed out */
    int eof, flushed;
};

void a2m_audio_stream_del(a2m_audio_stream *s) {
    if (!s) return;
    if (s->sf) sf_close(s->sf);
    if (s->soxr) soxr_delete(s->soxr);
    free(s->frames), free(s->mono), free(s->held);
    free(s);
}

/* Buffers and the resampler of a stream whose input (channels, in_rate) is known. */
static int stream_setup(a2m_audio_stream *s, double target_rate, a2m_audio_stream **out) {
    s->out_rate = target_rate > 0 ? target_rate : s->in_rate;
    s->frames = malloc((size_t)STREAM_CHUNK * (size_t)s->channels * sizeof *s->frames);
    s->mono = malloc(STREAM_CHUNK * sizeof *s->mono);
    double ratio = s->out_rate / s->in_rate;
    s->held_cap = (size_t)(STREAM_CHUNK * ratio) + 4096;
    s->held = malloc(s->held_cap * sizeof *s->held);
    if (!s->frames || !s->mono || !s->held) { /* the error names the stream before it is freed */
        int rc = a2m_error(A2M_ERR_NOMEM, "%s: out of memory", s->name);
        a2m_audio_stream_del(s);
        return rc;
    }
    if (s->out_rate != s->in_rate) {
        soxr_error_t err = NULL;
        soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
        soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
        s->soxr = soxr_create(s->in_rate, s->out_rate, 1, &err, &io, &q, NULL);
        if (err || !s->soxr) {
            int rc = a2m_error(A2M_ERR_INTERNAL, "%s: soxr_create failed (%s)", s->name, err ? err : "?");
            a2m_audio_stream_del(s);
            return rc;
        }
    }
    *out = s;
    return A2M_OK;
}

/* The stream's format from libsndfile's header. */
static int stream_from_sndfile(a2m_audio_stream *s, const SF_INFO *info) {
    if (info->channels <= 0 || info->channels > 1024 || info->samplerate < PCM_MIN_RATE ||
        info->samplerate > PCM_MAX_RATE) {
        int rc = a2m_error(A2M_ERR_FORMAT, "%s: bad header (%d channels, %d Hz; rates %g..%g Hz are read)", s->name,
                           info->channels, info->samplerate, PCM_MIN_RATE, PCM_MAX_RATE);
        a2m_audio_stream_del(s);
        return rc;
    }
    s->channels = info->channels;
    s->in_rate = info->samplerate;
    return A2M_OK;
}

int a2m_audio_stream_new(FILE *fp, const char *name, double raw_rate, double target_rate, a2m_audio_stream **out) {
    *out = NULL;
    a2m_audio_stream *s = calloc(1, sizeof *s);
    if (!s) return a2m_error(A2M_ERR_NOMEM, "%s: out of memory", name);
    s->name = name;
    s->fp = fp;
    if (raw_rate > 0) {
        if (!(raw_rate >= PCM_MIN_RATE && raw_rate <= PCM_MAX_RATE)) {
            a2m_audio_stream_del(s);
            return a2m_error(A2M_ERR_ARG, "%s: raw sample rate %g Hz is outside %g..%g Hz", name, raw_rate,
                             PCM_MIN_RATE, PCM_MAX_RATE);
        }
        s->channels = 1;
        s->in_rate = raw_rate;
    } else {
        SF_INFO info;
        memset(&info, 0, sizeof info);
        /* libsndfile reads WAV, AU, raw-headed formats from a pipe without seeking */
        s->sf = sf_open_fd(fileno(fp), SFM_READ, &info, SF_FALSE);
        if (!s->sf) {
            a2m_audio_stream_del(s);
            return a2m_error(A2M_ERR_FORMAT, "%s: not an audio stream (%s)", name, sf_strerror(NULL));
        }
        int rc = stream_from_sndfile(s, &info);
        if (rc) return rc;
    }
    return stream_setup(s, target_rate, out);
}

int a2m_audio_stream_new_file(const char *path, double target_rate, a2m_audio_stream **out) {
    *out = NULL;
    int rc = a2m_audio_check_path(path);
    if (!rc) rc = wav_check_whole(path); /* libsndfile would read a cut WAV file as far as it goes */
    if (rc) return rc;
    a2m_audio_stream *s = calloc(1, sizeof *s);
    if (!s) return a2m_error(A2M_ERR_NOMEM, "%s: out of memory", path);
    s->name = path;
    SF_INFO info;
    memset(&info, 0, sizeof info);
    s->sf = sf_open(path, SFM_READ, &info);
    if (!s->sf) {
        a2m_audio_stream_del(s);
        return a2m_error(A2M_ERR_FORMAT, "%s: not an audio file (%s)", path, sf_strerror(NULL));
    }
    rc = stream_from_sndfile(s, &info);
    return rc ? rc : stream_setup(s, target_rate, out);
}

double a2m_audio_stream_rate(const a2m_audio_stream *s) { return s->out_rate; }

/* Decodes up to STREAM_CHUNK input frames into s->mono; returns the count (0 at end). */
static int decode_chunk(a2m_audio_stream *s, size_t *got) {
    *got = 0;
    if (s->sf) {
        sf_count_t n = sf_readf_float(s->sf, s->frames, STREAM_CHUNK);
        if (n < 0 || sf_error(s->sf) != SF_ERR_NO_ERROR)
            return a2m_error(A2M_ERR_FORMAT, "%s: decoding failed (%s)", s->name, sf_strerror(s->sf));
        pcm_mix_mono(s->mono, s->frames, (size_t)n, s->channels);
        *got = (size_t)n;
    } else {
        /* raw float32 little-endian: whole samples only */
        uint8_t *bytes = (uint8_t *)s->frames;
        size_t n = fread(bytes, 1, STREAM_CHUNK * 4, s->fp);
        while (n % 4 && !feof(s->fp) && !ferror(s->fp)) n += fread(bytes + n, 1, 4 - n % 4, s->fp);
        if (ferror(s->fp)) return a2m_error(A2M_ERR_IO, "%s: read error", s->name);
        if (n % 4) return a2m_error(A2M_ERR_FORMAT, "%s: raw float32 stream ends inside a sample", s->name);
        pcm_f32le_decode(s->mono, bytes, n / 4);
        *got = n / 4;
    }
    size_t bad = a2m_first_absurd(s->mono, *got);
    if (bad < *got)
        return a2m_error(A2M_ERR_NONFINITE, "%s: sample %llu is %g: not a finite number within +-1e6", s->name,
                         (unsigned long long)(s->n_in + bad), (double)s->mono[bad]);
    return A2M_OK;
}

/* Refills s->held with the next resampled samples (none once the stream is done). */
static int refill(a2m_audio_stream *s) {
    s->held_n = s->held_pos = 0;
    while (s->held_n == 0 && !s->flushed) {
        size_t got = 0;
        if (!s->eof) {
            int rc = decode_chunk(s, &got);
            if (rc) return rc;
            if (got == 0) s->eof = 1;
            s->n_in += got;
        }
        if (!s->soxr) {
            memcpy(s->held, s->mono, got * sizeof *s->held);
            s->held_n = got;
            if (s->eof) s->flushed = 1;
            continue;
        }
        size_t odone = 0;
        soxr_error_t err = NULL;
        if (!s->eof) {
            err = soxr_process(s->soxr, s->mono, got, NULL, s->held, s->held_cap, &odone);
        } else {
            /* one flush of the filter tail into what is left of ceil(n * out / in), as the whole-file path does */
            uint64_t olen = (uint64_t)ceil((double)s->n_in * s->out_rate / s->in_rate);
            size_t room =
                olen > s->n_prod ? (olen - s->n_prod < s->held_cap ? (size_t)(olen - s->n_prod) : s->held_cap) : 0;
            if (room) err = soxr_process(s->soxr, NULL, 0, NULL, s->held, room, &odone);
            s->flushed = 1;
        }
        if (err) return a2m_error(A2M_ERR_INTERNAL, "%s: soxr failed (%s)", s->name, err);
        s->held_n = odone;
        s->n_prod += odone;
    }
    return A2M_OK;
}

int a2m_audio_stream_read(a2m_audio_stream *s, float *buf, size_t cap, size_t *n) {
    *n = 0;
    while (*n < cap) {
        if (s->held_pos == s->held_n) {
            if (s->flushed) break;
            int rc = refill(s);
            if (rc) return rc;
            if (s->held_n == 0) break;
        }
        size_t take = s->held_n - s->held_pos < cap - *n ? s->held_n - s->held_pos : cap - *n;
        if (s->soxr && s->eof) {
            /* the whole-file path keeps at most min(ceil(n * out / in), ceil(n * (out / in))) resampled samples;
             * before the end soxr's output lags its input by the filter delay, so no limit is needed there */
            uint64_t a = (uint64_t)ceil((double)s->n_in * s->out_rate / s->in_rate);
            uint64_t b = (uint64_t)ceil((double)s->n_in * (s->out_rate / s->in_rate));
            uint64_t limit = a < b ? a : b;
            if (s->n_out + take > limit) take = limit > s->n_out ? (size_t)(limit - s->n_out) : 0;
            if (take == 0) {
                s->held_pos = s->held_n;
                continue;
            }
        }
        memcpy(buf + *n, s->held + s->held_pos, take * sizeof *buf);
        s->held_pos += take;
        s->n_out += take;
        *n += take;
    }
    if (*n == 0 && s->flushed && s->soxr) {
        /* librosa's fix_length: zero-pad up to ceil(n_in * (out / in)) */
        uint64_t final_len = (uint64_t)ceil((double)s->n_in * (s->out_rate / s->in_rate));
        while (s->n_out < final_len && *n < cap) buf[(*n)++] = 0.0f, s->n_out++;
    }
    if (*n == 0 && s->n_out == 0 && s->flushed) return a2m_error(A2M_ERR_EMPTY, "%s: no audio samples", s->name);
    return A2M_OK;
}
