/*
 * metrics.c - the counters of /metrics. See metrics.h.
 *
 * Every counter is a relaxed atomic: requests on the MHD thread pool add to
 * them without a lock; a scrape reads each one once (a scrape racing with
 * requests may see a histogram's count and its buckets a request apart,
 * which Prometheus tolerates).
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "metrics.h"
#include "banned.h"

/* The statuses the server sends; anything else counts as "other". */
static const int statuses[] = {200, 201, 204, 400, 401, 403, 404, 405,
                               409, 410, 413, 415, 422, 429, 500, 503};
#define NSTATUS (sizeof statuses / sizeof statuses[0] + 1)

/* Upper bounds of the latency buckets, seconds (+Inf is the count). */
static const double bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                0.1,    0.25,  0.5,    1,     2.5,  5,     10};
static const char *const bound_text[] = {
    "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05",
    "0.1",    "0.25",  "0.5",    "1",     "2.5",  "5",     "10"};
#define NBOUNDS (sizeof bounds / sizeof bounds[0])

/* Slot METRICS_ROUTES_MAX is "no route". */
#define NSLOTS (METRICS_ROUTES_MAX + 1)

static atomic_ullong requests[NSLOTS][NSTATUS];
static atomic_ullong buckets[NSLOTS][NBOUNDS]; /* not cumulative */
static atomic_ullong observed[NSLOTS];
static atomic_ullong sum_ns[NSLOTS];
static atomic_ullong audit_failures;

static size_t status_slot(int status)
{
    size_t i;

    for (i = 0; i < NSTATUS - 1; i++)
        if (statuses[i] == status)
            return i;
    return NSTATUS - 1;
}

