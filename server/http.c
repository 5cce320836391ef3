/*
 * http.c - the request path of mamorid, without the network: matching a
 * route, reading the session token (Bearer header or cookie + CSRF
 * header), JSON bodies, errors in the caller's language.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "i18n.h"
#include "mamorid.h"
#include "metrics.h"
#include "static.h"
#include "banned.h"

double srv_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int srv_init(struct srv *S, mamori *m, int tls, double login_per_ip,
             double login_per_user)
{
    const char *h = getenv("MAMORI_TEST_HOOKS");

    memset(S, 0, sizeof *S);
    S->m = m;
    S->tls = tls;
    S->test_hooks = h && strcmp(h, "1") == 0;
    S->upload_max = SRV_UPLOAD_MAX_DEFAULT;
    if (RAND_bytes(S->csrf_key, sizeof S->csrf_key) != 1)
        return MAMORI_ECRYPTO;
    S->loc_ja = newlocale(LC_ALL_MASK, "ja_JP.UTF-8", (locale_t)0);
    S->loc_en = newlocale(LC_ALL_MASK, "C.UTF-8", (locale_t)0);
    if (!S->loc_en)
        S->loc_en = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    if (!S->loc_en)
        goto fail;
    if (ratelimit_init(&S->rl_ip, login_per_ip, 4096) != 0)
        goto fail;
    if (ratelimit_init(&S->rl_user, login_per_user, 4096) != 0) {
        ratelimit_release(&S->rl_ip);
        goto fail;
    }
    /* Each challenge is a row in the store: limited per address too, with
     * room for a few attempts per login. */
    if (ratelimit_init(&S->rl_challenge, 3 * login_per_ip, 4096) != 0) {
        ratelimit_release(&S->rl_ip);
        ratelimit_release(&S->rl_user);
        goto fail;
    }
    return 0;
fail:
    if (S->loc_ja)
        freelocale(S->loc_ja);
    if (S->loc_en)
        freelocale(S->loc_en);
    OPENSSL_cleanse(S->csrf_key, sizeof S->csrf_key);
    return MAMORI_ENOMEM;
}

void srv_release(struct srv *S)
{
    if (!S)
        return;
    ratelimit_release(&S->rl_ip);
    ratelimit_release(&S->rl_user);
    ratelimit_release(&S->rl_challenge);
    if (S->loc_ja)
        freelocale(S->loc_ja);
    if (S->loc_en)
        freelocale(S->loc_en);
    OPENSSL_cleanse(S->csrf_key, sizeof S->csrf_key);
}

void srv_resp_release(struct srv_resp *rs)
{
    if (rs && rs->file_fd > 0) {
        close(rs->file_fd);
        rs->file_fd = 0;
    }
    if (rs && rs->body) {
        OPENSSL_cleanse(rs->body, rs->body_len);
        free(rs->body);
        rs->body = NULL;
        rs->body_len = 0;
    }
}

/* ---- errors -------------------------------------------------------------- */

int srv_error_status(int err)
{
    switch (err) {
    case MAMORI_EINVAL:
        return 400;
    case MAMORI_EAUTH:
    case MAMORI_ESESSION:
    case MAMORI_EOTP:
        return 401;
    case MAMORI_EDENIED:
    case MAMORI_EDEVICE:
        return 403;
    case MAMORI_ENOTFOUND:
        return 404;
    case MAMORI_EEXIST:
    case MAMORI_ESTATE:
    case MAMORI_EMISMATCH:
        return 409;
    case MAMORI_ETOOBIG:
        return 413;
    case MAMORI_EAUDIT:
        return 503;
    default:
        return 500;
    }
}

json_t *srv_json_str(const char *s)
{
    return srv_json_strn(s, SIZE_MAX);
}

json_t *srv_json_strn(const char *s, size_t max)
{
    const char *p = s ? s : "";
    size_t n = strnlen(p, max), i, o = 0;
    json_t *j = json_stringn(p, n);
    char *fixed;

    if (j)
        return j;
    /* Not UTF-8: keep ASCII, replace the rest by '?'. */
    fixed = malloc(n + 1);
    if (!fixed)
        return NULL;
    for (i = 0; i < n; i++)
        fixed[o++] = (unsigned char)p[i] < 0x80 && p[i] ? p[i] : '?';
    fixed[o] = '\0';
    j = json_stringn(fixed, o);
    OPENSSL_cleanse(fixed, n + 1);
    free(fixed);
    return j;
}

