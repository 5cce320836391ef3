/*
 * routes.c - the route table of mamorid (the one place that lists the API;
 * docs/openapi.yaml describes exactly these), the helpers the handlers
 * share, and the session and audit handlers; the others are in
 * routes_records.c, routes_admin.c and routes_work.c.
 * Handlers get validated path parameters, the parsed JSON body and the
 * session from http.c, call the library once or twice, and answer JSON in
 * the shapes of the CLI's --json output.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "mamorid.h"
#include "metrics.h"
#include "routes.h"
#include "banned.h"

#define AUDIT_LAST_DEFAULT 100
#define AUDIT_LAST_MAX 10000
#define KV_MAX 256

/* ---- helpers ------------------------------------------------------------- */

int rt_ds_param(struct ctx *c, const char **ds)
{
    if (c->nparams < 1 || !srv_dataset_name_ok(c->params[0])) {
        srv_fail_code(c, 400, "invalid", MAMORI_EINVAL,
                      "path: not a dataset name");
        return -1;
    }
    *ds = c->params[0];
    return 0;
}

json_t *rt_needs_json(unsigned needs)
{
    json_t *a = json_array();

    if (!a)
        return NULL;
    if ((needs & MAMORI_NEED_PASSWD) &&
        json_array_append_new(a, json_string("password")))
        goto fail;
    if ((needs & MAMORI_NEED_MFA) &&
        json_array_append_new(a, json_string("mfa")))
        goto fail;
    return a;
fail:
    json_decref(a);
    return NULL;
}

/* The body {FIELD: VALUE, ...} as kv pairs pointing into c->json. */
int rt_body_kv(struct ctx *c, struct mamori_kv **out, size_t *n)
{
    size_t cnt = json_object_size(c->json), i = 0;
    struct mamori_kv *kv;
    const char *key;
    json_t *v;

    *out = NULL;
    *n = 0;
    if (cnt == 0) {
        srv_fail_code(c, 400, "invalid", MAMORI_EINVAL,
                      "the body names no field");
        return -1;
    }
    if (cnt > KV_MAX) {
        srv_fail_code(c, 413, "too_big", MAMORI_ETOOBIG,
                      "the body names too many fields");
        return -1;
    }
    kv = calloc(cnt, sizeof *kv);
    if (!kv) {
        srv_fail(c, MAMORI_ENOMEM, NULL);
        return -1;
    }
    json_object_foreach(c->json, key, v)
    {
        if (!json_is_string(v) ||
            strlen(json_string_value(v)) != json_string_length(v)) {
            free(kv);
            srv_fail_code(c, 400, "invalid", MAMORI_EINVAL,
                          "every field value must be a string without NUL");
            return -1;
        }
        kv[i].name = key;
        kv[i].value = json_string_value(v);
        i++;
    }
    *out = kv;
    *n = i;
    return 0;
}

/* Wipes the string values of a parsed body (passwords, personal data)
 * before it is freed. */
void rt_wipe_json(json_t *j)
{
    const char *key;
    json_t *v;
    size_t i;

    if (json_is_string(j)) {
        OPENSSL_cleanse((char *)json_string_value(j), json_string_length(j));
    } else if (json_is_object(j)) {
        json_object_foreach(j, key, v) rt_wipe_json(v);
    } else if (json_is_array(j)) {
        json_array_foreach(j, i, v) rt_wipe_json(v);
    }
}

int rt_hex_decode(const char *hex, uint8_t *out, size_t n)
{
    size_t i;

    if (!hex || strlen(hex) != 2 * n)
        return -1;
    for (i = 0; i < n; i++) {
        unsigned v = 0;
        int k;

        for (k = 0; k < 2; k++) {
            char ch = hex[2 * i + (size_t)k];

            v <<= 4;
            if (ch >= '0' && ch <= '9')
                v |= (unsigned)(ch - '0');
            else if (ch >= 'a' && ch <= 'f')
                v |= (unsigned)(ch - 'a' + 10);
            else if (ch >= 'A' && ch <= 'F')
                v |= (unsigned)(ch - 'A' + 10);
            else
                return -1;
        }
        out[i] = (uint8_t)v;
    }
    return 0;
}

