/*
 * routes_work.c - the workflow routes: verified entry (ベリファイ入力),
 * the export requests of the take-out ledger (持ち出し管理台帳) and
 * backups. Running an export and downloading its file are not here yet.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "mamorid.h"
#include "routes.h"
#include "banned.h"

/* Path parameter i as an entry id (UUID). */
static int entry_param(struct ctx *c, size_t i, const char **id)
{
    if (c->nparams <= i || !srv_uuid_ok(c->params[i])) {
        srv_fail_code(c, 400, "invalid", MAMORI_EINVAL,
                      "path: the entry id is not a UUID");
        return -1;
    }
    *id = c->params[i];
    return 0;
}

/* Path parameter 0 as an export request id: a decimal integer >= 1. */
static int export_param(struct ctx *c, int64_t *id)
{
    const char *s = c->nparams ? c->params[0] : "";
    char *end;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (s[0] < '1' || s[0] > '9' || errno || *end || v < 1 || strlen(s) > 18) {
        srv_fail_code(c, 400, "invalid", MAMORI_EINVAL,
                      "path: the export id is not a positive integer");
        return -1;
    }
    *id = (int64_t)v;
    return 0;
}

/* ---- verified entry ------------------------------------------------------ */

void h_entry_start(struct ctx *c)
{
    struct mamori_kv *kv = NULL;
    char id[MAMORI_ID_LEN + 1];
    const char *ds;
    size_t n;
    int rc;

    if (rt_ds_param(c, &ds) || rt_body_kv(c, &kv, &n))
        goto out;
    memset(id, 0, sizeof id);
    rc = mamori_entry_start(c->s, ds, kv, n, id, sizeof id);
    if (rc) {
        srv_fail(c, rc, NULL);
        goto out;
    }
    id[MAMORI_ID_LEN] = '\0';
    srv_json(c, 201, json_pack("{s:s}", "id", id));
out:
    free(kv);
    rt_wipe_json(c->json);
}

/* 409 mismatch with the names of the fields that differ (never values). */
static void mismatch(struct ctx *c, const char *list)
{
    json_t *top = NULL, *fields = json_array();
    const char *p = list;
    char detail[96];

    while (fields && *p) {
        size_t l = strcspn(p, ",");

        if (l && json_array_append_new(fields, json_stringn(p, l))) {
            json_decref(fields);
            fields = NULL;
        }
        p += l + (p[l] == ',');
    }
    snprintf(detail, sizeof detail, "%zu fields differ from the first keying",
             fields ? json_array_size(fields) : 0);
    /* The common error body, then the list added to it. */
    srv_fail_code(c, 409, "mismatch", MAMORI_EMISMATCH, detail);
    if (fields && c->rs->body)
        top = json_loadb(c->rs->body, c->rs->body_len, 0, NULL);
    if (!top ||
        json_object_set_new(json_object_get(top, "error"), "fields", fields)) {
        if (!top)
            json_decref(fields);
        json_decref(top);
        return; /* the error without the list */
    }
    srv_json(c, 409, top);
}

void h_entry_verify(struct ctx *c)
{
    struct mamori_kv *kv = NULL;
    char rid[MAMORI_ID_LEN + 1], *list = NULL;
    const char *id;
    size_t n;
    int rc;

    if (entry_param(c, 0, &id) || rt_body_kv(c, &kv, &n))
        goto out;
    list = calloc(1, MAMORI_ENTRY_MISMATCH_MAX);
    if (!list) {
        srv_fail(c, MAMORI_ENOMEM, NULL);
        goto out;
    }
    memset(rid, 0, sizeof rid);
    rc = mamori_entry_verify(c->s, id, kv, n, rid, sizeof rid, list,
                             MAMORI_ENTRY_MISMATCH_MAX);
    if (rc == MAMORI_EMISMATCH) {
        list[MAMORI_ENTRY_MISMATCH_MAX - 1] = '\0';
        mismatch(c, list);
        goto out;
    }
    if (rc) {
        srv_fail(c, rc, NULL);
        goto out;
    }
    rid[MAMORI_ID_LEN] = '\0';
    srv_json(c, 201, json_pack("{s:s, s:s}", "record_id", rid, "entry", id));
out:
    free(list);
    free(kv);
    rt_wipe_json(c->json);
}

void h_entry_amend(struct ctx *c)
{
    struct mamori_kv *kv = NULL;
    const char *id;
    size_t n;
    int rc;

    if (entry_param(c, 0, &id) || rt_body_kv(c, &kv, &n))
        goto out;
    rc = mamori_entry_amend(c->s, id, kv, n);
    if (rc) {
        srv_fail(c, rc, NULL);
        goto out;
    }
    srv_json(c, 200, json_pack("{s:s, s:b}", "id", id, "amended", 1));
out:
    free(kv);
    rt_wipe_json(c->json);
}

