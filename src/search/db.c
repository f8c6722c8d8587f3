/* SQLite and PostgreSQL behind db.h. */
#include "search/db.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a2m/error.h"
#include "core/grow.h"
#include "search/pq_dl.h"

struct sdb {
    sqlite3 *lite;
    PGconn *pg;
    char name[1024]; /* for messages: the file, or host/database */
};

int sdb_is_pg(const sdb *db) { return db->pg != NULL; }

static int is_pg_url(const char *t) { return !strncmp(t, "postgresql://", 13) || !strncmp(t, "postgres://", 11); }

static int open_pg(sdb *db, const char *url) {
    int rc = a2m_pq_load();
    if (rc) {
        char msg[400];
        snprintf(msg, sizeof msg, "%s", a2m_errmsg());
        return a2m_error(rc, "PostgreSQL storage needs libpq: %s", msg);
    }
    db->pg = PQconnectdb(url);
    if (PQstatus(db->pg) != CONNECTION_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", PQerrorMessage(db->pg));
        msg[strcspn(msg, "\n")] = '\0';
        return a2m_error(A2M_ERR_IO, "PostgreSQL: cannot connect: %s", msg);
    }
    snprintf(db->name, sizeof db->name, "PostgreSQL %s/%s", PQhost(db->pg), PQdb(db->pg));
    PGresult *r = PQexec(db->pg, "SET client_min_messages TO warning"); /* no NOTICE lines on stderr */
    PQclear(r);
    return A2M_OK;
}

/* WAL: readers never block the writer; synchronous FULL: a committed trial survives a crash. Switching a new file
 * to WAL takes an exclusive lock for a moment, and a second worker starting on the same new study then got
 * "database is locked" without its busy handler being asked (test_cli_search's two workers: 1 start in 3-5 under
 * load): such a refusal is tried again, every 10 ms for up to 60 s. */
static int lite_pragmas(sqlite3 *lite, char **err) {
    for (int waited_ms = 0;; waited_ms += 10) {
        int rc = sqlite3_exec(lite, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON", NULL,
                              NULL, err);
        if ((rc != SQLITE_BUSY && rc != SQLITE_LOCKED) || waited_ms >= 60000) return rc;
        sqlite3_free(*err);
        *err = NULL;
        sqlite3_sleep(10);
    }
}

static int open_lite(sdb *db, const char *path, int create) {
    snprintf(db->name, sizeof db->name, "%s", path);
    int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &db->lite, flags, NULL) != SQLITE_OK)
        return a2m_error(A2M_ERR_IO, "%s: cannot open the study database: %s", path,
                         db->lite ? sqlite3_errmsg(db->lite) : "out of memory");
    sqlite3_busy_timeout(db->lite, 600000); /* a worker waits for another's transaction (each is short) */
    char *err = NULL;
    if (lite_pragmas(db->lite, &err) != SQLITE_OK) {
        int rc = a2m_error(A2M_ERR_FORMAT, "%s: not a study database: %s", path, err ? err : "?");
        sqlite3_free(err);
        return rc;
    }
    return A2M_OK;
}

int sdb_open(const char *target, int create, sdb **out) {
    *out = NULL;
    sdb *db = calloc(1, sizeof *db);
    if (!db) return a2m_error(A2M_ERR_NOMEM, "out of memory");
    int rc = is_pg_url(target) ? open_pg(db, target) : open_lite(db, target, create);
    if (rc) sdb_close(db);
    else *out = db;
    return rc;
}

void sdb_close(sdb *db) {
    if (!db) return;
    if (db->lite) sqlite3_close(db->lite);
    if (db->pg) PQfinish(db->pg);
    free(db);
}

void sdb_rows_free(sdb_rows *r) {
    if (!r) return;
    for (size_t i = 0; r->cells && i < (size_t)r->n_rows * r->n_cols; i++) free(r->cells[i]);
    free(r->cells);
    memset(r, 0, sizeof *r);
}

static int rows_alloc(sdb_rows *rows, int n_rows, int n_cols) {
    rows->n_rows = n_rows, rows->n_cols = n_cols;
    rows->cells = calloc((size_t)n_rows * n_cols + 1, sizeof *rows->cells);
    return rows->cells ? A2M_OK : a2m_error(A2M_ERR_NOMEM, "out of memory");
}

