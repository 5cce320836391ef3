/*
 * routes_manage.c - the management routes of the CLI that the first two
 * slices left out: dataset creation and grants, live sessions and their
 * revocation, an admin's MFA reset, break-glass requests, and checking a
 * backup. The library decides who may (admin, or admin and auditor); the
 * answers have the shapes of the CLI's --json output.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mamorid.h"
#include "routes.h"
#include "banned.h"

#define FIELDS_MAX 256

static void ok_json(struct ctx *c, int status)
{
    srv_json(c, status, json_pack("{s:b}", "ok", 1));
}

/* Path parameter i as a user name; else a 400 sent and -1. */
static int user_at(struct ctx *c, size_t i, const char **name)
{
    if (c->nparams <= i || !rt_user_name_ok(c->params[i])) {
        srv_fail_code(c, 400, "invalid", MAMORI_EINVAL,
                      "path: not a user name");
        return -1;
    }
    *name = c->params[i];
    return 0;
}

/* An optional boolean member; *bad = 1 if it is another type. */
static int opt_bool(json_t *o, const char *k, int *bad)
{
    json_t *v = json_object_get(o, k);

    if (!v || json_is_null(v))
        return 0;
    if (!json_is_boolean(v)) {
        *bad = 1;
        return 0;
    }
    return json_is_true(v);
}

/* ---- datasets ------------------------------------------------------------ */

void h_dataset_create(struct ctx *c)
{
    struct mamori_dataset_def d;
    struct mamori_field_def *f = NULL;
    json_t *fa, *v;
    size_t n, i;
    int bad = 0, rc;

    memset(&d, 0, sizeof d);
    d.name = rt_opt_str(c->json, "name", &bad);
    d.client = rt_opt_str(c->json, "client", &bad);
    d.purpose = rt_opt_str(c->json, "purpose", &bad);
    d.ends = rt_opt_str(c->json, "ends", &bad);
    d.require_reason = opt_bool(c->json, "require_reason", &bad);
    fa = json_object_get(c->json, "fields");
    if (bad || !d.name || !d.client || !d.purpose || !json_is_array(fa) ||
        json_array_size(fa) == 0) {
        srv_fail_code(c, 400, "invalid", MAMORI_EINVAL,
                      "\"name\", \"client\", \"purpose\" (strings) and "
                      "\"fields\" (a non-empty array) are required");
        return;
    }
    if (!srv_dataset_name_ok(d.name)) {
        srv_fail_code(c, 400, "invalid", MAMORI_EINVAL,
                      "name: not a dataset name");
        return;
    }
    n = json_array_size(fa);
    if (n > FIELDS_MAX) {
        srv_fail_code(c, 413, "too_big", MAMORI_ETOOBIG,
                      "fields: too many fields");
        return;
    }
    f = calloc(n, sizeof *f);
    if (!f) {
        srv_fail(c, MAMORI_ENOMEM, NULL);
        return;
    }
    json_array_foreach(fa, i, v)
    {
        if (!json_is_object(v)) {
            bad = 1;
            break;
        }
        f[i].name = rt_opt_str(v, "name", &bad);
        f[i].type = rt_opt_str(v, "type", &bad);
        f[i].searchable = opt_bool(v, "searchable", &bad);
        f[i].key = opt_bool(v, "key", &bad);
        if (!f[i].name || !f[i].type)
            bad = 1;
        if (bad)
            break;
    }
    if (bad) {
        srv_fail_code(c, 400, "invalid", MAMORI_EINVAL,
                      "fields: each is {\"name\", \"type\"} (strings) with "
                      "optional \"searchable\" and \"key\" (booleans)");
        goto out;
    }
    d.fields = f;
    d.nfields = n;
    rc = mamori_dataset_create(c->s, &d);
    if (rc) {
        srv_fail(c, rc, NULL);
        goto out;
    }
    srv_json(c, 201, json_pack("{s:o}", "dataset", srv_json_str(d.name)));
out:
    free(f);
}

