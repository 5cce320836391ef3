/*
 * store_sqlite_export.c - the take-out ledger (table exports) and the
 * paged record scan that exports stream from. See store.h, "take-out
 * ledger".
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "mamori.h"
#include "store_sqlite.h"
#include "banned.h"

/* Largest blob a request holds: a sealed search value or a certificate. */
#define EXPORT_BLOB_MAX (64 * 1024)

#define EXPORT_COLS                                                            \
    "id, dataset_id, requested_by, requested, reason, format, encoding,"       \
    " search_field, recipient, recipient_sha256, state, decided_by, decided,"  \
    " ran, count, sha256, marked_by, marked"

static const char *const export_sql[] = {
    [ST_EXPORT_ADD - ST_EXPORT_FIRST_] =
        "INSERT INTO exports(dataset_id, requested_by, requested, reason,"
        " format, encoding, search_field, recipient, recipient_sha256,"
        " recipient_cert, state) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"
        " ?10, 'pending')",
    [ST_EXPORT_SET_SEARCH - ST_EXPORT_FIRST_] =
        "UPDATE exports SET search_ct = ?2 WHERE id = ?1",
    [ST_EXPORT_GET - ST_EXPORT_FIRST_] =
        "SELECT " EXPORT_COLS ", search_ct, recipient_cert FROM exports"
        " WHERE id = ?1",
    [ST_EXPORT_DECIDE_PENDING - ST_EXPORT_FIRST_] =
        "UPDATE exports SET state = ?3, decided_by = ?4, decided = ?5"
        " WHERE id = ?1 AND state = ?2",
    [ST_EXPORT_DECIDE_DONE - ST_EXPORT_FIRST_] =
        "UPDATE exports SET state = ?3, marked_by = ?4, marked = ?5"
        " WHERE id = ?1 AND state = ?2",
    [ST_EXPORT_DONE - ST_EXPORT_FIRST_] =
        "UPDATE exports SET state = 'done', ran = ?2, count = ?3,"
        " sha256 = ?4 WHERE id = ?1 AND state = 'approved'",
    [ST_EXPORT_LIST - ST_EXPORT_FIRST_] =
        "SELECT " EXPORT_COLS " FROM exports ORDER BY id",
    [ST_EXPORT_LIST_USER - ST_EXPORT_FIRST_] =
        "SELECT " EXPORT_COLS " FROM exports WHERE requested_by = ?1"
        " ORDER BY id",
    [ST_EXPORT_LAPSE - ST_EXPORT_FIRST_] =
        "UPDATE exports SET state = 'lapsed' WHERE state = 'approved'",
    [ST_EXPORT_LAPSE_ONE - ST_EXPORT_FIRST_] =
        "UPDATE exports SET state = 'lapsed' WHERE id = ?1"
        " AND state = 'approved'",
    [ST_RECORD_SCAN - ST_EXPORT_FIRST_] =
        /* "+dataset_id": walk the table in rid order from the cursor; the
         * (dataset_id, id) index would find the dataset's rows again on
         * every page and sort them. */
    "SELECT version, key_version, updated, ct, id, rid FROM records"
    " WHERE +dataset_id = ?1 AND rid > ?2 ORDER BY rid LIMIT ?3",
};

_Static_assert(sizeof export_sql / sizeof export_sql[0] ==
                   ST_COUNT_ - ST_EXPORT_FIRST_,
               "one statement per export slot");

static int stmt(struct store *s, enum stmt_id id, sqlite3_stmt **out)
{
    return sq_stmt(s, id, export_sql[id - ST_EXPORT_FIRST_], out);
}

/* A copy of blob column col (NULL stays NULL) into *out, *len. */
static int col_blob_dup(sqlite3_stmt *st, int col, uint8_t **out, size_t *len)
{
    const void *p;
    int n;

    *out = NULL;
    *len = 0;
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return 0;
    if (sqlite3_column_type(st, col) != SQLITE_BLOB)
        return MAMORI_EIO;
    p = sqlite3_column_blob(st, col);
    n = sqlite3_column_bytes(st, col);
    if (n < 0 || n > EXPORT_BLOB_MAX)
        return MAMORI_EIO;
    if (n == 0)
        return 0;
    if (p == NULL)
        return MAMORI_ENOMEM;
    *out = malloc((size_t)n);
    if (*out == NULL)
        return MAMORI_ENOMEM;
    memcpy(*out, p, (size_t)n);
    *len = (size_t)n;
    return 0;
}

