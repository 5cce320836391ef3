/*
 * open.c - creating, opening and closing a vault.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "authcache.h"
#include "auth.h"
#include "guard.h"
#include "internal.h"
#include "keys.h"
#include "store.h"
#include "workers.h"
#include "banned.h"

/* Processes that hold keys never dump core. */
static void no_core_dumps(void)
{
    struct rlimit rl = {0, 0};
    (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    (void)setrlimit(RLIMIT_CORE, &rl);
}

static int home_ok(const char *home)
{
    if (!home || !*home || strlen(home) >= sizeof((struct mamori *)0)->home)
        return 0;
    return 1;
}

static struct mamori *handle_new(const char *home)
{
    struct mamori *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    snprintf(m->home, sizeof m->home, "%s", home);
    /* Error-checking: a call made while the same thread holds the gate
     * open (an unfinished bulk add) is refused instead of deadlocking. */
    pthread_mutexattr_t attr;
    int ok = pthread_mutexattr_init(&attr) == 0;
    if (ok)
        ok = pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK) == 0 &&
             pthread_mutex_init(&m->lock, &attr) == 0;
    pthread_mutexattr_destroy(&attr);
    if (ok && pthread_mutex_init(&m->pool_lock, NULL) != 0)
        ok = 0;
    if (ok && pthread_mutex_init(&m->commit_lock, NULL) != 0)
        ok = 0;
    /* The committer's timed waits count on the monotonic clock. */
    pthread_condattr_t cattr;
    if (ok && pthread_condattr_init(&cattr) != 0)
        ok = 0;
    if (ok) {
        ok = pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC) == 0 &&
             pthread_cond_init(&m->commit_cv, &cattr) == 0;
        pthread_condattr_destroy(&cattr);
    }
    if (ok && pthread_mutex_init(&m->ds_lock, NULL) != 0)
        ok = 0;
    if (!ok) {
        free(m); /* (with default attributes, init cannot fail on Linux) */
        return NULL;
    }
    const char *h = getenv("MAMORI_TEST_HOOKS");
    m->test_hooks = h && strcmp(h, "1") == 0;
    m->authcache = authcache_new();
    return m;
}

int mamori_init(const char *home, const struct mamori_keysrc *src,
                const char *admin, const char *admin_password,
                size_t password_len)
{
    return mamori_init_device(home, src, admin, admin_password, password_len,
                              NULL, NULL, NULL);
}

int mamori_init_device(const char *home, const struct mamori_keysrc *src,
                       const char *admin, const char *admin_password,
                       size_t password_len, const char *device_name,
                       const uint8_t device_pk[32], char *device_id)
{
    struct mamori *m = NULL;
    char vault_id[37], created[24];
    struct stat st;
    int rc = MAMORI_EINVAL;

    if (!home_ok(home) || !src || !admin || !admin_password)
        return MAMORI_EINVAL;
    rc = auth_check_name(admin);
    if (rc != 0)
        return rc;
    const char *rule;
    rc = auth_password_ok(NULL, admin, admin_password, password_len, NULL, 0, 0,
                          &rule);
    if (rc != 0)
        return rc;
    rc = mamori_library_init();
    if (rc != 0)
        return rc;
    no_core_dumps();

    if (mkdir(home, 0700) != 0 && errno != EEXIST)
        return MAMORI_EIO;
    if (stat(home, &st) != 0 || !S_ISDIR(st.st_mode))
        return MAMORI_EIO;

    m = handle_new(home);
    if (!m)
        return MAMORI_ENOMEM;
    rc = store_open(home, 1, &m->store);
    if (rc != 0)
        goto out;
    crypto_uuid(vault_id);
    snprintf(m->vault_id, sizeof m->vault_id, "%s", vault_id);
    rc = keys_create(home, vault_id, src, &m->keys);
    if (rc != 0)
        goto out;
    snprintf(created, sizeof created, "%lld", (long long)mamori_now());
    rc = store_begin(m->store);
    if (rc != 0)
        goto out;
    rc = store_meta_set(m->store, "vault_id", vault_id);
    if (rc == 0)
        rc = store_meta_set(m->store, "created", created);
    if (rc == 0)
        rc = auth_user_create(m, admin, "admin", admin_password, password_len,
                              0);
    if (rc == 0 && device_pk) {
        struct store_user u;
        rc = store_user_get(m->store, admin, &u);
        auth_user_wipe(&u);
        if (rc == 0)
            rc = auth_device_register(m, u.id,
                                      device_name ? device_name : "init",
                                      device_pk, 1, device_id);
    }
    if (rc == 0) {
        struct store_audit_row row;
        guard_event_row(&row, admin, "", OP_INIT, "ok", "vault created");
        row.count = 1;
        rc = audit_append(m, &row);
    }
    if (rc == 0)
        rc = store_commit(m->store);
    if (rc != 0)
        store_rollback(m->store);
out:
    mamori_close(m);
    return rc;
}