/* ---- grants -------------------------------------------------------------- */

static void grants_list(struct ctx *c, const char *ds)
{
    struct mamori_grant_info *g = NULL;
    size_t n = 0, i;
    json_t *arr;
    int rc = mamori_dataset_grants(c->s, ds, &g, &n);

    if (rc) {
        srv_fail(c, rc, NULL);
        return;
    }
    arr = json_array();
    for (i = 0; arr && i < n; i++) {
        json_t *o;

        g[i].dataset[sizeof g[i].dataset - 1] = '\0';
        g[i].user[sizeof g[i].user - 1] = '\0';
        g[i].role[sizeof g[i].role - 1] = '\0';
        o = json_pack("{s:o, s:o, s:o, s:b}", "dataset",
                      srv_json_str(g[i].dataset), "user",
                      srv_json_str(g[i].user), "role", srv_json_str(g[i].role),
                      "handler", (g[i].flags & MAMORI_GRANT_HANDLER) != 0);
        if (!o || json_array_append_new(arr, o)) {
            json_decref(arr);
            arr = NULL;
        }
    }
    free(g);
    srv_json(c, 200, arr);
}

void h_grants_all(struct ctx *c)
{
    grants_list(c, NULL);
}

void h_grants(struct ctx *c)
{
    const char *ds;

    if (rt_ds_param(c, &ds) == 0)
        grants_list(c, ds);
}

void h_grant(struct ctx *c)
{
    const char *ds, *user;
    int bad = 0, handler, rc;

    if (rt_ds_param(c, &ds) || user_at(c, 1, &user))
        return;
    handler = opt_bool(c->json, "handler", &bad);
    if (bad) {
        srv_fail_code(c, 400, "invalid", MAMORI_EINVAL,
                      "\"handler\" must be a boolean");
        return;
    }
    rc = mamori_dataset_grant_flags(c->s, ds, user,
                                    handler ? MAMORI_GRANT_HANDLER : 0);
    if (rc) {
        srv_fail(c, rc, NULL);
        return;
    }
    srv_json(c, 200,
             json_pack("{s:o, s:o, s:b}", "dataset", srv_json_str(ds), "user",
                       srv_json_str(user), "handler", handler));
}

void h_grant_revoke(struct ctx *c)
{
    const char *ds, *user;
    int rc;

    if (rt_ds_param(c, &ds) || user_at(c, 1, &user))
        return;
    rc = mamori_dataset_revoke(c->s, ds, user);
    if (rc) {
        srv_fail(c, rc, NULL);
        return;
    }
    srv_json(c, 200,
             json_pack("{s:o, s:o, s:b}", "dataset", srv_json_str(ds), "user",
                       srv_json_str(user), "revoked", 1));
}

/* ---- sessions and MFA ---------------------------------------------------- */

void h_sessions(struct ctx *c)
{
    struct mamori_session_info *l = NULL;
    size_t n = 0, i;
    json_t *arr;
    int rc = mamori_session_list(c->s, &l, &n);

    if (rc) {
        srv_fail(c, rc, NULL);
        return;
    }
    arr = json_array();
    for (i = 0; arr && i < n; i++) {
        json_t *o;

        l[i].id[sizeof l[i].id - 1] = '\0';
        l[i].user[sizeof l[i].user - 1] = '\0';
        o = json_pack("{s:o, s:o, s:o, s:o, s:o, s:b, s:b}", "id",
                      srv_json_str(l[i].id), "user", srv_json_str(l[i].user),
                      "created", srv_json_time(l[i].created), "last_seen",
                      srv_json_time(l[i].last_seen), "expires",
                      srv_json_time(l[i].expires), "must_change_password",
                      (l[i].needs & MAMORI_NEED_PASSWD) != 0, "current",
                      l[i].current);
        if (!o || json_array_append_new(arr, o)) {
            json_decref(arr);
            arr = NULL;
        }
    }
    free(l);
    srv_json(c, 200, arr);
}

