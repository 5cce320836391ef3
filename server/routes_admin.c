/*
 * routes_admin.c - the routes of restricted sessions (password change, MFA
 * enrolment), users, devices, the access review, settings and the audit
 * checkpoint. Path parameters are checked here before the library sees
 * them; passwords in bodies are wiped once used.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "mamorid.h"
#include "routes.h"
#include "banned.h"

#define CONFIG_KEY_MAX 47

/* ---- helpers ------------------------------------------------------------- */

int rt_user_name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0, i;

    if (n == 0 || n > 63)
        return 0;
    for (i = 0; i < n; i++) {
        char ch = s[i];
        int alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                    (ch >= '0' && ch <= '9');

        if (!alnum && (i == 0 || (ch != '.' && ch != '_' && ch != '-')))
            return 0;
    }
    return 1;
}

void rt_json_wiped(struct ctx *c, int status, json_t *j)
{
    if (!j) {
        srv_fail(c, MAMORI_ENOMEM, NULL);
        return;
    }
    json_incref(j);
    srv_json(c, status, j);
    rt_wipe_json(j);
    json_decref(j);
}

static int user_param(struct ctx *c, const char **name)
{
    if (c->nparams < 1 || !rt_user_name_ok(c->params[0])) {
        srv_fail_code(c, 400, "invalid", MAMORI_EINVAL,
                      "path: not a user name");
        return -1;
    }
    *name = c->params[0];
    return 0;
}

static int device_param(struct ctx *c, const char **id)
{
    if (c->nparams < 1 || !srv_uuid_ok(c->params[0])) {
        srv_fail_code(c, 400, "invalid", MAMORI_EINVAL,
                      "path: the device id is not a UUID");
        return -1;
    }
    *id = c->params[0];
    return 0;
}

static int config_key_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0, i;

    if (n == 0 || n > CONFIG_KEY_MAX || s[0] < 'a' || s[0] > 'z')
        return 0;
    for (i = 0; i < n; i++) {
        char ch = s[i];

        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '.'))
            return 0;
    }
    return 1;
}

static void ok_json(struct ctx *c, int status)
{
    srv_json(c, status, json_pack("{s:b}", "ok", 1));
}

/* ---- restricted sessions ------------------------------------------------- */

void h_passwd(struct ctx *c)
{
    const char *cur, *neu;
    int bad = 0, rc;

    cur = rt_opt_str(c->json, "current", &bad);
    neu = rt_opt_str(c->json, "new", &bad);
    if (bad || !cur || !neu || !*neu) {
        srv_fail_code(c, 400, "invalid", MAMORI_EINVAL,
                      "\"current\" and \"new\" are required strings");
        goto out;
    }
    rc = mamori_passwd(c->s, cur, strlen(cur), neu, strlen(neu));
    if (rc) {
        srv_fail(c, rc, NULL);
        goto out;
    }
    srv_json(c, 200,
             json_pack("{s:b, s:o}", "ok", 1, "needs",
                       rt_needs_json(mamori_session_needs(c->s))));
out:
    rt_wipe_json(c->json);
}

void h_mfa_enroll(struct ctx *c)
{
    struct mamori_mfa_enrolment e;
    int rc;

    memset(&e, 0, sizeof e);
    rc = mamori_mfa_enroll(c->s, &e);
    if (rc) {
        srv_fail(c, rc, NULL);
        return;
    }
    e.secret[sizeof e.secret - 1] = '\0';
    rt_json_wiped(c, 200,
                  json_pack("{s:s, s:o}", "secret", e.secret, "uri",
                            srv_json_str(e.uri)));
    mamori_mfa_enrolment_free(&e);
}

void h_mfa_confirm(struct ctx *c)
{
    char codes[MAMORI_RECOVERY_CODES][MAMORI_RECOVERY_LEN + 1];
    const char *code;
    json_t *arr = NULL;
    int bad = 0, rc;
    size_t i;

    memset(codes, 0, sizeof codes);
    code = rt_opt_str(c->json, "code", &bad);
    if (bad || !code || !*code) {
        srv_fail_code(c, 400, "invalid", MAMORI_EINVAL,
                      "\"code\" is a required string");
        goto out;
    }
    rc = mamori_mfa_confirm(c->s, code, codes);
    if (rc) {
        srv_fail(c, rc, NULL);
        goto out;
    }
    arr = json_array();
    for (i = 0; arr && i < MAMORI_RECOVERY_CODES; i++) {
        codes[i][MAMORI_RECOVERY_LEN] = '\0';
        if (json_array_append_new(arr, json_string(codes[i]))) {
            json_decref(arr);
            arr = NULL;
        }
    }
    rt_json_wiped(c, 200,
                  arr ? json_pack("{s:o, s:o}", "recovery_codes", arr, "needs",
                                  rt_needs_json(mamori_session_needs(c->s)))
                      : NULL);
out:
    OPENSSL_cleanse(codes, sizeof codes);
    rt_wipe_json(c->json);
}

