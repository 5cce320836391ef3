/*
 * mhd.c - libmicrohttpd glue: one struct conn per request (made in the URI
 * log callback, which sees the raw request target), the body collected up
 * to SRV_BODY_MAX, then srv_handle() and the response with the headers
 * every answer carries.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include <microhttpd.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "i18n.h"
#include "mamorid.h"
#include "spool.h"
#include "banned.h"

/* TLS 1.2 and 1.3 only, AEAD ciphers with forward secrecy. */
#define TLS_PRIORITIES                                                         \
    "SECURE256:+SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:"                \
    "-CIPHER-ALL:+AES-256-GCM:+CHACHA20-POLY1305:+AES-128-GCM:"                \
    "-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:-RSA:-DHE-RSA:"            \
    "%SERVER_PRECEDENCE"

/* MHD's own threads, at most (event_threads). */
#define MHD_EVENT_THREADS_MAX 8
/* Streamed uploads at once (each holds a spool file and a thread). */
#define UPL_CONCURRENT_MAX 16
/* Of those, what one session token may hold: one user cannot keep every
 * other user's imports out. */
#define UPL_PER_SESSION_MAX 4
_Static_assert(UPL_PER_SESSION_MAX == 4, "busy()'s message says 4");
/* Of a JSON body over SRV_BODY_MAX without a Content-Length that says so
 * (chunked), this much more is read and dropped for the 413; then the
 * connection is closed. */
#define BODY_DROP_MAX (16u * 1024 * 1024)
/* The upload spools' directory, under the vault home. */
#define UPL_SPOOL_DIR "upload-spool"

/* A streamed request (ROUTE_STREAM): srv_handle runs in its own thread
 * from the headers on (so that a request refused, 401 or 404, is answered
 * without its body being kept); MHD's upload calls append the body to an
 * encrypted spool (lib/spool.c: a fresh key in memory, an anonymous file
 * under the vault home), and the handler waits for the whole body (up->wait)
 * before it takes the vault, then reads it back from the spool at full
 * speed: a slow client holds no lock of the vault's. MHD's threads never
 * wait for the handler: with the body complete before the handler is done,
 * the connection is suspended, and whoever takes the suspension off (the
 * handler's thread when it is done, mhd_drain_stop at shutdown) resumes
 * it, exactly once. The struct has two owners, the connection and the
 * handler's thread (refs); the last one frees it. */
struct upl {
    pthread_mutex_t lock;
    pthread_cond_t cv;
    /* Written by MHD's thread until eof, read by the handler after it:
     * never both at once. */
    struct spool *sp;
    int spool_err; /* the spool could not be made or written */
    uint64_t total, max;
    int eof, cut, cut_seen, too_big, reader_done;
    struct MHD_Connection *con;
    int suspended;   /* con is suspended (set by MHD's thread, under lock) */
    int refs;        /* under lock */
    atomic_int slot; /* holds one of the UPL_CONCURRENT_MAX slots */
    struct upl_owner *owner; /* its session's share, or NULL */
    struct upl *prev, *next; /* the live uploads (upl_mu) */
    struct srv *S;
    struct srv_req rq;
    struct srv_resp rs;
    struct srv_upload iface;
    char *hdr[6]; /* copies of the headers handed to the thread */
    char addr[INET6_ADDRSTRLEN + 1];
    char method[16];
    /* copies of the conn's: the thread may outlive the connection */
    char uri[SRV_URI_MAX];
    char reqid[SRV_REQID_LEN + 1];
};

struct job;
static void job_free(struct job *j);

struct conn {
    struct upl *up;
    struct srv_later *later;         /* an answer waiting for its commit */
    struct job *job;                 /* handled on the pool (pool.c) */
    char addr[INET6_ADDRSTRLEN + 1]; /* the client's, for the log line */
    char *uri;     /* the request target; NULL if SRV_URI_MAX or longer */
    int uri_long;  /* the request target was SRV_URI_MAX or longer */
    int forwarded; /* named a client behind a proxy (framing_bad) */
    char reqid[SRV_REQID_LEN + 1];
    char *body;
    size_t len, cap;
    int too_big;
    size_t dropped; /* bytes of a body over the limit, read and dropped */
    int started;    /* the first call (headers only) has been seen */
    int flags;      /* its route's (srv_route_flags), known from then on */
};

static atomic_int in_flight;
static atomic_int uploads;
/* The drain has begun: answers close their connection, and no more
 * answers are parked (MHD must not stop with a connection suspended).
 * Each parking counts itself (lates_parked) before it looks at the flag,
 * and the drain sets the flag before it waits for that count to reach 0:
 * one of the two sees the other. */
static atomic_int draining;
/* Connections parked, or about to be, for their answer's commit, and the
 * pool's jobs (a parked answer finished there counts too). */
static atomic_int lates_parked;
/* Connections with a streamed upload (struct conn with up). */
static atomic_int upload_conns;
/* MHD_resume_connection calls decided (under an upload's lock) but not yet
 * made: the daemon must not be stopped before they are. */
static atomic_int resumes_pending;

/* Every live upload, for the drain. Lock order: upl_mu, then an upload's
 * lock; never upl_mu with an upload's lock held. */
static pthread_mutex_t upl_mu = PTHREAD_MUTEX_INITIALIZER;
/* The sessions that hold upload slots, by the SHA-256 of their token
 * (under upl_mu): at most one entry per slot. */
struct upl_owner {
    uint8_t key[32];
    int n; /* slots held; 0: the entry is free */
};
static struct upl_owner upl_owners[UPL_CONCURRENT_MAX];
static struct upl *upl_live;
static int upl_draining; /* new uploads start cut off */

/* A request id: 16 random bytes in hex. Each thread draws them from its
 * own block of RAND_bytes output, refilled every 256 ids. */
