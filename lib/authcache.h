/*
 * authcache.h - what a session check and a read gate read from the store
 * (the session and user rows, the dataset row, the grant, the idle limit),
 * kept in memory against the store's auth generation (store_auth_gen).
 *
 * Every call takes the generation read in the caller's snapshot st: an
 * entry of that generation is what st would give (any change to those
 * tables, by any process, changes the generation in the same
 * transaction), so it is returned without a query; otherwise the row is
 * read from st and kept with gen. A session's last_seen is the exception
 * (it moves without a new generation): a caller that finds the session
 * idle asks again with reload set. Results are the store call's; users
 * come wiped (auth_user_wipe). Thread-safe; entries are overwritten, never
 * grow in number.
 */
#ifndef MAMORI_AUTHCACHE_H
#define MAMORI_AUTHCACHE_H

#include <stdint.h>

#include "store.h"

struct authcache;

/* NULL when out of memory (callers then read the store every time). */
struct authcache *authcache_new(void);
void authcache_free(struct authcache *ac);

int authcache_session(struct authcache *ac, struct store *st, int64_t gen,
                      const uint8_t token_hash[32], int reload,
                      struct store_session *ss);
int authcache_user(struct authcache *ac, struct store *st, int64_t gen,
                   int64_t id, struct store_user *u);
int authcache_dataset(struct authcache *ac, struct store *st, int64_t gen,
                      const char *name, struct store_dataset *d);
/* As store_grant_get: 1 granted (*flags set), 0 not, or an error. */
int authcache_grant(struct authcache *ac, struct store *st, int64_t gen,
                    int64_t dataset_id, int64_t user_id, unsigned *flags);
/* The session.idle_minutes setting as st reads it. */
int authcache_idle_minutes(struct authcache *ac, struct store *st, int64_t gen);

#endif
