/*
 * store_sqlite_auth.c - the SQLite store's identity tables: users and
 * sessions, password history and settings. See store.h.
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "mamori.h"
#include "store_sqlite.h"
#include "banned.h"

#define USER_COLS                                                              \
    "id, name, role, pwhash, created, last_login, disabled, must_change,"      \
    " failures, locked_until, pw_changed, mfa_state, mfa_secret,"              \
    " mfa_last_step, enrol_failures, enrol_locked_until"
#define SESSION_COLS                                                           \
    "token_hash, user_id, os_uid, created, last_seen, expires, restricted,"    \
    " device"
#define DEVICE_COLS                                                            \
    "id, name, alg, pubkey, state, requested_by, approved_by, created,"        \
    " approved, last_used"

static const char *const stmt_sql[ST_COUNT_] = {
    [ST_USER_ADD] = "INSERT INTO users(name, role, pwhash, created,"
                    " last_login, disabled, must_change, failures,"
                    " locked_until, pw_changed, mfa_state, mfa_secret,"
                    " mfa_last_step, enrol_failures, enrol_locked_until)"
                    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,"
                    " ?12, ?13, ?14, ?15)",
    [ST_USER_GET] = "SELECT " USER_COLS " FROM users WHERE name = ?1",
    [ST_USER_GET_ID] = "SELECT " USER_COLS " FROM users WHERE id = ?1",
    [ST_USER_UPDATE] = "UPDATE users SET name = ?2, role = ?3, pwhash = ?4,"
                       " created = ?5, last_login = ?6, disabled = ?7,"
                       " must_change = ?8, failures = ?9,"
                       " locked_until = ?10, pw_changed = ?11,"
                       " mfa_state = ?12, mfa_secret = ?13,"
                       " mfa_last_step = ?14, enrol_failures = ?15,"
                       " enrol_locked_until = ?16 WHERE id = ?1",
    [ST_USER_COUNT_ROLE] = "SELECT count(*) FROM users WHERE role = ?1"
                           " AND disabled = 0",
    [ST_USER_LIST] = "SELECT " USER_COLS " FROM users ORDER BY name",
    [ST_SESSION_ADD] = "INSERT INTO sessions(" SESSION_COLS ")"
                       " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [ST_SESSION_GET] =
        "SELECT " SESSION_COLS " FROM sessions WHERE token_hash = ?1",
    [ST_SESSION_TOUCH] = "UPDATE sessions SET last_seen = ?2"
                         " WHERE token_hash = ?1",
    [ST_SESSION_SEEN] = "SELECT last_seen FROM sessions WHERE token_hash = ?1",
    [ST_AUTH_GEN] = "SELECT gen FROM authgen WHERE id = 1",
    [ST_SESSION_DELETE] = "DELETE FROM sessions WHERE token_hash = ?1",
    [ST_SESSION_RESTRICT] = "UPDATE sessions SET restricted = ?2"
                            " WHERE token_hash = ?1",
    [ST_SESSION_LIST] =
        "SELECT " SESSION_COLS " FROM sessions ORDER BY created, token_hash",
    [ST_SESSION_DELETE_USER] = "DELETE FROM sessions WHERE user_id = ?1"
                               " AND token_hash IS NOT ?2",
    [ST_SESSION_DELETE_ALL] = "DELETE FROM sessions",
    [ST_PWHIST_ADD] = "INSERT INTO pw_history(user_id, seq, pwhash)"
                      " SELECT ?1, coalesce(max(seq), 0) + 1, ?2"
                      " FROM pw_history WHERE user_id = ?1",
    [ST_PWHIST_TRIM] = "DELETE FROM pw_history WHERE user_id = ?1 AND seq <="
                       " (SELECT max(seq) FROM pw_history"
                       " WHERE user_id = ?1) - ?2",
    [ST_PWHIST_LIST] = "SELECT pwhash FROM pw_history WHERE user_id = ?1"
                       " ORDER BY seq DESC",
    [ST_RECOVERY_CLEAR] = "DELETE FROM recovery_codes WHERE user_id = ?1",
    [ST_RECOVERY_ADD] = "INSERT INTO recovery_codes(user_id, mac, used)"
                        " VALUES(?1, ?2, 0)",
    [ST_RECOVERY_USE] = "UPDATE recovery_codes SET used = 1"
                        " WHERE user_id = ?1 AND mac = ?2 AND used = 0",
    [ST_RECOVERY_LEFT] = "SELECT count(*) FROM recovery_codes"
                         " WHERE user_id = ?1 AND used = 0",
    [ST_DEVICE_ADD] = "INSERT INTO devices(" DEVICE_COLS ")"
                      " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    [ST_DEVICE_GET] = "SELECT " DEVICE_COLS " FROM devices WHERE id = ?1",
    [ST_DEVICE_BY_KEY] = "SELECT " DEVICE_COLS " FROM devices"
                         " WHERE pubkey = ?1 AND state != 'revoked'"
                         " ORDER BY state = 'approved' DESC LIMIT 1",
    [ST_DEVICE_REVOKED] = "SELECT count(*) FROM devices WHERE pubkey = ?1"
                          " AND state = 'revoked'",
    [ST_DEVICE_UPDATE] = "UPDATE devices SET name = ?2, alg = ?3,"
                         " pubkey = ?4, state = ?5, requested_by = ?6,"
                         " approved_by = ?7, created = ?8, approved = ?9,"
                         " last_used = ?10 WHERE id = ?1",
    [ST_DEVICE_LIST] =
        "SELECT " DEVICE_COLS " FROM devices ORDER BY created, id",
    [ST_SESSION_DELETE_DEVICE] = "DELETE FROM sessions WHERE device = ?1",
    [ST_CHALLENGE_ADD] = "INSERT INTO challenges(hash, expires)"
                         " VALUES(?1, ?2)",
    [ST_CHALLENGE_TAKE] = "DELETE FROM challenges WHERE hash = ?1"
                          " RETURNING expires",
    [ST_CHALLENGE_PRUNE] = "DELETE FROM challenges WHERE expires < ?1",
    [ST_CONFIG_GET] = "SELECT value FROM config WHERE key = ?1",
    [ST_CONFIG_SET] = "INSERT INTO config(key, value) VALUES(?1, ?2)"
                      " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
};

static int stmt_get(struct store *s, enum stmt_id id, sqlite3_stmt **out)
{
    return sq_stmt(s, id, stmt_sql[id], out);
}

/* ---- users --------------------------------------------------------------- */

