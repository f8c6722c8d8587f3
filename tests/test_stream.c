/* Streaming: the audio stream reader gives the same samples as the
 * whole-file reader (a pipe of WAV bytes, with and without resampling, raw
 * float32), and the streaming transcriber, fed in pieces of every size, hands
 * out exactly the notes, probabilities and classes of the whole-recording pass,
 * deciding most notes before the end. Bad streams fail cleanly. */
#include <unistd.h>

#include "a2m/audio.h"
#include "a2m/error.h"
#include "a2m/transcribe.h"
#include "check.h"

/* Reads a whole file through a pipe into the stream reader. */
static int stream_file(const char *path, double raw_rate, double rate, float **out, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    a2m_audio_stream *s;
    int rc = a2m_audio_stream_new(f, path, raw_rate, rate, &s);
    size_t cap = 1 << 16, got;
    *out = malloc(cap * sizeof **out), *n = 0;
    while (!rc) {
        if (*n + 1000 > cap) *out = realloc(*out, (cap *= 2) * sizeof **out);
        rc = a2m_audio_stream_read(s, *out + *n, 997, &got); /* an odd piece size on purpose */
        if (!rc && got == 0) break;
        *n += got;
    }
    if (!rc) a2m_audio_stream_del(s);
    fclose(f);
    return rc;
}

static void test_reader(const char *wav, double rate) {
    a2m_audio a;
    CHECK(a2m_audio_read(wav, rate, &a) == A2M_OK, "%s", a2m_errmsg());
    float *y = NULL;
    size_t ny = 0;
    CHECK(stream_file(wav, 0, rate, &y, &ny) == A2M_OK, "stream %s: %s", wav, a2m_errmsg());
    CHECK(ny == a.n, "%s at %g Hz: stream gives %zu samples, file %zu", wav, rate, ny, a.n);
    size_t diff = 0;
    for (size_t i = 0; i < ny && i < a.n; i++) diff += y[i] != a.samples[i];
    CHECK(diff == 0, "%s at %g Hz: %zu samples differ", wav, rate, diff);
    free(y);
    /* the same file opened as a file stream (what window-mode transcription reads) */
    a2m_audio_stream *fs;
    CHECK(a2m_audio_stream_new_file(wav, rate, &fs) == A2M_OK, "open_file %s: %s", wav, a2m_errmsg());
    size_t nf = 0, got = 0;
    diff = 0;
    float buf[1009];
    while (fs && a2m_audio_stream_read(fs, buf, 1009, &got) == A2M_OK && got > 0) {
        for (size_t i = 0; i < got; i++) diff += nf + i >= a.n || buf[i] != a.samples[nf + i];
        nf += got;
    }
    CHECK(nf == a.n && diff == 0, "%s at %g Hz as a file stream: %zu samples (file %zu), %zu differ", wav, rate, nf,
          a.n, diff);
    a2m_audio_stream_del(fs);
    a2m_audio_free(&a);
}

/* Same note: pitch, frames and times exactly; confidence to float rounding (the stream runs the network one
 * window at a time, the whole pass in batches of windows, and BLAS sums in another order for another batch). */
static int same_note(const a2m_transcribed_note *a, const a2m_transcribed_note *ref, size_t n_ref, size_t i) {
    if (i >= n_ref) return 0;
    const a2m_transcribed_note *b = &ref[i];
    return a->note.pitch == b->note.pitch && a->note.onset == b->note.onset && a->note.offset == b->note.offset &&
           a->cls == b->cls && a->first_frame == b->first_frame && a->n_frames == b->n_frames &&
           fabs(a->confidence - b->confidence) < 1e-5 && fabs(a->confidence_var - b->confidence_var) < 1e-5;
}

