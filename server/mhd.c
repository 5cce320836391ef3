/*
 * mhd.c - libmicrohttpd glue: one struct conn per request (made in the URI
 * log callback, which sees the raw request target), the body collected up
 * to SRV_BODY_MAX, then srv_handle() and the response with the headers
 * every answer carries.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include <microhttpd.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "mamorid.h"
#include "banned.h"

/* TLS 1.2 and 1.3 only, AEAD ciphers with forward secrecy. */
#define TLS_PRIORITIES                                                         \
    "SECURE256:+SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:"                \
    "-CIPHER-ALL:+AES-256-GCM:+CHACHA20-POLY1305:+AES-128-GCM:"                \
    "-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:-RSA:-DHE-RSA:"            \
    "%SERVER_PRECEDENCE"

struct conn {
    char uri[SRV_URI_MAX];
    int uri_too_long;
    char reqid[SRV_REQID_LEN + 1];
    char *body;
    size_t len, cap;
    int too_big;
    int started; /* the first call (headers only) has been seen */
};

static atomic_int in_flight;

static void *uri_log(void *cls, const char *uri, struct MHD_Connection *con)
{
    struct conn *k = calloc(1, sizeof *k);
    uint8_t raw[SRV_REQID_LEN / 2];
    size_t i;

    (void)cls;
    (void)con;
    if (!k)
        return NULL;
    if (strlen(uri) >= sizeof k->uri)
        k->uri_too_long = 1;
    else
        snprintf(k->uri, sizeof k->uri, "%s", uri);
    if (RAND_bytes(raw, sizeof raw) != 1) {
        free(k);
        return NULL;
    }
    for (i = 0; i < sizeof raw; i++)
        snprintf(k->reqid + 2 * i, 3, "%02x", raw[i]);
    atomic_fetch_add(&in_flight, 1);
    return k;
}

static void conn_free(struct conn *k)
{
    if (!k)
        return;
    if (k->body) {
        OPENSSL_cleanse(k->body, k->cap);
        free(k->body);
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
    if (k->too_big)
        return 0;
    if (n > SRV_BODY_MAX - k->len) {
        /* Keep reading (and dropping) so that the 413 can be sent. */
        k->too_big = 1;
        if (k->body)
            OPENSSL_cleanse(k->body, k->cap);
        free(k->body);
        k->body = NULL;
        k->len = k->cap = 0;
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

static void client_address(struct MHD_Connection *con, char *out, size_t size)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(con, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

    snprintf(out, size, "unknown");
    if (!ci || !ci->client_addr)
        return;
    if (ci->client_addr->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const void *)ci->client_addr;
        inet_ntop(AF_INET, &a->sin_addr, out, (socklen_t)size);
    } else if (ci->client_addr->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const void *)ci->client_addr;
        inet_ntop(AF_INET6, &a->sin6_addr, out, (socklen_t)size);
    }
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

static enum MHD_Result queue(struct srv *S, struct MHD_Connection *con,
                             struct conn *k, struct srv_resp *rs)
{
    struct MHD_Response *r;
    enum MHD_Result ret;
    char num[16];

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
    MHD_add_response_header(r, "Content-Type",
                            rs->content_type ? rs->content_type
                                             : "application/json");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    /* Strict for the web UI (static.c) and the API alike: no inline
     * script or style, nothing from elsewhere. */
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'none'; script-src 'self'; "
                            "style-src 'self'; img-src 'self' data:; "
                            "connect-src 'self'; form-action 'self'; "
                            "frame-ancestors 'none'; base-uri 'none'");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "X-Request-Id", k->reqid);
    if (S->tls)
        MHD_add_response_header(r, "Strict-Transport-Security",
                                "max-age=63072000; includeSubDomains");
    if (rs->disposition[0])
        MHD_add_response_header(r, "Content-Disposition", rs->disposition);
    if (rs->set_cookie[0])
        MHD_add_response_header(r, "Set-Cookie", rs->set_cookie);
    if (rs->status == 405 && rs->allow[0])
        MHD_add_response_header(r, "Allow", rs->allow);
    if (rs->retry_after > 0) {
        snprintf(num, sizeof num, "%d", rs->retry_after);
        MHD_add_response_header(r, "Retry-After", num);
    }
    ret = MHD_queue_response(con, (unsigned)rs->status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *con,
                                 const char *url, const char *method,
                                 const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
    struct srv *S = cls;
    struct conn *k = *con_cls;
    struct srv_req rq;
    struct srv_resp rs;
    char addr[INET6_ADDRSTRLEN + 1];
    enum MHD_Result ret;

    (void)url;
    (void)version;
    if (!k)
        return MHD_NO;
    if (!k->started) {
        /* Headers only: the body (if any) comes in the next calls. */
        k->started = 1;
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (add_body(k, upload_data, *upload_data_size) != 0)
            return MHD_NO;
        *upload_data_size = 0;
        return MHD_YES;
    }
    memset(&rq, 0, sizeof rq);
    client_address(con, addr, sizeof addr);
    rq.method = method;
    rq.uri = k->uri_too_long ? "" : k->uri;
    rq.content_type =
        MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Content-Type");
    rq.authorization =
        MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Authorization");
    rq.cookie = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Cookie");
    rq.csrf = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "X-CSRF-Token");
    rq.accept_language =
        MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Accept-Language");
    rq.address = addr;
    rq.request_id = k->reqid;
    rq.body = k->body;
    rq.body_len = k->len;
    rq.body_too_big = k->too_big;
    srv_handle(S, &rq, &rs);
    if (rs.alert)
        syslog(LOG_ALERT,
               "mamorid: audit write failed: request %s refused (503)",
               k->reqid);
    /* One line per request: no path (it may hold a search value). */
    syslog(LOG_INFO, "request %s %s %d %s", k->reqid, method, rs.status, addr);
    ret = queue(S, con, k, &rs);
    srv_resp_release(&rs);
    if (k->body) {
        OPENSSL_cleanse(k->body, k->cap);
        free(k->body);
        k->body = NULL;
        k->len = k->cap = 0;
    }
    return ret;
}

__attribute__((format(printf, 2, 0))) static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
    char buf[512];

    (void)cls;
    vsnprintf(buf, sizeof buf, fmt, ap);
    syslog(LOG_WARNING, "libmicrohttpd: %s", buf);
}

struct MHD_Daemon *mhd_start(struct srv *S, const struct mhd_opts *o)
{
    unsigned flags =
        MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    struct MHD_OptionItem ops[16];
    size_t n = 0;

    if (o->cert_pem && o->key_pem)
        flags |= MHD_USE_TLS;
    ops[n++] =
        (struct MHD_OptionItem){MHD_OPTION_LISTEN_SOCKET, o->listen_fd, NULL};
    ops[n++] =
        (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE,
                                (intptr_t)(o->threads ? o->threads : 4), NULL};
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
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                                       64 * 1024, NULL};
    if (flags & MHD_USE_TLS) {
        ops[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0,
                                           (void *)o->cert_pem};
        ops[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0,
                                           (void *)o->key_pem};
        ops[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0,
                                           (void *)TLS_PRIORITIES};
    }
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    return MHD_start_daemon(flags, 0, NULL, NULL, access_cb, S,
                            MHD_OPTION_ARRAY, ops, MHD_OPTION_END);
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
    while (atomic_load(&in_flight) > 0 && waited < timeout_s * 10) {
        usleep(100000);
        waited++;
    }
    MHD_stop_daemon(d);
}
