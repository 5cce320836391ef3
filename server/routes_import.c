/*
 * routes_import.c - POST /api/v1/datasets/{ds}/import: a CSV upload
 * imported with mamori_import. The body is never held whole in memory:
 * mhd.c spools it, encrypted, as it arrives (rq->upload); the import
 * starts once it is all in, and reads it back from the spool at full
 * speed, so that a slow client never holds the vault. Without an upload
 * (the fuzz target) the body in memory is the source. The answer is the counts,
 * the SHA-256 and the problems (line, column, rule: never a value; a
 * rejected row has one per invalid value), the first IMPORT_PROBLEMS_MAX of
 * them and how many more were found; when bad rows stop the import, the
 * same object is the 422's error.detail.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "i18n.h"
#include "mamorid.h"
#include "routes.h"
#include "banned.h"

/* Problems listed in an answer; the counts still cover every row. */
#define IMPORT_PROBLEMS_MAX 1000

struct mem_src {
    const char *p;
    size_t left;
};

static long mem_read(void *arg, void *buf, size_t len)
{
    struct mem_src *m = arg;
    size_t n = len < m->left ? len : m->left;

    if (n > 0x7fffffff)
        n = 0x7fffffff;
    memcpy(buf, m->p, n);
    m->p += n;
    m->left -= n;
    return (long)n;
}

struct problems {
    json_t *arr;
    uint64_t count;
    int failed;
};

static void on_problem(void *arg, const struct mamori_problem *p)
{
    struct problems *pr = arg;
    json_t *o;

    pr->count++;
    if (pr->failed || json_array_size(pr->arr) >= IMPORT_PROBLEMS_MAX)
        return;
    o = json_pack("{s:I, s:o, s:o, s:s}", "line", (json_int_t)p->line, "column",
                  srv_json_str(p->column ? p->column : ""), "rule",
                  /* in the request's language: srv_handle set it */
                  srv_json_str(p->rule ? _(p->rule) : ""), "kind",
                  mamori_problem_kind_name(p->kind));
    if (!o || json_array_append_new(pr->arr, o))
        pr->failed = 1;
}

/* text/csv, with or without parameters (charset is not used: the query's
 * encoding says how the bytes are read). */
static int media_is_csv(const char *ct)
{
    size_t n;

    if (!ct)
        return 0;
    while (*ct == ' ')
        ct++;
    n = strcspn(ct, "; ");
    return n == 8 && strncasecmp(ct, "text/csv", 8) == 0;
}

/* Column maps of one import (map=COLUMN=FIELD, repeated): at most
 * IMPORT_MAPS_MAX, each at most IMPORT_MAP_LEN bytes (a header cell's 255,
 * '=' and a field name's 63). */
#define IMPORT_MAPS_MAX 32
#define IMPORT_MAP_LEN 320

/* The query, decoded; the maps point into its values. */
struct import_query {
    char **names, **values;
    size_t n;
    struct mamori_kv map[IMPORT_MAPS_MAX];
    size_t nmap;
};

static void import_query_free(struct import_query *q)
{
    srv_query_free(q->names, q->values, q->n);
    memset(q, 0, sizeof *q);
}

/* map parameter k (from 1), value v: split at its last '=' as the CLI's
 * --map is (a column name may hold one); 0, or -1 with the answer set. */
static int query_map(struct ctx *c, struct import_query *q, char *v)
{
    char detail[256], *eq;
    size_t k = q->nmap + 1;

    if (q->nmap == IMPORT_MAPS_MAX) {
        snprintf(detail, sizeof detail, _("query: more than %d map parameters"),
                 IMPORT_MAPS_MAX);
        srv_fail_code(c, 400, "invalid", MAMORI_EINVAL, detail);
        return -1;
    }
    if (strlen(v) > IMPORT_MAP_LEN) {
        snprintf(detail, sizeof detail,
                 _("query: map %zu is longer than %d bytes"), k,
                 IMPORT_MAP_LEN);
        srv_fail_code(c, 400, "invalid", MAMORI_EINVAL, detail);
        return -1;
    }
    eq = strrchr(v, '=');
    if (!eq || eq == v || !eq[1]) {
        snprintf(detail, sizeof detail,
                 _("query: map %zu: expected COLUMN=FIELD (a column of the "
                   "file, '=', a field of the dataset)"),
                 k);
        srv_fail_code(c, 400, "invalid", MAMORI_EINVAL, detail);
        return -1;
    }
    *eq = '\0';
    q->map[q->nmap].name = v;
    q->map[q->nmap].value = eq + 1;
    q->nmap++;
    return 0;
}

static int query_opts(struct ctx *c, struct mamori_import_opts *o,
                      struct import_query *q)
{
    const char *enc = NULL, *skip = NULL;
    size_t i;