static int exec_pg(sdb *db, const char *sql, int n, const char *const *args, sdb_rows *rows) {
    PGresult *r = PQexecParams(db->pg, sql, n, NULL, args, NULL, NULL, 0);
    ExecStatusType s = PQresultStatus(r);
    int rc = A2M_OK;
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", PQresultErrorMessage(r));
        msg[strcspn(msg, "\n")] = '\0';
        rc = a2m_error(A2M_ERR_IO, "%s: %s", db->name, msg);
    } else if (rows) {
        int nr = PQntuples(r), nc = PQnfields(r);
        rc = rows_alloc(rows, nr, nc);
        for (int i = 0; !rc && i < nr; i++)
            for (int j = 0; !rc && j < nc; j++)
                if (!PQgetisnull(r, i, j) && !(rows->cells[(size_t)i * nc + j] = strdup(PQgetvalue(r, i, j))))
                    rc = a2m_error(A2M_ERR_NOMEM, "out of memory");
        if (rc) sdb_rows_free(rows);
    }
    PQclear(r);
    return rc;
}

/* One row's cells as text; REAL columns with 17 digits (sqlite3_column_text gives 15: not exact). */
static int lite_row(sqlite3_stmt *st, char **cells, int nc) {
    for (int j = 0; j < nc; j++) {
        int t = sqlite3_column_type(st, j);
        char buf[40];
        const char *v = NULL;
        if (t == SQLITE_FLOAT) snprintf(buf, sizeof buf, "%.17g", sqlite3_column_double(st, j)), v = buf;
        else if (t != SQLITE_NULL) v = (const char *)sqlite3_column_text(st, j);
        if (v && !(cells[j] = strdup(v))) return a2m_error(A2M_ERR_NOMEM, "out of memory");
    }
    return A2M_OK;
}

static int exec_lite(sdb *db, const char *sql, int n, const char *const *args, sdb_rows *rows) {
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db->lite, sql, -1, &st, NULL) != SQLITE_OK)
        return a2m_error(A2M_ERR_FORMAT, "%s: %s", db->name, sqlite3_errmsg(db->lite));
    for (int i = 0; i < n; i++) { /* SQLite takes "$2" as a name, numbered by first appearance: bind by name */
        char name[16];
        snprintf(name, sizeof name, "$%d", i + 1);
        int at = sqlite3_bind_parameter_index(st, name);
        if (at > 0 && args[i]) sqlite3_bind_text(st, at, args[i], -1, SQLITE_TRANSIENT);
    }
    int rc = A2M_OK, nc = sqlite3_column_count(st), nr = 0, s;
    size_t cap = 0; /* rows of nc cells (one at least: never a zero-byte allocation) */
    char **cells = NULL;
    while ((s = sqlite3_step(st)) == SQLITE_ROW && !rc) {
        if (!rows) continue;
        if (a2m_grow(&cells, &cap, (size_t)nr + 1, (size_t)(nc > 0 ? nc : 1) * sizeof *cells, 16)) {
            rc = a2m_error(A2M_ERR_NOMEM, "out of memory");
            break;
        }
        memset(cells + (size_t)nr * nc, 0, (size_t)nc * sizeof *cells);
        rc = lite_row(st, cells + (size_t)nr * nc, nc);
        nr++;
    }
    if (!rc && s != SQLITE_DONE)
        rc = a2m_error(s == SQLITE_CORRUPT || s == SQLITE_NOTADB ? A2M_ERR_FORMAT : A2M_ERR_IO, "%s: %s", db->name,
                       sqlite3_errmsg(db->lite));
    sqlite3_finalize(st);
    if (rows) {
        rows->n_rows = nr, rows->n_cols = nc, rows->cells = cells;
        if (rc) sdb_rows_free(rows);
        else if (!cells && (rc = rows_alloc(rows, 0, nc))) return rc;
    }
    return rc;
}

int sdb_exec(sdb *db, const char *sql, int n, const char *const *args, sdb_rows *rows) {
    if (rows) memset(rows, 0, sizeof *rows);
    return db->pg ? exec_pg(db, sql, n, args, rows) : exec_lite(db, sql, n, args, rows);
}

int sdb_begin(sdb *db) {
    if (db->lite) return sdb_exec(db, "BEGIN IMMEDIATE", 0, NULL, NULL);
    int rc = sdb_exec(db, "BEGIN", 0, NULL, NULL);
    if (!rc) rc = sdb_exec(db, "SELECT pg_advisory_xact_lock(2063710161)", 0, NULL, NULL); /* "a2m search" */
    if (rc) sdb_rollback(db);
    return rc;
}

int sdb_commit(sdb *db) { return sdb_exec(db, "COMMIT", 0, NULL, NULL); }

void sdb_rollback(sdb *db) {
    if (db->lite) {
        if (!sqlite3_get_autocommit(db->lite)) sqlite3_exec(db->lite, "ROLLBACK", NULL, NULL, NULL);
    } else {
        PQclear(PQexec(db->pg, "ROLLBACK"));
    }
}