int mamori_key_source(const char *home, char *kind, size_t kind_size,
                      char *path, size_t path_size)
{
    if (!home_ok(home))
        return MAMORI_EINVAL;
    return keys_source(home, kind, kind_size, path, path_size);
}

int mamori_open(const char *home, const struct mamori_keysrc *src, mamori **out)
{
    struct mamori *m = NULL;
    char vid[64];
    int rc;

    *out = NULL;
    if (!home_ok(home) || !src)
        return MAMORI_EINVAL;
    rc = mamori_library_init();
    if (rc != 0)
        return rc;
    no_core_dumps();
    m = handle_new(home);
    if (!m)
        return MAMORI_ENOMEM;
    rc = store_open(home, 0, &m->store);
    if (rc != 0)
        goto out;
    rc = keys_open(home, src, &m->keys);
    if (rc != 0)
        goto out;
    rc = store_meta_get(m->store, "vault_id", vid, sizeof vid);
    if (rc != 0)
        goto out;
    if (strlen(vid) != 36 || strcmp(vid, keys_vault_id(m->keys)) != 0) {
        /* A key store from another vault. */
        rc = MAMORI_EKEY;
        goto out;
    }
    memcpy(m->vault_id, vid, 37);
    *out = m;
    m = NULL;
    rc = 0;
out:
    mamori_close(m);
    return rc;
}

int handle_reader(struct mamori *m, size_t i, struct store **out)
{
    int rc = 0;
    if (i >= MAMORI_READERS)
        return MAMORI_EINVAL;
    if (!m->readers[i])
        rc = store_open_reader(m->home, &m->readers[i]);
    *out = m->readers[i];
    return rc;
}

int handle_reader_take(struct mamori *m, struct store **out)
{
    int rc;

    *out = NULL;
    pthread_mutex_lock(&m->pool_lock);
    if (m->npool > 0)
        *out = m->pool[--m->npool];
    pthread_mutex_unlock(&m->pool_lock);
    if (*out)
        return 0;
    rc = store_open_reader(m->home, out);
    /* Point reads in a snapshot that a commit soon makes stale (the
     * writer's commits empty a reader's cache): a small cache each, so
     * that a pool of dozens stays small, and a map of the file, which the
     * readers' VFS keeps across commits (store_sqlite_map.c): a page read
     * again is then found in memory, not read with a system call (a
     * served record read took 7 of them, now 2). */
    if (rc == 0 && (rc = store_set_cache(*out, MAMORI_POOL_CACHE_KIB)) == 0)
        rc = store_set_mmap(*out, MAMORI_POOL_MAP);
    if (rc != 0) {
        store_close(*out);
        *out = NULL;
    }
    return rc;
}

void handle_reader_put(struct mamori *m, struct store *st)
{
    if (!st)
        return;
    pthread_mutex_lock(&m->pool_lock);
    if (m->npool < MAMORI_POOL_MAX) {
        m->pool[m->npool++] = st;
        st = NULL;
    }
    pthread_mutex_unlock(&m->pool_lock);
    if (st)
        store_close(st);
}

void mamori_close(mamori *m)
{
    if (!m)
        return;
    guard_commit_stop(m);
    workers_stop(m->workers);
    for (size_t i = 0; i < MAMORI_READERS; i++)
        if (m->readers[i])
            store_close(m->readers[i]);
    for (size_t i = 0; i < m->npool; i++)
        store_close(m->pool[i]);
    vault_cache_free(m);
    authcache_free(m->authcache);
    crypto_hmac_key_free(m->audit_key);
    if (m->keys)
        keys_close(m->keys);
    if (m->store)
        store_close(m->store);
    pthread_mutex_destroy(&m->lock);
    pthread_mutex_destroy(&m->pool_lock);
    pthread_mutex_destroy(&m->commit_lock);
    pthread_cond_destroy(&m->commit_cv);
    pthread_mutex_destroy(&m->ds_lock);
    free(m);
}

const char *mamori_vault_id(const mamori *m)
{
    return m->vault_id;
}

void mamori_test_fail_audit(mamori *m, int on)
{
    if (m && m->test_hooks) {
        pthread_mutex_lock(&m->lock);
        store_fail_audit(m->store, on);
        pthread_mutex_unlock(&m->lock);
    }
}