json_t *srv_json_time(int64_t t)
{
    char buf[32];
    struct tm tm;
    time_t tt = (time_t)t;

    if (t == 0 || !gmtime_r(&tt, &tm) ||
        strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        return json_null();
    return json_string(buf);
}

/* The first guess of a JSON body's size: most answers fit, and are
 * dumped once; a longer one is dumped again into a buffer of its size. */
#define BODY_GUESS 2048

static void set_body(struct srv_resp *rs, int status, json_t *j)
{
    size_t cap = BODY_GUESS, n = 0;
    char *s = NULL;

    srv_resp_release(rs);
    rs->content_type = "application/json";
    if (!j || !(s = malloc(cap)))
        goto oom;
    n = json_dumpb(j, s, cap - 1, JSON_COMPACT);
    if (n == 0)
        goto oom;
    if (n >= cap) {
        /* Too long: what was dumped is wiped, the rest dumped in full. */
        char *big = n < SIZE_MAX - 1 ? malloc(n + 1) : NULL;

        OPENSSL_cleanse(s, cap);
        free(s);
        s = big;
        cap = n + 1;
        if (!s || json_dumpb(j, s, n, JSON_COMPACT) != n)
            goto oom;
    }
    s[n] = '\n';
    rs->body = s;
    rs->body_len = n + 1;
    rs->status = status;
    json_decref(j);
    return;
oom:
    if (s) {
        OPENSSL_cleanse(s, cap);
        free(s);
    }
    json_decref(j);
    rs->status = 500;
    rs->body = strdup("{\"error\":{\"code\":\"no_memory\",\"message\":"
                      "\"out of memory\"}}\n");
    rs->body_len = rs->body ? strlen(rs->body) : 0;
}

void srv_json(struct ctx *c, int status, json_t *j)
{
    set_body(c->rs, status, j);
}

/* The message of an error whose code says more than its library error
 * (a refused method is not a bad value, a rate limit not a role). */
static const struct {
    const char *code, *message;
} code_messages[] = {
    {"method_not_allowed", N_("this method is not allowed on this path")},
    {"rate_limited", N_("too many requests: try again later")},
    {"csrf", N_("the CSRF token is missing or wrong")},
    {"busy", N_("the server is busy: try again later")},
    {"bad_framing", N_("the request's framing is ambiguous")},
    {"not_implemented", N_("the server does not support this request")},
};

static const char *error_message(const char *code, int err)
{
    for (size_t i = 0; i < sizeof code_messages / sizeof code_messages[0]; i++)
        if (strcmp(code, code_messages[i].code) == 0)
            return _(code_messages[i].message);
    return mamori_strerror(err);
}

void srv_fail_code(struct ctx *c, int status, const char *code, int err,
                   const char *detail)
{
    json_t *e = json_object(), *top = json_object();

    /* srv_handle runs the request in its language */
    if (detail && *detail)
        detail = _(detail);

    if (err == MAMORI_EAUDIT)
        c->rs->alert = 1;
    if (!e || !top || json_object_set_new(e, "code", json_string(code)) ||
        json_object_set_new(e, "message",
                            srv_json_str(error_message(code, err))) ||
        (detail && *detail &&
         json_object_set_new(e, "detail", srv_json_str(detail))) ||
        (c->rq->request_id && c->rq->request_id[0] &&
         json_object_set_new(e, "request_id",
                             srv_json_str(c->rq->request_id))) ||
        json_object_set(top, "error", e)) {
        json_decref(top);
        top = NULL;
    }
    json_decref(e);
    set_body(c->rs, status, top);
}

void srv_fail_json(struct ctx *c, int status, const char *code, int err,
                   json_t *detail)
{
    json_t *e = json_object(), *top = json_object();

    if (err == MAMORI_EAUDIT)
        c->rs->alert = 1;
    if (!e || !top || !detail ||
        json_object_set_new(e, "code", json_string(code)) ||
        json_object_set_new(e, "message", srv_json_str(mamori_strerror(err))) ||
        json_object_set(e, "detail", detail) ||
        json_object_set(top, "error", e)) {
        json_decref(top);
        top = NULL;
    }
    json_decref(e);
    json_decref(detail);
    set_body(c->rs, status, top);
}

void srv_fail(struct ctx *c, int err, const char *detail)
{
    if (!detail && c->s)
        detail = mamori_errdetail(c->s);
    srv_fail_code(c, srv_error_status(err), mamori_errname(err), err, detail);
}

/* ---- decoding and validation -------------------------------------------- */

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

int srv_pct_decode(const char *src, size_t len, int plus_space, char **out)
{
    char *d = malloc(len + 1);
    size_t i, o = 0;

    *out = NULL;
    if (!d)
        return MAMORI_ENOMEM;
    for (i = 0; i < len; i++) {
        char ch = src[i];

        if (ch == '%') {
            int hi, lo;

            if (len - i < 3)
                goto bad;
            hi = hexval((unsigned char)src[i + 1]);
            lo = hexval((unsigned char)src[i + 2]);
            if (hi < 0 || lo < 0)
                goto bad;
            ch = (char)(hi * 16 + lo);
            i += 2;
            if (ch == '\0')
                goto bad;
        } else if (ch == '+' && plus_space) {
            ch = ' ';
        } else if (ch == '\0') {
            goto bad;
        }
        d[o++] = ch;
    }
    d[o] = '\0';
    *out = d;
    return 0;
bad:
    OPENSSL_cleanse(d, len + 1);
    free(d);
    return MAMORI_EINVAL;
}

void srv_query_free(char **names, char **values, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (names)
            free(names[i]);
        if (values && values[i]) {
            OPENSSL_cleanse(values[i], strlen(values[i]));
            free(values[i]);
        }
    }
    free(names);
    free(values);
}

