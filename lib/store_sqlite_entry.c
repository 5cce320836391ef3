/*
 * store_sqlite_entry.c - the SQLite store's pending verified entries (table
 * "entries", migration 6): sealed first keyings waiting for a second
 * operator. See store.h. The values are ciphertext here; the store never
 * sees them in the clear.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "mamori.h"
#include "store_sqlite.h"
#include "banned.h"

#define ENTRY_ROW_COLS                                                         \
    "e.id, d.name, u.name, e.created, e.updated, e.expires, e.version,"        \
    " e.mismatches"
#define ENTRY_ROW_FROM                                                         \
    " FROM entries e JOIN datasets d ON d.id = e.dataset_id"                   \
    " JOIN users u ON u.id = e.entered_by"

static const char *const stmt_sql[ST_COUNT_] = {
    [ST_ENTRY_ADD] = "INSERT INTO entries(id, dataset_id, entered_by, created,"
                     " updated, expires, version, mismatches, tries, ct)"
                     " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    [ST_ENTRY_GET] = "SELECT id, dataset_id, entered_by, created, updated,"
                     " expires, version, mismatches, tries, ct"
                     " FROM entries WHERE id = ?1",
    [ST_ENTRY_UPDATE] = "UPDATE entries SET version = ?2, updated = ?3,"
                        " tries = ?4, ct = ?5 WHERE id = ?1",
    [ST_ENTRY_MISMATCH] = "UPDATE entries SET mismatches = mismatches + 1,"
                          " tries = tries + 1 WHERE id = ?1",
    [ST_ENTRY_DELETE] = "DELETE FROM entries WHERE id = ?1",
    [ST_ENTRY_LIST] = "SELECT " ENTRY_ROW_COLS ENTRY_ROW_FROM
                      " WHERE (?1 = 0 OR e.dataset_id = ?1)"
                      " AND (?2 = 0 OR EXISTS (SELECT 1 FROM grants g"
                      " WHERE g.dataset_id = e.dataset_id"
                      " AND g.user_id = ?2))"
                      " ORDER BY e.created, e.id",
    [ST_ENTRY_EXPIRED] = "SELECT " ENTRY_ROW_COLS ENTRY_ROW_FROM
                         " WHERE e.expires <= ?1 ORDER BY d.name, e.id",
    [ST_ENTRY_EXPIRE] = "DELETE FROM entries WHERE expires <= ?1",
    [ST_ENTRY_DESCRIBE] =
        "SELECT " ENTRY_ROW_COLS ENTRY_ROW_FROM " WHERE e.id = ?1",
};

static int stmt_get(struct store *s, enum stmt_id id, sqlite3_stmt **out)
{
    return sq_stmt(s, id, stmt_sql[id], out);
}

/* A version column: 1 .. UINT32_MAX. */
static int col_version(sqlite3_stmt *st, int col, uint32_t *v)
{
    int64_t x;
    int rc = sq_col_i64(st, col, &x, MAMORI_EIO);

    if (rc != 0)
        return rc;
    if (x < 1 || x > (int64_t)UINT32_MAX)
        return MAMORI_EIO;
    *v = (uint32_t)x;
    return 0;
}

int store_entry_add(struct store *s, const struct store_entry *e)
{
    sqlite3_stmt *st = NULL;
    int rc = MAMORI_EINVAL;

    if (e == NULL || e->ct == NULL || e->ctlen == 0 || e->version == 0)
        return rc;
    rc = stmt_get(s, ST_ENTRY_ADD, &st);
    if (rc == 0)
        rc = sq_bind_field(st, 1, e->id, sizeof e->id);
    if (rc == 0)
        rc = sq_bind_i64(st, 2, e->dataset_id);
    if (rc == 0)
        rc = sq_bind_i64(st, 3, e->entered_by);
    if (rc == 0)
        rc = sq_bind_i64(st, 4, e->created);
    if (rc == 0)
        rc = sq_bind_i64(st, 5, e->updated);
    if (rc == 0)
        rc = sq_bind_i64(st, 6, e->expires);
    if (rc == 0)
        rc = sq_bind_i64(st, 7, e->version);
    if (rc == 0)
        rc = sq_bind_i64(st, 8, e->mismatches);
    if (rc == 0)
        rc = sq_bind_i64(st, 9, e->tries);
    if (rc == 0)
        rc = sq_bind_blob(st, 10, e->ct, e->ctlen);
    if (rc == 0)
        rc = sq_step_done(st);
    sq_done(st);
    return rc;
}