/* ---- users --------------------------------------------------------------- */

void h_users(struct ctx *c)
{
    struct mamori_user_info *list = NULL;
    size_t n = 0, i;
    json_t *arr;
    int rc = mamori_user_list(c->s, &list, &n);

    if (rc) {
        srv_fail(c, rc, NULL);
        return;
    }
    arr = json_array();
    for (i = 0; arr && i < n; i++) {
        static const char *const mfa[] = {"none", "pending", "active"};
        json_t *o = json_object();

        list[i].name[sizeof list[i].name - 1] = '\0';
        list[i].role[sizeof list[i].role - 1] = '\0';
        if (!o || json_array_append_new(arr, o) ||
            json_object_set_new(o, "name", srv_json_str(list[i].name)) ||
            json_object_set_new(o, "role", srv_json_str(list[i].role)) ||
            json_object_set_new(o, "created", srv_json_time(list[i].created)) ||
            json_object_set_new(o, "last_login",
                                srv_json_time(list[i].last_login)) ||
            json_object_set_new(o, "disabled",
                                json_boolean(list[i].disabled)) ||
            json_object_set_new(o, "must_change_password",
                                json_boolean(list[i].must_change)) ||
            json_object_set_new(
                o, "mfa",
                json_string(
                    mfa[list[i].mfa >= 0 && list[i].mfa <= 2 ? list[i].mfa
                                                             : 0])) ||
            json_object_set_new(o, "locked_until",
                                srv_json_time(list[i].locked_until))) {
            json_decref(arr);
            arr = NULL;
        }
    }
    free(list);
    srv_json(c, 200, arr);
}

void h_user_add(struct ctx *c)
{
    const char *name, *role, *pw;
    int bad = 0, rc;

    name = rt_opt_str(c->json, "name", &bad);
    role = rt_opt_str(c->json, "role", &bad);
    pw = rt_opt_str(c->json, "password", &bad);
    if (bad || !name || !role || !pw) {
        srv_fail_code(c, 400, "invalid", MAMORI_EINVAL,
                      "\"name\", \"role\" and \"password\" are required "
                      "strings");
        goto out;
    }
    if (!rt_user_name_ok(name)) {
        srv_fail_code(c, 400, "invalid", MAMORI_EINVAL,
                      "name: 1-63 characters of A-Z a-z 0-9 . _ -");
        goto out;
    }
    rc = mamori_user_add(c->s, name, role, pw, strlen(pw));
    if (rc) {
        srv_fail(c, rc, NULL);
        goto out;
    }
    srv_json(c, 201, json_pack("{s:s, s:s}", "user", name, "role", role));
out:
    rt_wipe_json(c->json);
}

void h_user_unlock(struct ctx *c)
{
    const char *name;
    int rc;

    if (user_param(c, &name))
        return;
    rc = mamori_user_unlock(c->s, name);
    if (rc) {
        srv_fail(c, rc, NULL);
        return;
    }
    ok_json(c, 200);
}

/* POST /api/v1/users/{name}/disable (disabled 1) and .../enable (0). */
static void user_disable(struct ctx *c, int disabled)
{
    const char *name;
    int rc;

    if (user_param(c, &name))
        return;
    rc = mamori_user_disable(c->s, name, disabled);
    if (rc) {
        srv_fail(c, rc, NULL);
        return;
    }
    srv_json(c, 200,
             json_pack("{s:o, s:b}", "user", srv_json_str(name), "disabled",
                       disabled));
}

void h_user_disable(struct ctx *c)
{
    user_disable(c, 1);
}

void h_user_enable(struct ctx *c)
{
    user_disable(c, 0);
}

void h_user_reset(struct ctx *c)
{
    const char *name, *pw;
    int bad = 0, rc;

    if (user_param(c, &name))
        goto out;
    pw = rt_opt_str(c->json, "password", &bad);
    if (bad || !pw) {
        srv_fail_code(c, 400, "invalid", MAMORI_EINVAL,
                      "\"password\" is a required string");
        goto out;
    }
    rc = mamori_user_reset(c->s, name, pw, strlen(pw));
    if (rc) {
        srv_fail(c, rc, NULL);
        goto out;
    }
    ok_json(c, 200);
out:
    rt_wipe_json(c->json);
}

/* ---- devices ------------------------------------------------------------- */

