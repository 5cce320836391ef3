/*
 * fuzz_totp.c - libFuzzer target for lib/totp.c.
 *
 * The input, cut at its first NUL, is used as:
 *   - a typed TOTP code for totp_verify (fixed secret and time, window 1):
 *     the result is 0, MAMORI_EAUTH or MAMORI_EINVAL; anything but
 *     MAMORI_EINVAL exactly for inputs of at most TOTP_INPUT_MAX bytes
 *     holding six digits (ASCII or full-width) and nothing but spaces
 *     (U+0020, U+3000) besides; on 0 the matched step is in the window,
 *     its code is those digits, and the same code is then refused;
 *   - a typed recovery code for totp_recovery_normalise: on success ten
 *     alphabet characters that normalise to themselves, with or without
 *     the dash; on failure an empty output;
 *   - issuer and account (split at the first '\n') for totp_uri: on
 *     success a bounded, printable-ASCII URI whose label and issuer
 *     parameter percent-decode back to the inputs;
 *   - when the first byte is odd and the input short, text for
 *     totp_qr_text: on success only the four glyphs, equal-width lines and
 *     a bounded size.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "mamori.h"
#include "totp.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                               \
    do {                                                                       \
        if (!(x))                                                              \
            abort();                                                           \
    } while (0)

static const uint8_t SECRET[] = "12345678901234567890";
#define NOW 1111111109
#define ALPHABET "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
/* The longest URI totp_uri can build from TOTP_NAME_MAX names. */
#define URI_MAX                                                                \
    (15 + 3 * TOTP_NAME_MAX + 1 + 3 * TOTP_NAME_MAX + 8 +                      \
     (8 * TOTP_SECRET_MAX + 4) / 5 + 8 + 3 * TOTP_NAME_MAX + 34)

/* Reference reading of a typed code: the digits (ASCII or full-width) if
 * the rest is only U+0020 / U+3000 spaces, else 0 digits. */
static size_t ref_digits(const char *s, size_t n, char *out, size_t max)
{
    size_t i = 0, k = 0;

    while (i < n) {
        const unsigned char *p = (const unsigned char *)s + i;

        if (p[0] == ' ') {
            i++;
        } else if (p[0] >= '0' && p[0] <= '9') {
            if (k < max)
                out[k] = (char)p[0];
            k++;
            i++;
        } else if (n - i >= 3 && p[0] == 0xE3 && p[1] == 0x80 && p[2] == 0x80) {
            i += 3;
        } else if (n - i >= 3 && p[0] == 0xEF && p[1] == 0xBC && p[2] >= 0x90 &&
                   p[2] <= 0x99) {
            if (k < max)
                out[k] = (char)('0' + (p[2] - 0x90));
            k++;
            i += 3;
        } else {
            return 0;
        }
    }
    return k;
}

static void fuzz_verify(const char *in, size_t n)
{
    char digits[TOTP_DIGITS], code[TOTP_DIGITS + 1];
    const uint64_t cur = NOW / TOTP_STEP;
    uint64_t m = 0;
    int rc = totp_verify(SECRET, 20, in, NOW, 1, 0, &m);

    CHECK(rc == 0 || rc == MAMORI_EAUTH || rc == MAMORI_EINVAL);
    /* Well-formed exactly when the reference reading says so. */
    CHECK((rc == MAMORI_EINVAL) ==
          (n > TOTP_INPUT_MAX ||
           ref_digits(in, n, digits, sizeof digits) != TOTP_DIGITS));
    if (rc == MAMORI_EINVAL)
        return;
    if (rc == MAMORI_EAUTH) {
        CHECK(m == 0);
        return;
    }
    CHECK(m >= cur - 1 && m <= cur + 1);
    CHECK(totp_code(SECRET, 20, m, code) == 0);
    CHECK(memcmp(code, digits, TOTP_DIGITS) == 0);
    /* Replay of the same code is refused. */
    CHECK(totp_verify(SECRET, 20, in, NOW, 1, m, &m) == MAMORI_EAUTH);
}

