/* Writes the fuzz seed corpora with a2m's own writers (never copies of shared data):
 *   cc -std=c11 -D_DEFAULT_SOURCE -Iinclude -Isrc tests/fuzz/make_corpus.c build/liba2m_internal.a -lsndfile -lsoxr \
 *      -lfftw3f -lfftw3 -lopenblas -lpthread -ldl -lm -o /tmp/make_corpus
 *   /tmp/make_corpus tests/fuzz/corpus
 * MIDI seeds: encoder output at several resolutions and tempos, plus hand-made
 * files with running status, sysex, a tempo change and format 1 tracks.
 * .npy seeds: one small array of every dtype, 1-3 dimensions.
 * WAV seeds: a short tone from a2m's WAV writer, and a hand-made stereo file with a LIST chunk before the data.
 * CQT kernel seed: the kernels of a small CQT (2 octaves of 6 bins), as saved, without the 4-byte checksum (the
 * fuzz target parses a file's body). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a2m/audio.h"
#include "a2m/cqt.h"
#include "a2m/io.h"
#include "a2m/midi.h"

static void save(const char *dir, const char *name, const void *b, size_t n) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b, 1, n, f) != n) perror(path);
    if (f) fclose(f);
}

struct track_body {
    const uint8_t *b;
    size_t n;
};

/* A Standard MIDI File around hand-written track bodies. */
static void save_smf(const char *dir, const char *name, int format, int tpb, const struct track_body *t, int n) {
    uint8_t buf[1024];
    size_t len = 0;
    const uint8_t head[14] = {
        'M', 'T', 'h', 'd', 0, 0, 0, 6, 0, (uint8_t)format, 0, (uint8_t)n, (uint8_t)(tpb >> 8), (uint8_t)tpb};
    memcpy(buf, head, sizeof head);
    len += sizeof head;
    for (int k = 0; k < n; k++) {
        const uint8_t chunk[8] = {'M', 'T', 'r', 'k', 0, 0, (uint8_t)(t[k].n >> 8), (uint8_t)t[k].n};
        memcpy(buf + len, chunk, 8);
        memcpy(buf + len + 8, t[k].b, t[k].n);
        len += 8 + t[k].n;
    }
    save(dir, name, buf, len);
}

/* Seeds of fuzz_wav: 16-bit PCM WAV files. */
static void wav_seeds(const char *dir) {
    float x[64];
    for (int i = 0; i < 64; i++) x[i] = (float)(0.5 * sin(i * 0.3));
    char path[1024];
    snprintf(path, sizeof path, "%s/tone_mono.wav", dir);
    a2m_audio_write_wav(path, x, 64, 16000);
    static const uint8_t stereo[] = {'R', 'I', 'F',  'F',  56,   0,    0,    0,    'W',  'A',  'V',  'E',  'f',
                                     'm', 't', ' ',  16,   0,    0,    0,    1,    0,    2,    0,    0x44, 0xac,
                                     0,   0,   0x10, 0xb1, 2,    0,    4,    0,    16,   0,    'L',  'I',  'S',
                                     'T', 4,   0,    0,    0,    'I',  'N',  'F',  'O',  'd',  'a',  't',  'a',
                                     8,   0,   0,    0,    0x00, 0x80, 0xff, 0x7f, 0x01, 0x00, 0xff, 0xff};
    save(dir, "stereo_list.wav", stereo, sizeof stereo);
}

