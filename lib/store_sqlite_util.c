/*
 * store_sqlite_util.c - statement cache, binding and column helpers shared
 * by the SQLite store's files. See store_sqlite.h.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "crypto.h"
#include "mamori.h"
#include "store_sqlite.h"
#include "banned.h"

/* SQLite result code (extended codes are on) to a MAMORI_E* code. */
int sq_err(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
        return 0;
    case SQLITE_CONSTRAINT:
        if (rc == SQLITE_CONSTRAINT_UNIQUE ||
            rc == SQLITE_CONSTRAINT_PRIMARYKEY)
            return MAMORI_EEXIST;
        if (rc == SQLITE_CONSTRAINT_FOREIGNKEY ||
            rc == SQLITE_CONSTRAINT_NOTNULL)
            return MAMORI_ENOTFOUND;
        return MAMORI_EIO;
    case SQLITE_NOMEM:
        return MAMORI_ENOMEM;
    case SQLITE_TOOBIG:
        return MAMORI_ETOOBIG;
    default:
        return MAMORI_EIO;
    }
}

/* The cached statement id, prepared on first use. A statement still running
 * (a scan whose callback calls back into the store for the same statement)
 * cannot be reused: MAMORI_ESTATE. */
int sq_stmt(struct store *s, enum stmt_id id, const char *sql,
            sqlite3_stmt **out)
{
    int rc;

    *out = NULL;
    if (s == NULL || s->db == NULL)
        return MAMORI_EINVAL;
    rc = sq_pending_before(s, id, sql);
    if (rc != 0)
        return rc;
    if (s->st[id] == NULL) {
        rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
                                &s->st[id], NULL);
        if (rc != SQLITE_OK) {
            s->st[id] = NULL;
            return sq_err(rc);
        }
    } else if (sqlite3_stmt_busy(s->st[id])) {
        return MAMORI_ESTATE;
    }
    *out = s->st[id];
    return 0;
}

/* Ready the statement for its next use; drops pointers to caller buffers
 * bound SQLITE_STATIC. */
void sq_done(sqlite3_stmt *st)
{
    if (st == NULL)
        return;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

/* One step of a statement that returns no rows. */
int sq_step_done(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);

    if (rc == SQLITE_DONE)
        return 0;
    if (rc == SQLITE_ROW)
        return MAMORI_EIO;
    return sq_err(rc);
}

/* One step of a statement returning at most one row: 0 with a row,
 * MAMORI_ENOTFOUND without. */
int sq_step_row(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);

    if (rc == SQLITE_ROW)
        return 0;
    if (rc == SQLITE_DONE)
        return MAMORI_ENOTFOUND;
    return sq_err(rc);
}

/* Binds a string that must fit a struct field of max bytes (NUL included).
 * The caller's buffer outlives the step: SQLITE_STATIC. */
int sq_bind_field(sqlite3_stmt *st, int i, const char *v, size_t max)
{
    size_t n;

    if (v == NULL)
        return MAMORI_EINVAL;
    n = strnlen(v, max);
    if (n >= max)
        return MAMORI_ETOOBIG;
    return sq_err(sqlite3_bind_text(st, i, v, (int)n, SQLITE_STATIC));
}

/* Binds a string of any length (SQLite's own limit applies); NULL binds
 * SQL NULL when null_ok. */
int sq_bind_str(sqlite3_stmt *st, int i, const char *v, int null_ok)
{
    if (v == NULL)
        return null_ok ? sq_err(sqlite3_bind_null(st, i)) : MAMORI_EINVAL;
    return sq_err(
        sqlite3_bind_text64(st, i, v, strlen(v), SQLITE_STATIC, SQLITE_UTF8));
}

int sq_bind_blob(sqlite3_stmt *st, int i, const void *p, size_t n)
{
    if (n == 0)
        return sq_err(sqlite3_bind_zeroblob(st, i, 0));
    if (p == NULL)
        return MAMORI_EINVAL;
    return sq_err(sqlite3_bind_blob64(st, i, p, n, SQLITE_STATIC));
}

int sq_bind_blob_or_null(sqlite3_stmt *st, int i, const void *p, size_t n)
{
    if (n == 0)
        return sq_err(sqlite3_bind_null(st, i));
    return sq_bind_blob(st, i, p, n);
}

int sq_bind_i64(sqlite3_stmt *st, int i, int64_t v)
{
    return sq_err(sqlite3_bind_int64(st, i, v));
}

/* Column readers. bad is the code for content the store cannot have
 * written (MAMORI_EIO, or MAMORI_ETAMPER for the audit table). */
int sq_col_i64(sqlite3_stmt *st, int col, int64_t *v, int bad)
{
    if (sqlite3_column_type(st, col) != SQLITE_INTEGER)
        return bad;
    *v = sqlite3_column_int64(st, col);
    return 0;
}

