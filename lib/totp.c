/*
 * totp.c - TOTP codes, otpauth URIs, terminal QR codes and recovery codes
 * (see totp.h).
 *
 * The HMAC-SHA-1 and dynamic truncation of RFC 4226/6238 are liboath's
 * (oath_totp_generate, one step at a time); the window, replay rule and
 * constant-time comparison are ours, so every step of the window costs the
 * same whichever matches. Base32, percent-encoding and the typed-input
 * folding are small enough to write here rather than take liboath's
 * malloc'd, padded Base32 (which we could not wipe).
 */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <oath.h>
#include <qrencode.h>

#include "crypto.h"
#include "mamori.h"
#include "text.h"
#include "totp.h"
#include "banned.h"

_Static_assert(sizeof(time_t) >= 8, "TOTP steps need a 64-bit time_t");
_Static_assert(TOTP_SECRET_B32_SIZE == (8 * TOTP_SECRET_LEN + 4) / 5 + 1,
               "TOTP_SECRET_B32_SIZE matches TOTP_SECRET_LEN");

/* The largest step whose start time (step * TOTP_STEP) fits in time_t. */
#define STEP_MAX ((uint64_t)INT64_MAX / TOTP_STEP)

#define QUIET 4 /* quiet zone, in modules, on each side */

#define STR_(x) #x
#define STR(x) STR_(x)

/* The recovery-code alphabet: 2-9 and A-Z without I, L, O (31 characters). */
static const char RECOVERY_ALPHABET[] = "23456789ABCDEFGHJKMNPQRSTUVWXYZ";
#define RECOVERY_N (sizeof(RECOVERY_ALPHABET) - 1)

/* ---- liboath ------------------------------------------------------------ */

static pthread_once_t g_oath_once = PTHREAD_ONCE_INIT;
static int g_oath_rc = -1;

/* liboath wants oath_init before any other call and is not safe to
 * initialise from two threads at once. It stays initialised for the life of
 * the process (oath_done only releases its crypto back end). */
static void oath_init_once(void)
{
    g_oath_rc = oath_init() == OATH_OK ? 0 : -1;
}

static int oath_ready(void)
{
    if (pthread_once(&g_oath_once, oath_init_once) != 0)
        return -1;
    return g_oath_rc;
}

/* ---- secrets and codes ---------------------------------------------------*/

void totp_secret_new(uint8_t secret[TOTP_SECRET_LEN])
{
    crypto_random(secret, TOTP_SECRET_LEN);
}

static int secret_ok(const uint8_t *secret, size_t len)
{
    return secret != NULL && len >= TOTP_SECRET_MIN && len <= TOTP_SECRET_MAX;
}

/* The Base32 character of a 5-bit value without a table lookup indexed by
 * the secret: 0..25 -> 'A'..'Z', 26..31 -> '2'..'7'. */
static char b32_char(unsigned v)
{
    unsigned ge26 = 0u - ((25u - v) >> 31); /* all ones if v > 25 */

    return (char)('A' + v + (ge26 & (unsigned)('2' - 'A' - 26)));
}

int totp_secret_base32(const uint8_t *secret, size_t len, char *out,
                       size_t size)
{
    uint32_t acc = 0;
    unsigned bits = 0;
    size_t o = 0;

    if (out == NULL || size == 0)
        return MAMORI_EINVAL;
    out[0] = '\0';
    if (!secret_ok(secret, len))
        return MAMORI_EINVAL;
    /* len <= TOTP_SECRET_MAX, so 8 * len cannot overflow. */
    if (size < (8 * len + 4) / 5 + 1)
        return MAMORI_ETOOBIG;
    for (size_t i = 0; i < len; i++) {
        acc = (acc << 8) | secret[i];
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            out[o++] = b32_char((acc >> bits) & 31u);
        }
        acc &= (1u << bits) - 1u;
    }
    if (bits > 0)
        out[o++] = b32_char((acc << (5 - bits)) & 31u);
    out[o] = '\0';
    crypto_wipe(&acc, sizeof(acc));
    return 0;
}

int totp_code(const uint8_t *secret, size_t len, uint64_t step,
              char out[TOTP_DIGITS + 1])
{
    int rc;

    if (out == NULL)
        return MAMORI_EINVAL;
    out[0] = '\0';
    if (!secret_ok(secret, len) || step > STEP_MAX)
        return MAMORI_EINVAL;
    if (oath_ready() != 0)
        return MAMORI_ECRYPTO;
    rc = oath_totp_generate((const char *)secret, len,
                            (time_t)(step * TOTP_STEP), TOTP_STEP,
                            OATH_TOTP_DEFAULT_START_TIME, TOTP_DIGITS, out);
    if (rc != OATH_OK || strnlen(out, TOTP_DIGITS + 1) != TOTP_DIGITS) {
        crypto_wipe(out, TOTP_DIGITS + 1);
        return MAMORI_ECRYPTO;
    }
    return 0;
}

