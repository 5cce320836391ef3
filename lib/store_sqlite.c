/*
 * store_sqlite.c - the embedded store: one SQLite file, DIR/vault.db.
 *
 * Threads: a struct store is one SQLite connection together with its cache
 * of prepared statements and its transaction state. The model is one struct
 * store per thread: open one per thread (several on the same vault are fine)
 * and never use one from two threads at once without a lock of your own.
 * SQLite runs in serialized mode underneath; WAL lets readers go on while
 * one writer works, and writers queue on BEGIN IMMEDIATE for up to the busy
 * timeout.
 *
 * Durability and hygiene, set on every open: WAL with synchronous=FULL (a
 * commit that returned 0 survives power loss), secure_delete (freed content
 * is zeroed), temp_store=MEMORY (no temporary files), no mmap (but for
 * readers, store_sqlite_map.c), foreign keys enforced, defensive mode (no
 * writable_schema tricks). The file is created 0600; SQLite gives the -wal and
 * -shm files the same mode.
 *
 * Blind index entries put inside a transaction wait in memory and go in
 * sorted, at commit or before anything reads the index: see
 * store_sqlite_pending.c.
 *
 * Schema: version in PRAGMA user_version. migrations[i] takes version i to
 * i + 1; store_open applies the missing steps in one transaction.
 *
 * Errors: SQLITE_CONSTRAINT_UNIQUE/PRIMARYKEY -> MAMORI_EEXIST, a foreign
 * key naming a missing row -> MAMORI_ENOTFOUND, SQLITE_NOMEM ->
 * MAMORI_ENOMEM, SQLITE_TOOBIG -> MAMORI_ETOOBIG, everything else (FULL,
 * IOERR, BUSY, CORRUPT, ...) -> MAMORI_EIO. A value read back that the
 * store could not have written (wrong type, too long for its field, wrong
 * blob length) is MAMORI_EIO, except in the audit table, where it can only
 * come from editing the file behind our back: MAMORI_ETAMPER.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "mamori.h"
#include "store_sqlite.h"
#include "audit.h"

#include "banned.h"

#define DB_NAME "vault.db"
#define BUSY_TIMEOUT_MS 10000
#define MAC_MAX 32 /* blind index MACs: truncated HMAC-SHA-256 */

/* ---- schema -------------------------------------------------------------- */

