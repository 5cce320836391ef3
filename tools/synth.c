/*
 * synth.c - mamori-synth: realistic synthetic Japanese people as CSV.
 *
 *   mamori-synth [--count N] [--seed S] [--header]
 *                [--encoding utf-8|cp932] [--crlf] [--bom]
 *
 * Writes N (default 10) rows of name, kana, birthdate, postal, address,
 * phone, email, mynumber to stdout as RFC 4180 CSV. Every value is a random
 * combination of common names and places (tools/synth_data.h), never a real
 * person's record; e-mail addresses use reserved example domains only.
 * The output depends only on --seed and --count: the encoding and line-end
 * options change the bytes, not the people.
 *
 * Exit status: 0 done, 1 write or conversion failure, 2 bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <iconv.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "mamori.h"
#include "text.h"
#include "synth_data.h"

#include "banned.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

enum { EXIT_USAGE = 2 };

/* ---- PRNG: xoshiro256** seeded through splitmix64 ---------------------- */

struct rng {
    uint64_t s[4];
};

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static void rng_seed(struct rng *r, uint64_t seed)
{
    for (size_t i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl64(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t rng_next(struct rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl64(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl64(s[3], 45);
    return result;
}

/* Uniform in [0, n) by multiply-shift of the top 32 bits. The bias is below
 * n / 2^32, irrelevant for test data. */
static inline uint32_t rng_below(struct rng *r, uint32_t n)
{
    return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* Uniform in [lo, hi]. */
static inline uint32_t rng_range(struct rng *r, uint32_t lo, uint32_t hi)
{
    return lo + rng_below(r, hi - lo + 1);
}

/* ---- one CSV row, built in UTF-8 --------------------------------------- */

#define ROW_MAX 1024
#define NFIELDS 8

static const char *const field_names[NFIELDS] = {
    "name",    "kana",  "birthdate", "postal",
    "address", "phone", "email",     "mynumber",
};

struct row {
    char b[ROW_MAX];
    size_t n;
    int overflow;
    size_t field_end[NFIELDS]; /* offset just past each field */
};

static inline void row_put(struct row *r, const char *s, size_t n)
{
    if (n > sizeof(r->b) - r->n) {
        r->overflow = 1;
        return;
    }
    memcpy(r->b + r->n, s, n);
    r->n += n;
}

static inline void row_puts(struct row *r, const char *s)
{
    row_put(r, s, strlen(s));
}

static inline void row_putc(struct row *r, char c)
{
    if (r->n >= sizeof(r->b)) {
        r->overflow = 1;
        return;
    }
    r->b[r->n++] = c;
}

/* v in decimal, zero-padded to at least width digits (width <= 20). */
static void row_put_uint(struct row *r, uint64_t v, int width)
{
    char d[20];
    int n = 0;
    do {
        d[sizeof(d) - 1 - (size_t)n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0 && n < (int)sizeof(d));
    while (n < width && n < (int)sizeof(d))
        d[sizeof(d) - 1 - (size_t)n++] = '0';
    row_put(r, d + sizeof(d) - (size_t)n, (size_t)n);
}

static void row_put_digits(struct rng *g, struct row *r, int count)
{
    for (int i = 0; i < count; i++)
        row_putc(r, (char)('0' + rng_below(g, 10)));
}

/* RFC 4180: a field holding a comma, quote, CR or LF is quoted, with quotes
 * doubled. Rewrites r->b[start..n) in place when needed. */
static void row_csv_quote(struct row *r, size_t start)
{
    size_t quotes = 0;
    int special = 0;
    for (size_t i = start; i < r->n; i++) {
        char c = r->b[i];
        if (c == '"')
            quotes++;
        if (c == '"' || c == ',' || c == '\r' || c == '\n')
            special = 1;
    }
    if (!special)
        return;
    size_t extra = quotes + 2;
    if (extra > sizeof(r->b) - r->n) {
        r->overflow = 1;
        return;
    }
    /* Walk backwards so each byte moves once. */
    size_t src = r->n, dst = r->n + extra;
    r->b[--dst] = '"';
    while (src > start) {
        char c = r->b[--src];
        r->b[--dst] = c;
        if (c == '"')
            r->b[--dst] = '"';
    }
    r->b[--dst] = '"';
    r->n += extra;
}

static void row_end_field(struct row *r, int i, size_t start)
{
    row_csv_quote(r, start);
    r->field_end[i] = r->n;
    if (i < NFIELDS - 1)
        row_putc(r, ',');
}

/* ---- the fields -------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date, and back
 * (H. Hinnant's civil calendar algorithms). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned mp = m > 2 ? m - 3 : m + 9;
    unsigned doy = (153 * mp + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* Ages 18..90 on 2026-01-01: born 1935-01-02 .. 2008-01-01. */
struct birth_range {
    int64_t first;
    uint32_t span;
};

struct person {
    const struct synth_name *family, *given;
    const struct synth_muni *muni;
    int64_t birth_year;
};

static void gen_birthdate(struct rng *g, struct row *r,
                          const struct birth_range *br, struct person *p)
{
    int64_t y;
    unsigned m, d;
    civil_from_days(br->first + rng_below(g, br->span), &y, &m, &d);
    p->birth_year = y;
    row_put_uint(r, (uint64_t)y, 4);
    row_putc(r, '-');
    row_put_uint(r, m, 2);
    row_putc(r, '-');
    row_put_uint(r, d, 2);
}

static void gen_postal(struct rng *g, struct row *r, const struct person *p)
{
    row_put_uint(r, p->muni->postal3, 3);
    row_putc(r, '-');
    row_put_digits(g, r, 4);
}

static void gen_building(struct rng *g, struct row *r)
{
    const char *word = synth_bldg_word[rng_below(g, NELEM(synth_bldg_word))];
    if (rng_below(g, 3) == 0) {
        row_puts(r, synth_bldg_before[rng_below(g, NELEM(synth_bldg_before))]);
        row_puts(r, word);
    } else {
        row_puts(r, word);
        row_puts(r, synth_bldg_after[rng_below(g, NELEM(synth_bldg_after))]);
    }
    uint32_t floor = rng_range(g, 1, 14), unit = rng_range(g, 1, 12);
    uint32_t style = rng_below(g, 10);
    if (style < 2)
        row_putc(r, ' ');
    row_put_uint(r, floor * 100 + unit, 1);
    if (style >= 6)
        row_puts(r, "号室");
}

static void gen_address(struct rng *g, struct row *r, const struct person *p)
{
    row_puts(r, synth_pref[p->muni->pref - 1]);
    row_puts(r, p->muni->name);
    row_puts(r, synth_town[rng_below(g, NELEM(synth_town))]);

    /* Small 丁目 and 番 numbers are the common ones. */
    uint32_t chome = rng_range(g, 1, rng_below(g, 4) == 0 ? 9 : 4);
    uint32_t ban = rng_range(g, 1, rng_below(g, 3) == 0 ? 40 : 15);
    uint32_t go = rng_range(g, 1, 25);
    uint32_t form = rng_below(g, 100);
    if (form < 65) { /* 1-2-3 */
        row_put_uint(r, chome, 1);
        row_putc(r, '-');
        row_put_uint(r, ban, 1);
        row_putc(r, '-');
        row_put_uint(r, go, 1);
    } else if (form < 80) { /* no 丁目: 番地-号, 1234-5 */
        row_put_uint(r, rng_range(g, 1, 2500), 1);
        row_putc(r, '-');
        row_put_uint(r, rng_range(g, 1, 30), 1);
    } else if (form < 92) { /* 1丁目2-3 */
        row_put_uint(r, chome, 1);
        row_puts(r, "丁目");
        row_put_uint(r, ban, 1);
        row_putc(r, '-');
        row_put_uint(r, go, 1);
    } else { /* 1丁目2番3号 */
        row_put_uint(r, chome, 1);
        row_puts(r, "丁目");
        row_put_uint(r, ban, 1);
        row_puts(r, "番");
        row_put_uint(r, go, 1);
        row_puts(r, "号");
    }

    if (rng_below(g, 100) < 35) {
        uint32_t sep = rng_below(g, 10);
        if (sep < 5)
            row_puts(r, "\xE3\x80\x80"); /* U+3000 */
        else if (sep < 8)
            row_putc(r, ' ');
        else
            row_puts(r, ", "); /* the field gets quoted */
        gen_building(g, r);
    }
}

static void gen_phone(struct rng *g, struct row *r, const struct person *p)
{
    uint32_t kind = rng_below(g, 100);
    if (kind < 60) { /* mobile, 11 digits */
        uint32_t w = rng_below(g, 10);
        row_puts(r, w < 5 ? "090-" : w < 9 ? "080-" : "070-");
        row_putc(r, (char)('1' + rng_below(g, 9)));
        row_put_digits(g, r, 3);
        row_putc(r, '-');
        row_put_digits(g, r, 4);
    } else if (kind < 95) { /* landline of the address, 10 digits */
        size_t alen = strlen(p->muni->area);
        row_put(r, p->muni->area, alen);
        row_putc(r, '-');
        /* Local exchange number: 10 - area - 4 digits, never 0 or 1 first. */
        int local = 6 - (int)alen;
        row_putc(r, (char)('2' + rng_below(g, 8)));
        row_put_digits(g, r, local - 1);
        row_putc(r, '-');
        row_put_digits(g, r, 4);
    } else { /* IP phone, 11 digits */
        row_puts(r, "050-");
        row_putc(r, (char)('1' + rng_below(g, 9)));
        row_put_digits(g, r, 3);
        row_putc(r, '-');
        row_put_digits(g, r, 4);
    }
}

static void gen_email(struct rng *g, struct row *r, const struct person *p)
{
    static const char alnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    const struct synth_name *f = p->family, *n = p->given;
    uint32_t style = rng_below(g, 100);

    if (style < 25) { /* taro.yamada */
        row_put(r, n->romaji, n->romaji_len);
        row_putc(r, '.');
        row_put(r, f->romaji, f->romaji_len);
    } else if (style < 45) { /* yamada.taro */
        row_put(r, f->romaji, f->romaji_len);
        row_putc(r, '.');
        row_put(r, n->romaji, n->romaji_len);
    } else if (style < 55) { /* t.yamada */
        row_putc(r, n->romaji[0]);
        row_putc(r, '.');
        row_put(r, f->romaji, f->romaji_len);
    } else if (style < 63) { /* yamada_t */
        row_put(r, f->romaji, f->romaji_len);
        row_putc(r, '_');
        row_putc(r, n->romaji[0]);
    } else if (style < 80) { /* taro1985, yamada-taro85 */
        if (rng_below(g, 2) == 0) {
            row_put(r, n->romaji, n->romaji_len);
            row_put_uint(r, (uint64_t)p->birth_year, 4);
        } else {
            row_put(r, f->romaji, f->romaji_len);
            row_putc(r, '-');
            row_put(r, n->romaji, n->romaji_len);
            row_put_uint(r, (uint64_t)(p->birth_year % 100), 2);
        }
    } else { /* random, starting with a letter */
        uint32_t len = rng_range(g, 6, 12);
        row_putc(r, alnum[rng_below(g, 26)]);
        for (uint32_t i = 1; i < len; i++)
            row_putc(r, alnum[rng_below(g, sizeof(alnum) - 1)]);
    }
    uint32_t dom = rng_below(g, 10);
    row_puts(r, dom < 4   ? "@example.jp"
                : dom < 7 ? "@example.com"
                          : "@example.co.jp");
}

static int gen_mynumber(struct rng *g, struct row *r)
{
    char base[12];
    for (size_t i = 0; i < 11; i++)
        base[i] = (char)('0' + rng_below(g, 10));
    base[11] = '\0';
    char check = text_mynumber_check_digit(base);
    if (check < '0' || check > '9')
        return MAMORI_EINVAL;
    row_put(r, base, 11);
    row_putc(r, check);
    return 0;
}

/* Family names are drawn by weight: each index appears weight times. */
struct picker {
    unsigned short idx[NELEM(synth_family) * 10];
    uint32_t n;
};

static void picker_init(struct picker *pk)
{
    pk->n = 0;
    for (size_t i = 0; i < NELEM(synth_family); i++) {
        unsigned w = synth_family[i].weight;
        if (w < 1)
            w = 1;
        if (w > 10)
            w = 10;
        for (unsigned k = 0; k < w; k++)
            pk->idx[pk->n++] = (unsigned short)i;
    }
}

static int gen_row(struct rng *g, const struct picker *pk,
                   const struct birth_range *br, struct row *r)
{
    struct person p;
    size_t start;

    r->n = 0;
    r->overflow = 0;
    p.family = &synth_family[pk->idx[rng_below(g, pk->n)]];
    p.given = &synth_given[rng_below(g, NELEM(synth_given))];
    p.muni = &synth_muni[rng_below(g, NELEM(synth_muni))];
    p.birth_year = 0;

    start = r->n;
    row_put(r, p.family->kanji, p.family->kanji_len);
    row_puts(r, "\xE3\x80\x80");
    row_put(r, p.given->kanji, p.given->kanji_len);
    row_end_field(r, 0, start);

    start = r->n;
    row_put(r, p.family->kana, p.family->kana_len);
    row_puts(r, "\xE3\x80\x80");
    row_put(r, p.given->kana, p.given->kana_len);
    row_end_field(r, 1, start);

    start = r->n;
    gen_birthdate(g, r, br, &p);
    row_end_field(r, 2, start);

    start = r->n;
    gen_postal(g, r, &p);
    row_end_field(r, 3, start);

    start = r->n;
    gen_address(g, r, &p);
    row_end_field(r, 4, start);

    start = r->n;
    gen_phone(g, r, &p);
    row_end_field(r, 5, start);

    start = r->n;
    gen_email(g, r, &p);
    row_end_field(r, 6, start);

    start = r->n;
    if (gen_mynumber(g, r) != 0)
        return MAMORI_EINVAL;
    row_end_field(r, 7, start);

    return r->overflow ? MAMORI_ETOOBIG : 0;
}

/* ---- output ------------------------------------------------------------ */

#define OUT_CAP (1u << 20)

struct out {
    int fd;
    char buf[OUT_CAP];
    size_t len;
    iconv_t cd; /* (iconv_t)-1 for UTF-8 output */
    const char *eol;
    size_t eol_len;
};

static int out_flush(struct out *o)
{
    size_t off = 0;
    while (off < o->len) {
        ssize_t w = write(o->fd, o->buf + off, o->len - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return MAMORI_EIO;
        }
        off += (size_t)w;
    }
    o->len = 0;
    return 0;
}

static int out_raw(struct out *o, const char *p, size_t n)
{
    while (n > 0) {
        if (o->len == sizeof(o->buf)) {
            int rc = out_flush(o);
            if (rc != 0)
                return rc;
        }
        size_t k = sizeof(o->buf) - o->len;
        if (k > n)
            k = n;
        memcpy(o->buf + o->len, p, k);
        o->len += k;
        p += k;
        n -= k;
    }
    return 0;
}

/*
 * Appends p[0..n) converted to CP932. On a character CP932 lacks, returns
 * MAMORI_EINVAL with *bad set to its offset in p.
 */
static int out_cp932(struct out *o, const char *p, size_t n, size_t *bad)
{
    char *in = (char *)(uintptr_t)p; /* iconv's prototype is not const */
    size_t inleft = n;
    while (inleft > 0) {
        /* CP932 never takes more bytes than UTF-8 for the same text, but
         * keep the loop for E2BIG anyway. */
        if (sizeof(o->buf) - o->len < 64) {
            int rc = out_flush(o);
            if (rc != 0)
                return rc;
        }
        char *outp = o->buf + o->len;
        size_t outleft = sizeof(o->buf) - o->len;
        size_t res = iconv(o->cd, &in, &inleft, &outp, &outleft);
        o->len = (size_t)(outp - o->buf);
        if (res == (size_t)-1) {
            if (errno == E2BIG)
                continue;
            *bad = (size_t)(in - p);
            return MAMORI_EINVAL;
        }
        if (res != 0) { /* an irreversible (substituted) character */
            *bad = 0;
            return MAMORI_EINVAL;
        }
    }
    return 0;
}

/* One line: the text in the output encoding, then the line end. */
static int out_line(struct out *o, const char *p, size_t n, size_t *bad)
{
    int rc;
    if (o->cd == (iconv_t)-1)
        rc = out_raw(o, p, n);
    else
        rc = out_cp932(o, p, n, bad);
    if (rc != 0)
        return rc;
    return out_raw(o, o->eol, o->eol_len);
}

/* ---- main -------------------------------------------------------------- */

static void usage(FILE *f)
{
    fputs("usage: mamori-synth [--count N] [--seed S] [--header]\n"
          "                    [--encoding utf-8|cp932] [--crlf] [--bom]\n"
          "Writes N (default 10) synthetic Japanese people to stdout as CSV:\n"
          "name,kana,birthdate,postal,address,phone,email,mynumber.\n"
          "The same seed (default 1) gives the same people. --bom writes a\n"
          "UTF-8 byte order mark and needs utf-8; --crlf ends lines with\n"
          "CR LF.\n",
          f);
}

/* A whole unsigned decimal number, no sign, no junk. */
static int parse_u64(const char *s, uint64_t *out)
{
    if (s == NULL || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0')
        return -1;
    *out = (uint64_t)v;
    return 0;
}

static struct out out_state;

int main(int argc, char **argv)
{
    enum {
        OPT_COUNT = 256,
        OPT_SEED,
        OPT_HEADER,
        OPT_ENCODING,
        OPT_CRLF,
        OPT_BOM,
        OPT_HELP
    };
    static const struct option opts[] = {
        {"count", required_argument, NULL, OPT_COUNT},
        {"seed", required_argument, NULL, OPT_SEED},
        {"header", no_argument, NULL, OPT_HEADER},
        {"encoding", required_argument, NULL, OPT_ENCODING},
        {"crlf", no_argument, NULL, OPT_CRLF},
        {"bom", no_argument, NULL, OPT_BOM},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    uint64_t count = 10, seed = 1;
    int header = 0, cp932 = 0, crlf = 0, bom = 0;
    int status = 1;
    struct out *o = &out_state;
    static struct row row;
    static struct picker picker;
    struct rng g;
    struct birth_range br;
    size_t bad = 0;
    int c, rc;

    o->cd = (iconv_t)-1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_COUNT:
            if (parse_u64(optarg, &count) != 0) {
                fputs("mamori-synth: --count needs a whole number\n", stderr);
                goto usage_error;
            }
            break;
        case OPT_SEED:
            if (parse_u64(optarg, &seed) != 0) {
                fputs("mamori-synth: --seed needs a whole number\n", stderr);
                goto usage_error;
            }
            break;
        case OPT_HEADER:
            header = 1;
            break;
        case OPT_ENCODING:
            if (strcasecmp(optarg, "utf-8") == 0 ||
                strcasecmp(optarg, "utf8") == 0) {
                cp932 = 0;
            } else if (strcasecmp(optarg, "cp932") == 0) {
                cp932 = 1;
            } else {
                fputs("mamori-synth: --encoding is utf-8 or cp932\n", stderr);
                goto usage_error;
            }
            break;
        case OPT_CRLF:
            crlf = 1;
            break;
        case OPT_BOM:
            bom = 1;
            break;
        case 'h':
        case OPT_HELP:
            usage(stdout);
            return 0;
        default:
            fputs("mamori-synth: unknown option or missing value\n", stderr);
            goto usage_error;
        }
    }
    if (optind != argc) {
        fputs("mamori-synth: unexpected argument\n", stderr);
        goto usage_error;
    }
    if (bom && cp932) {
        fputs("mamori-synth: --bom is only valid with utf-8\n", stderr);
        goto usage_error;
    }

    if (cp932) {
        o->cd = iconv_open("CP932", "UTF-8");
        if (o->cd == (iconv_t)-1) {
            fputs("mamori-synth: iconv has no CP932 converter\n", stderr);
            goto out;
        }
    }
    o->fd = STDOUT_FILENO;
    o->len = 0;
    o->eol = crlf ? "\r\n" : "\n";
    o->eol_len = crlf ? 2 : 1;

    rng_seed(&g, seed);
    picker_init(&picker);
    br.first = days_from_civil(1935, 1, 2);
    br.span = (uint32_t)(days_from_civil(2008, 1, 1) - br.first + 1);

    if (bom && out_raw(o, "\xEF\xBB\xBF", 3) != 0)
        goto write_error;
    if (header) {
        static const char h[] =
            "name,kana,birthdate,postal,address,phone,email,mynumber";
        rc = out_line(o, h, sizeof(h) - 1, &bad);
        if (rc == MAMORI_EIO)
            goto write_error;
        if (rc != 0) {
            fputs("mamori-synth: header: cannot convert to CP932\n", stderr);
            goto out;
        }
    }
    for (uint64_t i = 1; i <= count; i++) {
        rc = gen_row(&g, &picker, &br, &row);
        if (rc != 0) {
            fprintf(stderr, "mamori-synth: row %" PRIu64 ": %s\n", i,
                    rc == MAMORI_ETOOBIG ? "longer than the row buffer"
                                         : "check digit computation failed");
            goto out;
        }
        rc = out_line(o, row.b, row.n, &bad);
        if (rc == MAMORI_EIO)
            goto write_error;
        if (rc != 0) {
            int f = 0;
            while (f < NFIELDS - 1 && bad >= row.field_end[f])
                f++;
            fprintf(stderr,
                    "mamori-synth: row %" PRIu64 ", field \"%s\": "
                    "character not representable in CP932\n",
                    i, field_names[f]);
            goto out;
        }
    }
    if (out_flush(o) != 0)
        goto write_error;
    status = 0;
    goto out;

write_error:
    fprintf(stderr, "mamori-synth: write to stdout failed: %s\n",
            strerror(errno));
    goto out;
usage_error:
    usage(stderr);
    status = EXIT_USAGE;
out:
    if (o->cd != (iconv_t)-1)
        iconv_close(o->cd);
    return status;
}
