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

/* Idle reader connections a handle keeps for reads outside its lock. */
#define MAMORI_POOL_MAX 64
#define MAMORI_POOL_CACHE_KIB 1024         /* page cache of each */
#define MAMORI_POOL_MAP ((int64_t)1 << 40) /* and a map of the whole file */

struct guard_wait;
struct workers;

struct mamori {
    char home[4096];
    char vault_id[37];
    struct store *store;
    struct store *readers[MAMORI_READERS];
    struct workers *workers; /* threads for parallel reads (workers.h) */
    struct keys *keys;
    /* One writer connection per handle: writes on a handle are
     * serialised. Record reads run outside it (guard_read_begin). */
    pthread_mutex_t lock;
    /* Reader connections for reads outside the lock, idle ones pooled. */
    pthread_mutex_t pool_lock;
    struct store *pool[MAMORI_POOL_MAX];
    size_t npool;
    /* The group commit of the reads' audit entries (guard_commit.c):
     * entries waiting, and the committer thread that writes them. */
    pthread_mutex_t commit_lock;
    pthread_cond_t commit_cv; /* signalled when an entry waits, or stop */
    struct guard_wait *waiting, *waiting_last; /* oldest first */
    size_t nwaiting;
    size_t gather; /* the committer waits for this many (0: any) */
    pthread_t commit_thread;
    int commit_started, commit_stop;
    /* Guards ds_cache: entries are added, and freed only at close. */
    pthread_mutex_t ds_lock;
    /* Audit writer: the current epoch's key schedule, and the epoch of
     * the key store's key as last seen (audit_epoch is ahead of it from
     * an append that stepped into a new epoch until its commit). */
    uint64_t audit_epoch;
    struct crypto_hmac_key *audit_key;
    uint64_t audit_stored;
    /* The rows session checks and read gates read (authcache.h); NULL
     * if it could not be made (the store is then read every time). */
    struct authcache *authcache;
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
    char errdetail[512];
    /* The reader whose snapshot mamori_session_open_read checked the
     * session in, still open: the read gate (guard_read_begin) reads on in
     * it instead of checking the session again; every other gate and
     * mamori_session_close end it (sess_snapshot_end). */
    struct store *snap;
    int64_t snap_gen; /* its auth generation (authcache.h) */
};

/* Ends s's session-check snapshot, if it is still open. */
void sess_snapshot_end(mamori_sess *s);

/* Current time (unix seconds). Tests can pin it with MAMORI_TEST_HOOKS=1
 * and MAMORI_TEST_NOW=<seconds>. */
int64_t mamori_now(void);

/* Makes jansson's frees wipe (json_wipe.c); mamori_library_init calls it. */
void json_wipe_install(void);

/* Sets s->errdetail (printf-style); never pass personal values. The
 * format is translated (the user's language): po/POTFILES extracts it with
 * --keyword=sess_detail:2, so pass a literal, or N_() one; translate any
 * rule passed as an argument with _(). A detail too long for errdetail is
 * cut at a character boundary. What goes to the audit log (guard_call's
 * detail) stays English: never copy errdetail there. */
void sess_detail(mamori_sess *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Sets s->errdetail to text as it is (not translated; cut at a character
 * boundary when too long). */
void sess_detail_text(mamori_sess *s, const char *text);

/* Reader connection i (< MAMORI_READERS) of m, opened on first use. Call
 * with m->lock held; each reader serves one thread at a time. */
int handle_reader(struct mamori *m, size_t i, struct store **out);

/* A reader connection of m's pool for one thread's reads outside m->lock
 * (opened when none is idle); give it back with handle_reader_put. */
int handle_reader_take(struct mamori *m, struct store **out);
void handle_reader_put(struct mamori *m, struct store *st);

/* Frees the dataset cache (vault.c). */
void vault_cache_free(struct mamori *m);

#endif
