/* The study: its settings, trials, parameters and intermediate values in a database (db.h), shared by
 * every worker. Each change is one short transaction, so a worker killed at any point leaves the study
 * consistent: its running trial stops sending heartbeats and the next worker marks it failed and re-runs it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "a2m/error.h"
#include "a2m/search.h"
#include "search/db.h"

struct a2m_study {
    sdb *db;
    char id[24];
    a2m_study_info info;
};

static const char *schema[] = {
    "CREATE TABLE IF NOT EXISTS studies (id %s, name TEXT NOT NULL UNIQUE, objective TEXT NOT NULL, "
    "direction TEXT NOT NULL, sampler TEXT NOT NULL, pruner TEXT NOT NULL, seed BIGINT NOT NULL, "
    "epochs INTEGER NOT NULL, dataset TEXT NOT NULL, splits TEXT NOT NULL, space TEXT NOT NULL, "
    "created DOUBLE PRECISION NOT NULL)",
    "CREATE TABLE IF NOT EXISTS trials (id %s, study_id BIGINT NOT NULL REFERENCES studies(id), "
    "number INTEGER NOT NULL, state TEXT NOT NULL CHECK (state IN ('running', 'complete', 'pruned', 'failed')), "
    "value DOUBLE PRECISION, retry INTEGER NOT NULL DEFAULT 0, retry_of INTEGER, worker TEXT, "
    "started DOUBLE PRECISION, finished DOUBLE PRECISION, heartbeat DOUBLE PRECISION, UNIQUE (study_id, number))",
    "CREATE TABLE IF NOT EXISTS params (trial_id BIGINT NOT NULL REFERENCES trials(id), name TEXT NOT NULL, "
    "value DOUBLE PRECISION NOT NULL, label TEXT NOT NULL, PRIMARY KEY (trial_id, name))",
    "CREATE TABLE IF NOT EXISTS intermediate_values (trial_id BIGINT NOT NULL REFERENCES trials(id), "
    "step INTEGER NOT NULL, value DOUBLE PRECISION, PRIMARY KEY (trial_id, step))",
};

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void fmt_d(char *buf, double v) { snprintf(buf, 32, "%.17g", v); }

static int create_schema(sdb *db) {
    int rc = A2M_OK;
    for (size_t i = 0; i < sizeof schema / sizeof schema[0] && !rc; i++) {
        char sql[1024];
        snprintf(sql, sizeof sql, schema[i], sdb_is_pg(db) ? "BIGSERIAL PRIMARY KEY" : "INTEGER PRIMARY KEY");
        rc = sdb_exec(db, sql, 0, NULL, NULL);
    }
    return rc;
}

static int insert_study(a2m_study *st, const char *name, const a2m_study_info *w) {
    char *space = a2m_search_space_json(&w->space);
    if (!space) return A2M_ERR_NOMEM;
    char seed[32], epochs[32], created[32];
    snprintf(seed, sizeof seed, "%lld", w->seed), snprintf(epochs, sizeof epochs, "%d", w->epochs);
    fmt_d(created, now_s());
    const char *args[] = {name,       w->objective, strcmp(w->objective, "val_f1") ? "minimize" : "maximize",
                          w->sampler, w->pruner,    seed,
                          epochs,     w->dataset,   w->splits,
                          space,      created};
    int rc =
        sdb_exec(st->db,
                 "INSERT INTO studies (name, objective, direction, sampler, pruner, seed, epochs, dataset, splits, "
                 "space, created) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                 11, args, NULL);
    free(space);
    return rc;
}

/* Reads the study row into st->info; 1 when there is none. */
static int read_study(a2m_study *st, const char *name, int *missing) {
    sdb_rows r;
    const char *args[] = {name};
    int rc = sdb_exec(st->db,
                      "SELECT id, objective, sampler, pruner, seed, epochs, dataset, splits, space FROM studies "
                      "WHERE name = $1",
                      1, args, &r);
    if (rc) return rc;
    *missing = r.n_rows == 0;
    for (int j = 0; !*missing && j < 9; j++)
        if (!sdb_cell(&r, 0, j)) rc = a2m_error(A2M_ERR_FORMAT, "study %s: a setting is NULL", name);
    if (!*missing && !rc) {
        a2m_study_info *in = &st->info;
        snprintf(st->id, sizeof st->id, "%s", sdb_cell(&r, 0, 0));
        snprintf(in->objective, sizeof in->objective, "%s", sdb_cell(&r, 0, 1));
        snprintf(in->sampler, sizeof in->sampler, "%s", sdb_cell(&r, 0, 2));
        snprintf(in->pruner, sizeof in->pruner, "%s", sdb_cell(&r, 0, 3));
        in->seed = atoll(sdb_cell(&r, 0, 4)), in->epochs = atoi(sdb_cell(&r, 0, 5));
        snprintf(in->dataset, sizeof in->dataset, "%s", sdb_cell(&r, 0, 6));
        snprintf(in->splits, sizeof in->splits, "%s", sdb_cell(&r, 0, 7));
        const char *sp = sdb_cell(&r, 0, 8);
        rc = a2m_search_space_parse(sp, strlen(sp), "the study's stored space", &in->space);
    }
    sdb_rows_free(&r);
    return rc;
}