static const char migration_1[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    " role TEXT NOT NULL, pwhash TEXT NOT NULL, created INTEGER NOT NULL,"
    " last_login INTEGER NOT NULL DEFAULT 0,"
    " disabled INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE sessions(token_hash BLOB PRIMARY KEY,"
    " user_id INTEGER NOT NULL REFERENCES users(id),"
    " os_uid INTEGER NOT NULL, created INTEGER NOT NULL,"
    " last_seen INTEGER NOT NULL, expires INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE datasets(id INTEGER PRIMARY KEY, uuid TEXT NOT NULL UNIQUE,"
    " name TEXT NOT NULL UNIQUE, client TEXT NOT NULL,"
    " purpose TEXT NOT NULL, ends TEXT NOT NULL DEFAULT '',"
    " state TEXT NOT NULL, created INTEGER NOT NULL, schema TEXT NOT NULL);"
    "CREATE TABLE grants(dataset_id INTEGER NOT NULL REFERENCES datasets(id),"
    " user_id INTEGER NOT NULL REFERENCES users(id),"
    " PRIMARY KEY(dataset_id, user_id)) WITHOUT ROWID;"
    /* Rows are appended in rid order (cheap, like a plain import); the
     * random public id is found through its unique index. rid is internal
     * and never leaves the store. */
    "CREATE TABLE records(rid INTEGER PRIMARY KEY,"
    " dataset_id INTEGER NOT NULL REFERENCES datasets(id),"
    " id BLOB NOT NULL, version INTEGER NOT NULL,"
    " key_version INTEGER NOT NULL, updated INTEGER NOT NULL,"
    " ct BLOB NOT NULL, UNIQUE(dataset_id, id));"
    "CREATE TABLE blind(dataset_id INTEGER NOT NULL, field INTEGER NOT NULL,"
    " mac BLOB NOT NULL, record INTEGER NOT NULL,"
    " PRIMARY KEY(dataset_id, field, mac, record)) WITHOUT ROWID;"

    "CREATE TABLE audit(seq INTEGER PRIMARY KEY, time INTEGER NOT NULL,"
    " user TEXT NOT NULL, device TEXT NOT NULL, action TEXT NOT NULL,"
    " dataset TEXT NOT NULL, record_ids TEXT, count INTEGER NOT NULL,"
    " outcome TEXT NOT NULL, detail TEXT NOT NULL, prev_mac BLOB NOT NULL,"
    " mac BLOB NOT NULL);";

/* Identity and access: password rules, lockout, restricted sessions,
 * settings. */
static const char migration_2[] =
    "ALTER TABLE users ADD COLUMN must_change INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE users ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE users ADD COLUMN locked_until INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE users ADD COLUMN pw_changed INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE sessions ADD COLUMN restricted INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE pw_history(user_id INTEGER NOT NULL REFERENCES users(id),"
    " seq INTEGER NOT NULL, pwhash TEXT NOT NULL,"
    " PRIMARY KEY(user_id, seq)) WITHOUT ROWID;"
    "CREATE TABLE config(key TEXT PRIMARY KEY, value TEXT NOT NULL)"
    " WITHOUT ROWID;";

/* Least privilege: datasets that require a stated purpose for reads, My
 * Number handlers (a flag on the grant), break-glass requests. */
static const char migration_3[] =
    "ALTER TABLE datasets ADD COLUMN require_reason INTEGER NOT NULL"
    " DEFAULT 0;"
    "ALTER TABLE grants ADD COLUMN handler INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE breakglass(id INTEGER PRIMARY KEY,"
    " dataset_id INTEGER NOT NULL REFERENCES datasets(id),"
    " requester INTEGER NOT NULL REFERENCES users(id),"
    " approver INTEGER NOT NULL DEFAULT 0, requested INTEGER NOT NULL,"
    " approved INTEGER NOT NULL DEFAULT 0, expires INTEGER NOT NULL DEFAULT 0,"
    " reason TEXT NOT NULL);"
    "CREATE INDEX breakglass_open ON breakglass(dataset_id, requester,"
    " expires);";

/* Verified entry (ベリファイ入力): a first keying waits here, sealed under
 * the dataset key, until a second operator's keying matches it. */
static const char migration_6[] =
    "CREATE TABLE entries(id TEXT PRIMARY KEY,"
    " dataset_id INTEGER NOT NULL REFERENCES datasets(id),"
    " entered_by INTEGER NOT NULL REFERENCES users(id),"
    " created INTEGER NOT NULL, updated INTEGER NOT NULL,"
    " expires INTEGER NOT NULL, version INTEGER NOT NULL,"
    " mismatches INTEGER NOT NULL DEFAULT 0,"
    " tries INTEGER NOT NULL DEFAULT 0, ct BLOB NOT NULL);"
    "CREATE INDEX entries_expires ON entries(expires);";

/* Take-out (持ち出し) requests and the ledger of what left the vault. */
static const char migration_7[] =
    "CREATE TABLE exports(id INTEGER PRIMARY KEY,"
    " dataset_id INTEGER NOT NULL REFERENCES datasets(id),"
    " requested_by INTEGER NOT NULL REFERENCES users(id),"
    " requested INTEGER NOT NULL, reason TEXT NOT NULL,"
    " format TEXT NOT NULL, encoding TEXT NOT NULL,"
    " search_field TEXT NOT NULL DEFAULT '', search_ct BLOB,"
    " recipient TEXT NOT NULL DEFAULT '',"
    " recipient_sha256 TEXT NOT NULL DEFAULT '', recipient_cert BLOB,"
    " state TEXT NOT NULL, decided_by INTEGER NOT NULL DEFAULT 0,"
    " decided INTEGER NOT NULL DEFAULT 0, ran INTEGER NOT NULL DEFAULT 0,"
    " count INTEGER NOT NULL DEFAULT 0, sha256 TEXT NOT NULL DEFAULT '',"
    " marked_by INTEGER NOT NULL DEFAULT 0,"
    " marked INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX exports_requester ON exports(requested_by);";

/* The request context of audit entries: client address and request id,
 * covered by the MAC of entries of format 2 (entries written before keep
 * format 1 and their MAC). */
static const char migration_8[] =
    "ALTER TABLE audit ADD COLUMN format INTEGER NOT NULL DEFAULT 1;"
    "ALTER TABLE audit ADD COLUMN client TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE audit ADD COLUMN request_id TEXT NOT NULL DEFAULT '';";

/* The audit log keeps each entry's fields as one JSON object, body, the
 * very bytes the MAC of a format 3 entry covers (audit_body.c), so that
 * verification reads one column instead of ten. Entries of formats 1 and
 * 2 move into body here (their MACs still cover the fields, which are
 * read back from it); a value that JSON cannot hold, which only tampering
 * can have put there, becomes null and so stays detected. */
#define AUDIT_OLD(col)                                                         \
    "CASE typeof(" col ") WHEN 'blob' THEN NULL ELSE " col " END"
/* clang-format off */
static const char migration_9[] =
    "CREATE TABLE audit_v9(seq INTEGER PRIMARY KEY, format INTEGER NOT NULL,"
    " body TEXT NOT NULL, record_ids TEXT, prev_mac BLOB NOT NULL,"
    " mac BLOB NOT NULL);"
    "INSERT INTO audit_v9(seq, format, body, record_ids, prev_mac, mac)"
    " SELECT seq, format, json_object("
    "'t', " AUDIT_OLD("time") ", 'n', " AUDIT_OLD("count") ","
    " 'u', " AUDIT_OLD("user") ", 'd', " AUDIT_OLD("device") ","
    " 'a', " AUDIT_OLD("action") ", 's', " AUDIT_OLD("dataset") ","
    " 'o', " AUDIT_OLD("outcome") ", 'x', " AUDIT_OLD("detail") ","
    " 'c', " AUDIT_OLD("client") ", 'r', " AUDIT_OLD("request_id") "),"
    " record_ids, prev_mac, mac FROM audit ORDER BY seq;"
    "DROP TABLE audit;"
    "ALTER TABLE audit_v9 RENAME TO audit;";
/* clang-format on */

/* Index entries carry a check that lets a lookup skip most false
 * positives without reading their records; older entries have none. */
static const char migration_10[] = "ALTER TABLE blind ADD COLUMN chk BLOB;";

/* The audit log keeps each entry as one blob (store_audit_entry_split): the
 * bytes a format 4 MAC covers, then the MAC, so that verification reads
 * one column instead of five. Entries of earlier formats move in as they
 * are; their MACs still cover the parts, which are read back from it.
 * Whatever tampering left in a column moves along and stays detected. */
static const char migration_11[] =
    "CREATE TABLE audit_v11(seq INTEGER PRIMARY KEY, entry BLOB NOT NULL);"
    "INSERT INTO audit_v11(seq, entry) SELECT seq, CAST(char(format)"
    " || prev_mac || body || x'00' || coalesce(record_ids, '') || mac"
    " AS BLOB) FROM audit ORDER BY seq;"
    "DROP TABLE audit;"
    "ALTER TABLE audit_v11 RENAME TO audit;";

/* What a session check and a read gate read (users, sessions but for
 * last_seen, datasets, grants, settings) is cached in memory against
 * authgen.gen (authcache.c): any change to it, by any process, gives gen a
 * new random value in the same transaction. Random, not a count: a vault
 * put back from a backup cannot bring back a value seen with other rows.
 * (IF NOT EXISTS: tests take a vault's version back to replay a step.) */
/* clang-format off */
#define GEN_BUMP " BEGIN UPDATE authgen SET gen = random(); END;"
#define GEN_TRIGGER(t, when) \
    "CREATE TRIGGER IF NOT EXISTS authgen_" t "_" when " AFTER " when \
    " ON " t GEN_BUMP
#define GEN_TRIGGERS(t) \
    GEN_TRIGGER(t, "INSERT") GEN_TRIGGER(t, "UPDATE") GEN_TRIGGER(t, "DELETE")
static const char migration_12[] =
    "CREATE TABLE IF NOT EXISTS authgen(id INTEGER PRIMARY KEY"
    " CHECK (id = 1), gen INTEGER NOT NULL);"
    "INSERT OR IGNORE INTO authgen(id, gen) VALUES(1, random());"
    GEN_TRIGGERS("users") GEN_TRIGGERS("datasets") GEN_TRIGGERS("grants")
    GEN_TRIGGERS("config") GEN_TRIGGER("sessions", "DELETE")
    "CREATE TRIGGER IF NOT EXISTS authgen_sessions_UPDATE AFTER UPDATE OF"
    " token_hash, user_id, os_uid, created, expires, restricted, device"
    " ON sessions" GEN_BUMP;
/* clang-format on */

/* Device enrolment counts its failed passwords and codes apart from
 * logins (auth_login_failed): enrolment needs no approved device, so a
 * stranger must not be able to lock an account's logins through it. */
static const char migration_13[] =
    "ALTER TABLE users ADD COLUMN enrol_failures INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE users ADD COLUMN enrol_locked_until INTEGER NOT NULL"
    " DEFAULT 0;";

/* migrations[i] upgrades schema version i to i + 1. Append, never edit. */
static const char *const migrations[] = {
    migration_1,
    migration_2,
    migration_3,
    store_migration_mfa,
    store_migration_devices,
    migration_6,
    migration_7,
    migration_8,
    migration_9,
    migration_10,
    migration_11,
    migration_12,
    migration_13,
};

_Static_assert(sizeof migrations / sizeof migrations[0] == STORE_SCHEMA_VERSION,
               "one migration step per schema version");

/* ---- statements ---------------------------------------------------------- */

#define DATASET_COLS                                                           \
    "id, uuid, name, client, purpose, ends, state, created, schema,"           \
    " require_reason"

static const char *const stmt_sql[ST_COUNT_] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_BEGIN_READ] = "BEGIN",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_META_GET] = "SELECT value FROM meta WHERE key = ?1",
    [ST_META_SET] = "INSERT INTO meta(key, value) VALUES(?1, ?2)"
                    " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    [ST_DATASET_ADD] = "INSERT INTO datasets(uuid, name, client, purpose,"
                       " ends, state, created, schema, require_reason)"
                       " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [ST_DATASET_GET] = "SELECT " DATASET_COLS " FROM datasets WHERE name = ?1",
    [ST_DATASET_LIST] = "SELECT " DATASET_COLS " FROM datasets ORDER BY name",
    [ST_GRANT_ADD] = "INSERT INTO grants(dataset_id, user_id) VALUES(?1, ?2)",
    [ST_GRANT_CHECK] = "SELECT handler FROM grants"
                       " WHERE dataset_id = ?1 AND user_id = ?2",
    [ST_RECORD_PUT] =
        "INSERT INTO records(dataset_id, id, version, key_version, updated,"
        " ct) VALUES(?1, ?2, ?3, ?4, ?5, ?6)"
        " ON CONFLICT(dataset_id, id) DO UPDATE SET"
        " version = excluded.version, key_version = excluded.key_version,"
        " updated = excluded.updated, ct = excluded.ct RETURNING rid",
    [ST_RECORD_GET] = "SELECT version, key_version, updated, ct FROM records"
                      " WHERE dataset_id = ?1 AND id = ?2",
    [ST_RECORD_DELETE] = "DELETE FROM records WHERE dataset_id = ?1"
                         " AND id = ?2",
    [ST_RECORD_COUNT] = "SELECT count(*) FROM records WHERE dataset_id = ?1",
    /* A missing record makes record NULL: NOT NULL fails, ENOTFOUND. */
    [ST_INDEX_PUT] = "INSERT INTO blind(dataset_id, field, mac, record, chk)"
                     " VALUES(?1, ?2, ?3, (SELECT rid FROM records"
                     " WHERE dataset_id = ?1 AND id = ?4), ?5)"
                     " ON CONFLICT DO NOTHING",
    [ST_INDEX_PUT_RID] = sq_index_put_rid_sql,
    [ST_INDEX_DELETE] = "DELETE FROM blind WHERE dataset_id = ?1"
                        " AND field = ?2 AND mac = ?3 AND record = (SELECT"
                        " rid FROM records WHERE dataset_id = ?1 AND id = ?4)",
    [ST_INDEX_CANDIDATES] = "SELECT record, chk FROM blind"
                            " WHERE dataset_id = ?1 AND field = ?2"
                            " AND mac = ?3",
    [ST_RECORD_BY_RID] = "SELECT version, key_version, updated, ct, id"
                         " FROM records WHERE rid = ?1 AND dataset_id = ?2",
    [ST_AUDIT_MAX] = "SELECT max(seq) FROM audit",
    [ST_AUDIT_HEAD] = "SELECT seq, substr(entry, -32) FROM audit"
                      " ORDER BY seq DESC LIMIT 1",
    [ST_AUDIT_APPEND] = "INSERT INTO audit(seq, entry) VALUES(?1, ?2)",
    [ST_AUDIT_SCAN] = "SELECT seq, entry FROM audit WHERE seq >= ?1"
                      " AND seq <= ?2 ORDER BY seq",
    [ST_AUDIT_COUNT] = "SELECT count(*) FROM audit",
};