const char *rt_opt_str(json_t *o, const char *k, int *bad)
{
    json_t *v = json_object_get(o, k);

    if (!v || json_is_null(v))
        return NULL;
    if (!json_is_string(v) ||
        strlen(json_string_value(v)) != json_string_length(v)) {
        *bad = 1;
        return NULL;
    }
    return json_string_value(v);
}

/* ---- handlers ------------------------------------------------------------ */

static void h_healthz(struct ctx *c)
{
    srv_resp_release(c->rs);
    c->rs->status = 200;
    c->rs->content_type = "text/plain; charset=utf-8";
    c->rs->body = strdup("ok\n");
    c->rs->body_len = c->rs->body ? 3 : 0;
    if (!c->rs->body)
        c->rs->status = 500;
}

static void h_openapi(struct ctx *c)
{
    struct srv_resp *rs = c->rs;

    srv_resp_release(rs);
    rs->status = 200;
    rs->content_type = "application/yaml; charset=utf-8";
    rs->body = malloc(c->S->openapi_len + 1);
    if (!rs->body) {
        rs->status = 500;
        return;
    }
    if (c->S->openapi_len)
        memcpy(rs->body, c->S->openapi, c->S->openapi_len);
    rs->body_len = c->S->openapi_len;
}

static void h_challenge(struct ctx *c)
{
    char ch[MAMORI_CHALLENGE_LEN + 1], key[80];
    int rc, wait;

    ratelimit_ip_key(c->rq->address, key, sizeof key);
    wait = ratelimit_take(&c->S->rl_challenge, key, srv_now());
    if (wait) {
        c->rs->retry_after = wait;
        srv_fail_code(c, 429, "rate_limited", MAMORI_EDENIED,
                      "too many challenges: try again later");
        return;
    }
    rc = mamori_device_challenge(c->S->m, ch, sizeof ch);
    if (rc) {
        srv_fail(c, rc, NULL);
        return;
    }
    ch[MAMORI_CHALLENGE_LEN] = '\0';
    /* The vault id too: a browser device signs it with the challenge. */
    srv_json(c, 200,
             json_pack("{s:s, s:o}", "challenge", ch, "vault_id",
                       srv_json_str(mamori_vault_id(c->S->m))));
}

int rt_user_gate(void *arg)
{
    struct rt_user_gate *g = arg;
    char key[80];

    snprintf(key, sizeof key, "%s%.64s", g->prefix, g->user);
    g->wait = ratelimit_take(&g->S->rl_user, key, srv_now());
    return g->wait ? MAMORI_EDENIED : 0;
}

/* 429 for a refusal of rt_user_gate. */
static void user_gate_refused(struct ctx *c, const struct rt_user_gate *g)
{
    c->rs->retry_after = g->wait;
    srv_fail_code(c, 429, "rate_limited", MAMORI_EDENIED,
                  "too many login attempts: try again later");
}