void h_entries(struct ctx *c)
{
    struct mamori_entry_info *e = NULL;
    char *ds = NULL;
    size_t n = 0, i;
    json_t *arr;
    int rc = srv_query_get(c->query, "dataset", &ds);

    if (rc || (ds && !srv_dataset_name_ok(ds))) {
        srv_fail_code(c, 400, "invalid", MAMORI_EINVAL,
                      "query: dataset must be a dataset name");
        goto out;
    }
    rc = mamori_entry_list(c->s, ds, &e, &n);
    if (rc) {
        srv_fail(c, rc, NULL);
        goto out;
    }
    arr = json_array();
    for (i = 0; arr && i < n; i++) {
        json_t *o;

        e[i].id[sizeof e[i].id - 1] = '\0';
        e[i].dataset[sizeof e[i].dataset - 1] = '\0';
        e[i].entered_by[sizeof e[i].entered_by - 1] = '\0';
        o = json_pack(
            "{s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:I}", "id",
            srv_json_str(e[i].id), "dataset", srv_json_str(e[i].dataset),
            "entered_by", srv_json_str(e[i].entered_by), "created",
            srv_json_time(e[i].created), "updated", srv_json_time(e[i].updated),
            "expires", srv_json_time(e[i].expires), "version",
            (json_int_t)e[i].version, "mismatches",
            (json_int_t)e[i].mismatches);
        if (!o || json_array_append_new(arr, o)) {
            json_decref(arr);
            arr = NULL;
        }
    }
    free(e);
    srv_json(c, 200, arr);
out:
    free(ds);
}

/* ---- exports ------------------------------------------------------------- */

void h_export_request(struct ctx *c)
{
    struct mamori_export_req req;
    int64_t id = 0;
    int bad = 0, rc;

    memset(&req, 0, sizeof req);
    req.dataset = rt_opt_str(c->json, "dataset", &bad);
    req.reason = rt_opt_str(c->json, "reason", &bad);
    req.format = rt_opt_str(c->json, "format", &bad);
    req.search_field = rt_opt_str(c->json, "search_field", &bad);
    req.search_value = rt_opt_str(c->json, "search_value", &bad);
    req.encoding = rt_opt_str(c->json, "encoding", &bad);
    req.recipient_cert = rt_opt_str(c->json, "recipient_cert", &bad);
    if (bad || !req.dataset || !req.reason || !req.format) {
        srv_fail_code(c, 400, "invalid", MAMORI_EINVAL,
                      "\"dataset\", \"reason\" and \"format\" are required "
                      "strings; the others strings or absent");
        goto out;
    }
    if (!srv_dataset_name_ok(req.dataset)) {
        srv_fail_code(c, 400, "invalid", MAMORI_EINVAL,
                      "dataset: not a dataset name");
        goto out;
    }
    if (!req.search_field != !req.search_value) {
        srv_fail_code(c, 400, "invalid", MAMORI_EINVAL,
                      "\"search_field\" and \"search_value\" go together");
        goto out;
    }
    if (req.recipient_cert)
        req.recipient_cert_len = strlen(req.recipient_cert);
    rc = mamori_export_request(c->s, &req, &id);
    if (rc) {
        srv_fail(c, rc, NULL);
        goto out;
    }
    srv_json(c, 201,
             json_pack("{s:I, s:s, s:s}", "id", (json_int_t)id, "dataset",
                       req.dataset, "state", "pending"));
out:
    rt_wipe_json(c->json);
}

static void export_decide(struct ctx *c, int approve)
{
    int64_t id;
    int rc;

    if (export_param(c, &id))
        return;
    rc = approve ? mamori_export_approve(c->s, id)
                 : mamori_export_reject(c->s, id);
    if (rc) {
        srv_fail(c, rc, NULL);
        return;
    }
    srv_json(c, 200,
             json_pack("{s:I, s:s}", "id", (json_int_t)id, "state",
                       approve ? "approved" : "rejected"));
}

void h_export_approve(struct ctx *c)
{
    export_decide(c, 1);
}

void h_export_reject(struct ctx *c)
{
    export_decide(c, 0);
}

/* A char array of a library struct, null when empty. */
#define ARR_OR_NULL(a) ((a)[0] ? SRV_JSON_ARR(a) : json_null())

