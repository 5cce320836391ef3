/*
 * breakglass.c - the emergency path by which an admin reads personal data:
 * a request stating why, the approval of a second admin, then a window of
 * breakglass.minutes in which the requester may read (get, search) that
 * one dataset, My Numbers still masked. guard.c (record_access) opens the
 * gate for reads in an approved window and marks their audit entries.
 * Every step is audited and sent to syslog at LOG_ALERT, without personal
 * values. See mamori.h, Break-glass, and docs/access.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "auth.h"
#include "config.h"
#include "crypto.h"
#include "guard.h"
#include "store.h"
#include "banned.h"

/* A request not approved within this many seconds lapses. */
#define BREAKGLASS_PENDING_MAX (24 * 60 * 60)

static const char *state_of(const struct store_breakglass *b, int64_t now)
{
    if (b->approver == 0) {
        if (b->expires != 0)
            return "withdrawn";
        return now - b->requested < BREAKGLASS_PENDING_MAX ? "pending"
                                                           : "lapsed";
    }
    return now < b->expires ? "active" : "ended";
}

/* The dataset row with the given id into c (so the audit entry names it). */
static int call_dataset(struct guard_call *c, int64_t id)
{
    struct store_dataset *d = NULL;
    size_t n = 0;
    int rc = store_dataset_list(c->s->m->store, &d, &n);

    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (d[i].id == id) {
            c->ds = d[i];
            c->has_ds = 1;
            break;
        }
    }
    free(d);
    if (rc == 0 && !c->has_ds)
        rc = MAMORI_EIO; /* the foreign key makes this impossible */
    return rc;
}

/* The request with that id; MAMORI_ENOTFOUND with the detail. */
static int get_request(struct guard_call *c, int64_t id,
                       struct store_breakglass *b)
{
    int rc =
        id > 0 ? store_breakglass_get(c->s->m->store, id, b) : MAMORI_ENOTFOUND;
    if (rc == MAMORI_ENOTFOUND)
        sess_detail(c->s, "no break-glass request with that id");
    if (rc == 0)
        rc = call_dataset(c, b->dataset_id);
    return rc;
}

int mamori_breakglass_request(mamori_sess *s, const char *dataset,
                              const char *reason, int64_t *id)
{
    struct guard_call c;
    struct store_breakglass b;
    int rc;

    if (!id)
        return MAMORI_EINVAL;
    *id = 0;
    rc = guard_begin(&c, s, OP_BREAKGLASS_REQUEST, dataset);
    if (rc != 0)
        return rc;
    memset(&b, 0, sizeof b);
    if (!reason || strlen(reason) >= sizeof b.reason) {
        sess_detail(s, "reason: required, up to %zu bytes",
                    sizeof b.reason - 1);
        rc = reason ? MAMORI_ETOOBIG : MAMORI_EINVAL;
    } else if (guard_reason_check(s, reason) != 0) {
        rc = MAMORI_EINVAL;
    } else if (guard_clean_text(reason, b.reason, sizeof b.reason) == 0) {
        sess_detail(s, "reason: required: say why personal data must be "
                       "read (no personal data in it)");
        rc = MAMORI_EINVAL;
    } else {
        b.dataset_id = c.ds.id;
        b.requester = s->user.id;
        b.requested = mamori_now();
        char detail[sizeof b.reason + 64];
        rc = store_breakglass_add(s->m->store, &b);
        /* Cut to fit the entry at a character boundary. */
        snprintf(detail, sizeof detail, "break-glass %lld requested: %s",
                 (long long)b.id, b.reason);
        guard_clean_text(detail, c.detail, sizeof c.detail);
        c.count = 1;
    }
    rc = guard_end(&c, rc);
    if (rc == 0) {
        *id = b.id;
        syslog(LOG_ALERT,
               "mamori: break-glass %lld requested by %s for dataset %s",
               (long long)b.id, s->user.name, dataset);
    }
    return rc;
}