static void test_stream_equals_whole(const a2m_model *m, const float *x, size_t n, size_t piece, const char *what) {
    a2m_transcribe_params p = a2m_transcribe_default_params();
    a2m_transcriber *t;
    a2m_transcription whole;
    CHECK(a2m_transcriber_new(m, p, &t) == A2M_OK, "transcriber");
    CHECK(a2m_transcriber_run(t, x, n, &whole) == A2M_OK, "%s: whole: %s", what, a2m_errmsg());
    a2m_transcribe_stream *s;
    CHECK(a2m_transcribe_stream_new(m, p, 1, &s) == A2M_OK, "stream: %s", a2m_errmsg());
    const a2m_transcribed_note *got;
    size_t k, n_seen = 0, decided_early = 0, mismatch = 0, push_failed = 0;
    for (size_t i = 0; i < n; i += piece) {
        size_t len = n - i < piece ? n - i : piece;
        if (a2m_transcribe_stream_push(s, x + i, len, &got, &k) != A2M_OK) push_failed++, k = 0;
        for (size_t j = 0; j < k; j++, n_seen++) {
            /* decided before the end: its offset lies well before the samples pushed so far */
            decided_early++;
            mismatch += !same_note(&got[j], whole.notes, whole.n_notes, n_seen);
        }
    }
    CHECK(push_failed == 0, "%s: %zu pushes failed: %s", what, push_failed, a2m_errmsg());
    CHECK(a2m_transcribe_stream_finish(s, &got, &k) == A2M_OK, "finish: %s", a2m_errmsg());
    for (size_t j = 0; j < k; j++, n_seen++) mismatch += !same_note(&got[j], whole.notes, whole.n_notes, n_seen);
    CHECK(n_seen == whole.n_notes && mismatch == 0, "%s, pieces of %zu: %zu notes streamed (%zu differ), %zu whole",
          what, piece, n_seen, mismatch, whole.n_notes);
    /* a frame waits for its last window (6 s) and the CQT (2.7-4 s): the last ~10 s are decided at the end
     * (synth 21 s: 7 of 16 notes before it with 6 s windows; at least 8 with the 4 s ones before) */
    if (whole.n_notes >= 4)
        CHECK(decided_early * 5 >= whole.n_notes * 2, "%s: only %zu of %zu notes decided before the end", what,
              decided_early, whole.n_notes);
    a2m_transcription r;
    CHECK(a2m_transcribe_stream_result(s, &r) == A2M_OK, "result");
    CHECK(r.n_frames == whole.n_frames, "%s: %zu frames vs %zu", what, r.n_frames, whole.n_frames);
    if (r.n_frames == whole.n_frames) {
        double worst = 0;
        for (size_t i = 0; i < r.n_frames * (size_t)r.n_classes; i++)
            worst = fmax(worst, fabs(r.probs[i] - whole.probs[i]));
        CHECK(worst <= 1e-5, "%s: probabilities differ by %g", what, worst);
        CHECK(memcmp(r.classes, whole.classes, r.n_frames * sizeof *r.classes) == 0, "%s: classes equal", what);
    }
    a2m_transcription_free(&r);
    a2m_transcription_free(&whole);
    a2m_transcribe_stream_del(s);
    a2m_transcriber_del(t);
}

/* 75 s of legato singing with no silence at all: notes must still come out while the audio is pushed (the
 * pending frames are decided after at most 30 s), so a stream's memory stays bounded on any input; and
 * they are still exactly the file mode's notes. */
static void test_legato_bounded(const a2m_model *m) {
    a2m_note mel[50];
    for (int i = 0; i < 50; i++)
        mel[i] = (a2m_note){0.2 + 1.5 * i, 0.2 + 1.5 * (i + 1), (int[]){48, 52, 55}[i % 3], 100, 0};
    a2m_synth_params sp = a2m_synth_default_params();
    sp.duration_s = 75.5, sp.release_s = 0.01, sp.attack_s = 0.01;
    float *x;
    size_t n;
    CHECK(a2m_synth_render(mel, 50, sp, &x, &n) == A2M_OK, "synth legato");
    a2m_transcribe_stream *s;
    CHECK(a2m_transcribe_stream_new(m, a2m_transcribe_default_params(), 0, &s) == A2M_OK, "stream");
    size_t early = 0, piece = 16000;
    const a2m_transcribed_note *got;
    size_t k;
    for (size_t at = 0; at < n; at += piece) {
        CHECK(a2m_transcribe_stream_push(s, x + at, n - at < piece ? n - at : piece, &got, &k) == A2M_OK, "push");
        early += k;
    }
    CHECK(a2m_transcribe_stream_finish(s, &got, &k) == A2M_OK, "finish");
    CHECK(early >= 10, "legato: %zu notes decided before the end of 75 s without a silence", early);
    a2m_transcribe_stream_del(s);
    test_stream_equals_whole(m, x, n, 16000, "legato 75 s");
    free(x);
}

