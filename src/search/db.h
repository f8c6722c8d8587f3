/* The study database behind one small interface: SQLite (a file; WAL, BEGIN IMMEDIATE) or PostgreSQL
 * (libpq; a transaction-scoped advisory lock serialises writers). SQL is written once with $1, $2, ...
 * placeholders (both accept them); values travel as text (doubles with 17 digits: exact). */
#ifndef A2M_SEARCH_DB_H
#define A2M_SEARCH_DB_H

#include <stddef.h>

typedef struct sdb sdb;

typedef struct sdb_rows {
    int n_rows, n_cols;
    char **cells; /* [n_rows x n_cols], NULL = SQL NULL */
} sdb_rows;

/* target: a file path, or a postgresql:// / postgres:// URL. create 0: the SQLite file must exist. */
int sdb_open(const char *target, int create, sdb **out);
void sdb_close(sdb *db);
int sdb_is_pg(const sdb *db);
/* A write transaction: SQLite BEGIN IMMEDIATE (busy_timeout waits for the other workers), PostgreSQL BEGIN and
 * pg_advisory_xact_lock, so two workers never sample from the same history. */
int sdb_begin(sdb *db);
int sdb_commit(sdb *db);
void sdb_rollback(sdb *db);
/* Runs sql with n text arguments; rows (may be NULL) receives the result. */
int sdb_exec(sdb *db, const char *sql, int n, const char *const *args, sdb_rows *rows);
void sdb_rows_free(sdb_rows *r);
static inline const char *sdb_cell(const sdb_rows *r, int row, int col) {
    return r->cells[(size_t)row * r->n_cols + col];
}

#endif
