/*
 * search.c - exact-match search over the blind indexes, one value or a
 * batch split over the vault's reader connections.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "guard.h"
#include "store.h"
#include "text.h"
#include "vault.h"
#include "banned.h"

/* ---- search ------------------------------------------------------------
 * A lookup job runs a share of the values on one store connection: search
 * key, blind-index lookup with the ciphertexts, decryption, and the check
 * that drops the index's deliberate false positives. The calling thread
 * then releases the matches in value order, each id into the audit entry.
 * A batch of values is split over the vault's reader connections. */

#define SEARCH_PARALLEL_MIN 64

struct hit {
    size_t value; /* index into the values */
    struct store_record r;
    struct values vs;
};

struct search_job {
    struct mamori *m;
    struct vault_ds *d;
    struct vault_field *f;
    size_t fidx;
    const char *const *values;
    size_t lo, hi;
    struct store *store;
    struct hit *hits;
    size_t nhits, cap;
    int rc;
    int bad_empty;                 /* the failing value was empty */
    uint8_t bad_id[STORE_RID_LEN]; /* the record that failed integrity */
};

static int job_value(struct search_job *j, size_t vi)
{
    struct store_record *rows = NULL;
    size_t nrows = 0;
    struct vault_probe probe;
    char *want = NULL;
    const char *value = j->values[vi];
    int rc;

    if (!value ||
        text_search_key(j->f->type, value, strlen(value), &want) != 0 ||
        want[0] == '\0') {
        j->bad_empty = 1;
        rc = MAMORI_EINVAL;
        goto out;
    }
    vault_probe_make(j->d, j->f, want, strlen(want), &probe);
    rc = store_index_lookup(j->store, j->d->id, (int)j->fidx, probe.mac,
                            probe.maclen, vault_probe_keep, &probe, &rows,
                            &nrows);
    crypto_wipe(&probe, sizeof probe);
    for (size_t i = 0; rc == 0 && i < nrows; i++) {
        struct values vs;
        char *key = NULL;
        rc = vault_unseal(j->m, j->d, &rows[i], &vs);
        if (rc == MAMORI_ECRYPTO)
            memcpy(j->bad_id, rows[i].id, STORE_RID_LEN);
        if (rc != 0)
            break;
        int match = vs.v[j->fidx] &&
                    text_search_key(j->f->type, vs.v[j->fidx],
                                    strlen(vs.v[j->fidx]), &key) == 0 &&
                    strcmp(key, want) == 0;
        crypto_wipe_free_str(key);
        if (match && j->nhits == j->cap) {
            size_t ncap = j->cap ? j->cap * 2 : 16;
            struct hit *p = realloc(j->hits, ncap * sizeof *p);
            if (!p)
                rc = MAMORI_ENOMEM;
            else {
                j->hits = p;
                j->cap = ncap;
            }
        }
        if (match && rc == 0) {
            struct hit *h = &j->hits[j->nhits++];
            h->value = vi;
            h->r = rows[i];
            h->r.ct = NULL; /* ciphertext no longer needed */
            h->r.ctlen = 0;
            h->vs = vs;
        } else {
            vault_values_wipe(&vs, VAULT_MAX_FIELDS);
        }
    }
out:
    crypto_wipe_free_str(want);
    store_records_free(rows, nrows);
    return rc;
}

static void *job_run(void *arg)
{
    struct search_job *j = arg;
    for (size_t vi = j->lo; vi < j->hi && j->rc == 0; vi++) {
        j->rc = job_value(j, vi);
        if (j->rc != 0)
            j->hi = vi; /* the failing value */
    }
    return NULL;
}

static void job_free(struct search_job *j)
{
    for (size_t i = 0; i < j->nhits; i++)
        vault_values_wipe(&j->hits[i].vs, VAULT_MAX_FIELDS);
    free(j->hits);
}

/* The searchable field named by field, or MAMORI_EINVAL with the detail. */
static int search_field(mamori_sess *s, struct vault_ds *d, const char *field,
                        struct vault_field **f, size_t *fidx)
{
    *f = field ? vault_field_find(d, field, fidx) : NULL;
    if (*f && (*f)->searchable)
        return 0;
    if (*f)
        sess_detail(s, "field \"%s\": not searchable", (*f)->name);
    else
        sess_detail(s, "search field: no such field in dataset");
    return MAMORI_EINVAL;
}

/* Runs the lookups of values[0..n) inside the guarded call c and gives the
 * matches in value order; first[i] is where value i's matches start. */
static int search_run(mamori_sess *s, struct guard_call *c, struct vault_ds *d,
                      struct vault_field *f, size_t fidx,
                      const char *const *values, size_t n,
                      struct mamori_record ***out, size_t *nout, size_t *first)
{
    struct search_job jobs[MAMORI_READERS];
    pthread_t th[MAMORI_READERS];
    int started[MAMORI_READERS] = {0};
    size_t nj = 1, total = 0, k = 0;
    struct mamori_record **recs = NULL;
    int rc = 0;

