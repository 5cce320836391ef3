/*
 * pool.c - the threads that run requests which may block (see mhd.c,
 * answer): logins (Argon2id), writes and searches wait for the disk or
 * burn CPU for a while; on libmicrohttpd's few event threads they would
 * hold every other connection of that thread. Tasks run oldest first.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "mamorid.h"
#include "banned.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static struct srv_task *head, *tail;
static unsigned queued, busy; /* under mu */
static int stopping;
static pthread_t *threads;
static unsigned nthreads;

static void *pool_main(void *arg)
{
    (void)arg;
    (void)pthread_setname_np(pthread_self(), "mamorid-work");
    pthread_mutex_lock(&mu);
    for (;;) {
        struct srv_task *t;

        while (!head && !stopping)
            pthread_cond_wait(&cv, &mu);
        if (!head)
            break; /* stopping, and nothing left */
        t = head;
        head = t->next;
        if (!head)
            tail = NULL;
        queued--;
        busy++;
        pthread_mutex_unlock(&mu);
        t->run(t);
        pthread_mutex_lock(&mu);
        busy--;
    }
    pthread_mutex_unlock(&mu);
    return NULL;
}

int srv_pool_start(unsigned n)
{
    if (n == 0 || threads)
        return -1;
    threads = calloc(n, sizeof *threads);
    if (!threads)
        return -1;
    stopping = 0;
    for (nthreads = 0; nthreads < n; nthreads++) {
        if (pthread_create(&threads[nthreads], NULL, pool_main, NULL) != 0) {
            srv_pool_stop();
            return -1;
        }
    }
    return 0;
}

void srv_pool_push(struct srv_task *t)
{
    t->next = NULL;
    pthread_mutex_lock(&mu);
    if (tail)
        tail->next = t;
    else
        head = t;
    tail = t;
    queued++;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
}

void srv_pool_stats(unsigned *nthreads_out, unsigned *busy_out,
                    unsigned *queued_out)
{
    pthread_mutex_lock(&mu);
    *nthreads_out = nthreads;
    *busy_out = busy;
    *queued_out = queued;
    pthread_mutex_unlock(&mu);
}

void srv_pool_stop(void)
{
    unsigned i;

    pthread_mutex_lock(&mu);
    stopping = 1;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    for (i = 0; i < nthreads; i++)
        pthread_join(threads[i], NULL);
    free(threads);
    threads = NULL;
    nthreads = 0;
}
