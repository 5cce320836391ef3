/*
 * authcache.c - the rows of session checks and read gates, kept against
 * the store's auth generation. See authcache.h.
 *
 * Each kind of row has a small table of slots, found by a hash of the
 * row's key (direct-mapped: a newer row takes its slot). A slot holds its
 * generation, the key and the row as the store gave it. One mutex guards
 * all tables; it is held only to copy a slot in or out.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "authcache.h"
#include "config.h"
#include "crypto.h"
#include "banned.h"

enum ac_kind { AC_SESSION, AC_USER, AC_DATASET, AC_GRANT, AC_IDLE, AC_KINDS };

/* A grant as store_grant_get tells it. */
struct ac_grant {
    int found;
    unsigned flags;
};

/* One kind's table: n slots of struct ac_slot, then keylen key bytes, then
 * vallen row bytes. */
struct ac_table {
    size_t n, keylen, vallen;
    unsigned char *slots;
};

struct ac_slot {
    int used;
    int64_t gen;
};

struct authcache {
    pthread_mutex_t mu;
    struct ac_table t[AC_KINDS];
};

static const struct {
    size_t n, keylen, vallen;
} shapes[AC_KINDS] = {
    [AC_SESSION] = {256, 32, sizeof(struct store_session)},
    [AC_USER] = {64, sizeof(int64_t), sizeof(struct store_user)},
    [AC_DATASET] = {16, sizeof((struct store_dataset *)0)->name,
                    sizeof(struct store_dataset)},
    [AC_GRANT] = {128, 2 * sizeof(int64_t), sizeof(struct ac_grant)},
    [AC_IDLE] = {1, 1, sizeof(int)},
};

static size_t slot_size(const struct ac_table *t)
{
    return sizeof(struct ac_slot) + t->keylen + t->vallen;
}

struct authcache *authcache_new(void)
{
    struct authcache *ac = calloc(1, sizeof *ac);

    if (!ac)
        return NULL;
    if (pthread_mutex_init(&ac->mu, NULL) != 0) {
        free(ac);
        return NULL;
    }
    for (int k = 0; k < AC_KINDS; k++) {
        struct ac_table *t = &ac->t[k];
        t->n = shapes[k].n;
        t->keylen = shapes[k].keylen;
        t->vallen = shapes[k].vallen;
        t->slots = calloc(t->n, slot_size(t));
        if (!t->slots) {
            authcache_free(ac);
            return NULL;
        }
    }
    return ac;
}

void authcache_free(struct authcache *ac)
{
    if (!ac)
        return;
    for (int k = 0; k < AC_KINDS; k++) {
        struct ac_table *t = &ac->t[k];
        if (t->slots) {
            crypto_wipe(t->slots, t->n * slot_size(t));
            free(t->slots);
        }
    }
    pthread_mutex_destroy(&ac->mu);
    free(ac);
}

/* The slot of key: FNV-1a of its bytes. */
static unsigned char *slot_of(const struct ac_table *t, const void *key)
{
    const unsigned char *p = key;
    uint32_t h = 2166136261u;

    for (size_t i = 0; i < t->keylen; i++)
        h = (h ^ p[i]) * 16777619u;
    return t->slots + (h % t->n) * slot_size(t);
}

/* 1 with val filled if kind's slot of key holds it at generation gen. */
static int ac_get(struct authcache *ac, enum ac_kind kind, int64_t gen,
                  const void *key, void *val)
{
    const struct ac_table *t;
    const unsigned char *e;
    struct ac_slot hdr;
    int hit;

    if (!ac)
        return 0;
    t = &ac->t[kind];
    e = slot_of(t, key);
    pthread_mutex_lock(&ac->mu);
    memcpy(&hdr, e, sizeof hdr);
    hit = hdr.used && hdr.gen == gen &&
          crypto_equal(e + sizeof hdr, key, t->keylen);
    if (hit)
        memcpy(val, e + sizeof hdr + t->keylen, t->vallen);
    pthread_mutex_unlock(&ac->mu);
    return hit;
}

/* Keeps val as kind's row of key at generation gen. */
static void ac_put(struct authcache *ac, enum ac_kind kind, int64_t gen,
                   const void *key, const void *val)
{
    const struct ac_table *t;
    unsigned char *e;
    struct ac_slot hdr = {1, gen};

    if (!ac)
        return;
    t = &ac->t[kind];
    e = slot_of(t, key);
    pthread_mutex_lock(&ac->mu);
    memcpy(e, &hdr, sizeof hdr);
    memcpy(e + sizeof hdr, key, t->keylen);
    memcpy(e + sizeof hdr + t->keylen, val, t->vallen);
    pthread_mutex_unlock(&ac->mu);
}

int authcache_session(struct authcache *ac, struct store *st, int64_t gen,
                      const uint8_t token_hash[32], int reload,
                      struct store_session *ss)
{
    int rc;

    if (!reload && ac_get(ac, AC_SESSION, gen, token_hash, ss))
        return 0;
    rc = store_session_get(st, token_hash, ss);
    if (rc == 0)
        ac_put(ac, AC_SESSION, gen, token_hash, ss);
    return rc;
}

int authcache_user(struct authcache *ac, struct store *st, int64_t gen,
                   int64_t id, struct store_user *u)
{
    int rc;

    if (ac_get(ac, AC_USER, gen, &id, u))
        return 0;
    rc = store_user_get_id(st, id, u);
    auth_user_wipe(u);
    if (rc == 0)
        ac_put(ac, AC_USER, gen, &id, u);
    return rc;
}

int authcache_dataset(struct authcache *ac, struct store *st, int64_t gen,
                      const char *name, struct store_dataset *d)
{
    char key[sizeof d->name] = {0};
    int rc;

    /* A name too long for the row is the store's to refuse. */
    if (!name || strlen(name) >= sizeof key)
        return store_dataset_get(st, name, d);
    memcpy(key, name, strlen(name));
    if (ac_get(ac, AC_DATASET, gen, key, d))
        return 0;
    rc = store_dataset_get(st, name, d);
    if (rc == 0)
        ac_put(ac, AC_DATASET, gen, key, d);
    return rc;
}

int authcache_grant(struct authcache *ac, struct store *st, int64_t gen,
                    int64_t dataset_id, int64_t user_id, unsigned *flags)
{
    int64_t key[2] = {dataset_id, user_id};
    struct ac_grant g;
    int rc;

    if (ac_get(ac, AC_GRANT, gen, key, &g)) {
        *flags = g.flags;
        return g.found;
    }
    rc = store_grant_get(st, dataset_id, user_id, flags);
    if (rc == 0 || rc == 1) {
        g.found = rc;
        g.flags = *flags;
        ac_put(ac, AC_GRANT, gen, key, &g);
    }
    return rc;
}

int authcache_idle_minutes(struct authcache *ac, struct store *st, int64_t gen)
{
    static const unsigned char key = 0;
    int v;

    if (ac_get(ac, AC_IDLE, gen, &key, &v))
        return v;
    if (config_int_read(st, CFG_SESSION_IDLE_MINUTES, &v) == 0)
        ac_put(ac, AC_IDLE, gen, &key, &v);
    return v; /* (after a failed read, the default, not kept) */
}