static void h_login(struct ctx *c)
{
    struct mamori_login_req req;
    uint8_t pk[MAMORI_DEVICE_PK_LEN], sig[MAMORI_DEVICE_SIG_LEN];
    char token[MAMORI_TOKEN_LEN + 1], csrf[SRV_CSRF_LEN + 1], key[80];
    mamori_sess *s = NULL;
    json_t *dev;
    int bad = 0, rc, wait;
    const char *password;
    struct rt_user_gate gate = {c->S, "user:", NULL, 0};

    memset(&req, 0, sizeof req);
    memset(token, 0, sizeof token);
    memset(csrf, 0, sizeof csrf);
    req.user = rt_opt_str(c->json, "user", &bad);
    password = rt_opt_str(c->json, "password", &bad);
    req.otp = rt_opt_str(c->json, "otp", &bad);
    if (bad || !req.user || !password || !*req.user) {
        srv_fail_code(c, 400, "invalid", MAMORI_EINVAL,
                      "\"user\" and \"password\" are required strings");
        goto out;
    }
    /* The address's rate limit first, so that a flood costs no password
     * hashing; the account's once the device proof has passed (gate), so
     * that no one without an approved device can use it up. */
    ratelimit_ip_key(c->rq->address, key, sizeof key);
    wait = ratelimit_take(&c->S->rl_ip, key, srv_now());
    if (wait) {
        c->rs->retry_after = wait;
        srv_fail_code(c, 429, "rate_limited", MAMORI_EDENIED,
                      "too many login attempts: try again later");
        goto out;
    }
    req.password = password;
    req.password_len = strlen(password);
    dev = json_object_get(c->json, "device");
    if (dev && !json_is_null(dev)) {
        const char *pkh, *sigh, *chal;

        if (!json_is_object(dev)) {
            srv_fail_code(c, 400, "invalid", MAMORI_EINVAL,
                          "\"device\" must be an object");
            goto out;
        }
        pkh = rt_opt_str(dev, "public_key", &bad);
        chal = rt_opt_str(dev, "challenge", &bad);
        sigh = rt_opt_str(dev, "signature", &bad);
        if (bad || rt_hex_decode(pkh, pk, sizeof pk) ||
            rt_hex_decode(sigh, sig, sizeof sig) || !chal) {
            srv_fail_code(c, 400, "invalid", MAMORI_EINVAL,
                          "device: public_key (64 hex digits), challenge and "
                          "signature (128 hex digits) are required");
            goto out;
        }
        req.device_pk = pk;
        req.challenge = chal;
        req.signature = sig;
    }
    gate.user = req.user;
    req.before_password = rt_user_gate;
    req.arg = &gate;
    rc = mamori_login_ex(c->S->m, &req, &c->client, token, sizeof token);
    if (rc && gate.wait) {
        user_gate_refused(c, &gate);
        goto out;
    }
    if (rc) {
        srv_fail(c, rc, NULL);
        goto out;
    }
    token[MAMORI_TOKEN_LEN] = '\0';
    rc = mamori_session_open(c->S->m, token, &c->client, &s);
    if (rc) {
        srv_fail(c, rc, NULL);
        goto out;
    }
    srv_csrf(c->S, token, csrf);
    snprintf(c->rs->set_cookie, sizeof c->rs->set_cookie,
             "%s=%s; HttpOnly; SameSite=Strict; Path=/%s",
             SRV_COOKIE(c->S->tls), token, c->S->tls ? "; Secure" : "");
    srv_json(c, 200,
             json_pack("{s:s, s:s, s:o, s:o, s:o}", "token", token, "csrf",
                       csrf, "user", srv_json_str(mamori_session_user(s)),
                       "role", srv_json_str(mamori_session_role(s)), "needs",
                       rt_needs_json(mamori_session_needs(s))));
out:
    if (s)
        mamori_session_close(s);
    OPENSSL_cleanse(token, sizeof token);
    OPENSSL_cleanse(csrf, sizeof csrf);
    OPENSSL_cleanse(&req, sizeof req);
    rt_wipe_json(c->json);
}

/* The session's idle limit and end, for the page's timer (the library
 * ends idle sessions whatever the page shows). */
static void session_limits(struct ctx *c, json_int_t *idle, json_t **expires)
{
    int64_t idle_s = 15 * 60, end = 0;

    *expires = json_null();
    if (mamori_session_limits(c->s, &idle_s, &end) == 0) {
        json_decref(*expires);
        *expires = srv_json_time(end);
    }
    *idle = (json_int_t)idle_s;
    if (c->S->test_hooks) {
        /* Test hook (browser tests): a short idle time for the page's
         * timer, without waiting the setting's whole minutes. */
        const char *e = getenv("MAMORI_TEST_IDLE_SECONDS");
        long long v = e ? strtoll(e, NULL, 10) : 0;

        if (v >= 1 && v <= 86400)
            *idle = (json_int_t)v;
    }
}

static void h_whoami(struct ctx *c)
{
    char csrf[SRV_CSRF_LEN + 1];
    json_int_t idle;
    json_t *expires;
    int rc;

    /* A request is activity: the page asks this while its user types
     * without saving, and when they choose to continue at the idle
     * warning. */
    rc = mamori_session_keepalive(c->s);
    if (rc != 0) {
        srv_fail(c, rc, NULL);
        return;
    }
    session_limits(c, &idle, &expires);
    srv_csrf(c->S, c->token, csrf);
    srv_json(c, 200,
             json_pack("{s:o, s:o, s:o, s:s, s:I, s:o}", "user",
                       srv_json_str(mamori_session_user(c->s)), "role",
                       srv_json_str(mamori_session_role(c->s)), "needs",
                       rt_needs_json(mamori_session_needs(c->s)), "csrf", csrf,
                       "idle_seconds", idle, "expires", expires));
    OPENSSL_cleanse(csrf, sizeof csrf);
}

