/*
 * session.c - login, sessions and their limits. See auth.h and mamori.h.
 *
 * A login first proves an approved device when device.required is on
 * (device_gate), then checks the password outside the vault lock
 * (Argon2id is slow on purpose), then, under the lock, checks again that
 * nothing changed, opens the session and writes its audit entry in one
 * transaction. A session token is 32 random bytes; only its SHA-256 is
 * stored.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "auth.h"
#include "authcache.h"
#include "config.h"
#include "crypto.h"
#include "guard.h"
#include "store.h"
#include "banned.h"

int auth_session_live(struct store *st, const struct store_session *ss,
                      int64_t now, const char **why)
{
    return auth_session_check(ss, now,
                              config_int_in(st, CFG_SESSION_IDLE_MINUTES), why);
}

int auth_session_check(const struct store_session *ss, int64_t now,
                       int idle_minutes, const char **why)
{
    int64_t idle = (int64_t)idle_minutes * 60;
    if (now > ss->expires) {
        *why = "session expired (lifetime)";
        return MAMORI_ESESSION;
    }
    if (now - ss->last_seen > idle + AUTH_TOUCH_GRAIN) {
        *why = "session expired (idle)";
        return MAMORI_ESESSION;
    }
    return 0;
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

/* A device asking for approval (mamori_device_request) instead of a
 * session. */
struct enrolment {
    const char *name;
    const uint8_t *pk;
    char *id;
};

/* After the credentials held: a session row for a login, or a pending
 * device for an enrolment. Fills the audit entry's action and detail. */
static int login_outcome(struct mamori *m, const struct store_user *cur,
                         const struct enrolment *e, struct store_session *ss,
                         enum guard_op *op, char *detail, size_t size)
{
    size_t k = strlen(detail);
    int rc;

    if (e) {
        *op = OP_DEVICE_ENROLL;
        rc = auth_device_request(m, cur->id, e->name, e->pk, e->id);
        if (rc == 0)
            snprintf(detail + k, size - k, "%sdevice %s pending approval",
                     k ? "; " : "", e->id);
        return rc;
    }
    *op = OP_LOGIN;
    ss->restricted = cur->must_change ? MAMORI_NEED_PASSWD : 0;
    if (cur->mfa_state != STORE_MFA_ACTIVE && auth_mfa_required(m, cur->role))
        ss->restricted |= MAMORI_NEED_MFA;
    ss->expires =
        ss->created + (int64_t)config_int(m, CFG_SESSION_LIFETIME_HOURS) * 3600;
    return store_session_add(m->store, ss);
}

/* The checks of login_commit that may refuse, in order: the user row as it
 * is now must still match what the password was checked against; the
 * one-time code when the user has MFA; the device: devid, proved before
 * the password (device_gate), must still be approved; without devid
 * (device.required off) the device proof, if any. A code or a challenge
 * that was checked is used up in cur and in the store, whatever comes
 * after. *why: the refusal's reason for the audit log. */
static int login_checks(struct mamori *m, const struct store_user *u,
                        struct store_user *cur,
                        const struct mamori_login_req *req,
                        struct store_session *ss, const struct enrolment *e,
                        const char *devid, char *detail, size_t size,
                        const char **why)
{
    int rc = 0;

    if (cur->disabled || auth_locked(cur, ss->created) ||
        (e && auth_enrol_locked(cur, ss->created)) ||
        !crypto_equal(cur->pwhash, u->pwhash, sizeof u->pwhash)) {
        *why = "account changed during login";
        return MAMORI_EAUTH;
    }
    if (cur->mfa_state == STORE_MFA_ACTIVE) {
        rc = auth_mfa_check(m, cur, req->otp, ss->created, detail, size);
        *why =
            rc == MAMORI_EOTP ? "one-time code needed" : "wrong one-time code";
    }
    if (rc == 0 && !e && devid) {
        /* Proved before the password (device_gate): still approved? */
        rc = auth_device_use(m, devid, ss->created, ss->device);
        *why = "device not approved (device.required)";
    } else if (rc == 0 && !e) {
        rc = auth_device_check(m, cur->name, req, ss->created, ss->device);
        *why = "device proof failed";
        if (rc == 0 && !ss->device[0] && config_int(m, CFG_DEVICE_REQUIRED)) {
            rc = MAMORI_EDEVICE;
            *why = "device not approved (device.required)";
        }
    }
    return rc;
}

