/* Dataset builder and loader: folder of features.npy, labels.npy, index.json. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "a2m/audio.h"
#include "a2m/dataset.h"
#include "a2m/error.h"
#include "a2m/io.h"
#include "core/grow.h"
#include "core/npy_view.h"

a2m_dataset_params a2m_dataset_default_params(void) {
    a2m_dataset_params p;
    p.cqt = a2m_cqt_default_params();
    p.feat = a2m_feat_default_params();
    p.labels = a2m_label_default_params();
    p.take_seconds = 4.0;
    p.expect_frames = 666;
    return p;
}

/* Feature arrays a2m_dataset_load maps from their file (features.npy, MAP_PRIVATE: written elements are the
 * process's copies) instead of reading them: the page cache's pages are mapped as they are, where a read copies them
 * into fresh pages, and in the KVM guests this project runs in a fresh page's first write costs ~17 us at load ~5:
 * the seed set's 200 MB read and checksummed in 1.05 s of CPU time, mapped and checksummed in 0.17 s (minor faults
 * 49 k -> 3 k). The dataset keeps its mapping (features_map); a2m_dataset_free unmaps it, or frees features that
 * are not mapped (a2m_dataset_build's, a caller's). (A process-wide table of mappings did this before.) */
static void features_release(void *data, void *map, size_t map_len) {
    if (map) munmap(map, map_len);
    else free(data);
}

void a2m_dataset_free(a2m_dataset *d) {
    if (!d) return;
    if (d->names)
        for (size_t i = 0; i < d->n_takes; i++) free(d->names[i]);
    free(d->names), free(d->offsets), free(d->labels);
    features_release(d->features, d->features_map, d->features_map_len);
    memset(d, 0, sizeof *d);
}

long a2m_dataset_find(const a2m_dataset *d, const char *name) {
    for (size_t i = 0; i < d->n_takes; i++)
        if (strcmp(d->names[i], name) == 0) return (long)i;
    return -1;
}

typedef struct take_pair {
    char *name; /* audio base name */
    char *wav, *mid;
} take_pair;

static int cmp_pair(const void *a, const void *b) {
    return strcmp(((const take_pair *)a)->name, ((const take_pair *)b)->name);
}

int a2m_dataset_midi_partner(const char *dir, const char *take, char *out, size_t n) {
    char cand[2][4096];
    snprintf(cand[0], sizeof cand[0], "%s/%s.mid", dir, take);
    if (strncmp(take, "voice_", 6) == 0) snprintf(cand[1], sizeof cand[1], "%s/midi_%s.mid", dir, take + 6);
    else cand[1][0] = '\0';
    for (int i = 1; i >= 0; i--)
        if (cand[i][0] && a2m_path_exists(cand[i]) && snprintf(out, n, "%s", cand[i]) < (int)n) return 1;
    return 0;
}

/* The MIDI partner of an audio file as a malloc'd path (*mid NULL when there is none). */
static int midi_partner(const char *dir, const char *base, char **mid) {
    char path[4096];
    *mid = NULL;
    if (!a2m_dataset_midi_partner(dir, base, path, sizeof path)) return A2M_OK;
    *mid = strdup(path);
    return *mid ? A2M_OK : a2m_error(A2M_ERR_NOMEM, "%s: out of memory", dir);
}

/* Appends line + '\n' to *text (NULL text: warnings not wanted). */
static int append(char **text, const char *line) {
    if (!text) return A2M_OK;
    size_t a = *text ? strlen(*text) : 0, b = strlen(line);
    char *n = realloc(*text, a + b + 2);
    if (!n) return a2m_error(A2M_ERR_NOMEM, "dataset warnings: out of memory");
    memcpy(n + a, line, b);
    n[a + b] = '\n';
    n[a + b + 1] = '\0';
    *text = n;
    return A2M_OK;
}

static void free_pairs(take_pair *pairs, size_t n) {
    for (size_t i = 0; i < n; i++) free(pairs[i].name), free(pairs[i].wav), free(pairs[i].mid);
    free(pairs);
}