static int stmt_get(struct store *s, enum stmt_id id, sqlite3_stmt **out)
{
    return sq_stmt(s, id, stmt_sql[id], out);
}

/* Runs a statement without parameters or rows (BEGIN, COMMIT, ...). */
static int sq_exec(struct store *s, enum stmt_id id)
{
    sqlite3_stmt *st;
    int rc = stmt_get(s, id, &st);

    if (rc == 0)
        rc = sq_step_done(st);
    sq_done(st);
    return rc;
}

/* ---- open, close, schema ------------------------------------------------- */

static int errno_err(int e)
{
    if (e == ENOENT || e == ENOTDIR)
        return MAMORI_ENOTFOUND;
    if (e == EEXIST)
        return MAMORI_EEXIST;
    if (e == ENOMEM)
        return MAMORI_ENOMEM;
    if (e == ENAMETOOLONG)
        return MAMORI_ETOOBIG;
    return MAMORI_EIO;
}

/* Makes an empty 0600 file at path (never following or replacing anything
 * there) and syncs its directory entry. */
static int create_file(const char *home, const char *path)
{
    int fd, dfd, rc = 0;

    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return errno_err(errno);
    /* The umask may have taken bits away; say exactly what we mean. */
    if (fchmod(fd, 0600) != 0 || fsync(fd) != 0)
        rc = MAMORI_EIO;
    if (close(fd) != 0 && rc == 0)
        rc = MAMORI_EIO;
    if (rc == 0) {
        dfd = open(home, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || fsync(dfd) != 0)
            rc = MAMORI_EIO;
        if (dfd >= 0)
            close(dfd);
    }
    return rc;
}

/* Removes the database and its side files after a failed create. */
static void remove_db(const char *path)
{
    static const char *const sfx[] = {"", "-wal", "-shm", "-journal"};
    char buf[PATH_MAX];
    size_t i;
    int n;

    for (i = 0; i < sizeof sfx / sizeof sfx[0]; i++) {
        n = snprintf(buf, sizeof buf, "%s%s", path, sfx[i]);
        if (n > 0 && (size_t)n < sizeof buf)
            (void)unlink(buf);
    }
}

static int pragma_int(sqlite3 *db, const char *sql, int64_t *v)
{
    sqlite3_stmt *st = NULL;
    int rc = sq_err(sqlite3_prepare_v2(db, sql, -1, &st, NULL));

    if (rc == 0)
        rc = sq_step_row(st);
    if (rc == 0)
        *v = sqlite3_column_int64(st, 0);
    else if (rc == MAMORI_ENOTFOUND)
        rc = MAMORI_EIO;
    sqlite3_finalize(st);
    return rc;
}

static int exec_sql(sqlite3 *db, const char *sql)
{
    return sq_err(sqlite3_exec(db, sql, NULL, NULL, NULL));
}

static int configure(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    const unsigned char *mode;
    int64_t v;
    int rc;

    rc = sq_err(sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS));
    if (rc == 0)
        rc = sq_err(
            sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL));
    if (rc == 0)
        rc = sq_err(sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0,
                                      (int *)NULL));
    if (rc == 0)
        rc = exec_sql(db, "PRAGMA foreign_keys = ON;"
                          "PRAGMA secure_delete = ON;"
                          "PRAGMA temp_store = MEMORY;"
                          "PRAGMA cache_size = -32768;"
                          "PRAGMA mmap_size = 0;");
    if (rc != 0)
        goto out;

    /* The journal mode change can fail silently (it answers the mode in
     * force), so read the answer. */
    rc = sq_err(
        sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &st, NULL));
    if (rc == 0)
        rc = sq_step_row(st);
    if (rc != 0)
        goto out;
    mode = sqlite3_column_text(st, 0);
    if (mode == NULL || strcmp((const char *)mode, "wal") != 0) {
        rc = MAMORI_EIO;
        goto out;
    }
    rc = exec_sql(db, "PRAGMA synchronous = FULL");
    if (rc != 0)
        goto out;

    /* A build without these would quietly drop a guarantee. */
    rc = pragma_int(db, "PRAGMA foreign_keys", &v);
    if (rc == 0 && v != 1)
        rc = MAMORI_EIO;
    if (rc == 0)
        rc = pragma_int(db, "PRAGMA secure_delete", &v);
    if (rc == 0 && v != 1)
        rc = MAMORI_EIO;
out:
    sqlite3_finalize(st);
    return rc;
}

/* Brings the schema up to STORE_SCHEMA_VERSION in one transaction. */
static int migrate(sqlite3 *db)
{
    char sql[64];
    int64_t v;
    int rc, n, in_tx = 0;

    rc = pragma_int(db, "PRAGMA user_version", &v);
    if (rc != 0)
        goto out;
    if (v > STORE_SCHEMA_VERSION || v < 0) {
        rc = MAMORI_ESCHEMA;
        goto out;
    }
    if (v == STORE_SCHEMA_VERSION)
        goto out;

    rc = exec_sql(db, "BEGIN IMMEDIATE");
    if (rc != 0)
        goto out;
    in_tx = 1;
    /* Another process may have migrated while we waited for the lock. */
    rc = pragma_int(db, "PRAGMA user_version", &v);
    if (rc != 0)
        goto out;
    if (v > STORE_SCHEMA_VERSION || v < 0) {
        rc = MAMORI_ESCHEMA;
        goto out;
    }
    for (; v < STORE_SCHEMA_VERSION; v++) {
        rc = exec_sql(db, migrations[v]);
        if (rc != 0)
            goto out;
    }
    n = snprintf(sql, sizeof sql, "PRAGMA user_version = %d",
                 STORE_SCHEMA_VERSION);
    if (n < 0 || (size_t)n >= sizeof sql) {
        rc = MAMORI_EIO;
        goto out;
    }
    rc = exec_sql(db, sql);
    if (rc == 0)
        rc = exec_sql(db, "COMMIT");
    if (rc == 0)
        in_tx = 0;
out:
    if (in_tx && !sqlite3_get_autocommit(db))
        (void)exec_sql(db, "ROLLBACK");
    return rc;
}

static int env_fail_audit(void)
{
    const char *hooks = secure_getenv("MAMORI_TEST_HOOKS");
    const char *fail = secure_getenv("MAMORI_FAIL_AUDIT");

    return hooks != NULL && fail != NULL && strcmp(hooks, "1") == 0 &&
           strcmp(fail, "1") == 0;
}