/* A small non-negative integer column (flags, counters). */
static int col_int(sqlite3_stmt *st, int col, int *v)
{
    int64_t x;
    int rc = sq_col_i64(st, col, &x, MAMORI_EIO);

    if (rc != 0)
        return rc;
    if (x < 0 || x > INT_MAX)
        return MAMORI_EIO;
    *v = (int)x;
    return 0;
}

static int read_user(sqlite3_stmt *st, struct store_user *u)
{
    int rc;

    memset(u, 0, sizeof *u);
    if ((rc = sq_col_i64(st, 0, &u->id, MAMORI_EIO)) != 0 ||
        (rc = sq_col_text(st, 1, u->name, sizeof u->name, MAMORI_EIO)) != 0 ||
        (rc = sq_col_text(st, 2, u->role, sizeof u->role, MAMORI_EIO)) != 0 ||
        (rc = sq_col_text(st, 3, u->pwhash, sizeof u->pwhash, MAMORI_EIO)) !=
            0 ||
        (rc = sq_col_i64(st, 4, &u->created, MAMORI_EIO)) != 0 ||
        (rc = sq_col_i64(st, 5, &u->last_login, MAMORI_EIO)) != 0 ||
        (rc = col_int(st, 6, &u->disabled)) != 0 ||
        (rc = col_int(st, 7, &u->must_change)) != 0 ||
        (rc = col_int(st, 8, &u->failures)) != 0 ||
        (rc = sq_col_i64(st, 9, &u->locked_until, MAMORI_EIO)) != 0 ||
        (rc = sq_col_i64(st, 10, &u->pw_changed, MAMORI_EIO)) != 0 ||
        (rc = col_int(st, 11, &u->mfa_state)) != 0 ||
        (rc = sq_col_i64(st, 13, &u->mfa_last_step, MAMORI_EIO)) != 0 ||
        (rc = col_int(st, 14, &u->enrol_failures)) != 0 ||
        (rc = sq_col_i64(st, 15, &u->enrol_locked_until, MAMORI_EIO)) != 0)
        return rc;
    /* The sealed secret: NULL when none. */
    if (sqlite3_column_type(st, 12) == SQLITE_BLOB) {
        int n = sqlite3_column_bytes(st, 12);
        const void *p = sqlite3_column_blob(st, 12);
        if (n <= 0 || (size_t)n > sizeof u->mfa_secret || p == NULL)
            return MAMORI_EIO;
        memcpy(u->mfa_secret, p, (size_t)n);
        u->mfa_secret_len = (size_t)n;
    } else if (sqlite3_column_type(st, 12) != SQLITE_NULL) {
        return MAMORI_EIO;
    }
    return 0;
}