/* The audio files of dir with a MIDI partner; every allocation checked (a failure once built a partial dataset). */
static int collect_pairs(const char *dir, DIR *dp, take_pair **out, size_t *out_n, char **warnings) {
    take_pair *pairs = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    char line[8192];
    int rc = A2M_OK;
    while (!rc && (de = readdir(dp))) {
        const char *f = de->d_name;
        if (!a2m_audio_is_file_name(f)) continue;
        char base[4096];
        snprintf(base, sizeof base, "%s", f);
        *strrchr(base, '.') = '\0';
        char *mid;
        if ((rc = midi_partner(dir, base, &mid))) break;
        if (!mid) {
            snprintf(line, sizeof line, "%s/%s: no paired MIDI file, skipped", dir, f);
            rc = append(warnings, line);
            continue;
        }
        if (a2m_grow(&pairs, &cap, n + 1, sizeof *pairs, 64)) {
            free(mid);
            rc = a2m_error(A2M_ERR_NOMEM, "%s: out of memory", dir);
            break;
        }
        char wav[8192];
        snprintf(wav, sizeof wav, "%s/%s", dir, f);
        pairs[n++] = (take_pair){strdup(base), strdup(wav), mid};
        if (!pairs[n - 1].name || !pairs[n - 1].wav) rc = a2m_error(A2M_ERR_NOMEM, "%s: out of memory", dir);
    }
    if (rc) {
        free_pairs(pairs, n);
        return rc;
    }
    *out = pairs, *out_n = n;
    return A2M_OK;
}

/* What building keeps across takes: the transform (one for every take when they are cut to one length), the
 * cut take's samples, the features' capacity and their running sums (the global mean and std). */
typedef struct builder {
    const char *dir;
    a2m_dataset_params p;
    char **warnings;
    a2m_dataset *out;
    a2m_feat *cqt;
    float *x;       /* [samples]: a take cut or zero-padded, when samples > 0 */
    size_t samples; /* the take length, or 0 = each take its own */
    size_t fcap;    /* frames out->features and out->labels have room for */
    int nb;
    double sum, sum2;
} builder;

/* Features of take i's audio a (cut or padded to b->samples) into out->features at its offset; *frames. */
static int take_features(builder *b, size_t i, const char *wav, const a2m_audio *a, size_t *frames) {
    a2m_dataset *out = b->out;
    size_t len = b->samples ? b->samples : a->n;
    if (b->samples) { /* cut or zero-pad to the take length */
        size_t m = a->n < b->samples ? a->n : b->samples;
        memcpy(b->x, a->samples, m * sizeof *b->x);
        memset(b->x + m, 0, (b->samples - m) * sizeof *b->x);
    } else {
        a2m_feat_del(b->cqt);
        b->cqt = NULL;
        int rc = a2m_feat_new(b->p.cqt, b->p.feat, a->n, &b->cqt);
        if (rc) return rc;
    }
    *frames = a2m_feat_n_frames(b->cqt, len);
    if (b->p.expect_frames && *frames != b->p.expect_frames)
        return a2m_error(A2M_ERR_SHAPE, "%s: %zu frames, expected %zu", wav, *frames, b->p.expect_frames);
    size_t off = out->offsets[i], cf = b->fcap,
           cl = b->fcap; /* features [fcap x nb] and labels [fcap], grown together */
    if (a2m_grow(&out->features, &cf, off + *frames, b->nb * sizeof *out->features, 4096) ||
        a2m_grow(&out->labels, &cl, off + *frames, sizeof *out->labels, 4096))
        return a2m_error(A2M_ERR_NOMEM, "%s: out of memory", b->dir);
    b->fcap = cf;
    int rc = a2m_feat_do(b->cqt, b->samples ? b->x : a->samples, len, out->features + off * b->nb);
    if (rc) a2m_error_prefix(rc, wav);
    return rc;
}

/* Take i of the pairs: its features, its frame labels from the MIDI, the warnings (silent audio, notes outside the
 * class map), the running sums; out->n_takes counts it. */
