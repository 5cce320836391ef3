/*
 * auth.c - users and passwords: names, the password rules, initial
 * passwords that must be changed, password history, lockout. See auth.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "audit.h"
#include "auth.h"
#include "config.h"
#include "crypto.h"
#include "guard.h"
#include "i18n.h"
#include "pwpolicy.h"
#include "store.h"
#include "banned.h"

int auth_check_name(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > 63)
        return MAMORI_EINVAL;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
            return MAMORI_EINVAL;
    }
    return 0;
}

int auth_password_ok(struct mamori *m, const char *user, const char *pw,
                     size_t len, const char *old, size_t oldlen, int has_mfa,
                     const char **rule)
{
    struct pw_policy p = {
        .profile = config_int(m, CFG_PASSWORD_PROFILE) == 1
                       ? PW_PROFILE_NIST
                       : PW_PROFILE_REQUIREMENTS,
        .min_length = config_int(m, CFG_PASSWORD_MIN_LENGTH),
        .has_mfa = has_mfa,
    };
    *rule = N_("invalid");
    if (!pw || len > AUTH_PW_MAX) {
        *rule = N_("longer than 1024 bytes");
        return MAMORI_EINVAL;
    }
    return pwpolicy_check(&p, user, pw, len, old, oldlen, rule) == 0
               ? 0
               : MAMORI_EINVAL;
}

/* A name that differs from a user's only in case would read as the same
 * person in the audit log and the review: it is taken. */
static int name_taken(struct mamori *m, const char *name)
{
    struct store_user *all = NULL;
    size_t n = 0;
    int rc = auth_user_list_names(m, &all, &n);

    for (size_t i = 0; rc == 0 && i < n; i++)
        if (strcasecmp(all[i].name, name) == 0)
            rc = MAMORI_EEXIST;
    free(all);
    return rc;
}

int auth_user_create(struct mamori *m, const char *name, const char *role,
                     const char *pw, size_t len, int must_change)
{
    struct store_user u;
    int rc = name_taken(m, name);

    if (rc != 0)
        return rc;
    memset(&u, 0, sizeof u);
    snprintf(u.name, sizeof u.name, "%s", name);
    snprintf(u.role, sizeof u.role, "%s", role);
    if (crypto_pw_hash(pw, len, u.pwhash) != 0)
        return MAMORI_ENOMEM;
    u.created = u.pw_changed = mamori_now();
    u.must_change = must_change;
    rc = store_user_add(m->store, &u);
    auth_user_wipe(&u);
    return rc;
}

void auth_user_wipe(struct store_user *u)
{
    crypto_wipe(u->pwhash, sizeof u->pwhash);
    crypto_wipe(u->mfa_secret, sizeof u->mfa_secret);
    u->mfa_secret_len = 0;
}

int auth_user_list_names(struct mamori *m, struct store_user **out, size_t *n)
{
    int rc = store_user_list(m->store, out, n);

    for (size_t i = 0; rc == 0 && i < *n; i++)
        auth_user_wipe(&(*out)[i]);
    return rc;
}

const char *auth_user_name(const struct store_user *u, size_t n, int64_t id)
{
    if (id == 0)
        return "";
    for (size_t i = 0; i < n; i++)
        if (u[i].id == id)
            return u[i].name;
    return "?";
}

int auth_locked(const struct store_user *u, int64_t now)
{
    return u->locked_until > now;
}

int auth_enrol_locked(const struct store_user *u, int64_t now)
{
    return u->enrol_locked_until > now;
}