int srv_query_all(const char *query, char ***names, char ***values, size_t *n)
{
    const char *p = query ? query : "";
    char **nm = NULL, **vl = NULL;
    size_t cnt = 0, cap = 0;
    int rc = 0;

    *names = *values = NULL;
    *n = 0;
    while (*p) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        size_t klen = eq ? (size_t)(eq - p) : len;

        if (len > 0) {
            if (cnt == cap) {
                size_t ncap = cap ? cap * 2 : 4;
                char **a, **b;

                if (ncap > 64) {
                    rc = MAMORI_ETOOBIG;
                    goto out;
                }
                a = realloc(nm, ncap * sizeof *a);
                if (!a) {
                    rc = MAMORI_ENOMEM;
                    goto out;
                }
                nm = a;
                b = realloc(vl, ncap * sizeof *b);
                if (!b) {
                    rc = MAMORI_ENOMEM;
                    goto out;
                }
                vl = b;
                cap = ncap;
            }
            nm[cnt] = vl[cnt] = NULL;
            rc = srv_pct_decode(p, klen, 1, &nm[cnt]);
            if (rc == 0)
                rc = eq ? srv_pct_decode(eq + 1, len - klen - 1, 1, &vl[cnt])
                        : srv_pct_decode("", 0, 1, &vl[cnt]);
            cnt++;
            if (rc)
                goto out;
        }
        p += len;
        if (*p == '&')
            p++;
    }
out:
    if (rc) {
        srv_query_free(nm, vl, cnt);
        return rc;
    }
    *names = nm;
    *values = vl;
    *n = cnt;
    return 0;
}

int srv_query_get(const char *query, const char *name, char **out)
{
    char **nm, **vl;
    size_t n, i;
    int rc = srv_query_all(query, &nm, &vl, &n);

    *out = NULL;
    if (rc)
        return rc;
    for (i = 0; i < n; i++) {
        if (strcmp(nm[i], name) == 0) {
            *out = vl[i];
            vl[i] = NULL;
            break;
        }
    }
    srv_query_free(nm, vl, n);
    return 0;
}

int srv_dataset_name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0, i;

    if (n == 0 || n > 63)
        return 0;
    for (i = 0; i < n; i++) {
        char ch = s[i];
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                 (ch >= '0' && ch <= '9') ||
                 (i > 0 && (ch == '-' || ch == '_' || ch == '.'));

        if (!ok)
            return 0;
    }
    return 1;
}

int srv_uuid_ok(const char *s)
{
    size_t i;

    if (!s || strlen(s) != MAMORI_ID_LEN)
        return 0;
    for (i = 0; i < MAMORI_ID_LEN; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return 0;
        } else if (!((s[i] >= '0' && s[i] <= '9') ||
                     (s[i] >= 'a' && s[i] <= 'f'))) {
            return 0;
        }
    }
    return 1;
}