static int build_take(builder *b, size_t i, const take_pair *pair) {
    a2m_dataset *out = b->out;
    char line[8192];
    a2m_audio a;
    int rc = a2m_audio_read(pair->wav, b->p.cqt.sample_rate, &a);
    if (rc) return rc;
    if (a2m_audio_is_silent(&a))
        snprintf(line, sizeof line, "%s: silent audio", pair->wav), rc = append(b->warnings, line);
    size_t frames = 0, off = out->offsets[i];
    if (!rc) rc = take_features(b, i, pair->wav, &a, &frames);
    a2m_audio_free(&a);
    if (rc) return rc;
    a2m_notes notes;
    if ((rc = a2m_midi_read(pair->mid, &notes))) return rc;
    size_t unmapped = 0;
    rc = a2m_labels_from_notes(notes.notes, notes.n, b->p.labels, out->labels + off, frames, &unmapped);
    if (!rc && (notes.n == 0 || unmapped)) {
        snprintf(line, sizeof line, "%s: %zu notes, %zu not in the class map", pair->mid, notes.n, unmapped);
        rc = append(b->warnings, line);
    }
    a2m_notes_free(&notes);
    if (rc) return rc;
    for (size_t j = 0; j < frames * b->nb; j++) {
        double v = out->features[off * b->nb + j];
        b->sum += v, b->sum2 += v * v;
    }
    if (!(out->names[i] = strdup(pair->name))) return a2m_error(A2M_ERR_NOMEM, "%s: out of memory", b->dir);
    out->offsets[i + 1] = off + frames;
    out->n_takes = i + 1;
    return A2M_OK;
}

/* One transform for takes cut to p.take_seconds (checked against p.expect_frames), the names, offsets and buffer. */
static int builder_start(builder *b, size_t n) {
    const a2m_dataset_params *p = &b->p;
    b->samples = p->take_seconds > 0 ? (size_t)(p->take_seconds * p->cqt.sample_rate + 0.5) : 0;
    b->nb = a2m_feat_dim(p->cqt, p->feat);
    int rc = b->samples ? a2m_feat_new(p->cqt, p->feat, b->samples, &b->cqt) : A2M_OK;
    size_t frames_each = b->cqt ? a2m_feat_n_frames(b->cqt, b->samples) : 0;
    if (!rc && p->expect_frames && frames_each && frames_each != p->expect_frames)
        return a2m_error(A2M_ERR_SHAPE, "%s: %.3f s takes give %zu frames, not the expected %zu", b->dir,
                         p->take_seconds, frames_each, p->expect_frames);
    b->out->names = calloc(n ? n : 1, sizeof *b->out->names);
    b->out->offsets = calloc(n + 1, sizeof *b->out->offsets);
    b->x = b->samples ? calloc(b->samples, sizeof *b->x) : NULL;
    if (!rc && (!b->out->names || !b->out->offsets || (b->samples && !b->x)))
        rc = a2m_error(A2M_ERR_NOMEM, "%s: out of memory", b->dir);
    return rc;
}

/* The dataset's totals: frames, global mean and std of the features, class counts, the parameters. */
static void builder_finish(builder *b) {
    a2m_dataset *out = b->out;
    out->total_frames = out->offsets[out->n_takes];
    out->n_bins = b->nb;
    double cnt = (double)out->total_frames * b->nb;
    out->mean = b->sum / cnt;
    out->std = sqrt(b->sum2 / cnt - out->mean * out->mean);
    out->cqt = b->p.cqt;
    out->feat = b->p.feat;
    out->labels_p = b->p.labels;
    out->take_seconds = b->p.take_seconds;
    for (size_t f = 0; f < out->total_frames; f++)
        if (out->labels[f] >= 0 && out->labels[f] < A2M_MAX_CLASSES) out->class_counts[out->labels[f]]++;
}

int a2m_dataset_build(const char *dir, a2m_dataset_params p, a2m_progress_fn progress, void *user, a2m_dataset *out,
                      char **warnings) {
    memset(out, 0, sizeof *out);
    if (warnings) *warnings = NULL;
    if (!a2m_is_dir(dir)) return a2m_error(A2M_ERR_IO, "%s: not a folder", dir);
    DIR *dp = opendir(dir);
    if (!dp) return a2m_error(A2M_ERR_IO, "%s: cannot open folder", dir);
    take_pair *pairs = NULL;
    size_t n = 0;
    int rc = collect_pairs(dir, dp, &pairs, &n, warnings);
    closedir(dp);
    if (!rc && n == 0) rc = a2m_error(A2M_ERR_EMPTY, "%s: no audio file with a paired MIDI file", dir);
    if (!rc) qsort(pairs, n, sizeof *pairs, cmp_pair);
    builder b = {.dir = dir, .p = p, .warnings = warnings, .out = out};
    if (!rc) rc = builder_start(&b, n);
    for (size_t i = 0; i < n && !rc; i++) {
        rc = build_take(&b, i, &pairs[i]);
        if (!rc && progress) progress(user, i + 1, n, pairs[i].name);
    }
    a2m_feat_del(b.cqt);
    free(b.x);
    free_pairs(pairs, n);
    if (rc) {
        a2m_dataset_free(out);
        return rc;
    }
    builder_finish(&b);
    return A2M_OK;
}

