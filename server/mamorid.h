/*
 * mamorid.h - the server's internal interfaces.
 *
 * mamorid is a thin front end: the library (include/mamori.h) does the
 * security work (sessions, roles, audit). The server turns HTTP requests
 * into library calls and the results into JSON. The request path is split
 * so that it runs without a network (the fuzz target):
 *
 *   mhd.c       libmicrohttpd glue: bodies, headers, responses
 *   http.c      srv_handle(): auth, CSRF, errors, JSON bodies, languages
 *   routes.c    the route table and one handler per route
 *   ratelimit.c token buckets for logins
 *   config.c    flags and the INI file
 *   main.c      start-up: unseal, listen, drop privileges, signals
 */
#ifndef MAMORID_H
#define MAMORID_H

#include <locale.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "mamori.h"

#define SRV_BODY_MAX (1024 * 1024) /* JSON bodies */
#define SRV_URI_MAX 8192
#define SRV_REQID_LEN 32 /* hex of 16 random bytes */
#define SRV_CSRF_LEN 43  /* base64url of HMAC-SHA-256 */

/* ---- rate limits (ratelimit.c) ------------------------------------------ */

struct rl_bucket {
    char key[80];
    double tokens;
    double last; /* monotonic seconds */
};

struct ratelimit {
    pthread_mutex_t lock;
    double per_minute; /* refill rate and burst */
    size_t n, cap;
    struct rl_bucket *b;
};

int ratelimit_init(struct ratelimit *r, double per_minute, size_t cap);
void ratelimit_release(struct ratelimit *r);
/* Takes a token for key at time now (seconds). 0 if allowed; else the
 * seconds to wait (>= 1). per_minute 0 disables the limit. */
int ratelimit_take(struct ratelimit *r, const char *key, double now);
/* The bucket key of a client address: "ip:" and the address, or for IPv6
 * its /64 (one site's network: a client has a whole /64 to pick from). */
void ratelimit_ip_key(const char *addr, char *key, size_t size);

/* ---- the server ---------------------------------------------------------- */

struct srv {
    mamori *m;      /* the unsealed vault; NULL in some fuzz runs */
    int tls;        /* serving HTTPS: Secure cookies, HSTS */
    int test_hooks; /* MAMORI_TEST_HOOKS=1 */
    uint8_t csrf_key[32];
    locale_t loc_ja, loc_en;
    struct ratelimit rl_ip, rl_user, rl_challenge;
    const char *openapi; /* the embedded docs/openapi.yaml */
    size_t openapi_len;
    const char *home;    /* the vault home (the export spool is under it) */
    uint64_t upload_max; /* streamed bodies (import), bytes */
    int access_log;      /* a syslog line per request ([server] access_log) */
    int metrics_token_always; /* /metrics wants a token from loopback too */
};

int srv_init(struct srv *S, mamori *m, int tls, double login_per_ip,
             double login_per_user);
void srv_release(struct srv *S);

/* One request, independent of the HTTP library. */
struct srv_req {
    const char *method;
    const char *uri; /* raw request target: path and query, not decoded */
    const char *content_type;
    const char *authorization;
    const char *cookie;
    const char *csrf; /* X-CSRF-Token */
    const char *accept_language;
    const char *address; /* client IP, text */
    const char *request_id;
    /* The request names a client behind a proxy (Forwarded, X-Forwarded-
     * For or X-Real-IP): its address is the proxy's. */
    int forwarded;
    const char *body;
    size_t body_len;
    int body_too_big; /* the body was over SRV_BODY_MAX (not kept) */
    /* The body of a ROUTE_STREAM request, pulled while it arrives (mhd.c);
     * NULL: it is body/body_len. */
    const struct srv_upload *upload;
};

/* A streamed request body, spooled (encrypted) while it arrives. wait
 * returns 1 once the whole body is in the spool, or it went over the
 * limit, or it was cut off (call it before taking the vault: a slow client
 * must not hold it); 0 after seconds without that (the caller keeps its
 * session alive and waits again). src.read (after wait) returns the body from
 * the spool, 0 at its end and < 0 when the body went over the limit, was cut
 * off or the spool failed; state then says which. */