static int reqid_new(char out[SRV_REQID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    static _Thread_local uint8_t pool[SRV_REQID_LEN / 2 * 256];
    static _Thread_local size_t left;
    uint8_t *b;
    size_t i;

    if (left < SRV_REQID_LEN / 2) {
        if (RAND_bytes(pool, sizeof pool) != 1)
            return -1;
        left = sizeof pool;
    }
    b = pool + sizeof pool - left;
    for (i = 0; i < SRV_REQID_LEN / 2; i++) {
        out[2 * i] = hex[b[i] >> 4];
        out[2 * i + 1] = hex[b[i] & 0x0f];
    }
    out[SRV_REQID_LEN] = '\0';
    OPENSSL_cleanse(b, SRV_REQID_LEN / 2);
    left -= SRV_REQID_LEN / 2;
    return 0;
}

/* The origin form (path and query) of a request target: an absolute
 * form (http://host/path, which a server must accept, RFC 9112 3.2.2)
 * loses its scheme and authority; mamorid does not use either. */
static const char *origin_form(const char *uri)
{
    size_t skip = strncasecmp(uri, "http://", 7) == 0    ? 7
                  : strncasecmp(uri, "https://", 8) == 0 ? 8
                                                         : 0;
    const char *p = uri + skip;

    if (skip == 0)
        return uri;
    p += strcspn(p, "/?#");
    return *p == '/' ? p : "/"; /* no path: the root */
}

static void *uri_log(void *cls, const char *uri, struct MHD_Connection *con)
{
    struct conn *k = calloc(1, sizeof *k);
    size_t n;

    (void)cls;
    (void)con;
    if (!k)
        return NULL;
    uri = origin_form(uri);
    n = strnlen(uri, SRV_URI_MAX);
    k->uri_long = n >= SRV_URI_MAX;
    if (n < SRV_URI_MAX && !(k->uri = strdup(uri))) {
        free(k);
        return NULL;
    }
    if (reqid_new(k->reqid) != 0) {
        free(k->uri);
        free(k);
        return NULL;
    }
    atomic_fetch_add(&in_flight, 1);
    return k;
}

/* ---- streamed uploads ---------------------------------------------------- */

/* Under u->lock: takes the suspension off u's connection, if any; the
 * caller then resumes what this returns with upl_resume, after unlocking. */
static struct MHD_Connection *upl_unsuspend(struct upl *u)
{
    if (!u->suspended)
        return NULL;
    u->suspended = 0;
    atomic_fetch_add(&resumes_pending, 1);
    return u->con;
}

static void upl_resume(struct MHD_Connection *con)
{
    if (!con)
        return;
    MHD_resume_connection(con);
    atomic_fetch_sub(&resumes_pending, 1);
}

/* Takes an upload slot for the request of k (its session token, if it
 * names one, in *owner): 0; 503 busy when all are taken, 429 when the
 * session holds its share already (slot_give gives it back). */
static int slot_take(const struct srv *S, struct MHD_Connection *con,
                     struct upl_owner **owner)
{
    struct srv_req rq;
    char token[MAMORI_TOKEN_LEN + 1];
    uint8_t key[32];
    struct upl_owner *free_one = NULL, *o = NULL;
    int via_cookie, rc = 0;

    *owner = NULL;
    if (atomic_fetch_add(&uploads, 1) >= UPL_CONCURRENT_MAX) {
        atomic_fetch_sub(&uploads, 1);
        return 503;
    }
    memset(&rq, 0, sizeof rq);
    rq.authorization =
        MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Authorization");
    rq.cookie = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Cookie");
    if (srv_find_token(&rq, S->tls, token, &via_cookie) != 0)
        return 0; /* refused at once by its handler, the slot with it */
    (void)SHA256((const unsigned char *)token, strlen(token), key);
    OPENSSL_cleanse(token, sizeof token);
    pthread_mutex_lock(&upl_mu);
    for (size_t i = 0; i < UPL_CONCURRENT_MAX && !o; i++) {
        if (upl_owners[i].n > 0 &&
            CRYPTO_memcmp(upl_owners[i].key, key, sizeof key) == 0)
            o = &upl_owners[i];
        else if (upl_owners[i].n == 0 && !free_one)
            free_one = &upl_owners[i];
    }
    if (!o && free_one) {
        o = free_one;
        memcpy(o->key, key, sizeof key);
    }
    if (!o || o->n >= UPL_PER_SESSION_MAX) {
        rc = 429;
    } else {
        o->n++;
        *owner = o;
    }
    pthread_mutex_unlock(&upl_mu);
    if (rc)
        atomic_fetch_sub(&uploads, 1);
    return rc;
}

static void slot_give(struct upl_owner *owner)
{
    if (owner) {
        pthread_mutex_lock(&upl_mu);
        owner->n--;
        pthread_mutex_unlock(&upl_mu);
    }
    atomic_fetch_sub(&uploads, 1);
}

/* u's handler is done (or u is freed): its slot is free for another
 * upload. The rest of a body still arriving is only counted and dropped,
 * so it holds no slot: a client that trickles a refused upload cannot
 * keep others out. */
static void upl_slot_give(struct upl *u)
{
    if (atomic_exchange(&u->slot, 0))
        slot_give(u->owner);
}

/* The handler waits here for the whole body (or its end: cut off, over
 * the limit), before it takes the vault: 1, or 0 after seconds. */
static int upl_wait(void *arg, unsigned seconds)
{
    struct upl *u = arg;
    struct timespec until;
    int done, rc = 0;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += seconds;
    pthread_mutex_lock(&u->lock);
    while (!(done = u->eof || u->cut || u->too_big) && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&u->cv, &u->lock, &until);
    pthread_mutex_unlock(&u->lock);
    return done;
}

static long upl_read(void *arg, void *buf, size_t want)
{
    struct upl *u = arg;
    long n;

    pthread_mutex_lock(&u->lock);
    if (u->cut || u->too_big || !u->eof || u->spool_err) {
        u->cut_seen = u->cut;
        pthread_mutex_unlock(&u->lock);
        return -1;
    }
    pthread_mutex_unlock(&u->lock);
    n = spool_read(u->sp, buf, want);
    if (n < 0)
        syslog(LOG_ERR, "request %s: upload spool: %s", u->reqid,
               spool_why(u->sp) ? spool_why(u->sp) : "read failed");
    return n;
}

static int upl_state(void *arg)
{
    struct upl *u = arg;
    int st;

    pthread_mutex_lock(&u->lock);
    /* Cut off only if the handler saw it: one that had read the whole body
     * before is not told otherwise. */
    st = u->too_big               ? SRV_UPLOAD_TOO_BIG
         : u->cut_seen            ? SRV_UPLOAD_CUT
         : u->spool_err && u->eof ? SRV_UPLOAD_SPOOL
                                  : 0;
    pthread_mutex_unlock(&u->lock);
    return st;
}

/* Called by MHD's thread with the next bytes: appends them to the spool
 * (dropped once the handler is done, or the spool failed). -1: close the
 * connection (over the limit, or cut off by the drain). */
static int upl_write(struct upl *u, const char *data, size_t n)
{
    int rc = 0, keep = 0;

    pthread_mutex_lock(&u->lock);
    if (!u->too_big && n > u->max - u->total) {
        u->too_big = 1;
        pthread_cond_broadcast(&u->cv);
    }
    if (u->too_big || u->cut) {
        rc = -1;
    } else {
        /* Counted even when dropped (the handler answered early, or the
         * spool failed): no body goes past the limit. */
        u->total += n;
        keep = !u->reader_done && !u->spool_err;
    }
    pthread_mutex_unlock(&u->lock);
    /* Outside the lock (a disk write): the handler does not touch the
     * spool before eof, which only this thread sets. */
    if (keep && spool_write(u->sp, data, n) != 0) {
        syslog(LOG_ERR, "request %s: upload spool: %s", u->reqid,
               spool_why(u->sp) ? spool_why(u->sp) : "write failed");
        pthread_mutex_lock(&u->lock);
        u->spool_err = 1;
        pthread_mutex_unlock(&u->lock);
    }
    return rc;
}

/* The body is complete: 1 if the handler is done (answer it), 0 if the
 * connection was suspended until it is, -1 if the drain cut it off (close
 * the connection). */
static int upl_end(struct upl *u)
{
    int rc = 0, finish;

    pthread_mutex_lock(&u->lock);
    finish = !u->spool_err && !u->reader_done && !u->cut;
    pthread_mutex_unlock(&u->lock);
    if (finish && spool_finish(u->sp) != 0) {
        syslog(LOG_ERR, "request %s: upload spool: %s", u->reqid,
               spool_why(u->sp) ? spool_why(u->sp) : "write failed");
        finish = 0;
    }
    pthread_mutex_lock(&u->lock);
    if (!finish)
        u->spool_err = 1;
    u->eof = 1;
    pthread_cond_broadcast(&u->cv);
    if (u->reader_done) {
        rc = 1;
    } else if (u->cut) {
        rc = -1;
    } else if (!u->suspended) {
        u->suspended = 1;
        MHD_suspend_connection(u->con);
    }
    pthread_mutex_unlock(&u->lock);
    return rc;
}

static void upl_free(struct upl *u);

/* One owner lets go of u; the last one frees it. */
static void upl_put(struct upl *u)
{
    int last;

    pthread_mutex_lock(&u->lock);
    last = --u->refs == 0;
    pthread_mutex_unlock(&u->lock);
    if (last)
        upl_free(u);
}

static void *upl_thread(void *arg)
{
    struct upl *u = arg;
    struct MHD_Connection *con;

    srv_handle(u->S, &u->rq, &u->rs);
    pthread_mutex_lock(&u->lock);
    u->reader_done = 1;
    pthread_cond_broadcast(&u->cv);
    con = upl_unsuspend(u);
    pthread_mutex_unlock(&u->lock);
    upl_slot_give(u);
    upl_resume(con);
    upl_put(u);
    return NULL;
}

/* The connection is done with u (MHD's request-completed callback): a
 * handler still reading sees the body cut off. */
static void upl_conn_done(struct upl *u)
{
    pthread_mutex_lock(&u->lock);
    if (!u->reader_done)
        u->cut = 1;
    pthread_cond_broadcast(&u->cv);
    /* Not suspended any more (MHD resumed it, or it never was). */
    u->suspended = 0;
    u->con = NULL;
    pthread_mutex_unlock(&u->lock);
    upl_put(u);
}

static void upl_free(struct upl *u)
{
    size_t i;

    if (!u)
        return;
    pthread_mutex_lock(&upl_mu);
    if (u->prev)
        u->prev->next = u->next;
    else if (upl_live == u)
        upl_live = u->next;
    if (u->next)
        u->next->prev = u->prev;
    pthread_mutex_unlock(&upl_mu);
    srv_resp_release(&u->rs);
    for (i = 0; i < sizeof u->hdr / sizeof u->hdr[0]; i++) {
        if (u->hdr[i]) {
            OPENSSL_cleanse(u->hdr[i], strlen(u->hdr[i]));
            free(u->hdr[i]);
        }
    }
    spool_free(u->sp);
    pthread_cond_destroy(&u->cv);
    pthread_mutex_destroy(&u->lock);
    upl_slot_give(u);
    free(u);
}

static void client_address(struct MHD_Connection *con, char *out, size_t size);

/* The request's Content-Length says more than max bytes. */
static int length_over(struct MHD_Connection *con, uint64_t max)
{
    const char *cl =
        MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Content-Length");
    unsigned long long len;
    char *end;

    if (!cl)
        return 0;
    errno = 0;
    len = strtoull(cl, &end, 10);
    return errno == ERANGE || (end != cl && !*end && len > max);
}

static char *hdr_copy(struct MHD_Connection *con, const char *name, int *bad)
{
    const char *v = MHD_lookup_connection_value(con, MHD_HEADER_KIND, name);
    char *d;

    if (!v)
        return NULL;
    d = strdup(v);
    if (!d)
        *bad = 1;
    return d;
}

/* The upload's spool, an anonymous file under the vault home; on failure
 * the handler answers 503 once the body is in (nothing is imported). */
static void upl_spool_new(struct srv *S, struct upl *u)
{
    char dir[PATH_MAX];
    int fd = -1, n, rc = MAMORI_ESTATE;

    if (S->home) {
        n = snprintf(dir, sizeof dir, "%s/%s", S->home, UPL_SPOOL_DIR);
        rc = n < 0 || (size_t)n >= sizeof dir ? MAMORI_ETOOBIG
                                              : spool_tmpfile(dir, &fd);
    }
    if (rc == 0)
        rc = spool_new(fd, &u->sp);
    if (rc != 0) {
        syslog(LOG_ERR, "request %s: the upload spool could not be made (%d)",
               u->reqid, rc);
        u->spool_err = 1;
    }
}

/* Starts the handler's thread of a streamed request, with the slot the
 * caller reserved (slot_take; given back if this fails). */
static struct upl *upl_start(struct srv *S, struct MHD_Connection *con,
                             struct conn *k, const char *method,
                             struct upl_owner *owner)
{
    static const char *const names[6] = {"Content-Type",    "Authorization",
                                         "Cookie",          "X-CSRF-Token",
                                         "Accept-Language", NULL};
    struct upl *u = calloc(1, sizeof *u);
    pthread_attr_t at;
    pthread_t th;
    int bad = 0;
    size_t i;

    if (!u || pthread_mutex_init(&u->lock, NULL) != 0) {
        free(u);
        slot_give(owner);
        return NULL;
    }
    if (pthread_cond_init(&u->cv, NULL) != 0) {
        pthread_mutex_destroy(&u->lock);
        free(u);
        slot_give(owner);
        return NULL;
    }
    atomic_init(&u->slot, 1); /* upl_slot_give gives it back */
    u->owner = owner;
    for (i = 0; names[i]; i++)
        u->hdr[i] = hdr_copy(con, names[i], &bad);
    if (bad)
        goto fail;
    u->S = S;
    u->con = con;
    u->max = S->upload_max;
    snprintf(u->method, sizeof u->method, "%s", method);
    snprintf(u->uri, sizeof u->uri, "%s", k->uri ? k->uri : "");
    memcpy(u->reqid, k->reqid, sizeof u->reqid);
    client_address(con, u->addr, sizeof u->addr);
    u->iface.src.read = upl_read;
    u->iface.src.arg = u;
    u->iface.state = upl_state;
    u->iface.wait = upl_wait;
    u->iface.max = u->max;
    u->rq.method = u->method;
    u->rq.uri = u->uri;
    u->rq.content_type = u->hdr[0];
    u->rq.authorization = u->hdr[1];
    u->rq.cookie = u->hdr[2];
    u->rq.csrf = u->hdr[3];
    u->rq.accept_language = u->hdr[4];
    u->rq.address = u->addr;
    u->rq.request_id = u->reqid;
    u->rq.upload = &u->iface;
    u->too_big = length_over(con, u->max); /* answered before the body */
    if (u->too_big) {
        /* Answered before the body is read (413, or what comes first:
         * 401, 404...): no thread. */
        srv_handle(S, &u->rq, &u->rs);
        u->reader_done = 1;
        u->refs = 1;
        upl_slot_give(u);
        return u;
    }
    upl_spool_new(S, u);
    pthread_mutex_lock(&upl_mu);
    u->cut = upl_draining;
    u->next = upl_live;
    if (upl_live)
        upl_live->prev = u;
    upl_live = u;
    pthread_mutex_unlock(&upl_mu);
    u->refs = 2;
    if (pthread_attr_init(&at) != 0)
        goto fail;
    if (pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED) != 0 ||
        pthread_create(&th, &at, upl_thread, u) != 0) {
        pthread_attr_destroy(&at);
        goto fail;
    }
    pthread_attr_destroy(&at);
    return u;
fail:
    upl_free(u);
    return NULL;
}

