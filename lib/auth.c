/*
 * auth.c - users, login and sessions. See auth.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "auth.h"
#include "crypto.h"
#include "guard.h"
#include "store.h"
#include "banned.h"

#define PW_MAX 1024

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

int auth_check_password(const char *user, const char *pw, size_t len)
{
    if (!pw || len == 0 || len > PW_MAX || memchr(pw, '\0', len))
        return MAMORI_EINVAL;
    if (user && strlen(user) == len && memcmp(user, pw, len) == 0)
        return MAMORI_EINVAL;
    return 0;
}

static int role_valid(const char *role)
{
    return role &&
           (strcmp(role, "admin") == 0 || strcmp(role, "operator") == 0 ||
            strcmp(role, "auditor") == 0);
}

int auth_user_create(struct mamori *m, const char *name, const char *role,
                     const char *pw, size_t len)
{
    struct store_user u;
    int rc;

    memset(&u, 0, sizeof u);
    snprintf(u.name, sizeof u.name, "%s", name);
    snprintf(u.role, sizeof u.role, "%s", role);
    if (crypto_pw_hash(pw, len, u.pwhash) != 0)
        return MAMORI_ENOMEM;
    u.created = mamori_now();
    rc = store_user_add(m->store, &u);
    crypto_wipe(u.pwhash, sizeof u.pwhash);
    return rc;
}

/* Compared against when the user does not exist, so that a login for an
 * unknown name costs the same time as a wrong password. */
static char dummy[CRYPTO_PWHASH_STRLEN];

static void dummy_make(void)
{
    char pw[16];
    crypto_random(pw, sizeof pw);
    if (crypto_pw_hash(pw, sizeof pw, dummy) != 0)
        dummy[0] = '\0';
    crypto_wipe(pw, sizeof pw);
}

static const char *dummy_hash(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    (void)pthread_once(&once, dummy_make);
    return dummy;
}

static void client_copy(mamori_sess *s, const struct mamori_client *c)
{
    s->os_uid = -1;
    if (!c)
        return;
    snprintf(s->device, sizeof s->device, "%s", c->device ? c->device : "");
    snprintf(s->address, sizeof s->address, "%s", c->address ? c->address : "");
    snprintf(s->request_id, sizeof s->request_id, "%s",
             c->request_id ? c->request_id : "");
    s->os_uid = c->os_uid;
}

int mamori_login(mamori *m, const char *user, const char *password,
                 size_t password_len, const struct mamori_client *client,
                 char *token, size_t token_size)
{
    struct store_user u;
    struct store_session ss;
    uint8_t raw[32];
    const char *dev = client && client->device ? client->device : "";
    int rc, found, ok;

    if (!m || !user || !password || !token || token_size < MAMORI_TOKEN_LEN + 1)
        return MAMORI_EINVAL;
    token[0] = '\0';
    memset(&u, 0, sizeof u);
    if (auth_check_name(user) != 0 || password_len > PW_MAX) {
        found = 0;
    } else {
        pthread_mutex_lock(&m->lock);
        rc = store_user_get(m->store, user, &u);
        pthread_mutex_unlock(&m->lock);
        if (rc != 0 && rc != MAMORI_ENOTFOUND)
            return rc;
        found = rc == 0;
    }
    if (found) {
        ok = crypto_pw_verify(u.pwhash, password, password_len) && !u.disabled;
    } else {
        (void)crypto_pw_verify(dummy_hash(), password, password_len);
        ok = 0;
    }

    if (!ok) {
        /* The name is logged only when it is a real user's: an unknown
         * "name" is often a password typed into the wrong box. */
        crypto_wipe(u.pwhash, sizeof u.pwhash);
        rc = guard_audit_event(m, found ? u.name : "", dev, OP_LOGIN, "denied",
                               found ? "wrong password" : "unknown user");
        return rc == 0 ? MAMORI_EAUTH : rc;
    }

    crypto_random(raw, sizeof raw);
    memset(&ss, 0, sizeof ss);
    crypto_sha256(raw, sizeof raw, ss.token_hash);
    ss.user_id = u.id;
    ss.os_uid = client ? client->os_uid : -1;
    ss.created = ss.last_seen = mamori_now();
    ss.expires = ss.created + AUTH_SESSION_LIFETIME;

    pthread_mutex_lock(&m->lock);
    rc = store_begin(m->store);
    if (rc == 0) {
        /* The row as it is now: the password was checked outside the lock,
         * and a change or disable since then must win. */
        struct store_user cur;
        rc = store_user_get_id(m->store, u.id, &cur);
        if (rc == 0 && (cur.disabled ||
                        !crypto_equal(cur.pwhash, u.pwhash, sizeof u.pwhash)))
            rc = MAMORI_EAUTH;
        if (rc == 0) {
            cur.last_login = ss.created;
            rc = store_user_update(m->store, &cur);
        }
        crypto_wipe(cur.pwhash, sizeof cur.pwhash);
        if (rc == 0)
            rc = store_session_add(m->store, &ss);
        if (rc == 0) {
            struct store_audit_row row;
            guard_event_row(&row, u.name, dev, OP_LOGIN, "ok", "");
            rc = audit_append(m, &row);
        }
        if (rc == 0)
            rc = store_commit(m->store);
        if (rc != 0)
            store_rollback(m->store);
    }
    pthread_mutex_unlock(&m->lock);
    crypto_wipe(u.pwhash, sizeof u.pwhash);
    if (rc == 0)
        crypto_b64(raw, sizeof raw, token);
    crypto_wipe(raw, sizeof raw);
    return rc;
}

