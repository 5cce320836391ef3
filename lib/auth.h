/*
 * auth.h - users, passwords and sessions (first cut; MFA, lockout and
 * devices slot in here).
 */
#ifndef MAMORI_AUTH_H
#define MAMORI_AUTH_H

#include <stddef.h>

#include "internal.h"

/* User names: 1..63 chars of [A-Za-z0-9._-], starting with a letter or
 * digit. MAMORI_EINVAL otherwise. */
int auth_check_name(const char *name);

/* Password rules (first cut: 1..1024 bytes, not the user name). */
int auth_check_password(const char *user, const char *pw, size_t len);

/* Creates a user inside the caller's transaction. */
int auth_user_create(struct mamori *m, const char *name, const char *role,
                     const char *pw, size_t len);

/* Absolute session lifetime in seconds. */
#define AUTH_SESSION_LIFETIME (12 * 60 * 60)
/* Idle timeout in seconds. */
#define AUTH_SESSION_IDLE (15 * 60)

#endif