/* The settings an existing study was made with must be the ones asked for. */
static int check_same(const a2m_study_info *have, const a2m_study_info *want, const char *target) {
    char *a = a2m_search_space_json(&have->space), *b = a2m_search_space_json(&want->space);
    int rc = A2M_OK;
    if (!a || !b) rc = A2M_ERR_NOMEM;
    else if (strcmp(have->objective, want->objective))
        rc = a2m_error(A2M_ERR_ARG, "%s: the study optimises %s, not %s", target, have->objective, want->objective);
    else if (have->epochs != want->epochs)
        rc = a2m_error(A2M_ERR_ARG, "%s: the study trains %d epochs, not %d", target, have->epochs, want->epochs);
    else if (strcmp(a, b)) rc = a2m_error(A2M_ERR_ARG, "%s: the study was made with another search space", target);
    free(a), free(b);
    return rc;
}

static int study_open(const char *target, const char *name, const a2m_study_info *want, int create, a2m_study **out,
                      a2m_study_info *info) {
    *out = NULL;
    a2m_study *st = calloc(1, sizeof *st);
    if (!st) return a2m_error(A2M_ERR_NOMEM, "out of memory");
    int rc = sdb_open(target, create, &st->db), missing = 1;
    if (!rc && (rc = sdb_begin(st->db)) == A2M_OK) {
        if (create) rc = create_schema(st->db);
        if (!rc) rc = read_study(st, name, &missing);
        if (!rc && missing && create) {
            rc = insert_study(st, name, want);
            if (!rc) rc = read_study(st, name, &missing);
        } else if (!rc && !missing && want) {
            rc = check_same(&st->info, want, target);
        }
        if (!rc && missing) rc = a2m_error(A2M_ERR_EMPTY, "%s: no study named %s", target, name);
        if (!rc) rc = sdb_commit(st->db);
        if (rc) sdb_rollback(st->db);
    }
    if (rc) {
        a2m_study_del(st);
        return rc;
    }
    if (info) *info = st->info;
    *out = st;
    return A2M_OK;
}

int a2m_study_new(const char *target, const char *name, const a2m_study_info *want, a2m_study **out,
                  a2m_study_info *info) {
    return study_open(target, name, want, 1, out, info);
}

int a2m_study_new_existing(const char *target, const char *name, a2m_study **out, a2m_study_info *info) {
    int rc = study_open(target, name, NULL, 0, out, info);
    /* a file that is no SQLite database says so in the first statement */
    return rc;
}

void a2m_study_del(a2m_study *st) {
    if (!st) return;
    sdb_close(st->db);
    free(st);
}

static int state_of(const char *s) {
    for (int k = 0; k < 4; k++)
        if (s && !strcmp(s, a2m_trial_state_name(k))) return k;
    return -1;
}

void a2m_search_trials_free(a2m_search_trial *trials, size_t n) {
    for (size_t i = 0; trials && i < n; i++) free(trials[i].steps);
    free(trials);
}

static double cell_d(const sdb_rows *r, int i, int j) {
    return sdb_cell(r, i, j) ? strtod(sdb_cell(r, i, j), NULL) : NAN;
}