/* zlib's CRC-32 of any length (its crc32 takes at most 4 GiB a call) */
static uint32_t buf_crc(const uint8_t *buf, size_t len) {
    uint32_t c = 0;
    for (size_t pos = 0; pos < len;) {
        uInt chunk = (uInt)(len - pos > (1u << 30) ? (1u << 30) : len - pos);
        c = (uint32_t)crc32(c, buf + pos, chunk);
        pos += chunk;
    }
    return c;
}

/* CRC-32 of a file into *crc; the read's error (A2M_ERR_NOMEM stays A2M_ERR_NOMEM) otherwise. */
static int file_crc(const char *path, uint32_t *crc) {
    uint8_t *buf;
    size_t len;
    int rc = a2m_read_file(path, &buf, &len, (size_t)16 << 30);
    if (rc) return rc;
    *crc = buf_crc(buf, len);
    free(buf);
    return A2M_OK;
}

enum { MAX_PARTS = 16 }; /* a file's CRC-32 in at most this many parts, one a thread */

/* Where part k of n bytes in np parts ends (part k starts where part k - 1 ends; part 0 at 0). */
static size_t part_end(size_t n, int np, int k) { return k == np - 1 ? n : n / (size_t)np * (size_t)(k + 1); }

/* The CRC-32 of n bytes from the CRC-32s c[0..np) of its parts (zlib's crc32_combine). */
static uint32_t parts_crc(const uint32_t *c, size_t n, int np) {
    uint32_t crc = c[0];
    for (int k = 1; k < np; k++)
        crc = (uint32_t)crc32_combine(crc, c[k], (z_off_t)(part_end(n, np, k) - part_end(n, np, k - 1)));
    return crc;
}

/* A regular file's bytes read in np contiguous parts by np threads, each part's CRC-32 computed by the thread that
 * read it and the parts' CRCs joined (zlib's crc32_combine): the copy from the page cache, the first writes' page
 * faults and the checksum of the seed set's 200 MB features were ~0.15 s of CPU time at every `a2m train` start
 * (perf), all of it serial. A2M_ERR_NOMEM, or A2M_ERR_IO (the caller names the file). */
static int read_parts(const char *path, int np, uint8_t **out, size_t *len, uint32_t *crc) {
    np = np < 1 ? 1 : np > MAX_PARTS ? MAX_PARTS : np;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > ((uint64_t)16 << 30)) {
        if (fd >= 0) close(fd);
        return A2M_ERR_IO;
    }
    size_t n = (size_t)st.st_size;
    uint8_t *b = malloc(n ? n : 1);
    if (!b) {
        close(fd);
        return A2M_ERR_NOMEM;
    }
    uint32_t c[MAX_PARTS];
    int bad = 0;
#pragma omp parallel for num_threads(np) schedule(static) reduction(| : bad)
    for (int k = 0; k < np; k++) {
        size_t o = k ? part_end(n, np, k - 1) : 0, e = part_end(n, np, k);
        c[k] = 0;
        for (size_t at = o; at < e && !bad;) {
            ssize_t r = pread(fd, b + at, e - at, (off_t)at);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) bad = 1; /* an error, or the file shorter than it was */
            else at += (size_t)r;
        }
        if (!bad) c[k] = buf_crc(b + o, e - o);
    }
    close(fd);
    if (bad) {
        free(b);
        return A2M_ERR_IO;
    }
    *crc = parts_crc(c, n, np);
    *out = b, *len = n;
    return A2M_OK;
}

/* dir's file name (path) as a .npy array once its CRC-32 is crc: one read for both (in n_threads parts), the array
 * in the read's buffer (a read for the check alone, then the parse's copy, were each 200 MB of copies and 49 k page
 * faults for the seed set's features, ~0.25 s of system time each, /usr/bin/time and perf stat, at every a2m train
 * start) */
static int npy_load_checked(const char *path, uint32_t crc, const char *dir, const char *name, a2m_array *a,
                            int n_threads) {
    uint8_t *buf;
    size_t len;
    uint32_t got = 0;
    int rc = n_threads > 1 ? read_parts(path, n_threads, &buf, &len, &got)
                           : a2m_read_file(path, &buf, &len, (size_t)16 << 30);
    if (rc == A2M_ERR_NOMEM) return a2m_error(rc, "%s: out of memory", path);
    if (!rc && n_threads <= 1) got = buf_crc(buf, len);
    if (!rc && got == crc) return a2m_npy_parse_take(buf, len, path, a);
    free(buf);
    return a2m_error(A2M_ERR_FORMAT, "%s: %s is missing or its checksum does not match", dir, name);
}

