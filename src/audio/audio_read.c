/* Audio in through libsndfile, to mono by channel mean, resampled by libsoxr (HQ). */
#include <math.h>
#include <sndfile.h>
#include <soxr.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "a2m/audio.h"
#include "a2m/error.h"
#include "a2m/io.h"

void a2m_audio_free(a2m_audio *a) {
    if (!a) return;
    free(a->samples);
    a->samples = NULL;
    a->n = 0;
}

int a2m_audio_is_silent(const a2m_audio *a) {
    for (size_t i = 0; i < a->n; i++)
        if (fabsf(a->samples[i]) >= 1e-6f) return 0;
    return 1;
}

int a2m_resample(const float *x, size_t n, double in_rate, double out_rate, float **y, size_t *ny) {
    *y = NULL;
    *ny = 0;
    if (!(in_rate > 0) || !(out_rate > 0)) return a2m_error(A2M_ERR_ARG, "resample: bad rates %g -> %g", in_rate, out_rate);
    size_t olen = (size_t)((double)n * out_rate / in_rate + 0.5);
    float *out = malloc((olen ? olen : 1) * sizeof *out);
    if (!out) return a2m_error(A2M_ERR_NOMEM, "resample: out of memory");
    if (in_rate == out_rate) {
        memcpy(out, x, n * sizeof *x);
        *y = out;
        *ny = n;
        return A2M_OK;
    }
    soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
    soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
    size_t odone = 0;
    soxr_error_t err = soxr_oneshot(in_rate, out_rate, 1, x, n, NULL, out, olen, &odone, &io, &q, NULL);
    if (err) {
        free(out);
        return a2m_error(A2M_ERR_INTERNAL, "resample: soxr: %s", err);
    }
    *y = out;
    *ny = odone;
    return A2M_OK;
}

/* Reads every frame of an open SNDFILE, mixes to mono and resamples. */
static int read_sndfile(SNDFILE *sf, const SF_INFO *info, const char *name, double target_rate, a2m_audio *out) {
    int ch = info->channels;
    if (ch <= 0 || info->samplerate <= 0) return a2m_error(A2M_ERR_FORMAT, "%s: bad channel count or rate", name);
    size_t cap = 1 << 16, n = 0;
    float *mono = malloc(cap * sizeof *mono);
    float *block = malloc((size_t)4096 * ch * sizeof *block);
    if (!mono || !block) {
        free(mono), free(block);
        return a2m_error(A2M_ERR_NOMEM, "%s: out of memory", name);
    }
    for (;;) {
        sf_count_t got = sf_readf_float(sf, block, 4096);
        if (got <= 0) break;
        if (n + (size_t)got > cap) {
            while (n + (size_t)got > cap) cap *= 2;
            float *nm = realloc(mono, cap * sizeof *mono);
            if (!nm) {
                free(mono), free(block);
                return a2m_error(A2M_ERR_NOMEM, "%s: out of memory", name);
            }
            mono = nm;
        }
        for (sf_count_t i = 0; i < got; i++) {
            double s = 0;
            for (int c = 0; c < ch; c++) s += block[i * ch + c];
            float v = (float)(s / ch);
            if (!isfinite(v)) {
                free(mono), free(block);
                return a2m_error(A2M_ERR_NONFINITE, "%s: NaN or infinite sample at %.3f s", name,
                                 (double)(n + (size_t)i) / info->samplerate);
            }
            mono[n + (size_t)i] = v;
        }
        n += (size_t)got;
    }
    free(block);
    if (n == 0) {
        free(mono);
        return a2m_error(A2M_ERR_EMPTY, "%s: no audio samples", name);
    }
    double rate = info->samplerate;
    if (target_rate > 0 && target_rate != rate) {
        float *y;
        size_t ny;
        int rc = a2m_resample(mono, n, rate, target_rate, &y, &ny);
        free(mono);
        if (rc) return rc;
        mono = y, n = ny, rate = target_rate;
    }
    out->samples = mono;
    out->n = n;
    out->rate = rate;
    return A2M_OK;
}