/* Finds the trial of number (trials are in number order). */
static a2m_search_trial *by_number(a2m_search_trial *t, size_t n, int number) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (t[mid].number < number) lo = mid + 1;
        else hi = mid;
    }
    return lo < n && t[lo].number == number ? &t[lo] : NULL;
}

/* The rows of a query whose one argument ($1) is the study's id */
static int study_rows(a2m_study *st, const char *sql, sdb_rows *r) {
    return sdb_exec(st->db, sql, 1, (const char *[]){st->id}, r);
}

static int load_params(a2m_study *st, a2m_search_trial *t, size_t n) {
    sdb_rows r;
    int rc = study_rows(st,
                        "SELECT t.number, p.name, p.value FROM params p JOIN trials t ON t.id = p.trial_id "
                        "WHERE t.study_id = $1",
                        &r);
    for (int i = 0; !rc && i < r.n_rows; i++) {
        a2m_search_trial *tr = by_number(t, n, atoi(sdb_cell(&r, i, 0)));
        for (int k = 0; tr && k < st->info.space.n; k++)
            if (sdb_cell(&r, i, 1) && !strcmp(st->info.space.p[k].name, sdb_cell(&r, i, 1)))
                tr->params[k] = cell_d(&r, i, 2);
    }
    sdb_rows_free(&r);
    return rc;
}

static int load_steps(a2m_study *st, a2m_search_trial *t, size_t n) {
    sdb_rows r;
    int rc =
        study_rows(st,
                   "SELECT t.number, i.step, i.value FROM intermediate_values i JOIN trials t ON t.id = i.trial_id "
                   "WHERE t.study_id = $1 ORDER BY t.number, i.step",
                   &r);
    for (int i = 0; !rc && i < r.n_rows; i++) {
        a2m_search_trial *tr = by_number(t, n, atoi(sdb_cell(&r, i, 0)));
        int step = atoi(sdb_cell(&r, i, 1));
        if (!tr || step < 1 || step > 1000000) continue;
        if (step > tr->n_steps) {
            double *g = realloc(tr->steps, (size_t)step * sizeof *g);
            if (!g) {
                rc = a2m_error(A2M_ERR_NOMEM, "out of memory");
                break;
            }
            for (int k = tr->n_steps; k < step; k++) g[k] = NAN;
            tr->steps = g, tr->n_steps = step;
        }
        tr->steps[step - 1] = cell_d(&r, i, 2);
    }
    sdb_rows_free(&r);
    return rc;
}

int a2m_study_trials(a2m_study *st, a2m_search_trial **trials, size_t *n) {
    *trials = NULL, *n = 0;
    sdb_rows r;
    int rc = study_rows(
        st, "SELECT number, state, value, started, finished FROM trials WHERE study_id = $1 ORDER BY number", &r);
    if (rc) return rc;
    a2m_search_trial *t = calloc((size_t)r.n_rows + 1, sizeof *t);
    if (!t) rc = a2m_error(A2M_ERR_NOMEM, "out of memory");
    for (int i = 0; !rc && i < r.n_rows; i++) {
        t[i].number = atoi(sdb_cell(&r, i, 0)), t[i].state = state_of(sdb_cell(&r, i, 1));
        t[i].value = cell_d(&r, i, 2), t[i].started = cell_d(&r, i, 3), t[i].finished = cell_d(&r, i, 4);
        for (int k = 0; k < A2M_SEARCH_MAX_PARAMS; k++) t[i].params[k] = NAN;
    }
    size_t nt = (size_t)r.n_rows;
    sdb_rows_free(&r);
    if (!rc) rc = load_params(st, t, nt);
    if (!rc) rc = load_steps(st, t, nt);
    if (rc) a2m_search_trials_free(t, nt);
    else *trials = t, *n = nt;
    return rc;
}

int a2m_study_read(const char *target, const char *name, a2m_study_info *info, a2m_search_trial **trials, size_t *n) {
    *trials = NULL, *n = 0;
    a2m_study *st;
    int rc = a2m_study_new_existing(target, name, &st, info);
    if (rc) return rc;
    rc = a2m_study_trials(st, trials, n);
    a2m_study_del(st);
    return rc;
}