/* npy_load_checked by mapping path (features.npy): its CRC-32 in n_threads parts, then a little-endian float32
 * C-order array in place (the data 4-byte aligned in the file). 1 with *a filled and the mapping in *map, *map_len
 * (munmap it when done), -1 for a checksum that does not match, 0 when the file cannot be used so (the caller reads
 * it). */
static int npy_map_checked(const char *path, uint32_t crc, a2m_array *a, int n_threads, void **map, size_t *map_len) {
    int np = n_threads < 1 ? 1 : n_threads > MAX_PARTS ? MAX_PARTS : n_threads;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
        (uint64_t)st.st_size > ((uint64_t)16 << 30)) {
        if (fd >= 0) close(fd);
        return 0;
    }
    size_t n = (size_t)st.st_size, off = 0;
    uint8_t *m = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED) return 0;
    uint32_t c[MAX_PARTS];
#pragma omp parallel for num_threads(np) schedule(static)
    for (int k = 0; k < np; k++) {
        size_t o = k ? part_end(n, np, k - 1) : 0;
        c[k] = buf_crc(m + o, part_end(n, np, k) - o);
    }
    uint32_t got = parts_crc(c, n, np);
    int ok = got != crc ? -1 : a2m_npy_view(m, n, path, a, &off) || a->dtype != A2M_F32 || off % 4 ? 0 : 1;
    if (ok == 1) {
        a->data = m + off, *map = m, *map_len = n;
        return 1;
    }
    munmap(m, n);
    memset(a, 0, sizeof *a);
    return ok;
}

static json_t *cqt_to_json(a2m_cqt_params c) {
    return json_pack("{s:f,s:i,s:f,s:i,s:i,s:f,s:f,s:f,s:b}", "sample_rate", c.sample_rate, "hop", c.hop, "fmin",
                     c.fmin, "n_bins", c.n_bins, "bins_per_octave", c.bins_per_octave, "ref", c.ref, "amin", c.amin,
                     "top_db", c.top_db, "drop_last_frame", c.drop_last_frame);
}

static json_t *feat_to_json(a2m_feat_params f) {
    return json_pack("{s:s,s:i,s:i,s:f,s:f,s:i,s:i,s:i,s:b}", "kind", a2m_feat_kind_name(f.kind), "n_fft", f.n_fft,
                     "n_mels", f.n_mels, "fmin", f.fmin, "fmax", f.fmax, "n_mfcc", f.n_mfcc, "order", f.order,
                     "frame_length", f.frame_length, "reflect_pad", f.reflect_pad);
}

/* "feature_params" of index.json; absent (datasets made before the kinds): the CQT. Checked as the
 * command line checks the options, and against n_bins. */
static int feat_from_json(const json_t *j, const char *dir, a2m_dataset *d) {
    d->feat = a2m_feat_default_params();
    if (!j)
        return d->n_bins == d->cqt.n_bins ? A2M_OK
                                          : a2m_error(A2M_ERR_FORMAT, "%s: n_bins differs from the CQT's", dir);
    a2m_feat_params *f = &d->feat;
    if (a2m_feat_kind_parse(json_string_value(json_object_get(j, "kind")), &f->kind))
        return a2m_error(A2M_ERR_FORMAT, "%s: index.json: unknown feature kind", dir);
    f->n_fft = (int)json_integer_value(json_object_get(j, "n_fft"));
    f->n_mels = (int)json_integer_value(json_object_get(j, "n_mels"));
    f->fmin = json_number_value(json_object_get(j, "fmin"));
    f->fmax = json_number_value(json_object_get(j, "fmax"));
    f->n_mfcc = (int)json_integer_value(json_object_get(j, "n_mfcc"));
    f->order = (int)json_integer_value(json_object_get(j, "order"));
    f->frame_length = (int)json_integer_value(json_object_get(j, "frame_length"));
    f->reflect_pad = json_is_true(json_object_get(j, "reflect_pad"));
    if (a2m_feat_check(d->cqt, *f)) return a2m_error(A2M_ERR_FORMAT, "%s: index.json: %s", dir, a2m_errmsg());
    if (a2m_feat_dim(d->cqt, *f) != d->n_bins)
        return a2m_error(A2M_ERR_FORMAT, "%s: index.json: n_bins %d is not the %d values of %s features", dir,
                         d->n_bins, a2m_feat_dim(d->cqt, *f), a2m_feat_kind_name(f->kind));
    return A2M_OK;
}

