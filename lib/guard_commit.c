/*
 * guard_commit.c - the group commit of the read gate's audit entries (see
 * guard.h, guard_read_begin).
 *
 * A read's entry must be committed before its result is released, and a
 * commit waits for the disk (synchronous=FULL). One commit per read would
 * make the disk the limit of every reader together; instead the entries of
 * reads that finish while a commit is under way wait in m->waiting, and
 * the next of their threads writes them all in one transaction of the
 * writer connection, under m->lock, like any other write. The others
 * sleep on their own semaphore until it is posted with their verdict.
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

#include "audit.h"
#include "auth.h"
#include "guard.h"
#include "store.h"
#include "banned.h"

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
        if (p->rc == 0 && memcmp(p->token_hash, w->token_hash, 32) == 0 &&
            p->user_id == w->user_id)
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
        rc = store_session_touch(m->store, w->token_hash, now);
        if (rc != 0)
            return rc == MAMORI_ENOTFOUND ? GUARD_SLOW : rc;
        rc = store_user_get_id(m->store, w->user_id, &u);
        auth_user_wipe(&u);
        if (rc != 0)
            return rc == MAMORI_ENOTFOUND ? GUARD_SLOW : rc;
        if (u.disabled || strcmp(u.role, w->role) != 0)
            return GUARD_SLOW;
    }
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
        /* This thread holds the gate (an open bulk add): the ordinary
         * gate refuses it, and the others go that way too. */
        for (w = batch; w; w = w->next)
            w->rc = GUARD_SLOW;
        return;
    }
    rc = store_begin(m->store);
    for (w = batch; rc == 0 && w; w = w->next) {
        int ok = still_allowed(m, batch, w, now);
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

/* Sleeps until w's semaphore is posted (a verdict or a turn to write). */
static void wait_turn(struct guard_wait *w)
{
    while (sem_wait(&w->wake) != 0)
        ; /* EINTR: a signal, not a post */
}

int guard_commit(struct mamori *m, struct guard_wait *w)
{
    struct guard_wait *batch, *p, *next, *head;

    w->done = 0;
    w->rc = MAMORI_EAUDIT;
    w->next = NULL;
    if (sem_init(&w->wake, 0, 0) != 0)
        return GUARD_SLOW;
    pthread_mutex_lock(&m->commit_lock);
    /* Queued at the tail: the head is the oldest, the next to write. */
    if (m->waiting)
        m->waiting_last->next = w;
    else
        m->waiting = w;
    m->waiting_last = w;
    for (;;) {
        if (!m->committing && m->waiting == w)
            break; /* this thread writes what is waiting */
        /* Woken once: with the verdict, or as the head to write. The
         * commit lock is not taken again for a verdict, so the threads of
         * a batch do not queue on it as they wake. */
        pthread_mutex_unlock(&m->commit_lock);
        wait_turn(w);
        if (w->done) {
            sem_destroy(&w->wake);
            return w->rc;
        }
        pthread_mutex_lock(&m->commit_lock);
    }
    m->committing = 1;
    batch = m->waiting;
    m->waiting = m->waiting_last = NULL;
    pthread_mutex_unlock(&m->commit_lock);
    write_batch(m, batch);
    /* Each writer of the batch learns its verdict. p->next is read first:
     * p may be gone once its post is seen. */
    for (p = batch; p; p = next) {
        next = p->next;
        if (p == w)
            continue;
        p->done = 1;
        sem_post(&p->wake);
    }
    /* Whoever waits longest writes the next batch. */
    pthread_mutex_lock(&m->commit_lock);
    m->committing = 0;
    head = m->waiting;
    if (head)
        sem_post(&head->wake);
    pthread_mutex_unlock(&m->commit_lock);
    sem_destroy(&w->wake);
    return w->rc;
}