/* A parked answer whose connection has closed: finished (its entry
 * written), and the answer thrown away. */
static void later_discard(struct srv_later *l)
{
    struct srv_resp rs;

    srv_later_finish(l, &rs);
    srv_resp_release(&rs);
    OPENSSL_cleanse(rs.set_cookie, sizeof rs.set_cookie);
}

struct orphan {
    struct srv_task task; /* first: the pool hands it back */
    struct srv_later *later;
};

static void orphan_run(struct srv_task *t)
{
    struct orphan *o = (struct orphan *)t;

    later_discard(o->later);
    free(o);
    atomic_fetch_sub(&lates_parked, 1);
}

/* Discards l; on the pool when finishing it waits for a commit of its own
 * (a refusal: srv_later_blocks), as later_answer does, unless the drain
 * has begun (then here). */
static void later_drop(struct srv_later *l)
{
    struct orphan *o = srv_later_blocks(l) ? calloc(1, sizeof *o) : NULL;

    if (o) {
        atomic_fetch_add(&lates_parked, 1);
        if (!atomic_load(&draining)) {
            o->task.run = orphan_run;
            o->later = l;
            srv_pool_push(&o->task);
            return;
        }
        atomic_fetch_sub(&lates_parked, 1);
        free(o);
    }
    later_discard(l);
}

