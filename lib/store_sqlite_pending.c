/*
 * store_sqlite_pending.c - blind index entries held back until needed.
 *
 * Inside a transaction, the index entries of the record just put are not
 * inserted one by one: they wait in memory and go into the B-tree sorted,
 * in one pass, when the transaction commits, when the buffer is full, or
 * before any statement that names the blind table runs on the connection
 * (so every read sees them). A blind MAC is random by design, so an import
 * inserting entries as they come touches a random leaf page each time and,
 * once the index outgrows the page cache, reads and writes a page per
 * entry; in key order each leaf is read and written once per pass.
 *
 * Nothing changes in what a transaction does or when: the entries are in
 * the same transaction as their records, and a rollback drops them.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "mamori.h"
#include "store_sqlite.h"
#include "banned.h"

/* 3 MiB of entries (and as much again while sorting): an import of a
 * million 3-index rows flushes 46 times. */
#define PENDING_MAX 65536

const char sq_index_put_rid_sql[] =
    "INSERT INTO blind(dataset_id, field, mac, record, chk)"
    " VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING";

static int entry_cmp(const void *a, const void *b)
{
    const struct pending_entry *x = a, *y = b;
    size_t n = x->maclen < y->maclen ? x->maclen : y->maclen;
    int c;

    /* The blind table's key order: dataset, field, mac (as SQLite orders
     * blobs: bytes, then length), record. */
    if (x->ds != y->ds)
        return x->ds < y->ds ? -1 : 1;
    if (x->field != y->field)
        return x->field < y->field ? -1 : 1;
    c = memcmp(x->mac, y->mac, n);
    if (c != 0)
        return c;
    if (x->maclen != y->maclen)
        return x->maclen < y->maclen ? -1 : 1;
    if (x->rid != y->rid)
        return x->rid < y->rid ? -1 : 1;
    return 0;
}

int sq_pending_add(struct store *s, int64_t ds, int field, const uint8_t *mac,
                   size_t maclen, const uint8_t *chk, size_t chklen,
                   int64_t rid)
{
    struct pending_entry *e;

    if (maclen > sizeof e->mac || chklen > sizeof e->chk || !s->in_tx)
        return 1; /* the caller inserts it at once */
    if (s->npending == PENDING_MAX) {
        int rc = sq_pending_flush(s);
        if (rc != 0)
            return rc;
    }
    if (s->pending == NULL) {
        s->pending = malloc(PENDING_MAX * sizeof *s->pending);
        if (s->pending == NULL)
            return MAMORI_ENOMEM;
    }
    e = &s->pending[s->npending++];
    memset(e, 0, sizeof *e);
    e->ds = ds;
    e->rid = rid;
    e->field = (int32_t)field;
    e->maclen = (uint8_t)maclen;
    memcpy(e->mac, mac, maclen);
    e->chklen = (uint8_t)chklen;
    if (chklen > 0)
        memcpy(e->chk, chk, chklen);
    return 0;
}

int sq_pending_flush(struct store *s)
{
    sqlite3_stmt *st = NULL;
    size_t n = s->npending;
    int rc;

    if (n == 0)
        return 0;
    s->npending = 0;
    qsort(s->pending, n, sizeof *s->pending, entry_cmp);
    rc = sq_stmt(s, ST_INDEX_PUT_RID, sq_index_put_rid_sql, &st);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const struct pending_entry *e = &s->pending[i];
        if ((rc = sq_bind_i64(st, 1, e->ds)) == 0 &&
            (rc = sq_bind_i64(st, 2, e->field)) == 0 &&
            (rc = sq_bind_blob(st, 3, e->mac, e->maclen)) == 0 &&
            (rc = sq_bind_i64(st, 4, e->rid)) == 0 &&
            (rc = sq_bind_blob_or_null(st, 5, e->chk, e->chklen)) == 0)
            rc = sq_step_done(st);
        sq_done(st);
    }
    return rc;
}

void sq_pending_drop(struct store *s)
{
    s->npending = 0;
}

void sq_pending_free(struct store *s)
{
    free(s->pending);
    s->pending = NULL;
    s->npending = 0;
}

int sq_pending_before(struct store *s, enum stmt_id id, const char *sql)
{
    if (s->npending == 0 || id == ST_INDEX_PUT_RID)
        return 0;
    if (id != ST_COMMIT && strstr(sql, "blind") == NULL)
        return 0;
    return sq_pending_flush(s);
}