void h_devices(struct ctx *c)
{
    struct mamori_device_info *list = NULL;
    size_t n = 0, i;
    json_t *arr;
    int rc = mamori_device_list(c->s, &list, &n);

    if (rc) {
        srv_fail(c, rc, NULL);
        return;
    }
    arr = json_array();
    for (i = 0; arr && i < n; i++) {
        json_t *o;

        list[i].id[sizeof list[i].id - 1] = '\0';
        list[i].name[sizeof list[i].name - 1] = '\0';
        list[i].state[sizeof list[i].state - 1] = '\0';
        list[i].requested_by[sizeof list[i].requested_by - 1] = '\0';
        list[i].approved_by[sizeof list[i].approved_by - 1] = '\0';
        o = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "id",
                      srv_json_str(list[i].id), "name",
                      srv_json_str(list[i].name), "state",
                      srv_json_str(list[i].state), "requested_by",
                      srv_json_str(list[i].requested_by), "approved_by",
                      srv_json_str(list[i].approved_by), "created",
                      srv_json_time(list[i].created), "approved",
                      srv_json_time(list[i].approved), "last_used",
                      srv_json_time(list[i].last_used));
        if (!o || json_array_append_new(arr, o)) {
            json_decref(arr);
            arr = NULL;
        }
    }
    free(list);
    srv_json(c, 200, arr);
}

void h_device_approve(struct ctx *c)
{
    const char *id;
    int rc;

    if (device_param(c, &id))
        return;
    rc = mamori_device_approve(c->s, id);
    if (rc) {
        srv_fail(c, rc, NULL);
        return;
    }
    srv_json(c, 200, json_pack("{s:s, s:s}", "id", id, "state", "approved"));
}

void h_device_revoke(struct ctx *c)
{
    const char *id;
    int rc;

    if (device_param(c, &id))
        return;
    rc = mamori_device_revoke(c->s, id);
    if (rc) {
        srv_fail(c, rc, NULL);
        return;
    }
    srv_json(c, 200, json_pack("{s:s, s:s}", "id", id, "state", "revoked"));
}

/* Without a session: the user proves who they are as in a login, and the
 * device waits for an admin. Rate limited as logins are, per address and
 * per account, but in a bucket of its own: anyone may try an enrolment
 * (no approved device is needed), and must not use up the account's
 * logins. */
void h_device_request(struct ctx *c)
{
    struct mamori_login_req req;
    uint8_t pk[MAMORI_DEVICE_PK_LEN];
    char id[40], key[80];
    const char *pw, *name, *pkh;
    int bad = 0, rc, wait;

    memset(&req, 0, sizeof req);
    memset(id, 0, sizeof id);
    req.user = rt_opt_str(c->json, "user", &bad);
    pw = rt_opt_str(c->json, "password", &bad);
    req.otp = rt_opt_str(c->json, "otp", &bad);
    name = rt_opt_str(c->json, "name", &bad);
    pkh = rt_opt_str(c->json, "public_key", &bad);
    if (bad || !req.user || !*req.user || !pw || !name || !*name) {
        srv_fail_code(c, 400, "invalid", MAMORI_EINVAL,
                      "\"user\", \"password\" and \"name\" are required "
                      "strings");
        goto out;
    }
    if (rt_hex_decode(pkh, pk, sizeof pk)) {
        srv_fail_code(c, 400, "invalid", MAMORI_EINVAL,
                      "public_key: 64 hex digits are required");
        goto out;
    }
    ratelimit_ip_key(c->rq->address, key, sizeof key);
    wait = ratelimit_take(&c->S->rl_ip, key, srv_now());
    if (!wait) {
        snprintf(key, sizeof key, "enrol:%.64s", req.user);
        wait = ratelimit_take(&c->S->rl_user, key, srv_now());
    }
    if (wait) {
        c->rs->retry_after = wait;
        srv_fail_code(c, 429, "rate_limited", MAMORI_EDENIED,
                      "too many attempts: try again later");
        goto out;
    }
    req.password = pw;
    req.password_len = strlen(pw);
    rc = mamori_device_request(c->S->m, &req, name, pk, &c->client, id);
    if (rc) {
        srv_fail(c, rc, NULL);
        goto out;
    }
    id[sizeof id - 1] = '\0';
    srv_json(
        c, 202,
        json_pack("{s:o, s:s}", "id", srv_json_str(id), "state", "pending"));
out:
    OPENSSL_cleanse(&req, sizeof req);
    rt_wipe_json(c->json);
}