void store_global_init(void)
{
    /* No memory statistics: they put every allocation of every connection
     * behind one global mutex, which parallel readers then fight over. */
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static int open_with(const char *home, int create, const char *vfs,
                     struct store **out)
{
    struct store *s = NULL;
    char path[PATH_MAX];
    struct stat sb;
    int rc = MAMORI_EINVAL, made = 0, n;

    if (out != NULL)
        *out = NULL;
    if (home == NULL || home[0] == '\0' || out == NULL)
        goto out;
    n = snprintf(path, sizeof path, "%s/" DB_NAME, home);
    if (n < 0 || (size_t)n >= sizeof path) {
        rc = MAMORI_ETOOBIG;
        goto out;
    }
    if (create) {
        rc = create_file(home, path);
        if (rc != 0)
            goto out;
        made = 1;
    } else if (stat(path, &sb) != 0) {
        rc = errno_err(errno);
        goto out;
    } else if (!S_ISREG(sb.st_mode)) {
        rc = MAMORI_EIO;
        goto out;
    }

    s = calloc(1, sizeof *s);
    if (s == NULL) {
        rc = MAMORI_ENOMEM;
        goto out;
    }
    /* Never SQLITE_OPEN_CREATE: the file exists by now, and if it vanished
     * we want an error, not a fresh empty vault. */
    rc = sqlite3_open_v2(path, &s->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
                             SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_EXRESCODE,
                         vfs);
    if (rc != SQLITE_OK) {
        rc = sq_err(rc);
        if (rc == 0)
            rc = MAMORI_EIO;
        goto out;
    }
    rc = configure(s->db);
    if (rc == 0)
        rc = migrate(s->db);
    if (rc != 0)
        goto out;
    s->fail_audit = env_fail_audit();
    *out = s;
    s = NULL;
    rc = 0;
out:
    store_close(s);
    if (rc != 0 && made)
        remove_db(path);
    return rc;
}

int store_open(const char *home, int create, struct store **out)
{
    return open_with(home, create, NULL, out);
}

int store_open_reader(const char *home, struct store **out)
{
    const char *vfs = sq_map_vfs();
    int rc = vfs ? open_with(home, 0, vfs, out) : MAMORI_EIO;
    if (rc != 0)
        return rc;
    /* Readers serve batch lookups (imports check duplicates through them)
     * and verification. Each commit of the writer empties their page
     * cache anyway, so a large one buys little and would push an import
     * past its memory bound: 8 MiB each. Searches read through a map
     * instead (store_map_kept). */
    rc = exec_sql((*out)->db, "PRAGMA query_only = ON;"
                              "PRAGMA cache_size = -8192;");
    if (rc != 0) {
        store_close(*out);
        *out = NULL;
    }
    return rc;
}

/* PRAGMA name = value on s's connection. */
static int pragma_set(struct store *s, const char *name, long long value)
{
    char sql[64];
    int n = snprintf(sql, sizeof sql, "PRAGMA %s = %lld;", name, value);
    if (s == NULL || n < 0 || (size_t)n >= sizeof sql)
        return MAMORI_EINVAL;
    return exec_sql(s->db, sql);
}

int store_set_cache(struct store *s, int64_t kib)
{
    return pragma_set(s, "cache_size", -(long long)(kib > 0 ? kib : 1));
}

int store_set_mmap(struct store *s, int64_t bytes)
{
    int rc;

    if (bytes < 0)
        bytes = 0;
    if (s != NULL && s->mmap_bytes == bytes)
        return 0;
    rc = pragma_set(s, "mmap_size", (long long)bytes);
    if (rc == 0)
        s->mmap_bytes = bytes;
    return rc;
}

int store_map_kept(struct store *s)
{
    int rc = store_set_mmap(s, STORE_KEPT_MAP);

    if (rc == 0 && sqlite3_file_control(s->db, "main", SQ_FCNTL_KEEPS_MAP,
                                        NULL) != SQLITE_OK)
        rc = MAMORI_EINVAL; /* not a reader: its VFS does not keep maps */
    return rc;
}

void store_close(struct store *s)
{
    size_t i;

    if (s == NULL)
        return;
    if (s->db != NULL && s->in_tx && !sqlite3_get_autocommit(s->db))
        (void)exec_sql(s->db, "ROLLBACK");
    sq_pending_free(s);
    for (i = 0; i < ST_COUNT_; i++)
        sqlite3_finalize(s->st[i]);
    /* The last connection to close checkpoints and removes the WAL. */
    sqlite3_close_v2(s->db);
    free(s);
}

/* ---- transactions -------------------------------------------------------- */

/* Opens a transaction with statement begin (ST_BEGIN or ST_BEGIN_READ). */
static int begin(struct store *s, enum stmt_id stmt)
{
    int rc;

    if (s == NULL)
        return MAMORI_EINVAL;
    if (s->in_tx)
        return MAMORI_ESTATE;
    rc = sq_exec(s, stmt);
    if (rc == 0)
        s->in_tx = 1;
    s->have_head = 0;
    return rc;
}

int store_begin(struct store *s)
{
    return begin(s, ST_BEGIN);
}

int store_read_begin(struct store *s)
{
    return begin(s, ST_BEGIN_READ);
}

int store_commit(struct store *s)
{
    int rc;

    if (s == NULL)
        return MAMORI_EINVAL;
    if (!s->in_tx)
        return MAMORI_ESTATE;
    rc = sq_exec(s, ST_COMMIT);
    sq_pending_drop(s); /* flushed by the COMMIT, or lost with it */
    /* A commit that failed leaves nothing half done: roll back whatever
     * SQLite kept open, so the caller sees all or nothing. */
    if (rc != 0 && !sqlite3_get_autocommit(s->db))
        (void)sq_exec(s, ST_ROLLBACK);
    if (rc != 0)
        s->have_last = 0;
    s->have_head = 0;
    s->in_tx = 0;
    return rc;
}

void store_rollback(struct store *s)
{
    if (s == NULL || !s->in_tx)
        return;
    s->have_last = 0;
    s->have_head = 0;
    sq_pending_drop(s);
    /* SQLite may already have rolled back after an I/O or memory error. */
    if (!sqlite3_get_autocommit(s->db))
        (void)sq_exec(s, ST_ROLLBACK);
    s->in_tx = 0;
}

/* ---- meta ---------------------------------------------------------------- */

int store_meta_get(struct store *s, const char *key, char *val, size_t size)
{
    return sq_kv_get(s, ST_META_GET, stmt_sql[ST_META_GET], key, val, size);
}

int store_meta_set(struct store *s, const char *key, const char *val)
{
    return sq_kv_set(s, ST_META_SET, stmt_sql[ST_META_SET], key, val);
}

/* ---- datasets and grants ------------------------------------------------- */

static int read_dataset(sqlite3_stmt *st, struct store_dataset *d)
{
    int64_t flag = 0;
    int rc;

    memset(d, 0, sizeof *d);
    if ((rc = sq_col_i64(st, 0, &d->id, MAMORI_EIO)) != 0 ||
        (rc = sq_col_text(st, 1, d->uuid, sizeof d->uuid, MAMORI_EIO)) != 0 ||
        (rc = sq_col_text(st, 2, d->name, sizeof d->name, MAMORI_EIO)) != 0 ||
        (rc = sq_col_text(st, 3, d->client, sizeof d->client, MAMORI_EIO)) !=
            0 ||
        (rc = sq_col_text(st, 4, d->purpose, sizeof d->purpose, MAMORI_EIO)) !=
            0 ||
        (rc = sq_col_text(st, 5, d->ends, sizeof d->ends, MAMORI_EIO)) != 0 ||
        (rc = sq_col_text(st, 6, d->state, sizeof d->state, MAMORI_EIO)) != 0 ||
        (rc = sq_col_i64(st, 7, &d->created, MAMORI_EIO)) != 0 ||
        (rc = sq_col_text(st, 8, d->schema, sizeof d->schema, MAMORI_EIO)) !=
            0 ||
        (rc = sq_col_i64(st, 9, &flag, MAMORI_EIO)) != 0)
        return rc;
    if (flag != 0 && flag != 1)
        return MAMORI_EIO;
    d->require_reason = (int)flag;
    return 0;
}

int store_dataset_add(struct store *s, struct store_dataset *d)
{
    sqlite3_stmt *st = NULL;
    int rc = MAMORI_EINVAL;

    if (d == NULL)
        goto out;
    rc = stmt_get(s, ST_DATASET_ADD, &st);
    if (rc != 0)
        goto out;
    if ((rc = sq_bind_field(st, 1, d->uuid, sizeof d->uuid)) != 0 ||
        (rc = sq_bind_field(st, 2, d->name, sizeof d->name)) != 0 ||
        (rc = sq_bind_field(st, 3, d->client, sizeof d->client)) != 0 ||
        (rc = sq_bind_field(st, 4, d->purpose, sizeof d->purpose)) != 0 ||
        (rc = sq_bind_field(st, 5, d->ends, sizeof d->ends)) != 0 ||
        (rc = sq_bind_field(st, 6, d->state, sizeof d->state)) != 0 ||
        (rc = sq_bind_i64(st, 7, d->created)) != 0 ||
        (rc = sq_bind_field(st, 8, d->schema, sizeof d->schema)) != 0 ||
        (rc = sq_bind_i64(st, 9, d->require_reason != 0)) != 0)
        goto out;
    rc = sq_step_done(st);
    if (rc == 0)
        d->id = sqlite3_last_insert_rowid(s->db);
out:
    sq_done(st);
    return rc;
}

int store_dataset_get(struct store *s, const char *name,
                      struct store_dataset *d)
{
    sqlite3_stmt *st = NULL;
    int rc = MAMORI_EINVAL;

    if (name == NULL || d == NULL)
        goto out;
    rc = stmt_get(s, ST_DATASET_GET, &st);
    if (rc == 0)
        rc = sq_bind_str(st, 1, name, 0);
    if (rc == 0)
        rc = sq_step_row(st);
    if (rc == 0)
        rc = read_dataset(st, d);
out:
    sq_done(st);
    return rc;
}

static int read_dataset_elem(sqlite3_stmt *st, void *elem)
{
    return read_dataset(st, elem);
}

int store_dataset_list(struct store *s, struct store_dataset **out, size_t *n)
{
    return sq_list_rows(s, ST_DATASET_LIST, stmt_sql[ST_DATASET_LIST],
                        sizeof **out, read_dataset_elem, (void **)out, n);
}

int store_grant_add(struct store *s, int64_t dataset_id, int64_t user_id)
{
    sqlite3_stmt *st = NULL;
    int rc = stmt_get(s, ST_GRANT_ADD, &st);

    if (rc == 0)
        rc = sq_bind_i64(st, 1, dataset_id);
    if (rc == 0)
        rc = sq_bind_i64(st, 2, user_id);
    if (rc == 0)
        rc = sq_step_done(st);
    sq_done(st);
    return rc;
}

int store_grant_get(struct store *s, int64_t dataset_id, int64_t user_id,
                    unsigned *flags)
{
    sqlite3_stmt *st = NULL;
    int64_t handler = 0;
    int rc = stmt_get(s, ST_GRANT_CHECK, &st);

    if (flags != NULL)
        *flags = 0;
    if (rc == 0)
        rc = sq_bind_i64(st, 1, dataset_id);
    if (rc == 0)
        rc = sq_bind_i64(st, 2, user_id);
    if (rc == 0) {
        rc = sq_step_row(st);
        if (rc == 0)
            rc = sq_col_i64(st, 0, &handler, MAMORI_EIO);
        if (rc == 0 && handler != 0 && handler != 1)
            rc = MAMORI_EIO;
        if (rc == 0) {
            if (flags != NULL && handler)
                *flags = STORE_GRANT_HANDLER;
            rc = 1;
        } else if (rc == MAMORI_ENOTFOUND) {
            rc = 0;
        }
    }
    sq_done(st);
    return rc;
}

int store_grant_check(struct store *s, int64_t dataset_id, int64_t user_id)
{
    return store_grant_get(s, dataset_id, user_id, NULL);
}

/* Statements of rare operations (grant changes, break-glass) are prepared
 * for each use rather than given a slot of the statement cache. */
static int prep(struct store *s, const char *sql, sqlite3_stmt **st)
{
    int rc;

    *st = NULL;
    if (s == NULL || s->db == NULL)
        return MAMORI_EINVAL;
    rc = sqlite3_prepare_v2(s->db, sql, -1, st, NULL);
    if (rc != SQLITE_OK) {
        sqlite3_finalize(*st);
        *st = NULL;
        return sq_err(rc) != 0 ? sq_err(rc) : MAMORI_EIO;
    }
    return 0;
}

/* Binds the int64 values v[0..n) to ?1..?n and runs the statement, which
 * returns no rows; *changed (may be NULL) receives the rows it changed. */
static int run_i64(struct store *s, const char *sql, const int64_t *v, int n,
                   int64_t *changed)
{
    sqlite3_stmt *st = NULL;
    int rc = prep(s, sql, &st);

    for (int i = 0; rc == 0 && i < n; i++)
        rc = sq_bind_i64(st, i + 1, v[i]);
    if (rc == 0)
        rc = sq_step_done(st);
    if (rc == 0 && changed != NULL)
        *changed = sqlite3_changes64(s->db);
    sqlite3_finalize(st);
    return rc;
}

int store_grant_set(struct store *s, int64_t dataset_id, int64_t user_id,
                    unsigned flags)
{
    const int64_t v[3] = {dataset_id, user_id,
                          (flags & STORE_GRANT_HANDLER) != 0};

    return run_i64(s,
                   "INSERT INTO grants(dataset_id, user_id, handler)"
                   " VALUES(?1, ?2, ?3) ON CONFLICT(dataset_id, user_id)"
                   " DO UPDATE SET handler = excluded.handler",
                   v, 3, NULL);
}

int store_grant_delete(struct store *s, int64_t dataset_id, int64_t user_id)
{
    const int64_t v[2] = {dataset_id, user_id};
    int64_t changed = 0;
    int rc = run_i64(s,
                     "DELETE FROM grants WHERE dataset_id = ?1"
                     " AND user_id = ?2",
                     v, 2, &changed);

    if (rc == 0 && changed == 0)
        rc = MAMORI_ENOTFOUND;
    return rc;
}

static int read_grant(sqlite3_stmt *st, void *elem)
{
    struct store_grant *g = elem;
    int64_t handler = 0;
    int rc;

    memset(g, 0, sizeof *g);
    if ((rc = sq_col_i64(st, 0, &g->dataset_id, MAMORI_EIO)) != 0 ||
        (rc = sq_col_i64(st, 1, &g->user_id, MAMORI_EIO)) != 0 ||
        (rc = sq_col_i64(st, 2, &handler, MAMORI_EIO)) != 0)
        return rc;
    if (handler != 0 && handler != 1)
        return MAMORI_EIO;
    g->flags = handler ? STORE_GRANT_HANDLER : 0;
    return 0;
}

int store_grant_list(struct store *s, struct store_grant **out, size_t *n)
{
    sqlite3_stmt *st = NULL;
    int rc = prep(s,
                  "SELECT dataset_id, user_id, handler FROM grants"
                  " ORDER BY dataset_id, user_id",
                  &st);

    if (rc == 0)
        rc = sq_list_bound(st, sizeof **out, read_grant, (void **)out, n);
    sqlite3_finalize(st);
    return rc;
}

/* ---- break-glass --------------------------------------------------------- */

#define BREAKGLASS_COLS                                                        \
    "id, dataset_id, requester, approver, requested, approved, expires,"       \
    " reason"

static int read_breakglass(sqlite3_stmt *st, void *elem)
{
    struct store_breakglass *b = elem;
    int rc;

    memset(b, 0, sizeof *b);
    if ((rc = sq_col_i64(st, 0, &b->id, MAMORI_EIO)) != 0 ||
        (rc = sq_col_i64(st, 1, &b->dataset_id, MAMORI_EIO)) != 0 ||
        (rc = sq_col_i64(st, 2, &b->requester, MAMORI_EIO)) != 0 ||
        (rc = sq_col_i64(st, 3, &b->approver, MAMORI_EIO)) != 0 ||
        (rc = sq_col_i64(st, 4, &b->requested, MAMORI_EIO)) != 0 ||
        (rc = sq_col_i64(st, 5, &b->approved, MAMORI_EIO)) != 0 ||
        (rc = sq_col_i64(st, 6, &b->expires, MAMORI_EIO)) != 0 ||
        (rc = sq_col_text(st, 7, b->reason, sizeof b->reason, MAMORI_EIO)) != 0)
        return rc;
    return 0;
}

int store_breakglass_add(struct store *s, struct store_breakglass *b)
{
    sqlite3_stmt *st = NULL;
    int rc = MAMORI_EINVAL;

    if (b == NULL)
        return rc;
    rc = prep(s,
              "INSERT INTO breakglass(dataset_id, requester, requested,"
              " reason) VALUES(?1, ?2, ?3, ?4)",
              &st);
    if (rc == 0 &&
        ((rc = sq_bind_i64(st, 1, b->dataset_id)) != 0 ||
         (rc = sq_bind_i64(st, 2, b->requester)) != 0 ||
         (rc = sq_bind_i64(st, 3, b->requested)) != 0 ||
         (rc = sq_bind_field(st, 4, b->reason, sizeof b->reason)) != 0))
        goto out;
    if (rc == 0)
        rc = sq_step_done(st);
    if (rc == 0) {
        b->id = sqlite3_last_insert_rowid(s->db);
        b->approver = b->approved = b->expires = 0;
    }
out:
    sqlite3_finalize(st);
    return rc;
}

/* The one row the statement sql, with ?1..?n bound to v, returns. */
static int breakglass_one(struct store *s, const char *sql, const int64_t *v,
                          int n, struct store_breakglass *b)
{
    sqlite3_stmt *st = NULL;
    int rc = b != NULL ? prep(s, sql, &st) : MAMORI_EINVAL;

    for (int i = 0; rc == 0 && i < n; i++)
        rc = sq_bind_i64(st, i + 1, v[i]);
    if (rc == 0)
        rc = sq_step_row(st);
    if (rc == 0)
        rc = read_breakglass(st, b);
    sqlite3_finalize(st);
    return rc;
}

int store_breakglass_get(struct store *s, int64_t id,
                         struct store_breakglass *b)
{
    return breakglass_one(
        s, "SELECT " BREAKGLASS_COLS " FROM breakglass WHERE id = ?1", &id, 1,
        b);
}

int store_breakglass_approve(struct store *s, int64_t id, int64_t approver,
                             int64_t approved, int64_t expires)
{
    const int64_t v[4] = {id, approver, approved, expires};
    int64_t changed = 0;
    int rc = run_i64(s,
                     "UPDATE breakglass SET approver = ?2, approved = ?3,"
                     " expires = ?4 WHERE id = ?1 AND approver = 0"
                     " AND expires = 0",
                     v, 4, &changed);

    if (rc == 0 && changed == 0)
        rc = MAMORI_ESTATE;
    return rc;
}

int store_breakglass_end(struct store *s, int64_t id, int64_t end)
{
    const int64_t v[2] = {id, end};
    int64_t changed = 0;
    int rc = run_i64(s,
                     "UPDATE breakglass SET expires = ?2 WHERE id = ?1 AND"
                     " ((approver = 0 AND expires = 0) OR expires > ?2)",
                     v, 2, &changed);

    if (rc == 0 && changed == 0)
        rc = MAMORI_ESTATE;
    return rc;
}

int store_breakglass_list(struct store *s, struct store_breakglass **out,
                          size_t *n)
{
    sqlite3_stmt *st = NULL;
    int rc =
        prep(s, "SELECT " BREAKGLASS_COLS " FROM breakglass ORDER BY id", &st);

    if (rc == 0)
        rc = sq_list_bound(st, sizeof **out, read_breakglass, (void **)out, n);
    sqlite3_finalize(st);
    return rc;
}

int store_breakglass_active(struct store *s, int64_t dataset_id,
                            int64_t user_id, int64_t now,
                            struct store_breakglass *b)
{
    const int64_t v[3] = {dataset_id, user_id, now};

    return breakglass_one(s,
                          "SELECT " BREAKGLASS_COLS " FROM breakglass"
                          " WHERE dataset_id = ?1 AND requester = ?2"
                          " AND approver != 0 AND approved <= ?3"
                          " AND expires > ?3 ORDER BY id DESC LIMIT 1",
                          v, 3, b);
}

/* ---- records ------------------------------------------------------------- */

int store_record_put(struct store *s, const struct store_record *r)
{
    sqlite3_stmt *st = NULL;
    int rc = MAMORI_EINVAL;

    if (r == NULL)
        goto out;
    rc = stmt_get(s, ST_RECORD_PUT, &st);
    if (rc != 0)
        goto out;
    if ((rc = sq_bind_i64(st, 1, r->dataset_id)) != 0 ||
        (rc = sq_bind_blob(st, 2, r->id, STORE_RID_LEN)) != 0 ||
        (rc = sq_bind_i64(st, 3, r->version)) != 0 ||
        (rc = sq_bind_i64(st, 4, r->key_version)) != 0 ||
        (rc = sq_bind_i64(st, 5, r->updated)) != 0 ||
        (rc = sq_bind_blob(st, 6, r->ct, r->ctlen)) != 0)
        goto out;
    s->have_last = 0;
    /* All changes happen at the first step, which returns the rid; the
     * second runs the statement to its end, where constraint errors show. */
    int step = sqlite3_step(st);
    int64_t rid = step == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    if (step == SQLITE_ROW)
        step = sqlite3_step(st);
    rc = step == SQLITE_DONE ? 0 : sq_err(step);
    if (rc == 0 && step == SQLITE_DONE && rid > 0) {
        s->last_rid = rid;
        s->last_ds = r->dataset_id;
        memcpy(s->last_id, r->id, STORE_RID_LEN);
        s->have_last = 1;
    }
out:
    sq_done(st);
    return rc;
}

/* Reads version, key_version, updated, ct from columns 0..3 of the current
 * row into r (ct malloc'd). */
static int read_record(sqlite3_stmt *st, struct store_record *r)
{
    int64_t version = 0, kv = 0, updated = 0;
    const void *p;
    uint8_t *ct;
    int rc, len;

    if ((rc = sq_col_i64(st, 0, &version, MAMORI_EIO)) != 0 ||
        (rc = sq_col_i64(st, 1, &kv, MAMORI_EIO)) != 0 ||
        (rc = sq_col_i64(st, 2, &updated, MAMORI_EIO)) != 0)
        return rc;
    if (version < 0 || version > UINT32_MAX || kv < 0 || kv > UINT32_MAX ||
        sqlite3_column_type(st, 3) != SQLITE_BLOB)
        return MAMORI_EIO;
    p = sqlite3_column_blob(st, 3);
    len = sqlite3_column_bytes(st, 3);
    if (len < 0 || (len > 0 && p == NULL))
        return MAMORI_ENOMEM;
    ct = malloc(len > 0 ? (size_t)len : 1);
    if (ct == NULL)
        return MAMORI_ENOMEM;
    if (len > 0)
        memcpy(ct, p, (size_t)len);
    r->version = (uint32_t)version;
    r->key_version = (uint32_t)kv;
    r->updated = updated;
    r->ct = ct;
    r->ctlen = (size_t)len;
    return 0;
}

int store_record_get(struct store *s, int64_t dataset_id,
                     const uint8_t id[STORE_RID_LEN], struct store_record *r)
{
    sqlite3_stmt *st = NULL;
    int rc = MAMORI_EINVAL;

    if (id == NULL || r == NULL)
        goto out;
    r->ct = NULL;
    r->ctlen = 0;
    rc = stmt_get(s, ST_RECORD_GET, &st);
    if (rc == 0)
        rc = sq_bind_i64(st, 1, dataset_id);
    if (rc == 0)
        rc = sq_bind_blob(st, 2, id, STORE_RID_LEN);
    if (rc == 0)
        rc = sq_step_row(st);
    if (rc == 0)
        rc = read_record(st, r);
    if (rc == 0) {
        r->dataset_id = dataset_id;
        memcpy(r->id, id, STORE_RID_LEN);
    }
out:
    sq_done(st);
    return rc;
}

int store_record_delete(struct store *s, int64_t dataset_id,
                        const uint8_t id[STORE_RID_LEN])
{
    sqlite3_stmt *st = NULL;
    int rc = MAMORI_EINVAL;

    if (id == NULL)
        goto out;
    s->have_last = 0;
    rc = stmt_get(s, ST_RECORD_DELETE, &st);
    if (rc == 0)
        rc = sq_bind_i64(st, 1, dataset_id);
    if (rc == 0)
        rc = sq_bind_blob(st, 2, id, STORE_RID_LEN);
    if (rc == 0)
        rc = sq_step_done(st);
    if (rc == 0 && sqlite3_changes(s->db) == 0)
        rc = MAMORI_ENOTFOUND;
out:
    sq_done(st);
    return rc;
}

int store_record_count(struct store *s, int64_t dataset_id, int64_t *n)
{
    sqlite3_stmt *st = NULL;
    int rc = MAMORI_EINVAL;

    if (n == NULL)
        goto out;
    rc = stmt_get(s, ST_RECORD_COUNT, &st);
    if (rc == 0)
        rc = sq_bind_i64(st, 1, dataset_id);
    if (rc == 0)
        rc = sq_step_row(st);
    if (rc == MAMORI_ENOTFOUND)
        rc = MAMORI_EIO;
    if (rc == 0)
        rc = sq_col_i64(st, 0, n, MAMORI_EIO);
out:
    sq_done(st);
    return rc;
}

/* ---- blind indexes ------------------------------------------------------- */

static int check_mac(int field, const uint8_t *mac, size_t maclen)
{
    if (field < 0 || mac == NULL || maclen == 0 || maclen > MAC_MAX)
        return MAMORI_EINVAL;
    return 0;
}

/* An entry already there is what the caller wants: not an error. */
int store_index_put(struct store *s, int64_t dataset_id, int field,
                    const uint8_t *mac, size_t maclen, const uint8_t *chk,
                    size_t chklen, const uint8_t id[STORE_RID_LEN])
{
    sqlite3_stmt *st = NULL;
    int rc = check_mac(field, mac, maclen);

    if (rc == 0 &&
        (id == NULL || chklen > STORE_CHECK_MAX || (chklen > 0 && chk == NULL)))
        rc = MAMORI_EINVAL;
    if (rc != 0)
        goto out;
    int known = s->have_last && s->last_ds == dataset_id &&
                memcmp(s->last_id, id, STORE_RID_LEN) == 0;
    if (known) {
        rc = sq_pending_add(s, dataset_id, field, mac, maclen, chk, chklen,
                            s->last_rid);
        if (rc <= 0)
            return rc;
    }
    rc = stmt_get(s, known ? ST_INDEX_PUT_RID : ST_INDEX_PUT, &st);
    if (rc != 0)
        goto out;
    if ((rc = sq_bind_i64(st, 1, dataset_id)) != 0 ||
        (rc = sq_bind_i64(st, 2, field)) != 0 ||
        (rc = sq_bind_blob(st, 3, mac, maclen)) != 0 ||
        (rc = known ? sq_bind_i64(st, 4, s->last_rid)
                    : sq_bind_blob(st, 4, id, STORE_RID_LEN)) != 0 ||
        (rc = sq_bind_blob_or_null(st, 5, chk, chklen)) != 0)
        goto out;
    rc = sq_step_done(st);
out:
    sq_done(st);
    return rc;
}

int store_index_delete(struct store *s, int64_t dataset_id, int field,
                       const uint8_t *mac, size_t maclen,
                       const uint8_t id[STORE_RID_LEN])
{
    sqlite3_stmt *st = NULL;
    int rc = check_mac(field, mac, maclen);

    if (rc == 0 && id == NULL)
        rc = MAMORI_EINVAL;
    if (rc != 0)
        goto out;
    rc = stmt_get(s, ST_INDEX_DELETE, &st);
    if (rc != 0)
        goto out;
    if ((rc = sq_bind_i64(st, 1, dataset_id)) != 0 ||
        (rc = sq_bind_i64(st, 2, field)) != 0 ||
        (rc = sq_bind_blob(st, 3, mac, maclen)) != 0 ||
        (rc = sq_bind_blob(st, 4, id, STORE_RID_LEN)) != 0)
        goto out;
    rc = sq_step_done(st);
out:
    sq_done(st);
    return rc;
}

/* The rows of the entries matching mac that keep wants, in key order. The
 * records are read after the scan, so that none is read for an entry the
 * check rules out. */
static int index_candidates(struct store *s, int64_t dataset_id, int field,
                            const uint8_t *mac, size_t maclen,
                            store_index_keep keep, void *keep_arg,
                            int64_t **out, size_t *n)
{
    sqlite3_stmt *st = NULL;
    int64_t *rids = NULL;
    size_t cap = 0, cnt = 0;
    int rc, r = SQLITE_DONE;

    rc = stmt_get(s, ST_INDEX_CANDIDATES, &st);
    if (rc == 0 && ((rc = sq_bind_i64(st, 1, dataset_id)) != 0 ||
                    (rc = sq_bind_i64(st, 2, field)) != 0 ||
                    (rc = sq_bind_blob(st, 3, mac, maclen)) != 0))
        goto out;
    while (rc == 0 && (r = sqlite3_step(st)) == SQLITE_ROW) {
        const uint8_t *chk = NULL;
        int len = 0;
        if (sqlite3_column_type(st, 0) != SQLITE_INTEGER) {
            rc = MAMORI_EIO;
            break;
        }
        if (sqlite3_column_type(st, 1) == SQLITE_BLOB) {
            chk = sqlite3_column_blob(st, 1);
            len = sqlite3_column_bytes(st, 1);
            if (len < 0 || (len > 0 && chk == NULL)) {
                rc = MAMORI_ENOMEM;
                break;
            }
        }
        if (keep && !keep(keep_arg, chk, (size_t)len))
            continue;
        rc = sq_grow((void **)&rids, &cap, cnt, sizeof *rids);
        if (rc == 0)
            rids[cnt++] = sqlite3_column_int64(st, 0);
    }
    if (rc == 0 && r != SQLITE_DONE)
        rc = sq_err(r);
out:
    sq_done(st);
    if (rc != 0) {
        free(rids);
        return rc;
    }
    *out = rids;
    *n = cnt;
    return 0;
}

int store_index_lookup(struct store *s, int64_t dataset_id, int field,
                       const uint8_t *mac, size_t maclen, store_index_keep keep,
                       void *keep_arg, struct store_record **out, size_t *n)
{
    sqlite3_stmt *st = NULL;
    struct store_record *arr = NULL;
    int64_t *rids = NULL;
    size_t nrids = 0, cnt = 0;
    int rc = MAMORI_EINVAL;

    if (out == NULL || n == NULL)
        return MAMORI_EINVAL;
    *out = NULL;
    *n = 0;
    rc = check_mac(field, mac, maclen);
    if (rc == 0)
        rc = index_candidates(s, dataset_id, field, mac, maclen, keep, keep_arg,
                              &rids, &nrids);
    if (rc != 0 || nrids == 0)
        goto out;
    arr = calloc(nrids, sizeof *arr);
    if (arr == NULL) {
        rc = MAMORI_ENOMEM;
        goto out;
    }
    rc = stmt_get(s, ST_RECORD_BY_RID, &st);
    for (size_t i = 0; rc == 0 && i < nrids; i++) {
        if ((rc = sq_bind_i64(st, 1, rids[i])) != 0 ||
            (rc = sq_bind_i64(st, 2, dataset_id)) != 0)
            break;
        int r = sqlite3_step(st);
        if (r == SQLITE_ROW) {
            rc = sq_col_blob(st, 4, arr[cnt].id, STORE_RID_LEN, MAMORI_EIO);
            if (rc == 0)
                rc = read_record(st, &arr[cnt]);
            if (rc == 0)
                arr[cnt++].dataset_id = dataset_id;
        } else if (r != SQLITE_DONE) {
            rc = sq_err(r);
        } /* an entry whose record is gone matches nothing */
        sqlite3_reset(st);
    }
    if (rc != 0)
        goto out;
    *out = arr;
    *n = cnt;
    arr = NULL;
    cnt = 0;
out:
    sq_done(st);
    free(rids);
    store_records_free(arr, cnt);
    return rc;
}

void store_records_free(struct store_record *r, size_t n)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        free(r[i].ct);
    free(r);
}

