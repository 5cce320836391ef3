/*
 * json_out.c - answers written straight into their buffer, without
 * building a jansson tree and dumping it: the record GET, mamorid's most
 * frequent answer. The text is byte for byte what jansson's compact dump
 * of the same values gives (fuzz/fuzz_json_out.c compares the two): the
 * same escapes, and a string that is not UTF-8 has its non-ASCII bytes
 * replaced by '?' (srv_json_strn). The buffer is wiped whenever it moves:
 * it holds personal data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "mamorid.h"
#include "banned.h"

static int out_grow(struct srv_out *o, size_t more)
{
    size_t cap = o->cap ? o->cap : 512;
    char *p;

    if (o->oom)
        return -1;
    if (more <= o->cap - o->len)
        return 0;
    while (cap - o->len < more) {
        if (cap > SIZE_MAX / 2)
            goto oom;
        cap *= 2;
    }
    p = malloc(cap);
    if (!p)
        goto oom;
    if (o->buf) {
        memcpy(p, o->buf, o->len);
        OPENSSL_cleanse(o->buf, o->cap);
        free(o->buf);
    }
    o->buf = p;
    o->cap = cap;
    return 0;
oom:
    o->oom = 1;
    return -1;
}

void srv_out_raw(struct srv_out *o, const char *s, size_t n)
{
    if (out_grow(o, n) == 0) {
        memcpy(o->buf + o->len, s, n);
        o->len += n;
    }
}

/* Length of the UTF-8 sequence at s (at most n bytes) as jansson accepts
 * it: no overlong forms, surrogates or code points past U+10FFFF; 0 if
 * it is not one. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0], v;
    size_t len, i;

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        v = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        v = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        v = c & 0x07;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF) ||
        (len == 3 && v < 0x800) || (len == 4 && v < 0x10000))
        return 0;
    return len;
}

static int utf8_ok(const unsigned char *s, size_t n)
{
    size_t i = 0, k;

    while (i < n) {
        k = utf8_len(s + i, n - i);
        if (k == 0)
            return 0;
        i += k;
    }
    return 1;
}

void srv_out_str(struct srv_out *o, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t n = strlen((const char *)p), i, run = 0;
    int valid = utf8_ok(p, n);

    srv_out_raw(o, "\"", 1);
    for (i = 0; i < n; i++) {
        unsigned c = p[i];
        char esc[6];
        size_t el = 2;

        if (c >= 0x80 && !valid)
            c = '?';
        else if (c >= 0x20 && c != '"' && c != '\\') {
            run++;
            continue;
        }
        /* The bytes before c go as they are. */
        srv_out_raw(o, (const char *)p + i - run, run);
        run = 0;
        esc[0] = '\\';
        switch (c) {
        case '?':
            esc[0] = '?';
            el = 1;
            break;
        case '"':
        case '\\':
            esc[1] = (char)c;
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            el = 6;
        }
        srv_out_raw(o, esc, el);
    }
    srv_out_raw(o, (const char *)p + n - run, run);
    srv_out_raw(o, "\"", 1);
}

void srv_out_free(struct srv_out *o)
{
    if (o->buf) {
        OPENSSL_cleanse(o->buf, o->cap);
        free(o->buf);
    }
    memset(o, 0, sizeof *o);
}

/* Whether key is among the first n keys of keys. */
static int key_taken(const char *const *keys, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(keys[i], key) == 0)
            return 1;
    return 0;
}

int srv_record_text(const struct mamori_record *r, char **out, size_t *len)
{
    struct srv_out o = {0};
    const char *keys[3 + SRV_RECORD_TEXT_FIELDS];
    char renamed[SRV_RECORD_TEXT_FIELDS][80];
    char id[MAMORI_ID_LEN + 1], num[32];
    size_t i;
    int n;

    *out = NULL;
    *len = 0;
    if (r->n > SRV_RECORD_TEXT_FIELDS)
        return -1;
    memcpy(id, r->id, sizeof id);
    id[MAMORI_ID_LEN] = '\0';
    n = snprintf(num, sizeof num, "%lld", (long long)r->version);
    srv_out_raw(&o, "{\"id\":", 6);
    srv_out_str(&o, id);
    srv_out_raw(&o, ",\"version\":", 11);
    srv_out_raw(&o, num, (size_t)n);
    if (r->masked)
        srv_out_raw(&o, ",\"masked\":true", 14);
    else
        srv_out_raw(&o, ",\"masked\":false", 15);
    keys[0] = "id";
    keys[1] = "version";
    keys[2] = "masked";
    for (i = 0; i < r->n; i++) {
        const char *name = r->fields[i].name ? r->fields[i].name : "";

        /* As srv_record_json: a field called "id" does not hide the
         * record's. A key jansson would refuse, or a renamed one taken
         * too: the caller dumps srv_record_json instead. */
        if (!utf8_ok((const unsigned char *)name, strlen(name)))
            goto other;
        if (key_taken(keys, 3 + i, name)) {
            snprintf(renamed[i], sizeof renamed[i], "field:%s", name);
            name = renamed[i];
            if (key_taken(keys, 3 + i, name) ||
                !utf8_ok((const unsigned char *)name, strlen(name)))
                goto other;
        }
        keys[3 + i] = name;
        srv_out_raw(&o, ",", 1);
        srv_out_str(&o, name);
        srv_out_raw(&o, ":", 1);
        srv_out_str(&o, r->fields[i].value);
    }
    srv_out_raw(&o, "}\n", 2);
    if (o.oom)
        goto other;
    *out = o.buf;
    *len = o.len;
    return 0;
other:
    srv_out_free(&o);
    return -1;
}