/* A refusal by login_checks (or of an enrolment whose key is known),
 * recorded in its transaction, which is then committed, so that what the
 * checks used up stays used: a wrong code or proof counts toward the
 * lockout; a missing code or device, or a known key, does not. */
static int login_refused(struct mamori *m, struct store_user *cur,
                         const struct enrolment *e, const char *dev, int rc,
                         const char *why)
{
    struct store_audit_row row;
    int arc;

    if (rc == MAMORI_EAUTH || rc == MAMORI_EKEY) {
        arc =
            auth_login_failed_in(m, cur, e ? AUTH_ENROL : AUTH_LOGIN, dev, why);
        rc = MAMORI_EAUTH;
    } else {
        arc = store_user_update(m->store, cur); /* the used-up code */
        if (arc == 0) {
            guard_event_row(&row, cur->name, dev,
                            e ? OP_DEVICE_ENROLL : OP_LOGIN, "denied", why);
            arc = audit_append(m, &row) == 0 ? 0 : MAMORI_EAUDIT;
        }
    }
    if (arc == 0 && audit_commit(m) != 0)
        arc = MAMORI_EAUDIT;
    if (arc == MAMORI_EAUDIT)
        return guard_audit_failed(m, e ? OP_DEVICE_ENROLL : OP_LOGIN);
    return arc == 0 ? rc : arc;
}

/* Under the lock, in one transaction: login_checks; then the session row
 * (or the pending device), the user's last login (and a rehashed
 * password), and the audit entry. A refusal is recorded here too
 * (login_refused). devid: the device device_gate found proved, or NULL. */
static int login_commit(struct mamori *m, const struct store_user *u,
                        const struct mamori_login_req *req, const char *rehash,
                        struct store_session *ss, const struct enrolment *e,
                        const char *dev, const char *devid)
{
    struct store_user cur;
    struct store_audit_row row;
    enum guard_op op = OP_LOGIN;
    char detail[128] = "";
    const char *why = "";
    int rc;

    memset(&cur, 0, sizeof cur);
    rc = store_begin(m->store);
    if (rc != 0)
        return rc;
    rc = store_user_get_id(m->store, u->id, &cur);
    if (rc == 0) {
        rc = login_checks(m, u, &cur, req, ss, e, devid, detail, sizeof detail,
                          &why);
        if (rc == MAMORI_EAUTH || rc == MAMORI_EKEY || rc == MAMORI_EOTP ||
            rc == MAMORI_EDEVICE) {
            rc = login_refused(m, &cur, e, dev, rc, why);
            goto out;
        }
    }
    if (rc == 0) {
        if (e) {
            cur.enrol_failures = 0;
        } else {
            cur.failures = 0;
            cur.last_login = ss->created;
        }
        if (rehash[0])
            memcpy(cur.pwhash, rehash, sizeof cur.pwhash);
        rc = store_user_update(m->store, &cur);
    }
    if (rc == 0)
        rc = login_outcome(m, &cur, e, ss, &op, detail, sizeof detail);
    if (rc == MAMORI_EEXIST && e) {
        /* The code and the password were right: the code stays used. */
        rc = login_refused(m, &cur, e, dev, rc, "device key already enrolled");
        goto out;
    }
    if (rc == 0) {
        size_t k = strlen(detail);
        if (rehash[0])
            snprintf(detail + k, sizeof detail - k, "%spassword hash upgraded",
                     k ? "; " : "");
        guard_event_row(&row, u->name, ss->device, op, "ok", detail);
        rc = audit_append(m, &row);
        if (rc == 0)
            rc = audit_commit(m);
        if (rc != 0)
            rc = guard_audit_failed(m, op);
    }
out:
    if (rc != 0)
        audit_rollback(m); /* a step before the entry failed (no-op after) */
    auth_user_wipe(&cur);
    crypto_wipe(cur.mfa_secret, sizeof cur.mfa_secret);
    return rc;
}

int mamori_login(mamori *m, const char *user, const char *password,
                 size_t password_len, const struct mamori_client *client,
                 char *token, size_t token_size)
{
    struct mamori_login_req req = {
        .user = user, .password = password, .password_len = password_len};
    return mamori_login_ex(m, &req, client, token, token_size);
}