static int read_entry(sqlite3_stmt *st, struct store_entry *e)
{
    const void *p;
    int n, rc;

    if ((rc = sq_col_text(st, 0, e->id, sizeof e->id, MAMORI_EIO)) != 0 ||
        (rc = sq_col_i64(st, 1, &e->dataset_id, MAMORI_EIO)) != 0 ||
        (rc = sq_col_i64(st, 2, &e->entered_by, MAMORI_EIO)) != 0 ||
        (rc = sq_col_i64(st, 3, &e->created, MAMORI_EIO)) != 0 ||
        (rc = sq_col_i64(st, 4, &e->updated, MAMORI_EIO)) != 0 ||
        (rc = sq_col_i64(st, 5, &e->expires, MAMORI_EIO)) != 0 ||
        (rc = col_version(st, 6, &e->version)) != 0 ||
        (rc = sq_col_i64(st, 7, &e->mismatches, MAMORI_EIO)) != 0 ||
        (rc = sq_col_i64(st, 8, &e->tries, MAMORI_EIO)) != 0)
        return rc;
    if (sqlite3_column_type(st, 9) != SQLITE_BLOB)
        return MAMORI_EIO;
    p = sqlite3_column_blob(st, 9);
    n = sqlite3_column_bytes(st, 9);
    if (p == NULL || n <= 0)
        return MAMORI_EIO;
    e->ct = malloc((size_t)n);
    if (e->ct == NULL)
        return MAMORI_ENOMEM;
    memcpy(e->ct, p, (size_t)n);
    e->ctlen = (size_t)n;
    return 0;
}

int store_entry_get(struct store *s, const char *id, struct store_entry *e)
{
    sqlite3_stmt *st = NULL;
    int rc = MAMORI_EINVAL;

    if (id == NULL || e == NULL)
        return rc;
    memset(e, 0, sizeof *e);
    rc = stmt_get(s, ST_ENTRY_GET, &st);
    if (rc == 0)
        rc = sq_bind_str(st, 1, id, 0);
    if (rc == 0)
        rc = sq_step_row(st);
    if (rc == 0)
        rc = read_entry(st, e);
    if (rc != 0) {
        free(e->ct);
        e->ct = NULL;
        e->ctlen = 0;
    }
    sq_done(st);
    return rc;
}

/* Runs a statement bound to the id alone (and nothing else), that must
 * change exactly one row. */
static int by_id(struct store *s, enum stmt_id id, const char *eid)
{
    sqlite3_stmt *st = NULL;
    int rc = MAMORI_EINVAL;

    if (eid == NULL)
        return rc;
    rc = stmt_get(s, id, &st);
    if (rc == 0)
        rc = sq_bind_str(st, 1, eid, 0);
    if (rc == 0)
        rc = sq_step_done(st);
    if (rc == 0 && sqlite3_changes(s->db) != 1)
        rc = MAMORI_ENOTFOUND;
    sq_done(st);
    return rc;
}

int store_entry_update(struct store *s, const struct store_entry *e)
{
    sqlite3_stmt *st = NULL;
    int rc = MAMORI_EINVAL;

    if (e == NULL || e->ct == NULL || e->ctlen == 0 || e->version == 0)
        return rc;
    rc = stmt_get(s, ST_ENTRY_UPDATE, &st);
    if (rc == 0)
        rc = sq_bind_field(st, 1, e->id, sizeof e->id);
    if (rc == 0)
        rc = sq_bind_i64(st, 2, e->version);
    if (rc == 0)
        rc = sq_bind_i64(st, 3, e->updated);
    if (rc == 0)
        rc = sq_bind_i64(st, 4, e->tries);
    if (rc == 0)
        rc = sq_bind_blob(st, 5, e->ct, e->ctlen);
    if (rc == 0)
        rc = sq_step_done(st);
    if (rc == 0 && sqlite3_changes(s->db) != 1)
        rc = MAMORI_ENOTFOUND;
    sq_done(st);
    return rc;
}