int mamori_session_open(mamori *m, const char *token,
                        const struct mamori_client *client, mamori_sess **out)
{
    uint8_t raw[32];
    struct store_session ss;
    mamori_sess *s;
    int rc;

    *out = NULL;
    if (!m || !token || strlen(token) != MAMORI_TOKEN_LEN)
        return MAMORI_ESESSION;
    if (crypto_unb64(token, MAMORI_TOKEN_LEN, raw, sizeof raw) !=
        (long)sizeof raw)
        return MAMORI_ESESSION;
    s = calloc(1, sizeof *s);
    if (!s) {
        crypto_wipe(raw, sizeof raw);
        return MAMORI_ENOMEM;
    }
    s->m = m;
    crypto_sha256(raw, sizeof raw, s->token_hash);
    crypto_wipe(raw, sizeof raw);
    client_copy(s, client);

    pthread_mutex_lock(&m->lock);
    rc = store_session_get(m->store, s->token_hash, &ss);
    if (rc == 0) {
        int64_t now = mamori_now();
        if (now > ss.expires || now - ss.last_seen > AUTH_SESSION_IDLE)
            rc = MAMORI_ESESSION;
        else if (ss.os_uid >= 0 && client && client->os_uid != ss.os_uid)
            rc = MAMORI_ESESSION; /* a CLI token is bound to its OS user */
        else
            rc = store_user_get_id(m->store, ss.user_id, &s->user);
        crypto_wipe(s->user.pwhash, sizeof s->user.pwhash);
    }
    pthread_mutex_unlock(&m->lock);
    if (rc == MAMORI_ENOTFOUND)
        rc = MAMORI_ESESSION;
    if (rc != 0) {
        free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void mamori_session_close(mamori_sess *s)
{
    if (s) {
        crypto_wipe(s, sizeof *s);
        free(s);
    }
}

int mamori_logout(mamori_sess *s)
{
    struct guard_call c;
    int rc = guard_begin(&c, s, OP_LOGOUT, NULL);
    if (rc == 0)
        rc = guard_end(&c, store_session_delete(s->m->store, s->token_hash));
    mamori_session_close(s);
    return rc;
}

const char *mamori_session_user(const mamori_sess *s)
{
    return s->user.name;
}

const char *mamori_session_role(const mamori_sess *s)
{
    return s->user.role;
}

int mamori_session_reason(mamori_sess *s, const char *reason)
{
    if (!s)
        return MAMORI_ESESSION;
    if (!reason) {
        s->reason[0] = '\0';
        return 0;
    }
    if (strlen(reason) >= sizeof s->reason) {
        sess_detail(s, "reason: longer than %zu bytes", sizeof s->reason - 1);
        return MAMORI_ETOOBIG;
    }
    snprintf(s->reason, sizeof s->reason, "%s", reason);
    return 0;
}

int mamori_user_add(mamori_sess *s, const char *name, const char *role,
                    const char *password, size_t password_len)
{
    struct guard_call c;
    int rc = guard_begin(&c, s, OP_USER_ADD, NULL);
    if (rc != 0)
        return rc;
    if (auth_check_name(name) != 0) {
        sess_detail(s, "user name: 1-63 characters of A-Z a-z 0-9 . _ -");
        rc = MAMORI_EINVAL;
    } else if (!role_valid(role)) {
        sess_detail(s, "role: must be admin, operator or auditor");
        rc = MAMORI_EINVAL;
    } else if (auth_check_password(name, password, password_len) != 0) {
        sess_detail(s, "password: does not meet the password rules");
        rc = MAMORI_EINVAL;
    } else {
        rc = auth_user_create(s->m, name, role, password, password_len);
        if (rc == MAMORI_EEXIST)
            sess_detail(s, "user name already taken");
        c.count = 1;
        snprintf(c.detail, sizeof c.detail, "user %s role %s", name, role);
    }
    return guard_end(&c, rc);
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
        if (!info) {
            rc = MAMORI_ENOMEM;
        } else {
            for (size_t i = 0; i < k; i++) {
                snprintf(info[i].name, sizeof info[i].name, "%s", u[i].name);
                snprintf(info[i].role, sizeof info[i].role, "%s", u[i].role);
                info[i].created = u[i].created;
                info[i].last_login = u[i].last_login;
                info[i].disabled = u[i].disabled;
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