static int read_export(sqlite3_stmt *st, struct store_export *e)
{
    int rc;

    memset(e, 0, sizeof *e);
    if ((rc = sq_col_i64(st, 0, &e->id, MAMORI_EIO)) != 0 ||
        (rc = sq_col_i64(st, 1, &e->dataset_id, MAMORI_EIO)) != 0 ||
        (rc = sq_col_i64(st, 2, &e->requested_by, MAMORI_EIO)) != 0 ||
        (rc = sq_col_i64(st, 3, &e->requested, MAMORI_EIO)) != 0 ||
        (rc = sq_col_text(st, 4, e->reason, sizeof e->reason, MAMORI_EIO)) !=
            0 ||
        (rc = sq_col_text(st, 5, e->format, sizeof e->format, MAMORI_EIO)) !=
            0 ||
        (rc = sq_col_text(st, 6, e->encoding, sizeof e->encoding,
                          MAMORI_EIO)) != 0 ||
        (rc = sq_col_text(st, 7, e->search_field, sizeof e->search_field,
                          MAMORI_EIO)) != 0 ||
        (rc = sq_col_text(st, 8, e->recipient, sizeof e->recipient,
                          MAMORI_EIO)) != 0 ||
        (rc = sq_col_text(st, 9, e->recipient_sha256,
                          sizeof e->recipient_sha256, MAMORI_EIO)) != 0 ||
        (rc = sq_col_text(st, 10, e->state, sizeof e->state, MAMORI_EIO)) !=
            0 ||
        (rc = sq_col_i64(st, 11, &e->decided_by, MAMORI_EIO)) != 0 ||
        (rc = sq_col_i64(st, 12, &e->decided, MAMORI_EIO)) != 0 ||
        (rc = sq_col_i64(st, 13, &e->ran, MAMORI_EIO)) != 0 ||
        (rc = sq_col_i64(st, 14, &e->count, MAMORI_EIO)) != 0 ||
        (rc = sq_col_text(st, 15, e->sha256, sizeof e->sha256, MAMORI_EIO)) !=
            0 ||
        (rc = sq_col_i64(st, 16, &e->marked_by, MAMORI_EIO)) != 0 ||
        (rc = sq_col_i64(st, 17, &e->marked, MAMORI_EIO)) != 0)
        return rc;
    return 0;
}

static int read_export_elem(sqlite3_stmt *st, void *elem)
{
    return read_export(st, elem);
}

int store_export_add(struct store *s, struct store_export *e)
{
    sqlite3_stmt *st = NULL;
    int rc = MAMORI_EINVAL;

    if (e == NULL || e->cert_len > EXPORT_BLOB_MAX ||
        (e->cert_len && e->cert == NULL))
        goto out;
    rc = stmt(s, ST_EXPORT_ADD, &st);
    if (rc != 0)
        goto out;
    if ((rc = sq_bind_i64(st, 1, e->dataset_id)) != 0 ||
        (rc = sq_bind_i64(st, 2, e->requested_by)) != 0 ||
        (rc = sq_bind_i64(st, 3, e->requested)) != 0 ||
        (rc = sq_bind_field(st, 4, e->reason, sizeof e->reason)) != 0 ||
        (rc = sq_bind_field(st, 5, e->format, sizeof e->format)) != 0 ||
        (rc = sq_bind_field(st, 6, e->encoding, sizeof e->encoding)) != 0 ||
        (rc = sq_bind_field(st, 7, e->search_field, sizeof e->search_field)) !=
            0 ||
        (rc = sq_bind_field(st, 8, e->recipient, sizeof e->recipient)) != 0 ||
        (rc = sq_bind_field(st, 9, e->recipient_sha256,
                            sizeof e->recipient_sha256)) != 0)
        goto out;
    rc = e->cert_len ? sq_bind_blob(st, 10, e->cert, e->cert_len)
                     : sq_err(sqlite3_bind_null(st, 10));
    if (rc == 0)
        rc = sq_step_done(st);
    if (rc == 0) {
        e->id = sqlite3_last_insert_rowid(s->db);
        memcpy(e->state, "pending", sizeof "pending");
    }
out:
    sq_done(st);
    return rc;
}