int auth_login_failed_in(struct mamori *m, struct store_user *u,
                         enum auth_attempt what, const char *device,
                         const char *why)
{
    struct store_audit_row row;
    char detail[128];
    int64_t now = mamori_now();
    int enrol = what == AUTH_ENROL;
    int *count = u ? (enrol ? &u->enrol_failures : &u->failures) : NULL;
    int64_t *until =
        u ? (enrol ? &u->enrol_locked_until : &u->locked_until) : NULL;
    int rc, locked_now = 0;

    snprintf(detail, sizeof detail, "%s", why);
    if (u && *until <= now) {
        (*count)++;
        if (*count >= config_int(m, CFG_LOCKOUT_THRESHOLD)) {
            *until = now + (int64_t)config_int(m, CFG_LOCKOUT_MINUTES) * 60;
            *count = 0;
            locked_now = 1;
        }
        snprintf(detail, sizeof detail, "%s (%d in a row)", why,
                 locked_now ? config_int(m, CFG_LOCKOUT_THRESHOLD) : *count);
        rc = store_user_update(m->store, u);
        if (rc != 0)
            return rc;
    }
    /* The name is logged only when it is a real user's: an unknown "name"
     * is often a password typed into the wrong box. */
    guard_event_row(&row, u ? u->name : "", device,
                    enrol ? OP_DEVICE_ENROLL : OP_LOGIN, "denied", detail);
    rc = audit_append(m, &row);
    if (rc == 0 && locked_now) {
        snprintf(detail, sizeof detail, "%s for %d min after %d failures",
                 enrol ? "device enrolment locked" : "locked",
                 config_int(m, CFG_LOCKOUT_MINUTES),
                 config_int(m, CFG_LOCKOUT_THRESHOLD));
        guard_event_row(&row, u->name, device, OP_USER_LOCK, "ok", detail);
        rc = audit_append(m, &row);
    }
    return rc == 0 ? 0 : MAMORI_EAUDIT;
}

int auth_login_failed(struct mamori *m, int64_t user_id, enum auth_attempt what,
                      const char *device, const char *why)
{
    struct store_user u;
    int rc;

    memset(&u, 0, sizeof u);
    pthread_mutex_lock(&m->lock);
    rc = store_begin(m->store);
    if (rc != 0)
        goto out;
    if (user_id != 0 && (rc = store_user_get_id(m->store, user_id, &u)) != 0) {
        store_rollback(m->store);
        goto out;
    }
    rc = auth_login_failed_in(m, user_id != 0 ? &u : NULL, what, device, why);
    if (rc == MAMORI_EAUDIT || (rc == 0 && audit_commit(m) != 0))
        rc = guard_audit_failed(m, OP_LOGIN);
    else if (rc != 0)
        store_rollback(m->store);
out:
    pthread_mutex_unlock(&m->lock);
    auth_user_wipe(&u);
    return rc;
}

/* 1 if pw is the user's current password or one of the last
 * password.history ones. */
static int pw_reused(struct mamori *m, const struct store_user *u,
                     const char *pw, size_t len)
{
    struct store_pwhash *h = NULL;
    size_t n = 0;
    int keep = config_int(m, CFG_PASSWORD_HISTORY), hit;

    hit = crypto_pw_verify(u->pwhash, pw, len);
    if (!hit && keep > 0 && store_pwhist_list(m->store, u->id, &h, &n) == 0) {
        for (size_t i = 0; i < n && i < (size_t)keep && !hit; i++)
            hit = crypto_pw_verify(h[i].hash, pw, len);
    }
    if (h) {
        crypto_wipe(h, n * sizeof *h);
        free(h);
    }
    return hit;
}

/* Gives user u the password pw: the old hash goes into the history, and
 * the count of failed logins starts again. With unlock (an admin's reset)
 * a lockout lifts too; a user's own change never lifts one. */