static void kernel_seed(const char *root) {
    char dir[900], path[1000];
    snprintf(dir, sizeof dir, "%s/fuzz_cqt_kernels", root);
    snprintf(path, sizeof path, "%s/small.tmp", dir);
    a2m_mkdirs(dir);
    a2m_cqt_params p = a2m_cqt_default_params();
    p.n_bins = 12, p.bins_per_octave = 6, p.fmin = 1000;
    a2m_cqt *c;
    uint8_t *buf;
    size_t len;
    if (a2m_cqt_new(p, 4000, &c) != 0) return;
    a2m_cqt_del(c);
    if (a2m_cqt_kernels_save(path) == 0 && a2m_read_file(path, &buf, &len, 1 << 20) == 0 && len > 4) {
        save(dir, "small", buf, len - 4);
        free(buf);
    }
    remove(path);
}

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    kernel_seed(argv[1]);
    char midi_dir[900], npy_dir[900], wav_dir[900];
    snprintf(midi_dir, sizeof midi_dir, "%s/fuzz_midi", argv[1]);
    snprintf(npy_dir, sizeof npy_dir, "%s/fuzz_npy", argv[1]);
    snprintf(wav_dir, sizeof wav_dir, "%s/fuzz_wav", argv[1]);
    a2m_mkdirs(midi_dir);
    a2m_mkdirs(npy_dir);
    a2m_mkdirs(wav_dir);
    wav_seeds(wav_dir);

    const a2m_note notes[] = {
        {0.05, 0.5, 60, 92, 0}, {0.5, 1.0, 64, 89, 0}, {0.9, 1.4, 67, 93, 0},
        {1.2, 3.5, 60, 70, 0},  {2.0, 2.1, 60, 50, 0},
    };
    const struct {
        int tpb;
        double bpm;
        size_t n;
    } variants[] = {{96, 120, 5}, {480, 90, 3}, {24, 200, 1}, {960, 60, 0}};
    for (size_t v = 0; v < sizeof variants / sizeof variants[0]; v++) {
        a2m_midi_write_params p = a2m_midi_write_default_params();
        p.ticks_per_beat = variants[v].tpb;
        p.tempo_bpm = variants[v].bpm;
        uint8_t *buf;
        size_t len;
        if (a2m_midi_encode(notes, variants[v].n, p, &buf, &len) == 0) {
            char name[64];
            snprintf(name, sizeof name, "encoded_%zu.mid", v);
            save(midi_dir, name, buf, len);
            free(buf);
        }
    }
    /* running status, sysex F0/F7, meta text, velocity-0 note-off, tempo change, pitch bend */
    static const uint8_t running[] = {0,    0xff, 0x03, 3,    'v',  'o',  'x', 0,    0xf0, 3,  0x7e, 0x09,
                                      0xf7, 0,    0x90, 60,   100,  50,   64,  90,   50,   60, 0,    0,
                                      0xff, 0x51, 3,    0x03, 0xd0, 0x90, 0,   0xf7, 1,    1,  0,    0xe0,
                                      0,    64,   100,  0x80, 64,   0,    0,   0xff, 0x2f, 0};
    const struct track_body one[] = {{running, sizeof running}};
    save_smf(midi_dir, "running_status.mid", 0, 100, one, 1);
    /* format 1: tempo track + note track on channel 2 */
    static const uint8_t tempo_track[] = {0, 0xff, 0x51, 3, 0x0f, 0x42, 0x40, 50, 0xff, 0x2f, 0};
    static const uint8_t note_track[] = {100, 0x92, 64, 70, 7, 0x82, 64, 0, 0, 0xc2, 5, 0, 0xff, 0x2f, 0};
    const struct track_body two[] = {{tempo_track, sizeof tempo_track}, {note_track, sizeof note_track}};
    save_smf(midi_dir, "format1.mid", 1, 96, two, 2);

    static const float f32[6] = {1, -2.5f, 3, 0.25f, -0.0f, 1e-30f};
    static const double f64[3] = {1.5, -2, 3e300};
    static const int64_t i64[4] = {0, 1, 2, 3};
    static const int32_t i32[2] = {-7, 7};
    static const int16_t i16[3] = {-1, 0, 1};
    static const uint8_t u8[4] = {0, 1, 255, 7};
    size_t s2x3[2] = {2, 3}, s4[1] = {4}, s3[1] = {3}, s2[1] = {2}, s1x2x2[3] = {1, 2, 2}, s0[1] = {0};
    struct {
        const char *name;
        a2m_dtype t;
        int ndim;
        size_t *shape;
        const void *data;
    } arrays[] = {
        {"f32_2x3.npy", A2M_F32, 2, s2x3, f32}, {"f64_3.npy", A2M_F64, 1, s3, f64},
        {"i64_4.npy", A2M_I64, 1, s4, i64},     {"i32_2.npy", A2M_I32, 1, s2, i32},
        {"i16_3.npy", A2M_I16, 1, s3, i16},     {"u8_1x2x2.npy", A2M_U8, 3, s1x2x2, u8},
        {"f32_empty.npy", A2M_F32, 1, s0, f32},
    };
    for (size_t k = 0; k < sizeof arrays / sizeof arrays[0]; k++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", npy_dir, arrays[k].name);
        a2m_npy_save(path, arrays[k].t, arrays[k].ndim, arrays[k].shape, arrays[k].data);
    }
    /* Fortran order (numpy.save of a transposed view, as the librosa references are): [[0 1 2] [3 4 5]] */
    char path[1024], hdr[81] = "\x93NUMPY\x01\x00\x46\x00{'descr': '<i2', 'fortran_order': True, 'shape': (2, 3), }";
    size_t at = 10 + strlen(hdr + 10); /* the dict, spaces, the newline at byte 79 (data at 80) */
    memset(hdr + at, ' ', 79 - at), hdr[79] = '\n';
    static const int16_t col_major[6] = {0, 3, 1, 4, 2, 5};
    snprintf(path, sizeof path, "%s/i16_2x3_fortran.npy", npy_dir);
    FILE *fp = fopen(path, "wb");
    if (fp) fwrite(hdr, 1, 80, fp), fwrite(col_major, sizeof col_major, 1, fp), fclose(fp);
    return 0;
}