static void conn_free(struct conn *k)
{
    if (!k)
        return;
    if (k->up) {
        upl_conn_done(k->up);
        atomic_fetch_sub(&upload_conns, 1);
    }
    if (k->job)
        job_free(k->job); /* closed once resumed, before it was sent */
    if (k->later) {
        later_drop(k->later); /* closed while parked */
        k->later = NULL;
    }
    if (k->body) {
        OPENSSL_cleanse(k->body, k->cap);
        free(k->body);
    }
    if (k->uri) {
        /* A search's query holds the value searched for. */
        OPENSSL_cleanse(k->uri, strlen(k->uri));
        free(k->uri);
    }
    free(k);
}

static void completed(void *cls, struct MHD_Connection *con, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)con;
    (void)toe;
    if (*con_cls) {
        conn_free(*con_cls);
        *con_cls = NULL;
        atomic_fetch_sub(&in_flight, 1);
    }
}

/* The path is decoded by us, per segment (routes.c); MHD must leave it. */
static size_t no_unescape(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    return strlen(s);
}

static int add_body(struct conn *k, const char *data, size_t n)
{
    if (!k->too_big && n > SRV_BODY_MAX - k->len) {
        k->too_big = 1;
        if (k->body)
            OPENSSL_cleanse(k->body, k->cap);
        free(k->body);
        k->body = NULL;
        k->len = k->cap = 0;
    }
    if (k->too_big) {
        /* Keep reading (and dropping) so that the 413 can be sent, up to
         * a bound: past it the connection is closed. */
        if (n > BODY_DROP_MAX - k->dropped)
            return -1;
        k->dropped += n;
        return 0;
    }
    if (k->len + n + 1 > k->cap) {
        size_t ncap = k->cap ? k->cap : 4096;
        char *nb;

        while (ncap < k->len + n + 1)
            ncap *= 2;
        if (ncap > SRV_BODY_MAX + 1)
            ncap = SRV_BODY_MAX + 1;
        nb = malloc(ncap);
        if (!nb)
            return -1;
        if (k->body) {
            memcpy(nb, k->body, k->len);
            OPENSSL_cleanse(k->body, k->cap);
            free(k->body);
        }
        k->body = nb;
        k->cap = ncap;
    }
    memcpy(k->body + k->len, data, n);
    k->len += n;
    k->body[k->len] = '\0';
    return 0;
}