int a2m_dataset_save(const a2m_dataset *d, const char *dir) {
    char *tmp = a2m_temp_path_for(dir);
    if (!tmp) return a2m_error(A2M_ERR_NOMEM, "%s: out of memory", dir);
    int rc = a2m_mkdirs(tmp);
    char fpath[8192], lpath[8192], ipath[8192];
    snprintf(fpath, sizeof fpath, "%s/features.npy", tmp);
    snprintf(lpath, sizeof lpath, "%s/labels.npy", tmp);
    snprintf(ipath, sizeof ipath, "%s/index.json", tmp);
    size_t fshape[2] = {d->total_frames, (size_t)d->n_bins}, lshape[1] = {d->total_frames};
    if (!rc) rc = a2m_npy_save(fpath, A2M_F32, 2, fshape, d->features);
    if (!rc) rc = a2m_npy_save(lpath, A2M_I64, 1, lshape, d->labels);
    uint32_t cf = 0, cl = 0;
    if (!rc && (rc = file_crc(fpath, &cf)) == A2M_OK) rc = file_crc(lpath, &cl);
    if (!rc) {
        json_t *names = json_array(), *frames = json_array(), *notes = json_array(), *counts = json_array();
        for (size_t i = 0; i < d->n_takes; i++) {
            json_array_append_new(names, json_string(d->names[i]));
            json_array_append_new(frames, json_integer((json_int_t)(d->offsets[i + 1] - d->offsets[i])));
        }
        for (int k = 0; k < d->labels_p.n_notes; k++) json_array_append_new(notes, json_integer(d->labels_p.notes[k]));
        for (int k = 0; k < a2m_label_n_classes(&d->labels_p); k++)
            json_array_append_new(counts, json_integer(d->class_counts[k]));
        json_t *root = json_pack(
            "{s:s,s:i,s:o,s:o,s:I,s:i,s:f,s:f,s:f,s:o,s:{s:o,s:i,s:f,s:i,s:i,s:b},s:o,s:{s:s,s:I,s:s,s:I}}", "format",
            "a2m-dataset", "version", A2M_DATASET_VERSION, "names", names, "frames", frames, "total_frames",
            (json_int_t)d->total_frames, "n_bins", d->n_bins, "mean", d->mean, "std", d->std, "take_seconds",
            d->take_seconds, "cqt", cqt_to_json(d->cqt), "labels", "notes", notes, "transpose", d->labels_p.transpose,
            "sample_rate", d->labels_p.sample_rate, "hop", d->labels_p.hop, "onset_frames", d->labels_p.onset_frames,
            "range_classes", d->labels_p.range_classes != 0, "class_counts", counts, "files", "features",
            "features.npy", "features_crc32", (json_int_t)cf, "labels", "labels.npy", "labels_crc32", (json_int_t)cl);
        if (root && json_object_set_new(root, "feature_params", feat_to_json(d->feat))) json_decref(root), root = NULL;
        if (!root || json_dump_file(root, ipath, JSON_INDENT(1)) != 0)
            rc = a2m_error(A2M_ERR_IO, "%s: cannot write index.json", dir);
        json_decref(root);
    }
    if (!rc) {
        /* replace an older dataset folder: move it aside, rename, then remove */
        if (a2m_path_exists(dir)) {
            char old[8192];
            snprintf(old, sizeof old, "%s.old.%ld", dir, (long)getpid());
            if (rename(dir, old) == 0) {
                char p1[8300];
                const char *files[] = {"features.npy", "labels.npy", "index.json"};
                for (int i = 0; i < 3; i++) snprintf(p1, sizeof p1, "%s/%s", old, files[i]), unlink(p1);
                rmdir(old);
            }
        }
        if (rename(tmp, dir) != 0) rc = a2m_error(A2M_ERR_IO, "%s: cannot move the dataset into place", dir);
    }
    if (rc) { unlink(fpath), unlink(lpath), unlink(ipath), rmdir(tmp); }
    free(tmp);
    return rc;
}

