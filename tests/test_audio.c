/* Audio input: every libsndfile format we claim, mono mixing, resampling
 * keeps frequency and length, the long reference take, and bad inputs. */
#include "a2m/audio.h"
#include "a2m/error.h"
#include "a2m/io.h"
#include "audio/wav.h"
#include "check.h"
#include "pitch_check.h"

#include <sndfile.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[256];

static const char *tmp_file(const char *name) {
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    return path;
}

/* Writes channels x n frames of a sine (channel c scaled by (c+1)/channels) with libsndfile. */
static int write_tone(const char *path, int format, int rate, int channels, size_t n, double freq, double amp) {
    SF_INFO info = {0};
    info.samplerate = rate;
    info.channels = channels;
    info.format = format;
    SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
    if (!sf) {
        fprintf(stderr, "cannot write %s: %s\n", path, sf_strerror(NULL));
        return 0;
    }
    float *x = malloc(n * (size_t)channels * sizeof *x);
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < channels; c++)
            x[i * (size_t)channels + (size_t)c] =
                (float)(amp * (c + 1) / channels * sin(2 * M_PI * freq * (double)i / rate));
    sf_count_t w = sf_writef_float(sf, x, (sf_count_t)n);
    free(x);
    sf_close(sf);
    return w == (sf_count_t)n;
}

/* Dominant frequency by counting rising zero crossings over the middle of the signal. */
static double zero_cross_freq(const float *x, size_t n, double rate) {
    size_t a = n / 10, b = n - n / 10, first = 0, last = 0, count = 0;
    for (size_t i = a + 1; i < b; i++) {
        if (x[i - 1] < 0 && x[i] >= 0) {
            if (!count) first = i;
            last = i;
            count++;
        }
    }
    if (count < 2) return 0;
    return (double)(count - 1) * rate / (double)(last - first);
}

static double peak(const float *x, size_t n) {
    double p = 0;
    for (size_t i = 0; i < n; i++) p = fmax(p, fabs(x[i]));
    return p;
}

static void test_formats(void) {
    static const struct {
        const char *name;
        int format;
        double tol;
    } fmts[] = {
        {"pcm16.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 1e-4},  {"pcm24.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_24, 1e-6},
        {"pcm32.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_32, 1e-6},  {"float.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 1e-7},
        {"tone.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 1e-4}, {"tone.ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, 0.05},
    };
    for (size_t k = 0; k < sizeof fmts / sizeof fmts[0]; k++) {
        const char *path = tmp_file(fmts[k].name);
        CHECK(write_tone(path, fmts[k].format, 16000, 1, 16000, 440.0, 0.5), "%s written", fmts[k].name);
        a2m_audio a;
        int rc = a2m_audio_read(path, 16000, &a);
        CHECK(rc == A2M_OK, "%s: %s", fmts[k].name, a2m_errmsg());
        if (rc) continue;
        CHECK(a.n == 16000, "%s: n=%zu", fmts[k].name, a.n);
        CHECK(a.rate == 16000, "%s: rate", fmts[k].name);
        double maxerr = 0;
        for (size_t i = 0; i < a.n; i++)
            maxerr = fmax(maxerr, fabs(a.samples[i] - 0.5 * sin(2 * M_PI * 440.0 * (double)i / 16000)));
        CHECK(maxerr <= fmts[k].tol, "%s: max error %g > %g", fmts[k].name, maxerr, fmts[k].tol);
        CHECK(!a2m_audio_is_silent(&a), "%s: not silent", fmts[k].name);
        a2m_audio_free(&a);
    }
}

static void test_stereo_mean(void) {
    const char *path = tmp_file("stereo.wav");
    CHECK(write_tone(path, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 16000, 2, 8000, 300.0, 0.4), "stereo written");
    a2m_audio a;
    CHECK(a2m_audio_read(path, 0, &a) == A2M_OK, "stereo: %s", a2m_errmsg());
    /* channels carry 0.2 and 0.4 amplitude: the mean is 0.3 */
    double maxerr = 0;
    for (size_t i = 0; i < a.n; i++) {
        float l = (float)(0.4 * 1 / 2 * sin(2 * M_PI * 300.0 * (double)i / 16000));
        float r = (float)(0.4 * 2 / 2 * sin(2 * M_PI * 300.0 * (double)i / 16000));
        maxerr = fmax(maxerr, fabs(a.samples[i] - (l + r) / 2.0f));
    }
    CHECK(a.n == 8000 && maxerr == 0, "stereo mean: n=%zu err=%g", a.n, maxerr);
    a2m_audio_free(&a);
}