static int set_password(struct mamori *m, struct store_user *u, const char *pw,
                        size_t len, int must_change, int unlock)
{
    char hash[CRYPTO_PWHASH_STRLEN];
    int keep = config_int(m, CFG_PASSWORD_HISTORY);
    int rc = 0;

    if (crypto_pw_hash(pw, len, hash) != 0)
        return MAMORI_ENOMEM;
    if (keep > 0)
        rc = store_pwhist_add(m->store, u->id, u->pwhash, keep);
    if (rc == 0) {
        memcpy(u->pwhash, hash, sizeof u->pwhash);
        u->must_change = must_change;
        u->pw_changed = mamori_now();
        u->failures = 0;
        u->enrol_failures = 0;
        if (unlock) {
            u->locked_until = 0;
            u->enrol_locked_until = 0;
        }
        rc = store_user_update(m->store, u);
    }
    crypto_wipe(hash, sizeof hash);
    return rc;
}

/* The password rule broken (auth_password_ok), in the user's language. */
static const char *pw_rule_text(const char *rule, char *buf, size_t size)
{
    int min = pwpolicy_rule_min(rule);

    if (min > 0) {
        snprintf(buf, size, _("shorter than %d characters"), min);
        return buf;
    }
    return rule ? _(rule) : "";
}

int mamori_user_add(mamori_sess *s, const char *name, const char *role,
                    const char *password, size_t password_len)
{
    struct guard_call c;
    const char *rule;
    char text[96];
    int rc = guard_begin(&c, s, OP_USER_ADD, NULL);
    if (rc != 0)
        return rc;
    if (auth_check_name(name) != 0) {
        sess_detail(s, "user name: 1-63 characters of A-Z a-z 0-9 . _ -");
        rc = MAMORI_EINVAL;
    } else if (!guard_role_valid(role)) {
        sess_detail(s, "role: must be admin, operator, auditor or viewer");
        rc = MAMORI_EINVAL;
    } else if (auth_password_ok(s->m, name, password, password_len, NULL, 0, 0,
                                &rule) != 0) {
        sess_detail(s, "password: %s", pw_rule_text(rule, text, sizeof text));
        rc = MAMORI_EINVAL;
    } else {
        rc = auth_user_create(s->m, name, role, password, password_len, 1);
        if (rc == MAMORI_EEXIST)
            sess_detail(s, "user name already taken (names that differ "
                           "only in case are the same)");
        c.count = 1;
        snprintf(c.detail, sizeof c.detail, "user %s role %s", name, role);
    }
    return guard_end(&c, rc);
}

/* The user named, for an admin operation; MAMORI_ENOTFOUND with detail. */
static int target_user(mamori_sess *s, const char *name, struct store_user *u)
{
    int rc = auth_check_name(name) == 0 ? store_user_get(s->m->store, name, u)
                                        : MAMORI_ENOTFOUND;
    if (rc == MAMORI_ENOTFOUND)
        sess_detail(s, "no user of that name");
    return rc;
}

int mamori_user_unlock(mamori_sess *s, const char *name)
{
    struct guard_call c;
    struct store_user u;
    int rc = guard_begin(&c, s, OP_USER_UNLOCK, NULL);
    if (rc != 0)
        return rc;
    memset(&u, 0, sizeof u);
    rc = target_user(s, name, &u);
    if (rc == 0 && !auth_locked(&u, mamori_now()) &&
        !auth_enrol_locked(&u, mamori_now())) {
        /* Nothing to lift: saying "unlocked" would mislead the admin. */
        sess_detail(s, "the account is not locked");
        snprintf(c.detail, sizeof c.detail, "user %s: not locked", u.name);
        rc = MAMORI_ESTATE;
    } else if (rc == 0) {
        u.failures = 0;
        u.locked_until = 0;
        u.enrol_failures = 0;
        u.enrol_locked_until = 0;
        rc = store_user_update(s->m->store, &u);
        c.count = 1;
        snprintf(c.detail, sizeof c.detail, "user %s", u.name);
    }
    auth_user_wipe(&u);
    return guard_end(&c, rc);
}

/* Refuses (MAMORI_EDENIED, with the details) disabling u by the caller of
 * c when u is the last admin who is not disabled (no one could manage
 * the vault any more), or the caller's own account. */