/* ---- typed input ---------------------------------------------------------*/

/*
 * Reads one character at p (left >= 1 bytes) and returns the ASCII byte it
 * stands for: ASCII as is, full-width forms U+FF01..U+FF5E folded to ASCII,
 * U+3000 to ' ', dash and long-vowel look-alikes to '-'. Anything else,
 * including broken or overlong UTF-8, is -1. *adv is the bytes read.
 */
static int fold_ascii(const unsigned char *p, size_t left, size_t *adv)
{
    uint32_t cp;

    *adv = 1;
    if (p[0] < 0x80)
        return p[0];
    /* Everything we fold is a three-byte sequence. */
    if ((p[0] & 0xF0) != 0xE0 || left < 3 || (p[1] & 0xC0) != 0x80 ||
        (p[2] & 0xC0) != 0x80)
        return -1;
    cp = ((uint32_t)(p[0] & 0x0F) << 12) | ((uint32_t)(p[1] & 0x3F) << 6) |
         (uint32_t)(p[2] & 0x3F);
    *adv = 3;
    if (cp >= 0xFF01 && cp <= 0xFF5E)
        return (int)(cp - 0xFEE0);
    if (cp == 0x3000)
        return ' ';
    if ((cp >= 0x2010 && cp <= 0x2015) || cp == 0x2212 || cp == 0x30FC ||
        cp == 0xFF70)
        return '-';
    return -1;
}

/* The TOTP_DIGITS digits of a typed code into out, or MAMORI_EINVAL. */
static int parse_code(const char *in, char out[TOTP_DIGITS + 1])
{
    size_t len, i = 0, n = 0, adv;

    out[0] = '\0';
    if (in == NULL)
        return MAMORI_EINVAL;
    len = strnlen(in, TOTP_INPUT_MAX + 1);
    if (len > TOTP_INPUT_MAX)
        return MAMORI_EINVAL;
    while (i < len) {
        int c = fold_ascii((const unsigned char *)in + i, len - i, &adv);

        i += adv;
        if (c == ' ')
            continue;
        if (c < '0' || c > '9' || n == TOTP_DIGITS) {
            crypto_wipe(out, TOTP_DIGITS + 1);
            return MAMORI_EINVAL;
        }
        out[n++] = (char)c;
    }
    out[n] = '\0';
    if (n != TOTP_DIGITS) {
        crypto_wipe(out, TOTP_DIGITS + 1);
        return MAMORI_EINVAL;
    }
    return 0;
}

int totp_verify(const uint8_t *secret, size_t len, const char *code,
                int64_t now, int window, uint64_t last_used_step,
                uint64_t *matched_step)
{
    char typed[TOTP_DIGITS + 1], want[TOTP_DIGITS + 1];
    uint64_t cur, best = 0, found = 0;
    int rc = MAMORI_EINVAL;

    if (!secret_ok(secret, len) || matched_step == NULL || now < 0 ||
        window < 0 || window > TOTP_WINDOW_MAX)
        return MAMORI_EINVAL;
    if (parse_code(code, typed) != 0)
        return MAMORI_EINVAL;
    cur = (uint64_t)now / TOTP_STEP;
    for (int k = -window; k <= window; k++) {
        uint64_t s, eq, ok;

        /* Steps before the epoch wrap around to above STEP_MAX. */
        s = cur + (uint64_t)(int64_t)k;
        if (s > STEP_MAX)
            continue; /* no such time */
        if (totp_code(secret, len, s, want) != 0) {
            rc = MAMORI_ECRYPTO;
            goto out;
        }
        eq = (uint64_t)crypto_equal(typed, want, TOTP_DIGITS);
        ok = eq & (uint64_t)(s > last_used_step);
        /* Branch-free "if (ok) best = s": the last, hence latest, wins. */
        best = (best & (ok - 1)) | (s & (0 - ok));
        found |= ok;
    }
    if (!found) {
        rc = MAMORI_EAUTH;
        goto out;
    }
    *matched_step = best;
    rc = 0;
out:
    crypto_wipe(typed, sizeof(typed));
    crypto_wipe(want, sizeof(want));
    return rc;
}

/* ---- otpauth URI ---------------------------------------------------------*/

/* Issuer and account: 1..TOTP_NAME_MAX bytes of UTF-8, no C0/C1 control
 * characters. Sets *len. */
