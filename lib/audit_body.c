/*
 * audit_body.c - an audit entry's fields as stored: one compact JSON object,
 * bytes that format 3 and 4 MACs cover (audit.c) and the store keeps as they
 * are (the body of the entry, store_sqlite.c). One-letter keys, always in
 * this order:
 *
 *   t time, n count (integers); u user, d device, a action, s dataset,
 *   o outcome, x detail, c client, r request id (strings)
 *
 * Entries of formats 1 and 2 were moved into a body by SQLite's
 * json_object (schema 9): same keys, possibly other escapes. The decoder
 * takes any JSON with exactly these keys; the encoder writes one form.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "audit.h"
#include "text.h"
#include "banned.h"

/* Appends the text s (at most max bytes) as a JSON string: quote,
 * backslash and control characters escaped, valid UTF-8 as it is, and a
 * byte that is not (which no writer should pass) as U+FFFD, so that every
 * body decodes; at most 6 * max + 2 bytes. */
static size_t json_str(char *out, const char *s, size_t max)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    size_t n = 0, len = strnlen(s, max), i = 0;
    uint32_t c;

    out[n++] = '"';
    while (i < len) {
        size_t k = text_utf8_char(p + i, len - i, &c);
        if (k == 0) {
            memcpy(out + n, "\\ufffd", 6);
            n += 6, i++;
        } else if (k > 1) {
            memcpy(out + n, p + i, k);
            n += k, i += k;
        } else if (c == '"' || c == '\\') {
            out[n++] = '\\';
            out[n++] = (char)c;
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            memcpy(out + n, "\\u00", 4);
            out[n + 4] = hex[c >> 4];
            out[n + 5] = hex[c & 15];
            n += 6, i++;
        } else {
            out[n++] = (char)c;
            i++;
        }
    }
    out[n++] = '"';
    return n;
}

size_t audit_body_encode(const struct store_audit_row *row, char *out,
                         size_t size)
{
    /* The text fields hold 488 bytes at most, so the whole is under
     * 52 + 8 * 7 + 6 * 488 = 3036 bytes. */
    const struct {
        char key;
        const char *text;
        size_t size;
    } f[] = {
        {'u', row->user, sizeof row->user},
        {'d', row->device, sizeof row->device},
        {'a', row->action, sizeof row->action},
        {'s', row->dataset, sizeof row->dataset},
        {'o', row->outcome, sizeof row->outcome},
        {'x', row->detail, sizeof row->detail},
        {'c', row->client, sizeof row->client},
        {'r', row->request_id, sizeof row->request_id},
    };
    size_t n;
    int k;

    if (size < AUDIT_BODY_MAX)
        return 0;
    k = snprintf(out, size, "{\"t\":%lld,\"n\":%lld", (long long)row->time,
                 (long long)row->count);
    if (k < 0 || (size_t)k >= size)
        return 0;
    n = (size_t)k;
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        /* A field that fills its array has lost its end: refused. */
        if (strnlen(f[i].text, f[i].size) == f[i].size)
            return 0;
        out[n++] = ',';
        out[n++] = '"';
        out[n++] = f[i].key;
        out[n++] = '"';
        out[n++] = ':';
        n += json_str(out + n, f[i].text, f[i].size - 1);
    }
    out[n++] = '}';
    return n;
}

/* A string member of o that fits a field of size bytes (no NUL inside). */
static int get_text(json_t *o, const char *key, char *out, size_t size)
{
    json_t *v = json_object_get(o, key);
    size_t n;

    if (!json_is_string(v))
        return -1;
    n = json_string_length(v);
    if (n >= size || memchr(json_string_value(v), 0, n) != NULL)
        return -1;
    memcpy(out, json_string_value(v), n);
    out[n] = '\0';
    return 0;
}

static int get_int(json_t *o, const char *key, int64_t *out)
{
    json_t *v = json_object_get(o, key);

    if (!json_is_integer(v))
        return -1;
    *out = (int64_t)json_integer_value(v);
    return 0;
}

int audit_body_decode(const char *body, size_t len, struct store_audit_row *row)
{
    json_error_t err;
    json_t *o;
    int bad;

    if (body == NULL || len == 0 || len > AUDIT_BODY_MAX)
        return MAMORI_ETAMPER;
    o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &err);
    if (o == NULL)
        return MAMORI_ETAMPER;
    bad = !json_is_object(o) || json_object_size(o) != 10 ||
          get_int(o, "t", &row->time) || get_int(o, "n", &row->count) ||
          get_text(o, "u", row->user, sizeof row->user) ||
          get_text(o, "d", row->device, sizeof row->device) ||
          get_text(o, "a", row->action, sizeof row->action) ||
          get_text(o, "s", row->dataset, sizeof row->dataset) ||
          get_text(o, "o", row->outcome, sizeof row->outcome) ||
          get_text(o, "x", row->detail, sizeof row->detail) ||
          get_text(o, "c", row->client, sizeof row->client) ||
          get_text(o, "r", row->request_id, sizeof row->request_id);
    json_decref(o);
    return bad ? MAMORI_ETAMPER : 0;
}

/*
 * A stored row decoded: its body into the fields of row. record_ids goes into
 * *buf (grown as needed, reused across rows); row->record_ids points into it or
 * is NULL.
 */
int audit_row_decode(const struct store_audit_raw *raw,
                     struct store_audit_row *row, char **buf, size_t *cap)
{
    int rc;

    memset(row, 0, sizeof *row);
    if (raw->format == STORE_AUDIT_UNREADABLE)
        return MAMORI_ETAMPER;
    rc = audit_body_decode(raw->body, raw->body_len, row);
    if (rc != 0)
        return rc;
    row->seq = raw->seq;
    row->format = raw->format;
    memcpy(row->prev_mac, raw->prev_mac, sizeof row->prev_mac);
    memcpy(row->mac, raw->mac, sizeof row->mac);
    if (raw->record_ids == NULL)
        return 0;
    if (memchr(raw->record_ids, 0, raw->ids_len) != NULL)
        return MAMORI_ETAMPER;
    if (raw->ids_len + 1 > *cap) {
        char *nb = realloc(*buf, raw->ids_len + 1);
        if (nb == NULL)
            return MAMORI_ENOMEM;
        *buf = nb;
        *cap = raw->ids_len + 1;
    }
    memcpy(*buf, raw->record_ids, raw->ids_len);
    (*buf)[raw->ids_len] = '\0';
    row->record_ids = *buf;
    return 0;
}