static int may_disable(struct guard_call *c, const struct store_user *u)
{
    mamori_sess *s = c->s;
    int64_t admins = 0;
    int rc = 0;

    if (strcmp(u->role, "admin") == 0)
        rc = store_user_count_role(s->m->store, "admin", &admins);
    if (rc == 0 && strcmp(u->role, "admin") == 0 && admins <= 1) {
        sess_detail(s, "the last admin who is not disabled cannot be "
                       "disabled: no one could manage users, devices and "
                       "settings any more");
        snprintf(c->detail, sizeof c->detail, "user %s: last admin", u->name);
        rc = MAMORI_EDENIED;
    } else if (rc == 0 && u->id == s->user.id) {
        sess_detail(s, "you cannot disable your own account: another admin "
                       "must");
        snprintf(c->detail, sizeof c->detail, "user %s: own account", u->name);
        rc = MAMORI_EDENIED;
    }
    return rc;
}

int mamori_user_disable(mamori_sess *s, const char *name, int disabled)
{
    struct guard_call c;
    struct store_user u;
    int64_t ended = 0;
    int rc =
        guard_begin(&c, s, disabled ? OP_USER_DISABLE : OP_USER_ENABLE, NULL);
    if (rc != 0)
        return rc;
    memset(&u, 0, sizeof u);
    rc = target_user(s, name, &u);
    if (rc == 0 && !u.disabled == !disabled) {
        /* Nothing to change: saying it was done would mislead. */
        if (disabled)
            sess_detail(s, "the user is disabled already");
        else
            sess_detail(s, "the user is not disabled");
        snprintf(c.detail, sizeof c.detail, "user %s: %s", u.name,
                 disabled ? "disabled already" : "not disabled");
        rc = MAMORI_ESTATE;
    } else if (rc == 0 && disabled) {
        rc = may_disable(&c, &u);
    }
    if (rc == 0) {
        u.disabled = disabled ? 1 : 0;
        rc = store_user_update(s->m->store, &u);
    }
    if (rc == 0 && disabled)
        rc = store_session_delete_user(s->m->store, u.id, NULL, &ended);
    if (rc == 0) {
        c.count = 1;
        if (disabled)
            snprintf(c.detail, sizeof c.detail,
                     "user %s: disabled, %lld sessions ended", u.name,
                     (long long)ended);
        else
            snprintf(c.detail, sizeof c.detail, "user %s: enabled", u.name);
    }
    auth_user_wipe(&u);
    return guard_end(&c, rc);
}

int mamori_user_reset(mamori_sess *s, const char *name, const char *password,
                      size_t password_len)
{
    struct guard_call c;
    struct store_user u;
    const char *rule;
    char text[96];
    int64_t ended = 0;
    int rc = guard_begin(&c, s, OP_USER_RESET, NULL);
    if (rc != 0)
        return rc;
    memset(&u, 0, sizeof u);
    rc = target_user(s, name, &u);
    if (rc == 0 &&
        auth_password_ok(s->m, u.name, password, password_len, NULL, 0,
                         u.mfa_state == STORE_MFA_ACTIVE, &rule) != 0) {
        sess_detail(s, "password: %s", pw_rule_text(rule, text, sizeof text));
        rc = MAMORI_EINVAL;
    }
    if (rc == 0)
        rc = set_password(s->m, &u, password, password_len, 1, 1);
    if (rc == 0)
        rc = store_session_delete_user(s->m->store, u.id, NULL, &ended);
    if (rc == 0) {
        c.count = 1;
        snprintf(c.detail, sizeof c.detail,
                 "user %s: initial password set, %lld sessions ended", u.name,
                 (long long)ended);
    }
    auth_user_wipe(&u);
    return guard_end(&c, rc);
}

