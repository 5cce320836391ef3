/*
 * guard_commit.c - the group commit of the read gate's audit entries (see
 * guard.h, guard_read_begin).
 *
 * A read's entry must be committed before its result is released, and a
 * commit waits for the disk (synchronous=FULL). One commit per read would
 * make the disk the limit of every reader together; instead the entries of
 * reads that finish while a commit is under way wait in m->waiting, and
 * the handle's committer thread (started with the first entry, stopped by
 * mamori_close) writes them all in the next transaction of the writer
 * connection, under m->lock, like any other write. A reader either sleeps
 * on its own semaphore until it is posted with its verdict (guard_commit)
 * or goes on with other work and is told by a callback (the server's
 * requests: guard_commit_submit), so that no thread of the server waits
 * for the disk.
 *
 * The read's checks ran on a snapshot. In the writer's transaction each
 * entry is checked again against the live rows: the session still exists
 * (and is touched: its idle clock restarts), the user is still enabled
 * with the same role, the grant still stands with the same flags. An entry
 * that fails this is not written: its caller runs the read again through
 * the ordinary gate, which refuses it and records the refusal. So a read
 * is never logged after the revocation that should have stopped it.
 */
#include <semaphore.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "auth.h"
#include "guard.h"
#include "store.h"
#include "banned.h"

/* gather(): batches this large make the next one wait up to GATHER_NS. */
#define GATHER_MIN 8
#define GATHER_NS 300000L

static atomic_llong commits_total;

int64_t guard_commits_total(void)
{
    return (int64_t)atomic_load_explicit(&commits_total, memory_order_relaxed);
}

/* 1 if an earlier entry of the batch (up to w) was found valid for the
 * same session; its touch and user check hold for w too. */
static int seen_session(const struct guard_wait *batch,
                        const struct guard_wait *w)
{
    for (const struct guard_wait *p = batch; p != w; p = p->next)
        if (p->rc == 0 && !p->refusal &&
            memcmp(p->token_hash, w->token_hash, 32) == 0 &&
            p->user_id == w->user_id)
            return 1;
    return 0;
}

/* 1 if an earlier entry of the batch (up to w) was found valid for the
 * same user, dataset and grant flags: in the same transaction, its grant
 * check holds for w too. */
static int seen_grant(const struct guard_wait *batch,
                      const struct guard_wait *w)
{
    for (const struct guard_wait *p = batch; p != w; p = p->next)
        if (p->rc == 0 && !p->refusal && p->user_id == w->user_id &&
            p->dataset_id == w->dataset_id && p->grant == w->grant)
            return 1;
    return 0;
}

/* 0 if w's session, user and grant still stand; GUARD_SLOW if not; or a
 * store error. */
static int still_allowed(struct mamori *m, const struct guard_wait *batch,
                         const struct guard_wait *w, int64_t now)
{
    struct store_user u;
    unsigned flags = 0;
    int rc;

    if (!seen_session(batch, w)) {
        rc =
            store_session_touch(m->store, w->token_hash, now, AUTH_TOUCH_GRAIN);
        if (rc != 0)
            return rc == MAMORI_ENOTFOUND ? GUARD_SLOW : rc;
        rc = store_user_get_id(m->store, w->user_id, &u);
        auth_user_wipe(&u);
        if (rc != 0)
            return rc == MAMORI_ENOTFOUND ? GUARD_SLOW : rc;
        if (u.disabled || strcmp(u.role, w->role) != 0)
            return GUARD_SLOW;
    }
    if (seen_grant(batch, w))
        return 0;
    rc = store_grant_get(m->store, w->dataset_id, w->user_id, &flags);
    if (rc < 0)
        return rc;
    return rc == 1 && flags == w->grant ? 0 : GUARD_SLOW;
}

/* Writes the batch in one transaction; sets each entry's rc. */
static void write_batch(struct mamori *m, struct guard_wait *batch)
{
    int64_t now = mamori_now();
    struct guard_wait *w;
    int rc, written = 0;

    for (w = batch; w; w = w->next)
        w->rc = MAMORI_EAUDIT;
    if (pthread_mutex_lock(&m->lock) != 0) {
        /* (The committer never holds the gate: cannot happen.) */
        for (w = batch; w; w = w->next)
            w->rc = GUARD_SLOW;
        return;
    }
    rc = store_begin(m->store);
    for (w = batch; rc == 0 && w; w = w->next) {
        /* A refusal is written as it is: nothing was allowed. */
        int ok = w->refusal ? 0 : still_allowed(m, batch, w, now);
        if (ok == GUARD_SLOW) {
            w->rc = GUARD_SLOW;
            continue;
        }
        rc = ok;
        if (rc == 0)
            rc = audit_append_filled(m, w->row);
        if (rc == 0) {
            w->rc = 0;
            written++;
        }
    }
    if (rc == 0 && written) {
        rc = audit_commit(m);
        atomic_fetch_add_explicit(&commits_total, 1, memory_order_relaxed);
    } else if (rc == 0)
        store_rollback(m->store); /* nothing to keep but touches */
    if (rc != 0) {
        audit_rollback(m);
        for (w = batch; w; w = w->next)
            if (w->rc == 0)
                w->rc = MAMORI_EAUDIT;
    }
    pthread_mutex_unlock(&m->lock);
}