    if (n >= SEARCH_PARALLEL_MIN && !c->fast) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        nj = cpus > 1 ? (cpus < MAMORI_READERS ? (size_t)cpus : MAMORI_READERS)
                      : 1;
    }
    memset(jobs, 0, sizeof jobs);
    for (size_t i = 0; i < nj; i++) {
        jobs[i] = (struct search_job){.m = s->m,
                                      .d = d,
                                      .f = f,
                                      .fidx = fidx,
                                      .values = values,
                                      .lo = i * n / nj,
                                      .hi = (i + 1) * n / nj,
                                      .store = c->st};
        if (nj > 1 && (rc = handle_reader(s->m, i, &jobs[i].store)) != 0)
            break;
    }
    for (size_t i = 1; rc == 0 && i < nj; i++)
        started[i] = pthread_create(&th[i], NULL, job_run, &jobs[i]) == 0;
    if (rc == 0)
        job_run(&jobs[0]);
    for (size_t i = 1; rc == 0 && i < nj; i++) {
        if (started[i])
            pthread_join(th[i], NULL);
        else
            job_run(&jobs[i]);
    }
    /* The first failure in value order decides. */
    for (size_t i = 0; rc == 0 && i < nj; i++) {
        struct search_job *j = &jobs[i];
        if (j->rc == 0)
            continue;
        rc = j->rc;
        if (j->bad_empty && n == 1) {
            sess_detail(s, "field \"%s\": search value is empty or not text",
                        f->name);
        } else if (j->bad_empty) {
            sess_detail(s,
                        "field \"%s\": search value %zu is empty or not "
                        "text",
                        f->name, j->hi + 1);
        } else if (rc == MAMORI_ECRYPTO) {
            char idtext[37];
            vault_rid_format(j->bad_id, idtext);
            sess_detail(s, "record %s failed its integrity check", idtext);
        }
    }
    for (size_t i = 0; i < nj; i++)
        total += jobs[i].nhits;
    if (rc == 0) {
        recs = calloc(total ? total : 1, sizeof *recs);
        if (!recs)
            rc = MAMORI_ENOMEM;
    }
    for (size_t i = 0; rc == 0 && i < nj; i++) {
        for (size_t h = 0; rc == 0 && h < jobs[i].nhits; h++) {
            struct hit *hit = &jobs[i].hits[h];
            char idtext[37];
            while (first && k <= hit->value)
                first[k++] = *nout;
            vault_rid_format(hit->r.id, idtext);
            rc = guard_add_id(c, idtext);
            if (rc == 0)
                rc = vault_record_out(d, &hit->r, &hit->vs, c->view,
                                      &recs[*nout]);
            if (rc == 0)
                (*nout)++;
        }
    }
    if (rc == 0 && first)
        while (k <= n)
            first[k++] = *nout;
    for (size_t i = 0; i < nj; i++)
        job_free(&jobs[i]);
    if (rc != 0) {
        mamori_record_array_free(recs, *nout);
        recs = NULL;
        *nout = 0;
    }
    *out = recs;
    return rc;
}

int mamori_record_search(mamori_sess *s, const char *dataset, const char *field,
                         const char *value, struct mamori_record ***out,
                         size_t *n)
{
    size_t first[2];
    return mamori_record_search_many(s, dataset, field, &value, 1, out, n,
                                     first);
}

/* A search through the read gate (fast: one or a few values) or the
 * ordinary one. */
static int search_many(mamori_sess *s, int fast, const char *dataset,
                       const char *field, const char *const *values,
                       size_t nvalues, struct mamori_record ***out, size_t *n,
                       size_t *first)
{
    struct guard_call c;
    struct vault_ds *d;
    struct vault_field *f = NULL;
    struct mamori_record **recs = NULL;
    size_t nrec = 0, fidx = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if (!values || !first || nvalues == 0)
        return MAMORI_EINVAL;
    rc = fast ? guard_read_begin(&c, s, OP_RECORD_SEARCH, dataset)
              : guard_begin(&c, s, OP_RECORD_SEARCH, dataset);
    if (rc != 0)
        return rc;
    rc = vault_ds_of(&c, &d);
    if (rc == 0)
        rc = search_field(s, d, field, &f, &fidx);
    if (rc == 0 && f->type == FT_MYNUMBER && !c.handler) {
        /* Looking a person up by My Number is handling it. */
        sess_detail(s,
                    "field \"%s\": only the dataset's My Number handlers "
                    "may search by My Number",
                    f->name);
        snprintf(c.detail, sizeof c.detail, "by %s: My Number, not a handler",
                 f->name);
        rc = MAMORI_EDENIED;
    }
    if (rc == 0) {
        if (nvalues == 1)
            snprintf(c.detail, sizeof c.detail, "by %s", f->name);
        else
            snprintf(c.detail, sizeof c.detail, "by %s, %zu values", f->name,
                     nvalues);
        rc =
            search_run(s, &c, d, f, fidx, values, nvalues, &recs, &nrec, first);
    }
    c.count = (int64_t)nrec;
    rc = guard_end(&c, rc);
    if (rc != 0) {
        mamori_record_array_free(recs, nrec);
        return rc;
    }
    *out = recs;
    *n = nrec;
    return 0;
}

int mamori_record_search_many(mamori_sess *s, const char *dataset,
                              const char *field, const char *const *values,
                              size_t nvalues, struct mamori_record ***out,
                              size_t *n, size_t *first)
{
    /* A batch of lookups is one call on the writer's side anyway, in
     * parallel on the handle's own readers. */
    int rc = GUARD_SLOW;
    if (nvalues < SEARCH_PARALLEL_MIN)
        rc = search_many(s, 1, dataset, field, values, nvalues, out, n, first);
    if (rc == GUARD_SLOW)
        rc = search_many(s, 0, dataset, field, values, nvalues, out, n, first);
    return rc;
}