struct srv_upload {
    struct mamori_source src;
    int (*wait)(void *arg, unsigned seconds); /* arg: src.arg */
    /* 0, SRV_UPLOAD_TOO_BIG, SRV_UPLOAD_CUT or SRV_UPLOAD_SPOOL */
    int (*state)(void *arg);
    uint64_t max; /* the limit, bytes */
};
#define SRV_UPLOAD_TOO_BIG 1
#define SRV_UPLOAD_CUT 2
#define SRV_UPLOAD_SPOOL 3 /* the spool could not be made or written */
#define SRV_UPLOAD_MAX_DEFAULT (1024ULL * 1024 * 1024)

/* The flags (enum route_flags) of the route METHOD uri (the raw request
 * target) goes to, as srv_handle picks it; -1 if none (a static file, a
 * 404 or 405). */
int srv_route_flags(const char *method, const char *uri);

/* What to send back. body is malloc'ed (or NULL), freed with
 * srv_resp_release (wiped first: it may hold personal data). */
struct srv_resp {
    int status;
    char *body;
    size_t body_len;
    const char *content_type;
    char set_cookie[160];
    int retry_after; /* seconds, 0 for none */
    char allow[64];  /* Allow header of a 405, or "" */
    int alert;       /* an audit write failed: log at LOG_ALERT */
    int close;       /* Connection: close (the request's framing is bad) */
    /* A file download instead of body: an open file (fd >= 1, closed by
     * mhd.c once sent) of file_len bytes, with a Content-Disposition. */
    int file_fd;
    uint64_t file_len;
    char disposition[128];
    /* Set instead of a body when the answer waits for its audit entry's
     * group commit (later.c); the caller parks the connection. */
    struct srv_later *later;
};

void srv_resp_release(struct srv_resp *rs);

/* Handles one request: always fills rs (status, body), or rs->later. */
void srv_handle(struct srv *S, const struct srv_req *rq, struct srv_resp *rs);
/* The web session's cookie. Under TLS it is "__Host-" prefixed: a
 * browser takes such a cookie only from this very host, over HTTPS, for
 * Path=/ and without Domain, so a sibling host (a.example.jp beside
 * mamori.example.jp) cannot plant one that would be sent before ours. */
#define SRV_COOKIE_TLS "__Host-mamori_session"
#define SRV_COOKIE_PLAIN "mamori_session"
#define SRV_COOKIE(tls) ((tls) ? SRV_COOKIE_TLS : SRV_COOKIE_PLAIN)
/* The session token of rq: "Authorization: Bearer T" first, else the
 * first well-formed session cookie SRV_COOKIE(tls)=T (*via_cookie then 1).
 * 0 if found, MAMORI_ESESSION if not. The session itself is not looked
 * at. */
int srv_find_token(const struct srv_req *rq, int tls,
                   char token[MAMORI_TOKEN_LEN + 1], int *via_cookie);
/* An error answer made outside srv_handle (the HTTP layer's refusals),
 * as srv_handle makes them: in rq's language, with its request id. */
void srv_refuse(struct srv *S, const struct srv_req *rq, struct srv_resp *rs,
                int status, const char *code, int err, const char *detail);

/* ---- answers that wait for the group commit (later.c) -------------------- */

/* A record read answers only once its audit entry is committed; MHD's
 * thread does not wait for that. The handler defers its answer (srv_defer),
 * srv_handle returns rs->later instead of a body, and the caller parks the
 * connection: srv_later_park suspends it (suspend(arg)) unless the verdict
 * is in already (1: finish now). When it comes, resume(arg) is called from
 * the committer's thread, and the caller, called again by MHD, finishes:
 * srv_later_finish fills rs and frees the later. A connection closed while
 * parked finishes into a response it throws away. srv_later_blocks (once
 * ready) is 1 when finishing waits for a commit of its own (a refusal:
 * mamori_later_blocks): not on MHD's thread, then. */
struct srv_later;
int srv_later_park(struct srv_later *l, void (*suspend)(void *arg),
                   void (*resume)(void *arg), void *arg);
int srv_later_blocks(struct srv_later *l);
void srv_later_finish(struct srv_later *l, struct srv_resp *rs);

/* ---- routes (routes.c) --------------------------------------------------- */

struct ctx; /* one request being handled (http.c) */

