/*
 * authcache.c - the rows of session checks and read gates, kept against
 * the store's auth generation. See authcache.h.
 *
 * Each kind of row has a small table of slots, found by a hash of the key
 * (direct-mapped: a newer row takes its slot). One mutex guards all of
 * them; it is held only to copy an entry in or out.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "authcache.h"
#include "config.h"
#include "crypto.h"
#include "banned.h"

#define AC_SESSIONS 256 /* a slot per first byte of the token hash */
#define AC_USERS 64
#define AC_DATASETS 16
#define AC_GRANTS 128

struct ac_session {
    int used;
    int64_t gen;
    struct store_session ss;
};

struct ac_user {
    int used;
    int64_t gen;
    struct store_user u; /* wiped */
};

struct ac_dataset {
    int used;
    int64_t gen;
    struct store_dataset d;
};

struct ac_grant {
    int used;
    int64_t gen;
    int64_t dataset_id, user_id;
    int found;
    unsigned flags;
};

struct authcache {
    pthread_mutex_t mu;
    struct ac_session sessions[AC_SESSIONS];
    struct ac_user users[AC_USERS];
    struct ac_dataset datasets[AC_DATASETS];
    struct ac_grant grants[AC_GRANTS];
    int idle_used;
    int64_t idle_gen;
    int idle_minutes;
};

struct authcache *authcache_new(void)
{
    struct authcache *ac = calloc(1, sizeof *ac);

    if (ac && pthread_mutex_init(&ac->mu, NULL) != 0) {
        free(ac);
        ac = NULL;
    }
    return ac;
}

void authcache_free(struct authcache *ac)
{
    if (!ac)
        return;
    pthread_mutex_destroy(&ac->mu);
    crypto_wipe(ac, sizeof *ac);
    free(ac);
}

int authcache_session(struct authcache *ac, struct store *st, int64_t gen,
                      const uint8_t token_hash[32], int reload,
                      struct store_session *ss)
{
    struct ac_session *e;
    int rc;

    if (!ac)
        return store_session_get(st, token_hash, ss);
    e = &ac->sessions[token_hash[0] % AC_SESSIONS];
    if (!reload) {
        pthread_mutex_lock(&ac->mu);
        int hit = e->used && e->gen == gen &&
                  crypto_equal(e->ss.token_hash, token_hash, 32);
        if (hit)
            *ss = e->ss;
        pthread_mutex_unlock(&ac->mu);
        if (hit)
            return 0;
    }
    rc = store_session_get(st, token_hash, ss);
    if (rc == 0) {
        pthread_mutex_lock(&ac->mu);
        e->used = 1;
        e->gen = gen;
        e->ss = *ss;
        pthread_mutex_unlock(&ac->mu);
    }
    return rc;
}

int authcache_user(struct authcache *ac, struct store *st, int64_t gen,
                   int64_t id, struct store_user *u)
{
    struct ac_user *e = NULL;
    int rc;

    if (ac) {
        e = &ac->users[(uint64_t)id % AC_USERS];
        pthread_mutex_lock(&ac->mu);
        int hit = e->used && e->gen == gen && e->u.id == id;
        if (hit)
            *u = e->u;
        pthread_mutex_unlock(&ac->mu);
        if (hit)
            return 0;
    }
    rc = store_user_get_id(st, id, u);
    auth_user_wipe(u);
    if (rc == 0 && e) {
        pthread_mutex_lock(&ac->mu);
        e->used = 1;
        e->gen = gen;
        e->u = *u;
        pthread_mutex_unlock(&ac->mu);
    }
    return rc;
}

/* FNV-1a of the name: which slot a dataset takes. */
static size_t name_slot(const char *name)
{
    uint32_t h = 2166136261u;

    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h % AC_DATASETS;
}

int authcache_dataset(struct authcache *ac, struct store *st, int64_t gen,
                      const char *name, struct store_dataset *d)
{
    struct ac_dataset *e;
    int rc;

    if (!ac || !name)
        return store_dataset_get(st, name, d);
    e = &ac->datasets[name_slot(name)];
    pthread_mutex_lock(&ac->mu);
    int hit = e->used && e->gen == gen && strcmp(e->d.name, name) == 0;
    if (hit)
        *d = e->d;
    pthread_mutex_unlock(&ac->mu);
    if (hit)
        return 0;
    rc = store_dataset_get(st, name, d);
    if (rc == 0) {
        pthread_mutex_lock(&ac->mu);
        e->used = 1;
        e->gen = gen;
        e->d = *d;
        pthread_mutex_unlock(&ac->mu);
    }
    return rc;
}

int authcache_grant(struct authcache *ac, struct store *st, int64_t gen,
                    int64_t dataset_id, int64_t user_id, unsigned *flags)
{
    struct ac_grant *e;
    int rc;

    if (!ac)
        return store_grant_get(st, dataset_id, user_id, flags);
    e = &ac->grants[((uint64_t)dataset_id * 2654435761u + (uint64_t)user_id) %
                    AC_GRANTS];
    pthread_mutex_lock(&ac->mu);
    int hit = e->used && e->gen == gen && e->dataset_id == dataset_id &&
              e->user_id == user_id;
    if (hit) {
        rc = e->found;
        *flags = e->flags;
    }
    pthread_mutex_unlock(&ac->mu);
    if (hit)
        return rc;
    rc = store_grant_get(st, dataset_id, user_id, flags);
    if (rc == 0 || rc == 1) {
        pthread_mutex_lock(&ac->mu);
        e->used = 1;
        e->gen = gen;
        e->dataset_id = dataset_id;
        e->user_id = user_id;
        e->found = rc;
        e->flags = *flags;
        pthread_mutex_unlock(&ac->mu);
    }
    return rc;
}

int authcache_idle_minutes(struct authcache *ac, struct store *st, int64_t gen)
{
    int v;

    if (!ac)
        return config_int_in(st, CFG_SESSION_IDLE_MINUTES);
    pthread_mutex_lock(&ac->mu);
    int hit = ac->idle_used && ac->idle_gen == gen;
    v = ac->idle_minutes;
    pthread_mutex_unlock(&ac->mu);
    if (hit)
        return v;
    if (config_int_read(st, CFG_SESSION_IDLE_MINUTES, &v) != 0)
        return v; /* the default, not kept */
    pthread_mutex_lock(&ac->mu);
    ac->idle_used = 1;
    ac->idle_gen = gen;
    ac->idle_minutes = v;
    pthread_mutex_unlock(&ac->mu);
    return v;
}
