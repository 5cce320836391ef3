/*
 * store_sqlite_auth.c - the SQLite store's identity tables: users and
 * sessions. See store.h.
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "mamori.h"
#include "store_sqlite.h"
#include "banned.h"

#define USER_COLS "id, name, role, pwhash, created, last_login, disabled"

static const char *const stmt_sql[ST_COUNT_] = {
    [ST_USER_ADD] = "INSERT INTO users(name, role, pwhash, created,"
                    " last_login, disabled) VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
    [ST_USER_GET] = "SELECT " USER_COLS " FROM users WHERE name = ?1",
    [ST_USER_GET_ID] = "SELECT " USER_COLS " FROM users WHERE id = ?1",
    [ST_USER_UPDATE] = "UPDATE users SET name = ?2, role = ?3, pwhash = ?4,"
                       " created = ?5, last_login = ?6, disabled = ?7"
                       " WHERE id = ?1",
    [ST_USER_LIST] = "SELECT " USER_COLS " FROM users ORDER BY name",
    [ST_SESSION_ADD] = "INSERT INTO sessions(token_hash, user_id, os_uid,"
                       " created, last_seen, expires)"
                       " VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
    [ST_SESSION_GET] = "SELECT user_id, os_uid, created, last_seen, expires"
                       " FROM sessions WHERE token_hash = ?1",
    [ST_SESSION_TOUCH] = "UPDATE sessions SET last_seen = ?2"
                         " WHERE token_hash = ?1",
    [ST_SESSION_DELETE] = "DELETE FROM sessions WHERE token_hash = ?1",
};

static int stmt_get(struct store *s, enum stmt_id id, sqlite3_stmt **out)
{
    return sq_stmt(s, id, stmt_sql[id], out);
}

/* ---- users --------------------------------------------------------------- */

static int read_user(sqlite3_stmt *st, struct store_user *u)
{
    int64_t disabled = 0;
    int rc;

    memset(u, 0, sizeof *u);
    if ((rc = sq_col_i64(st, 0, &u->id, MAMORI_EIO)) != 0 ||
        (rc = sq_col_text(st, 1, u->name, sizeof u->name, MAMORI_EIO)) != 0 ||
        (rc = sq_col_text(st, 2, u->role, sizeof u->role, MAMORI_EIO)) != 0 ||
        (rc = sq_col_text(st, 3, u->pwhash, sizeof u->pwhash, MAMORI_EIO)) !=
            0 ||
        (rc = sq_col_i64(st, 4, &u->created, MAMORI_EIO)) != 0 ||
        (rc = sq_col_i64(st, 5, &u->last_login, MAMORI_EIO)) != 0 ||
        (rc = sq_col_i64(st, 6, &disabled, MAMORI_EIO)) != 0)
        return rc;
    if (disabled < INT_MIN || disabled > INT_MAX)
        return MAMORI_EIO;
    u->disabled = (int)disabled;
    return 0;
}

/* Binds name, role, pwhash, created, last_login, disabled from parameter
 * first on. */
static int bind_user(sqlite3_stmt *st, int first, const struct store_user *u)
{
    int rc;

    if ((rc = sq_bind_field(st, first, u->name, sizeof u->name)) != 0 ||
        (rc = sq_bind_field(st, first + 1, u->role, sizeof u->role)) != 0 ||
        (rc = sq_bind_field(st, first + 2, u->pwhash, sizeof u->pwhash)) != 0 ||
        (rc = sq_bind_i64(st, first + 3, u->created)) != 0 ||
        (rc = sq_bind_i64(st, first + 4, u->last_login)) != 0 ||
        (rc = sq_bind_i64(st, first + 5, u->disabled)) != 0)
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
        rc = sq_step_done(st);
out:
    sq_done(st);
    return rc;
}

int store_session_get(struct store *s, const uint8_t token_hash[32],
                      struct store_session *ss)
{
    sqlite3_stmt *st = NULL;
    int64_t uid = 0;
    int rc = MAMORI_EINVAL;

    if (token_hash == NULL || ss == NULL)
        goto out;
    rc = stmt_get(s, ST_SESSION_GET, &st);
    if (rc == 0)
        rc = sq_bind_blob(st, 1, token_hash, 32);
    if (rc == 0)
        rc = sq_step_row(st);
    if (rc != 0)
        goto out;
    memset(ss, 0, sizeof *ss);
    memcpy(ss->token_hash, token_hash, sizeof ss->token_hash);
    if ((rc = sq_col_i64(st, 0, &ss->user_id, MAMORI_EIO)) != 0 ||
        (rc = sq_col_i64(st, 1, &uid, MAMORI_EIO)) != 0 ||
        (rc = sq_col_i64(st, 2, &ss->created, MAMORI_EIO)) != 0 ||
        (rc = sq_col_i64(st, 3, &ss->last_seen, MAMORI_EIO)) != 0 ||
        (rc = sq_col_i64(st, 4, &ss->expires, MAMORI_EIO)) != 0)
        goto out;
#if LONG_MAX < INT64_MAX
    if (uid < LONG_MIN || uid > LONG_MAX) {
        rc = MAMORI_EIO;
        goto out;
    }
#endif
    ss->os_uid = (long)uid;
out:
    sq_done(st);
    return rc;
}

int store_session_touch(struct store *s, const uint8_t token_hash[32],
                        int64_t now)
{
    sqlite3_stmt *st = NULL;
    int rc = MAMORI_EINVAL;

    if (token_hash == NULL)
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
