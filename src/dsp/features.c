#include <stdlib.h>

#include "a2m/audio.h"
#include "a2m/cqt.h"
#include "a2m/error.h"
#include "dsp/cqt_internal.h"

int a2m_cqt_db_file(a2m_cqt *c, const char *path, float **db, size_t *n_frames) {
    *db = NULL;
    *n_frames = 0;
    a2m_audio a;
    int rc = a2m_audio_read(path, c->p.sample_rate, &a);
    if (rc) return rc;
    size_t frames = a2m_cqt_n_frames(c, a.n);
    if (frames == 0) rc = a2m_error(A2M_ERR_RANGE, "%s: shorter than one frame", path);
    else if ((rc = a2m_cqt_reserve(c, a.n))) a2m_error_prefix(rc, path);
    else if (!(*db = malloc(frames * (size_t)c->p.n_bins * sizeof **db)))
        rc = a2m_error(A2M_ERR_NOMEM, "%s: out of memory", path);
    else if ((rc = a2m_cqt_db(c, a.samples, a.n, *db))) {
        free(*db);
        *db = NULL;
        a2m_error_prefix(rc, path);
    } else *n_frames = frames;
    a2m_audio_free(&a);
    return rc;
}

int a2m_cqt_db_from_file(const char *path, a2m_cqt_params p, float **db, size_t *n_frames) {
    *db = NULL;
    *n_frames = 0;
    a2m_cqt *c = NULL;
    int rc = a2m_cqt_new(p, 1, &c); /* grown to the file's length once it is read */
    if (!rc) rc = a2m_cqt_db_file(c, path, db, n_frames);
    a2m_cqt_del(c);
    return rc;
}