int store_entry_mismatch(struct store *s, const char *id)
{
    return by_id(s, ST_ENTRY_MISMATCH, id);
}

int store_entry_delete(struct store *s, const char *id)
{
    return by_id(s, ST_ENTRY_DELETE, id);
}

static int read_row(sqlite3_stmt *st, void *elem)
{
    struct store_entry_row *r = elem;
    int rc;

    memset(r, 0, sizeof *r);
    if ((rc = sq_col_text(st, 0, r->id, sizeof r->id, MAMORI_EIO)) != 0 ||
        (rc = sq_col_text(st, 1, r->dataset, sizeof r->dataset, MAMORI_EIO)) !=
            0 ||
        (rc = sq_col_text(st, 2, r->entered_by, sizeof r->entered_by,
                          MAMORI_EIO)) != 0 ||
        (rc = sq_col_i64(st, 3, &r->created, MAMORI_EIO)) != 0 ||
        (rc = sq_col_i64(st, 4, &r->updated, MAMORI_EIO)) != 0 ||
        (rc = sq_col_i64(st, 5, &r->expires, MAMORI_EIO)) != 0 ||
        (rc = col_version(st, 6, &r->version)) != 0 ||
        (rc = sq_col_i64(st, 7, &r->mismatches, MAMORI_EIO)) != 0)
        return rc;
    return 0;
}

int store_entry_describe(struct store *s, const char *id,
                         struct store_entry_row *r)
{
    sqlite3_stmt *st = NULL;
    int rc = MAMORI_EINVAL;

    if (id == NULL || r == NULL)
        return rc;
    rc = stmt_get(s, ST_ENTRY_DESCRIBE, &st);
    if (rc == 0)
        rc = sq_bind_str(st, 1, id, 0);
    if (rc == 0)
        rc = sq_step_row(st);
    if (rc == 0)
        rc = read_row(st, r);
    sq_done(st);
    return rc;
}

int store_entry_list(struct store *s, int64_t dataset_id, int64_t user_id,
                     struct store_entry_row **out, size_t *n)
{
    sqlite3_stmt *st = NULL;
    int rc = stmt_get(s, ST_ENTRY_LIST, &st);

    if (rc == 0)
        rc = sq_bind_i64(st, 1, dataset_id);
    if (rc == 0)
        rc = sq_bind_i64(st, 2, user_id);
    if (rc == 0)
        rc = sq_list_bound(st, sizeof **out, read_row, (void **)out, n);
    sq_done(st);
    return rc;
}

int store_entry_expire(struct store *s, int64_t now,
                       struct store_entry_row **out, size_t *n)
{
    sqlite3_stmt *st = NULL;
    int rc;

    if (out == NULL || n == NULL)
        return MAMORI_EINVAL;
    *out = NULL;
    *n = 0;
    rc = stmt_get(s, ST_ENTRY_EXPIRED, &st);
    if (rc == 0)
        rc = sq_bind_i64(st, 1, now);
    if (rc == 0)
        rc = sq_list_bound(st, sizeof **out, read_row, (void **)out, n);
    sq_done(st);
    if (rc != 0 || *n == 0)
        return rc;
    rc = stmt_get(s, ST_ENTRY_EXPIRE, &st);
    if (rc == 0)
        rc = sq_bind_i64(st, 1, now);
    if (rc == 0)
        rc = sq_step_done(st);
    /* Same transaction: exactly the rows listed go. */
    if (rc == 0 && (size_t)sqlite3_changes(s->db) != *n)
        rc = MAMORI_EIO;
    sq_done(st);
    if (rc != 0) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return rc;
}