/* A count or id from a one-cell query (-1: no row). */
static int query_long(sdb *db, const char *sql, int n, const char *const *args, long long *out) {
    sdb_rows r;
    int rc = sdb_exec(db, sql, n, args, &r);
    *out = !rc && r.n_rows > 0 && sdb_cell(&r, 0, 0) ? atoll(sdb_cell(&r, 0, 0)) : -1;
    sdb_rows_free(&r);
    return rc;
}

/* Parameters for the next trial: a failed (killed, interrupted) trial's, else sampled from the history. */
static int choose_params(a2m_study *st, int number, a2m_tpe_params tp, double *values, long long *retry_of) {
    long long fid;
    const char *a1[] = {st->id};
    int rc =
        query_long(st->db,
                   "SELECT number FROM trials WHERE study_id = $1 AND state = 'failed' AND retry = 1 ORDER BY number "
                   "LIMIT 1",
                   1, a1, &fid);
    a2m_search_trial *t = NULL;
    size_t n = 0;
    if (!rc) rc = a2m_study_trials(st, &t, &n);
    *retry_of = fid;
    if (!rc && fid >= 0) {
        a2m_search_trial *f = by_number(t, n, (int)fid);
        for (int k = 0; f && k < st->info.space.n; k++) values[k] = f->params[k];
        char num[24];
        snprintf(num, sizeof num, "%lld", fid);
        const char *a2[] = {st->id, num};
        rc = sdb_exec(st->db, "UPDATE trials SET retry = 2 WHERE study_id = $1 AND number = $2", 2, a2, NULL);
    } else if (!rc) {
        uint64_t rng = (uint64_t)st->info.seed * 0x9E3779B97F4A7C15ull ^ ((uint64_t)number + 1) * 0xD1B54A32D192ED03ull;
        rc = a2m_search_sample(&st->info.space, t, n, !strcmp(st->info.objective, "val_f1"),
                               strcmp(st->info.sampler, "random") ? A2M_SAMPLER_TPE : A2M_SAMPLER_RANDOM, tp, &rng,
                               values);
    }
    a2m_search_trials_free(t, n);
    return rc;
}

static int insert_trial(a2m_study *st, int number, const char *worker, const double *values, long long retry_of,
                        long long *id) {
    char num[24], now[32], rof[24];
    snprintf(num, sizeof num, "%d", number), fmt_d(now, now_s()), snprintf(rof, sizeof rof, "%lld", retry_of);
    const char *a[] = {st->id, num, worker, now, retry_of >= 0 ? rof : NULL};
    int rc = query_long(st->db,
                        "INSERT INTO trials (study_id, number, state, worker, started, heartbeat, retry_of) "
                        "VALUES ($1, $2, 'running', $3, $4, $4, $5) RETURNING id",
                        5, a, id);
    for (int k = 0; !rc && k < st->info.space.n; k++) {
        char tid[24], v[32], label[64];
        snprintf(tid, sizeof tid, "%lld", *id), fmt_d(v, values[k]);
        a2m_search_format_value(&st->info.space.p[k], values[k], label, sizeof label);
        const char *pa[] = {tid, st->info.space.p[k].name, v, label};
        rc = sdb_exec(st->db, "INSERT INTO params (trial_id, name, value, label) VALUES ($1, $2, $3, $4)", 4, pa, NULL);
    }
    return rc;
}

int a2m_study_next_trial(a2m_study *st, int n_trials, double stale_s, const char *worker, a2m_tpe_params tp,
                         int *number, double *values) {
    *number = -1;
    int rc = sdb_begin(st->db);
    if (rc) return rc;
    char stale[32];
    fmt_d(stale, now_s() - stale_s);
    const char *a1[] = {st->id, stale};
    rc = sdb_exec(st->db,
                  "UPDATE trials SET state = 'failed', retry = 1, finished = heartbeat WHERE study_id = $1 AND "
                  "state = 'running' AND heartbeat < $2",
                  2, a1, NULL);
    long long counted = 0, next = 0, id = 0, retry_of = -1;
    if (!rc)
        rc = query_long(st->db,
                        "SELECT count(*) FROM trials WHERE study_id = $1 AND NOT (state = 'failed' AND retry >= 1)", 1,
                        a1, &counted);
    if (!rc)
        rc = query_long(st->db, "SELECT COALESCE(MAX(number) + 1, 0) FROM trials WHERE study_id = $1", 1, a1, &next);
    if (!rc && counted < n_trials) {
        rc = choose_params(st, (int)next, tp, values, &retry_of);
        if (!rc) rc = insert_trial(st, (int)next, worker, values, retry_of, &id);
        if (!rc) *number = (int)next;
    }
    if (!rc) rc = sdb_commit(st->db);
    if (rc) sdb_rollback(st->db), *number = -1;
    return rc;
}