void h_access_review(struct ctx *c)
{
    static const struct {
        unsigned bit;
        const char *key;
    } flag_names[] = {
        {MAMORI_REVIEW_DORMANT, "dormant"},
        {MAMORI_REVIEW_ADMIN_EXCESS, "too_many_admins"},
        {MAMORI_REVIEW_NO_MFA, "no_mfa"},
        {MAMORI_REVIEW_LOCKED, "locked"},
        {MAMORI_REVIEW_INITIAL_PW, "initial_password"},
        {MAMORI_REVIEW_DISABLED, "disabled"},
    };
    static const char *const mfa[] = {"none", "pending", "active"};
    struct mamori_review_user *r = NULL;
    size_t n = 0, i, k;
    json_t *arr;
    int rc = mamori_access_review(c->s, &r, &n);

    if (rc) {
        srv_fail(c, rc, NULL);
        return;
    }
    arr = json_array();
    for (i = 0; arr && i < n; i++) {
        json_t *flags = json_array(), *o;

        r[i].name[sizeof r[i].name - 1] = '\0';
        r[i].role[sizeof r[i].role - 1] = '\0';
        r[i].datasets[sizeof r[i].datasets - 1] = '\0';
        for (k = 0; flags && k < sizeof flag_names / sizeof flag_names[0]; k++)
            if ((r[i].flags & flag_names[k].bit) &&
                json_array_append_new(flags, json_string(flag_names[k].key))) {
                json_decref(flags);
                flags = NULL;
            }
        if (!flags) {
            json_decref(arr);
            arr = NULL;
            break;
        }
        o = json_pack("{s:o, s:o, s:s, s:i, s:o, s:o, s:o, s:o, s:o}", "user",
                      srv_json_str(r[i].name), "role", srv_json_str(r[i].role),
                      "mfa", mfa[r[i].mfa >= 0 && r[i].mfa <= 2 ? r[i].mfa : 0],
                      "devices", r[i].devices, "datasets",
                      srv_json_str(r[i].datasets), "created",
                      srv_json_time(r[i].created), "last_login",
                      srv_json_time(r[i].last_login), "password_changed",
                      srv_json_time(r[i].pw_changed), "flags", flags);
        if (!o || json_array_append_new(arr, o)) {
            json_decref(arr);
            arr = NULL;
        }
    }
    free(r);
    srv_json(c, 200, arr);
}

/* ---- settings and the audit checkpoint ----------------------------------- */

void h_config(struct ctx *c)
{
    struct mamori_config_item *list = NULL;
    size_t n = 0, i;
    json_t *arr;
    int rc = mamori_config_list(c->s, &list, &n);

    if (rc) {
        srv_fail(c, rc, NULL);
        return;
    }
    arr = json_array();
    for (i = 0; arr && i < n; i++) {
        json_t *o;

        list[i].key[sizeof list[i].key - 1] = '\0';
        list[i].value[sizeof list[i].value - 1] = '\0';
        list[i].def[sizeof list[i].def - 1] = '\0';
        list[i].range[sizeof list[i].range - 1] = '\0';
        list[i].help[sizeof list[i].help - 1] = '\0';
        o = json_pack(
            "{s:o, s:o, s:o, s:o, s:o}", "key", srv_json_str(list[i].key),
            "value", srv_json_str(list[i].value), "default",
            srv_json_str(list[i].def), "range", srv_json_str(list[i].range),
            "help", srv_json_str(list[i].help));
        if (!o || json_array_append_new(arr, o)) {
            json_decref(arr);
            arr = NULL;
        }
    }
    free(list);
    srv_json(c, 200, arr);
}

void h_config_set(struct ctx *c)
{
    const char *key, *value;
    int bad = 0, rc;

    if (c->nparams < 1 || !config_key_ok(c->params[0])) {
        srv_fail_code(c, 400, "invalid", MAMORI_EINVAL,
                      "path: not a setting name");
        return;
    }
    key = c->params[0];
    value = rt_opt_str(c->json, "value", &bad);
    if (bad || !value) {
        srv_fail_code(c, 400, "invalid", MAMORI_EINVAL,
                      "\"value\" is a required string");
        return;
    }
    if (strlen(value) >= MAMORI_CONFIG_VALUE_MAX) {
        srv_fail_code(c, 400, "invalid", MAMORI_EINVAL,
                      "value: at most 63 bytes");
        return;
    }
    rc = mamori_config_set(c->s, key, value);
    if (rc) {
        srv_fail(c, rc, NULL);
        return;
    }
    srv_json(c, 200,
             json_pack("{s:s, s:o}", "key", key, "value", srv_json_str(value)));
}

void h_audit_checkpoint(struct ctx *c)
{
    struct srv_resp *rs = c->rs;
    char *text = NULL;
    size_t len = 0;
    int rc = mamori_audit_checkpoint(c->s, &text, &len);

    if (rc) {
        srv_fail(c, rc, NULL);
        return;
    }
    srv_resp_release(rs);
    rs->status = 200;
    rs->content_type = "text/plain; charset=utf-8";
    rs->body = text;
    rs->body_len = len;
}