/* ---- audit --------------------------------------------------------------- */

/* An entry as stored (store.h, store_audit_entry_split). */
#define ENTRY_MIN (1 + 32 + 1 + 32)

int store_audit_entry_split(const uint8_t *e, size_t n,
                            struct store_audit_raw *raw)
{
    const uint8_t *mid, *nul;

    if (e == NULL || n < ENTRY_MIN || n > INT_MAX)
        return MAMORI_ETAMPER;
    mid = e + 33;
    nul = memchr(mid, 0, n - ENTRY_MIN + 1);
    if (nul == NULL)
        return MAMORI_ETAMPER;
    raw->format = e[0];
    raw->prev_mac = e + 1;
    raw->body = (const char *)mid;
    raw->body_len = (size_t)(nul - mid);
    raw->ids_len = (size_t)(e + n - 32 - (nul + 1));
    raw->record_ids = raw->ids_len > 0 ? (const char *)nul + 1 : NULL;
    raw->mac = e + n - 32;
    raw->entry = e;
    raw->entry_len = n - 32;
    return 0;
}

/* The current row of an ST_AUDIT_SCAN statement as stored, pointing into
 * the statement. Anything the store cannot have written is MAMORI_ETAMPER. */
static int read_audit_raw(sqlite3_stmt *st, struct store_audit_raw *raw)
{
    sqlite3_value *seq = sqlite3_column_value(st, 0);
    sqlite3_value *entry = sqlite3_column_value(st, 1);
    const uint8_t *e;
    int n;

    /* The value calls skip the statement's per-call error bookkeeping:
     * verification reads millions of rows. */
    if (sqlite3_value_type(seq) != SQLITE_INTEGER ||
        sqlite3_value_type(entry) != SQLITE_BLOB)
        return MAMORI_ETAMPER;
    raw->seq = sqlite3_value_int64(seq);
    e = sqlite3_value_blob(entry);
    n = sqlite3_value_bytes(entry);
    if (n >= ENTRY_MIN && e == NULL)
        return MAMORI_ENOMEM;
    return store_audit_entry_split(e, n > 0 ? (size_t)n : 0, raw);
}