int srv_addr_text(const struct sockaddr *sa, char *host, size_t size,
                  unsigned *port)
{
    const void *addr;
    unsigned p;

    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const void *)sa;
        addr = &a->sin_addr;
        p = ntohs(a->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const void *)sa;
        addr = &a->sin6_addr;
        p = ntohs(a->sin6_port);
    } else {
        return -1;
    }
    if (!inet_ntop(sa->sa_family, addr, host, (socklen_t)size))
        return -1;
    if (port)
        *port = p;
    return 0;
}

static void client_address(struct MHD_Connection *con, char *out, size_t size)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(con, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

    if (!ci || !ci->client_addr ||
        srv_addr_text(ci->client_addr, out, size, NULL) != 0)
        snprintf(out, size, "unknown");
}

/* A response body handed to MHD, wiped when MHD is done with it. */
struct owned {
    char *buf;
    size_t len;
};

static void owned_free(void *cls)
{
    struct owned *o = cls;

    OPENSSL_cleanse(o->buf, o->len);
    free(o->buf);
    free(o);
}

static int hdr(struct MHD_Response *r, const char *name, const char *value)
{
    return MHD_add_response_header(r, name, value) == MHD_YES;
}

static enum MHD_Result queue(struct srv *S, struct MHD_Connection *con,
                             struct conn *k, struct srv_resp *rs)
{
    struct MHD_Response *r;
    enum MHD_Result ret;
    char num[16];
    int ok;

    if (rs->file_fd > 0) {
        /* A download (routes_export.c): MHD reads and closes the file. */
        r = MHD_create_response_from_fd64(rs->file_len, rs->file_fd);
        if (!r)
            return MHD_NO;
        rs->file_fd = 0;
    } else if (rs->body) {
        struct owned *o = malloc(sizeof *o);

        if (!o)
            return MHD_NO;
        o->buf = rs->body;
        o->len = rs->body_len;
        r = MHD_create_response_from_buffer_with_free_callback_cls(
            o->len, o->buf, owned_free, o);
        if (!r) {
            free(o);
            return MHD_NO;
        }
        /* MHD owns the body now (records: wiped when sent). */
        rs->body = NULL;
        rs->body_len = 0;
    } else {
        r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
        if (!r)
            return MHD_NO;
    }
    /* Every header or none: a record without its no-store, or a page
     * without its CSP, is not sent. */
    ok = hdr(r, "Content-Type",
             rs->content_type ? rs->content_type : "application/json") &&
         hdr(r, "Cache-Control", "no-store") &&
         hdr(r, "X-Content-Type-Options", "nosniff") &&
         hdr(r, "Referrer-Policy", "no-referrer") &&
         /* Strict for the web UI (static.c) and the API alike: no inline
          * script or style, nothing from elsewhere. */
         hdr(r, "Content-Security-Policy",
             "default-src 'none'; script-src 'self'; "
             "style-src 'self'; img-src 'self' data:; "
             "connect-src 'self'; form-action 'self'; "
             "frame-ancestors 'none'; base-uri 'none'") &&
         hdr(r, "X-Frame-Options", "DENY") &&
         hdr(r, "X-Request-Id", k->reqid) &&
         (!S->tls || hdr(r, "Strict-Transport-Security",
                         "max-age=63072000; includeSubDomains")) &&
         (!rs->disposition[0] ||
          hdr(r, "Content-Disposition", rs->disposition)) &&
         (!rs->set_cookie[0] || hdr(r, "Set-Cookie", rs->set_cookie)) &&
         (rs->status != 405 || !rs->allow[0] || hdr(r, "Allow", rs->allow)) &&
         /* A client that keeps its connection open would hold the drain
          * up to its timeout. */
         (!(rs->close || atomic_load(&draining)) ||
          hdr(r, "Connection", "close"));
    if (ok && rs->retry_after > 0) {
        snprintf(num, sizeof num, "%d", rs->retry_after);
        ok = hdr(r, "Retry-After", num);
    }
    if (!ok) {
        MHD_destroy_response(r);
        return MHD_NO;
    }
    ret = MHD_queue_response(con, (unsigned)rs->status, r);
    MHD_destroy_response(r);
    return ret;
}

/* An error answer of the HTTP layer's own (refuse_why: what the log
 * says), in the request's language, with its request id. */
static enum MHD_Result refuse(struct srv *S, struct MHD_Connection *con,
                              struct conn *k, struct srv_resp *rs,
                              const char *log_why)
{
    enum MHD_Result ret;

    syslog(LOG_WARNING, "request %s refused: %s", k->reqid, log_why);
    ret = queue(S, con, k, rs);
    srv_resp_release(rs);
    return ret;
}

static void refusal_req(struct MHD_Connection *con, struct conn *k,
                        struct srv_req *rq)
{
    memset(rq, 0, sizeof *rq);
    rq->accept_language =
        MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Accept-Language");
    rq->request_id = k->reqid;
}

/* The refusal of slot_take, before the body: 503 when every upload slot
 * is taken, 429 when the request's session holds its share. */