/* Synthetic: notes rendered by the synthesizer, 21 s (not a whole number of windows): a melody and its repeat,
 * streamed in pieces of 1 sample to more than the whole; and 1000 samples, shorter than a window. */
static void test_synth_melody(const a2m_model *m) {
    a2m_note mel[16] = {{0.3, 1.2, 48, 100, 0}, {1.5, 2.4, 52, 100, 0}, {2.9, 3.5, 55, 100, 0},
                        {4.0, 5.1, 52, 100, 0}, {5.6, 6.0, 48, 100, 0}, {6.5, 8.2, 55, 100, 0},
                        {8.6, 9.4, 48, 100, 0}, {9.9, 10.6, 52, 100, 0}};
    for (int i = 0; i < 8; i++) mel[8 + i] = mel[i], mel[8 + i].onset += 10, mel[8 + i].offset += 10;
    a2m_synth_params sp = a2m_synth_default_params();
    sp.duration_s = 21.03;
    float *x;
    size_t n;
    REQUIRE(a2m_synth_render(mel, sizeof mel / sizeof *mel, sp, &x, &n) == A2M_OK, "synth");
    size_t pieces[] = {1, 97, 4096, 32000, 1000000};
    for (size_t i = 0; i < sizeof pieces / sizeof *pieces; i++)
        test_stream_equals_whole(m, x, n, pieces[i], "synth 21 s");
    test_stream_equals_whole(m, x, 1000, 333, "1000 samples (shorter than a window)");
    free(x);
}

/* Bad use: whole-sequence mode, finish without samples, push or finish after finish, too short after a reset. */
static void test_bad_use(const a2m_model *m) {
    a2m_transcribe_stream *s;
    a2m_transcribe_params p = a2m_transcribe_default_params();
    p.window_s = 0;
    CHECK(a2m_transcribe_stream_new(m, p, 0, &s) == A2M_ERR_ARG && s == NULL, "whole-sequence mode cannot stream");
    p.window_s = A2M_WHOLE_MAX_SECONDS + 1; /* buffers of 901 s for any input (3,600 s ran out of memory) */
    CHECK(a2m_transcribe_stream_new(m, p, 0, &s) == A2M_ERR_ARG && s == NULL && strstr(a2m_errmsg(), "901 s"),
          "a window longer than the longest sequence refused: %s", a2m_errmsg());
    a2m_transcribe_stream_del(s);
    p = a2m_transcribe_default_params();
    REQUIRE(a2m_transcribe_stream_new(m, p, 0, &s) == A2M_OK, "stream");
    const a2m_transcribed_note *got;
    size_t k;
    CHECK(a2m_transcribe_stream_finish(s, &got, &k) == A2M_ERR_EMPTY, "finish without samples is an error");
    float quiet[2000] = {0};
    CHECK(a2m_transcribe_stream_push(s, quiet, 2000, &got, &k) == A2M_OK &&
              a2m_transcribe_stream_finish(s, &got, &k) == A2M_OK,
          "a short silent stream finishes");
    CHECK(a2m_transcribe_stream_push(s, quiet, 10, &got, &k) == A2M_ERR_ARG, "push after finish refused");
    CHECK(a2m_transcribe_stream_finish(s, &got, &k) == A2M_ERR_ARG, "second finish refused");
    a2m_transcribe_stream_reset(s);
    CHECK(a2m_transcribe_stream_push(s, quiet, 50, &got, &k) == A2M_OK &&
              a2m_transcribe_stream_finish(s, &got, &k) == A2M_ERR_RANGE,
          "after a reset, 50 samples are shorter than one frame: %s", a2m_errmsg());
    a2m_transcribe_stream_del(s);
    a2m_transcribe_stream_del(NULL);
}