/* With device.required on (the default) a login proves an approved
 * device before its password is looked at: a stranger without one cannot
 * lock the account with wrong passwords, since a refusal here counts
 * toward no lockout, and it costs no password hashing. The answer,
 * MAMORI_EDEVICE, is the same whether the user exists, is locked or not,
 * and whatever the password: nothing of the account is checked. The
 * refusal is audited (the name only when it is a real user's, as for a
 * wrong password) and the challenge is used up either way. *first: 1 when
 * the setting is on, with devid the approved device proved; 0 when it is
 * off, and login_checks checks a proof after the password as before. */
static int device_gate(struct mamori *m, const struct mamori_login_req *req,
                       const char *dev, int64_t now, char devid[37], int *first)
{
    struct store_audit_row row;
    struct store_user u;
    const char *why = "device not approved (device.required)";
    int rc, known = 0;

    *first = 0;
    devid[0] = '\0';
    memset(&u, 0, sizeof u);
    pthread_mutex_lock(&m->lock);
    rc = store_begin(m->store);
    if (rc != 0)
        goto out;
    if (!config_int(m, CFG_DEVICE_REQUIRED)) {
        store_rollback(m->store);
        goto out;
    }
    *first = 1;
    rc = auth_device_prove(m, req->user, req, now, devid);
    if (rc == 0 && devid[0]) {
        rc = store_commit(m->store); /* the challenge stays used */
        if (rc != 0)
            store_rollback(m->store);
        goto out;
    }
    if (rc != 0 && rc != MAMORI_EKEY) {
        store_rollback(m->store);
        goto out;
    }
    if (rc == MAMORI_EKEY)
        why = "device proof failed";
    /* Looked up whatever the proof, so that the refusal takes as long
     * for a real user as for an unknown name. */
    if (auth_check_name(req->user) == 0) {
        rc = store_user_get(m->store, req->user, &u);
        if (rc != 0 && rc != MAMORI_ENOTFOUND) {
            store_rollback(m->store);
            goto out;
        }
        known = rc == 0;
        auth_user_wipe(&u);
    }
    guard_event_row(&row, known ? u.name : "", dev, OP_LOGIN, "denied", why);
    if (audit_append(m, &row) != 0 || audit_commit(m) != 0)
        rc = guard_audit_failed(m, OP_LOGIN);
    else
        rc = MAMORI_EDEVICE;
out:
    pthread_mutex_unlock(&m->lock);
    if (rc != 0)
        devid[0] = '\0';
    return rc;
}

/* The credentials of req, then login_commit: a session (token written)
 * or, with e, a pending device. */
static int login_run(mamori *m, const struct mamori_login_req *req,
                     const struct mamori_client *client,
                     const struct enrolment *e, char *token)
{
    struct store_user u;
    struct store_session ss;
    char rehash[CRYPTO_PWHASH_STRLEN];
    uint8_t raw[32];
    const char *dev = client && client->device ? client->device : "";
    char devid[37];
    int64_t now = mamori_now();
    int rc, found, ok, first = 0;

    rehash[0] = '\0';
    memset(&u, 0, sizeof u);
    devid[0] = '\0';
    if (!e) {
        rc = device_gate(m, req, dev, now, devid, &first);
        if (rc != 0)
            return rc;
    }
    if (req->before_password && (rc = req->before_password(req->arg)) != 0)
        return rc;
    if (auth_check_name(req->user) != 0 || req->password_len > AUTH_PW_MAX) {
        found = 0;
    } else {
        pthread_mutex_lock(&m->lock);
        rc = store_user_get(m->store, req->user, &u);
        pthread_mutex_unlock(&m->lock);
        if (rc != 0 && rc != MAMORI_ENOTFOUND)
            return rc;
        found = rc == 0;
    }
    crypto_wipe(u.mfa_secret, sizeof u.mfa_secret);
    if (found) {
        ok = crypto_pw_verify(u.pwhash, req->password, req->password_len);
    } else {
        (void)crypto_pw_verify(dummy_hash(), req->password, req->password_len);
        ok = 0;
    }
    /* A locked or disabled account answers as a wrong password does, so
     * that the answer tells nothing about the account. An enrolment is
     * refused while either its own count or the login's is locked. */
    if (!ok || u.disabled || auth_locked(&u, now) ||
        (e && auth_enrol_locked(&u, now))) {
        const char *why = !found                 ? "unknown user"
                          : !ok                  ? "wrong password"
                          : u.disabled           ? "user disabled"
                          : auth_locked(&u, now) ? "account locked"
                                                 : "device enrolment locked";
        auth_user_wipe(&u);
        rc = auth_login_failed(m, found ? u.id : 0, e ? AUTH_ENROL : AUTH_LOGIN,
                               dev, why);
        return rc == 0 ? MAMORI_EAUTH : rc;
    }
    /* Parameters older than today's are upgraded now that we have the
     * password (Argon2id at the current cost). */
    if (crypto_pw_needs_rehash(u.pwhash) &&
        crypto_pw_hash(req->password, req->password_len, rehash) != 0)
        rehash[0] = '\0';

    crypto_random(raw, sizeof raw);
    memset(&ss, 0, sizeof ss);
    crypto_sha256(raw, sizeof raw, ss.token_hash);
    ss.user_id = u.id;
    ss.os_uid = client ? client->os_uid : -1;
    ss.created = ss.last_seen = now;

    pthread_mutex_lock(&m->lock);
    rc = login_commit(m, &u, req, rehash, &ss, e, dev, first ? devid : NULL);
    pthread_mutex_unlock(&m->lock);
    if (rc == 0 && !e)
        crypto_b64(raw, sizeof raw, token);
    auth_user_wipe(&u);
    crypto_wipe(rehash, sizeof rehash);
    crypto_wipe(raw, sizeof raw);
    return rc;
}

