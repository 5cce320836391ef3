/*
 * stats.c - mamori_stats: what a monitoring scrape reads of an open vault.
 * No personal data, no names: counts only.
 */
#include <pthread.h>
#include <string.h>

#include "audit.h"
#include "guard.h"
#include "internal.h"
#include "store.h"
#include "banned.h"

int mamori_stats(mamori *m, struct mamori_stats *st)
{
    int rc;

    if (!m || !st)
        return MAMORI_EINVAL;
    memset(st, 0, sizeof *st);
    st->audit_appends = audit_appends_total();
    st->read_commits = guard_commits_total();
    pthread_mutex_lock(&m->lock);
    rc = store_stats(m->store, mamori_now(), &st->sessions, &st->locked);
    pthread_mutex_unlock(&m->lock);
    return rc;
}