static void h_logout(struct ctx *c)
{
    int rc = mamori_logout(c->s);

    c->s = NULL; /* freed by mamori_logout, also on failure */
    if (rc) {
        srv_fail(c, rc, NULL);
        return;
    }
    snprintf(c->rs->set_cookie, sizeof c->rs->set_cookie,
             "%s=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0%s",
             SRV_COOKIE(c->S->tls), c->S->tls ? "; Secure" : "");
    srv_json(c, 200, json_pack("{s:b}", "ok", 1));
}

static json_t *ids_json(const char *ids)
{
    json_t *arr = json_array();
    const char *p = ids;

    while (arr && p && *p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);

        if (len && json_array_append_new(arr, json_stringn(p, len))) {
            json_decref(arr);
            return NULL;
        }
        p = comma ? comma + 1 : NULL;
    }
    return arr;
}

/* The filters of GET /api/v1/audit: user (exact), action (exact, or a
 * prefix ending in "."), from and to (times, inclusive; see
 * mamori_audit_time). The strings are the caller's to free. */
struct audit_query {
    struct mamori_audit_filter f;
    char *user, *action;
    int any;
};

static int audit_query_get(struct ctx *c, struct audit_query *q)
{
    char *from = NULL, *to = NULL;
    int rc;

    memset(q, 0, sizeof *q);
    rc = srv_query_get(c->query, "user", &q->user);
    if (rc == 0)
        rc = srv_query_get(c->query, "action", &q->action);
    if (rc == 0)
        rc = srv_query_get(c->query, "from", &from);
    if (rc == 0)
        rc = srv_query_get(c->query, "to", &to);
    if (rc == 0 && from)
        rc = mamori_audit_time(from, 0, &q->f.from);
    if (rc == 0 && to)
        rc = mamori_audit_time(to, 1, &q->f.to);
    q->f.user = q->user;
    q->f.action = q->action;
    q->any = q->user || q->action || from || to;
    free(from);
    free(to);
    return rc;
}

static void audit_query_free(struct audit_query *q)
{
    free(q->user);
    free(q->action);
}

static void h_audit(struct ctx *c)
{
    struct mamori_audit_entry *e = NULL;
    struct audit_query q;
    size_t n = 0, i, last = AUDIT_LAST_DEFAULT;
    char *v = NULL;
    json_t *arr;
    int rc;

    if (audit_query_get(c, &q)) {
        audit_query_free(&q);
        srv_fail_code(c, 400, "invalid", MAMORI_EINVAL,
                      "query: user, action, from or to is malformed (from "
                      "and to: YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)");
        return;
    }

    rc = srv_query_get(c->query, "last", &v);
    if (rc == 0 && v) {
        char *end;
        long long x;

        errno = 0;
        x = strtoll(v, &end, 10);
        if (errno || end == v || *end || x < 1 || x > AUDIT_LAST_MAX)
            rc = MAMORI_EINVAL;
        else
            last = (size_t)x;
    }
    free(v);
    if (rc) {
        audit_query_free(&q);
        srv_fail_code(c, 400, "invalid", MAMORI_EINVAL,
                      "query: last must be a number from 1 to 10000");
        return;
    }
    /* With filters, the last matches of the whole log. */
    rc = mamori_audit_find(c->s, q.any ? &q.f : NULL, last, &e, &n);
    audit_query_free(&q);
    if (rc) {
        srv_fail(c, rc, NULL);
        return;
    }
    arr = json_array();
    for (i = 0; arr && i < n; i++) {
        json_t *o = json_object();

        if (!o || json_array_append_new(arr, o) ||
            json_object_set_new(o, "seq", json_integer(e[i].seq)) ||
            json_object_set_new(o, "time", srv_json_time(e[i].time)) ||
            json_object_set_new(o, "user", srv_json_str(e[i].user)) ||
            json_object_set_new(o, "device", srv_json_str(e[i].device)) ||
            json_object_set_new(o, "action", srv_json_str(e[i].action)) ||
            json_object_set_new(o, "dataset", srv_json_str(e[i].dataset)) ||
            json_object_set_new(o, "outcome", srv_json_str(e[i].outcome)) ||
            json_object_set_new(o, "detail", srv_json_str(e[i].detail)) ||
            json_object_set_new(o, "count", json_integer(e[i].count)) ||
            json_object_set_new(o, "record_ids", ids_json(e[i].record_ids)) ||
            json_object_set_new(o, "client", srv_json_str(e[i].client)) ||
            json_object_set_new(o, "request_id",
                                srv_json_str(e[i].request_id))) {
            json_decref(arr);
            arr = NULL;
        }
    }
    mamori_audit_entries_free(e, n);
    srv_json(c, 200, arr);
}