int sq_col_text(sqlite3_stmt *st, int col, char *dst, size_t size, int bad)
{
    const unsigned char *p;
    int n;

    if (sqlite3_column_type(st, col) != SQLITE_TEXT)
        return bad;
    p = sqlite3_column_text(st, col);
    if (p == NULL)
        return MAMORI_ENOMEM;
    n = sqlite3_column_bytes(st, col);
    /* An embedded NUL would hide the rest of the value. */
    if (n < 0 || (size_t)n >= size || memchr(p, 0, (size_t)n) != NULL)
        return bad;
    memcpy(dst, p, (size_t)n);
    dst[n] = '\0';
    return 0;
}

int sq_col_blob(sqlite3_stmt *st, int col, void *dst, size_t len, int bad)
{
    const void *p;

    if (sqlite3_column_type(st, col) != SQLITE_BLOB)
        return bad;
    p = sqlite3_column_blob(st, col);
    if (sqlite3_column_bytes(st, col) != (int)len)
        return bad;
    if (p == NULL)
        return MAMORI_ENOMEM;
    memcpy(dst, p, len);
    return 0;
}

/* Makes room for one more element of an array of *cap elements. Not with
 * realloc: the elements may be secrets (password hashes, sealed TOTP
 * secrets), so they are copied to a new block and the old one is wiped
 * before it is freed. */
int sq_grow(void **arr, size_t *cap, size_t n, size_t elem)
{
    size_t ncap;
    void *p;

    if (n < *cap)
        return 0;
    ncap = *cap ? *cap : 8;
    if (*cap != 0) {
        if (*cap > SIZE_MAX / 2)
            return MAMORI_ENOMEM;
        ncap = *cap * 2;
    }
    if (ncap > SIZE_MAX / elem)
        return MAMORI_ENOMEM;
    p = malloc(ncap * elem);
    if (p == NULL)
        return MAMORI_ENOMEM;
    if (*arr != NULL) {
        memcpy(p, *arr, *cap * elem);
        crypto_wipe(*arr, *cap * elem);
        free(*arr);
    }
    *arr = p;
    *cap = ncap;
    return 0;
}

/* Every row of statement id, each read by rd into an element of size bytes
 * of a malloc'd array. */
int sq_list_bound(sqlite3_stmt *st, size_t size,
                  int (*rd)(sqlite3_stmt *st, void *elem), void **out,
                  size_t *n)
{
    unsigned char *arr = NULL;
    size_t cap = 0, cnt = 0;
    int rc = 0, r = SQLITE_DONE;

    if (st == NULL || out == NULL || n == NULL)
        return MAMORI_EINVAL;
    *out = NULL;
    *n = 0;
    while (rc == 0 && (r = sqlite3_step(st)) == SQLITE_ROW) {
        rc = sq_grow((void **)&arr, &cap, cnt, size);
        if (rc == 0)
            rc = rd(st, arr + cnt * size);
        if (rc == 0)
            cnt++;
    }
    if (rc == 0 && r != SQLITE_DONE)
        rc = sq_err(r);
    if (rc != 0) {
        crypto_wipe(arr, cap * size); /* rows read so far may be secrets */
        free(arr);
        return rc;
    }
    *out = arr;
    *n = cnt;
    return 0;
}

int sq_list_rows(struct store *s, enum stmt_id id, const char *sql, size_t size,
                 int (*rd)(sqlite3_stmt *st, void *elem), void **out, size_t *n)
{
    sqlite3_stmt *st = NULL;
    int rc = sq_stmt(s, id, sql, &st);

    if (rc == 0)
        rc = sq_list_bound(st, size, rd, out, n);
    sq_done(st);
    return rc;
}

int sq_kv_get(struct store *s, enum stmt_id id, const char *sql,
              const char *key, char *val, size_t size)
{
    sqlite3_stmt *st = NULL;
    int rc = MAMORI_EINVAL;

    if (key == NULL || val == NULL || size == 0)
        return rc;
    rc = sq_stmt(s, id, sql, &st);
    if (rc == 0)
        rc = sq_bind_str(st, 1, key, 0);
    if (rc == 0)
        rc = sq_step_row(st);
    /* The caller chose the size; a value that does not fit is refused. */
    if (rc == 0) {
        rc = sq_col_text(st, 0, val, size, MAMORI_ETOOBIG);
        if (rc == MAMORI_ETOOBIG && sqlite3_column_type(st, 0) != SQLITE_TEXT)
            rc = MAMORI_EIO;
    }
    sq_done(st);
    return rc;
}

int sq_kv_set(struct store *s, enum stmt_id id, const char *sql,
              const char *key, const char *val)
{
    sqlite3_stmt *st = NULL;
    int rc = MAMORI_EINVAL;

    if (key == NULL || val == NULL)
        return rc;
    rc = sq_stmt(s, id, sql, &st);
    if (rc == 0)
        rc = sq_bind_str(st, 1, key, 0);
    if (rc == 0)
        rc = sq_bind_str(st, 2, val, 0);
    if (rc == 0)
        rc = sq_step_done(st);
    sq_done(st);
    return rc;
}