static void test_resampling(void) {
    static const int rates[] = {8000, 22050, 44100, 48000, 96000};
    for (size_t k = 0; k < sizeof rates / sizeof rates[0]; k++) {
        int rate = rates[k];
        size_t n = (size_t)rate * 3 / 2 + 7; /* 1.5 s and a few samples */
        char name[64];
        snprintf(name, sizeof name, "tone_%d.wav", rate);
        const char *path = tmp_file(name);
        CHECK(write_tone(path, SF_FORMAT_WAV | SF_FORMAT_FLOAT, rate, 1, n, 1000.0, 0.5), "%s written", name);
        a2m_audio a;
        int rc = a2m_audio_read(path, 16000, &a);
        CHECK(rc == A2M_OK, "%s: %s", name, a2m_errmsg());
        if (rc) continue;
        size_t want = (size_t)ceil((double)n * (16000.0 / rate)); /* librosa: ceil(n * ratio) */
        CHECK(a.n == want, "%d -> 16000: n=%zu, expected ceil(n*ratio)=%zu", rate, a.n, want);
        double f = zero_cross_freq(a.samples, a.n, 16000);
        CHECK(fabs(f - 1000.0) < 0.5, "%d -> 16000: tone at %.3f Hz, expected 1000", rate, f);
        CHECK(fabs(peak(a.samples + a.n / 10, a.n * 8 / 10) - 0.5) < 0.01, "%d -> 16000: amplitude kept", rate);
        /* against the ideal 1 kHz sine at 16 kHz, away from the edges */
        double err2 = 0, sig2 = 0;
        for (size_t i = a.n / 10; i < a.n - a.n / 10; i++) {
            double ideal = 0.5 * sin(2 * M_PI * 1000.0 * (double)i / 16000);
            err2 += (a.samples[i] - ideal) * (a.samples[i] - ideal);
            sig2 += ideal * ideal;
        }
        double snr_db = 10 * log10(sig2 / fmax(err2, 1e-300));
        CHECK(snr_db > 80, "%d -> 16000: SNR %.1f dB against the ideal tone", rate, snr_db);
        printf("resample %5d -> 16000: %zu -> %zu samples, tone %.4f Hz, SNR %.1f dB\n", rate, n, a.n, f, snr_db);
        a2m_audio_free(&a);
    }
}

/* A tone above the new Nyquist frequency must vanish, not fold back. */
static void test_antialiasing(void) {
    size_t n = 96000;
    float *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++) x[i] = (float)(0.5 * sin(2 * M_PI * 12000.0 * (double)i / 96000));
    float *y = NULL;
    size_t ny = 0;
    CHECK(a2m_resample(x, n, 96000, 16000, &y, &ny) == A2M_OK && ny == 16000, "resample 12 kHz tone");
    double e = 0;
    for (size_t i = 1600; i + 1600 < ny; i++) e += (double)y[i] * y[i];
    double level_db = 10 * log10(e / (double)(ny - 3200) / 0.125 + 1e-300);
    printf("resample 96000 -> 16000: a 12 kHz tone is left at %.1f dB\n", level_db);
    CHECK(level_db < -100, "aliased tone at %.1f dB", level_db);
    free(x);
    free(y);
    CHECK(a2m_resample(NULL, 0, 0, 16000, &y, &ny) == A2M_ERR_ARG, "rate 0 rejected");
}

static void test_long_take(const char *shared) {
    char path[4096];
    snprintf(path, sizeof path, "%s/data/seed/long/Prueba.wav", shared);
    a2m_audio a;
    int rc = a2m_audio_read(path, 16000, &a);
    CHECK(rc == A2M_OK, "Prueba.wav: %s", a2m_errmsg());
    if (rc) return;
    double seconds = (double)a.n / a.rate;
    printf("Prueba.wav: %zu samples at 16 kHz = %.3f s\n", a.n, seconds);
    CHECK(seconds > 23.0 && seconds < 25.5, "Prueba.wav: %.3f s, expected ~24", seconds);
    CHECK(!a2m_audio_is_silent(&a) && peak(a.samples, a.n) <= 1.0, "Prueba.wav: level");
    a2m_audio_free(&a);
}