static int hex16(const char *s)
{
    size_t i;

    if (!s || strlen(s) != 16)
        return 0;
    for (i = 0; i < 16; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

void h_session_revoke(struct ctx *c)
{
    int rc;

    if (c->nparams < 1 || !hex16(c->params[0])) {
        srv_fail_code(c, 400, "invalid", MAMORI_EINVAL,
                      "path: a session id is 16 hex digits");
        return;
    }
    rc = mamori_session_revoke(c->s, c->params[0], NULL);
    if (rc) {
        srv_fail(c, rc, NULL);
        return;
    }
    ok_json(c, 200);
}

void h_user_sessions_revoke(struct ctx *c)
{
    const char *user;
    int rc;

    if (user_at(c, 0, &user))
        return;
    rc = mamori_session_revoke(c->s, NULL, user);
    if (rc) {
        srv_fail(c, rc, NULL);
        return;
    }
    ok_json(c, 200);
}

void h_mfa_reset(struct ctx *c)
{
    const char *user;
    int rc;

    if (user_at(c, 0, &user))
        return;
    rc = mamori_mfa_reset(c->s, user);
    if (rc) {
        srv_fail(c, rc, NULL);
        return;
    }
    ok_json(c, 200);
}

/* ---- break-glass --------------------------------------------------------- */

static int bg_param(struct ctx *c, int64_t *id)
{
    const char *s = c->nparams ? c->params[0] : "";
    char *end;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (s[0] < '0' || s[0] > '9' || errno || *end || v <= 0) {
        srv_fail_code(c, 400, "invalid", MAMORI_EINVAL,
                      "path: a break-glass id is a positive number");
        return -1;
    }
    *id = (int64_t)v;
    return 0;
}

void h_breakglass(struct ctx *c)
{
    struct mamori_breakglass_info *b = NULL;
    size_t n = 0, i;
    json_t *arr;
    int rc = mamori_breakglass_list(c->s, &b, &n);

    if (rc) {
        srv_fail(c, rc, NULL);
        return;
    }
    arr = json_array();
    for (i = 0; arr && i < n; i++) {
        json_t *o;

        b[i].dataset[sizeof b[i].dataset - 1] = '\0';
        b[i].requester[sizeof b[i].requester - 1] = '\0';
        b[i].approver[sizeof b[i].approver - 1] = '\0';
        b[i].state[sizeof b[i].state - 1] = '\0';
        b[i].reason[sizeof b[i].reason - 1] = '\0';
        o = json_pack(
            "{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "id",
            (json_int_t)b[i].id, "dataset", srv_json_str(b[i].dataset),
            "requester", srv_json_str(b[i].requester), "approver",
            b[i].approver[0] ? srv_json_str(b[i].approver) : json_null(),
            "state", srv_json_str(b[i].state), "requested",
            srv_json_time(b[i].requested), "approved",
            srv_json_time(b[i].approved), "expires",
            srv_json_time(b[i].expires), "reason", srv_json_str(b[i].reason));
        if (!o || json_array_append_new(arr, o)) {
            json_decref(arr);
            arr = NULL;
        }
    }
    free(b);
    srv_json(c, 200, arr);
}

void h_breakglass_request(struct ctx *c)
{
    const char *ds, *reason;
    int64_t id = 0;
    int bad = 0, rc;

    ds = rt_opt_str(c->json, "dataset", &bad);
    reason = rt_opt_str(c->json, "reason", &bad);
    if (bad || !ds || !reason || !srv_dataset_name_ok(ds)) {
        srv_fail_code(c, 400, "invalid", MAMORI_EINVAL,
                      "\"dataset\" (a dataset name) and \"reason\" are "
                      "required strings");
        return;
    }
    rc = mamori_breakglass_request(c->s, ds, reason, &id);
    if (rc) {
        srv_fail(c, rc, NULL);
        return;
    }
    srv_json(c, 201,
             json_pack("{s:I, s:o, s:s}", "id", (json_int_t)id, "dataset",
                       srv_json_str(ds), "state", "pending"));
}

void h_breakglass_approve(struct ctx *c)
{
    int64_t id;
    int rc;

    if (bg_param(c, &id))
        return;
    rc = mamori_breakglass_approve(c->s, id);
    if (rc) {
        srv_fail(c, rc, NULL);
        return;
    }
    srv_json(c, 200,
             json_pack("{s:I, s:s}", "id", (json_int_t)id, "state", "active"));
}

void h_breakglass_close(struct ctx *c)
{
    int64_t id;
    int rc;

    if (bg_param(c, &id))
        return;
    rc = mamori_breakglass_close(c->s, id);
    if (rc) {
        srv_fail(c, rc, NULL);
        return;
    }
    srv_json(c, 200,
             json_pack("{s:I, s:b}", "id", (json_int_t)id, "closed", 1));
}

/* ---- backups ------------------------------------------------------------- */

/* A backup's file name as mamori_backup_list gives it: no directory. */
static int backup_name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0, i;

    if (n == 0 || n > 255 || s[0] == '.')
        return 0;
    for (i = 0; i < n; i++) {
        char ch = s[i];

        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-'))
            return 0;
    }
    return 1;
}

/* Checks a backup of HOME/backups by its file name, as the list names it.
 * The name holds no '/' and does not start with '.', so it names a file
 * of that directory and nothing else; the check and its audit entry are
 * backup.verify's alone (a refusal names that action, not a listing). */
void h_backup_verify(struct ctx *c)
{
    struct mamori_backup_info *b = NULL;
    const char *name = c->nparams ? c->params[0] : NULL;
    char path[PATH_MAX];
    int rc, len;

    if (!backup_name_ok(name)) {
        srv_fail_code(c, 400, "invalid", MAMORI_EINVAL,
                      "path: not a backup file name");
        return;
    }
    len = snprintf(path, sizeof path, "%s/backups/%s", c->S->home, name);
    if (len < 0 || (size_t)len >= sizeof path) {
        srv_fail_code(c, 400, "invalid", MAMORI_ETOOBIG,
                      "path: not a backup file name");
        return;
    }
    b = calloc(1, sizeof *b);
    if (!b) {
        srv_fail(c, MAMORI_ENOMEM, NULL);
        goto out;
    }
    rc = mamori_backup_verify(c->s, path, b);
    b->problem[sizeof b->problem - 1] = '\0';
    if (rc == MAMORI_ENOTFOUND) {
        srv_fail_code(c, 404, "not_found", MAMORI_ENOTFOUND,
                      "no backup of this vault by that name");
        goto out;
    }
    if (rc == MAMORI_ECRYPTO || rc == MAMORI_ETAMPER) {
        srv_fail_code(c, 422, mamori_errname(rc), rc,
                      b->problem[0] ? b->problem
                                    : "the backup does not verify");
        goto out;
    }
    if (rc) {
        srv_fail(c, rc, b->problem[0] ? b->problem : NULL);
        goto out;
    }
    b->sha256[sizeof b->sha256 - 1] = '\0';
    b->audit_head[sizeof b->audit_head - 1] = '\0';
    srv_json(c, 200,
             json_pack("{s:b, s:o, s:s, s:I, s:I, s:I, s:o, s:o}", "ok", 1,
                       "file", srv_json_str(name), "kind",
                       b->kind == MAMORI_BACKUP_KEYS ? "keys" : "data",
                       "records", (json_int_t)b->records, "datasets",
                       (json_int_t)b->datasets, "audit_entries",
                       (json_int_t)b->audit_entries, "audit_head",
                       srv_json_str(b->audit_head), "sha256",
                       srv_json_str(b->sha256)));
out:
    free(b);
}