    if (srv_query_all(c->query, &q->names, &q->values, &q->n) != 0) {
        srv_fail_code(c, 400, "invalid", MAMORI_EINVAL,
                      "query: bad percent-encoding or too many parameters");
        return -1;
    }
    for (i = 0; i < q->n; i++) {
        if (strcmp(q->names[i], "encoding") == 0) {
            if (!enc)
                enc = q->values[i];
        } else if (strcmp(q->names[i], "skip_invalid") == 0) {
            if (!skip)
                skip = q->values[i];
        } else if (strcmp(q->names[i], "map") == 0) {
            if (query_map(c, q, q->values[i]) != 0)
                return -1;
        }
    }
    if (mamori_encoding_parse(enc, &o->encoding) != 0)
        goto bad;
    if (!skip || strcmp(skip, "0") == 0)
        o->skip_invalid = 0;
    else if (strcmp(skip, "1") == 0)
        o->skip_invalid = 1;
    else
        goto bad;
    o->map = q->nmap ? q->map : NULL;
    o->nmap = q->nmap;
    return 0;
bad:
    srv_fail_code(c, 400, "invalid", MAMORI_EINVAL,
                  "query: encoding must be auto, utf-8 or cp932 and "
                  "skip_invalid 0 or 1");
    return -1;
}

static json_t *result_json(const struct mamori_import_result *r,
                           struct problems *pr)
{
    json_t *o;
    char sha[sizeof r->sha256];
    uint64_t listed = json_array_size(pr->arr);
    uint64_t more = pr->count > listed ? pr->count - listed : 0;

    memcpy(sha, r->sha256, sizeof sha);
    sha[sizeof sha - 1] = '\0';
    o = json_pack("{s:I, s:I, s:I, s:I, s:s, s:O, s:b, s:I}", "rows",
                  (json_int_t)r->rows, "imported", (json_int_t)r->imported,
                  "rejected", (json_int_t)r->rejected, "duplicates",
                  (json_int_t)r->duplicates, "sha256", sha, "problems", pr->arr,
                  "problems_truncated", more > 0, "problems_omitted",
                  (json_int_t)more);
    return o;
}

void h_import(struct ctx *c)
{
    const struct srv_upload *up = c->rq->upload;
    struct mamori_import_opts o;
    struct import_query q;
    struct mamori_import_result res;
    struct mamori_source src;
    struct mem_src mem;
    struct problems pr;
    const char *ds;
    char detail[160];
    int rc, st;

    memset(&o, 0, sizeof o);
    memset(&q, 0, sizeof q);
    memset(&res, 0, sizeof res);
    memset(&pr, 0, sizeof pr);
    if (rt_ds_param(c, &ds) != 0)
        return;
    if (up && up->state(up->src.arg) == SRV_UPLOAD_TOO_BIG) {
        snprintf(detail, sizeof detail, _("the upload is over %llu bytes"),
                 (unsigned long long)up->max);
        srv_fail_code(c, 413, "too_big", MAMORI_ETOOBIG, detail);
        return;
    }
    if (!media_is_csv(c->rq->content_type)) {
        srv_fail_code(c, 415, "unsupported_media_type", MAMORI_EINVAL,
                      "the body must be text/csv");
        return;
    }
    if (query_opts(c, &o, &q) != 0)
        goto out;
    pr.arr = json_array();
    if (!pr.arr) {
        srv_fail(c, MAMORI_ENOMEM, NULL);
        goto out;
    }
    o.problem = on_problem;
    o.arg = &pr;
    if (up) {
        /* The whole body first, then the vault. The user is busy
         * uploading: the session stays alive meanwhile. */
        while (!up->wait(up->src.arg, 60)) {
            if (mamori_session_keepalive(c->s) != 0) {
                /* Ended (logout, revoked): the import refuses it. */
            }
        }
        if (up->state(up->src.arg) == SRV_UPLOAD_SPOOL) {
            srv_fail_code(c, 503, "unavailable", MAMORI_EIO,
                          "the upload could not be stored: nothing imported");
            goto out;
        }
        /* Cut off or over the limit: the import fails on its first read
         * (audited as a failed import), as it did when it was streamed. */
        src = up->src;
    } else {
        mem.p = c->rq->body ? c->rq->body : "";
        mem.left = c->rq->body_len;
        src.read = mem_read;
        src.arg = &mem;
    }
    rc = mamori_import(c->s, ds, &src, NULL, &o, &res);
    st = up ? up->state(up->src.arg) : 0;
    if (st == SRV_UPLOAD_TOO_BIG) {
        snprintf(detail, sizeof detail, _("the upload is over %llu bytes"),
                 (unsigned long long)up->max);
        srv_fail_code(c, 413, "too_big", MAMORI_ETOOBIG, detail);
    } else if (st == SRV_UPLOAD_CUT) {
        srv_fail_code(c, 400, "cut_off", MAMORI_EIO,
                      "the upload ended before its end: nothing imported");
    } else if (pr.failed) {
        srv_fail(c, MAMORI_ENOMEM, NULL);
    } else if (rc == 0) {
        srv_json(c, 200, result_json(&res, &pr));
    } else if (rc == MAMORI_EINVAL && pr.count > 0) {
        srv_fail_json(c, 422, "rejected", rc, result_json(&res, &pr));
    } else {
        srv_fail(c, rc, NULL);
    }
out:
    json_decref(pr.arr);
    import_query_free(&q);
}