static void expect_error(const char *path, int code, const char *what) {
    a2m_audio a;
    int rc = a2m_audio_read(path, 16000, &a);
    CHECK(rc == code, "%s: rc=%d (%s), expected %d", what, rc, a2m_errmsg(), code);
    CHECK(strstr(a2m_errmsg(), path) != NULL, "%s: message names the file: %s", what, a2m_errmsg());
    CHECK(a.samples == NULL, "%s: no samples returned", what);
}

static void test_bad_inputs(void) {
    expect_error(tmp_file("missing.wav"), A2M_ERR_IO, "missing file");
    expect_error(tmpdir, A2M_ERR_IO, "folder");
    FILE *f = fopen(tmp_file("text.wav"), "wb");
    fputs("this is not audio at all, just some words\n", f);
    fclose(f);
    expect_error(tmp_file("text.wav"), A2M_ERR_FORMAT, "text file");
    f = fopen(tmp_file("zero_bytes.wav"), "wb");
    fclose(f);
    expect_error(tmp_file("zero_bytes.wav"), A2M_ERR_EMPTY, "zero-byte file");
    CHECK(write_tone(tmp_file("zero_frames.wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, 0, 440, 0.5), "0 frames");
    expect_error(tmp_file("zero_frames.wav"), A2M_ERR_EMPTY, "WAV with zero samples");

    SF_INFO info = {0};
    info.samplerate = 16000;
    info.channels = 1;
    info.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
    SNDFILE *sf = sf_open(tmp_file("nan.wav"), SFM_WRITE, &info);
    float x[100] = {0};
    x[50] = NAN;
    sf_writef_float(sf, x, 100);
    sf_close(sf);
    expect_error(tmp_file("nan.wav"), A2M_ERR_NONFINITE, "NaN float WAV");

    /* a FLAC file cut in half: libsndfile's decoder loses sync on the read that comes short, and the next read
     * clears the error; the whole-file reader read 12,288 of its 32,000 frames and said nothing */
    const char *flac = tmp_file("cut.flac");
    CHECK(write_tone(flac, SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 16000, 1, 32000, 440, 0.5), "flac written");
    struct stat st;
    CHECK(stat(flac, &st) == 0 && truncate(flac, st.st_size / 2) == 0, "flac cut");
    a2m_audio a;
    CHECK(a2m_audio_read(flac, 0, &a) == A2M_ERR_FORMAT && strstr(a2m_errmsg(), "cut.flac: decoding failed"),
          "cut FLAC refused by name: %s", a2m_errmsg());
    a2m_audio_free(&a);
    /* an Ogg Vorbis file cut to its first 60 bytes: refused by name (libvorbis keeps its vorbis_info of the failed
     * open, 5,784 bytes: tests/lsan.supp) */
    const char *ogg = tmp_file("cut.ogg");
    CHECK(write_tone(ogg, SF_FORMAT_OGG | SF_FORMAT_VORBIS, 16000, 1, 16000, 440, 0.5), "ogg written");
    CHECK(truncate(ogg, 60) == 0, "ogg cut");
    expect_error(ogg, A2M_ERR_FORMAT, "Ogg Vorbis cut after its first page");
    /* an RF64 file (the data size in its ds64 chunk) read whole, then cut in half: refused as a WAV file cut short
     * is (libsndfile read the half and said nothing) */
    const char *rf64 = tmp_file("cut.rf64");
    CHECK(write_tone(rf64, SF_FORMAT_RF64 | SF_FORMAT_PCM_16, 16000, 1, 16000, 440, 0.5), "rf64 written");
    CHECK(a2m_audio_read(rf64, 0, &a) == A2M_OK && a.n == 16000, "a whole RF64 file: %s", a2m_errmsg());
    a2m_audio_free(&a);
    CHECK(stat(rf64, &st) == 0 && truncate(rf64, st.st_size / 2) == 0, "rf64 cut");
    CHECK(a2m_audio_read(rf64, 0, &a) == A2M_ERR_FORMAT && strstr(a2m_errmsg(), "cut.rf64: truncated") &&
              strstr(a2m_errmsg(), "declares 32000 bytes"),
          "a cut RF64 file refused by name: %s", a2m_errmsg());
    a2m_audio_free(&a);
}

static void test_silence_and_write(void) {
    float x[1600] = {0};
    const char *path = tmp_file("silence.wav");
    CHECK(a2m_audio_write_wav(path, x, 1600, 16000) == A2M_OK, "write silence: %s", a2m_errmsg());
    a2m_audio a;
    CHECK(a2m_audio_read(path, 16000, &a) == A2M_OK && a.n == 1600, "silence read back");
    CHECK(a2m_audio_is_silent(&a), "silence detected");
    a2m_audio_free(&a);

    for (int i = 0; i < 1600; i++) x[i] = (float)(0.7 * sin(2 * M_PI * 250.0 * i / 16000.0));
    x[10] = 3.0f; /* clipped, not wrapped */
    CHECK(a2m_audio_write_wav(path, x, 1600, 16000) == A2M_OK, "write tone");
    CHECK(a2m_audio_read(path, 0, &a) == A2M_OK && a.n == 1600, "tone read back");
    double maxerr = 0;
    for (int i = 0; i < 1600; i++)
        if (i != 10) maxerr = fmax(maxerr, fabs(a.samples[i] - x[i]));
    CHECK(maxerr < 1.0 / 32767 + 1e-7, "16-bit round trip error %g", maxerr);
    CHECK(a.samples[10] > 0.99f, "clipping keeps the sign: %g", a.samples[10]);
    a2m_audio_free(&a);
    CHECK(a2m_audio_write_wav(tmpdir, x, 10, 16000) == A2M_ERR_IO, "writing onto a folder fails");
}

static void test_stream(void) {
    /* a WAV through a stream */
    const char *path = tmp_file("pcm16.wav");
    FILE *fp = fopen(path, "rb");
    a2m_audio a;
    CHECK(fp && a2m_audio_read_stream(fp, "stdin", 0, 16000, &a) == A2M_OK, "WAV stream: %s", a2m_errmsg());
    CHECK(a.n == 16000, "WAV stream length %zu", a.n);
    a2m_audio_free(&a);
    if (fp) fclose(fp);
    /* raw float32 at 8 kHz, resampled */
    fp = tmpfile();
    for (int i = 0; i < 8000; i++) {
        float v = (float)(0.5 * sin(2 * M_PI * 500.0 * i / 8000.0));
        fwrite(&v, 4, 1, fp);
    }
    rewind(fp);
    CHECK(a2m_audio_read_stream(fp, "stdin", 8000, 16000, &a) == A2M_OK, "raw stream: %s", a2m_errmsg());
    CHECK(a.n == 16000 && fabs(zero_cross_freq(a.samples, a.n, 16000) - 500) < 0.5, "raw stream resampled");
    a2m_audio_free(&a);
    fclose(fp);
    /* truncated raw stream, empty stream, garbage stream */
    fp = tmpfile();
    fwrite("abcdefg", 1, 7, fp);
    rewind(fp);
    CHECK(a2m_audio_read_stream(fp, "stdin", 16000, 16000, &a) == A2M_ERR_FORMAT, "raw length not /4");
    rewind(fp);
    CHECK(a2m_audio_read_stream(fp, "stdin", 0, 16000, &a) == A2M_ERR_FORMAT, "garbage stream");
    CHECK(strstr(a2m_errmsg(), "stdin") != NULL, "stream message names the stream");
    fclose(fp);
    fp = tmpfile();
    CHECK(a2m_audio_read_stream(fp, "stdin", 0, 16000, &a) == A2M_ERR_EMPTY, "empty stream");
    fclose(fp);
}

/* A RIFF/WAVE image: 16-bit PCM (format tag tag, bits) with an optional chunk before the data, data_size
 * declared (the frames written are n x channels of v). Returns its length. */
static size_t wav_image(uint8_t *b, int channels, int rate, int tag, int bits, const char *extra, uint32_t extra_size,
                        uint32_t data_size, const int16_t *v, size_t n) {
    size_t at = 0;
#define PUT4(s) (memcpy(b + at, s, 4), at += 4)
#define PUTLE(x, k)                                                                                                    \
    for (int i_ = 0; i_ < (k); i_++) b[at++] = (uint8_t)((uint32_t)(x) >> (8 * i_))
    PUT4("RIFF");
    PUTLE(0, 4); /* patched below */
    PUT4("WAVE");
    PUT4("fmt ");
    PUTLE(16, 4);
    PUTLE(tag, 2);
    PUTLE(channels, 2);
    PUTLE(rate, 4);
    PUTLE(rate * channels * bits / 8, 4);
    PUTLE(channels * bits / 8, 2);
    PUTLE(bits, 2);
    if (extra) {
        PUT4(extra);
        PUTLE(extra_size, 4);
        memset(b + at, 'x', extra_size + (extra_size & 1)), at += extra_size + (extra_size & 1);
    }
    PUT4("data");
    PUTLE(data_size, 4);
    for (size_t i = 0; i < n * (size_t)channels; i++) PUTLE((uint16_t)v[i], 2);
    uint32_t riff = (uint32_t)at - 8;
    memcpy(b + 4, &riff, 4); /* little-endian hosts only (a2m's) */
#undef PUT4
#undef PUTLE
    return at;
}

/* Plain 16-bit PCM WAV files are read without libsndfile (audio/wav.c); whatever they hold, the samples (and
 * the errors) must be libsndfile's: the same bytes through a2m_audio_read_stream, which always decodes with
 * libsndfile, are the reference. */
static void test_wav_fast(void) {
    int16_t v[3 * 500];
    for (int i = 0; i < 3 * 500; i++) v[i] = (int16_t)((i * 7919) % 65536 - 32768);
    v[0] = -32768, v[1] = 32767, v[2] = 0, v[3] = -1, v[4] = 1;
    static const struct {
        const char *what, *extra;
        int channels, rate, tag, bits;
        uint32_t extra_size, data_size; /* 0: the frames' size */
        int want;                       /* expected a2m_audio_read result */
    } cases[] = {
        {"mono", NULL, 1, 16000, 1, 16, 0, 0, A2M_OK},
        {"stereo, LIST before the data", "LIST", 2, 16000, 1, 16, 10, 0, A2M_OK},
        {"3 channels at 44.1 kHz", "fact", 3, 44100, 1, 16, 4, 0, A2M_OK},
        {"odd-sized chunk (libsndfile)", "junk", 1, 16000, 1, 16, 3, 0, A2M_OK},
        {"data longer than the file (a file cut short: refused; a stream read as far as it goes)", NULL, 1, 16000, 1,
         16, 0, 4000, A2M_ERR_FORMAT},
        {"data size 0xffffffff (a writer that could not seek back: read to the end)", NULL, 1, 16000, 1, 16, 0,
         0xffffffffu, A2M_OK},
        {"data not whole frames (libsndfile)", NULL, 2, 16000, 1, 16, 0, 998, A2M_OK},
        {"8-bit (libsndfile)", NULL, 1, 16000, 1, 8, 0, 0, A2M_OK},
        {"rate 500 Hz (libsndfile, refused)", NULL, 1, 500, 1, 16, 0, 0, A2M_ERR_FORMAT},
    };
    uint8_t *b = malloc(64 + 3 * 500 * 2 + 64);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        size_t n = 500; /* 8-bit: the same bytes, read as 1,000 samples */
        uint32_t size = cases[k].data_size ? cases[k].data_size : (uint32_t)(n * 2 * (size_t)cases[k].channels);
        size_t len = wav_image(b, cases[k].channels, cases[k].rate, cases[k].tag, cases[k].bits, cases[k].extra,
                               cases[k].extra_size, size, v, n);
        const char *path = tmp_file("fast.wav");
        FILE *f = fopen(path, "wb");
        CHECK(f && fwrite(b, 1, len, f) == len && fclose(f) == 0, "%s written", cases[k].what);
        a2m_audio fast, ref;
        int rc = a2m_audio_read(path, 0, &fast);
        FILE *in = fmemopen(b, len, "rb");
        int rc_ref = a2m_audio_read_stream(in, "stream", 0, 0, &ref);
        fclose(in);
        int cut = cases[k].data_size > 1000 && cases[k].data_size < 0x7fff0000u; /* 1000 bytes written */
        CHECK(rc == cases[k].want && (cut ? rc_ref == A2M_OK : rc == rc_ref), "%s: %d (libsndfile %d): %s",
              cases[k].what, rc, rc_ref, a2m_errmsg());
        if (cut) {
            CHECK(a2m_audio_read(path, 0, &fast) == A2M_ERR_FORMAT && strstr(a2m_errmsg(), "truncated") &&
                      strstr(a2m_errmsg(), path),
                  "a file cut short: the message names it: %s", a2m_errmsg());
            a2m_audio_stream *st = NULL;
            CHECK(a2m_audio_stream_new_file(path, 16000, &st) == A2M_ERR_FORMAT && !st,
                  "a file cut short, read as a stream: refused too");
            a2m_audio_free(&ref);
        }
        if (rc || rc_ref) continue;
        CHECK(fast.n == ref.n && fast.rate == ref.rate &&
                  !memcmp(fast.samples, ref.samples, fast.n * sizeof *fast.samples),
              "%s: %zu samples at %g Hz, libsndfile's %zu at %g, same bits", cases[k].what, fast.n, fast.rate, ref.n,
              ref.rate);
        if (k == 0)
            CHECK(fast.n == 500 && fast.samples[0] == -1.0f && fast.samples[1] == 32767 / 32768.0f &&
                      fast.samples[3] == -1 / 32768.0f && fast.samples[499] == v[499] / 32768.0f,
                  "mono: x / 32768");
        if (k == 1)
            CHECK(fast.samples[0] == (-1.0f + 32767 / 32768.0f) / 2 && fast.samples[1] == (0.0f - 1 / 32768.0f) / 2,
                  "stereo: the channel mean");
        a2m_audio_free(&fast), a2m_audio_free(&ref);
    }
    free(b);
}

/* Tiny chunks before the data: libsndfile refuses a file whose data comes after ~6,500 of them; the fast path
 * used to read such a file (so `a2m features` read what `a2m transcribe` refused). Now both read or both refuse. */
static void test_wav_many_chunks(void) {
    static const int counts[] = {WAV_FAST_MAX_CHUNKS - 1, WAV_FAST_MAX_CHUNKS + 1, 8000};
    const size_t n = 400;
    for (size_t k = 0; k < sizeof counts / sizeof *counts; k++) {
        size_t len = 36 + (size_t)counts[k] * 10 + 8 + n * 2;
        uint8_t *b = malloc(len);
        CHECK(b != NULL, "image");
        if (!b) return;
        memcpy(b, "RIFF", 4), memcpy(b + 8, "WAVEfmt ", 8);
        const uint32_t riff = (uint32_t)len - 8, fmt[4] = {16, 1 | 1u << 16, 16000, 32000}, align = 2 | 16u << 16;
        memcpy(b + 4, &riff, 4), memcpy(b + 16, fmt, 16), memcpy(b + 32, &align, 4); /* little-endian hosts */
        size_t at = 36;
        for (int c = 0; c < counts[k]; c++, at += 10) memcpy(b + at, "JUNK\2\0\0\0\0\0", 10);
        const uint32_t size = (uint32_t)(n * 2);
        memcpy(b + at, "data", 4), memcpy(b + at + 4, &size, 4);
        for (size_t i = 0; i < n; i++) b[at + 8 + 2 * i] = (uint8_t)i, b[at + 9 + 2 * i] = (uint8_t)(i >> 3);
        const char *path = tmp_file("chunks.wav");
        FILE *f = fopen(path, "wb");
        CHECK(f && fwrite(b, 1, len, f) == len && fclose(f) == 0, "%d chunks written", counts[k]);
        a2m_audio file, ref;
        int rc = a2m_audio_read(path, 0, &file);
        FILE *in = fmemopen(b, len, "rb");
        int rc_ref = a2m_audio_read_stream(in, "stream", 0, 0, &ref);
        fclose(in);
        int want = counts[k] > 1000 ? A2M_ERR_FORMAT : A2M_OK;
        CHECK(rc == want && rc_ref == want, "%d JUNK chunks before the data: file %d, stream %d, both %d", counts[k],
              rc, rc_ref, want);
        if (!rc && !rc_ref)
            CHECK(file.n == ref.n && file.n == n && !memcmp(file.samples, ref.samples, n * sizeof *file.samples),
                  "%d chunks: the same %zu samples", counts[k], n);
        if (!rc) a2m_audio_free(&file);
        if (!rc_ref) a2m_audio_free(&ref);
        free(b);
    }
}

static void test_synth(void) {
    a2m_synth_params p = a2m_synth_default_params();
    CHECK(p.rate == 16000 && p.n_harmonics == 12 && p.gain == 0.5 && p.vibrato_hz == 5.5, "default params");
    a2m_note note = {0.1, 1.1, 60, 100, 0};
    float *y = NULL, *y2 = NULL;
    size_t n = 0, n2 = 0;
    CHECK(a2m_synth_render(&note, 1, p, &y, &n) == A2M_OK, "render: %s", a2m_errmsg());
    CHECK(n == (size_t)llround((1.1 + 0.08) * 16000), "length = last offset + release: %zu", n);
    CHECK(fabs(peak(y, n) - 0.5) < 1e-6, "peak = gain: %g", peak(y, n));
    CHECK(peak(y, 1600) == 0, "silent before the onset");
    double f0 = test_f0_autocorr(y + 8000, 4800, 16000, 80, 1000);
    CHECK(fabs(test_hz_to_midi(f0) - 60) < 0.3, "note 60 sounds at %.2f Hz (MIDI %.2f)", f0, test_hz_to_midi(f0));
    CHECK(a2m_synth_render(&note, 1, p, &y2, &n2) == A2M_OK && n2 == n && memcmp(y, y2, n * sizeof *y) == 0,
          "deterministic for a seed");
    free(y2);
    p.seed = 2;
    CHECK(a2m_synth_render(&note, 1, p, &y2, &n2) == A2M_OK && n2 == n && memcmp(y, y2, n * sizeof *y) != 0,
          "another seed, another take");
    free(y2);
    free(y);
    p = a2m_synth_default_params();
    p.transpose = -12;
    p.duration_s = 2.0;
    CHECK(a2m_synth_render(&note, 1, p, &y, &n) == A2M_OK && n == 32000, "duration sets the length");
    f0 = test_f0_autocorr(y + 8000, 4800, 16000, 80, 1000);
    CHECK(fabs(test_hz_to_midi(f0) - 48) < 0.3, "transposed to MIDI 48: %.2f Hz", f0);
    CHECK(peak(y + 19200, 32000 - 19200) == 0, "silent after the release");
    free(y);
    /* 4,000 notes at once for 4 s: 16,320 s of note time, about a minute of work, refused before any of it (a
     * 4 KB MIDI file of 65,535 one-note tracks ran for minutes) */
    enum { CHORD = 4000 };
    a2m_note *chord = malloc(CHORD * sizeof *chord);
    for (int i = 0; chord && i < CHORD; i++) chord[i] = (a2m_note){0, 4, 40 + i % 40, 100, 0};
    y = NULL;
    CHECK(chord && a2m_synth_render(chord, CHORD, a2m_synth_default_params(), &y, &n) == A2M_ERR_RANGE &&
              strstr(a2m_errmsg(), "16320 s in all") && !y,
          "a crowd's note time refused: %s", a2m_errmsg());
    free(y);
    free(chord);
    /* no notes: silence of the given duration, or nothing to render */
    CHECK(a2m_synth_render(NULL, 0, p, &y, &n) == A2M_OK && n == 32000 && peak(y, n) == 0, "silence");
    free(y);
    p.duration_s = 0;
    CHECK(a2m_synth_render(NULL, 0, p, &y, &n) == A2M_ERR_EMPTY && y == NULL, "nothing to render");
    a2m_note bad = {0.5, 0.2, 60, 100, 0};
    CHECK(a2m_synth_render(&bad, 1, p, &y, &n) == A2M_ERR_RANGE, "offset before onset");
    bad = (a2m_note){0.0, NAN, 60, 100, 0};
    CHECK(a2m_synth_render(&bad, 1, p, &y, &n) == A2M_ERR_NONFINITE, "NaN note");
    p.rate = 0;
    CHECK(a2m_synth_render(&note, 1, p, &y, &n) == A2M_ERR_ARG, "bad rate");
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/a2m_test_audio.XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    test_formats();
    test_stereo_mean();
    test_resampling();
    test_antialiasing();
    test_bad_inputs();
    test_silence_and_write();
    test_stream();
    test_wav_fast();
    test_wav_many_chunks();
    test_synth();
    const char *shared = test_shared_dir();
    if (shared) test_long_take(shared);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "cannot clean %s\n", tmpdir);
    return test_done("test_audio");
}