/* Binds name, role, pwhash, created, last_login, disabled, must_change,
 * failures, locked_until, pw_changed, mfa_state, mfa_secret, mfa_last_step,
 * enrol_failures, enrol_locked_until from parameter first on. */
static int bind_user(sqlite3_stmt *st, int first, const struct store_user *u)
{
    int rc;

    if ((rc = sq_bind_field(st, first, u->name, sizeof u->name)) != 0 ||
        (rc = sq_bind_field(st, first + 1, u->role, sizeof u->role)) != 0 ||
        (rc = sq_bind_field(st, first + 2, u->pwhash, sizeof u->pwhash)) != 0 ||
        (rc = sq_bind_i64(st, first + 3, u->created)) != 0 ||
        (rc = sq_bind_i64(st, first + 4, u->last_login)) != 0 ||
        (rc = sq_bind_i64(st, first + 5, u->disabled)) != 0 ||
        (rc = sq_bind_i64(st, first + 6, u->must_change)) != 0 ||
        (rc = sq_bind_i64(st, first + 7, u->failures)) != 0 ||
        (rc = sq_bind_i64(st, first + 8, u->locked_until)) != 0 ||
        (rc = sq_bind_i64(st, first + 9, u->pw_changed)) != 0 ||
        (rc = sq_bind_i64(st, first + 10, u->mfa_state)) != 0 ||
        (rc = u->mfa_secret_len
                  ? sq_bind_blob(st, first + 11, u->mfa_secret,
                                 u->mfa_secret_len)
                  : sq_err(sqlite3_bind_null(st, first + 11))) != 0 ||
        (rc = sq_bind_i64(st, first + 12, u->mfa_last_step)) != 0 ||
        (rc = sq_bind_i64(st, first + 13, u->enrol_failures)) != 0 ||
        (rc = sq_bind_i64(st, first + 14, u->enrol_locked_until)) != 0)
        return rc;
    return 0;
}

int store_user_add(struct store *s, struct store_user *u)
{
    sqlite3_stmt *st = NULL;
    int rc = MAMORI_EINVAL;

    if (u == NULL)
        goto out;
    rc = stmt_get(s, ST_USER_ADD, &st);
    if (rc == 0)
        rc = bind_user(st, 1, u);
    if (rc == 0)
        rc = sq_step_done(st);
    if (rc == 0)
        u->id = sqlite3_last_insert_rowid(s->db);
out:
    sq_done(st);
    return rc;
}

int store_user_get(struct store *s, const char *name, struct store_user *u)
{
    sqlite3_stmt *st = NULL;
    int rc = MAMORI_EINVAL;

    if (name == NULL || u == NULL)
        goto out;
    rc = stmt_get(s, ST_USER_GET, &st);
    if (rc == 0)
        rc = sq_bind_str(st, 1, name, 0);
    if (rc == 0)
        rc = sq_step_row(st);
    if (rc == 0)
        rc = read_user(st, u);
out:
    sq_done(st);
    return rc;
}

int store_user_get_id(struct store *s, int64_t id, struct store_user *u)
{
    sqlite3_stmt *st = NULL;
    int rc = MAMORI_EINVAL;

    if (u == NULL)
        goto out;
    rc = stmt_get(s, ST_USER_GET_ID, &st);
    if (rc == 0)
        rc = sq_bind_i64(st, 1, id);
    if (rc == 0)
        rc = sq_step_row(st);
    if (rc == 0)
        rc = read_user(st, u);
out:
    sq_done(st);
    return rc;
}

int store_user_update(struct store *s, const struct store_user *u)
{
    sqlite3_stmt *st = NULL;
    int rc = MAMORI_EINVAL;

    if (u == NULL)
        goto out;
    rc = stmt_get(s, ST_USER_UPDATE, &st);
    if (rc == 0)
        rc = sq_bind_i64(st, 1, u->id);
    if (rc == 0)
        rc = bind_user(st, 2, u);
    if (rc == 0)
        rc = sq_step_done(st);
    if (rc == 0 && sqlite3_changes(s->db) == 0)
        rc = MAMORI_ENOTFOUND;
out:
    sq_done(st);
    return rc;
}

