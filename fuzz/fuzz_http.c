/*
 * fuzz_http.c - libFuzzer target for mamorid's request path without a
 * network or a vault: routing, percent-decoding of path parameters and
 * queries, the token and CSRF checks, Accept-Language, JSON body parsing
 * and the error answers.
 *
 * Input: "METHOD URI\n", then header lines "Name: value\n" (Content-Type,
 * Authorization, Cookie, X-CSRF-Token, Accept-Language) up to an empty
 * line, then the body.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mamorid.h"
#include "banned.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct srv S;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (mamori_library_init() != 0 || srv_init(&S, NULL, 1, 10, 5) != 0)
        abort();
    S.openapi = "openapi: 3.0.3\n";
    S.openapi_len = strlen(S.openapi);
    return 0;
}

/* Copies the next line (up to '\n') of data into a new string. */
static char *take_line(const uint8_t **p, const uint8_t *end)
{
    const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
    size_t len = nl ? (size_t)(nl - *p) : (size_t)(end - *p);
    char *s = malloc(len + 1);

    if (!s)
        abort();
    memcpy(s, *p, len);
    s[len] = '\0';
    *p = nl ? nl + 1 : end;
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size;
    struct srv_req rq;
    struct srv_resp rs;
    char *line, *sp, *hdr[16];
    size_t nh = 0, i;

    if (size > SRV_BODY_MAX + 4096)
        return 0;
    memset(&rq, 0, sizeof rq);
    line = take_line(&p, end);
    sp = strchr(line, ' ');
    if (!sp) {
        free(line);
        return 0;
    }
    *sp = '\0';
    rq.method = line;
    rq.uri = sp + 1;
    while (p < end && nh < sizeof hdr / sizeof hdr[0]) {
        char *h = take_line(&p, end), *colon;

        if (!*h) {
            free(h);
            break;
        }
        hdr[nh++] = h;
        colon = strchr(h, ':');
        if (!colon)
            continue;
        *colon = '\0';
        colon++;
        while (*colon == ' ')
            colon++;
        if (strcmp(h, "Content-Type") == 0)
            rq.content_type = colon;
        else if (strcmp(h, "Authorization") == 0)
            rq.authorization = colon;
        else if (strcmp(h, "Cookie") == 0)
            rq.cookie = colon;
        else if (strcmp(h, "X-CSRF-Token") == 0)
            rq.csrf = colon;
        else if (strcmp(h, "Accept-Language") == 0)
            rq.accept_language = colon;
    }
    rq.address = "127.0.0.1";
    rq.request_id = "00000000000000000000000000000000";
    rq.body = (const char *)p;
    rq.body_len = (size_t)(end - p);
    rq.body_too_big = rq.body_len > SRV_BODY_MAX;
    srv_handle(&S, &rq, &rs);
    if (rs.status < 200 || rs.status > 599 || (rs.body_len && !rs.body))
        abort();
    srv_resp_release(&rs);

    /* The decoders and validators on their own. */
    {
        char **names, **values, *v;
        size_t n;
        const char *q = strchr(rq.uri, '?');

        if (srv_query_all(q ? q + 1 : rq.uri, &names, &values, &n) == 0) {
            for (i = 0; i < n; i++) {
                (void)srv_dataset_name_ok(names[i]);
                (void)srv_uuid_ok(values[i]);
            }
            srv_query_free(names, values, n);
        }
        if (srv_pct_decode(rq.uri, strlen(rq.uri), 0, &v) == 0)
            free(v);
    }
    for (i = 0; i < nh; i++)
        free(hdr[i]);
    free(line);
    return 0;
}
