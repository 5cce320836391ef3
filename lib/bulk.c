/*
 * bulk.c - adding many records in one transaction: a bulk handle holds the
 * gate open (one transaction, audit entries written as ids accumulate) while
 * the caller streams rows in; commit makes all of them visible at once, or
 * none. Worker threads validate, encrypt and index chunks of rows; the
 * calling thread writes the chunks to the store in row order.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guard.h"
#include "store.h"
#include "vault.h"
#include "banned.h"

#define BULK_CHUNK 256
#define BULK_THREADS 2

struct mamori_bulk {
    struct guard_call c;
    struct vault_ds *d;
    size_t rows; /* rows added so far */
    int failed;  /* an add failed: only abort is possible */
};

/* One mamori_bulk_add call: the rows and the workers' shared state. */
struct batch {
    struct mamori *m;
    const struct vault_ds *d;
    const struct mamori_kv *kv;
    size_t per_row, nrows, nchunks;
    int64_t now;
    struct prepared *prep;
    int *chunk_rc;        /* per chunk: 0 ok, <0 error */
    size_t *bad_row;      /* per chunk: 1-based row of the error */
    struct refusal *why;  /* per chunk */
    unsigned char *ready; /* per chunk, under lock */
    size_t next;          /* next chunk to prepare, under lock */
    int stop;
    pthread_mutex_t lock;
    pthread_cond_t cond;
};

static int prepare_chunk(struct batch *b, size_t chunk)
{
    size_t lo = chunk * BULK_CHUNK, hi = lo + BULK_CHUNK;
    if (hi > b->nrows)
        hi = b->nrows;
    for (size_t row = lo; row < hi; row++) {
        struct values vs;
        int seen[VAULT_MAX_FIELDS] = {0};
        memset(&vs, 0, sizeof vs);
        int rc = vault_values_from_kv(b->d, b->kv + row * b->per_row,
                                      b->per_row, &vs, seen, &b->why[chunk]);
        if (rc == 0)
            rc = vault_prepare_new(b->m, b->d, &vs, b->now, &b->prep[row]);
        vault_values_wipe(&vs, b->d->nfields);
        if (rc != 0) {
            b->bad_row[chunk] = row + 1;
            return rc;
        }
    }
    return 0;
}

static void *worker(void *arg)
{
    struct batch *b = arg;
    for (;;) {
        pthread_mutex_lock(&b->lock);
        if (b->stop || b->next >= b->nchunks) {
            pthread_mutex_unlock(&b->lock);
            return NULL;
        }
        size_t chunk = b->next++;
        pthread_mutex_unlock(&b->lock);

        int rc = prepare_chunk(b, chunk);

        pthread_mutex_lock(&b->lock);
        b->chunk_rc[chunk] = rc;
        b->ready[chunk] = 1;
        if (rc != 0)
            b->stop = 1;
        pthread_cond_broadcast(&b->cond);
        pthread_mutex_unlock(&b->lock);
    }
}

/* Writes chunk after chunk as the workers finish them. On a refused row,
 * *bad is its chunk. */
