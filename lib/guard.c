/*
 * guard.c - the gate every operation passes: session, role, grant, audit
 * entry in the same transaction as the work. See guard.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "audit.h"
#include "auth.h"
#include "guard.h"
#include "store.h"
#include "banned.h"

enum role_bit { R_ADMIN = 1, R_OPERATOR = 2, R_AUDITOR = 4, R_ANY = 7 };

static const struct {
    const char *action;
    unsigned roles;
} ops[OP_COUNT] = {
    [OP_INIT] = {"init", 0},
    [OP_LOGIN] = {"login", R_ANY},
    [OP_LOGOUT] = {"logout", R_ANY},
    [OP_USER_ADD] = {"user.add", R_ADMIN},
    [OP_USER_LIST] = {"user.list", R_ADMIN | R_AUDITOR},
    [OP_DATASET_CREATE] = {"dataset.create", R_ADMIN},
    [OP_DATASET_LIST] = {"dataset.list", R_ANY},
    [OP_DATASET_GRANT] = {"dataset.grant", R_ADMIN},
    [OP_RECORD_ADD] = {"record.add", R_OPERATOR},
    [OP_RECORD_GET] = {"record.get", R_OPERATOR},
    [OP_RECORD_UPDATE] = {"record.update", R_OPERATOR},
    [OP_RECORD_DELETE] = {"record.delete", R_OPERATOR},
    [OP_RECORD_SEARCH] = {"record.search", R_OPERATOR},
    [OP_AUDIT_SHOW] = {"audit.show", R_ADMIN | R_AUDITOR},
    [OP_AUDIT_CHECKPOINT] = {"audit.checkpoint", R_ADMIN | R_AUDITOR},
    [OP_AUDIT_VERIFY] = {"audit.verify", R_ADMIN | R_AUDITOR},
    [OP_PASSWD] = {"passwd", R_ANY},
    [OP_USER_UNLOCK] = {"user.unlock", R_ADMIN},
    [OP_USER_LOCK] = {"user.lock", 0}, /* the lockout, not a request */
    [OP_USER_RESET] = {"user.reset", R_ADMIN},
    [OP_SESSION_LIST] = {"session.list", R_ADMIN},
    [OP_SESSION_REVOKE] = {"session.revoke", R_ADMIN},
    [OP_CONFIG_LIST] = {"config.list", R_ADMIN | R_AUDITOR},
    [OP_CONFIG_SET] = {"config.set", R_ADMIN},
};

const char *guard_action(enum guard_op op)
{
    return op < OP_COUNT ? ops[op].action : "unknown";
}

static unsigned role_bit(const char *role)
{
    if (strcmp(role, "admin") == 0)
        return R_ADMIN;
    if (strcmp(role, "operator") == 0)
        return R_OPERATOR;
    if (strcmp(role, "auditor") == 0)
        return R_AUDITOR;
    return 0;
}

int guard_role_allows(const char *role, enum guard_op op)
{
    return op < OP_COUNT && (ops[op].roles & role_bit(role)) != 0;
}

static void set_str(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "");
}

/* Appends the entry for c in the open transaction. */
static int append_entry(struct guard_call *c, const char *outcome,
                        const char *detail)
{
    struct store_audit_row row;
    mamori_sess *s = c->s;

    memset(&row, 0, sizeof row);
    row.time = mamori_now();
    set_str(row.user, sizeof row.user, s->user.name);
    set_str(row.device, sizeof row.device, s->device);
    set_str(row.action, sizeof row.action, guard_action(c->op));
    set_str(row.dataset, sizeof row.dataset, c->has_ds ? c->ds.name : "");
    row.record_ids = c->ids;
    row.count = c->count;
    set_str(row.outcome, sizeof row.outcome, outcome);
    if (s->reason[0] && strcmp(outcome, "ok") == 0)
        snprintf(row.detail, sizeof row.detail, "reason given");
    else
        set_str(row.detail, sizeof row.detail, detail);
    return audit_append(s->m, &row);
}

static void alert_audit_failure(const char *action)
{
    /* The fail-closed alert: no personal values, just what was refused. */
    syslog(LOG_ALERT, "mamori: audit log write failed; %s refused", action);
}

/* Records a refusal or failure in a transaction of its own. */
static void record_outcome(struct guard_call *c, const char *outcome,
                           const char *detail)
{
    struct store *st = c->s->m->store;
    if (store_begin(st) != 0) {
        alert_audit_failure(guard_action(c->op));
        return;
    }
    if (append_entry(c, outcome, detail) != 0 || store_commit(st) != 0) {
        store_rollback(st);
        alert_audit_failure(guard_action(c->op));
    }
}

