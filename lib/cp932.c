/*
 * cp932.c - CP932 <-> UTF-8 through glibc's iconv "CP932" (which maps
 * ① 髙 﨑 ～ － as Windows does, unlike "SHIFT_JIS"), streaming: an
 * incomplete sequence at the end of a chunk is held for the next one.
 */
#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "mamori.h"
#include "cp932.h"
#include "banned.h"

/* Longest sequence held between calls: a UTF-8 character is 4 bytes, a
 * CP932 one 2. */
#define HOLD_MAX 8

struct cp932 {
    iconv_t cd;
    enum cp932_dir dir;
    unsigned char hold[HOLD_MAX];
    size_t holdlen;
    uint64_t pos; /* stream offset of the next unconsumed byte (hold[0]) */
    int failed;
    uint64_t err_offset;
    uint32_t err_cp;
};

int cp932_new(enum cp932_dir dir, struct cp932 **out)
{
    struct cp932 *c;

    *out = NULL;
    c = calloc(1, sizeof *c);
    if (!c)
        return MAMORI_ENOMEM;
    c->dir = dir;
    c->cd = dir == CP932_DECODE ? iconv_open("UTF-8", "CP932")
                                : iconv_open("CP932", "UTF-8");
    if (c->cd == (iconv_t)-1) {
        free(c);
        return errno == ENOMEM ? MAMORI_ENOMEM : MAMORI_EIO;
    }
    *out = c;
    return 0;
}

void cp932_reset(struct cp932 *c)
{
    if (!c)
        return;
    crypto_wipe(c->hold, sizeof c->hold);
    c->holdlen = 0;
    c->pos = 0;
    c->failed = 0;
    c->err_offset = 0;
    c->err_cp = 0;
    (void)iconv(c->cd, NULL, NULL, NULL, NULL);
}

void cp932_free(struct cp932 *c)
{
    if (!c)
        return;
    crypto_wipe(c->hold, sizeof c->hold);
    iconv_close(c->cd);
    free(c);
}

size_t cp932_out_max(const struct cp932 *c, size_t inlen)
{
    size_t n = inlen + c->holdlen;
    if (n < inlen || n > (SIZE_MAX - 8) / 3)
        return 0;
    /* Decoding: one CP932 byte (half-width katakana) becomes up to 3 UTF-8
     * bytes. Encoding never grows. */
    return c->dir == CP932_DECODE ? 3 * n + 8 : n + 8;
}

/* The code point of the UTF-8 sequence at p (n bytes available), 0 if it
 * is not a complete, valid one. */
static uint32_t utf8_cp(const unsigned char *p, size_t n)
{
    uint32_t cp;
    size_t len;

    if (n == 0)
        return 0;
    if (p[0] < 0x80)
        return p[0];
    if (p[0] >= 0xC2 && p[0] <= 0xDF) {
        len = 2;
        cp = p[0] & 0x1F;
    } else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
        len = 3;
        cp = p[0] & 0x0F;
    } else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
        len = 4;
        cp = p[0] & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return cp;
}

static int fail_at(struct cp932 *c, uint64_t offset, const unsigned char *p,
                   size_t n)
{
    c->failed = 1;
    c->err_offset = offset;
    c->err_cp = c->dir == CP932_ENCODE && p ? utf8_cp(p, n) : 0;
    return MAMORI_EINVAL;
}

/* One iconv pass over in (inleft bytes). 0 when all was converted, 1 when an
 * incomplete sequence remains at the end, MAMORI_EINVAL at a bad one,
 * MAMORI_ETOOBIG when out is full. */
static int pass(struct cp932 *c, const unsigned char **in, size_t *inleft,
                char **out, size_t *outleft)
{
    char *ip = (char *)(uintptr_t)*in;
    size_t r = iconv(c->cd, &ip, inleft, out, outleft);
    int e = errno;
    *in = (const unsigned char *)ip;
    if (r != (size_t)-1)
        return 0;
    if (e == EINVAL)
        return 1;
    if (e == E2BIG)
        return MAMORI_ETOOBIG;
    return MAMORI_EINVAL;
}