enum route_flags {
    ROUTE_SESSION = 1 << 0, /* needs a session */
    ROUTE_JSON = 1 << 1,    /* takes a JSON object body */
    ROUTE_VAULT = 1 << 2,   /* needs the vault (no session) */
    ROUTE_STREAM = 1 << 3,  /* the body is streamed (rq->upload) */
    ROUTE_READ = 1 << 4,    /* a record read: its session is checked in the
                             * read's snapshot (mamori_session_open_read) */
    ROUTE_QUICK = 1 << 5,   /* never waits for long (no disk flush, no
                             * Argon2id): handled on MHD's thread */
};

struct route {
    const char *method;
    const char *pattern; /* "/api/v1/datasets/{ds}/records/{id}" */
    void (*handler)(struct ctx *c);
    unsigned flags;
};

extern const struct route srv_routes[];
extern const size_t srv_nroutes;

/* Prints "METHOD /pattern" lines (mamorid --routes). */
void srv_routes_print(void);

/* ---- what handlers use (http.c) ----------------------------------------- */

#define SRV_MAX_PARAMS 2

struct ctx {
    struct srv *S;
    const struct srv_req *rq;
    struct srv_resp *rs;
    const struct route *route;
    char *path; /* the URI's path (before '?'), for matching; decoded only
                 * per segment */
    char *params[SRV_MAX_PARAMS]; /* decoded path parameters */
    size_t nparams;
    const char *query; /* raw query string (after '?'), or "" */
    json_t *json;      /* the parsed body (ROUTE_JSON) */
    mamori_sess *s;    /* the session (ROUTE_SESSION) */
    char token[MAMORI_TOKEN_LEN + 1];
    int via_cookie;
    struct mamori_client client;
};

/* For a handler that may defer its answer: a later for c, to pass to
 * mamori_record_get_later with srv_later_ready; then either srv_defer (the
 * library queued the read: finish(c, ml) fills c->rs once its verdict is
 * in) or srv_later_cancel (the answer is here already). */
struct srv_later *srv_later_new(struct ctx *c);
void srv_later_ready(void *arg);
void srv_defer(struct ctx *c, struct srv_later *l, mamori_later *ml,
               void (*finish)(struct ctx *c, mamori_later *ml));
void srv_later_cancel(struct srv_later *l);
/* srv_handle hands a deferred answer's route and start time over. */
void srv_later_started(struct srv_later *l, size_t route, double t0);
/* Frees what c holds (http.c). */
void srv_ctx_release(struct ctx *c);

/* An answer's text written straight into a buffer (json_out.c), wiped as
 * it grows; oom once an allocation failed. */
struct srv_out {
    char *buf;
    size_t len, cap;
    int oom;
};
void srv_out_raw(struct srv_out *o, const char *s, size_t n);
/* s as a JSON string, as jansson's dump of srv_json_str(s) writes it. */
void srv_out_str(struct srv_out *o, const char *s);
void srv_out_free(struct srv_out *o);
/* A record as the compact JSON text of its object (id, version, masked,
 * then the fields), newline-terminated, exactly as dumping the jansson
 * object the records routes build would give; -1 if that object is one
 * this does not write (over SRV_RECORD_TEXT_FIELDS fields, keys that
 * clash or are not UTF-8) or memory ran out. */
#define SRV_RECORD_TEXT_FIELDS 64
int srv_record_text(const struct mamori_record *r, char **out, size_t *len);
/* The jansson object of a record (routes_records.c). */
json_t *srv_record_json(const struct mamori_record *r);

/* Sets rs to the error for a MAMORI_E* code; detail (may be NULL) is
 * technical English naming the problem, never a value. With a session,
 * mamori_errdetail() is used when detail is NULL. */
void srv_fail(struct ctx *c, int err, const char *detail);
/* An error of the server's own: status, machine code, the library error
 * whose message fits, and a detail. */
void srv_fail_code(struct ctx *c, int status, const char *code, int err,
                   const char *detail);
/* srv_handle runs each request under the locale of its Accept-Language,
 * so _() gives the server's own details in that language; the literal
 * details of srv_fail_code (argument 5) and srv_fail (3) are translated
 * by them: po/POTFILES extracts them with those keywords. */
