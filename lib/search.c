/*
 * search.c - exact-match search over the blind indexes, one value or a
 * batch shared between the writer's connection and the vault's readers.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "guard.h"
#include "store.h"
#include "text.h"
#include "vault.h"
#include "workers.h"
#include "banned.h"

/* ---- search ------------------------------------------------------------
 * A lookup job runs values on one store connection: search key, blind-index
 * lookup (the entries' checks drop most of the index's deliberate false
 * positives), decryption, and the comparison that drops the rest. The
 * calling thread then releases the matches in value order, each id into
 * the audit entry. A batch is shared by the writer's connection (its cache
 * outlives its commits) and the vault's readers (their map of the file
 * does, store_map_kept; each reads the batch in one snapshot): each job
 * takes the next SEARCH_CHUNK values until none are left, so a job that
 * starts late or is descheduled leaves its share to the others. */

#define SEARCH_PARALLEL_MIN 64
#define SEARCH_CHUNK 16

/* The values of a batch, handed out in chunks. */
struct search_work {
    size_t n;
    atomic_size_t next;
    atomic_int stop; /* a job failed: take no further chunk */
};

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
    struct search_work *work;
    struct store *store;
    int reader; /* store is one of the vault's readers */
    struct hit *hits;
    size_t nhits, cap;
    int rc;
    size_t bad_value;              /* the value that failed */
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

/* Chunks are taken in value order and a job finishes the chunk it holds:
 * when one fails, every value before it has been or is being looked up, so
 * the first failure in value order is among the jobs' failures. */
static void *job_run(void *arg)
{
    struct search_job *j = arg;
    struct search_work *w = j->work;

    /* A reader's lookups share one snapshot: one read transaction for the
     * job instead of one per statement. */
    if (j->reader && (j->rc = store_read_begin(j->store)) != 0) {
        j->bad_value = atomic_fetch_add(&w->next, SEARCH_CHUNK);
        atomic_store(&w->stop, 1);
        return NULL;
    }
    while (j->rc == 0 && !atomic_load(&w->stop)) {
        size_t lo = atomic_fetch_add(&w->next, SEARCH_CHUNK);
        size_t hi = lo + SEARCH_CHUNK < w->n ? lo + SEARCH_CHUNK : w->n;
        if (lo >= w->n)
            break;
        for (size_t vi = lo; vi < hi && j->rc == 0; vi++) {
            j->rc = job_value(j, vi);
            if (j->rc != 0) {
                j->bad_value = vi;
                atomic_store(&w->stop, 1);
            }
        }
    }
    if (j->reader)
        store_rollback(j->store);
    return NULL;
}