/* The trial's id when it is still running (else A2M_ERR_RANGE: another worker found it stale). */
static int running_id(a2m_study *st, int number, char *id) {
    char num[24];
    snprintf(num, sizeof num, "%d", number);
    const char *a[] = {st->id, num};
    long long v;
    int rc =
        query_long(st->db, "SELECT id FROM trials WHERE study_id = $1 AND number = $2 AND state = 'running'", 2, a, &v);
    if (!rc && v < 0) rc = a2m_error(A2M_ERR_RANGE, "trial %d is no longer running (its heartbeat was late)", number);
    snprintf(id, 24, "%lld", v);
    return rc;
}

int a2m_study_report(a2m_study *st, int number, int step, double value, a2m_median_params mp, int *prune) {
    *prune = 0;
    char id[24], s[24], v[32], now[32];
    int rc = sdb_begin(st->db);
    if (rc) return rc;
    rc = running_id(st, number, id);
    snprintf(s, sizeof s, "%d", step), fmt_d(v, value), fmt_d(now, now_s());
    const char *a[] = {id, s, isnan(value) ? NULL : v, now};
    if (!rc)
        rc = sdb_exec(st->db,
                      "INSERT INTO intermediate_values (trial_id, step, value) VALUES ($1, $2, $3) "
                      "ON CONFLICT (trial_id, step) DO UPDATE SET value = excluded.value",
                      3, a, NULL);
    if (!rc)
        rc = sdb_exec(st->db, "UPDATE trials SET heartbeat = $2 WHERE id = $1", 2, (const char *[]){id, now}, NULL);
    if (!rc && !strcmp(st->info.pruner, "median")) {
        a2m_search_trial *t;
        size_t n;
        rc = a2m_study_trials(st, &t, &n);
        a2m_search_trial *me = rc ? NULL : by_number(t, n, number);
        if (me && me->n_steps >= step)
            rc = a2m_search_median_prune(t, n, me->steps, step, !strcmp(st->info.objective, "val_f1"), mp, prune);
        if (me || !rc) a2m_search_trials_free(t, n); /* read (me is only found in trials read) */
    }
    if (!rc) rc = sdb_commit(st->db);
    if (rc) sdb_rollback(st->db);
    return rc;
}

int a2m_study_heartbeat(a2m_study *st, int number) {
    char num[24], now[32];
    snprintf(num, sizeof num, "%d", number), fmt_d(now, now_s());
    const char *a[] = {st->id, num, now};
    return sdb_exec(st->db,
                    "UPDATE trials SET heartbeat = $3 WHERE study_id = $1 AND number = $2 AND state = 'running'", 3, a,
                    NULL);
}

int a2m_study_finish(a2m_study *st, int number, int state, double value, int retry) {
    char num[24], v[32], now[32], r[8];
    snprintf(num, sizeof num, "%d", number), fmt_d(v, value), fmt_d(now, now_s()),
        snprintf(r, sizeof r, "%d", retry ? 1 : 0);
    const char *a[] = {st->id, num, a2m_trial_state_name(state), isnan(value) ? NULL : v, now, r};
    int rc = sdb_begin(st->db);
    char id[24];
    if (!rc) rc = running_id(st, number, id);
    if (!rc)
        rc = sdb_exec(st->db,
                      "UPDATE trials SET state = $3, value = $4, finished = $5, heartbeat = $5, retry = $6 "
                      "WHERE study_id = $1 AND number = $2",
                      6, a, NULL);
    if (!rc) rc = sdb_commit(st->db);
    if (rc) sdb_rollback(st->db);
    return rc;
}