static int name_check(const char *s, size_t *len)
{
    size_t n;

    if (s == NULL)
        return MAMORI_EINVAL;
    n = strnlen(s, TOTP_NAME_MAX + 1);
    if (n == 0)
        return MAMORI_EINVAL;
    if (n > TOTP_NAME_MAX)
        return MAMORI_ETOOBIG;
    if (!text_utf8_valid(s, n))
        return MAMORI_EINVAL;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c < 0x20 || c == 0x7F)
            return MAMORI_EINVAL;
        /* U+0080..U+009F are C2 80..C2 9F. */
        if (c == 0xC2 && i + 1 < n && (unsigned char)s[i + 1] <= 0x9F)
            return MAMORI_EINVAL;
    }
    *len = n;
    return 0;
}

static int unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
           c == '~';
}

/* A bounded string builder; the sizes below are computed exactly, the
 * bound is a second line of defence. */
struct sbuf {
    char *p;
    size_t len, cap;
};

static int sb_put(struct sbuf *b, const char *s, size_t n)
{
    if (n >= b->cap - b->len)
        return -1;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

static int sb_str(struct sbuf *b, const char *s)
{
    return sb_put(b, s, strlen(s));
}

static int sb_pct(struct sbuf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char e[3] = {'%', hex[c >> 4], hex[c & 15]};

        if (unreserved(c) ? sb_put(b, (const char *)&c, 1) : sb_put(b, e, 3))
            return -1;
    }
    return 0;
}

#define URI_HEAD "otpauth://totp/"
#define URI_SECRET "?secret="
#define URI_ISSUER "&issuer="
#define URI_TAIL                                                               \
    "&algorithm=SHA1&digits=" STR(TOTP_DIGITS) "&period=" STR(TOTP_STEP)

int totp_uri(const char *issuer, const char *account, const uint8_t *secret,
             size_t len, char **out)
{
    char b32[(8 * TOTP_SECRET_MAX + 4) / 5 + 1];
    size_t ilen = 0, alen = 0, cap;
    struct sbuf b = {0};
    int rc;

    if (out == NULL)
        return MAMORI_EINVAL;
    *out = NULL;
    if ((rc = name_check(issuer, &ilen)) != 0 ||
        (rc = name_check(account, &alen)) != 0)
        return rc;
    rc = totp_secret_base32(secret, len, b32, sizeof(b32));
    if (rc != 0)
        goto out;
    /* Every term is bounded (TOTP_NAME_MAX, TOTP_SECRET_MAX): no overflow. */
    cap = strlen(URI_HEAD) + 3 * ilen + 1 + 3 * alen + strlen(URI_SECRET) +
          strlen(b32) + strlen(URI_ISSUER) + 3 * ilen + strlen(URI_TAIL) + 1;
    b.p = malloc(cap);
    if (b.p == NULL) {
        rc = MAMORI_ENOMEM;
        goto out;
    }
    b.cap = cap;
    b.p[0] = '\0';
    rc = MAMORI_EINVAL;
    if (sb_str(&b, URI_HEAD) || sb_pct(&b, issuer, ilen) || sb_str(&b, ":") ||
        sb_pct(&b, account, alen) || sb_str(&b, URI_SECRET) ||
        sb_str(&b, b32) || sb_str(&b, URI_ISSUER) || sb_pct(&b, issuer, ilen) ||
        sb_str(&b, URI_TAIL))
        goto out;
    *out = b.p;
    b.p = NULL;
    rc = 0;
out:
    if (b.p != NULL) {
        crypto_wipe(b.p, b.cap);
        free(b.p);
    }
    crypto_wipe(b32, sizeof(b32));
    return rc;
}

/* ---- QR code for a terminal ----------------------------------------------*/

/* 1 if the module at (x, y) of the picture (symbol plus quiet zone) is
 * light. Rows past the bottom (the odd last half-line) are left to the
 * terminal's background, i.e. dark. */
static int qr_light(const QRcode *qr, int x, int y)
{
    int w = qr->width;

    if (y >= w + 2 * QUIET)
        return 0;
    if (x < QUIET || y < QUIET || x >= w + QUIET || y >= w + QUIET)
        return 1;
    /* libqrencode: bit 0 of each byte is 1 for a dark module. */
    return !(qr->data[(size_t)(y - QUIET) * (size_t)w + (size_t)(x - QUIET)] &
             1);
}