static const char *err_code(int rc)
{
    switch (rc) {
    case MAMORI_EINVAL:
        return "invalid";
    case MAMORI_ENOTFOUND:
        return "not-found";
    case MAMORI_EEXIST:
        return "exists";
    case MAMORI_EDENIED:
        return "denied";
    case MAMORI_ESESSION:
        return "session";
    case MAMORI_ECRYPTO:
        return "integrity";
    case MAMORI_ETAMPER:
        return "tamper";
    case MAMORI_ETOOBIG:
        return "too-big";
    case MAMORI_ESTATE:
        return "state";
    default:
        return "error";
    }
}

/* Checks the session row; 0 if live. */
static int session_live(struct guard_call *c)
{
    struct mamori_sess *s = c->s;
    struct store_session ss;
    int64_t now = mamori_now();
    const char *why;
    int rc = store_session_get(s->m->store, s->token_hash, &ss);

    if (rc == MAMORI_ENOTFOUND) {
        set_str(c->detail, sizeof c->detail, "session ended");
        return MAMORI_ESESSION;
    }
    if (rc != 0)
        return rc;
    if (auth_session_live(s->m, &ss, now, &why) != 0) {
        set_str(c->detail, sizeof c->detail, why);
        (void)store_session_delete(s->m->store, s->token_hash);
        return MAMORI_ESESSION;
    }
    rc = store_user_get_id(s->m->store, ss.user_id, &s->user);
    crypto_wipe(s->user.pwhash, sizeof s->user.pwhash);
    if (rc != 0)
        return rc == MAMORI_ENOTFOUND ? MAMORI_ESESSION : rc;
    if (s->user.disabled) {
        set_str(c->detail, sizeof c->detail, "user disabled");
        return MAMORI_ESESSION;
    }
    s->restricted = ss.restricted;
    return store_session_touch(s->m->store, s->token_hash, now);
}

/* What a restricted session may still do. */
static int restricted_allows(enum guard_op op)
{
    return op == OP_LOGOUT || op == OP_PASSWD;
}

int guard_begin(struct guard_call *c, mamori_sess *s, enum guard_op op,
                const char *dataset)
{
    int rc;

    memset(c, 0, sizeof *c);
    c->s = s;
    c->op = op;
    if (!s)
        return MAMORI_ESESSION;
    s->errdetail[0] = '\0';
    if (pthread_mutex_lock(&s->m->lock) != 0) {
        /* EDEADLK: this thread has the gate open already (a bulk add). */
        sess_detail(s, "finish the open bulk add first");
        c->s = NULL;
        return MAMORI_ESTATE;
    }
    rc = store_begin(s->m->store);
    if (rc != 0)
        goto fail;
    c->in_tx = 1;

    rc = session_live(c);
    if (rc == MAMORI_ESESSION) {
        /* The expired session's deletion commits with its audit entry. */
        if (append_entry(c, "denied", c->detail) == 0)
            (void)store_commit(s->m->store);
        else
            store_rollback(s->m->store);
        c->in_tx = 0;
        goto fail;
    }
    if (rc != 0)
        goto fail;

    if (dataset) {
        rc = store_dataset_get(s->m->store, dataset, &c->ds);
        if (rc == MAMORI_ENOTFOUND) {
            sess_detail(s, "no dataset of that name");
            goto refuse;
        }
        if (rc != 0)
            goto fail;
        c->has_ds = 1;
    }
    if (s->restricted && !restricted_allows(op)) {
        rc = MAMORI_EDENIED;
        sess_detail(s, "change the initial password first (mamori passwd)");
        goto refuse;
    }
    if (!guard_role_allows(s->user.role, op)) {
        rc = MAMORI_EDENIED;
        sess_detail(s, "role %s may not do %s", s->user.role, guard_action(op));
        goto refuse;
    }
    if (c->has_ds && strcmp(s->user.role, "operator") == 0) {
        rc = store_grant_check(s->m->store, c->ds.id, s->user.id);
        if (rc < 0)
            goto fail;
        if (rc == 0) {
            rc = MAMORI_EDENIED;
            sess_detail(s, "dataset not granted to this user");
            goto refuse;
        }
    }
    return 0;

refuse:
    store_rollback(s->m->store);
    c->in_tx = 0;
    record_outcome(c, rc == MAMORI_EDENIED ? "denied" : "error",
                   rc == MAMORI_EDENIED ? "role or grant" : err_code(rc));
fail:
    if (c->in_tx)
        store_rollback(s->m->store);
    c->in_tx = 0;
    pthread_mutex_unlock(&s->m->lock);
    c->s = NULL; /* a stray guard_end after a failed begin does nothing */
    return rc;
}