int store_export_set_search(struct store *s, int64_t id, const uint8_t *ct,
                            size_t len)
{
    sqlite3_stmt *st = NULL;
    int rc = MAMORI_EINVAL;

    if (ct == NULL || len == 0 || len > EXPORT_BLOB_MAX)
        return rc;
    rc = stmt(s, ST_EXPORT_SET_SEARCH, &st);
    if (rc == 0)
        rc = sq_bind_i64(st, 1, id);
    if (rc == 0)
        rc = sq_bind_blob(st, 2, ct, len);
    if (rc == 0)
        rc = sq_step_done(st);
    if (rc == 0 && sqlite3_changes(s->db) == 0)
        rc = MAMORI_ENOTFOUND;
    sq_done(st);
    return rc;
}

int store_export_get(struct store *s, int64_t id, struct store_export *e)
{
    sqlite3_stmt *st = NULL;
    int rc = MAMORI_EINVAL;

    if (e == NULL)
        return rc;
    memset(e, 0, sizeof *e);
    rc = stmt(s, ST_EXPORT_GET, &st);
    if (rc == 0)
        rc = sq_bind_i64(st, 1, id);
    if (rc == 0)
        rc = sq_step_row(st);
    if (rc == 0)
        rc = read_export(st, e);
    if (rc == 0)
        rc = col_blob_dup(st, 18, &e->search_ct, &e->search_ct_len);
    if (rc == 0)
        rc = col_blob_dup(st, 19, &e->cert, &e->cert_len);
    if (rc != 0)
        store_export_release(e);
    sq_done(st);
    return rc;
}

void store_export_release(struct store_export *e)
{
    if (e == NULL)
        return;
    free(e->search_ct);
    free(e->cert);
    e->search_ct = e->cert = NULL;
    e->search_ct_len = e->cert_len = 0;
}

int store_export_decide(struct store *s, int64_t id, const char *from,
                        const char *to, int64_t by, int64_t when)
{
    sqlite3_stmt *st = NULL;
    enum stmt_id which;
    int rc = MAMORI_EINVAL;

    if (from == NULL || to == NULL)
        return rc;
    if (strcmp(from, "pending") == 0)
        which = ST_EXPORT_DECIDE_PENDING;
    else if (strcmp(from, "done") == 0)
        which = ST_EXPORT_DECIDE_DONE;
    else
        return rc;
    rc = stmt(s, which, &st);
    if (rc == 0)
        rc = sq_bind_i64(st, 1, id);
    if (rc == 0)
        rc = sq_bind_str(st, 2, from, 0);
    if (rc == 0)
        rc = sq_bind_field(st, 3, to, sizeof((struct store_export *)0)->state);
    if (rc == 0)
        rc = sq_bind_i64(st, 4, by);
    if (rc == 0)
        rc = sq_bind_i64(st, 5, when);
    if (rc == 0)
        rc = sq_step_done(st);
    if (rc == 0 && sqlite3_changes(s->db) == 0)
        rc = MAMORI_ESTATE;
    sq_done(st);
    return rc;
}

int store_export_done(struct store *s, int64_t id, int64_t ran, int64_t count,
                      const char *sha256)
{
    sqlite3_stmt *st = NULL;
    int rc = sha256 ? stmt(s, ST_EXPORT_DONE, &st) : MAMORI_EINVAL;

    if (rc == 0)
        rc = sq_bind_i64(st, 1, id);
    if (rc == 0)
        rc = sq_bind_i64(st, 2, ran);
    if (rc == 0)
        rc = sq_bind_i64(st, 3, count);
    if (rc == 0)
        rc = sq_bind_field(st, 4, sha256,
                           sizeof((struct store_export *)0)->sha256);
    if (rc == 0)
        rc = sq_step_done(st);
    if (rc == 0 && sqlite3_changes(s->db) == 0)
        rc = MAMORI_ESTATE;
    sq_done(st);
    return rc;
}

int store_export_lapse(struct store *s, int64_t *n)
{
    sqlite3_stmt *st = NULL;
    int rc = stmt(s, ST_EXPORT_LAPSE, &st);

    if (rc == 0)
        rc = sq_step_done(st);
    if (rc == 0 && n)
        *n = sqlite3_changes(s->db);
    sq_done(st);
    return rc;
}