int totp_qr_text(const char *text, char **out)
{
    /* Light modules are glyphs (foreground), dark ones the background. */
    static const char *const glyph[4] = {
        " ",            /* top dark, bottom dark */
        "\xE2\x96\x84", /* top dark, bottom light: ▄ */
        "\xE2\x96\x80", /* top light, bottom dark: ▀ */
        "\xE2\x96\x88", /* both light: █ */
    };
    QRcode *qr = NULL;
    struct sbuf b = {0};
    size_t n;
    int rc = MAMORI_EINVAL, side, lines;

    if (out == NULL)
        return MAMORI_EINVAL;
    *out = NULL;
    if (text == NULL)
        return MAMORI_EINVAL;
    n = strnlen(text, TOTP_QR_TEXT_MAX + 1);
    if (n == 0)
        return MAMORI_EINVAL;
    if (n > TOTP_QR_TEXT_MAX)
        return MAMORI_ETOOBIG;
    errno = 0;
    qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    if (qr == NULL) {
        rc = errno == ENOMEM   ? MAMORI_ENOMEM
             : errno == ERANGE ? MAMORI_ETOOBIG
                               : MAMORI_EINVAL;
        goto out;
    }
    if (qr->width < 21 || qr->width > 177 || qr->data == NULL)
        goto out; /* not a QR code: MAMORI_EINVAL */
    side = qr->width + 2 * QUIET;
    lines = (side + 1) / 2;
    /* At most 3 bytes a cell, a newline a line, and the NUL; side <= 185. */
    b.cap = (size_t)lines * ((size_t)side * 3 + 1) + 1;
    b.p = malloc(b.cap);
    if (b.p == NULL) {
        rc = MAMORI_ENOMEM;
        goto out;
    }
    b.p[0] = '\0';
    for (int l = 0; l < lines; l++) {
        for (int x = 0; x < side; x++) {
            int g = (qr_light(qr, x, 2 * l) << 1) | qr_light(qr, x, 2 * l + 1);

            if (sb_str(&b, glyph[g]))
                goto out;
        }
        if (sb_str(&b, "\n"))
            goto out;
    }
    *out = b.p;
    b.p = NULL;
    rc = 0;
out:
    if (b.p != NULL) {
        crypto_wipe(b.p, b.cap);
        free(b.p);
    }
    if (qr != NULL) {
        /* The modules encode the text (for a URI, the secret). */
        if (qr->data != NULL && qr->width > 0)
            crypto_wipe(qr->data, (size_t)qr->width * (size_t)qr->width);
        QRcode_free(qr);
    }
    return rc;
}

/* ---- recovery codes ------------------------------------------------------*/

void totp_recovery_new(char out[TOTP_RECOVERY_LEN + 1])
{
    /* Rejection sampling: bytes >= 248 (= 8 * 31) would bias b % 31. */
    const unsigned limit = 256 - 256 % RECOVERY_N;
    uint8_t rnd[32];
    size_t have = 0, used = 0, o = 0;

    while (o < TOTP_RECOVERY_LEN) {
        unsigned v;

        if (o == TOTP_RECOVERY_CHARS / 2) {
            out[o++] = '-';
            continue;
        }
        if (used == have) {
            crypto_random(rnd, sizeof(rnd));
            have = sizeof(rnd);
            used = 0;
        }
        v = rnd[used++];
        if (v >= limit)
            continue;
        out[o++] = RECOVERY_ALPHABET[v % RECOVERY_N];
    }
    out[o] = '\0';
    crypto_wipe(rnd, sizeof(rnd));
}

static int recovery_char(int c)
{
    return c > 0 && memchr(RECOVERY_ALPHABET, c, RECOVERY_N) != NULL;
}

int totp_recovery_normalise(const char *in, char out[TOTP_RECOVERY_CHARS + 1])
{
    size_t len, i = 0, n = 0, adv;

    if (out == NULL)
        return MAMORI_EINVAL;
    out[0] = '\0';
    if (in == NULL)
        return MAMORI_EINVAL;
    len = strnlen(in, TOTP_INPUT_MAX + 1);
    if (len > TOTP_INPUT_MAX)
        return MAMORI_EINVAL;
    while (i < len) {
        int c = fold_ascii((const unsigned char *)in + i, len - i, &adv);

        i += adv;
        if (c == ' ' || c == '-')
            continue;
        if (c >= 'a' && c <= 'z')
            c -= 'a' - 'A';
        if (!recovery_char(c) || n == TOTP_RECOVERY_CHARS) {
            crypto_wipe(out, TOTP_RECOVERY_CHARS + 1);
            return MAMORI_EINVAL;
        }
        out[n++] = (char)c;
    }
    out[n] = '\0';
    if (n != TOTP_RECOVERY_CHARS) {
        crypto_wipe(out, TOTP_RECOVERY_CHARS + 1);
        return MAMORI_EINVAL;
    }
    return 0;
}