int a2m_audio_read(const char *path, double target_rate, a2m_audio *out) {
    memset(out, 0, sizeof *out);
    if (!a2m_path_exists(path)) return a2m_error(A2M_ERR_IO, "%s: no such file", path);
    if (a2m_is_dir(path)) return a2m_error(A2M_ERR_IO, "%s: is a folder, not an audio file", path);
    SF_INFO info;
    memset(&info, 0, sizeof info);
    SNDFILE *sf = sf_open(path, SFM_READ, &info);
    if (!sf) return a2m_error(A2M_ERR_FORMAT, "%s: not an audio file libsndfile can read (%s)", path, sf_strerror(NULL));
    int rc = read_sndfile(sf, &info, path, target_rate, out);
    sf_close(sf);
    return rc;
}

int a2m_audio_read_stream(FILE *fp, const char *name, double raw_rate, double target_rate, a2m_audio *out) {
    memset(out, 0, sizeof *out);
    if (raw_rate > 0) { /* raw float32 little-endian mono */
        size_t cap = 1 << 16, n = 0;
        float *x = malloc(cap * sizeof *x);
        if (!x) return a2m_error(A2M_ERR_NOMEM, "%s: out of memory", name);
        size_t got;
        while ((got = fread(x + n, sizeof *x, cap - n, fp)) > 0) {
            n += got;
            if (n == cap) {
                float *nx = realloc(x, 2 * cap * sizeof *x);
                if (!nx) {
                    free(x);
                    return a2m_error(A2M_ERR_NOMEM, "%s: out of memory", name);
                }
                x = nx, cap *= 2;
            }
        }
        for (size_t i = 0; i < n; i++)
            if (!isfinite(x[i])) {
                free(x);
                return a2m_error(A2M_ERR_NONFINITE, "%s: NaN or infinite sample", name);
            }
        if (n == 0) {
            free(x);
            return a2m_error(A2M_ERR_EMPTY, "%s: no audio samples", name);
        }
        out->samples = x, out->n = n, out->rate = raw_rate;
        if (target_rate > 0 && target_rate != raw_rate) {
            float *y;
            size_t ny;
            int rc = a2m_resample(x, n, raw_rate, target_rate, &y, &ny);
            free(x);
            memset(out, 0, sizeof *out);
            if (rc) return rc;
            out->samples = y, out->n = ny, out->rate = target_rate;
        }
        return A2M_OK;
    }
    SF_INFO info;
    memset(&info, 0, sizeof info);
    SNDFILE *sf = sf_open_fd(fileno(fp), SFM_READ, &info, 0);
    if (!sf) return a2m_error(A2M_ERR_FORMAT, "%s: not an audio stream libsndfile can read (%s)", name, sf_strerror(NULL));
    int rc = read_sndfile(sf, &info, name, target_rate, out);
    sf_close(sf);
    return rc;
}

int a2m_audio_write_wav(const char *path, const float *x, size_t n, int rate) {
    char *tmp = a2m_temp_path_for(path);
    if (!tmp) return a2m_error(A2M_ERR_NOMEM, "%s: out of memory", path);
    SF_INFO info = {.samplerate = rate, .channels = 1, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
    SNDFILE *sf = sf_open(tmp, SFM_WRITE, &info);
    if (!sf) {
        free(tmp);
        return a2m_error(A2M_ERR_IO, "%s: cannot write (%s)", path, sf_strerror(NULL));
    }
    sf_command(sf, SFC_SET_CLIPPING, NULL, SF_TRUE);
    sf_count_t w = sf_writef_float(sf, x, (sf_count_t)n);
    sf_close(sf);
    if (w != (sf_count_t)n) {
        unlink(tmp);
        free(tmp);
        return a2m_error(A2M_ERR_IO, "%s: write failed", path);
    }
    int rc = a2m_rename_into(tmp, path);
    free(tmp);
    return rc;
}