static int read_user_elem(sqlite3_stmt *st, void *elem)
{
    return read_user(st, elem);
}

int store_user_list(struct store *s, struct store_user **out, size_t *n)
{
    return sq_list_rows(s, ST_USER_LIST, stmt_sql[ST_USER_LIST], sizeof **out,
                        read_user_elem, (void **)out, n);
}

int store_user_count_role(struct store *s, const char *role, int64_t *n)
{
    sqlite3_stmt *st = NULL;
    int rc = role && n ? stmt_get(s, ST_USER_COUNT_ROLE, &st) : MAMORI_EINVAL;

    if (rc == 0)
        rc = sq_bind_str(st, 1, role, 0);
    if (rc == 0)
        rc = sq_step_row(st);
    if (rc == 0)
        rc = sq_col_i64(st, 0, n, MAMORI_EIO);
    sq_done(st);
    return rc;
}

/* ---- sessions ------------------------------------------------------------ */

int store_session_add(struct store *s, const struct store_session *ss)
{
    sqlite3_stmt *st = NULL;
    int rc = MAMORI_EINVAL;

    if (ss == NULL)
        goto out;
    rc = stmt_get(s, ST_SESSION_ADD, &st);
    if (rc == 0)
        rc = sq_bind_blob(st, 1, ss->token_hash, sizeof ss->token_hash);
    if (rc == 0)
        rc = sq_bind_i64(st, 2, ss->user_id);
    if (rc == 0)
        rc = sq_bind_i64(st, 3, (int64_t)ss->os_uid);
    if (rc == 0)
        rc = sq_bind_i64(st, 4, ss->created);
    if (rc == 0)
        rc = sq_bind_i64(st, 5, ss->last_seen);
    if (rc == 0)
        rc = sq_bind_i64(st, 6, ss->expires);
    if (rc == 0)
        rc = sq_bind_i64(st, 7, (int64_t)ss->restricted);
    if (rc == 0)
        rc = sq_bind_field(st, 8, ss->device, sizeof ss->device);
    if (rc == 0)
        rc = sq_step_done(st);
out:
    sq_done(st);
    return rc;
}

static int read_session(sqlite3_stmt *st, struct store_session *ss)
{
    int64_t uid = 0;
    int restricted = 0;
    int rc;

    memset(ss, 0, sizeof *ss);
    if ((rc = sq_col_blob(st, 0, ss->token_hash, sizeof ss->token_hash,
                          MAMORI_EIO)) != 0 ||
        (rc = sq_col_i64(st, 1, &ss->user_id, MAMORI_EIO)) != 0 ||
        (rc = sq_col_i64(st, 2, &uid, MAMORI_EIO)) != 0 ||
        (rc = sq_col_i64(st, 3, &ss->created, MAMORI_EIO)) != 0 ||
        (rc = sq_col_i64(st, 4, &ss->last_seen, MAMORI_EIO)) != 0 ||
        (rc = sq_col_i64(st, 5, &ss->expires, MAMORI_EIO)) != 0 ||
        (rc = col_int(st, 6, &restricted)) != 0 ||
        (rc = sq_col_text(st, 7, ss->device, sizeof ss->device, MAMORI_EIO)) !=
            0)
        return rc;
#if LONG_MAX < INT64_MAX
    if (uid < LONG_MIN || uid > LONG_MAX)
        return MAMORI_EIO;
#endif
    ss->os_uid = (long)uid;
    ss->restricted = (unsigned)restricted;
    return 0;
}

static int read_session_elem(sqlite3_stmt *st, void *elem)
{
    return read_session(st, elem);
}

int store_session_get(struct store *s, const uint8_t token_hash[32],
                      struct store_session *ss)
{
    sqlite3_stmt *st = NULL;
    int rc = MAMORI_EINVAL;

    if (token_hash == NULL || ss == NULL)
        goto out;
    rc = stmt_get(s, ST_SESSION_GET, &st);
    if (rc == 0)
        rc = sq_bind_blob(st, 1, token_hash, 32);
    if (rc == 0)
        rc = sq_step_row(st);
    if (rc == 0)
        rc = read_session(st, ss);
out:
    sq_done(st);
    return rc;
}

int store_session_list(struct store *s, struct store_session **out, size_t *n)
{
    return sq_list_rows(s, ST_SESSION_LIST, stmt_sql[ST_SESSION_LIST],
                        sizeof **out, read_session_elem, (void **)out, n);
}