/* The same with a JSON value (consumed) as error.detail. */
void srv_fail_json(struct ctx *c, int status, const char *code, int err,
                   json_t *detail);
/* Sends j (consumed; NULL is a 500) as the JSON body with status. */
void srv_json(struct ctx *c, int status, json_t *j);
/* A JSON string, with bytes that are not UTF-8 replaced. */
json_t *srv_json_str(const char *s);
/* As srv_json_str, of at most max bytes: for the char arrays of the
 * library's structs (SRV_JSON_ARR), bounded even without their NUL. */
json_t *srv_json_strn(const char *s, size_t max);
#define SRV_JSON_ARR(a) srv_json_strn((a), sizeof(a))
json_t *srv_json_time(int64_t t);
/* Query parameters: the decoded value of name (first one), or NULL.
 * Returns 0, or MAMORI_EINVAL on bad escapes. The caller frees *out. */
int srv_query_get(const char *query, const char *name, char **out);
/* Every query parameter decoded, in order; free with srv_query_free. */
int srv_query_all(const char *query, char ***names, char ***values, size_t *n);
void srv_query_free(char **names, char **values, size_t n);
/* Percent-decodes src (len bytes) into a new string; '+' as space when
 * plus_space. MAMORI_EINVAL on a bad escape or a decoded NUL. */
int srv_pct_decode(const char *src, size_t len, int plus_space, char **out);

/* Validators for path parameters. */
int srv_dataset_name_ok(const char *s);
int srv_uuid_ok(const char *s);

/* The HTTP status of a MAMORI_E* code (its name: mamori_errname). */
int srv_error_status(int err);

/* Derives the CSRF token of a session token (base64url, NUL-terminated
 * into out of SRV_CSRF_LEN + 1 bytes). */
void srv_csrf(const struct srv *S, const char *token, char *out);

/* Monotonic seconds. */
double srv_now(void);

/* ---- mhd.c --------------------------------------------------------------- */

struct MHD_Daemon;
struct mhd_opts {
    int listen_fd;
    unsigned threads; /* for requests that may block (pool.c), >= 1 */
    const char *cert_pem, *key_pem; /* NULL: plain HTTP */
};
struct sockaddr;
/* The host of an IPv4 or IPv6 address as text into host, its port into
 * *port (may be NULL); 0, or -1 for another family. */
int srv_addr_text(const struct sockaddr *sa, char *host, size_t size,
                  unsigned *port);
/* Starts libmicrohttpd on an already bound listening socket. */
struct MHD_Daemon *mhd_start(struct srv *S, const struct mhd_opts *o);
/* Stops accepting, waits (at most timeout_s) for requests in flight,
 * stops the daemon. */
void mhd_drain_stop(struct MHD_Daemon *d, int timeout_s);

/* ---- pool.c -------------------------------------------------------------- */

/* A task for the pool: run is called once, on one of its threads. */
struct srv_task {
    void (*run)(struct srv_task *t);
    struct srv_task *next;
};
/* Starts n threads; 0, or -1 (none left running). */
int srv_pool_start(unsigned n);
void srv_pool_push(struct srv_task *t);
/* Its threads, how many run a task now, how many tasks wait (/metrics). */
void srv_pool_stats(unsigned *nthreads, unsigned *busy, unsigned *queued);
/* Runs what is queued, then joins the threads. */
void srv_pool_stop(void);

/* ---- config.c ------------------------------------------------------------ */

struct srv_config {
    char *home;
    char *listen;
    char *tls_cert, *tls_key;
    char *key_file;
    char *user;
    unsigned threads;
    int access_log; /* [server] access_log = on|off, --access-log */
    /* [server] metrics_loopback = token, --metrics-loopback token */
    int metrics_token_always;
    double login_per_ip, login_per_user;
    uint64_t upload_max; /* [limits] upload_max, --upload-max (bytes) */
    int passphrase_fd;   /* --passphrase-fd N, or -1 */
    int routes;          /* --routes: print the table and exit */
    int help;
};

/* Parses argv (and the INI file of --config, flags overriding it).
 * 0, or 2 after printing a message (usage). */
int srv_config_load(struct srv_config *cfg, int argc, char **argv);
void srv_config_release(struct srv_config *cfg);

#endif