int mamori_passwd(mamori_sess *s, const char *current, size_t current_len,
                  const char *password, size_t password_len)
{
    struct guard_call c;
    struct store_user u;
    const char *rule;
    char text[96];
    int64_t ended = 0;
    int rc, wrong = 0;

    rc = guard_begin(&c, s, OP_PASSWD, NULL);
    if (rc != 0)
        return rc;
    memset(&u, 0, sizeof u);
    rc = store_user_get_id(s->m->store, s->user.id, &u);
    if (rc == 0 && auth_locked(&u, mamori_now())) {
        /* Refused before the password is looked at, with a login's answer
         * (no detail): else the check would go on answering guesses while
         * the account is locked. It counts for nothing, as such a login. */
        snprintf(c.detail, sizeof c.detail, "account locked");
        rc = MAMORI_EAUTH;
    } else if (rc == 0 && (!current || current_len > AUTH_PW_MAX ||
                           !crypto_pw_verify(u.pwhash, current, current_len))) {
        sess_detail(s, "current password: does not match");
        snprintf(c.detail, sizeof c.detail, "current password does not match");
        rc = MAMORI_EAUTH;
        wrong = 1;
    }
    if (rc == 0 &&
        auth_password_ok(s->m, u.name, password, password_len, current,
                         current_len, u.mfa_state == STORE_MFA_ACTIVE,
                         &rule) != 0) {
        sess_detail(s, "new password: %s",
                    pw_rule_text(rule, text, sizeof text));
        rc = MAMORI_EINVAL;
    }
    if (rc == 0 && pw_reused(s->m, &u, password, password_len)) {
        sess_detail(s, "new password: used before (last %d are kept)",
                    config_int(s->m, CFG_PASSWORD_HISTORY));
        rc = MAMORI_EINVAL;
    }
    if (rc == 0)
        rc = set_password(s->m, &u, password, password_len, 0, 0);
    if (rc == 0)
        rc =
            store_session_delete_user(s->m->store, u.id, s->token_hash, &ended);
    if (rc == 0) {
        s->restricted &= ~MAMORI_NEED_PASSWD;
        rc = store_session_restrict(s->m->store, s->token_hash, s->restricted);
    }
    if (rc == 0)
        snprintf(c.detail, sizeof c.detail,
                 "password changed, %lld other sessions ended",
                 (long long)ended);
    auth_user_wipe(&u);
    rc = guard_end(&c, rc);
    if (wrong)
        (void)auth_login_failed(s->m, s->user.id, AUTH_LOGIN, s->device,
                                "passwd: wrong current password");
    return rc;
}

int mamori_user_list(mamori_sess *s, struct mamori_user_info **out, size_t *n)
{
    struct guard_call c;
    struct store_user *u = NULL;
    size_t k = 0;
    int rc;

    *out = NULL;
    *n = 0;
    rc = guard_begin(&c, s, OP_USER_LIST, NULL);
    if (rc != 0)
        return rc;
    rc = store_user_list(s->m->store, &u, &k);
    if (rc == 0)
        c.count = (int64_t)k;
    rc = guard_end(&c, rc);
    if (rc == 0) {
        struct mamori_user_info *info = calloc(k ? k : 1, sizeof *info);
        int64_t now = mamori_now();
        if (!info) {
            rc = MAMORI_ENOMEM;
        } else {
            for (size_t i = 0; i < k; i++) {
                snprintf(info[i].name, sizeof info[i].name, "%s", u[i].name);
                snprintf(info[i].role, sizeof info[i].role, "%s", u[i].role);
                info[i].created = u[i].created;
                info[i].last_login = u[i].last_login;
                info[i].disabled = u[i].disabled;
                info[i].must_change = u[i].must_change;
                info[i].mfa = u[i].mfa_state;
                info[i].locked_until =
                    auth_locked(&u[i], now) ? u[i].locked_until : 0;
            }
            *out = info;
            *n = k;
        }
    }
    if (u) {
        crypto_wipe(u, k * sizeof *u);
        free(u);
    }
    return rc;
}
