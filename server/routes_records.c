/*
 * routes_records.c - the dataset and record routes: the list of datasets,
 * search, and a record's get, add, update and delete. Answers in the
 * shapes of the CLI's --json output; personal values in bodies and answers
 * are wiped before they are freed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mamorid.h"
#include "routes.h"
#include "banned.h"

static int id_param(struct ctx *c, const char **id)
{
    if (c->nparams < 2 || !srv_uuid_ok(c->params[1])) {
        srv_fail_code(c, 400, "invalid", MAMORI_EINVAL,
                      "path: the record id is not a UUID");
        return -1;
    }
    *id = c->params[1];
    return 0;
}

json_t *srv_record_json(const struct mamori_record *r)
{
    json_t *o = json_object();
    char id[MAMORI_ID_LEN + 1];
    size_t i;

    memcpy(id, r->id, sizeof id);
    id[MAMORI_ID_LEN] = '\0';
    if (!o || json_object_set_new(o, "id", srv_json_str(id)) ||
        json_object_set_new(o, "version", json_integer(r->version)) ||
        json_object_set_new(o, "masked", json_boolean(r->masked)))
        goto fail;
    for (i = 0; i < r->n; i++) {
        const char *name = r->fields[i].name ? r->fields[i].name : "";
        char key[80];

        /* As the CLI: a field called "id" does not hide the record's. */
        if (json_object_get(o, name)) {
            snprintf(key, sizeof key, "field:%s", name);
            name = key;
        }
        if (json_object_set_new(o, name, srv_json_str(r->fields[i].value)))
            goto fail;
    }
    return o;
fail:
    json_decref(o);
    return NULL;
}

static json_t *dataset_json(const struct mamori_dataset_info *d)
{
    json_t *o = json_object(), *fa = json_array();
    size_t k;

    if (!o || !fa)
        goto fail;
    for (k = 0; k < d->nfields; k++) {
        json_t *f = json_object();

        if (!f || json_array_append_new(fa, f) ||
            json_object_set_new(f, "name", srv_json_str(d->fields[k].name)) ||
            json_object_set_new(f, "type", srv_json_str(d->fields[k].type)) ||
            json_object_set_new(f, "searchable",
                                json_boolean(d->fields[k].searchable)) ||
            json_object_set_new(f, "key", json_boolean(d->fields[k].key)))
            goto fail;
    }
    if (json_object_set_new(o, "name", srv_json_str(d->name)) ||
        json_object_set_new(o, "client", srv_json_str(d->client)) ||
        json_object_set_new(o, "purpose", srv_json_str(d->purpose)) ||
        json_object_set_new(o, "state", srv_json_str(d->state)) ||
        json_object_set_new(o, "ends",
                            d->ends[0] ? srv_json_str(d->ends) : json_null()) ||
        json_object_set_new(o, "created", srv_json_time(d->created)) ||
        json_object_set_new(o, "records", json_integer(d->records)) ||
        json_object_set_new(o, "require_reason",
                            json_boolean(d->require_reason)) ||
        json_object_set(o, "fields", fa))
        goto fail;
    json_decref(fa);
    return o;
fail:
    json_decref(fa);
    json_decref(o);
    return NULL;
}

void h_datasets(struct ctx *c)
{
    struct mamori_dataset_info *list = NULL;
    size_t n = 0, i;
    json_t *arr;
    int rc = mamori_dataset_list(c->s, &list, &n);

    if (rc) {
        srv_fail(c, rc, NULL);
        return;
    }
    arr = json_array();
    for (i = 0; arr && i < n; i++) {
        json_t *o = dataset_json(&list[i]);

        if (!o || json_array_append_new(arr, o)) {
            json_decref(arr);
            arr = NULL;
        }
    }
    mamori_dataset_list_free(list, n);
    srv_json(c, 200, arr);
}