/* Posts each entry's verdict: its notify, or its waiting thread. p->next
 * is read first: p may be gone once its verdict is out. */
static void deliver(struct guard_wait *batch)
{
    struct guard_wait *p, *next;

    for (p = batch; p; p = next) {
        next = p->next;
        if (p->notify) {
            p->notify(p);
        } else {
            p->done = 1;
            sem_post(&p->wake);
        }
    }
}

/* Under m->commit_lock, with entries waiting: when the last batch was
 * large (many readers at once), waits a moment for as many entries as it
 * had, so that one flush of the disk serves them all; an entry alone is
 * written at once. */
static void gather(struct mamori *m, size_t last)
{
    struct timespec until;

    if (last < GATHER_MIN || m->nwaiting >= last)
        return;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_nsec += GATHER_NS;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    m->gather = last;
    while (m->nwaiting < last && !m->commit_stop &&
           pthread_cond_timedwait(&m->commit_cv, &m->commit_lock, &until) == 0)
        ;
    m->gather = 0;
}

/* The committer: writes whatever waits, one batch at a time, until told to
 * stop with nothing left. */
static void *committer_run(void *arg)
{
    struct mamori *m = arg;
    struct guard_wait *batch;
    size_t last = 0;

    pthread_mutex_lock(&m->commit_lock);
    for (;;) {
        while (!m->waiting && !m->commit_stop)
            pthread_cond_wait(&m->commit_cv, &m->commit_lock);
        if (!m->waiting)
            break;
        gather(m, last);
        batch = m->waiting;
        last = m->nwaiting;
        m->waiting = m->waiting_last = NULL;
        m->nwaiting = 0;
        pthread_mutex_unlock(&m->commit_lock);
        write_batch(m, batch);
        deliver(batch);
        pthread_mutex_lock(&m->commit_lock);
    }
    pthread_mutex_unlock(&m->commit_lock);
    return NULL;
}

int guard_commit_submit(struct mamori *m, struct guard_wait *w)
{
    w->done = 0;
    w->rc = MAMORI_EAUDIT;
    w->next = NULL;
    pthread_mutex_lock(&m->commit_lock);
    if (m->commit_stop) {
        pthread_mutex_unlock(&m->commit_lock);
        return GUARD_SLOW; /* closing: the ordinary gate */
    }
    if (!m->commit_started) {
        if (pthread_create(&m->commit_thread, NULL, committer_run, m) != 0) {
            pthread_mutex_unlock(&m->commit_lock);
            return GUARD_SLOW;
        }
        m->commit_started = 1;
    }
    /* Queued at the tail: the batch is written oldest first. */
    if (m->waiting)
        m->waiting_last->next = w;
    else
        m->waiting = w;
    m->waiting_last = w;
    m->nwaiting++;
    /* (While it gathers, the committer wakes for the last one it wants.) */
    if (m->nwaiting == 1 || m->nwaiting >= m->gather)
        pthread_cond_signal(&m->commit_cv);
    pthread_mutex_unlock(&m->commit_lock);
    return 0;
}

int guard_commit(struct mamori *m, struct guard_wait *w)
{
    int rc;

    w->notify = NULL;
    if (sem_init(&w->wake, 0, 0) != 0)
        return GUARD_SLOW;
    rc = guard_commit_submit(m, w);
    if (rc == 0) {
        while (sem_wait(&w->wake) != 0)
            ; /* EINTR: a signal, not a post */
        rc = w->rc;
    }
    sem_destroy(&w->wake);
    return rc;
}

void guard_commit_stop(struct mamori *m)
{
    int started;

    pthread_mutex_lock(&m->commit_lock);
    m->commit_stop = 1;
    started = m->commit_started;
    pthread_cond_signal(&m->commit_cv);
    pthread_mutex_unlock(&m->commit_lock);
    if (started)
        pthread_join(m->commit_thread, NULL);
}