/* The shared takes (../shared): the stream reader against the whole-file reader, and Prueba streamed. */
static void test_shared_takes(const a2m_model *m, const char *shared) {
    char path[4096];
    snprintf(path, sizeof path, "%s/data/seed/long/Prueba.wav", shared); /* 22.05 kHz stereo 24-bit */
    test_reader(path, 16000);
    test_reader(path, 0);
    snprintf(path, sizeof path, "%s/data/seed/audio/voice_001.wav", shared);
    test_reader(path, 16000);
    a2m_audio a;
    snprintf(path, sizeof path, "%s/data/seed/long/Prueba.wav", shared);
    REQUIRE(a2m_audio_read(path, 16000, &a) == A2M_OK, "Prueba");
    test_stream_equals_whole(m, a.samples, a.n, 1234, "Prueba");
    a2m_audio_free(&a);
}

/* Streams that are not audio, empty, or end inside a sample; files opened as streams: not audio, missing, a
 * folder. */
static void test_odd_streams(void) {
    char tmpl[] = "/tmp/a2m_test_stream_XXXXXX";
    int fd = mkstemp(tmpl);
    REQUIRE(fd >= 0, "temp file");
    FILE *f = fdopen(fd, "w+b");
    fputs("this is not audio at all, just some text bytes", f);
    rewind(f);
    a2m_audio_stream *as = NULL;
    CHECK(a2m_audio_stream_new(f, "text", 0, 16000, &as) == A2M_ERR_FORMAT && !as, "text is not audio: %s",
          a2m_errmsg());
    fclose(f);
    CHECK(a2m_audio_stream_new_file(tmpl, 16000, &as) == A2M_ERR_FORMAT && !as &&
              strstr(a2m_errmsg(), "not an audio file") && strstr(a2m_errmsg(), tmpl),
          "text file: %s", a2m_errmsg());
    CHECK(a2m_audio_stream_new_file("/nonexistent/x.wav", 16000, &as) == A2M_ERR_IO && !as, "missing file");
    CHECK(a2m_audio_stream_new_file("/tmp", 16000, &as) == A2M_ERR_IO && !as, "folder");
    f = fopen(tmpl, "rb"); /* libsndfile read the descriptor: a fresh handle for the next case */
    REQUIRE(a2m_audio_stream_new(f, "raw", 16000, 16000, &as) == A2M_OK, "raw open");
    float buf[64];
    size_t got_n;
    int rc = A2M_OK;
    do rc = a2m_audio_stream_read(as, buf, 64, &got_n);
    while (!rc && got_n);
    /* 47 bytes: 11 whole samples and 3 stray bytes */
    CHECK(rc == A2M_ERR_FORMAT, "raw stream ending inside a sample: %d %s", rc, a2m_errmsg());
    a2m_audio_stream_del(as);
    fclose(f);
    f = fopen(tmpl, "w+b");
    REQUIRE(a2m_audio_stream_new(f, "empty", 16000, 16000, &as) == A2M_OK, "empty raw open");
    CHECK(a2m_audio_stream_read(as, buf, 64, &got_n) == A2M_ERR_EMPTY, "empty raw stream");
    a2m_audio_stream_del(as);
    float nan_samples[3] = {0.1f, NAN, 0.2f};
    fwrite(nan_samples, sizeof nan_samples, 1, f);
    fclose(f);
    f = fopen(tmpl, "rb");
    REQUIRE(a2m_audio_stream_new(f, "nan", 16000, 16000, &as) == A2M_OK, "nan raw open");
    CHECK(a2m_audio_stream_read(as, buf, 64, &got_n) == A2M_ERR_NONFINITE, "NaN in a raw stream");
    a2m_audio_stream_del(as);
    fclose(f);
    remove(tmpl);
}

int main(void) {
    const char *src = getenv("A2M_SOURCE") ? getenv("A2M_SOURCE") : ".";
    char model_path[4096];
    snprintf(model_path, sizeof model_path, "%s/models/a2m-crnn.safetensors", src);
    a2m_model *m;
    REQUIRE(a2m_model_load(model_path, NULL, &m) == A2M_OK, "default model: %s", a2m_errmsg());
    test_synth_melody(m);
    test_legato_bounded(m);
    test_bad_use(m);
    const char *shared = test_shared_dir();
    if (shared) test_shared_takes(m, shared);
    test_odd_streams();
    a2m_model_del(m);
    return test_done("test_stream");
}