static enum MHD_Result busy(struct srv *S, struct MHD_Connection *con,
                            struct conn *k, int status)
{
    struct srv_req rq;
    struct srv_resp rs;

    refusal_req(con, k, &rq);
    if (status == 503)
        srv_refuse(S, &rq, &rs, 503, "busy", MAMORI_ESTATE,
                   N_("too many uploads at once"));
    else
        srv_refuse(S, &rq, &rs, 429, "rate_limited", MAMORI_ESTATE,
                   N_("this session has 4 uploads running: wait until one "
                      "is done"));
    rs.retry_after = 5;
    return refuse(S, con, k, &rs,
                  status == 503 ? "too many uploads at once"
                                : "too many uploads of one session");
}

/* ---- framing: what a proxy in front could read differently -------------
 * Two Content-Lengths, a Content-Length beside a Transfer-Encoding, a
 * transfer coding other than chunked, two Hosts or two Authorizations:
 * a proxy and mamorid could each take a different message from the same
 * bytes (request smuggling), or a different credential. Such a request
 * gets a 400 (501 for an unknown coding) and the connection is closed, so
 * that nothing after it is read as a request (RFC 9112, 6.1 and 6.3). */

struct framing {
    int content_length, transfer_encoding, host, authorization;
    int chunked_only; /* every Transfer-Encoding is exactly "chunked" */
    int forwarded;    /* a proxy's Forwarded, X-Forwarded-For, X-Real-IP */
};

static enum MHD_Result count_header(void *cls, enum MHD_ValueKind kind,
                                    const char *key, const char *value)
{
    struct framing *f = cls;

    (void)kind;
    if (strcasecmp(key, "Content-Length") == 0)
        f->content_length++;
    else if (strcasecmp(key, "Host") == 0)
        f->host++;
    else if (strcasecmp(key, "Authorization") == 0)
        f->authorization++;
    else if (strcasecmp(key, "Forwarded") == 0 ||
             strcasecmp(key, "X-Forwarded-For") == 0 ||
             strcasecmp(key, "X-Real-IP") == 0)
        f->forwarded = 1;
    else if (strcasecmp(key, "Transfer-Encoding") == 0) {
        f->transfer_encoding++;
        if (!value || strcasecmp(value, "chunked") != 0)
            f->chunked_only = 0;
    }
    return MHD_YES;
}

/* What is wrong with the request's framing (its status in *status), or
 * NULL. The same walk over the headers notes in k whether a proxy
 * forwarded the request (srv_req.forwarded). */
static const char *framing_bad(struct MHD_Connection *con, const char *version,
                               struct conn *k, int *status)
{
    struct framing f = {.chunked_only = 1};

    (void)MHD_get_connection_values(con, MHD_HEADER_KIND, count_header, &f);
    k->forwarded = f.forwarded;
    *status = 400;
    if (f.content_length > 1)
        return N_("more than one Content-Length");
    if (f.transfer_encoding && f.content_length)
        return N_("both Content-Length and Transfer-Encoding");
    if (f.transfer_encoding > 1 || !f.chunked_only) {
        *status = 501;
        return N_("a Transfer-Encoding other than chunked");
    }
    if (f.host > 1)
        return N_("more than one Host");
    if (f.host == 0 && version && strcmp(version, "HTTP/1.1") == 0)
        return N_("no Host");
    if (f.authorization > 1)
        return N_("more than one Authorization");
    return NULL;
}

static enum MHD_Result framing_refuse(struct srv *S, struct MHD_Connection *con,
                                      struct conn *k, int status,
                                      const char *why)
{
    struct srv_req rq;
    struct srv_resp rs;

    refusal_req(con, k, &rq);
    srv_refuse(S, &rq, &rs, status,
               status == 501 ? "not_implemented" : "bad_framing", MAMORI_EINVAL,
               why);
    rs.close = 1;
    return refuse(S, con, k, &rs, why);
}

/* 414 to a request target of SRV_URI_MAX bytes or more. */
static enum MHD_Result uri_refuse(struct srv *S, struct MHD_Connection *con,
                                  struct conn *k)
{
    struct srv_req rq;
    struct srv_resp rs;

    refusal_req(con, k, &rq);
    srv_refuse(S, &rq, &rs, 414, "uri_too_long", MAMORI_ETOOBIG,
               N_("the request path is too long"));
    return refuse(S, con, k, &rs, "request target too long");
}

/* The method a request is routed and handled by: HEAD as GET (MHD sends
 * the answer's headers only, RFC 9110 9.3.2). */
static const char *route_method(const char *method)
{
    return strcmp(method, "HEAD") == 0 ? "GET" : method;
}

/* One syslog line per request, unless the access log is off: id, method,
 * status, client address; never the path (it may hold a search value). A
 * failed audit write is always an alert. The audit log records every data
 * request whatever this setting. */
static void log_request(const struct srv *S, const char *reqid,
                        const char *method, const struct srv_resp *rs,
                        const char *addr)
{
    if (rs->alert)
        syslog(LOG_ALERT,
               "mamorid: audit write failed: request %s refused (503)", reqid);
    if (S->access_log)
        syslog(LOG_INFO, "request %s %s %d %s", reqid, method, rs->status,
               addr);
}

static void later_suspend(void *con)
{
    MHD_suspend_connection(con);
}

static void later_resume(void *con)
{
    MHD_resume_connection(con);
    atomic_fetch_sub(&lates_parked, 1);
}

/* Parks k's deferred answer: 1 if it is to be finished now instead. */
static int later_park(struct MHD_Connection *con, struct conn *k)
{
    atomic_fetch_add(&lates_parked, 1);
    if (!atomic_load(&draining) &&
        !srv_later_park(k->later, later_suspend, later_resume, con))
        return 0;
    atomic_fetch_sub(&lates_parked, 1);
    return 1; /* (draining: this thread waits for the verdict) */
}