void h_exports(struct ctx *c)
{
    struct mamori_export_info *e = NULL;
    size_t n = 0, i;
    json_t *arr;
    int rc = mamori_export_list(c->s, &e, &n);

    if (rc) {
        srv_fail(c, rc, NULL);
        return;
    }
    arr = json_array();
    for (i = 0; arr && i < n; i++) {
        struct mamori_export_info *x = &e[i];
        json_t *o;

        o = json_object();
        if (!o || json_array_append_new(arr, o) ||
            json_object_set_new(o, "id", json_integer((json_int_t)x->id)) ||
            json_object_set_new(o, "dataset", SRV_JSON_ARR(x->dataset)) ||
            json_object_set_new(o, "requester", SRV_JSON_ARR(x->requester)) ||
            json_object_set_new(o, "requested", srv_json_time(x->requested)) ||
            json_object_set_new(o, "reason", SRV_JSON_ARR(x->reason)) ||
            json_object_set_new(o, "format", SRV_JSON_ARR(x->format)) ||
            json_object_set_new(o, "encoding", SRV_JSON_ARR(x->encoding)) ||
            json_object_set_new(o, "search_field",
                                ARR_OR_NULL(x->search_field)) ||
            json_object_set_new(o, "recipient", ARR_OR_NULL(x->recipient)) ||
            json_object_set_new(o, "recipient_sha256",
                                ARR_OR_NULL(x->recipient_sha256)) ||
            json_object_set_new(o, "state", SRV_JSON_ARR(x->state)) ||
            json_object_set_new(o, "approver", ARR_OR_NULL(x->approver)) ||
            json_object_set_new(o, "decided", srv_json_time(x->decided)) ||
            json_object_set_new(o, "expires", srv_json_time(x->expires)) ||
            json_object_set_new(o, "ran", srv_json_time(x->ran)) ||
            json_object_set_new(o, "count",
                                json_integer((json_int_t)x->count)) ||
            json_object_set_new(o, "sha256", ARR_OR_NULL(x->sha256)) ||
            json_object_set_new(o, "marked_by", ARR_OR_NULL(x->marked_by)) ||
            json_object_set_new(o, "marked", srv_json_time(x->marked))) {
            json_decref(arr);
            arr = NULL;
        }
    }
    free(e);
    srv_json(c, 200, arr);
}

void h_export_mark(struct ctx *c)
{
    const char *state;
    int64_t id;
    int bad = 0, rc;

    if (export_param(c, &id))
        return;
    state = rt_opt_str(c->json, "state", &bad);
    if (bad || !state ||
        (strcmp(state, "returned") != 0 && strcmp(state, "destroyed") != 0)) {
        srv_fail_code(c, 400, "invalid", MAMORI_EINVAL,
                      "\"state\" must be \"returned\" or \"destroyed\"");
        return;
    }
    rc = mamori_export_mark(c->s, id, state);
    if (rc) {
        srv_fail(c, rc, NULL);
        return;
    }
    rt_export_spool_drop(c, id);
    srv_json(c, 200,
             json_pack("{s:I, s:s}", "id", (json_int_t)id, "state", state));
}

/* ---- backups ------------------------------------------------------------- */

/* file_sha256 only where it is known: a file just written; a listing
 * reads headers alone. */
static json_t *backup_json(const struct mamori_backup_info *b)
{
    json_t *j = json_pack(
        "{s:o, s:s, s:o, s:o, s:I, s:I, s:I, s:I, s:o, s:o, s:i}", "file",
        SRV_JSON_ARR(b->path), "kind",
        b->kind == MAMORI_BACKUP_KEYS ? "keys" : "data", "vault",
        SRV_JSON_ARR(b->vault_id), "created", srv_json_time(b->created), "size",
        (json_int_t)b->size, "records", (json_int_t)b->records, "datasets",
        (json_int_t)b->datasets, "audit_entries", (json_int_t)b->audit_entries,
        "audit_head", SRV_JSON_ARR(b->audit_head), "sha256",
        SRV_JSON_ARR(b->sha256), "removed", b->removed);

    if (j && b->file_sha256[0] &&
        json_object_set_new(j, "file_sha256", SRV_JSON_ARR(b->file_sha256)) !=
            0) {
        json_decref(j);
        j = NULL;
    }
    return j;
}

void h_backups(struct ctx *c)
{
    struct mamori_backup_info *b = NULL;
    size_t n = 0, i;
    json_t *arr;
    int rc = mamori_backup_list(c->s, NULL, &b, &n);

    if (rc) {
        srv_fail(c, rc, NULL);
        return;
    }
    arr = json_array();
    for (i = 0; arr && i < n; i++) {
        json_t *o = backup_json(&b[i]);

        if (!o || json_array_append_new(arr, o)) {
            json_decref(arr);
            arr = NULL;
        }
    }
    free(b);
    srv_json(c, 200, arr);
}

void h_backup_create(struct ctx *c)
{
    struct mamori_backup_info *b = calloc(1, sizeof *b);
    int rc;

    if (!b) {
        srv_fail(c, MAMORI_ENOMEM, NULL);
        return;
    }
    rc = mamori_backup_create(c->s, NULL, 0, b);
    if (rc) {
        b->problem[sizeof b->problem - 1] = '\0';
        srv_fail(c, rc, b->problem[0] ? b->problem : NULL);
    } else {
        srv_json(c, 201, backup_json(b));
    }
    free(b);
}
