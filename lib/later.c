/*
 * later.c - a record read whose answer waits for its audit entry's group
 * commit without its thread waiting (mamori_record_get_later): the server
 * answers other requests meanwhile, and no thread of its own sleeps through
 * the disk's flush.
 *
 * The read runs through the read gate as mamori_record_get's does; its
 * entry is queued (guard_commit_submit) and the record is held here. The
 * committer's verdict comes through later_notify, which tells the caller
 * (ready) and only then marks the later done, so mamori_later_end, which
 * waits for done, never frees a later whose notification is still under
 * way. On a verdict of GUARD_SLOW (the session, user or grant changed
 * since the read) the record is dropped and the read runs again through
 * the ordinary gate, which refuses and records it; on a failed commit the
 * record is dropped and the caller gets MAMORI_EAUDIT. Nothing is released
 * before its entry is committed. A read the read gate does not take at all
 * (a refusal, say) gets the GUARD_SLOW verdict at once: the ordinary
 * gate waits for a commit, which the server's event thread must not, so
 * mamori_later_blocks tells the caller to end it on a thread that may.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "guard.h"
#include "internal.h"
#include "vault.h"
#include "banned.h"

/* The committer's verdict: tell the caller first, then mark it done. */
static void later_notify(struct guard_wait *w)
{
    struct mamori_later *l = (struct mamori_later *)w;

    l->ready(l->arg);
    pthread_mutex_lock(&l->mu);
    l->done = 1;
    pthread_cond_signal(&l->cv);
    pthread_mutex_unlock(&l->mu);
}

int later_queue(struct mamori_later *l, struct guard_call *c, int rc)
{
    return guard_end_later(c, rc, &l->w, &l->row, later_notify);
}

static void later_free(struct mamori_later *l)
{
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cv);
    mamori_record_free(l->rec);
    free(l->dataset);
    free(l->id);
    free(l->row.record_ids);
    crypto_wipe(&l->row, sizeof l->row);
    free(l);
}

int mamori_record_get_later(mamori_sess *s, const char *dataset, const char *id,
                            void (*ready)(void *arg), void *arg,
                            struct mamori_record **out, mamori_later **later)
{
    struct mamori_later *l;
    int rc;

    *out = NULL;
    *later = NULL;
    if (!s || !dataset || !id || !ready)
        return MAMORI_EINVAL;
    l = calloc(1, sizeof *l);
    if (!l)
        return MAMORI_ENOMEM;
    if (pthread_mutex_init(&l->mu, NULL) != 0) {
        free(l);
        return MAMORI_ENOMEM;
    }
    if (pthread_cond_init(&l->cv, NULL) != 0) {
        pthread_mutex_destroy(&l->mu);
        free(l);
        return MAMORI_ENOMEM;
    }
    l->s = s;
    l->ready = ready;
    l->arg = arg;
    l->dataset = strdup(dataset);
    l->id = strdup(id);
    if (!l->dataset || !l->id) {
        later_free(l);
        return MAMORI_ENOMEM;
    }
    rc = vault_record_get(s, 1, dataset, id, out, l);
    if (rc == GUARD_SLOW) {
        /* Not for the read gate (a refusal, a malformed id, a changed
         * session): the verdict is in already, and the ordinary gate's
         * read waits for mamori_later_end, in a thread that may wait. */
        l->w.rc = GUARD_SLOW;
        l->done = 1;
        ready(arg);
        rc = 0;
    }
    if (rc == 0) {
        *later = l; /* queued: ready follows */
        return 0;
    }
    later_free(l);
    return rc;
}

/* l's verdict (w.rc), once later_notify has returned. */
static int verdict(struct mamori_later *l)
{
    pthread_mutex_lock(&l->mu);
    while (!l->done)
        pthread_cond_wait(&l->cv, &l->mu);
    pthread_mutex_unlock(&l->mu);
    return l->w.rc;
}

int mamori_later_blocks(mamori_later *l)
{
    return l && verdict(l) == GUARD_SLOW;
}

int mamori_later_end(mamori_later *l, struct mamori_record **out)
{
    int rc;

    *out = NULL;
    if (!l)
        return MAMORI_EINVAL;
    rc = verdict(l);
    if (rc == 0 && l->op_rc != 0) {
        rc = l->op_rc; /* committed: the record was not there */
    } else if (rc == 0) {
        *out = l->rec;
        l->rec = NULL;
    } else if (rc == GUARD_SLOW) {
        rc = vault_record_get(l->s, 0, l->dataset, l->id, out, NULL);
    } else {
        guard_read_audit_failed(l->s, OP_RECORD_GET);
    }
    later_free(l);
    return rc;
}