/* 86 lines, over the 80 of the rule on purpose: index.json's fields are checked in the order they are read, against
 * the arrays' shapes and checksums, each failure naming the folder and the field. */
int a2m_dataset_load_threads(const char *dir, int n_threads, a2m_dataset *d) {
    memset(d, 0, sizeof *d);
    char ipath[8192], fpath[8192], lpath[8192];
    snprintf(ipath, sizeof ipath, "%s/index.json", dir);
    snprintf(fpath, sizeof fpath, "%s/features.npy", dir);
    snprintf(lpath, sizeof lpath, "%s/labels.npy", dir);
    if (!a2m_is_dir(dir)) return a2m_error(A2M_ERR_IO, "%s: not a dataset folder", dir);
    json_error_t jerr;
    json_t *root = json_load_file(ipath, 0, &jerr);
    if (!root) return a2m_error(A2M_ERR_FORMAT, "%s: cannot read index.json (%s)", dir, jerr.text);
    int rc = A2M_OK;
    json_t *names = json_object_get(root, "names"), *frames = json_object_get(root, "frames");
    json_t *cq = json_object_get(root, "cqt"), *lb = json_object_get(root, "labels"),
           *files = json_object_get(root, "files");
    int version = (int)json_integer_value(json_object_get(root, "version"));
    if (version != A2M_DATASET_VERSION || !json_is_array(names) || !json_is_array(frames) || !cq || !lb || !files ||
        json_array_size(names) != json_array_size(frames))
        rc = a2m_error(A2M_ERR_FORMAT, "%s: index.json is not an a2m dataset of version %d", dir, A2M_DATASET_VERSION);
    a2m_array fa = {0}, la = {0};
    uint32_t fcrc = (uint32_t)json_integer_value(json_object_get(files, "features_crc32"));
    void *map = NULL;
    size_t map_len = 0;
    int mapped = rc ? 0 : npy_map_checked(fpath, fcrc, &fa, n_threads, &map, &map_len);
    if (mapped < 0) rc = a2m_error(A2M_ERR_FORMAT, "%s: features.npy is missing or its checksum does not match", dir);
    else if (!rc && !mapped) rc = npy_load_checked(fpath, fcrc, dir, "features.npy", &fa, n_threads);
    if (!rc)
        rc = npy_load_checked(lpath, (uint32_t)json_integer_value(json_object_get(files, "labels_crc32")), dir,
                              "labels.npy", &la, n_threads);
    if (!rc) {
        d->n_takes = json_array_size(names);
        d->names = calloc(d->n_takes ? d->n_takes : 1, sizeof *d->names);
        d->offsets = calloc(d->n_takes + 1, sizeof *d->offsets);
        if (!d->names || !d->offsets) rc = a2m_error(A2M_ERR_NOMEM, "%s: out of memory", dir);
        for (size_t i = 0; i < d->n_takes && !rc; i++) { /* unchecked, a failure read as a shape mismatch */
            const char *nm = json_string_value(json_array_get(names, i));
            if (!(d->names[i] = strdup(nm ? nm : ""))) rc = a2m_error(A2M_ERR_NOMEM, "%s: out of memory", dir);
            d->offsets[i + 1] = d->offsets[i] + (size_t)json_integer_value(json_array_get(frames, i));
        }
        d->total_frames = d->offsets ? d->offsets[d->n_takes] : 0;
        d->n_bins = (int)json_integer_value(json_object_get(root, "n_bins"));
        if (!rc &&
            (fa.dtype != A2M_F32 || fa.ndim != 2 || fa.shape[0] != d->total_frames ||
             fa.shape[1] != (size_t)d->n_bins || la.dtype != A2M_I64 || la.ndim != 1 || la.shape[0] != d->total_frames))
            rc = a2m_error(A2M_ERR_SHAPE, "%s: features/labels shapes do not match index.json", dir);
    }
    if (!rc) {
        d->features = fa.data, d->labels = la.data, d->features_map = map, d->features_map_len = map_len;
        fa.data = la.data = map = NULL;
        d->mean = json_real_value(json_object_get(root, "mean"));
        d->std = json_real_value(json_object_get(root, "std"));
        d->take_seconds = json_real_value(json_object_get(root, "take_seconds"));
        d->cqt.sample_rate = json_real_value(json_object_get(cq, "sample_rate"));
        d->cqt.hop = (int)json_integer_value(json_object_get(cq, "hop"));
        d->cqt.fmin = json_real_value(json_object_get(cq, "fmin"));
        d->cqt.n_bins = (int)json_integer_value(json_object_get(cq, "n_bins"));
        d->cqt.bins_per_octave = (int)json_integer_value(json_object_get(cq, "bins_per_octave"));
        d->cqt.ref = json_real_value(json_object_get(cq, "ref"));
        d->cqt.amin = json_real_value(json_object_get(cq, "amin"));
        d->cqt.top_db = json_real_value(json_object_get(cq, "top_db"));
        d->cqt.drop_last_frame = json_is_true(json_object_get(cq, "drop_last_frame"));
        rc = feat_from_json(json_object_get(root, "feature_params"), dir, d);
        d->labels_p = a2m_label_default_params();
        json_t *notes = json_object_get(lb, "notes");
        d->labels_p.n_notes = (int)json_array_size(notes);
        if (d->labels_p.n_notes >= A2M_MAX_CLASSES) rc = a2m_error(A2M_ERR_FORMAT, "%s: too many classes", dir);
        for (int k = 0; k < d->labels_p.n_notes && !rc; k++)
            d->labels_p.notes[k] = (int)json_integer_value(json_array_get(notes, k));
        d->labels_p.transpose = (int)json_integer_value(json_object_get(lb, "transpose"));
        d->labels_p.hop = (int)json_integer_value(json_object_get(lb, "hop"));
        d->labels_p.sample_rate = json_real_value(json_object_get(lb, "sample_rate"));
        json_int_t onset = json_integer_value(json_object_get(lb, "onset_frames")); /* absent (older datasets): 0 */
        if (onset < 0 || onset > 1000 || (onset > 0 && d->labels_p.n_notes + 2 > A2M_MAX_CLASSES))
            rc = a2m_error(A2M_ERR_FORMAT, "%s: bad onset_frames", dir);
        d->labels_p.onset_frames = (int)onset;
        d->labels_p.range_classes = json_is_true(json_object_get(lb, "range_classes")); /* absent: 0 */
        if (!rc && a2m_label_n_classes(&d->labels_p) > A2M_MAX_CLASSES)
            rc = a2m_error(A2M_ERR_FORMAT, "%s: too many classes", dir);
        for (size_t f = 0; f < d->total_frames && !rc; f++) {
            if (d->labels[f] < 0 || d->labels[f] >= a2m_label_n_classes(&d->labels_p))
                rc = a2m_error(A2M_ERR_FORMAT, "%s: label %lld out of range", dir, (long long)d->labels[f]);
            else d->class_counts[d->labels[f]]++;
        }
    }
    features_release(fa.data, map, map_len), a2m_array_free(&la);
    json_decref(root);
    if (rc) a2m_dataset_free(d);
    return rc;
}