/* ---- requests that may block: on the pool --------------------------------
 * Logins (Argon2id), writes and searches may take a while: on one of MHD's
 * few threads they would hold that thread's other connections. Their
 * connection is suspended, the request handled on the pool (pool.c), and
 * the connection resumed with the answer, which MHD's thread then sends
 * (job_answer). Counted in lates_parked like a parked answer: the drain
 * waits for both. */
struct job {
    struct srv_task task; /* first: the pool hands it back */
    struct srv *S;
    struct MHD_Connection *con;
    struct srv_req rq; /* points into the connection, which waits */
    struct srv_resp rs;
};

static void job_free(struct job *j)
{
    srv_resp_release(&j->rs);
    OPENSSL_cleanse(j->rs.set_cookie, sizeof j->rs.set_cookie);
    free(j);
}

static void job_run(struct srv_task *t)
{
    struct job *j = (struct job *)t;

    if (!j->rs.later) /* (else only its deferred answer is left to do) */
        srv_handle(j->S, &j->rq, &j->rs);
    if (j->rs.later) /* a deferred answer: this thread may wait for it */
        srv_later_finish(j->rs.later, &j->rs);
    MHD_resume_connection(j->con);
    atomic_fetch_sub(&lates_parked, 1);
}

/* Hands the request to the pool, or with rq NULL k's deferred answer
 * (to be finished there): 1, or 0 if it is to be done here (draining, or
 * no memory). */
static int job_start(struct srv *S, struct MHD_Connection *con, struct conn *k,
                     const struct srv_req *rq)
{
    struct job *j = calloc(1, sizeof *j);

    if (!j)
        return 0;
    atomic_fetch_add(&lates_parked, 1);
    if (atomic_load(&draining)) {
        atomic_fetch_sub(&lates_parked, 1);
        free(j);
        return 0;
    }
    j->task.run = job_run;
    j->S = S;
    j->con = con;
    if (rq) {
        j->rq = *rq;
    } else {
        j->rs.later = k->later;
        k->later = NULL;
    }
    k->job = j;
    /* Suspended before the pool can resume it. */
    MHD_suspend_connection(con);
    srv_pool_push(&j->task);
    return 1;
}

/* Logs and queues rs, then lets go of what it and the request held. */
static enum MHD_Result send_answer(struct srv *S, struct MHD_Connection *con,
                                   struct conn *k, const char *method,
                                   struct srv_resp *rs, const char *addr)
{
    enum MHD_Result ret;

    log_request(S, k->reqid, method, rs, addr);
    ret = queue(S, con, k, rs);
    srv_resp_release(rs);
    /* It carries the session token (MHD has its own copy). */
    OPENSSL_cleanse(rs->set_cookie, sizeof rs->set_cookie);
    if (k->body) {
        OPENSSL_cleanse(k->body, k->cap);
        free(k->body);
        k->body = NULL;
        k->len = k->cap = 0;
    }
    return ret;
}

/* The deferred answer's verdict is in: finish and send it; or, when
 * finishing waits for a commit, have the pool finish it. */
static enum MHD_Result later_answer(struct srv *S, struct MHD_Connection *con,
                                    struct conn *k, const char *method)
{
    struct srv_resp rs;

    if (srv_later_blocks(k->later) && job_start(S, con, k, NULL))
        return MHD_YES; /* MHD calls again once resumed */
    srv_later_finish(k->later, &rs);
    k->later = NULL;
    return send_answer(S, con, k, method, &rs, k->addr);
}

/* The pool is done with k's request: send its answer. */
static enum MHD_Result job_answer(struct srv *S, struct MHD_Connection *con,
                                  struct conn *k, const char *method)
{
    struct job *j = k->job;
    enum MHD_Result ret;

    k->job = NULL;
    ret = send_answer(S, con, k, method, &j->rs, k->addr);
    free(j); /* send_answer released and wiped its answer */
    return ret;
}

/* Handles the request whose body (if any) is in, and queues the answer,
 * or parks the connection until the answer's audit entry is committed. */
static enum MHD_Result answer(struct srv *S, struct MHD_Connection *con,
                              struct conn *k, const char *method)
{
    struct srv_req rq;
    struct srv_resp rs;

    memset(&rq, 0, sizeof rq);
    client_address(con, k->addr, sizeof k->addr);
    rq.method = route_method(method);
    rq.uri = k->uri ? k->uri : "";
    rq.content_type =
        MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Content-Type");
    rq.authorization =
        MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Authorization");
    rq.cookie = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Cookie");
    rq.csrf = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "X-CSRF-Token");
    rq.accept_language =
        MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Accept-Language");
    rq.forwarded = k->forwarded;
    rq.address = k->addr;
    rq.request_id = k->reqid;
    rq.body = k->body;
    rq.body_len = k->len;
    rq.body_too_big = k->too_big;
    /* No route (a file of the web UI, 404, 405) is quick too. */
    if (k->flags >= 0 && !(k->flags & ROUTE_QUICK) && job_start(S, con, k, &rq))
        return MHD_YES; /* MHD calls again once resumed */
    srv_handle(S, &rq, &rs);
    if (rs.later) {
        k->later = rs.later;
        if (!later_park(con, k))
            return MHD_YES; /* MHD calls again once resumed */
        return later_answer(S, con, k, method);
    }
    return send_answer(S, con, k, method, &rs, k->addr);
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *con,
                                 const char *url, const char *method,
                                 const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
    struct srv *S = cls;
    struct conn *k = *con_cls;
    const char *bad;
    int status;

    (void)url;
    if (!k)
        return MHD_NO;
    if (!k->started) {
        /* Headers only: the body (if any) comes in the next calls. */
        k->started = 1;
        if ((bad = framing_bad(con, version, k, &status)) != NULL)
            return framing_refuse(S, con, k, status, bad);
        if (k->uri_long)
            return uri_refuse(S, con, k);
        k->flags = k->uri ? srv_route_flags(route_method(method), k->uri) : -1;
        if (k->flags >= 0 && (k->flags & ROUTE_STREAM)) {
            /* Reserved at once: two requests at the same moment cannot
             * both take the last slot. */
            struct upl_owner *owner;
            int st = slot_take(S, con, &owner);

            if (st != 0)
                return busy(S, con, k, st);
            k->up = upl_start(S, con, k, method, owner);
            if (!k->up)
                return MHD_NO;
            atomic_fetch_add(&upload_conns, 1);
            if (k->up->too_big) /* Content-Length over the limit */
                return queue(S, con, k, &k->up->rs);
        } else if (length_over(con, SRV_BODY_MAX)) {
            /* The 413 at once, without reading the body. */
            k->too_big = 1;
            return answer(S, con, k, method);
        }
        return MHD_YES;
    }
    if (k->job)
        return job_answer(S, con, k, method);
    if (k->later)
        return later_answer(S, con, k, method);
    if (k->up) {
        if (*upload_data_size) {
            int wr = upl_write(k->up, upload_data, *upload_data_size);

            *upload_data_size = 0;
            /* A body without Content-Length went over the limit, or the
             * drain cut the upload off: no response can be queued
             * mid-upload, so the connection is closed (the handler has
             * stopped; nothing was imported). */
            return wr < 0 ? MHD_NO : MHD_YES;
        }
        switch (upl_end(k->up)) {
        case 0:
            return MHD_YES; /* resumed when the handler is done */
        case 1:
            break;
        default:
            return MHD_NO;
        }
        log_request(S, k->reqid, method, &k->up->rs, k->up->addr);
        return queue(S, con, k, &k->up->rs);
    }
    if (*upload_data_size) {
        if (add_body(k, upload_data, *upload_data_size) != 0)
            return MHD_NO;
        *upload_data_size = 0;
        return MHD_YES;
    }
    return answer(S, con, k, method);
}

