/*
 * store_sqlite_stats.c - counts for monitoring (mamori_stats): live
 * sessions and locked accounts. Read only; the statements are prepared per
 * call (a scrape is rare next to the request path, whose cache they would
 * otherwise take slots of).
 */
#include <stdint.h>
#include <stdio.h>

#include <sqlite3.h>

#include "mamori.h"
#include "store_sqlite.h"

#include "banned.h"

static int count_where(struct store *s, const char *sql, int64_t now,
                       int64_t *n)
{
    sqlite3_stmt *st = NULL;
    int rc = sq_err(sqlite3_prepare_v2(s->db, sql, -1, &st, NULL));

    if (rc == 0)
        rc = sq_bind_i64(st, 1, now);
    if (rc == 0)
        rc = sq_step_row(st);
    if (rc == MAMORI_ENOTFOUND)
        rc = MAMORI_EIO;
    if (rc == 0)
        rc = sq_col_i64(st, 0, n, MAMORI_EIO);
    sqlite3_finalize(st);
    return rc;
}

int store_stats(struct store *s, int64_t now, int64_t *sessions,
                int64_t *locked)
{
    int rc;

    if (s == NULL || sessions == NULL || locked == NULL)
        return MAMORI_EINVAL;
    rc = count_where(s, "SELECT count(*) FROM sessions WHERE expires > ?1", now,
                     sessions);
    if (rc == 0)
        rc = count_where(s,
                         "SELECT count(*) FROM users WHERE locked_until > ?1"
                         " AND disabled = 0",
                         now, locked);
    return rc;
}