int store_session_restrict(struct store *s, const uint8_t token_hash[32],
                           unsigned restricted)
{
    sqlite3_stmt *st = NULL;
    int rc = MAMORI_EINVAL;

    if (token_hash == NULL)
        goto out;
    rc = stmt_get(s, ST_SESSION_RESTRICT, &st);
    if (rc == 0)
        rc = sq_bind_blob(st, 1, token_hash, 32);
    if (rc == 0)
        rc = sq_bind_i64(st, 2, (int64_t)restricted);
    if (rc == 0)
        rc = sq_step_done(st);
    if (rc == 0 && sqlite3_changes(s->db) == 0)
        rc = MAMORI_ENOTFOUND;
out:
    sq_done(st);
    return rc;
}

int store_session_delete_user(struct store *s, int64_t user_id,
                              const uint8_t *keep, int64_t *n)
{
    sqlite3_stmt *st = NULL;
    int rc = stmt_get(s, ST_SESSION_DELETE_USER, &st);

    if (rc == 0)
        rc = sq_bind_i64(st, 1, user_id);
    if (rc == 0)
        rc = keep ? sq_bind_blob(st, 2, keep, 32)
                  : sq_err(sqlite3_bind_null(st, 2));
    if (rc == 0)
        rc = sq_step_done(st);
    if (rc == 0 && n)
        *n = sqlite3_changes(s->db);
    sq_done(st);
    return rc;
}

int store_session_delete_all(struct store *s, int64_t *n)
{
    sqlite3_stmt *st = NULL;
    int rc = stmt_get(s, ST_SESSION_DELETE_ALL, &st);

    if (rc == 0)
        rc = sq_step_done(st);
    if (rc == 0 && n)
        *n = sqlite3_changes(s->db);
    sq_done(st);
    return rc;
}

int store_session_touch(struct store *s, const uint8_t token_hash[32],
                        int64_t now, int64_t grain)
{
    sqlite3_stmt *st = NULL;
    int64_t seen = 0;
    int rc = MAMORI_EINVAL;

    if (token_hash == NULL)
        goto out;
    /* Read first: a session seen within grain keeps its row (and page)
     * as it is. */
    rc = stmt_get(s, ST_SESSION_SEEN, &st);
    if (rc == 0)
        rc = sq_bind_blob(st, 1, token_hash, 32);
    if (rc == 0)
        rc = sq_step_row(st);
    if (rc == 0)
        rc = sq_col_i64(st, 0, &seen, MAMORI_EIO);
    sq_done(st);
    st = NULL;
    if (rc != 0 || (now >= seen && now - seen < grain))
        goto out;
    rc = stmt_get(s, ST_SESSION_TOUCH, &st);
    if (rc == 0)
        rc = sq_bind_blob(st, 1, token_hash, 32);
    if (rc == 0)
        rc = sq_bind_i64(st, 2, now);
    if (rc == 0)
        rc = sq_step_done(st);
    if (rc == 0 && sqlite3_changes(s->db) == 0)
        rc = MAMORI_ENOTFOUND;
out:
    sq_done(st);
    return rc;
}

int store_auth_gen(struct store *s, int64_t *gen)
{
    sqlite3_stmt *st = NULL;
    int rc = stmt_get(s, ST_AUTH_GEN, &st);

    if (rc == 0)
        rc = sq_step_row(st);
    if (rc == 0)
        rc = sq_col_i64(st, 0, gen, MAMORI_EIO);
    sq_done(st);
    return rc;
}

int store_session_delete(struct store *s, const uint8_t token_hash[32])
{
    sqlite3_stmt *st = NULL;
    int rc = MAMORI_EINVAL;

    if (token_hash == NULL)
        goto out;
    rc = stmt_get(s, ST_SESSION_DELETE, &st);
    if (rc == 0)
        rc = sq_bind_blob(st, 1, token_hash, 32);
    if (rc == 0)
        rc = sq_step_done(st);
    if (rc == 0 && sqlite3_changes(s->db) == 0)
        rc = MAMORI_ENOTFOUND;
out:
    sq_done(st);
    return rc;
}

/* ---- password history ---------------------------------------------------- */

