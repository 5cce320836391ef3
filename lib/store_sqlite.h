/*
 * store_sqlite.h - what the SQLite store's files share (store_sqlite.c:
 * open, schema, datasets, records, indexes, audit; store_sqlite_auth.c:
 * users, sessions and the other identity tables; store_sqlite_util.c:
 * statement cache, binding and column helpers). Nothing outside these
 * files includes it.
 */
#ifndef MAMORI_STORE_SQLITE_H
#define MAMORI_STORE_SQLITE_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "store.h"

/* Cached statements, by slot. Each file keeps the SQL of its own slots. */
enum stmt_id {
    ST_BEGIN,
    ST_BEGIN_READ,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_META_GET,
    ST_META_SET,
    ST_DATASET_ADD,
    ST_DATASET_GET,
    ST_DATASET_LIST,
    ST_GRANT_ADD,
    ST_GRANT_CHECK,
    ST_RECORD_PUT,
    ST_RECORD_GET,
    ST_RECORD_DELETE,
    ST_RECORD_COUNT,
    ST_INDEX_PUT,
    ST_INDEX_PUT_RID,
    ST_INDEX_DELETE,
    ST_INDEX_CANDIDATES,
    ST_RECORD_BY_RID,
    ST_AUDIT_MAX,
    ST_AUDIT_HEAD,
    ST_AUDIT_APPEND,
    ST_AUDIT_SCAN,
    ST_AUDIT_COUNT,
    /* store_sqlite_auth.c */
    ST_USER_ADD,
    ST_USER_GET,
    ST_USER_GET_ID,
    ST_USER_UPDATE,
    ST_USER_LIST,
    ST_USER_COUNT_ROLE,
    ST_SESSION_ADD,
    ST_SESSION_GET,
    ST_SESSION_TOUCH,
    ST_SESSION_SEEN,
    ST_AUTH_GEN,
    ST_SESSION_DELETE,
    ST_SESSION_RESTRICT,
    ST_SESSION_LIST,
    ST_SESSION_DELETE_USER,
    ST_SESSION_DELETE_ALL,
    ST_PWHIST_ADD,
    ST_PWHIST_TRIM,
    ST_PWHIST_LIST,
    ST_RECOVERY_CLEAR,
    ST_RECOVERY_ADD,
    ST_RECOVERY_USE,
    ST_RECOVERY_LEFT,
    ST_DEVICE_ADD,
    ST_DEVICE_GET,
    ST_DEVICE_BY_KEY,
    ST_DEVICE_REVOKED,
    ST_DEVICE_UPDATE,
    ST_DEVICE_LIST,
    ST_SESSION_DELETE_DEVICE,
    ST_CHALLENGE_ADD,
    ST_CHALLENGE_TAKE,
    ST_CHALLENGE_PRUNE,
    ST_CONFIG_GET,
    ST_CONFIG_SET,
    /* store_sqlite_entry.c */
    ST_ENTRY_FIRST_, /* (marks where the slots below begin) */
    ST_ENTRY_ADD,
    ST_ENTRY_GET,
    ST_ENTRY_UPDATE,
    ST_ENTRY_MISMATCH,
    ST_ENTRY_DELETE,
    ST_ENTRY_LIST,
    ST_ENTRY_EXPIRED,
    ST_ENTRY_EXPIRE,
    ST_ENTRY_DESCRIBE,
    /* store_sqlite_export.c */
    ST_EXPORT_FIRST_, /* (marks where the slots below begin) */
    ST_EXPORT_ADD,
    ST_EXPORT_SET_SEARCH,
    ST_EXPORT_GET,
    ST_EXPORT_DECIDE_PENDING,
    ST_EXPORT_DECIDE_DONE,
    ST_EXPORT_DONE,
    ST_EXPORT_LIST,
    ST_EXPORT_LIST_USER,
    ST_EXPORT_LAPSE,
    ST_EXPORT_LAPSE_ONE,
    ST_RECORD_SCAN,
    ST_COUNT_
};

struct store {
    sqlite3 *db;
    sqlite3_stmt *st[ST_COUNT_]; /* prepared on first use, kept until close */
    int in_tx;                   /* inside store_begin .. commit/rollback */
    int fail_audit;              /* fault injection: appends fail */
    int64_t mmap_bytes;          /* PRAGMA mmap_size as last set */
    /* The record last put and its internal rid, so that its index entries
     * need no lookup by id (valid until rollback or delete). */
    int have_last;
    int64_t last_ds, last_rid;
    uint8_t last_id[STORE_RID_LEN];
    /* The audit entry this transaction appended last, so that the next
     * append of a group commit chains from it without reading it back
     * (valid until the transaction ends). */
    int have_head;
    int64_t head_seq;
    uint8_t head_mac[32];
    /* Index entries waiting to be inserted (store_sqlite_pending.c). */
    struct pending_entry *pending;
    size_t npending;
};

