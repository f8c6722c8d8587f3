/* src/data/dataset.c without audio: a dataset saved and loaded back is the same (names, frame offsets, features,
 * labels, normalisation, parameters); a features.npy changed after saving fails its checksum (the error names
 * the folder); a split file's unknown split, a take not in the dataset and a non-string entry are refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "a2m/dataset.h"
#include "a2m/error.h"
#include "a2m/io.h"
#include "check.h"
#include "synth_dataset.h"

enum { TAKES = 3, FRAMES = 20, BINS = 252 };

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (f) fputs(text, f), fclose(f);
}

static void test_round_trip(const a2m_dataset *d, const char *dir) {
    REQUIRE(a2m_dataset_save(d, dir) == A2M_OK, "save: %s", a2m_errmsg());
    a2m_dataset e;
    REQUIRE(a2m_dataset_load(dir, &e) == A2M_OK, "load: %s", a2m_errmsg());
    CHECK(e.n_takes == TAKES && e.total_frames == (size_t)TAKES * FRAMES && e.n_bins == BINS, "shape %zu %zu %d",
          e.n_takes, e.total_frames, e.n_bins);
    for (size_t t = 0; t < e.n_takes && t < TAKES; t++) CHECK(!strcmp(e.names[t], d->names[t]), "name %zu", t);
    CHECK(!memcmp(e.offsets, d->offsets, (TAKES + 1) * sizeof *e.offsets), "frame offsets");
    CHECK(!memcmp(e.features, d->features, (size_t)TAKES * FRAMES * BINS * sizeof *e.features), "features, every bit");
    CHECK(!memcmp(e.labels, d->labels, (size_t)TAKES * FRAMES * sizeof *e.labels), "labels");
    CHECK(e.mean == d->mean && e.std == d->std, "normalisation %g %g", e.mean, e.std);
    CHECK(e.cqt.hop == d->cqt.hop && e.cqt.n_bins == d->cqt.n_bins && e.take_seconds == d->take_seconds, "parameters");
    CHECK(a2m_dataset_find(&e, "take2") == 2 && a2m_dataset_find(&e, "take9") == -1, "find");
    /* the loaded features are the caller's to write (features.npy is mapped privately: not the file's), and
     * a2m_dataset_free releases them (an unmapped one freed, or a mapped one unmapped; ASan names a wrong free) */
    for (size_t i = 0; i < (size_t)TAKES * FRAMES * BINS; i++) e.features[i] = -1.0f;
    a2m_dataset_free(&e);
    REQUIRE(a2m_dataset_load(dir, &e) == A2M_OK, "load again: %s", a2m_errmsg());
    CHECK(!memcmp(e.features, d->features, (size_t)TAKES * FRAMES * BINS * sizeof *e.features),
          "features written after a load: the file's unchanged");
    a2m_dataset_free(&e);
    /* each loaded dataset holds its own mapping (a process-wide table of 64 did before: the 65th was read) */
    enum { OPEN = 70 };
    a2m_dataset *many = calloc(OPEN, sizeof *many);
    REQUIRE(many != NULL, "datasets");
    int inside = 0;
    for (int k = 0; k < OPEN; k++) {
        REQUIRE(a2m_dataset_load(dir, &many[k]) == A2M_OK, "load %d: %s", k, a2m_errmsg());
        const char *m = many[k].features_map, *f = (const char *)many[k].features;
        inside += m && f > m && f + (size_t)TAKES * FRAMES * BINS * sizeof(float) <= m + many[k].features_map_len;
    }
    CHECK(inside == OPEN, "%d datasets open at once: %d have their features in their own mapping", OPEN, inside);
    for (int k = 0; k < OPEN; k++) a2m_dataset_free(&many[k]);
    CHECK(!many[0].features_map && !many[0].features, "freed: the mapping released");
    free(many);
    for (int nt = 2; nt <= 5; nt += 3) { /* read and checksummed in parts (CRCs joined), the same arrays */
        REQUIRE(a2m_dataset_load_threads(dir, nt, &e) == A2M_OK, "load on %d threads: %s", nt, a2m_errmsg());
        CHECK(e.total_frames == (size_t)TAKES * FRAMES &&
                  !memcmp(e.features, d->features, (size_t)TAKES * FRAMES * BINS * sizeof *e.features) &&
                  !memcmp(e.labels, d->labels, (size_t)TAKES * FRAMES * sizeof *e.labels),
              "%d threads: the same features and labels", nt);
        a2m_dataset_free(&e);
    }
}

static void test_checksum(const char *dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/features.npy", dir);
    FILE *f = fopen(path, "r+b");
    REQUIRE(f != NULL, "open %s", path);
    fseek(f, -5, SEEK_END); /* the last feature's bytes: still a valid .npy, other values */
    int c = fgetc(f);
    fseek(f, -5, SEEK_END);
    fputc(c ^ 0x40, f);
    fclose(f);
    a2m_dataset e;
    CHECK(a2m_dataset_load(dir, &e) == A2M_ERR_FORMAT, "changed features.npy refused");
    CHECK(strstr(a2m_errmsg(), dir) && strstr(a2m_errmsg(), "checksum"), "message: %s", a2m_errmsg());
    CHECK(a2m_dataset_load_threads(dir, 2, &e) == A2M_ERR_FORMAT, "changed features.npy refused (2 threads)");
    CHECK(strstr(a2m_errmsg(), dir) && strstr(a2m_errmsg(), "checksum"), "message: %s", a2m_errmsg());
}

static void test_splits(const a2m_dataset *d) {
    const char *split = test_tmp("split.json");
    size_t *idx = NULL, n = 0;
    write_text(split, "{\"train\": [\"take0\", \"take2\"], \"val\": [\"take1\"]}");
    CHECK(a2m_split_load(split, "train", d, &idx, &n) == A2M_OK && n == 2 && idx[0] == 0 && idx[1] == 2, "train");
    free(idx);
    CHECK(a2m_split_load(split, "test", d, &idx, &n) == A2M_ERR_FORMAT, "unknown split refused");
    CHECK(strstr(a2m_errmsg(), split) && strstr(a2m_errmsg(), "test"), "message: %s", a2m_errmsg());
    write_text(split, "{\"train\": [\"take0\", \"take7\"]}");
    CHECK(a2m_split_load(split, "train", d, &idx, &n) == A2M_ERR_FORMAT && strstr(a2m_errmsg(), "take7"),
          "a take not in the dataset: %s", a2m_errmsg());
    write_text(split, "{\"train\": [\"take0\", 3]}");
    CHECK(a2m_split_load(split, "train", d, &idx, &n) == A2M_ERR_FORMAT, "a number as a take refused");
    write_text(split, "{\"train\": [\"take0\"");
    CHECK(a2m_split_load(split, "train", d, &idx, &n) == A2M_ERR_FORMAT, "truncated JSON refused");
    remove(split);
}

int main(void) {
    a2m_dataset d;
    make_synth_dataset(&d, TAKES, FRAMES, BINS);
    d.feat = a2m_feat_default_params();
    d.take_seconds = 4.0;
    char dir[256];
    snprintf(dir, sizeof dir, "%s", test_tmp("dataset"));
    test_round_trip(&d, dir);
    test_checksum(dir);
    test_splits(&d);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    a2m_dataset_free(&d);
    return test_done("test_dataset");
}