/* ---- languages ----------------------------------------------------------- */

/* Japanese when the Accept-Language list gives "ja" a higher weight than
 * English (ties: the first listed); anything else is English. */
static int prefers_ja(const char *al)
{
    double ja = -1, en = -1;
    int ja_pos = -1, en_pos = -1, pos = 0;
    const char *p = al;

    if (!p)
        return 0;
    while (*p && pos < 64) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char tag[16];
        size_t t = 0, i = 0;
        double q = 1.0;
        const char *semi;

        while (i < len && (p[i] == ' ' || p[i] == '\t'))
            i++;
        while (i < len && t + 1 < sizeof tag &&
               (isalpha((unsigned char)p[i]) || p[i] == '*'))
            tag[t++] = (char)tolower((unsigned char)p[i++]);
        tag[t] = '\0';
        semi = memchr(p, ';', len);
        if (semi) {
            const char *qp = semi + 1;
            char *e;

            while (*qp == ' ')
                qp++;
            if ((qp[0] == 'q' || qp[0] == 'Q') && qp[1] == '=') {
                errno = 0;
                q = strtod(qp + 2, &e);
                if (errno || e == qp + 2 || q < 0 || q > 1)
                    q = 0;
            }
        }
        if (strcmp(tag, "ja") == 0 && q > ja) {
            ja = q;
            ja_pos = pos;
        } else if (strcmp(tag, "en") == 0 && q > en) {
            en = q;
            en_pos = pos;
        }
        pos++;
        if (!end)
            break;
        p = end + 1;
    }
    if (ja <= 0)
        return 0;
    if (ja > en)
        return 1;
    return ja == en && ja_pos < en_pos;
}

/* ---- tokens -------------------------------------------------------------- */