/* One blind index entry held back (store_sqlite_pending.c). */
struct pending_entry {
    int64_t ds, rid;
    int32_t field;
    uint8_t maclen, chklen;
    uint8_t mac[8];
    uint8_t chk[STORE_CHECK_MAX];
};

/* The statement that inserts one index entry by rid. */
extern const char sq_index_put_rid_sql[];
/* Holds back an index entry of a record put in the open transaction: 0
 * held, 1 not (outside a transaction, or a MAC too long: insert it now),
 * or an error from flushing a full buffer. */
int sq_pending_add(struct store *s, int64_t ds, int field, const uint8_t *mac,
                   size_t maclen, const uint8_t *chk, size_t chklen,
                   int64_t rid);
/* Inserts the held entries in key order. */
int sq_pending_flush(struct store *s);
/* Flushes before statement id (text sql) if it needs the entries: COMMIT,
 * or any statement naming the blind table. */
int sq_pending_before(struct store *s, enum stmt_id id, const char *sql);
/* Forgets the held entries (rollback), or frees the buffer (close). */
void sq_pending_drop(struct store *s);
void sq_pending_free(struct store *s);

/* Schema steps kept beside the tables they make (store_sqlite_auth.c). */
extern const char store_migration_mfa[];
extern const char store_migration_devices[];

/* SQLite result code (extended codes on) to a MAMORI_E* code. */
int sq_err(int rc);
/* The cached statement of slot id with text sql, prepared on first use. A
 * statement still running (a scan whose callback calls back into the store
 * for the same statement) cannot be reused: MAMORI_ESTATE. */
int sq_stmt(struct store *s, enum stmt_id id, const char *sql,
            sqlite3_stmt **out);
/* Ready the statement for its next use (reset, bindings cleared). */
void sq_done(sqlite3_stmt *st);
/* One step of a statement that returns no rows. */
int sq_step_done(sqlite3_stmt *st);
/* One step returning at most one row: 0 with a row, MAMORI_ENOTFOUND
 * without. */
int sq_step_row(sqlite3_stmt *st);
/* Binds a string that must fit a struct field of max bytes (NUL
 * included), SQLITE_STATIC. */
int sq_bind_field(sqlite3_stmt *st, int i, const char *v, size_t max);
/* Binds a string of any length; NULL binds SQL NULL when null_ok. */
int sq_bind_str(sqlite3_stmt *st, int i, const char *v, int null_ok);
int sq_bind_blob(sqlite3_stmt *st, int i, const void *p, size_t n);
/* An empty blob binds SQL NULL. */
int sq_bind_blob_or_null(sqlite3_stmt *st, int i, const void *p, size_t n);
int sq_bind_i64(sqlite3_stmt *st, int i, int64_t v);
/* Column readers; bad is the code for content the store cannot have
 * written (MAMORI_EIO, or MAMORI_ETAMPER for the audit table). */
int sq_col_i64(sqlite3_stmt *st, int col, int64_t *v, int bad);
int sq_col_text(sqlite3_stmt *st, int col, char *dst, size_t size, int bad);
int sq_col_blob(sqlite3_stmt *st, int col, void *dst, size_t len, int bad);
/* Makes room for one more element of an array of *cap elements; a
 * growth copies them to a new block and wipes the old one. */
int sq_grow(void **arr, size_t *cap, size_t n, size_t elem);
/* Every row of the statement (slot id, text sql), each read by rd into an
 * element of size bytes of a malloc'd array (wiped before it is freed on
 * failure). */
int sq_list_rows(struct store *s, enum stmt_id id, const char *sql, size_t size,
                 int (*rd)(sqlite3_stmt *st, void *elem), void **out,
                 size_t *n);
/* A small key/value table: the value of key (statement id selects
 * "value" by ?1), or sets it (id upserts ?1, ?2). MAMORI_ETOOBIG when the
 * value does not fit size. */
int sq_kv_get(struct store *s, enum stmt_id id, const char *sql,
              const char *key, char *val, size_t size);
int sq_kv_set(struct store *s, enum stmt_id id, const char *sql,
              const char *key, const char *val);
/* The same for a statement the caller prepared and bound. */
int sq_list_bound(sqlite3_stmt *st, size_t size,
                  int (*rd)(sqlite3_stmt *st, void *elem), void **out,
                  size_t *n);

/* The name of the readers' VFS (store_sqlite_map.c), registered on first
 * call; NULL if it could not be. */
const char *sq_map_vfs(void);
/* How many maps that VFS has made in this process (for tests). */
unsigned long sq_map_made(void);
/* File control that only that VFS answers (SQLITE_OK): is this a reader? */
#define SQ_FCNTL_KEEPS_MAP 0x6d6d7701
/* The map size store_map_kept asks for (SQLite caps it). */
#define STORE_KEPT_MAP ((int64_t)1 << 40)

#endif
