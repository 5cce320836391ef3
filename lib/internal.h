/*
 * internal.h - the structs behind the public handles, shared by the domain
 * modules (guard.c, auth.c, vault.c, audit.c). Front ends never see them.
 */
#ifndef MAMORI_INTERNAL_H
#define MAMORI_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include "crypto.h"
#include "mamori.h"
#include "store.h"
#include "text.h"

struct keys;
struct vault_ds;

/* Read-only store connections of a handle, for parallel reads (audit
 * verification, batch search); opened on first use. */
#define MAMORI_READERS 2

struct mamori {
    char home[4096];
    char vault_id[37];
    struct store *store;
    struct store *readers[MAMORI_READERS];
    struct keys *keys;
    /* One store connection per handle: calls on a handle are serialised. */
    pthread_mutex_t lock;
    /* Audit writer: the current epoch's key schedule. */
    uint64_t audit_epoch;
    struct crypto_hmac_key *audit_key;
    /* Datasets opened so far (keys and parsed schema), see vault.c. */
    struct vault_ds *ds_cache;
    int test_hooks;
};

#define SESS_STR 64

struct mamori_sess {
    struct mamori *m;
    struct store_user user;
    uint8_t token_hash[32];
    char device[SESS_STR];
    char address[SESS_STR];
    char request_id[SESS_STR];
    long os_uid;
    unsigned restricted; /* MAMORI_NEED_* still to do */
    char reason[256];
    char errdetail[256];
};

/* Current time (unix seconds). Tests can pin it with MAMORI_TEST_HOOKS=1
 * and MAMORI_TEST_NOW=<seconds>. */
int64_t mamori_now(void);

/* Sets s->errdetail (printf-style); never pass personal values. */
void sess_detail(mamori_sess *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Reader connection i (< MAMORI_READERS) of m, opened on first use. Call
 * with m->lock held; each reader serves one thread at a time. */
int handle_reader(struct mamori *m, size_t i, struct store **out);

/* Frees the dataset cache (vault.c). */
void vault_cache_free(struct mamori *m);

#endif