int store_pwhist_add(struct store *s, int64_t user_id, const char *hash,
                     int keep)
{
    sqlite3_stmt *st = NULL;
    int rc = MAMORI_EINVAL;

    if (hash == NULL || keep < 0)
        return rc;
    rc = stmt_get(s, ST_PWHIST_ADD, &st);
    if (rc == 0)
        rc = sq_bind_i64(st, 1, user_id);
    if (rc == 0)
        rc = sq_bind_field(st, 2, hash, sizeof((struct store_pwhash *)0)->hash);
    if (rc == 0)
        rc = sq_step_done(st);
    sq_done(st);
    if (rc != 0)
        return rc;
    rc = stmt_get(s, ST_PWHIST_TRIM, &st);
    if (rc == 0)
        rc = sq_bind_i64(st, 1, user_id);
    if (rc == 0)
        rc = sq_bind_i64(st, 2, keep);
    if (rc == 0)
        rc = sq_step_done(st);
    sq_done(st);
    return rc;
}

static int read_pwhash_elem(sqlite3_stmt *st, void *elem)
{
    struct store_pwhash *h = elem;
    return sq_col_text(st, 0, h->hash, sizeof h->hash, MAMORI_EIO);
}

int store_pwhist_list(struct store *s, int64_t user_id,
                      struct store_pwhash **out, size_t *n)
{
    sqlite3_stmt *st = NULL;
    /* Bind the user, then let the row reader step it. */
    int rc = stmt_get(s, ST_PWHIST_LIST, &st);
    if (rc == 0)
        rc = sq_bind_i64(st, 1, user_id);
    if (rc == 0)
        rc = sq_list_bound(st, sizeof **out, read_pwhash_elem, (void **)out, n);
    sq_done(st);
    return rc;
}

/* ---- settings ------------------------------------------------------------ */

int store_config_get(struct store *s, const char *key, char *val, size_t size)
{
    return sq_kv_get(s, ST_CONFIG_GET, stmt_sql[ST_CONFIG_GET], key, val, size);
}

int store_config_set(struct store *s, const char *key, const char *val)
{
    return sq_kv_set(s, ST_CONFIG_SET, stmt_sql[ST_CONFIG_SET], key, val);
}

/* ---- MFA recovery codes -------------------------------------------------- */

int store_recovery_set(struct store *s, int64_t user_id,
                       const uint8_t (*macs)[32], size_t n)
{
    sqlite3_stmt *st = NULL;
    int rc = stmt_get(s, ST_RECOVERY_CLEAR, &st);

    if (rc == 0)
        rc = sq_bind_i64(st, 1, user_id);
    if (rc == 0)
        rc = sq_step_done(st);
    sq_done(st);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = stmt_get(s, ST_RECOVERY_ADD, &st);
        if (rc == 0)
            rc = sq_bind_i64(st, 1, user_id);
        if (rc == 0)
            rc = sq_bind_blob(st, 2, macs[i], 32);
        if (rc == 0)
            rc = sq_step_done(st);
        sq_done(st);
    }
    return rc;
}

int store_recovery_use(struct store *s, int64_t user_id, const uint8_t mac[32])
{
    sqlite3_stmt *st = NULL;
    int rc = stmt_get(s, ST_RECOVERY_USE, &st);

    if (rc == 0)
        rc = sq_bind_i64(st, 1, user_id);
    if (rc == 0)
        rc = sq_bind_blob(st, 2, mac, 32);
    if (rc == 0)
        rc = sq_step_done(st);
    if (rc == 0 && sqlite3_changes(s->db) == 0)
        rc = MAMORI_ENOTFOUND;
    sq_done(st);
    return rc;
}

int store_recovery_left(struct store *s, int64_t user_id, int64_t *n)
{
    sqlite3_stmt *st = NULL;
    int rc = stmt_get(s, ST_RECOVERY_LEFT, &st);

    if (rc == 0)
        rc = sq_bind_i64(st, 1, user_id);
    if (rc == 0)
        rc = sq_step_row(st);
    if (rc == 0)
        rc = sq_col_i64(st, 0, n, MAMORI_EIO);
    sq_done(st);
    return rc;
}

/* Schema step for MFA (see store_sqlite.c, migrations). */
const char store_migration_mfa[] =
    "ALTER TABLE users ADD COLUMN mfa_state INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE users ADD COLUMN mfa_secret BLOB;"
    "ALTER TABLE users ADD COLUMN mfa_last_step INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE recovery_codes(user_id INTEGER NOT NULL REFERENCES users(id),"
    " mac BLOB NOT NULL, used INTEGER NOT NULL,"
    " PRIMARY KEY(user_id, mac)) WITHOUT ROWID;";