/* The row seq that read_audit_raw refused, as store_audit_scan_raw
 * passes it on. */
static int unreadable_raw(int64_t seq, struct store_audit_raw *raw)
{
    static const uint8_t zero[ENTRY_MIN];

    memset(raw, 0, sizeof *raw);
    raw->seq = seq;
    raw->format = STORE_AUDIT_UNREADABLE;
    raw->prev_mac = zero;
    raw->mac = zero;
    raw->body = "";
    raw->entry = zero;
    return 0;
}

int store_audit_head(struct store *s, int64_t *seq, uint8_t mac[32])
{
    sqlite3_stmt *st = NULL;
    int rc = MAMORI_EINVAL;

    if (seq == NULL || mac == NULL)
        goto out;
    if (s->in_tx && s->have_head) {
        *seq = s->head_seq;
        memcpy(mac, s->head_mac, 32);
        return 0;
    }
    rc = stmt_get(s, ST_AUDIT_HEAD, &st);
    if (rc == 0)
        rc = sq_step_row(st);
    if (rc == 0)
        rc = sq_col_i64(st, 0, seq, MAMORI_ETAMPER);
    if (rc == 0)
        rc = sq_col_blob(st, 1, mac, 32, MAMORI_ETAMPER);
out:
    sq_done(st);
    return rc;
}