void metrics_observe(size_t route, int status, double seconds, int audit_failed)
{
    size_t r = route < srv_nroutes && route < METRICS_ROUTES_MAX
                   ? route
                   : METRICS_ROUTES_MAX;
    size_t b;

    if (seconds < 0)
        seconds = 0;
    atomic_fetch_add_explicit(&requests[r][status_slot(status)], 1,
                              memory_order_relaxed);
    for (b = 0; b < NBOUNDS && seconds > bounds[b]; b++)
        ;
    if (b < NBOUNDS)
        atomic_fetch_add_explicit(&buckets[r][b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&observed[r], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&sum_ns[r],
                              (unsigned long long)(seconds * 1e9 + 0.5),
                              memory_order_relaxed);
    if (audit_failed)
        atomic_fetch_add_explicit(&audit_failures, 1, memory_order_relaxed);
}

int metrics_loopback(const char *a)
{
    if (!a)
        return 0;
    if (strncmp(a, "::ffff:", 7) == 0)
        a += 7;
    return strncmp(a, "127.", 4) == 0 || strcmp(a, "::1") == 0;
}

/* ---- the text format ---------------------------------------------------- */

struct buf {
    char *p;
    size_t len, cap;
    int failed;
};

static void put(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void put(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (b->failed)
        return;
    for (;;) {
        size_t room = b->cap - b->len;

        va_start(ap, fmt);
        n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? room : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = 1;
            return;
        }
        if (b->p && (size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap : 16384;
        while (cap - b->len <= (size_t)n) {
            if (cap > (size_t)64 << 20) {
                b->failed = 1;
                return;
            }
            cap *= 2;
        }
        char *np = realloc(b->p, cap);
        if (!np) {
            b->failed = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
}

/* The labels of a route slot: method and pattern (fixed strings of the
 * route table, which hold no quote, backslash or newline). */
static void route_labels(size_t r, const char **method, const char **route)
{
    if (r < srv_nroutes && r < METRICS_ROUTES_MAX) {
        *method = srv_routes[r].method;
        *route = srv_routes[r].pattern;
    } else {
        *method = "";
        *route = "none";
    }
}

static unsigned long long load(atomic_ullong *a)
{
    return atomic_load_explicit(a, memory_order_relaxed);
}

static void render(struct buf *b, const struct mamori_stats *st, int have_st)
{
    size_t r, i;
    const char *method, *route;
    unsigned threads, busy, queued;

    put(b, "# HELP mamorid_requests_total Requests handled, by route and "
           "HTTP status.\n# TYPE mamorid_requests_total counter\n");
    for (r = 0; r < NSLOTS; r++) {
        route_labels(r, &method, &route);
        for (i = 0; i < NSTATUS; i++) {
            unsigned long long v = load(&requests[r][i]);
            char status[16];

            if (!v)
                continue;
            if (i < NSTATUS - 1)
                snprintf(status, sizeof status, "%d", statuses[i]);
            else
                snprintf(status, sizeof status, "other");
            put(b,
                "mamorid_requests_total{method=\"%s\",route=\"%s\","
                "status=\"%s\"} %llu\n",
                method, route, status, v);
        }
    }
    put(b, "# HELP mamorid_request_duration_seconds Time to handle a "
           "request, by route.\n"
           "# TYPE mamorid_request_duration_seconds histogram\n");
    for (r = 0; r < NSLOTS; r++) {
        unsigned long long n = load(&observed[r]), cum = 0;

        if (!n)
            continue;
        route_labels(r, &method, &route);
        for (i = 0; i < NBOUNDS; i++) {
            cum += load(&buckets[r][i]);
            put(b,
                "mamorid_request_duration_seconds_bucket{method=\"%s\","
                "route=\"%s\",le=\"%s\"} %llu\n",
                method, route, bound_text[i], cum);
        }
        if (cum > n)
            n = cum;
        put(b,
            "mamorid_request_duration_seconds_bucket{method=\"%s\","
            "route=\"%s\",le=\"+Inf\"} %llu\n",
            method, route, n);
        put(b,
            "mamorid_request_duration_seconds_sum{method=\"%s\","
            "route=\"%s\"} %.9f\n",
            method, route, (double)load(&sum_ns[r]) / 1e9);
        put(b,
            "mamorid_request_duration_seconds_count{method=\"%s\","
            "route=\"%s\"} %llu\n",
            method, route, n);
    }
    put(b,
        "# HELP mamorid_audit_failures_total Requests refused because "
        "their audit entry could not be written.\n"
        "# TYPE mamorid_audit_failures_total counter\n"
        "mamorid_audit_failures_total %llu\n",
        load(&audit_failures));
    srv_pool_stats(&threads, &busy, &queued);
    put(b,
        "# HELP mamorid_pool_threads Threads for requests that may block "
        "(threads = N).\n"
        "# TYPE mamorid_pool_threads gauge\n"
        "mamorid_pool_threads %u\n"
        "# HELP mamorid_pool_busy Pool threads handling a request now.\n"
        "# TYPE mamorid_pool_busy gauge\n"
        "mamorid_pool_busy %u\n"
        "# HELP mamorid_pool_queued Requests waiting for a pool thread.\n"
        "# TYPE mamorid_pool_queued gauge\n"
        "mamorid_pool_queued %u\n",
        threads, busy, queued);
    if (!have_st)
        return;
    put(b,
        "# HELP mamorid_audit_appends_total Audit entries appended by this "
        "process.\n"
        "# TYPE mamorid_audit_appends_total counter\n"
        "mamorid_audit_appends_total %lld\n"
        "# HELP mamorid_audit_read_commits_total Transactions that wrote the "
        "audit entries of concurrent record reads together.\n"
        "# TYPE mamorid_audit_read_commits_total counter\n"
        "mamorid_audit_read_commits_total %lld\n"
        "# HELP mamorid_sessions_active Sessions not expired.\n"
        "# TYPE mamorid_sessions_active gauge\n"
        "mamorid_sessions_active %lld\n"
        "# HELP mamorid_accounts_locked Accounts locked after failed "
        "logins.\n"
        "# TYPE mamorid_accounts_locked gauge\n"
        "mamorid_accounts_locked %lld\n",
        (long long)st->audit_appends, (long long)st->read_commits,
        (long long)st->sessions, (long long)st->locked);
}

/* The bearer token of the request, copied into tok; -1 if there is none
 * of the right form. */
static int bearer(const char *a, char *tok, size_t size)
{
    size_t n;

    if (!a || strncasecmp(a, "Bearer ", 7) != 0)
        return -1;
    a += 7;
    while (*a == ' ')
        a++;
    n = strlen(a);
    if (n != MAMORI_TOKEN_LEN || n >= size)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char ch = a[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
              (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
            return -1;
    }
    memcpy(tok, a, n);
    tok[n] = '\0';
    return 0;
}

/* Loopback (unless forwarded or so configured), or an admin's or
 * auditor's session: 0; else an error sent. */
static int allowed(struct ctx *c)
{
    char tok[MAMORI_TOKEN_LEN + 1];
    mamori_sess *s = NULL;
    const char *role;
    unsigned needs;
    int rc;

    /* A proxy on this host makes every client loopback: a request it
     * forwarded, or any when so configured, shows its token. */
    if (!c->S->metrics_token_always && !c->rq->forwarded &&
        metrics_loopback(c->rq->address))
        return 0;
    if (!c->S->m || bearer(c->rq->authorization, tok, sizeof tok) != 0) {
        srv_fail_code(c, 401, "session", MAMORI_ESESSION,
                      "metrics: from loopback, or with the bearer token of "
                      "an admin or auditor session");
        return -1;
    }
    rc = mamori_session_open(c->S->m, tok, &c->client, &s);
    OPENSSL_cleanse(tok, sizeof tok);
    if (rc != 0) {
        srv_fail(c, rc, "the session is unknown or has expired");
        return -1;
    }
    role = mamori_session_role(s);
    rc = role && (strcmp(role, "admin") == 0 || strcmp(role, "auditor") == 0)
             ? 0
             : -1;
    /* As everywhere else: nothing before the first-login password change
     * and the MFA enrolment are done. */
    needs = mamori_session_needs(s);
    mamori_session_close(s);
    if (rc != 0)
        srv_fail_code(c, 403, "denied", MAMORI_EDENIED,
                      "metrics: admins and auditors only");
    else if (needs != 0)
        srv_fail_code(c, 403, "denied", MAMORI_EDENIED,
                      "metrics: change the password and set up the one-time "
                      "code first");
    return rc != 0 || needs != 0 ? -1 : 0;
}

void h_metrics(struct ctx *c)
{
    struct mamori_stats st;
    struct buf b = {0};
    int have_st = 0;

    if (allowed(c) != 0)
        return;
    memset(&st, 0, sizeof st);
    if (c->S->m && mamori_stats(c->S->m, &st) == 0)
        have_st = 1;
    render(&b, &st, have_st);
    if (b.failed || !b.p) {
        free(b.p);
        srv_fail_code(c, 500, "no_memory", MAMORI_ENOMEM,
                      "metrics: out of memory");
        return;
    }
    srv_resp_release(c->rs);
    c->rs->status = 200;
    c->rs->content_type = "text/plain; version=0.0.4; charset=utf-8";
    c->rs->body = b.p;
    c->rs->body_len = b.len;
}