/* Writes the ids gathered so far as an entry of their own (same transaction)
 * so that a long operation's log stays in bounded pieces. */
static int flush_ids(struct guard_call *c)
{
    char detail[sizeof c->detail];
    int64_t count = c->count;
    int rc;

    c->parts++;
    snprintf(detail, sizeof detail, "part %d, continued", c->parts);
    c->count = c->ids_count;
    rc = append_entry(c, "ok", detail);
    c->count = count;
    c->ids_len = 0;
    c->ids_count = 0;
    if (c->ids)
        c->ids[0] = '\0';
    return rc == 0 ? 0 : MAMORI_EAUDIT;
}

int guard_add_id(struct guard_call *c, const char *id)
{
    size_t n = strlen(id), need = c->ids_len + n + 2;
    if (c->ids_len >= GUARD_IDS_PER_ENTRY) {
        int rc = flush_ids(c);
        if (rc != 0)
            return rc;
        need = n + 2;
    }
    if (need > c->ids_cap) {
        size_t cap = c->ids_cap ? c->ids_cap * 2 : 256;
        while (cap < need)
            cap *= 2;
        char *p = realloc(c->ids, cap);
        if (!p)
            return MAMORI_ENOMEM;
        c->ids = p;
        c->ids_cap = cap;
    }
    if (c->ids_len)
        c->ids[c->ids_len++] = ',';
    memcpy(c->ids + c->ids_len, id, n);
    c->ids_len += n;
    c->ids[c->ids_len] = '\0';
    c->ids_count++;
    return 0;
}

int guard_end(struct guard_call *c, int rc)
{
    mamori_sess *s = c->s;
    struct store *st;

    if (!s)
        return rc;
    st = s->m->store;
    if (rc == 0) {
        if (c->parts) {
            /* The last piece: its own ids, and the total in the detail. */
            char detail[sizeof c->detail];
            snprintf(detail, sizeof detail, "part %d, %lld in all",
                     c->parts + 1, (long long)c->count);
            c->count = c->ids_count;
            snprintf(c->detail, sizeof c->detail, "%s", detail);
        }
        rc = append_entry(c, "ok", c->detail);
        if (rc == 0)
            rc = store_commit(st);
        if (rc != 0) {
            store_rollback(st);
            alert_audit_failure(guard_action(c->op));
            sess_detail(s, "the audit entry could not be written");
            rc = MAMORI_EAUDIT;
        }
    } else {
        store_rollback(st);
        /* A failed operation leaves an entry of its own; its ids and count
         * describe what was attempted. */
        char detail[sizeof c->detail + 32];
        snprintf(detail, sizeof detail, "%s%s%s", err_code(rc),
                 c->detail[0] ? ": " : "", c->detail);
        record_outcome(c, "error", detail);
    }
    free(c->ids);
    c->ids = NULL;
    pthread_mutex_unlock(&s->m->lock);
    return rc;
}

void guard_event_row(struct store_audit_row *row, const char *user,
                     const char *device, enum guard_op op, const char *outcome,
                     const char *detail)
{
    memset(row, 0, sizeof *row);
    row->time = mamori_now();
    set_str(row->user, sizeof row->user, user);
    set_str(row->device, sizeof row->device, device);
    set_str(row->action, sizeof row->action, guard_action(op));
    set_str(row->outcome, sizeof row->outcome, outcome);
    set_str(row->detail, sizeof row->detail, detail);
}

int guard_audit_event(struct mamori *m, const char *user, const char *device,
                      enum guard_op op, const char *outcome, const char *detail)
{
    struct store_audit_row row;
    int rc;

    guard_event_row(&row, user, device, op, outcome, detail);
    pthread_mutex_lock(&m->lock);
    rc = store_begin(m->store);
    if (rc == 0)
        rc = audit_append(m, &row);
    if (rc == 0)
        rc = store_commit(m->store);
    if (rc != 0)
        store_rollback(m->store);
    pthread_mutex_unlock(&m->lock);
    if (rc != 0) {
        alert_audit_failure(guard_action(op));
        return MAMORI_EAUDIT;
    }
    return 0;
}
