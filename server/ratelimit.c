/*
 * ratelimit.c - token buckets in memory, one per key (a client address, a
 * user name), for login attempts. The table is bounded: when full, the
 * bucket that has been idle longest is reused (it has refilled the most).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mamorid.h"
#include "banned.h"

int ratelimit_init(struct ratelimit *r, double per_minute, size_t cap)
{
    memset(r, 0, sizeof *r);
    if (cap == 0 || cap > 1u << 20)
        return MAMORI_EINVAL;
    r->b = calloc(cap, sizeof *r->b);
    if (!r->b)
        return MAMORI_ENOMEM;
    if (pthread_mutex_init(&r->lock, NULL) != 0) {
        free(r->b);
        r->b = NULL;
        return MAMORI_ENOMEM;
    }
    r->cap = cap;
    r->per_minute = per_minute;
    return 0;
}

void ratelimit_release(struct ratelimit *r)
{
    if (!r || !r->b)
        return;
    pthread_mutex_destroy(&r->lock);
    /* Keys name users and addresses. */
    memset(r->b, 0, r->cap * sizeof *r->b);
    free(r->b);
    r->b = NULL;
}

int ratelimit_take(struct ratelimit *r, const char *key, double now)
{
    struct rl_bucket *b = NULL;
    double rate;
    size_t i, oldest = 0;
    int wait = 0;

    if (!r->b || r->per_minute <= 0)
        return 0;
    rate = r->per_minute / 60.0;
    pthread_mutex_lock(&r->lock);
    for (i = 0; i < r->n; i++) {
        if (strncmp(r->b[i].key, key, sizeof r->b[i].key - 1) == 0 &&
            strlen(key) < sizeof r->b[i].key) {
            b = &r->b[i];
            break;
        }
        if (r->b[i].last < r->b[oldest].last)
            oldest = i;
    }
    if (!b) {
        b = r->n < r->cap ? &r->b[r->n++] : &r->b[oldest];
        snprintf(b->key, sizeof b->key, "%s", key);
        b->tokens = r->per_minute;
        b->last = now;
    }
    if (now > b->last) {
        b->tokens += (now - b->last) * rate;
        if (b->tokens > r->per_minute)
            b->tokens = r->per_minute;
        b->last = now;
    }
    if (b->tokens >= 1.0) {
        b->tokens -= 1.0;
    } else {
        wait = (int)((1.0 - b->tokens) / rate) + 1;
        if (wait < 1)
            wait = 1;
    }
    pthread_mutex_unlock(&r->lock);
    return wait;
}

void ratelimit_ip_key(const char *addr, char *key, size_t size)
{
    static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0,    0,
                                         0, 0, 0, 0, 0xff, 0xff};
    struct in6_addr a;
    char text[INET6_ADDRSTRLEN];

    if (addr && strchr(addr, ':') && inet_pton(AF_INET6, addr, &a) == 1 &&
        memcmp(a.s6_addr, v4mapped, sizeof v4mapped) != 0) {
        memset(a.s6_addr + 8, 0, 8);
        if (inet_ntop(AF_INET6, &a, text, sizeof text)) {
            snprintf(key, size, "ip:%s/64", text);
            return;
        }
    }
    snprintf(key, size, "ip:%s", addr ? addr : "");
}