int mamori_login_ex(mamori *m, const struct mamori_login_req *req,
                    const struct mamori_client *client, char *token,
                    size_t token_size)
{
    if (!m || !req || !req->user || !req->password || !token ||
        token_size < MAMORI_TOKEN_LEN + 1)
        return MAMORI_EINVAL;
    token[0] = '\0';
    return login_run(m, req, client, NULL, token);
}

int mamori_device_request(mamori *m, const struct mamori_login_req *req,
                          const char *name,
                          const uint8_t pk[MAMORI_DEVICE_PK_LEN],
                          const struct mamori_client *client, char *id)
{
    struct enrolment e = {name, pk, id};
    char unused[MAMORI_TOKEN_LEN + 1];

    if (!m || !req || !req->user || !req->password || !pk || !id)
        return MAMORI_EINVAL;
    id[0] = '\0';
    if (!auth_device_name_ok(name))
        return MAMORI_EINVAL;
    return login_run(m, req, client, &e, unused);
}

/* The live session row of s's token, through the cache (read again from
 * st when the cached row looks idle: its last_seen may have moved). */
static int session_row(mamori *m, struct store *st, mamori_sess *s,
                       struct store_session *ss, int64_t now)
{
    int idle = authcache_idle_minutes(m->authcache, st, s->snap_gen);
    const char *why;
    int rc;

    rc = authcache_session(m->authcache, st, s->snap_gen, s->token_hash, 0, ss);
    if (rc == 0 && auth_session_check(ss, now, idle, &why) != 0) {
        rc = authcache_session(m->authcache, st, s->snap_gen, s->token_hash, 1,
                               ss);
        if (rc == 0)
            rc = auth_session_check(ss, now, idle, &why);
    }
    return rc;
}

static int session_open(mamori *m, const char *token,
                        const struct mamori_client *client, int keep,
                        mamori_sess **out)
{
    uint8_t raw[32];
    struct store_session ss;
    struct store *st = NULL;
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

    memset(&ss, 0, sizeof ss);
    /* Only reads: through a reader, outside the handle lock. A gate checks
     * the session again in its own transaction; the read gate after
     * mamori_session_open_read reads on in this snapshot (s->snap). */
    rc = handle_reader_take(m, &st);
    if (rc == 0)
        rc = store_read_begin(st);
    if (rc == 0)
        rc = store_auth_gen(st, &s->snap_gen);
    if (rc == 0)
        rc = session_row(m, st, s, &ss, mamori_now());
    if (rc == 0 && ss.os_uid >= 0 && client && client->os_uid != ss.os_uid)
        rc = MAMORI_ESESSION; /* a CLI token is bound to its OS user */
    if (rc == 0)
        rc =
            authcache_user(m->authcache, st, s->snap_gen, ss.user_id, &s->user);
    if (rc == 0) {
        s->restricted = ss.restricted;
        snprintf(s->device, sizeof s->device, "%s", ss.device);
    }
    if (rc == MAMORI_ENOTFOUND)
        rc = MAMORI_ESESSION;
    s->snap = st;
    if (rc != 0 || !keep)
        sess_snapshot_end(s);
    if (rc != 0) {
        free(s);
        return rc;
    }
    *out = s;
    return 0;
}

