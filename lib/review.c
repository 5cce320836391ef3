/*
 * review.c - the access review: every user with their role, datasets, MFA,
 * devices and last login, and what needs a look (dormant accounts, more
 * admins than allowed, MFA missing, lockouts, initial passwords). The PPC
 * guidelines ask for rights to be reviewed periodically; this is the list
 * the reviewer works from.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "config.h"
#include "crypto.h"
#include "guard.h"
#include "store.h"
#include "banned.h"

/* Appends "name(handler)" to the user's dataset list, "..." when full. */
static void add_dataset(struct mamori_review_user *r, const char *name,
                        unsigned flags)
{
    size_t k = strlen(r->datasets), room = sizeof r->datasets - k;
    char item[96];
    int n = snprintf(item, sizeof item, "%s%s%s", k ? ", " : "", name,
                     flags & STORE_GRANT_HANDLER ? "(handler)" : "");
    if (n < 0)
        return;
    if ((size_t)n < room - 4)
        memcpy(r->datasets + k, item, (size_t)n + 1);
    else if (k < 4 || strcmp(r->datasets + k - 3, "...") != 0)
        snprintf(r->datasets + k, room, "...");
}

/* Fills the per-user facts of u into r. */
static void user_facts(struct mamori *m, const struct store_user *u,
                       struct mamori_review_user *r, int64_t now)
{
    int64_t dormant = (int64_t)config_int(m, CFG_REVIEW_DORMANT_DAYS) * 86400;
    int64_t since = u->last_login ? u->last_login : u->created;

    snprintf(r->name, sizeof r->name, "%s", u->name);
    snprintf(r->role, sizeof r->role, "%s", u->role);
    r->created = u->created;
    r->last_login = u->last_login;
    r->pw_changed = u->pw_changed;
    r->mfa = u->mfa_state;
    if (now - since > dormant)
        r->flags |= MAMORI_REVIEW_DORMANT;
    if (u->mfa_state != STORE_MFA_ACTIVE && auth_mfa_required(m, u->role))
        r->flags |= MAMORI_REVIEW_NO_MFA;
    if (auth_locked(u, now))
        r->flags |= MAMORI_REVIEW_LOCKED;
    if (u->must_change)
        r->flags |= MAMORI_REVIEW_INITIAL_PW;
    if (u->disabled)
        r->flags |= MAMORI_REVIEW_DISABLED;
}

int mamori_access_review(mamori_sess *s, struct mamori_review_user **out,
                         size_t *n)
{
    struct guard_call c;
    struct store_user *u = NULL;
    struct store_grant *g = NULL;
    struct store_dataset *d = NULL;
    struct store_device *dev = NULL;
    struct mamori_review_user *r = NULL;
    size_t nu = 0, ng = 0, nd = 0, ndev = 0;
    int64_t now = mamori_now();
    int admins = 0, flagged = 0, rc;

    if (!out || !n)
        return MAMORI_EINVAL;
    *out = NULL;
    *n = 0;
    rc = guard_begin(&c, s, OP_ACCESS_REVIEW, NULL);
    if (rc != 0)
        return rc;
    if ((rc = auth_user_list_names(s->m, &u, &nu)) == 0 &&
        (rc = store_grant_list(s->m->store, &g, &ng)) == 0 &&
        (rc = store_dataset_list(s->m->store, &d, &nd)) == 0 &&
        (rc = store_device_list(s->m->store, &dev, &ndev)) == 0 &&
        !(r = calloc(nu ? nu : 1, sizeof *r)))
        rc = MAMORI_ENOMEM;
    for (size_t i = 0; rc == 0 && i < nu; i++) {
        user_facts(s->m, &u[i], &r[i], now);
        if (strcmp(u[i].role, "admin") == 0 && !u[i].disabled)
            admins++;
        for (size_t k = 0; k < ng; k++) {
            if (g[k].user_id != u[i].id)
                continue;
            for (size_t j = 0; j < nd; j++)
                if (d[j].id == g[k].dataset_id)
                    add_dataset(&r[i], d[j].name, g[k].flags);
        }
        for (size_t k = 0; k < ndev; k++)
            if (dev[k].requested_by == u[i].id &&
                strcmp(dev[k].state, "approved") == 0)
                r[i].devices++;
    }
    for (size_t i = 0; rc == 0 && i < nu; i++) {
        if (admins > config_int(s->m, CFG_ADMIN_MAX) &&
            strcmp(r[i].role, "admin") == 0 &&
            !(r[i].flags & MAMORI_REVIEW_DISABLED))
            r[i].flags |= MAMORI_REVIEW_ADMIN_EXCESS;
        flagged += r[i].flags != 0;
    }
    if (u)
        crypto_wipe(u, nu * sizeof *u);
    free(u);
    free(g);
    free(d);
    free(dev);
    c.count = (int64_t)nu;
    snprintf(c.detail, sizeof c.detail, "%zu users, %d flagged", nu, flagged);
    rc = guard_end(&c, rc);
    if (rc != 0) {
        free(r);
        return rc;
    }
    *out = r;
    *n = nu;
    return 0;
}