/* ---- devices ------------------------------------------------------------- */

static int read_device(sqlite3_stmt *st, struct store_device *d)
{
    int rc;
    int n;
    const void *p;

    memset(d, 0, sizeof *d);
    if ((rc = sq_col_text(st, 0, d->id, sizeof d->id, MAMORI_EIO)) != 0 ||
        (rc = sq_col_text(st, 1, d->name, sizeof d->name, MAMORI_EIO)) != 0 ||
        (rc = sq_col_text(st, 2, d->alg, sizeof d->alg, MAMORI_EIO)) != 0 ||
        (rc = sq_col_text(st, 4, d->state, sizeof d->state, MAMORI_EIO)) != 0 ||
        (rc = sq_col_i64(st, 5, &d->requested_by, MAMORI_EIO)) != 0 ||
        (rc = sq_col_i64(st, 6, &d->approved_by, MAMORI_EIO)) != 0 ||
        (rc = sq_col_i64(st, 7, &d->created, MAMORI_EIO)) != 0 ||
        (rc = sq_col_i64(st, 8, &d->approved, MAMORI_EIO)) != 0 ||
        (rc = sq_col_i64(st, 9, &d->last_used, MAMORI_EIO)) != 0)
        return rc;
    if (sqlite3_column_type(st, 3) != SQLITE_BLOB)
        return MAMORI_EIO;
    n = sqlite3_column_bytes(st, 3);
    p = sqlite3_column_blob(st, 3);
    if (n <= 0 || (size_t)n > sizeof d->pubkey || p == NULL)
        return MAMORI_EIO;
    memcpy(d->pubkey, p, (size_t)n);
    d->pubkey_len = (size_t)n;
    return 0;
}

static int read_device_elem(sqlite3_stmt *st, void *elem)
{
    return read_device(st, elem);
}

/* Binds id, then the other columns in DEVICE_COLS order. */
static int bind_device(sqlite3_stmt *st, const struct store_device *d)
{
    int rc;

    if ((rc = sq_bind_field(st, 1, d->id, sizeof d->id)) != 0 ||
        (rc = sq_bind_field(st, 2, d->name, sizeof d->name)) != 0 ||
        (rc = sq_bind_field(st, 3, d->alg, sizeof d->alg)) != 0 ||
        (rc = sq_bind_blob(st, 4, d->pubkey, d->pubkey_len)) != 0 ||
        (rc = sq_bind_field(st, 5, d->state, sizeof d->state)) != 0 ||
        (rc = sq_bind_i64(st, 6, d->requested_by)) != 0 ||
        (rc = sq_bind_i64(st, 7, d->approved_by)) != 0 ||
        (rc = sq_bind_i64(st, 8, d->created)) != 0 ||
        (rc = sq_bind_i64(st, 9, d->approved)) != 0 ||
        (rc = sq_bind_i64(st, 10, d->last_used)) != 0)
        return rc;
    return 0;
}

static int device_write(struct store *s, enum stmt_id id,
                        const struct store_device *d)
{
    sqlite3_stmt *st = NULL;
    int rc = MAMORI_EINVAL;

    if (d == NULL || d->pubkey_len == 0 || d->pubkey_len > sizeof d->pubkey)
        return rc;
    rc = stmt_get(s, id, &st);
    if (rc == 0)
        rc = bind_device(st, d);
    if (rc == 0)
        rc = sq_step_done(st);
    if (rc == 0 && id == ST_DEVICE_UPDATE && sqlite3_changes(s->db) == 0)
        rc = MAMORI_ENOTFOUND;
    sq_done(st);
    return rc;
}

int store_device_add(struct store *s, const struct store_device *d)
{
    return device_write(s, ST_DEVICE_ADD, d);
}

int store_device_update(struct store *s, const struct store_device *d)
{
    return device_write(s, ST_DEVICE_UPDATE, d);
}

int store_device_get(struct store *s, const char *id, struct store_device *d)
{
    sqlite3_stmt *st = NULL;
    int rc = MAMORI_EINVAL;

    if (id == NULL || d == NULL)
        return rc;
    rc = stmt_get(s, ST_DEVICE_GET, &st);
    if (rc == 0)
        rc = sq_bind_str(st, 1, id, 0);
    if (rc == 0)
        rc = sq_step_row(st);
    if (rc == 0)
        rc = read_device(st, d);
    sq_done(st);
    return rc;
}