int mamori_session_open(mamori *m, const char *token,
                        const struct mamori_client *client, mamori_sess **out)
{
    return session_open(m, token, client, 0, out);
}

int mamori_session_open_read(mamori *m, const char *token,
                             const struct mamori_client *client,
                             mamori_sess **out)
{
    return session_open(m, token, client, 1, out);
}

void sess_snapshot_end(mamori_sess *s)
{
    if (s->snap) {
        store_rollback(s->snap);
        handle_reader_put(s->m, s->snap);
        s->snap = NULL;
    }
}

void mamori_session_close(mamori_sess *s)
{
    if (s) {
        sess_snapshot_end(s);
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

int mamori_session_limits(mamori_sess *s, int64_t *idle_seconds,
                          int64_t *expires)
{
    struct store_session ss;
    int rc;

    if (!s)
        return MAMORI_ESESSION;
    if (!idle_seconds || !expires)
        return MAMORI_EINVAL;
    memset(&ss, 0, sizeof ss);
    if (pthread_mutex_lock(&s->m->lock) != 0)
        return MAMORI_ESTATE;
    rc = store_session_get(s->m->store, s->token_hash, &ss);
    if (rc == MAMORI_ENOTFOUND)
        rc = MAMORI_ESESSION;
    if (rc == 0) {
        *idle_seconds =
            (int64_t)config_int(s->m, CFG_SESSION_IDLE_MINUTES) * 60;
        *expires = ss.expires;
    }
    pthread_mutex_unlock(&s->m->lock);
    crypto_wipe(&ss, sizeof ss);
    return rc;
}

int mamori_session_keepalive(mamori_sess *s)
{
    struct store_session ss;
    const char *why;
    int64_t now = mamori_now();
    int rc;

    if (!s)
        return MAMORI_ESESSION;
    memset(&ss, 0, sizeof ss);
    if (pthread_mutex_lock(&s->m->lock) != 0)
        return MAMORI_ESTATE;
    rc = store_session_get(s->m->store, s->token_hash, &ss);
    if (rc == 0)
        rc = auth_session_live(s->m->store, &ss, now, &why);
    if (rc == 0)
        rc = store_session_touch(s->m->store, s->token_hash, now,
                                 AUTH_TOUCH_GRAIN);
    pthread_mutex_unlock(&s->m->lock);
    crypto_wipe(&ss, sizeof ss);
    return rc == MAMORI_ENOTFOUND ? MAMORI_ESESSION : rc;
}

unsigned mamori_session_needs(const mamori_sess *s)
{
    return s ? s->restricted : 0;
}

int mamori_session_reason(mamori_sess *s, const char *reason)
{
    if (!s)
        return MAMORI_ESESSION;
    if (!reason) {
        s->reason[0] = '\0';
        return 0;
    }
    /* Refused here, where it is given, not when an operation would log
     * it; a refused reason leaves the session with none. */
    s->reason[0] = '\0';
    if (strlen(reason) >= sizeof s->reason) {
        sess_detail(s, "reason: longer than %zu bytes", sizeof s->reason - 1);
        return MAMORI_ETOOBIG;
    }
    if (guard_reason_check(s, reason) != 0) {
        /* The attempt is audited, by its rule (never the text): someone
         * tried to put personal data into the log. If that entry cannot
         * be written, the refusal stands and says so. */
        char detail[64];
        snprintf(detail, sizeof detail, "reason refused: %s",
                 guard_reason_rule(reason));
        if (guard_audit_event(s->m, s->user.name, s->device, OP_SESSION_REASON,
                              "denied", detail) != 0)
            return MAMORI_EAUDIT;
        return MAMORI_EINVAL;
    }
    snprintf(s->reason, sizeof s->reason, "%s", reason);
    return 0;
}

/* A session's public id: the first 8 bytes of its token hash, in hex. The
 * token itself cannot be derived from it. */
static void session_id(const uint8_t token_hash[32], char out[17])
{
    crypto_hex(token_hash, 8, out);
}

int mamori_session_list(mamori_sess *s, struct mamori_session_info **out,
                        size_t *n)
{
    struct guard_call c;
    struct store_session *ss = NULL;
    struct mamori_session_info *info = NULL;
    size_t k = 0, live = 0;
    int64_t now = mamori_now();
    int rc;

    if (!out || !n)
        return MAMORI_EINVAL;
    *out = NULL;
    *n = 0;
    rc = guard_begin(&c, s, OP_SESSION_LIST, NULL);
    if (rc != 0)
        return rc;
    rc = store_session_list(s->m->store, &ss, &k);
    if (rc == 0 && !(info = calloc(k ? k : 1, sizeof *info)))
        rc = MAMORI_ENOMEM;
    for (size_t i = 0; rc == 0 && i < k; i++) {
        struct store_user u;
        const char *why;
        if (auth_session_live(s->m->store, &ss[i], now, &why) != 0)
            continue; /* expired: ends at its next use */
        rc = store_user_get_id(s->m->store, ss[i].user_id, &u);
        auth_user_wipe(&u);
        if (rc != 0)
            break;
        struct mamori_session_info *e = &info[live++];
        session_id(ss[i].token_hash, e->id);
        snprintf(e->user, sizeof e->user, "%s", u.name);
        e->created = ss[i].created;
        e->last_seen = ss[i].last_seen;
        e->expires = ss[i].expires;
        e->needs = ss[i].restricted;
        e->current = memcmp(ss[i].token_hash, s->token_hash, 32) == 0;
    }
    c.count = (int64_t)live;
    free(ss);
    rc = guard_end(&c, rc);
    if (rc != 0) {
        free(info);
        return rc;
    }
    *out = info;
    *n = live;
    return 0;
}

/* The number of live sessions of user_id into *n. */
static int live_sessions(struct store *st, int64_t user_id, int64_t *n)
{
    struct store_session *ss = NULL;
    int64_t now = mamori_now();
    size_t k = 0;
    int rc = store_session_list(st, &ss, &k);

    *n = 0;
    for (size_t i = 0; rc == 0 && i < k; i++) {
        const char *why;
        if (ss[i].user_id == user_id &&
            auth_session_live(st, &ss[i], now, &why) == 0)
            (*n)++;
    }
    if (ss)
        crypto_wipe(ss, k * sizeof *ss);
    free(ss);
    return rc;
}

int mamori_session_revoke(mamori_sess *s, const char *id, const char *user)
{
    struct guard_call c;
    struct store_session *ss = NULL;
    size_t k = 0;
    int64_t ended = 0;
    int rc = guard_begin(&c, s, OP_SESSION_REVOKE, NULL);

    if (rc != 0)
        return rc;
    if (id && user) {
        sess_detail(s, "give a session id or a user, not both");
        rc = MAMORI_EINVAL;
    } else if (id && strlen(id) == 16) {
        rc = store_session_list(s->m->store, &ss, &k);
        for (size_t i = 0; rc == 0 && i < k; i++) {
            char sid[17];
            session_id(ss[i].token_hash, sid);
            if (strcmp(sid, id) == 0) {
                rc = store_session_delete(s->m->store, ss[i].token_hash);
                ended++;
            }
        }
        free(ss);
        if (rc == 0 && ended == 0) {
            sess_detail(s, "no session with that id (see mamori session list)");
            rc = MAMORI_ENOTFOUND;
        }
        snprintf(c.detail, sizeof c.detail, "session %s", id);
    } else if (user) {
        struct store_user u;
        int64_t live = 0;
        rc = auth_check_name(user) == 0 ? store_user_get(s->m->store, user, &u)
                                        : MAMORI_ENOTFOUND;
        if (rc == 0) {
            auth_user_wipe(&u);
            rc = live_sessions(s->m->store, u.id, &live);
        } else if (rc == MAMORI_ENOTFOUND) {
            sess_detail(s, "no user of that name");
        }
        if (rc == 0 && live == 0) {
            /* Nothing to end: "ended" would claim what did not happen. */
            sess_detail(s, "the user has no live session");
            rc = MAMORI_ENOTFOUND;
        }
        if (rc == 0)
            rc = store_session_delete_user(s->m->store, u.id, NULL, &ended);
        snprintf(c.detail, sizeof c.detail, "sessions of user %s", user);
    } else {
        sess_detail(s, "session id: 16 hex digits as session list shows");
        rc = MAMORI_EINVAL;
    }
    c.count = ended;
    return guard_end(&c, rc);
}
