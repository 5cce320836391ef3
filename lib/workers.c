/*
 * workers.c - threads kept waiting for a handle's parallel work.
 *
 * Each worker sleeps on its own semaphore; workers_run hands it a function
 * and an argument, runs its own share, then waits on the shared "done"
 * semaphore once per worker it woke.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>

#include "workers.h"
#include "banned.h"

struct worker {
    pthread_t th;
    sem_t go;
    int started;
    void *(*fn)(void *);
    void *arg;
    struct workers *pool;
};

struct workers {
    struct worker w[WORKERS_MAX];
    sem_t done;
    int quit;
};

static void *worker_main(void *p)
{
    struct worker *w = p;

    for (;;) {
        while (sem_wait(&w->go) != 0)
            ; /* EINTR */
        if (w->pool->quit)
            return NULL;
        w->fn(w->arg);
        sem_post(&w->pool->done);
    }
}

static struct workers *workers_new(void)
{
    struct workers *p = calloc(1, sizeof *p);

    if (!p || sem_init(&p->done, 0, 0) != 0) {
        free(p);
        return NULL;
    }
    return p;
}

/* Worker i of p, started now if it was not yet; 0 if it cannot be. */
static int worker_ready(struct workers *p, size_t i)
{
    struct worker *w = &p->w[i];

    if (w->started)
        return 1;
    w->pool = p;
    if (sem_init(&w->go, 0, 0) != 0)
        return 0;
    if (pthread_create(&w->th, NULL, worker_main, w) != 0) {
        sem_destroy(&w->go);
        return 0;
    }
    w->started = 1;
    return 1;
}

void workers_run(struct workers **pw, size_t n, void *(*fn)(void *),
                 void *const *args)
{
    int woke[WORKERS_MAX] = {0};
    size_t nwoke = 0;

    if (n > WORKERS_MAX + 1)
        n = WORKERS_MAX + 1;
    if (n > 1 && !*pw)
        *pw = workers_new();
    for (size_t i = 1; i < n && *pw; i++) {
        struct worker *w = &(*pw)->w[i - 1];
        if (!worker_ready(*pw, i - 1))
            continue;
        w->fn = fn;
        w->arg = args[i];
        woke[i - 1] = 1;
        nwoke++;
        sem_post(&w->go);
    }
    if (n > 0)
        fn(args[0]);
    for (size_t i = 1; i < n; i++)
        if (!woke[i - 1])
            fn(args[i]);
    while (nwoke > 0)
        if (sem_wait(&(*pw)->done) == 0)
            nwoke--;
}

void workers_stop(struct workers *p)
{
    if (!p)
        return;
    p->quit = 1;
    for (size_t i = 0; i < WORKERS_MAX; i++) {
        if (!p->w[i].started)
            continue;
        sem_post(&p->w[i].go);
        pthread_join(p->w[i].th, NULL);
        sem_destroy(&p->w[i].go);
    }
    sem_destroy(&p->done);
    free(p);
}