static int audit_max(struct store *s, int64_t *last)
{
    sqlite3_stmt *st = NULL;
    int rc = stmt_get(s, ST_AUDIT_MAX, &st);

    if (rc == 0)
        rc = sq_step_row(st);
    if (rc == MAMORI_ENOTFOUND)
        rc = MAMORI_EIO;
    if (rc == 0) {
        if (sqlite3_column_type(st, 0) == SQLITE_NULL)
            *last = 0; /* empty log: the first row is seq 1 */
        else
            rc = sq_col_i64(st, 0, last, MAMORI_ETAMPER);
    }
    sq_done(st);
    return rc;
}

int store_audit_entry_encode(const struct store_audit_row *row, uint8_t **out,
                             size_t *len)
{
    size_t idlen = row->record_ids ? strlen(row->record_ids) : 0, n;
    uint8_t *e;

    *out = NULL;
    *len = 0;
    if (row->body == NULL || row->body_len == 0 ||
        memchr(row->body, 0, row->body_len) != NULL || row->format < 1 ||
        row->format > 255 || row->body_len > (size_t)INT_MAX / 2 ||
        idlen > (size_t)INT_MAX / 2 - ENTRY_MIN)
        return MAMORI_EINVAL;
    n = ENTRY_MIN + row->body_len + idlen;
    e = malloc(n);
    if (e == NULL)
        return MAMORI_ENOMEM;
    e[0] = (uint8_t)row->format;
    memcpy(e + 1, row->prev_mac, 32);
    memcpy(e + 33, row->body, row->body_len);
    e[33 + row->body_len] = 0;
    if (idlen > 0)
        memcpy(e + 34 + row->body_len, row->record_ids, idlen);
    memcpy(e + n - 32, row->mac, 32);
    *out = e;
    *len = n;
    return 0;
}