int mamori_breakglass_approve(mamori_sess *s, int64_t id)
{
    struct guard_call c;
    struct store_breakglass b;
    struct store_user req;
    int64_t now = mamori_now();
    int minutes = 0, rc;

    rc = guard_begin(&c, s, OP_BREAKGLASS_APPROVE, NULL);
    if (rc != 0)
        return rc;
    memset(&req, 0, sizeof req);
    rc = get_request(&c, id, &b);
    if (rc == 0 && b.requester == s->user.id) {
        sess_detail(s, "a different admin must approve a break-glass "
                       "request");
        snprintf(c.detail, sizeof c.detail, "break-glass %lld: own request",
                 (long long)id);
        rc = MAMORI_EDENIED;
    } else if (rc == 0 && strcmp(state_of(&b, now), "pending") != 0) {
        sess_detail(s, "break-glass %lld is %s, not pending", (long long)id,
                    state_of(&b, now));
        rc = MAMORI_ESTATE;
    } else if (rc == 0) {
        minutes = config_int(s->m, CFG_BREAKGLASS_MINUTES);
        rc = store_user_get_id(s->m->store, b.requester, &req);
        auth_user_wipe(&req);
        if (rc == 0)
            rc = store_breakglass_approve(s->m->store, id, s->user.id, now,
                                          now + (int64_t)minutes * 60);
        snprintf(c.detail, sizeof c.detail,
                 "break-glass %lld approved for %s, %d minutes", (long long)id,
                 req.name, minutes);
        c.count = 1;
    }
    rc = guard_end(&c, rc);
    if (rc == 0)
        syslog(LOG_ALERT,
               "mamori: break-glass %lld approved by %s: %s may read "
               "dataset %s for %d minutes",
               (long long)id, s->user.name, req.name, c.ds.name, minutes);
    return rc;
}

int mamori_breakglass_close(mamori_sess *s, int64_t id)
{
    struct guard_call c;
    struct store_breakglass b;
    int64_t now = mamori_now();
    int rc;

    rc = guard_begin(&c, s, OP_BREAKGLASS_CLOSE, NULL);
    if (rc != 0)
        return rc;
    rc = get_request(&c, id, &b);
    if (rc == 0) {
        const char *st = state_of(&b, now);
        if (strcmp(st, "pending") != 0 && strcmp(st, "active") != 0) {
            sess_detail(s, "break-glass %lld is %s already", (long long)id, st);
            rc = MAMORI_ESTATE;
        } else {
            rc = store_breakglass_end(s->m->store, id, now);
            snprintf(c.detail, sizeof c.detail, "break-glass %lld %s",
                     (long long)id,
                     strcmp(st, "pending") == 0 ? "withdrawn" : "closed");
            c.count = 1;
        }
    }
    rc = guard_end(&c, rc);
    if (rc == 0)
        syslog(LOG_ALERT, "mamori: break-glass %lld closed by %s",
               (long long)id, s->user.name);
    return rc;
}

int mamori_breakglass_list(mamori_sess *s, struct mamori_breakglass_info **out,
                           size_t *n)
{
    struct guard_call c;
    struct store_breakglass *b = NULL;
    struct store_user *u = NULL;
    struct store_dataset *d = NULL;
    struct mamori_breakglass_info *info = NULL;
    size_t nb = 0, nu = 0, nd = 0;
    int64_t now = mamori_now();
    int rc;

    if (!out || !n)
        return MAMORI_EINVAL;
    *out = NULL;
    *n = 0;
    rc = guard_begin(&c, s, OP_BREAKGLASS_LIST, NULL);
    if (rc != 0)
        return rc;
    rc = store_breakglass_list(s->m->store, &b, &nb);
    if (rc == 0)
        rc = auth_user_list_names(s->m, &u, &nu);
    if (rc == 0)
        rc = store_dataset_list(s->m->store, &d, &nd);
    if (rc == 0 && !(info = calloc(nb ? nb : 1, sizeof *info)))
        rc = MAMORI_ENOMEM;
    for (size_t i = 0; rc == 0 && i < nb; i++) {
        struct mamori_breakglass_info *bi = &info[i];
        const char *ds = "?";
        for (size_t k = 0; k < nd; k++)
            if (d[k].id == b[i].dataset_id)
                ds = d[k].name;
        bi->id = b[i].id;
        snprintf(bi->dataset, sizeof bi->dataset, "%s", ds);
        snprintf(bi->requester, sizeof bi->requester, "%s",
                 auth_user_name(u, nu, b[i].requester));
        snprintf(bi->approver, sizeof bi->approver, "%s",
                 auth_user_name(u, nu, b[i].approver));
        snprintf(bi->state, sizeof bi->state, "%s", state_of(&b[i], now));
        bi->requested = b[i].requested;
        bi->approved = b[i].approved;
        bi->expires = b[i].expires;
        snprintf(bi->reason, sizeof bi->reason, "%s", b[i].reason);
    }
    c.count = (int64_t)nb;
    free(b);
    free(u);
    free(d);
    rc = guard_end(&c, rc);
    if (rc != 0) {
        free(info);
        return rc;
    }
    *out = info;
    *n = nb;
    return 0;
}