int store_device_by_key(struct store *s, const uint8_t *pk, size_t len,
                        struct store_device *d)
{
    sqlite3_stmt *st = NULL;
    int rc = MAMORI_EINVAL;

    if (pk == NULL || len == 0 || d == NULL)
        return rc;
    rc = stmt_get(s, ST_DEVICE_BY_KEY, &st);
    if (rc == 0)
        rc = sq_bind_blob(st, 1, pk, len);
    if (rc == 0)
        rc = sq_step_row(st);
    if (rc == 0)
        rc = read_device(st, d);
    sq_done(st);
    return rc;
}

int store_device_revoked(struct store *s, const uint8_t *pk, size_t len)
{
    sqlite3_stmt *st = NULL;
    int64_t n = 0;
    int rc = stmt_get(s, ST_DEVICE_REVOKED, &st);

    if (rc == 0)
        rc = sq_bind_blob(st, 1, pk, len);
    if (rc == 0)
        rc = sq_step_row(st);
    if (rc == 0)
        rc = sq_col_i64(st, 0, &n, MAMORI_EIO);
    sq_done(st);
    /* Unreadable: treat as revoked (fail closed). */
    return rc != 0 || n > 0;
}

int store_device_list(struct store *s, struct store_device **out, size_t *n)
{
    return sq_list_rows(s, ST_DEVICE_LIST, stmt_sql[ST_DEVICE_LIST],
                        sizeof **out, read_device_elem, (void **)out, n);
}

int store_session_delete_device(struct store *s, const char *device, int64_t *n)
{
    sqlite3_stmt *st = NULL;
    int rc = stmt_get(s, ST_SESSION_DELETE_DEVICE, &st);

    if (rc == 0)
        rc = sq_bind_str(st, 1, device, 0);
    if (rc == 0)
        rc = sq_step_done(st);
    if (rc == 0 && n)
        *n = sqlite3_changes(s->db);
    sq_done(st);
    return rc;
}

/* ---- login challenges ---------------------------------------------------- */

int store_challenge_add(struct store *s, const uint8_t hash[32],
                        int64_t expires)
{
    sqlite3_stmt *st = NULL;
    int rc = stmt_get(s, ST_CHALLENGE_ADD, &st);

    if (rc == 0)
        rc = sq_bind_blob(st, 1, hash, 32);
    if (rc == 0)
        rc = sq_bind_i64(st, 2, expires);
    if (rc == 0)
        rc = sq_step_done(st);
    sq_done(st);
    return rc;
}

int store_challenge_take(struct store *s, const uint8_t hash[32],
                         int64_t *expires)
{
    sqlite3_stmt *st = NULL;
    int rc = stmt_get(s, ST_CHALLENGE_TAKE, &st);

    if (rc == 0)
        rc = sq_bind_blob(st, 1, hash, 32);
    if (rc == 0)
        rc = sq_step_row(st);
    if (rc == 0)
        rc = sq_col_i64(st, 0, expires, MAMORI_EIO);
    /* Finish the statement so the DELETE completes. */
    if (rc == 0 && sqlite3_step(st) != SQLITE_DONE)
        rc = MAMORI_EIO;
    sq_done(st);
    return rc;
}

int store_challenge_prune(struct store *s, int64_t now)
{
    sqlite3_stmt *st = NULL;
    int rc = stmt_get(s, ST_CHALLENGE_PRUNE, &st);

    if (rc == 0)
        rc = sq_bind_i64(st, 1, now);
    if (rc == 0)
        rc = sq_step_done(st);
    sq_done(st);
    return rc;
}

/* Schema step for registered devices and login challenges. */
const char store_migration_devices[] =
    "CREATE TABLE devices(id TEXT PRIMARY KEY, name TEXT NOT NULL,"
    " alg TEXT NOT NULL, pubkey BLOB NOT NULL, state TEXT NOT NULL,"
    " requested_by INTEGER NOT NULL, approved_by INTEGER NOT NULL,"
    " created INTEGER NOT NULL, approved INTEGER NOT NULL,"
    " last_used INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX devices_key ON devices(pubkey);"
    "CREATE TABLE challenges(hash BLOB PRIMARY KEY, expires INTEGER NOT NULL)"
    " WITHOUT ROWID;"
    "ALTER TABLE sessions ADD COLUMN device TEXT NOT NULL DEFAULT '';";