void h_search(struct ctx *c)
{
    struct mamori_record **rs = NULL;
    char **names = NULL, **values = NULL;
    size_t nq = 0, n = 0, i;
    const char *ds;
    json_t *arr;
    int rc;

    if (rt_ds_param(c, &ds))
        return;
    rc = srv_query_all(c->query, &names, &values, &nq);
    if (rc) {
        srv_fail_code(c, 400, "invalid", MAMORI_EINVAL,
                      "query: bad percent-encoding or too many parameters");
        return;
    }
    if (nq != 1 || !names[0][0]) {
        srv_fail_code(c, 400, "invalid", MAMORI_EINVAL,
                      "search takes exactly one FIELD=VALUE query parameter");
        goto out;
    }
    rc = mamori_record_search(c->s, ds, names[0], values[0], &rs, &n);
    if (rc) {
        srv_fail(c, rc, NULL);
        goto out;
    }
    arr = json_array();
    for (i = 0; arr && i < n; i++) {
        json_t *o = srv_record_json(rs[i]);

        if (!o || json_array_append_new(arr, o)) {
            json_decref(arr);
            arr = NULL;
        }
    }
    mamori_record_array_free(rs, n);
    if (arr) {
        json_incref(arr);
        srv_json(c, 200, arr);
        rt_wipe_json(arr);
        json_decref(arr);
    } else {
        srv_fail(c, MAMORI_ENOMEM, NULL);
    }
out:
    srv_query_free(names, values, nq);
}

/* A record read's answer: the record as JSON, or the error. */
static void record_answer(struct ctx *c, int rc, struct mamori_record *r)
{
    json_t *o;
    char *text;
    size_t len;

    if (rc) {
        srv_fail(c, rc, NULL);
        return;
    }
    if (srv_record_text(r, &text, &len) == 0) {
        mamori_record_free(r);
        srv_resp_release(c->rs);
        c->rs->content_type = "application/json";
        c->rs->body = text;
        c->rs->body_len = len;
        c->rs->status = 200;
        return;
    }
    o = srv_record_json(r);
    mamori_record_free(r);
    if (!o) {
        srv_fail(c, MAMORI_ENOMEM, NULL);
        return;
    }
    json_incref(o);
    srv_json(c, 200, o);
    rt_wipe_json(o);
    json_decref(o);
}

/* The deferred read's verdict is in. */
static void record_get_finish(struct ctx *c, mamori_later *ml)
{
    struct mamori_record *r = NULL;
    int rc = mamori_later_end(ml, &r);

    record_answer(c, rc, r);
}

/* The read does not wait for its audit entry's commit in MHD's thread:
 * the answer is deferred until it is (later.c). */
void h_record_get(struct ctx *c)
{
    struct mamori_record *r = NULL;
    struct srv_later *l;
    mamori_later *ml = NULL;
    const char *ds, *id;
    int rc;

    if (rt_ds_param(c, &ds) || id_param(c, &id))
        return;
    l = srv_later_new(c);
    if (!l) {
        srv_fail(c, MAMORI_ENOMEM, NULL);
        return;
    }
    rc = mamori_record_get_later(c->s, ds, id, srv_later_ready, l, &r, &ml);
    if (rc == 0 && ml) {
        srv_defer(c, l, ml, record_get_finish);
        return;
    }
    srv_later_cancel(l);
    record_answer(c, rc, r);
}

void h_record_add(struct ctx *c)
{
    struct mamori_kv *kv = NULL;
    char id[MAMORI_ID_LEN + 1];
    const char *ds;
    size_t n;
    int rc;

    if (rt_ds_param(c, &ds) || rt_body_kv(c, &kv, &n))
        goto out;
    memset(id, 0, sizeof id);
    rc = mamori_record_add(c->s, ds, kv, n, id, sizeof id);
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

void h_record_update(struct ctx *c)
{
    struct mamori_kv *kv = NULL;
    const char *ds, *id;
    size_t n;
    int rc;

    if (rt_ds_param(c, &ds) || id_param(c, &id) || rt_body_kv(c, &kv, &n))
        goto out;
    rc = mamori_record_update(c->s, ds, id, kv, n);
    if (rc) {
        srv_fail(c, rc, NULL);
        goto out;
    }
    srv_json(c, 200, json_pack("{s:s, s:b}", "id", id, "updated", 1));
out:
    free(kv);
    rt_wipe_json(c->json);
}

void h_record_delete(struct ctx *c)
{
    const char *ds, *id;
    int rc;

    if (rt_ds_param(c, &ds) || id_param(c, &id))
        return;
    rc = mamori_record_delete(c->s, ds, id);
    if (rc) {
        srv_fail(c, rc, NULL);
        return;
    }
    srv_json(c, 200, json_pack("{s:s, s:b}", "id", id, "deleted", 1));
}
