/*
 * workers.h - a few threads a vault handle keeps for its parallel work.
 *
 * Starting a thread for each batch of lookups is a visible part of the
 * batch on a paravirtualised machine (a new stack to fault in, and the
 * scheduler placing the newcomer): batches of 1,000 lookups ran at 110k/s
 * with a thread per batch and at 116k/s with a thread kept waiting
 * (alternate rounds in one process).
 */
#ifndef MAMORI_WORKERS_H
#define MAMORI_WORKERS_H

#include <stddef.h>

#define WORKERS_MAX 4

struct workers;

/* Runs fn(args[i]) for every i < n: args[0] on the calling thread, the
 * others on the handle's workers (started on first use; an argument
 * whose worker cannot start runs on the calling thread after its own).
 * Returns when all are done. One caller at a time: callers hold the
 * handle's lock. n <= WORKERS_MAX + 1. */
void workers_run(struct workers **w, size_t n, void *(*fn)(void *),
                 void *const *args);

/* Stops and joins the workers; NULL is fine. */
void workers_stop(struct workers *w);

#endif