static void fuzz_recovery(const char *in)
{
    char out[TOTP_RECOVERY_CHARS + 1], again[TOTP_RECOVERY_CHARS + 1];
    char dashed[TOTP_RECOVERY_LEN + 1];
    int rc;

    memset(out, 'x', sizeof out);
    rc = totp_recovery_normalise(in, out);
    if (rc != 0) {
        CHECK(rc == MAMORI_EINVAL);
        CHECK(out[0] == '\0');
        return;
    }
    CHECK(strlen(out) == TOTP_RECOVERY_CHARS);
    for (size_t i = 0; i < TOTP_RECOVERY_CHARS; i++)
        CHECK(strchr(ALPHABET, out[i]) != NULL);
    CHECK(totp_recovery_normalise(out, again) == 0);
    CHECK(strcmp(out, again) == 0);
    memcpy(dashed, out, 5);
    dashed[5] = '-';
    memcpy(dashed + 6, out + 5, 5);
    dashed[11] = '\0';
    CHECK(totp_recovery_normalise(dashed, again) == 0);
    CHECK(strcmp(out, again) == 0);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes s[0..n) into out (room for n bytes); returns the length.
 * Aborts on a malformed escape: totp_uri never writes one. */
static size_t pct_decode(const char *s, size_t n, char *out)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            CHECK(i + 2 < n);
            CHECK(hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0);
            out[o++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    return o;
}

static void fuzz_uri(const char *in, size_t n)
{
    const char *nl = memchr(in, '\n', n);
    char *issuer, *account, *uri = NULL, *dec;
    const char *q, *p;
    size_t ilen, alen, ulen, dlen;
    int rc;

    if (nl == NULL)
        return;
    ilen = (size_t)(nl - in);
    alen = n - ilen - 1;
    issuer = malloc(ilen + 1);
    account = malloc(alen + 1);
    CHECK(issuer != NULL && account != NULL);
    memcpy(issuer, in, ilen);
    issuer[ilen] = '\0';
    memcpy(account, nl + 1, alen);
    account[alen] = '\0';

    rc = totp_uri(issuer, account, SECRET, 20, &uri);
    if (rc != 0) {
        CHECK(rc == MAMORI_EINVAL || rc == MAMORI_ETOOBIG);
        CHECK(uri == NULL);
        CHECK(rc != MAMORI_ETOOBIG || ilen > TOTP_NAME_MAX ||
              alen > TOTP_NAME_MAX);
        goto out;
    }
    CHECK(ilen >= 1 && ilen <= TOTP_NAME_MAX);
    CHECK(alen >= 1 && alen <= TOTP_NAME_MAX);
    ulen = strlen(uri);
    CHECK(ulen <= URI_MAX);
    for (size_t i = 0; i < ulen; i++)
        CHECK(uri[i] > 0x20 && uri[i] < 0x7F);
    CHECK(strncmp(uri, "otpauth://totp/", 15) == 0);
    /* Label: ISSUER:ACCOUNT with the only literal ':' between them. */
    q = strchr(uri, '?');
    CHECK(q != NULL);
    p = memchr(uri + 15, ':', (size_t)(q - uri - 15));
    CHECK(p != NULL);
    CHECK(memchr(p + 1, ':', (size_t)(q - p - 1)) == NULL);
    dec = malloc(ulen + 1);
    CHECK(dec != NULL);
    dlen = pct_decode(uri + 15, (size_t)(p - uri - 15), dec);
    CHECK(dlen == ilen && memcmp(dec, issuer, ilen) == 0);
    dlen = pct_decode(p + 1, (size_t)(q - p - 1), dec);
    CHECK(dlen == alen && memcmp(dec, account, alen) == 0);
    CHECK(strncmp(q, "?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=", 48) ==
          0);
    p = strchr(q + 48, '&');
    CHECK(p != NULL);
    dlen = pct_decode(q + 48, (size_t)(p - q - 48), dec);
    CHECK(dlen == ilen && memcmp(dec, issuer, ilen) == 0);
    CHECK(strcmp(p, "&algorithm=SHA1&digits=6&period=30") == 0);
    free(dec);
out:
    crypto_wipe_free_str(uri);
    free(issuer);
    free(account);
}

static void fuzz_qr(const char *in, size_t n)
{
    char *qr = NULL;
    size_t width = 0, cells = 0, lines = 0, len;
    int rc = totp_qr_text(in, &qr);

    if (rc != 0) {
        CHECK(rc == MAMORI_EINVAL || rc == MAMORI_ETOOBIG ||
              rc == MAMORI_ENOMEM);
        CHECK(qr == NULL);
        CHECK(rc != MAMORI_EINVAL || n == 0);
        return;
    }
    CHECK(n > 0);
    len = strlen(qr);
    /* Version 40 plus the quiet zone: 185 cells of <= 3 bytes, 93 lines. */
    CHECK(len <= 93 * (185 * 3 + 1));
    for (const char *p = qr; *p;) {
        if (*p == '\n') {
            CHECK(lines == 0 ? cells >= 29 : cells == width);
            width = cells;
            cells = 0;
            lines++;
            p++;
        } else if (*p == ' ') {
            cells++;
            p++;
        } else {
            CHECK((unsigned char)p[0] == 0xE2 && (unsigned char)p[1] == 0x96);
            CHECK((unsigned char)p[2] == 0x80 || (unsigned char)p[2] == 0x84 ||
                  (unsigned char)p[2] == 0x88);
            cells++;
            p += 3;
        }
    }
    CHECK(cells == 0 && lines == (width + 1) / 2);
    crypto_wipe_free_str(qr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in;
    size_t n;

    in = malloc(size + 1);
    CHECK(in != NULL);
    if (size > 0)
        memcpy(in, data, size);
    in[size] = '\0';
    n = strlen(in);

    fuzz_verify(in, n);
    fuzz_recovery(in);
    fuzz_uri(in, n);
    if (n > 0 && (in[0] & 1) && n <= 300)
        fuzz_qr(in, n);
    free(in);
    return 0;
}