/* Hits in value order; one value's hits come from one job, in order. */
static int hit_cmp(const void *a, const void *b)
{
    const struct hit *x = *(const struct hit *const *)a;
    const struct hit *y = *(const struct hit *const *)b;
    if (x->value != y->value)
        return x->value < y->value ? -1 : 1;
    return x < y ? -1 : x > y;
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

/* The first failure in value order, named in the session's detail. */
static int first_failure(mamori_sess *s, const struct vault_field *f,
                         const struct search_job *jobs, size_t nj, size_t n)
{
    const struct search_job *j = NULL;

    for (size_t i = 0; i < nj; i++)
        if (jobs[i].rc != 0 && (!j || jobs[i].bad_value < j->bad_value))
            j = &jobs[i];
    if (!j)
        return 0;
    /* A number's search key is its digits: a value without any is no
     * number (a name typed into the phone field, say). */
    int digits = f->type == FT_PHONE || f->type == FT_POSTAL ||
                 f->type == FT_MYNUMBER || f->type == FT_CORPNUMBER;
    if (j->bad_empty && n == 1 && digits) {
        sess_detail(s, "field \"%s\": search value has no digits", f->name);
    } else if (j->bad_empty && n == 1) {
        sess_detail(s, "field \"%s\": search value is empty or not text",
                    f->name);
    } else if (j->bad_empty && digits) {
        sess_detail(s, "field \"%s\": search value %zu has no digits", f->name,
                    j->bad_value + 1);
    } else if (j->bad_empty) {
        sess_detail(s, "field \"%s\": search value %zu is empty or not text",
                    f->name, j->bad_value + 1);
    } else if (j->rc == MAMORI_ECRYPTO) {
        char idtext[37];
        vault_rid_format(j->bad_id, idtext);
        sess_detail(s, "record %s failed its integrity check", idtext);
    }
    return j->rc;
}

/* The jobs' matches as records in value order, each id into the audit
 * entry; first[i] is where value i's matches start. */
static int release_hits(struct guard_call *c, struct vault_ds *d,
                        struct search_job *jobs, size_t nj, size_t n,
                        struct mamori_record ***out, size_t *nout,
                        size_t *first)
{
    struct hit **order;
    struct mamori_record **recs;
    size_t total = 0, k = 0;
    int rc = 0;

    for (size_t i = 0; i < nj; i++)
        total += jobs[i].nhits;
    order = malloc((total ? total : 1) * sizeof *order);
    recs = calloc(total ? total : 1, sizeof *recs);
    if (!order || !recs) {
        free(order);
        free(recs);
        return MAMORI_ENOMEM;
    }
    for (size_t i = 0; i < nj; i++)
        for (size_t h = 0; h < jobs[i].nhits; h++)
            order[k++] = &jobs[i].hits[h];
    qsort(order, total, sizeof *order, hit_cmp);
    k = 0;
    for (size_t h = 0; rc == 0 && h < total; h++) {
        struct hit *hit = order[h];
        char idtext[37];
        while (first && k <= hit->value)
            first[k++] = *nout;
        vault_rid_format(hit->r.id, idtext);
        rc = guard_add_id(c, idtext);
        if (rc == 0)
            rc = vault_record_out(d, &hit->r, &hit->vs, c->view, &recs[*nout]);
        if (rc == 0)
            (*nout)++;
    }
    if (rc == 0 && first)
        while (k <= n)
            first[k++] = *nout;
    free(order);
    if (rc != 0) {
        mamori_record_array_free(recs, *nout);
        recs = NULL;
        *nout = 0;
    }
    *out = recs;
    return rc;
}

/* Runs the lookups of values[0..n) inside the guarded call c and gives the
 * matches in value order; first[i] is where value i's matches start. */
static int search_run(mamori_sess *s, struct guard_call *c, struct vault_ds *d,
                      struct vault_field *f, size_t fidx,
                      const char *const *values, size_t n,
                      struct mamori_record ***out, size_t *nout, size_t *first)
{
    struct search_job jobs[MAMORI_READERS + 1];
    void *args[MAMORI_READERS + 1];
    struct search_work work = {.n = n};
    size_t nj = 1;
    int rc = 0;

    atomic_init(&work.next, 0);
    atomic_init(&work.stop, 0);
    if (n >= SEARCH_PARALLEL_MIN && !c->fast) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        nj = cpus > 1
                 ? (cpus <= MAMORI_READERS ? (size_t)cpus : MAMORI_READERS + 1)
                 : 1;
    }
    memset(jobs, 0, sizeof jobs);
    /* Parallel jobs read through the readers' maps, which is cheaper than
     * the writer's page cache (no copy per page); the writer's connection
     * takes a job only when there are more jobs than readers. */
    size_t r0 = nj > 1 && nj <= MAMORI_READERS ? 0 : 1;
    for (size_t i = 0; i < nj; i++) {
        int rd = i >= r0;
        jobs[i] = (struct search_job){.m = s->m,
                                      .d = d,
                                      .f = f,
                                      .fidx = fidx,
                                      .values = values,
                                      .work = &work,
                                      .store = c->st,
                                      .reader = rd};
        args[i] = &jobs[i];
        if (rd && (rc = handle_reader(s->m, i - r0, &jobs[i].store)) != 0)
            break;
        if (rd && (rc = store_map_kept(jobs[i].store)) != 0)
            break;
    }
    if (rc == 0)
        workers_run(&s->m->workers, nj, job_run, args);
    if (rc == 0)
        rc = first_failure(s, f, jobs, nj, n);
    if (rc == 0)
        rc = release_hits(c, d, jobs, nj, n, out, nout, first);
    for (size_t i = 0; i < nj; i++)
        job_free(&jobs[i]);
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

/* Whether the caller may search by field f: looking a person up by My
 * Number is handling it (handlers only); a viewer, who sees every value
 * masked, searches by a name or its reading only, since searches by
 * another field would tell its hidden part, one guess at a time (a birth
 * date in 366). MAMORI_EDENIED with the details. */
static int search_by_allowed(mamori_sess *s, struct guard_call *c,
                             const struct vault_field *f)
{
    const char *why;

    if (f->type == FT_MYNUMBER && !c->handler) {
        sess_detail(s,
                    "field \"%s\": only the dataset's My Number handlers "
                    "may search by My Number",
                    f->name);
        why = "My Number, not a handler";
    } else if (c->view == GUARD_VIEW_MASKED && f->type != FT_NAME &&
               f->type != FT_KANA) {
        sess_detail(s,
                    "field \"%s\": a viewer sees it masked, so may search "
                    "only by a name or its reading",
                    f->name);
        why = "masked for a viewer";
    } else {
        return 0;
    }
    snprintf(c->detail, sizeof c->detail, "by %s: %s", f->name, why);
    return MAMORI_EDENIED;
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
    if (rc != 0 && !c.refused)
        return rc;
    if (rc == 0) /* (refused: the gate's end writes it) */
        rc = vault_ds_of(&c, &d);
    if (rc == 0)
        rc = search_field(s, d, field, &f, &fidx);
    if (rc == 0)
        rc = search_by_allowed(s, &c, f);
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
