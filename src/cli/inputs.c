/* The inputs of a batch command: folders expanded to the audio files under
 * them, and each input's output name. With -o DIR, a file argument writes
 * DIR/<its name>.mid and a folder argument is mirrored below DIR, so the
 * folder takes/ holding a/x.wav and b/x.wav gives DIR/a/x.mid and DIR/b/x.mid. */
#include "cli/inputs.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a2m/audio.h"
#include "a2m/error.h"
#include "a2m/io.h"
#include "core/grow.h"

/* Length of the folder part (with its '/') of path. */
static size_t dir_len(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? (size_t)(s - path) + 1 : 0;
}

/* Adds path; its output is named after the part of it past `root` characters. */
static int push_path(cli_inputs *r, size_t *cap, const char *path, size_t root) {
    size_t cp = *cap, cr = *cap; /* paths and roots grown together */
    if (a2m_grow(&r->paths, &cp, (size_t)r->n + 1, sizeof *r->paths, 16) ||
        a2m_grow(&r->roots, &cr, (size_t)r->n + 1, sizeof *r->roots, 16))
        return a2m_error(A2M_ERR_NOMEM, "out of memory");
    *cap = cp;
    r->roots[r->n] = root;
    if (!(r->paths[r->n] = strdup(path))) return a2m_error(A2M_ERR_NOMEM, "out of memory");
    r->n++;
    return A2M_OK;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Audio files under dir, recursively, in name order (hidden entries skipped). */
static int expand_dir(cli_inputs *r, size_t *cap, const char *dir, size_t root, int depth) {
    if (depth > 32) return a2m_error(A2M_ERR_RANGE, "%s: folders nested too deep", dir);
    DIR *dp = opendir(dir);
    if (!dp) return a2m_error(A2M_ERR_IO, "%s: cannot open the folder", dir);
    char **names = NULL;
    size_t n = 0, ncap = 0;
    int rc = A2M_OK;
    struct dirent *e;
    while (!rc && (e = readdir(dp))) {
        if (e->d_name[0] == '.') continue;
        if (a2m_grow(&names, &ncap, n + 1, sizeof *names, 64)) rc = a2m_error(A2M_ERR_NOMEM, "out of memory");
        if (!rc && !(names[n++] = strdup(e->d_name))) rc = a2m_error(A2M_ERR_NOMEM, "out of memory");
    }
    closedir(dp);
    if (!rc && n > 1) qsort(names, n, sizeof *names, cmp_str);
    size_t dl = strlen(dir);
    int slash = dl > 0 && dir[dl - 1] == '/';
    for (size_t i = 0; i < n && !rc; i++) {
        char path[PATH_MAX];
        if (snprintf(path, sizeof path, "%s%s%s", dir, slash ? "" : "/", names[i]) >= (int)sizeof path) continue;
        if (a2m_is_dir(path)) rc = expand_dir(r, cap, path, root, depth + 1);
        else if (a2m_audio_is_file_name(names[i])) rc = push_path(r, cap, path, root);
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    return rc;
}

int cli_inputs_expand(const char *const *args, int n_args, const char *out, cli_inputs *r) {
    memset(r, 0, sizeof *r);
    size_t cap = 0;
    int rc = A2M_OK, folders = 0;
    for (int i = 0; i < n_args && !rc; i++) {
        if (strcmp(args[i], "-") && a2m_is_dir(args[i])) {
            int before = r->n;
            folders++;
            size_t l = strlen(args[i]);
            rc = expand_dir(r, &cap, args[i], l + (l > 0 && args[i][l - 1] != '/'), 0);
            if (!rc && r->n == before) rc = a2m_error(A2M_ERR_EMPTY, "%s: no audio files in this folder", args[i]);
        } else {
            rc = push_path(r, &cap, args[i], dir_len(args[i]));
        }
    }
    if (!rc) r->midis = calloc((size_t)r->n + 1, sizeof *r->midis);
    if (!rc && !r->midis) rc = a2m_error(A2M_ERR_NOMEM, "out of memory");
    /* a trailing slash or an existing folder makes -o a folder even for one input */
    size_t ol = out ? strlen(out) : 0;
    int out_dir = out && ((ol && out[ol - 1] == '/') || a2m_is_dir(out));
    int single = r->n == 1 && !folders && !out_dir;
    for (int i = 0; i < r->n && !rc; i++) {
        char stem[PATH_MAX], midi[PATH_MAX + 8];
        snprintf(stem, sizeof stem, "%s", r->paths[i]);
        char *dot = strrchr(stem, '.'), *slash = strrchr(stem, '/');
        if (dot && (!slash || dot > slash)) *dot = '\0';
        if (single && out) snprintf(midi, sizeof midi, "%s", out);
        else if (out)
            snprintf(midi, sizeof midi, "%.*s/%s.mid", (int)(ol > 1 && out[ol - 1] == '/' ? ol - 1 : ol), out,
                     stem + r->roots[i]);
        else snprintf(midi, sizeof midi, "%s.mid", stem);
        if (!(r->midis[i] = strdup(midi))) rc = a2m_error(A2M_ERR_NOMEM, "out of memory");
    }
    /* two inputs must not write one output (x.wav and x.flac side by side, or an input given twice) */
    for (int i = 0; i < r->n && !rc; i++)
        for (int j = 0; j < i && !rc; j++)
            if (!strcmp(r->midis[i], r->midis[j]))
                rc = a2m_error(A2M_ERR_ARG, "%s and %s would both write %s", r->paths[j], r->paths[i], r->midis[i]);
    if (rc) cli_inputs_free(r);
    return rc;
}

void cli_inputs_free(cli_inputs *r) {
    for (int i = 0; i < r->n; i++) {
        free(r->paths[i]);
        if (r->midis) free(r->midis[i]);
    }
    free(r->paths), free(r->midis), free(r->roots);
    memset(r, 0, sizeof *r);
}