static int write_chunks(struct batch *b, struct guard_call *c, char *ids,
                        size_t *bad)
{
    for (size_t chunk = 0; chunk < b->nchunks; chunk++) {
        pthread_mutex_lock(&b->lock);
        while (!b->ready[chunk] && !(b->stop && b->next <= chunk))
            pthread_cond_wait(&b->cond, &b->lock);
        int ready = b->ready[chunk], rc = b->chunk_rc[chunk];
        pthread_mutex_unlock(&b->lock);
        if (!ready)
            return MAMORI_EINVAL; /* a later chunk failed; found below */
        if (rc != 0) {
            *bad = chunk;
            return rc;
        }
        size_t lo = chunk * BULK_CHUNK, hi = lo + BULK_CHUNK;
        if (hi > b->nrows)
            hi = b->nrows;
        for (size_t row = lo; row < hi; row++) {
            struct prepared *p = &b->prep[row];
            char *id = ids + row * (MAMORI_ID_LEN + 1);
            rc = vault_write_new(b->m, b->d, p);
            vault_rid_format(p->r.id, id);
            if (rc == 0)
                rc = guard_add_id(c, id);
            free(p->r.ct);
            p->r.ct = NULL;
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}

static int run_batch(struct mamori_bulk *h, struct batch *b, char *ids)
{
    pthread_t th[BULK_THREADS];
    size_t nth = 0, bad = SIZE_MAX, want = BULK_THREADS;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int rc;

    if (cpus > 0 && (size_t)cpus < want)
        want = (size_t)cpus;
    for (; nth < want && nth < b->nchunks; nth++)
        if (pthread_create(&th[nth], NULL, worker, b) != 0)
            break;
    rc = nth == 0 ? MAMORI_ENOMEM : write_chunks(b, &h->c, ids, &bad);
    pthread_mutex_lock(&b->lock);
    b->stop = 1;
    pthread_mutex_unlock(&b->lock);
    for (size_t i = 0; i < nth; i++)
        pthread_join(th[i], NULL);
    if (rc == MAMORI_EINVAL && bad == SIZE_MAX) {
        /* The refused row with the lowest number. */
        for (size_t k = 0; k < b->nchunks; k++)
            if (b->ready[k] && b->chunk_rc[k] != 0) {
                bad = k;
                rc = b->chunk_rc[k];
                break;
            }
    }
    if (rc == MAMORI_EINVAL && bad != SIZE_MAX)
        vault_refusal_report(h->c.s, &h->c, h->d,
                             b->kv + (b->bad_row[bad] - 1) * b->per_row,
                             h->rows + b->bad_row[bad], &b->why[bad]);
    return rc;
}

int mamori_bulk_begin(mamori_sess *s, const char *dataset, mamori_bulk **out)
{
    mamori_bulk *h;
    int rc;

    *out = NULL;
    h = calloc(1, sizeof *h);
    if (!h)
        return MAMORI_ENOMEM;
    rc = guard_begin(&h->c, s, OP_RECORD_ADD, dataset);
    if (rc != 0) {
        free(h);
        return rc;
    }
    rc = vault_ds_load(s->m, &h->c.ds, &h->d);
    if (rc != 0) {
        (void)guard_end(&h->c, rc);
        free(h);
        return rc;
    }
    *out = h;
    return 0;
}

int mamori_bulk_add(mamori_bulk *h, const struct mamori_kv *kv, size_t per_row,
                    size_t nrows, char *ids, size_t ids_size)
{
    struct batch b;
    size_t clear = 0; /* bytes of ids to clear on failure, once checked */
    int rc = MAMORI_EINVAL;

    if (!h)
        return MAMORI_EINVAL;
    if (h->failed)
        return MAMORI_ESTATE;
    if (!ids || nrows == 0 || nrows > SIZE_MAX / (MAMORI_ID_LEN + 1) ||
        ids_size < nrows * (MAMORI_ID_LEN + 1) || (per_row && !kv) ||
        per_row > VAULT_MAX_FIELDS)
        goto out;
    clear = nrows * (MAMORI_ID_LEN + 1);
    memset(ids, 0, clear);
    /* My Numbers come in only from the dataset's handlers. */
    for (size_t row = 0; !h->c.handler && row < nrows; row++) {
        rc = vault_mynumber_check(h->c.s, &h->c, h->d, kv + row * per_row,
                                  per_row, h->rows + row + 1, 0);
        if (rc != 0)
            goto out;
    }
    memset(&b, 0, sizeof b);
    b.m = h->c.s->m;
    b.d = h->d;
    b.kv = kv;
    b.per_row = per_row;
    b.nrows = nrows;
    b.nchunks = (nrows + BULK_CHUNK - 1) / BULK_CHUNK;
    b.now = mamori_now();
    b.prep = calloc(nrows, sizeof *b.prep);
    b.chunk_rc = calloc(b.nchunks, sizeof *b.chunk_rc);
    b.bad_row = calloc(b.nchunks, sizeof *b.bad_row);
    b.why = calloc(b.nchunks, sizeof *b.why);
    b.ready = calloc(b.nchunks, 1);
    if (!b.prep || !b.chunk_rc || !b.bad_row || !b.why || !b.ready) {
        rc = MAMORI_ENOMEM;
    } else {
        pthread_mutex_init(&b.lock, NULL);
        pthread_cond_init(&b.cond, NULL);
        rc = run_batch(h, &b, ids);
        pthread_cond_destroy(&b.cond);
        pthread_mutex_destroy(&b.lock);
    }
    if (b.prep) {
        for (size_t i = 0; i < nrows; i++)
            free(b.prep[i].r.ct);
        free(b.prep);
    }
    free(b.chunk_rc);
    free(b.bad_row);
    free(b.why);
    free(b.ready);
out:
    if (rc == 0) {
        h->rows += nrows;
    } else {
        h->failed = rc;
        if (clear)
            memset(ids, 0, clear);
    }
    return rc;
}

int mamori_bulk_commit(mamori_bulk *h)
{
    int rc;
    if (!h)
        return MAMORI_EINVAL;
    h->c.count = (int64_t)h->rows;
    rc = guard_end(&h->c, h->failed ? MAMORI_ESTATE : 0);
    free(h);
    return rc;
}

void mamori_bulk_abort(mamori_bulk *h)
{
    if (!h)
        return;
    h->c.count = 0;
    (void)guard_end(&h->c, h->failed ? h->failed : MAMORI_ESTATE);
    free(h);
}

int mamori_record_add_many(mamori_sess *s, const char *dataset,
                           const struct mamori_kv *kv, size_t per_row,
                           size_t nrows, char *ids, size_t ids_size)
{
    mamori_bulk *h;
    int rc = mamori_bulk_begin(s, dataset, &h);
    if (rc != 0)
        return rc;
    rc = mamori_bulk_add(h, kv, per_row, nrows, ids, ids_size);
    if (rc != 0) {
        mamori_bulk_abort(h);
        return rc;
    }
    rc = mamori_bulk_commit(h);
    if (rc != 0)
        memset(ids, 0, nrows * (MAMORI_ID_LEN + 1));
    return rc;
}