int cp932_convert(struct cp932 *c, const void *in, size_t inlen, int final,
                  char *out, size_t outsize, size_t *outlen)
{
    const unsigned char *p = in;
    char *op = out;
    size_t left = inlen, oleft = outsize, need;
    int rc = 0;

    *outlen = 0;
    if (c->failed)
        return MAMORI_EINVAL;
    if (!in && inlen)
        return MAMORI_EINVAL;
    need = cp932_out_max(c, inlen);
    if (need == 0 || outsize < need)
        return MAMORI_ETOOBIG;

    if (c->holdlen) {
        /* The held start of a sequence, completed by the first new bytes. */
        unsigned char tmp[2 * HOLD_MAX];
        size_t take = left < HOLD_MAX ? left : HOLD_MAX;
        size_t tl = c->holdlen + take, tleft = tl;
        const unsigned char *tp = tmp;

        memcpy(tmp, c->hold, c->holdlen);
        if (take)
            memcpy(tmp + c->holdlen, p, take);
        rc = pass(c, &tp, &tleft, &op, &oleft);
        size_t used = tl - tleft;
        if (rc == MAMORI_EINVAL) {
            rc = fail_at(c, c->pos + used, tp, tleft);
        } else if (rc == 1 && used == 0) {
            /* Still incomplete: everything given joins the held bytes. */
            if (tl > HOLD_MAX)
                rc = fail_at(c, c->pos, tmp, tl);
            else {
                memcpy(c->hold, tmp, tl);
                c->holdlen = tl;
                p += take;
                left -= take;
                rc = 0;
            }
        } else if (rc >= 0) {
            /* The held character completed: go on from where it ended. */
            size_t from_in = used - c->holdlen;
            crypto_wipe(c->hold, sizeof c->hold);
            c->pos += used;
            c->holdlen = 0;
            p += from_in;
            left -= from_in;
            rc = 0;
        }
        crypto_wipe(tmp, sizeof tmp);
        if (rc != 0)
            goto out;
    }
    if (left && c->holdlen == 0) {
        const unsigned char *start = p;
        rc = pass(c, &p, &left, &op, &oleft);
        c->pos += (uint64_t)(p - start);
        if (rc == MAMORI_EINVAL) {
            rc = fail_at(c, c->pos, p, left);
        } else if (rc == 1) {
            if (left > HOLD_MAX) {
                rc = fail_at(c, c->pos, p, left);
            } else {
                memcpy(c->hold, p, left);
                c->holdlen = left;
                rc = 0;
            }
        }
        if (rc != 0)
            goto out;
    }
    if (final && c->holdlen) {
        rc = fail_at(c, c->pos, NULL, 0);
        goto out;
    }
out:
    *outlen = (size_t)(op - out);
    return rc;
}

void cp932_error(const struct cp932 *c, uint64_t *offset, uint32_t *cp)
{
    if (offset)
        *offset = c->err_offset;
    if (cp)
        *cp = c->err_cp;
}

int cp932_convert_all(struct cp932 *c, const void *in, size_t len, char **out,
                      size_t *outlen, size_t *bad)
{
    size_t cap, n = 0;
    char *buf;
    int rc;

    *out = NULL;
    *outlen = 0;
    cp932_reset(c);
    cap = cp932_out_max(c, len);
    if (cap == 0)
        return MAMORI_ETOOBIG;
    buf = malloc(cap + 1);
    if (!buf)
        return MAMORI_ENOMEM;
    rc = cp932_convert(c, in, len, 1, buf, cap, &n);
    if (rc != 0) {
        if (bad)
            *bad = (size_t)c->err_offset;
        crypto_wipe(buf, cap + 1);
        free(buf);
        cp932_reset(c);
        return rc;
    }
    buf[n] = '\0';
    *out = buf;
    *outlen = n;
    return 0;
}

static int one_shot(enum cp932_dir dir, const void *in, size_t len, char **out,
                    size_t *outlen, size_t *bad)
{
    struct cp932 *c;
    int rc = cp932_new(dir, &c);
    if (rc != 0)
        return rc;
    rc = cp932_convert_all(c, in, len, out, outlen, bad);
    cp932_free(c);
    return rc;
}

int cp932_to_utf8(const void *in, size_t len, char **out, size_t *outlen,
                  size_t *bad)
{
    return one_shot(CP932_DECODE, in, len, out, outlen, bad);
}

int cp932_from_utf8(const char *in, size_t len, char **out, size_t *outlen,
                    size_t *bad)
{
    return one_shot(CP932_ENCODE, in, len, out, outlen, bad);
}
