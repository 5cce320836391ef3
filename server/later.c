/*
 * later.c - answers that wait for their audit entry's group commit (see
 * mamorid.h, srv_later_park; lib/later.c for the library's side).
 *
 * A record read's answer must not leave before its audit entry is
 * committed, and that takes a flush of the disk. Waiting for it in MHD's
 * thread would hold that thread's other connections too; so the handler
 * defers: its ctx (session, path) lives on in a srv_later, the connection
 * is suspended, and the committer's thread, with the verdict, resumes it.
 * MHD then calls the access handler again, which finishes the answer in
 * the request's language and under its request id, as if it had never
 * stopped.
 *
 * park and ready meet under the later's lock, in either order: whichever
 * comes second decides. The later is freed only by finish, which waits
 * (mamori_later_end) until the library's notification, and so ready, has
 * returned.
 */
#include <locale.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mamorid.h"
#include "metrics.h"
#include "banned.h"

struct srv_later {
    pthread_mutex_t mu;
    int ready;  /* the verdict is in */
    int parked; /* the connection is suspended: resume it when ready */
    void (*resume)(void *arg);
    void *arg;
    struct ctx *c;
    mamori_later *ml;
    void (*finish)(struct ctx *c, mamori_later *ml);
    size_t route;
    double t0;
    locale_t loc; /* the request's (srv_handle's uselocale) */
    /* What the request's context points to, copied: the first call's
     * srv_req and address are gone by the time it finishes. */
    struct srv_req rq;
    char addr[64];
    char reqid[SRV_REQID_LEN + 1];
};

struct srv_later *srv_later_new(struct ctx *c)
{
    struct srv_later *l = calloc(1, sizeof *l);

    if (!l)
        return NULL;
    if (pthread_mutex_init(&l->mu, NULL) != 0) {
        free(l);
        return NULL;
    }
    l->c = c;
    return l;
}

void srv_later_cancel(struct srv_later *l)
{
    if (l) {
        pthread_mutex_destroy(&l->mu);
        free(l);
    }
}

void srv_later_ready(void *arg)
{
    struct srv_later *l = arg;
    void (*resume)(void *) = NULL;
    void *resume_arg = NULL;

    pthread_mutex_lock(&l->mu);
    l->ready = 1;
    if (l->parked) {
        resume = l->resume;
        resume_arg = l->arg;
    }
    pthread_mutex_unlock(&l->mu);
    if (resume)
        resume(resume_arg);
}

void srv_defer(struct ctx *c, struct srv_later *l, mamori_later *ml,
               void (*finish)(struct ctx *c, mamori_later *ml))
{
    const struct srv_req *rq = c->rq;

    l->ml = ml;
    l->finish = finish;
    l->loc = uselocale((locale_t)0);
    snprintf(l->addr, sizeof l->addr, "%s", rq->address ? rq->address : "");
    snprintf(l->reqid, sizeof l->reqid, "%s",
             rq->request_id ? rq->request_id : "");
    l->rq.method = rq->method;
    l->rq.address = l->addr;
    l->rq.request_id = l->reqid;
    c->rs->later = l;
}

void srv_later_started(struct srv_later *l, size_t route, double t0)
{
    l->route = route;
    l->t0 = t0;
}

int srv_later_park(struct srv_later *l, void (*suspend)(void *arg),
                   void (*resume)(void *arg), void *arg)
{
    int now;

    pthread_mutex_lock(&l->mu);
    now = l->ready;
    if (!now) {
        /* Suspended before ready can see parked and resume it. */
        l->parked = 1;
        l->resume = resume;
        l->arg = arg;
        suspend(arg);
    }
    pthread_mutex_unlock(&l->mu);
    return now;
}

int srv_later_blocks(struct srv_later *l)
{
    return mamori_later_blocks(l->ml);
}

void srv_later_finish(struct srv_later *l, struct srv_resp *rs)
{
    struct ctx *c = l->c;
    locale_t old = l->loc ? uselocale(l->loc) : (locale_t)0;

    memset(rs, 0, sizeof *rs);
    rs->content_type = "application/json";
    c->rs = rs;
    c->rq = &l->rq;
    c->client.address = l->addr;
    c->client.request_id = l->reqid;
    mamori_set_request(l->addr, l->reqid);
    l->finish(c, l->ml);
    mamori_set_request(NULL, NULL);
    srv_ctx_release(c);
    free(c);
    if (rs->status == 0)
        rs->status = 500;
    metrics_observe(l->route, rs->status, srv_now() - l->t0, rs->alert);
    if (old != (locale_t)0)
        uselocale(old);
    srv_later_cancel(l);
}