static int audit_insert(struct store *s, const struct store_audit_row *row)
{
    sqlite3_stmt *st = NULL;
    uint8_t *e = NULL;
    size_t n = 0;
    int rc = store_audit_entry_encode(row, &e, &n);

    if (rc == 0)
        rc = stmt_get(s, ST_AUDIT_APPEND, &st);
    if (rc == 0 && (rc = sq_bind_i64(st, 1, row->seq)) == 0 &&
        (rc = sq_bind_blob(st, 2, e, n)) == 0)
        rc = sq_step_done(st);
    sq_done(st);
    free(e);
    return rc;
}

/*
 * The seq check and the insert happen in one transaction: the caller's if
 * one is open (so the caller's read of the last row, which its MAC chains
 * from, is covered too), or else one of our own.
 */
int store_audit_append(struct store *s, const struct store_audit_row *row)
{
    int64_t last = 0;
    int rc = MAMORI_EINVAL, own_tx = 0;

    if (s == NULL || row == NULL)
        goto out;
    if (s->fail_audit) {
        rc = MAMORI_EAUDIT;
        goto out;
    }
    if (!s->in_tx) {
        rc = store_begin(s);
        if (rc != 0)
            goto out;
        own_tx = 1;
    }
    if (s->have_head)
        last = s->head_seq; /* this transaction's own last append */
    else if ((rc = audit_max(s, &last)) != 0)
        goto out;
    if (last == INT64_MAX || row->seq != last + 1) {
        rc = MAMORI_ESTATE;
        goto out;
    }
    rc = audit_insert(s, row);
    if (rc == 0) {
        s->have_head = 1;
        s->head_seq = row->seq;
        memcpy(s->head_mac, row->mac, 32);
    } else {
        s->have_head = 0;
    }
    if (rc == 0 && own_tx) {
        own_tx = 0;
        rc = store_commit(s);
    }
out:
    if (own_tx)
        store_rollback(s);
    return rc;
}

int store_audit_scan_raw(struct store *s, int64_t from, int64_t to,
                         int (*cb)(void *arg,
                                   const struct store_audit_raw *raw),
                         void *arg)
{
    sqlite3_stmt *st = NULL;
    struct store_audit_raw raw;
    int rc = MAMORI_EINVAL, r = SQLITE_DONE;

    if (cb == NULL)
        goto out;
    rc = stmt_get(s, ST_AUDIT_SCAN, &st);
    if (rc == 0)
        rc = sq_bind_i64(st, 1, from);
    if (rc == 0)
        rc = sq_bind_i64(st, 2, to);
    while (rc == 0 && (r = sqlite3_step(st)) == SQLITE_ROW) {
        rc = read_audit_raw(st, &raw);
        if (rc == MAMORI_ETAMPER &&
            sqlite3_column_type(st, 0) == SQLITE_INTEGER)
            rc = unreadable_raw(sqlite3_column_int64(st, 0), &raw);
        if (rc == 0)
            rc = cb(arg, &raw);
    }
    if (rc == 0 && r != SQLITE_DONE)
        rc = sq_err(r);
out:
    sq_done(st);
    return rc;
}

/* store_audit_scan's callback on top of the raw scan. */
struct decode_ctx {
    int (*cb)(void *arg, const struct store_audit_row *row);
    void *arg;
    char *buf;
    size_t cap;
};

static int decode_cb(void *arg, const struct store_audit_raw *raw)
{
    struct decode_ctx *c = arg;
    struct store_audit_row row;
    int rc = audit_row_decode(raw, &row, &c->buf, &c->cap);

    return rc != 0 ? rc : c->cb(c->arg, &row);
}

int store_audit_scan(struct store *s, int64_t from, int64_t to,
                     int (*cb)(void *arg, const struct store_audit_row *row),
                     void *arg)
{
    struct decode_ctx c = {cb, arg, NULL, 0};
    int rc;

    if (cb == NULL)
        return MAMORI_EINVAL;
    rc = store_audit_scan_raw(s, from, to, decode_cb, &c);
    free(c.buf);
    return rc;
}

int store_audit_count(struct store *s, int64_t *n)
{
    sqlite3_stmt *st = NULL;
    int rc = MAMORI_EINVAL;

    if (n == NULL)
        goto out;
    rc = stmt_get(s, ST_AUDIT_COUNT, &st);
    if (rc == 0)
        rc = sq_step_row(st);
    if (rc == MAMORI_ENOTFOUND)
        rc = MAMORI_EIO;
    if (rc == 0)
        rc = sq_col_i64(st, 0, n, MAMORI_EIO);
out:
    sq_done(st);
    return rc;
}

int store_audit_row_bound(struct store *s, int64_t *bound)
{
    int64_t pages = 0, size = 0;
    int rc = pragma_int(s->db, "PRAGMA page_count", &pages);
    if (rc == 0)
        rc = pragma_int(s->db, "PRAGMA page_size", &size);
    if (rc != 0)
        return rc;
    /* A row holds two 32-byte MACs, so at most page_size / 64 fit a page;
     * the WAL may hold pages not yet in the file: allow for its limit. */
    *bound = (pages + 1000 + 1) * (size / 64);
    return 0;
}

void store_audit_row_release(struct store_audit_row *row)
{
    if (row == NULL)
        return;
    free(row->record_ids);
    row->record_ids = NULL;
}

void store_fail_audit(struct store *s, int on)
{
    if (s != NULL)
        s->fail_audit = on != 0;
}