int a2m_dataset_load(const char *dir, a2m_dataset *d) { return a2m_dataset_load_threads(dir, 1, d); }

int a2m_split_load(const char *path, const char *split, const a2m_dataset *d, size_t **idx, size_t *n) {
    *idx = NULL;
    *n = 0;
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root) return a2m_error(A2M_ERR_FORMAT, "%s: cannot read split file (%s)", path, jerr.text);
    json_t *arr = json_object_get(root, split);
    int rc = A2M_OK;
    if (!json_is_array(arr)) rc = a2m_error(A2M_ERR_FORMAT, "%s: no \"%s\" list", path, split);
    size_t m = rc ? 0 : json_array_size(arr);
    size_t *out = rc ? NULL : malloc((m ? m : 1) * sizeof *out);
    if (!rc && !out) rc = a2m_error(A2M_ERR_NOMEM, "%s: out of memory", path);
    for (size_t i = 0; i < m && !rc; i++) {
        const char *name = json_string_value(json_array_get(arr, i));
        long k = name ? a2m_dataset_find(d, name) : -1;
        if (!name) /* a number or list where a take name belongs: say which entry (it used to print take "?") */
            rc = a2m_error(A2M_ERR_FORMAT, "%s: entry %zu of split \"%s\" is not a take name (a string)", path, i + 1,
                           split);
        else if (k < 0)
            rc = a2m_error(A2M_ERR_FORMAT, "%s: take \"%s\" of split \"%s\" is not in the dataset", path, name, split);
        else out[i] = (size_t)k;
    }
    json_decref(root);
    if (rc) {
        free(out);
        return rc;
    }
    *idx = out;
    *n = m;
    return A2M_OK;
}