int store_export_lapse_one(struct store *s, int64_t id)
{
    sqlite3_stmt *st = NULL;
    int rc = stmt(s, ST_EXPORT_LAPSE_ONE, &st);

    if (rc == 0)
        rc = sq_bind_i64(st, 1, id);
    if (rc == 0)
        rc = sq_step_done(st);
    if (rc == 0 && sqlite3_changes(s->db) == 0)
        rc = MAMORI_ESTATE;
    sq_done(st);
    return rc;
}

int store_export_list(struct store *s, int64_t requested_by,
                      struct store_export **out, size_t *n)
{
    sqlite3_stmt *st = NULL;
    int rc;

    if (requested_by == 0)
        return sq_list_rows(s, ST_EXPORT_LIST,
                            export_sql[ST_EXPORT_LIST - ST_EXPORT_FIRST_],
                            sizeof **out, read_export_elem, (void **)out, n);
    rc = stmt(s, ST_EXPORT_LIST_USER, &st);
    if (rc == 0)
        rc = sq_bind_i64(st, 1, requested_by);
    if (rc == 0)
        rc = sq_list_bound(st, sizeof **out, read_export_elem, (void **)out, n);
    sq_done(st);
    return rc;
}

int store_record_scan(struct store *s, int64_t dataset_id, int64_t *cursor,
                      struct store_record *out, size_t max, size_t *n)
{
    sqlite3_stmt *st = NULL;
    size_t cnt = 0;
    int rc = MAMORI_EINVAL, r = SQLITE_DONE;

    if (cursor == NULL || out == NULL || n == NULL || max == 0 ||
        max > INT32_MAX)
        return rc;
    *n = 0;
    rc = stmt(s, ST_RECORD_SCAN, &st);
    if (rc == 0)
        rc = sq_bind_i64(st, 1, dataset_id);
    if (rc == 0)
        rc = sq_bind_i64(st, 2, *cursor);
    if (rc == 0)
        rc = sq_bind_i64(st, 3, (int64_t)max);
    while (rc == 0 && cnt < max && (r = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_record *rec = &out[cnt];
        const unsigned char *p;
        int len;
        int64_t version = 0, kv = 0, rid = 0;

        memset(rec, 0, sizeof *rec);
        if ((rc = sq_col_i64(st, 0, &version, MAMORI_EIO)) != 0 ||
            (rc = sq_col_i64(st, 1, &kv, MAMORI_EIO)) != 0 ||
            (rc = sq_col_i64(st, 2, &rec->updated, MAMORI_EIO)) != 0 ||
            (rc = sq_col_blob(st, 4, rec->id, STORE_RID_LEN, MAMORI_EIO)) !=
                0 ||
            (rc = sq_col_i64(st, 5, &rid, MAMORI_EIO)) != 0)
            break;
        if (version < 0 || version > UINT32_MAX || kv < 0 || kv > UINT32_MAX ||
            rid <= *cursor || sqlite3_column_type(st, 3) != SQLITE_BLOB) {
            rc = MAMORI_EIO;
            break;
        }
        p = sqlite3_column_blob(st, 3);
        len = sqlite3_column_bytes(st, 3);
        if (len <= 0 || p == NULL) {
            rc = len == 0 ? MAMORI_EIO : MAMORI_ENOMEM;
            break;
        }
        rec->ct = malloc((size_t)len);
        if (rec->ct == NULL) {
            rc = MAMORI_ENOMEM;
            break;
        }
        memcpy(rec->ct, p, (size_t)len);
        rec->ctlen = (size_t)len;
        rec->dataset_id = dataset_id;
        rec->version = (uint32_t)version;
        rec->key_version = (uint32_t)kv;
        *cursor = rid;
        cnt++;
    }
    if (rc == 0 && r != SQLITE_DONE && r != SQLITE_ROW)
        rc = sq_err(r);
    if (rc != 0) {
        for (size_t i = 0; i < cnt; i++) {
            free(out[i].ct);
            out[i].ct = NULL;
        }
        cnt = 0;
    }
    *n = cnt;
    sq_done(st);
    return rc;
}