__attribute__((format(printf, 2, 0))) static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
    char buf[512];

    (void)cls;
    vsnprintf(buf, sizeof buf, fmt, ap);
    syslog(LOG_WARNING, "libmicrohttpd: %s", buf);
}

/* MHD's own threads only read, route, answer quick requests and write:
 * one per CPU (up to the pool's size) keeps each epoll_wait busy with
 * many connections. */
static unsigned event_threads(const struct mhd_opts *o)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned n = cpus > 0 ? (unsigned)cpus : 1;

    if (n > MHD_EVENT_THREADS_MAX)
        n = MHD_EVENT_THREADS_MAX;
    return n < o->threads ? n : o->threads;
}

struct MHD_Daemon *mhd_start(struct srv *S, const struct mhd_opts *o)
{
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC |
                     MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
    struct MHD_OptionItem ops[16];
    struct MHD_Daemon *d;
    size_t n = 0;

    if (o->cert_pem && o->key_pem)
        flags |= MHD_USE_TLS;
    ops[n++] =
        (struct MHD_OptionItem){MHD_OPTION_LISTEN_SOCKET, o->listen_fd, NULL};
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE,
                                       (intptr_t)event_threads(o), NULL};
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_URI_LOG_CALLBACK,
                                       (intptr_t)uri_log, NULL};
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED,
                                       (intptr_t)completed, NULL};
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_UNESCAPE_CALLBACK,
                                       (intptr_t)no_unescape, NULL};
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_EXTERNAL_LOGGER,
                                       (intptr_t)mhd_log, NULL};
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, 30, NULL};
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, 1024, NULL};
    /* Each connection's pool holds its request head and read buffer, and
     * is reset for every request: 16 KiB takes the longest path we
     * accept (SRV_URI_MAX) with ordinary headers; a longer head gets
     * libmicrohttpd's 414 or 431. Bodies are kept apart (add_body, the
     * upload spool). */
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                                       16 * 1024, NULL};
    if (flags & MHD_USE_TLS) {
        ops[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0,
                                           (void *)o->cert_pem};
        ops[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0,
                                           (void *)o->key_pem};
        ops[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0,
                                           (void *)TLS_PRIORITIES};
    }
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    if (srv_pool_start(o->threads) != 0) /* (refuses 0) */
        return NULL;
    d = MHD_start_daemon(flags, 0, NULL, NULL, access_cb, S, MHD_OPTION_ARRAY,
                         ops, MHD_OPTION_END);
    if (!d)
        srv_pool_stop();
    return d;
}

/* Cuts every live upload off: its handler sees a read error (nothing is
 * imported, and the import is audited as failed), its connection is resumed
 * and then closed. Uploads that start later start cut off. */
static void upl_cut_all(void)
{
    struct upl *u;

    pthread_mutex_lock(&upl_mu);
    upl_draining = 1;
    for (u = upl_live; u; u = u->next) {
        struct MHD_Connection *con;

        pthread_mutex_lock(&u->lock);
        if (!u->reader_done)
            u->cut = 1;
        pthread_cond_broadcast(&u->cv);
        con = upl_unsuspend(u);
        pthread_mutex_unlock(&u->lock);
        upl_resume(con);
    }
    pthread_mutex_unlock(&upl_mu);
}

void mhd_drain_stop(struct MHD_Daemon *d, int timeout_s)
{
    MHD_socket fd;
    int waited = 0;

    if (!d)
        return;
    fd = MHD_quiesce_daemon(d);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
    atomic_store(&draining, 1);
    upl_cut_all();
    /* The other requests finish; the uploads cut off are closed by MHD
     * when it stops. */
    while (atomic_load(&in_flight) > atomic_load(&upload_conns) &&
           waited < timeout_s * 10) {
        usleep(100000);
        waited++;
    }
    /* No connection may be suspended (nor a resume be under way) when MHD
     * stops. The parked answers' verdicts come within a commit. */
    while (atomic_load(&resumes_pending) > 0 || atomic_load(&lates_parked) > 0)
        usleep(1000);
    MHD_stop_daemon(d);
    srv_pool_stop(); /* idle: every job resumed its connection */
    /* The handlers' threads use the vault: they end (their uploads are cut
     * off) before the caller closes it. */
    for (waited = 0;; waited++) {
        int live;

        pthread_mutex_lock(&upl_mu);
        live = upl_live != NULL;
        pthread_mutex_unlock(&upl_mu);
        if (!live)
            break;
        if (waited % 100 == 99)
            syslog(LOG_WARNING, "stopping: waiting for cut-off uploads");
        usleep(100000);
    }
}
