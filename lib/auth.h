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
 * else NULL; has_mfa when the account has a second factor (NIST profile:
 * shorter passwords allowed). 0, or MAMORI_EINVAL with *rule naming the rule
 * (English, never the password). Call with m->lock held. */
int auth_password_ok(struct mamori *m, const char *user, const char *pw,
                     size_t len, const char *old, size_t oldlen, int has_mfa,
                     const char **rule);

/* Creates a user inside the caller's transaction; must_change for an
 * initial password set by an admin. */
int auth_user_create(struct mamori *m, const char *name, const char *role,
                     const char *pw, size_t len, int must_change);

/* What a failed password or code was for: a login (or a password
 * change), whose failures lock the account, or a device enrolment, whose
 * failures lock only further enrolments. Enrolment needs no approved
 * device; with its own count, a stranger cannot lock anyone's logins
 * through it, and it is no unlimited password oracle either. */
enum auth_attempt { AUTH_LOGIN, AUTH_ENROL };

/* A failed attempt of user id (0: no such user), in a transaction of its
 * own: auth_login_failed_in, committed. Takes m->lock. */
int auth_login_failed(struct mamori *m, int64_t user_id, enum auth_attempt what,
                      const char *device, const char *why);

/* The same inside the caller's transaction, for the user row u as loaded
 * there (NULL: no such user): counts the failure in u's count for what
 * (unless that is locked already), locks it at the threshold
 * (lockout.threshold, for lockout.minutes), writes u, and appends the
 * denial (and the lock) to the audit log. MAMORI_EAUDIT when an entry
 * could not be appended. */
int auth_login_failed_in(struct mamori *m, struct store_user *u,
                         enum auth_attempt what, const char *device,
                         const char *why);

/* 1 if the account is locked at time now. */
int auth_locked(const struct store_user *u, int64_t now);
/* 1 if the account's device enrolment is locked at time now. */
int auth_enrol_locked(const struct store_user *u, int64_t now);

/* Wipes the secrets a user row carries (password hash, sealed TOTP
 * secret) once the caller is done with them. */
void auth_user_wipe(struct store_user *u);

/* Every user (store_user_list) with their secrets already wiped: for the
 * calls that only need names and roles. *out malloc'd. */
int auth_user_list_names(struct mamori *m, struct store_user **out, size_t *n);

/* The name of user id in the list u (n users, as store_user_list gives
 * it): "" for id 0, "?" for an id not in the list. */
const char *auth_user_name(const struct store_user *u, size_t n, int64_t id);

/* A session's last_seen moves in steps of this many seconds: a request
 * within it of the last one stored does not rewrite the row (with every
 * audited read touching its session, the row would be written at each
 * group commit, and every reader would read its page back from the WAL).
 * The idle limit is counted from last_seen plus this, so a session never
 * ends before its idle time; it may last this much longer. */
#define AUTH_TOUCH_GRAIN 10

/* 0 if the session row is live at time now (idle and absolute limits from
 * the settings, read through st: the handle's store with m->lock held, or
 * a reader), else MAMORI_ESESSION with *why. */
int auth_session_live(struct store *st, const struct store_session *ss,
                      int64_t now, const char **why);
/* The same with the idle limit given (session.idle_minutes). */
int auth_session_check(const struct store_session *ss, int64_t now,
                       int idle_minutes, const char **why);

/* 1 if the role must use MFA (admin and auditor always; operator and
 * viewer per the settings). Call with m->lock held. */
int auth_mfa_required(struct mamori *m, const char *role);

/* Checks a one-time code of user u (MFA active) at time now: a TOTP code
 * newer than the last one used (u->mfa_last_step advances), or an unused
 * recovery code (marked used). Call under m->lock inside the caller's
 * transaction; the caller stores u. 0 with what ("totp", "recovery code
 * used, N left"); MAMORI_EOTP if otp is NULL; MAMORI_EAUTH if wrong. */
int auth_mfa_check(struct mamori *m, struct store_user *u, const char *otp,
                   int64_t now, char *what, size_t what_size);

/* Checks the device proof of a login (req->device_pk, challenge,
 * signature) for user at time now under m->lock in the caller's
 * transaction: the challenge is consumed. 0 with dev set to the approved
 * device's id, or "" when no proof was given or the key is not (yet)
 * approved; MAMORI_EKEY when the proof is wrong or stale, or the key was
 * revoked. */
int auth_device_check(struct mamori *m, const char *user,
                      const struct mamori_login_req *req, int64_t now,
                      char dev[37]);

/* The same without marking the device used: for the check that comes
 * before the password when device.required is on (session.c). dev: the
 * approved device's id, or "". */
int auth_device_prove(struct mamori *m, const char *user,
                      const struct mamori_login_req *req, int64_t now,
                      char dev[37]);

/* The device id, proved by auth_device_prove earlier in the login, marked
 * used at time now (under m->lock in the caller's transaction); dev
 * receives its id. MAMORI_EDEVICE if it is no longer approved. */
int auth_device_use(struct mamori *m, const char *id, int64_t now,
                    char dev[37]);

/* 1 if name is a device label: 1..63 bytes of UTF-8 without controls. */
int auth_device_name_ok(const char *name);

/* A pending device for user_id (mamori_device_request), inside the
 * caller's transaction; MAMORI_EEXIST if the key is pending or approved
 * already. */
int auth_device_request(struct mamori *m, int64_t user_id, const char *name,
                        const uint8_t pk[MAMORI_DEVICE_PK_LEN], char id[37]);

/* Registers a device of user_id (approved at once for init's first admin)
 * inside the caller's transaction; id receives its id. */
int auth_device_register(struct mamori *m, int64_t user_id, const char *name,
                         const uint8_t pk[MAMORI_DEVICE_PK_LEN], int approved,
                         char id[37]);

#endif
