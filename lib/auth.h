/*
 * auth.h - users, passwords, lockout and sessions: what guard.c, open.c and
 * the login code share. auth.c has users and passwords; session.c has
 * login and sessions.
 */
#ifndef MAMORI_AUTH_H
#define MAMORI_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"

/* User names: 1..63 chars of [A-Za-z0-9._-], starting with a letter or
 * digit. MAMORI_EINVAL otherwise. */
int auth_check_name(const char *name);

/* Longest password accepted, in bytes. */
#define AUTH_PW_MAX 1024

/* Checks a new password against the rules in force (config.c; m NULL: the
 * defaults). old is the current password when the user changes their own,
 * else NULL. 0, or MAMORI_EINVAL with *rule naming the rule (English,
 * never the password). Call with m->lock held. */
int auth_password_ok(struct mamori *m, const char *user, const char *pw,
                     size_t len, const char *old, size_t oldlen,
                     const char **rule);

/* Creates a user inside the caller's transaction; must_change for an
 * initial password set by an admin. */
int auth_user_create(struct mamori *m, const char *name, const char *role,
                     const char *pw, size_t len, int must_change);

/* A failed password check for user id (0: no such user), in a transaction
 * of its own: counts the failure, locks the account at the threshold,
 * audits both. Takes m->lock. */
int auth_login_failed(struct mamori *m, int64_t user_id, const char *name,
                      const char *device, const char *why);

/* 1 if the account is locked at time now. */
int auth_locked(const struct store_user *u, int64_t now);

/* 0 if the session row is live at time now (idle and absolute limits from
 * the settings), else MAMORI_ESESSION with *why. Call with m->lock held. */
int auth_session_live(struct mamori *m, const struct store_session *ss,
                      int64_t now, const char **why);

#endif