static void h_audit_verify(struct ctx *c)
{
    struct mamori_verify_result res;
    int rc;

    memset(&res, 0, sizeof res);
    rc = mamori_audit_verify(c->s, NULL, 0, &res);
    res.problem[sizeof res.problem - 1] = '\0';
    if (rc == MAMORI_ETAMPER) {
        char detail[512];

        /* (the session's detail is in the request's language) */
        if (*mamori_errdetail(c->s))
            snprintf(detail, sizeof detail, "%s", mamori_errdetail(c->s));
        else if (res.problem[0])
            snprintf(detail, sizeof detail, "%s", res.problem);
        else
            snprintf(detail, sizeof detail, "entry %lld",
                     (long long)res.first_bad);
        srv_fail(c, rc, detail);
        return;
    }
    if (rc) {
        srv_fail(c, rc, NULL);
        return;
    }
    srv_json(
        c, 200,
        json_pack("{s:b, s:I}", "ok", 1, "entries", (json_int_t)res.entries));
}

/* ---- the table ----------------------------------------------------------- */

#define DS "/api/v1/datasets/{ds}/records"
const struct route srv_routes[] = {
    {"GET", "/healthz", h_healthz, ROUTE_QUICK},
    {"GET", "/api/v1/openapi.yaml", h_openapi, ROUTE_QUICK},
    {"GET", "/metrics", h_metrics, ROUTE_QUICK},
    {"GET", "/api/v1/session/challenge", h_challenge, ROUTE_VAULT},
    {"POST", "/api/v1/session", h_login, ROUTE_VAULT | ROUTE_JSON},
    {"GET", "/api/v1/session", h_whoami, ROUTE_SESSION},
    {"DELETE", "/api/v1/session", h_logout, ROUTE_SESSION},
    {"GET", "/api/v1/datasets", h_datasets, ROUTE_SESSION},
    {"GET", DS, h_search, ROUTE_SESSION | ROUTE_READ},
    {"POST", DS, h_record_add, ROUTE_SESSION | ROUTE_JSON},
    {"GET", DS "/{id}", h_record_get, ROUTE_SESSION | ROUTE_READ | ROUTE_QUICK},
    {"PATCH", DS "/{id}", h_record_update, ROUTE_SESSION | ROUTE_JSON},
    {"DELETE", DS "/{id}", h_record_delete, ROUTE_SESSION},
    {"GET", "/api/v1/audit", h_audit, ROUTE_SESSION},
    {"GET", "/api/v1/audit/verify", h_audit_verify, ROUTE_SESSION},
    /* restricted sessions */
    {"POST", "/api/v1/session/password", h_passwd, ROUTE_SESSION | ROUTE_JSON},
    {"POST", "/api/v1/mfa/enroll", h_mfa_enroll, ROUTE_SESSION},
    {"POST", "/api/v1/mfa/confirm", h_mfa_confirm, ROUTE_SESSION | ROUTE_JSON},
    /* users and devices */
    {"GET", "/api/v1/users", h_users, ROUTE_SESSION},
    {"POST", "/api/v1/users", h_user_add, ROUTE_SESSION | ROUTE_JSON},
    {"POST", "/api/v1/users/{name}/unlock", h_user_unlock, ROUTE_SESSION},
    {"POST", "/api/v1/users/{name}/disable", h_user_disable, ROUTE_SESSION},
    {"POST", "/api/v1/users/{name}/enable", h_user_enable, ROUTE_SESSION},
    {"POST", "/api/v1/users/{name}/reset", h_user_reset,
     ROUTE_SESSION | ROUTE_JSON},
    {"GET", "/api/v1/devices", h_devices, ROUTE_SESSION},
    {"POST", "/api/v1/devices", h_device_request, ROUTE_VAULT | ROUTE_JSON},
    {"POST", "/api/v1/devices/{id}/approve", h_device_approve, ROUTE_SESSION},
    {"POST", "/api/v1/devices/{id}/revoke", h_device_revoke, ROUTE_SESSION},
    {"GET", "/api/v1/access-review", h_access_review, ROUTE_SESSION},
    /* settings and the audit checkpoint */
    {"GET", "/api/v1/config", h_config, ROUTE_SESSION},
    {"PUT", "/api/v1/config/{key}", h_config_set, ROUTE_SESSION | ROUTE_JSON},
    {"GET", "/api/v1/audit/checkpoint", h_audit_checkpoint, ROUTE_SESSION},
    /* verified entry */
    {"POST", "/api/v1/datasets/{ds}/entries", h_entry_start,
     ROUTE_SESSION | ROUTE_JSON},
    {"GET", "/api/v1/entries", h_entries, ROUTE_SESSION},
    {"POST", "/api/v1/entries/{id}/verify", h_entry_verify,
     ROUTE_SESSION | ROUTE_JSON},
    {"PATCH", "/api/v1/entries/{id}", h_entry_amend,
     ROUTE_SESSION | ROUTE_JSON},
    /* export requests */
    {"GET", "/api/v1/exports", h_exports, ROUTE_SESSION},
    {"POST", "/api/v1/exports", h_export_request, ROUTE_SESSION | ROUTE_JSON},
    {"POST", "/api/v1/exports/{id}/approve", h_export_approve, ROUTE_SESSION},
    {"POST", "/api/v1/exports/{id}/reject", h_export_reject, ROUTE_SESSION},
    {"POST", "/api/v1/exports/{id}/mark", h_export_mark,
     ROUTE_SESSION | ROUTE_JSON},
    {"POST", "/api/v1/exports/{id}/run", h_export_run, ROUTE_SESSION},
    {"GET", "/api/v1/exports/{id}/file", h_export_file, ROUTE_SESSION},
    /* backups */
    {"GET", "/api/v1/backups", h_backups, ROUTE_SESSION},
    {"POST", "/api/v1/backups", h_backup_create, ROUTE_SESSION},
    /* slice 3: import upload (streamed) */
    {"POST", "/api/v1/datasets/{ds}/import", h_import,
     ROUTE_SESSION | ROUTE_STREAM},
    /* slice 3: datasets, grants, sessions, MFA reset, break-glass, backups */
    {"POST", "/api/v1/datasets", h_dataset_create, ROUTE_SESSION | ROUTE_JSON},
    {"GET", "/api/v1/grants", h_grants_all, ROUTE_SESSION},
    {"GET", "/api/v1/datasets/{ds}/grants", h_grants, ROUTE_SESSION},
    {"POST", "/api/v1/datasets/{ds}/grants/{user}", h_grant,
     ROUTE_SESSION | ROUTE_JSON},
    {"DELETE", "/api/v1/datasets/{ds}/grants/{user}", h_grant_revoke,
     ROUTE_SESSION},
    {"GET", "/api/v1/sessions", h_sessions, ROUTE_SESSION},
    {"DELETE", "/api/v1/sessions/{id}", h_session_revoke, ROUTE_SESSION},
    {"DELETE", "/api/v1/users/{name}/sessions", h_user_sessions_revoke,
     ROUTE_SESSION},
    {"POST", "/api/v1/users/{name}/mfa/reset", h_mfa_reset, ROUTE_SESSION},
    {"GET", "/api/v1/breakglass", h_breakglass, ROUTE_SESSION},
    {"POST", "/api/v1/breakglass", h_breakglass_request,
     ROUTE_SESSION | ROUTE_JSON},
    {"POST", "/api/v1/breakglass/{id}/approve", h_breakglass_approve,
     ROUTE_SESSION},
    {"POST", "/api/v1/breakglass/{id}/close", h_breakglass_close,
     ROUTE_SESSION},
    {"POST", "/api/v1/backups/{name}/verify", h_backup_verify, ROUTE_SESSION},
};
const size_t srv_nroutes = sizeof srv_routes / sizeof srv_routes[0];

void srv_routes_print(void)
{
    size_t i;

    for (i = 0; i < srv_nroutes; i++)
        printf("%s %s\n", srv_routes[i].method, srv_routes[i].pattern);
}