static void b64url(const uint8_t *in, size_t n, char *out)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t i, o = 0;

    for (i = 0; i + 2 < n; i += 3) {
        uint32_t v =
            (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = tab[(v >> 18) & 63];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = tab[(v >> 6) & 63];
        out[o++] = tab[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = tab[(v >> 18) & 63];
        out[o++] = tab[(v >> 12) & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = tab[(v >> 18) & 63];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = tab[(v >> 6) & 63];
    }
    out[o] = '\0';
}

void srv_csrf(const struct srv *S, const char *token, char *out)
{
    uint8_t mac[EVP_MAX_MD_SIZE];
    unsigned len = 0;

    if (!HMAC(EVP_sha256(), S->csrf_key, (int)sizeof S->csrf_key,
              (const unsigned char *)token, strlen(token), mac, &len) ||
        len != 32) {
        /* No token can match an empty string of this length. */
        memset(out, 0, SRV_CSRF_LEN + 1);
        return;
    }
    b64url(mac, 32, out);
    OPENSSL_cleanse(mac, sizeof mac);
}

static int token_ok(const char *t, size_t n)
{
    size_t i;

    if (n != MAMORI_TOKEN_LEN)
        return 0;
    for (i = 0; i < n; i++)
        if (!(isalnum((unsigned char)t[i]) || t[i] == '-' || t[i] == '_'))
            return 0;
    return 1;
}

int srv_find_token(const struct srv_req *rq, int tls,
                   char token[MAMORI_TOKEN_LEN + 1], int *via_cookie)
{
    const char *a = rq->authorization, *ck = rq->cookie;
    const char *name = SRV_COOKIE(tls);
    size_t nl = strlen(name);

    *via_cookie = 0;
    if (a && *a) {
        const char *t;

        if (strncasecmp(a, "Bearer ", 7) != 0)
            return MAMORI_ESESSION;
        t = a + 7;
        while (*t == ' ')
            t++;
        if (!token_ok(t, strlen(t)))
            return MAMORI_ESESSION;
        memcpy(token, t, MAMORI_TOKEN_LEN);
        token[MAMORI_TOKEN_LEN] = '\0';
        return 0;
    }
    while (ck && *ck) {
        const char *end = strchr(ck, ';');
        size_t len = end ? (size_t)(end - ck) : strlen(ck);

        while (len && *ck == ' ') {
            ck++;
            len--;
        }
        if (len > nl + 1 && strncmp(ck, name, nl) == 0 && ck[nl] == '=') {
            const char *t = ck + nl + 1;
            size_t tl = len - (nl + 1);

            /* A malformed one (planted by a sibling host, say) does not
             * hide the real one after it. */
            if (token_ok(t, tl)) {
                memcpy(token, t, MAMORI_TOKEN_LEN);
                token[MAMORI_TOKEN_LEN] = '\0';
                *via_cookie = 1;
                return 0;
            }
        }
        if (!end)
            break;
        ck = end + 1;
    }
    return MAMORI_ESESSION;
}

static int unsafe_method(const char *m)
{
    return strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0 &&
           strcmp(m, "OPTIONS") != 0;
}

/* ---- JSON bodies ----------------------------------------------------------
 */

static const char *json_problem(enum json_error_code code)
{
    switch (code) {
    case json_error_end_of_input_expected:
        return "text after the JSON value";
    case json_error_premature_end_of_input:
        return "the JSON text ends too early";
    case json_error_invalid_syntax:
        return "invalid syntax";
    case json_error_invalid_utf8:
        return "not UTF-8";
    case json_error_null_character:
        return "a NUL character";
    case json_error_null_byte_in_key:
        return "a NUL byte in a key";
    case json_error_duplicate_key:
        return "a key appears twice";
    case json_error_numeric_overflow:
        return "a number out of range";
    case json_error_item_not_found:
    case json_error_wrong_type:
        return "wrong type";
    default:
        return "invalid JSON";
    }
}

static int media_is_json(const char *ct)
{
    size_t n = strlen("application/json");

    if (!ct)
        return 0;
    while (*ct == ' ')
        ct++;
    if (strncasecmp(ct, "application/json", n) != 0)
        return 0;
    ct += n;
    while (*ct == ' ')
        ct++;
    return *ct == '\0' || *ct == ';';
}

static int parse_body(struct ctx *c)
{
    json_error_t e;
    char detail[160];

    if (c->rq->body_too_big) {
        srv_fail_code(c, 413, "too_big", MAMORI_ETOOBIG,
                      "the request body is over 1 MiB");
        return -1;
    }
    if (!media_is_json(c->rq->content_type)) {
        srv_fail_code(c, 415, "unsupported_media_type", MAMORI_EINVAL,
                      "the body must be application/json");
        return -1;
    }
    c->json = json_loadb(c->rq->body ? c->rq->body : "", c->rq->body_len,
                         JSON_REJECT_DUPLICATES, &e);
    if (!c->json) {
        /* jansson's own text may quote the input: ours names the place. */
        snprintf(detail, sizeof detail, "JSON: line %d, column %d: %s", e.line,
                 e.column, json_problem(json_error_code(&e)));
        srv_fail_code(c, 400, "bad_json", MAMORI_EINVAL, detail);
        return -1;
    }
    if (!json_is_object(c->json)) {
        srv_fail_code(c, 400, "bad_json", MAMORI_EINVAL,
                      "JSON: the body must be an object");
        return -1;
    }
    return 0;
}

/* ---- matching ------------------------------------------------------------ */

/* Matches the raw path against a pattern segment by segment; each {param}
 * segment is percent-decoded on its own (so "%2F" stays inside it). */
/* Walks pattern and path segment by segment, in one pass over each (every
 * request is tried against every pattern); with params NULL only checks
 * that they match (1), else also decodes each parameter segment ("{...}")
 * into params (0 if one does not decode). */
static int match_walk(const char *pattern, const char *path, char **params,
                      size_t *np)
{
    const char *p = pattern, *u = path;
    size_t n = 0;

    while (*p) {
        if (*p != '/' || *u != '/')
            goto no;
        p++;
        u++;
        if (p[0] == '{' && p[1] && p[1] != '/') {
            const char *ue = u;

            while (*ue && *ue != '/')
                ue++;
            if (ue == u || n >= SRV_MAX_PARAMS)
                goto no;
            if (params &&
                srv_pct_decode(u, (size_t)(ue - u), 0, &params[n]) != 0)
                goto no;
            n++;
            u = ue;
            while (*p && *p != '/')
                p++;
        } else {
            while (*p && *p != '/') {
                if (*p != *u)
                    goto no;
                p++;
                u++;
            }
            if (*u && *u != '/')
                goto no;
        }
    }
    if (*u)
        goto no;
    *np = n;
    return 1;
no:
    while (params && n)
        free(params[--n]);
    return 0;
}

/* 1 if path matches pattern, its parameters decoded into params. Only a
 * path that matches is decoded (most patterns are tried and fail). */
static int match(const char *pattern, const char *path, char **params,
                 size_t *np)
{
    size_t n = 0;

    return match_walk(pattern, path, NULL, &n) &&
           match_walk(pattern, path, params, np);
}

void srv_ctx_release(struct ctx *c)
{
    size_t i;

    for (i = 0; i < c->nparams; i++)
        free(c->params[i]);
    c->nparams = 0;
    if (c->json) {
        json_decref(c->json);
        c->json = NULL;
    }
    if (c->s) {
        mamori_session_close(c->s);
        c->s = NULL;
    }
    free(c->path);
    c->path = NULL;
    OPENSSL_cleanse(c->token, sizeof c->token);
}

int srv_route_flags(const char *method, const char *uri)
{
    char path[SRV_URI_MAX];
    const char *q = strchr(uri ? uri : "", '?');
    size_t i, plen = q ? (size_t)(q - uri) : strlen(uri ? uri : "");

    if (!method || plen == 0 || plen >= sizeof path)
        return -1;
    memcpy(path, uri, plen);
    path[plen] = '\0';
    for (i = 0; i < srv_nroutes; i++) {
        size_t np = 0;

        if (strcmp(srv_routes[i].method, method) == 0 &&
            match_walk(srv_routes[i].pattern, path, NULL, &np))
            return (int)srv_routes[i].flags;
    }
    return -1;
}

static void handle(struct srv *S, const struct srv_req *rq,
                   struct srv_resp *rs);

/* The request's language for what runs until the returned locale is
 * put back (uselocale; (locale_t)0: nothing to put back). */
static locale_t request_locale(struct srv *S, const struct srv_req *rq)
{
    locale_t want =
        prefers_ja(rq->accept_language) && S->loc_ja ? S->loc_ja : S->loc_en;
    return want ? uselocale(want) : (locale_t)0;
}

void srv_refuse(struct srv *S, const struct srv_req *rq, struct srv_resp *rs,
                int status, const char *code, int err, const char *detail)
{
    struct ctx c;
    locale_t old = request_locale(S, rq);

    memset(rs, 0, sizeof *rs);
    memset(&c, 0, sizeof c);
    c.S = S;
    c.rq = rq;
    c.rs = rs;
    srv_fail_code(&c, status, code, err, detail);
    if (old != (locale_t)0)
        uselocale(old);
}

/* Handles a request in its language: the thread's locale is the one
 * Accept-Language asks for, so that the library's details (a value's
 * rule, say) come translated too. */
void srv_handle(struct srv *S, const struct srv_req *rq, struct srv_resp *rs)
{
    locale_t old = request_locale(S, rq);

    handle(S, rq, rs);
    if (old != (locale_t)0)
        uselocale(old);
}

static void handle(struct srv *S, const struct srv_req *rq, struct srv_resp *rs)
{
    struct ctx *c = calloc(1, sizeof *c);
    const struct route *hit = NULL;
    const char *method = rq->method ? rq->method : "", *q;
    size_t i, plen;
    int rc, path_hit = 0;
    double t0 = srv_now();

    memset(rs, 0, sizeof *rs);
    rs->content_type = "application/json";
    if (!c) {
        rs->status = 500;
        return;
    }
    c->S = S;
    c->rq = rq;
    c->rs = rs;
    c->client.address = rq->address;
    c->client.request_id = rq->request_id;
    c->client.os_uid = -1;
    /* Entries written before a session exists (logins) name them too. */
    mamori_set_request(rq->address, rq->request_id);

    q = strchr(rq->uri ? rq->uri : "", '?');
    plen = q ? (size_t)(q - rq->uri) : strlen(rq->uri ? rq->uri : "");
    c->query = q ? q + 1 : "";
    if (plen == 0 || plen >= SRV_URI_MAX || rq->uri[0] != '/') {
        srv_fail_code(c, 400, "bad_path", MAMORI_EINVAL,
                      "the request path is malformed or too long");
        goto out;
    }
    c->path = strndup(rq->uri, plen);
    if (!c->path) {
        srv_fail(c, MAMORI_ENOMEM, NULL);
        goto out;
    }
    /* The web UI's files (static.c), outside the API's route table. */
    if (srv_static(c, method, c->path))
        goto out;

    /* The first route of the method whose pattern matches; only when there
     * is none are all patterns tried, for a 405's Allow. */
    for (i = 0; i < srv_nroutes && !hit; i++) {
        char *params[SRV_MAX_PARAMS];
        size_t np = 0;

        if (strcmp(srv_routes[i].method, method) != 0 ||
            !match(srv_routes[i].pattern, c->path, params, &np))
            continue;
        hit = &srv_routes[i];
        memcpy(c->params, params, np * sizeof *params);
        c->nparams = np;
    }
    if (!hit) {
        for (i = 0; i < srv_nroutes; i++) {
            char *params[SRV_MAX_PARAMS];
            size_t np = 0, used = strlen(rs->allow);

            if (!match(srv_routes[i].pattern, c->path, params, &np))
                continue;
            while (np)
                free(params[--np]);
            path_hit = 1;
            /* HEAD is served wherever GET is (mhd.c, route_method). */
            snprintf(rs->allow + used, sizeof rs->allow - used, "%s%s%s",
                     used ? ", " : "", srv_routes[i].method,
                     strcmp(srv_routes[i].method, "GET") == 0 ? ", HEAD" : "");
        }
        if (path_hit) {
            srv_fail_code(c, 405, "method_not_allowed", MAMORI_EINVAL, NULL);
        } else {
            rs->allow[0] = '\0';
            srv_fail_code(c, 404, "no_route", MAMORI_ENOTFOUND,
                          "no such API path");
        }
        goto out;
    }
    c->route = hit;
    if (hit->flags & ROUTE_SESSION) {
        rc = srv_find_token(c->rq, S->tls, c->token, &c->via_cookie);
        if (rc) {
            srv_fail_code(c, 401, "session", MAMORI_ESESSION,
                          "no session token (Authorization: Bearer, or the "
                          "session cookie)");
            goto out;
        }
        if (c->via_cookie && unsafe_method(rq->method)) {
            char want[SRV_CSRF_LEN + 1];
            const char *got = rq->csrf;
            int good = got && strlen(got) == SRV_CSRF_LEN;

            srv_csrf(S, c->token, want);
            if (good)
                good = CRYPTO_memcmp(want, got, SRV_CSRF_LEN) == 0 &&
                       want[0] != '\0';
            OPENSSL_cleanse(want, sizeof want);
            if (!good) {
                srv_fail_code(c, 403, "csrf", MAMORI_EDENIED,
                              "a cookie session needs the X-CSRF-Token "
                              "header of the session");
                goto out;
            }
        }
    }
    /* The body is checked before the vault is asked anything (and so
     * without a vault, which the fuzz target relies on). */
    if (hit->flags & ROUTE_JSON) {
        if (parse_body(c) != 0)
            goto out;
    } else if (rq->body_too_big && !(hit->flags & ROUTE_STREAM)) {
        srv_fail_code(c, 413, "too_big", MAMORI_ETOOBIG,
                      "the request body is over 1 MiB");
        goto out;
    }
    if ((hit->flags & (ROUTE_SESSION | ROUTE_VAULT)) && !S->m) {
        srv_fail_code(c, 503, "unavailable", MAMORI_ESTATE,
                      "the vault is not open");
        goto out;
    }
    if (hit->flags & ROUTE_SESSION) {
        rc = hit->flags & ROUTE_READ
                 ? mamori_session_open_read(S->m, c->token, &c->client, &c->s)
                 : mamori_session_open(S->m, c->token, &c->client, &c->s);
        if (rc) {
            c->s = NULL;
            srv_fail(c, rc,
                     rc == MAMORI_ESESSION
                         ? "the session is unknown or has expired"
                         : NULL);
            goto out;
        }
    }
    hit->handler(c);
out:
    mamori_set_request(NULL, NULL);
    if (rs->later) {
        /* c lives on with the later; it is observed when it finishes. */
        srv_later_started(rs->later,
                          hit ? (size_t)(hit - srv_routes) : srv_nroutes, t0);
        return;
    }
    srv_ctx_release(c);
    free(c);
    if (rs->status == 0)
        rs->status = 500;
    metrics_observe(hit ? (size_t)(hit - srv_routes) : srv_nroutes, rs->status,
                    srv_now() - t0, rs->alert);
}
