/*
 * text.c - validation, canonical forms and search keys for the field types
 * (see text.h).
 *
 * Every function works on a value decoded into an array of code points
 * (struct cpbuf): utf8proc normalises it (NFKC = COMPOSE|COMPAT|STABLE, NFC
 * = COMPOSE|STABLE, search keys add CASEFOLD|IGNORE), then our own tables
 * do what NFKC does not: hiragana -> katakana, dash and wave-dash variants,
 * spaces, variant kanji. The rewriting is done in place (it never grows the
 * array) and the result is encoded once into an exactly sized malloc'd
 * string. Values made only of ASCII, kana and common kanji are NFKC/NFC
 * stable already, so they skip utf8proc altogether.
 *
 * Intermediate copies of a value are wiped (explicit_bzero) before they are
 * freed or go out of scope. This file depends on utf8proc and libc only, so
 * fuzz/fuzz_text.c can link it alone.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "mamori.h"
#include "i18n.h"
#include "text.h"
#include "banned.h"

#define NFKC_OPTS (UTF8PROC_COMPOSE | UTF8PROC_COMPAT | UTF8PROC_STABLE)
#define NFC_OPTS (UTF8PROC_COMPOSE | UTF8PROC_STABLE)
#define KEY_OPTS (NFKC_OPTS | UTF8PROC_CASEFOLD | UTF8PROC_IGNORE)

/* Rule texts. Static, English, never containing any part of a value. */
#define R_ARG N_("invalid argument")
#define R_TYPE N_("unknown field type")
#define R_LONG N_("too long")
#define R_LONG_NORM N_("too long after normalisation")
#define R_UTF8 N_("not valid UTF-8")
#define R_EMPTY N_("must not be empty")
#define R_CTRL N_("contains a control character")
#define R_MARK_START N_("starts with a combining mark")
#define R_PRIVATE N_("contains a private-use (user-defined) character")
#define R_INVISIBLE                                                            \
    N_("contains an invisible character (zero-width space, BOM or direction "  \
       "control)")
#define R_NOMEM N_("out of memory")

/* ---- character classes --------------------------------------------------*/

static int is_cc(int32_t c)
{
    return c < 0x20 || (c >= 0x7F && c <= 0x9F);
}

/* Unicode White_Space. */
static int is_space_cp(int32_t c)
{
    return c == 0x20 || (c >= 0x09 && c <= 0x0D) || c == 0x85 || c == 0xA0 ||
           c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
           c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

/* Dash, hyphen, minus and long-vowel look-alikes (before or after NFKC). */
static int is_dash(int32_t c)
{
    switch (c) {
    case 0x002D: /* - hyphen-minus */
    case 0x2043: /* hyphen bullet */
    case 0x2212: /* minus sign (JIS Shift_JIS 0x817C) */
    case 0x2500: /* box drawings light horizontal, typed as a dash */
    case 0x2501:
    case 0x2E3A: /* two-em dash */
    case 0x2E3B:
    case 0x30FC: /* katakana-hiragana prolonged sound mark */
    case 0xFE58: /* small em dash */
    case 0xFE63: /* small hyphen-minus */
    case 0xFF0D: /* fullwidth hyphen-minus (CP932 0x817C) */
    case 0xFF70: /* halfwidth prolonged sound mark */
        return 1;
    default:
        return c >= 0x2010 && c <= 0x2015;
    }
}

/* Wave dashes and tildes: CP932 gives U+FF5E (NFKC "~"), JIS and macOS
 * give U+301C. */
static int is_wave(int32_t c)
{
    return c == 0x7E || c == 0x301C || c == 0xFF5E || c == 0x223C ||
           c == 0x2053 || c == 0x3030;
}

static int is_hiragana(int32_t c)
{
    return (c >= 0x3041 && c <= 0x3096) || (c >= 0x309D && c <= 0x309F);
}

/* Katakana letters, ー and the iteration marks; not ・ (U+30FB). */
static int is_katakana(int32_t c)
{
    return (c >= 0x30A1 && c <= 0x30FA) || (c >= 0x30FC && c <= 0x30FF) ||
           (c >= 0x31F0 && c <= 0x31FF);
}

static int is_kana(int32_t c)
{
    return is_hiragana(c) || is_katakana(c);
}

/* ぁ..ゖ -> ァ..ヶ, ゝゞ -> ヽヾ; ゟ has no katakana form and stays. */
static int32_t to_katakana(int32_t c)
{
    if ((c >= 0x3041 && c <= 0x3096) || c == 0x309D || c == 0x309E)
        return c + 0x60;
    return c;
}

static int is_han(int32_t c)
{
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x20000 && c <= 0x2FA1F) ||
           (c >= 0x30000 && c <= 0x3134F) || c == 0x3005 /* 々 */ ||
           c == 0x3006 /* 〆 */ || c == 0x303B /* 〻 */;
}

static int is_latin_letter(int32_t c)
{
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))
        return 1;
    if (c >= 0xC0 && c <= 0x24F)
        return c != 0xD7 && c != 0xF7;
    return c >= 0x1E00 && c <= 0x1EFF;
}

static int is_ascii_digit(int32_t c)
{
    return c >= '0' && c <= '9';
}

static int is_mark(int32_t c)
{
    utf8proc_category_t cat;

    if (c < 0x300)
        return 0;
    cat = utf8proc_category(c);
    return cat == UTF8PROC_CATEGORY_MN || cat == UTF8PROC_CATEGORY_MC ||
           cat == UTF8PROC_CATEGORY_ME;
}

/* Private Use (category Co): CP932's user-defined characters (外字,
 * F040-F9FC) decode to U+E000-U+E757, which mean nothing outside the PC
 * that drew them. */
static int is_private_use(int32_t c)
{
    return c >= 0xE000 && utf8proc_category(c) == UTF8PROC_CATEGORY_CO;
}

static int is_number(int32_t c)
{
    utf8proc_category_t cat;

    if (c < 0x80)
        return is_ascii_digit(c);
    cat = utf8proc_category(c);
    return cat == UTF8PROC_CATEGORY_ND || cat == UTF8PROC_CATEGORY_NL ||
           cat == UTF8PROC_CATEGORY_NO;
}

/* Typographic apostrophes, written for ' in names (O’Brien). */
static int is_apostrophe(int32_t c)
{
    return c == '\'' || c == 0x2019 || c == 0x02BC;
}

/* Zero-width characters, the BOM and direction marks and controls: they
 * come with text copied from web pages and mails, show nothing (or reorder
 * what is shown), and no CP932 export can write them. Variation selectors
 * are not among them. */
static int is_invisible(int32_t c)
{
    return (c >= 0x200B && c <= 0x200F) || (c >= 0x202A && c <= 0x202E) ||
           c == 0x2060 || (c >= 0x2066 && c <= 0x2069) || c == 0xFEFF;
}

/* The rule a value of type t breaks by a character of its own, in one
 * pass over cp[0..n), or NULL: every type but text refuses invisible
 * characters; a number refuses a control character (a tab or a line break
 * pasted with it), as a name or an address does in its own rules, rather
 * than reading it as a separator. */
static const char *bad_char(enum field_type t, const int32_t *cp, size_t n)
{
    int number = t == FT_POSTAL || t == FT_PHONE || t == FT_MYNUMBER ||
                 t == FT_CORPNUMBER;

    if (t == FT_TEXT)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (is_invisible(cp[i]))
            return R_INVISIBLE;
        if (number && is_cc(cp[i]))
            return R_CTRL;
    }
    return NULL;
}

/* Variation selectors (standardized and ideographic, IVS). */
static int is_vs(int32_t c)
{
    return (c >= 0xFE00 && c <= 0xFE0F) || (c >= 0xE0100 && c <= 0xE01EF);
}

/*
 * Code points that NFKC, NFC and case folding leave unchanged whatever
 * surrounds them, as long as no combining mark follows (a combining mark is
 * not in the set, so its presence sends the value down the utf8proc path).
 * ASCII case folding is done by hand. Covers most Japanese values.
 */
static int is_fast_stable(int32_t c)
{
    if (c < 0x80)
        return 1;
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3041 && c <= 0x3096) ||
           (c >= 0x30A1 && c <= 0x30FE) || c == 0x309D || c == 0x309E ||
           (c >= 0x3001 && c <= 0x3006) || (c >= 0x3400 && c <= 0x4DBF);
}

/*
 * Variant kanji (異体字) folded in the search keys of name and address, so
 * that a search with the common form finds the person's own form. The
 * canonical stored value keeps the person's own kanji; only the search key
 * folds. Sorted by variant, for bsearch. 斎 and 斉 are different surnames
 * (斎藤 / 斉藤) and are not merged: 齋 folds to 斎 and 齊 to 斉.
 */
struct kanji_fold {
    int32_t from;
    int32_t to;
};

static const struct kanji_fold kanji_folds[] = {
    {0x051A8, 0x5BCC}, /* 冨 -> 富 */
    {0x0570B, 0x56FD}, /* 國 -> 国 */
    {0x057DC, 0x91CE}, /* 埜 -> 野 */
    {0x0589E, 0x5897}, /* 增 -> 増 */
    {0x058FD, 0x5BFF}, /* 壽 -> 寿 */
    {0x05B78, 0x5B66}, /* 學 -> 学 */
    {0x05BE6, 0x5B9F}, /* 實 -> 実 */
    {0x05CEF, 0x5CF0}, /* 峯 -> 峰 */
    {0x05D5C, 0x5D0E}, /* 嵜 -> 崎 */
    {0x05D8B, 0x5CF6}, /* 嶋 -> 島 */
    {0x05D8C, 0x5CF6}, /* 嶌 -> 島 */
    {0x05EE3, 0x5E83}, /* 廣 -> 広 */
    {0x05F4C, 0x5F25}, /* 彌 -> 弥 */
    {0x05FB7, 0x5FB3}, /* 德 -> 徳 */
    {0x060E0, 0x6075}, /* 惠 -> 恵 */
    {0x066FE, 0x66FD}, /* 曾 -> 曽 */
    {0x06703, 0x4F1A}, /* 會 -> 会 */
    {0x0689D, 0x6761}, /* 條 -> 条 */
    {0x069AE, 0x6804}, /* 榮 -> 栄 */
    {0x069C7, 0x69D9}, /* 槇 -> 槙 */
    {0x06A9C, 0x6867}, /* 檜 -> 桧 */
    {0x06AFB, 0x685C}, /* 櫻 -> 桜 */
    {0x06DF8, 0x6E05}, /* 淸 -> 清 */
    {0x06DFA, 0x6D45}, /* 淺 -> 浅 */
    {0x06F81, 0x6E0B}, /* 澁 -> 渋 */
    {0x06FA4, 0x6CA2}, /* 澤 -> 沢 */
    {0x06FF1, 0x6D5C}, /* 濱 -> 浜 */
    {0x06FF5, 0x6D5C}, /* 濵 -> 浜 */
    {0x07028, 0x702C}, /* 瀨 -> 瀬 */
    {0x0771E, 0x771F}, /* 眞 -> 真 */
    {0x08218, 0x9928}, /* 舘 -> 館 */
    {0x08597, 0x5712}, /* 薗 -> 園 */
    {0x085CF, 0x8535}, /* 藏 -> 蔵 */
    {0x09089, 0x8FBA}, /* 邉 -> 辺 */
    {0x0908A, 0x8FBA}, /* 邊 -> 辺 */
    {0x090A8, 0x6751}, /* 邨 -> 村 */
    {0x09435, 0x9244}, /* 鐵 -> 鉄 */
    {0x095DC, 0x95A2}, /* 關 -> 関 */
    {0x09751, 0x9752}, /* 靑 -> 青 */
    {0x0975C, 0x9759}, /* 靜 -> 静 */
    {0x09A52, 0x9A28}, /* 驒 -> 騨 */
    {0x09AD9, 0x9AD8}, /* 髙 -> 高 */
    {0x09ED1, 0x9ED2}, /* 黑 -> 黒 */
    {0x09F4A, 0x6589}, /* 齊 -> 斉 */
    {0x09F4B, 0x658E}, /* 齋 -> 斎 */
    {0x09F9C, 0x4E80}, /* 龜 -> 亀 */
    {0x0FA11, 0x5D0E}, /* 﨑 -> 崎 (CP932 only; NFKC keeps it) */
    {0x20BB7, 0x5409}, /* 𠮷 -> 吉 */
};

static int32_t fold_kanji(int32_t c)
{
    size_t lo = 0, hi = sizeof kanji_folds / sizeof kanji_folds[0];

    /* Small ヶ/ヵ are written for ケ/カ in place names and surnames
     * (霞ヶ関, 一ヶ谷). */
    if (c == 0x30F6)
        return 0x30B1;
    if (c == 0x30F5)
        return 0x30AB;
    if (c < kanji_folds[0].from)
        return c;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (kanji_folds[mid].from == c)
            return kanji_folds[mid].to;
        if (kanji_folds[mid].from < c)
            lo = mid + 1;
        else
            hi = mid;
    }
    return c;
}

/* ---- UTF-8 ---------------------------------------------------------------*/

size_t text_utf8_char(const unsigned char *p, size_t n, uint32_t *cp)
{
    size_t len;
    uint32_t c, min;

    if (n == 0)
        return 0;
    if (p[0] < 0x80) {
        *cp = p[0];
        return 1;
    }
    if ((p[0] & 0xE0) == 0xC0) {
        len = 2, c = p[0] & 0x1F, min = 0x80;
    } else if ((p[0] & 0xF0) == 0xE0) {
        len = 3, c = p[0] & 0x0F, min = 0x800;
    } else if ((p[0] & 0xF8) == 0xF0) {
        len = 4, c = p[0] & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        c = c << 6 | (p[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return len;
}

/* Decodes one code point at s[*i] (s valid up to len); -1 if malformed:
 * truncated, overlong, surrogate or above U+10FFFF. */
static int utf8_next(const unsigned char *s, size_t len, size_t *i, int32_t *cp)
{
    uint32_t c;
    size_t n = text_utf8_char(s + *i, len - *i, &c);

    if (n == 0)
        return -1;
    *cp = (int32_t)c;
    *i += n;
    return 0;
}

int text_utf8_valid(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    int32_t cp;

    if (s == NULL)
        return len == 0;
    while (i < len) {
        if (u[i] < 0x80) {
            i++;
            continue;
        }
        if (utf8_next(u, len, &i, &cp) != 0)
            return 0;
    }
    return 1;
}

static size_t utf8_width(int32_t c)
{
    if (c < 0x80)
        return 1;
    if (c < 0x800)
        return 2;
    if (c < 0x10000)
        return 3;
    return 4;
}

static size_t utf8_put(char *dst, int32_t c)
{
    unsigned char *d = (unsigned char *)dst;
    uint32_t u = (uint32_t)c;

    if (u < 0x80) {
        d[0] = (unsigned char)u;
        return 1;
    }
    if (u < 0x800) {
        d[0] = (unsigned char)(0xC0 | (u >> 6));
        d[1] = (unsigned char)(0x80 | (u & 0x3F));
        return 2;
    }
    if (u < 0x10000) {
        d[0] = (unsigned char)(0xE0 | (u >> 12));
        d[1] = (unsigned char)(0x80 | ((u >> 6) & 0x3F));
        d[2] = (unsigned char)(0x80 | (u & 0x3F));
        return 3;
    }
    d[0] = (unsigned char)(0xF0 | (u >> 18));
    d[1] = (unsigned char)(0x80 | ((u >> 12) & 0x3F));
    d[2] = (unsigned char)(0x80 | ((u >> 6) & 0x3F));
    d[3] = (unsigned char)(0x80 | (u & 0x3F));
    return 4;
}

/* Encodes cp[0..n) into a new exactly sized string. MAMORI_EINVAL if it
 * would exceed max bytes, MAMORI_ENOMEM. */
static int utf8_encode(const int32_t *cp, size_t n, size_t max, char **out)
{
    size_t total = 0, i, w = 0;
    char *s;

    for (i = 0; i < n; i++)
        total += utf8_width(cp[i]);
    if (total > max)
        return MAMORI_EINVAL;
    s = malloc(total + 1);
    if (s == NULL)
        return MAMORI_ENOMEM;
    for (i = 0; i < n; i++)
        w += utf8_put(s + w, cp[i]);
    s[w] = '\0';
    *out = s;
    return 0;
}

/* ---- code point buffer ---------------------------------------------------*/

#define CP_LOCAL 256

struct cpbuf {
    int32_t *cp;
    size_t n;
    size_t cap;
    size_t local_used; /* entries of local that may hold data */
    int32_t local[CP_LOCAL];
};

static void cpbuf_init(struct cpbuf *b)
{
    b->cp = b->local;
    b->n = 0;
    b->cap = CP_LOCAL;
    b->local_used = 0;
}

static void cpbuf_release(struct cpbuf *b)
{
    if (b->cp != b->local) {
        explicit_bzero(b->cp, b->cap * sizeof *b->cp);
        free(b->cp);
    }
    explicit_bzero(b->local, b->local_used * sizeof *b->local);
    cpbuf_init(b);
}

/* Makes room for need code points; the contents are not kept. */
static int cpbuf_reserve(struct cpbuf *b, size_t need)
{
    int32_t *p;

    if (need <= b->cap)
        return 0;
    if (need > SIZE_MAX / sizeof *p)
        return MAMORI_ENOMEM;
    p = malloc(need * sizeof *p);
    if (p == NULL)
        return MAMORI_ENOMEM;
    if (b->cp != b->local) {
        explicit_bzero(b->cp, b->cap * sizeof *b->cp);
        free(b->cp);
    }
    b->cp = p;
    b->cap = need;
    return 0;
}

static void cpbuf_touch(struct cpbuf *b, size_t n)
{
    if (b->cp == b->local && n > b->local_used)
        b->local_used = n > CP_LOCAL ? CP_LOCAL : n;
}

/* What is mapped before normalisation (cpbuf_normalise's premap). */
enum premap {
    PREMAP_NONE,
    /* The spacing voiced and semi-voiced sound marks ゛゜ (U+309B, U+309C,
     * as older conversions to full width write ﾀﾞ: タ゛) become the
     * combining ones, which compose with the kana before them as ﾞ does
     * (NFKC alone gives a space and the combining mark). */
    PREMAP_MARKS,
    /* The same, and hiragana -> katakana. */
    PREMAP_KATAKANA,
};

static utf8proc_int32_t premap_marks(utf8proc_int32_t c, void *data)
{
    (void)data;
    return c == 0x309B ? 0x3099 : c == 0x309C ? 0x309A : c;
}

static utf8proc_int32_t premap_katakana(utf8proc_int32_t c, void *data)
{
    return to_katakana(premap_marks(c, data));
}

/* utf8proc_decompose_custom into b, growing it as needed: the
 * decomposition can be longer than the input (U+FDFA gives 18 code
 * points), and utf8proc says how much it needs. */
static int cpbuf_decompose(struct cpbuf *b, const unsigned char *u, size_t len,
                           utf8proc_option_t opts, enum premap premap)
{
    utf8proc_ssize_t r;
    int rc;

    for (;;) {
        r = utf8proc_decompose_custom(
            u, (utf8proc_ssize_t)len, b->cp, (utf8proc_ssize_t)b->cap, opts,
            premap == PREMAP_KATAKANA ? premap_katakana
            : premap == PREMAP_MARKS  ? premap_marks
                                      : NULL,
            NULL);
        cpbuf_touch(b, b->cap);
        if (r < 0)
            return MAMORI_EINVAL;
        if ((size_t)r <= b->cap)
            break;
        rc = cpbuf_reserve(b, (size_t)r);
        if (rc != 0)
            return rc;
    }
    b->n = (size_t)r;
    return 0;
}

/*
 * Decodes in[0..len) (valid UTF-8, len <= TEXT_MAX_VALUE) into b, normalised
 * with the utf8proc options opts, after premap (PREMAP_KATAKANA maps
 * hiragana to katakana before composition, so that わ+゛ composes like
 * ワ+゛). Returns 0, MAMORI_EINVAL or MAMORI_ENOMEM.
 */
static int cpbuf_normalise(struct cpbuf *b, const char *in, size_t len,
                           utf8proc_option_t opts, enum premap premap)
{
    const unsigned char *u = (const unsigned char *)in;
    int fold = (opts & UTF8PROC_CASEFOLD) != 0;
    size_t i = 0, n = 0;
    utf8proc_ssize_t r;
    int rc;

    /* Fast path: no code point needs utf8proc. Never more code points than
     * bytes. */
    rc = cpbuf_reserve(b, len);
    if (rc != 0)
        return rc;
    while (i < len) {
        int32_t c;
        size_t next = i;
        if (u[i] < 0x80) {
            c = u[next++];
            if (fold && c >= 'A' && c <= 'Z')
                c += 'a' - 'A';
        } else if (utf8_next(u, len, &next, &c) != 0) {
            cpbuf_touch(b, n);
            return MAMORI_EINVAL;
        } else if (c == 0x3000) {
            /* ideographic space: NFKC gives U+0020, NFC keeps it */
            if (opts & UTF8PROC_COMPAT)
                c = 0x20;
        } else if (!is_fast_stable(c)) {
            break;
        }
        b->cp[n++] = c;
        i = next;
    }
    cpbuf_touch(b, n);
    if (i == len) {
        b->n = n;
        return 0;
    }

    /* Slow path. NFKC_Casefold is defined on the decomposed form: case is
     * folded only once the marks are in canonical order, otherwise U+0345
     * (which folds to the starter U+03B9) gives canonically equivalent
     * strings different keys. So fold in a second pass over the NFKD. */
    if (fold) {
        unsigned char *tmp;
        size_t tlen = 0, k, w = 0;

        rc = cpbuf_decompose(b, u, len, opts & ~UTF8PROC_CASEFOLD, premap);
        if (rc != 0)
            return rc;
        for (k = 0; k < b->n; k++)
            tlen += utf8_width(b->cp[k]);
        tmp = malloc(tlen + 1);
        if (tmp == NULL)
            return MAMORI_ENOMEM;
        for (k = 0; k < b->n; k++)
            w += utf8_put((char *)tmp + w, b->cp[k]);
        rc = cpbuf_decompose(b, tmp, tlen, opts, 0);
        explicit_bzero(tmp, tlen + 1);
        free(tmp);
    } else {
        rc = cpbuf_decompose(b, u, len, opts, premap);
    }
    if (rc != 0)
        return rc;
    r = b->n;
    r = utf8proc_normalize_utf32(b->cp, r, opts);
    if (r < 0)
        return MAMORI_EINVAL;
    b->n = (size_t)r;
    return 0;
}

/* ---- field types ---------------------------------------------------------*/

static const char *const type_names[FT_COUNT] = {
    [FT_TEXT] = "text",
    [FT_NAME] = "name",
    [FT_KANA] = "kana",
    [FT_DATE] = "date",
    [FT_POSTAL] = "postal",
    [FT_PHONE] = "phone",
    [FT_EMAIL] = "email",
    [FT_MYNUMBER] = "mynumber",
    [FT_CORPNUMBER] = "corpnumber",
    [FT_ADDRESS] = "address",
};

int text_type_parse(const char *s, enum field_type *out)
{
    int t;

    if (s == NULL || out == NULL)
        return -1;
    for (t = 0; t < FT_COUNT; t++) {
        if (strcmp(s, type_names[t]) == 0) {
            *out = (enum field_type)t;
            return 0;
        }
    }
    return -1;
}

const char *text_type_name(enum field_type t)
{
    if ((int)t < 0 || t >= FT_COUNT)
        return "unknown";
    return type_names[t];
}

/* ---- check digits --------------------------------------------------------*/

static int all_digits(const char *s, size_t n)
{
    size_t i;

    if (s == NULL)
        return 0;
    for (i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* 総務省令第85号 第5条: weights 6,5,4,3,2,7,6,5,4,3,2 left to right over
 * the 11 base digits; r = sum mod 11; check 0 if r <= 1 else 11 - r.
 * Returns '\0' if base11 is not 11 digits. */
char text_mynumber_check_digit(const char *base11)
{
    static const int weight[11] = {6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2};
    int sum = 0, r, i;

    if (!all_digits(base11, 11))
        return '\0';
    for (i = 0; i < 11; i++)
        sum += (base11[i] - '0') * weight[i];
    r = sum % 11;
    return (char)('0' + (r <= 1 ? 0 : 11 - r));
}

/* 財務省令第70号 第2条: from the right, odd positions weigh 1, even 2;
 * check = 9 - (sum mod 9). Returns '\0' if base12 is not 12 digits. */
char text_corpnumber_check_digit(const char *base12)
{
    int sum = 0, i;

    if (!all_digits(base12, 12))
        return '\0';
    for (i = 0; i < 12; i++)
        sum += (base12[i] - '0') * ((i % 2) ? 1 : 2);
    return (char)('0' + 9 - sum % 9);
}

int text_mynumber_valid(const char *digits)
{
    if (!all_digits(digits, 12))
        return 0;
    return text_mynumber_check_digit(digits) == digits[11];
}

int text_corpnumber_valid(const char *digits)
{
    if (!all_digits(digits, 13))
        return 0;
    return text_corpnumber_check_digit(digits + 1) == digits[0];
}

/* ---- dates ---------------------------------------------------------------*/

struct era {
    int32_t k1, k2; /* the two kanji */
    char letter;
    int base;         /* Gregorian year of era year 0 */
    long first, last; /* yyyymmdd, inclusive */
};

static const struct era eras[] = {
    {0x660E, 0x6CBB, 'M', 1867, 18681023L, 19120729L}, /* 明治 */
    {0x5927, 0x6B63, 'T', 1911, 19120730L, 19261224L}, /* 大正 */
    {0x662D, 0x548C, 'S', 1925, 19261225L, 19890107L}, /* 昭和 */
    {0x5E73, 0x6210, 'H', 1988, 19890108L, 20190430L}, /* 平成 */
    {0x4EE4, 0x548C, 'R', 2018, 20190501L, 99991231L}, /* 令和 */
};
#define N_ERAS (sizeof eras / sizeof eras[0])

#define CP_YEAR 0x5E74  /* 年 */
#define CP_MONTH 0x6708 /* 月 */
#define CP_DAY 0x65E5   /* 日 */
#define CP_GAN 0x5143   /* 元 (元年 = year 1) */

#define R_DATE_FORMAT N_("not a recognised date format")
#define R_DATE_MONTH N_("month must be 1 to 12")
#define R_DATE_DAY N_("day does not exist in that month")
#define R_DATE_ERA N_("date is outside its era")
#define R_DATE_ERA0 N_("era year must be 1 or more")
#define R_DATE_ERA_DIGITS N_("era year must have at most 2 digits")
#define R_DATE_OLD N_("dates before 1873 (lunisolar calendar) are not accepted")
#define R_DATE_LATE N_("year must not be after 9999")
#define R_DATE_YEAR4 N_("year must have 4 digits")

static int days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30,
                                 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return days[m - 1];
}

static size_t skip_spaces(const int32_t *cp, size_t n, size_t i)
{
    while (i < n && (cp[i] == 0x20 || cp[i] == 0x3000))
        i++;
    return i;
}

/* Reads up to max digits at cp[*i]; returns the count (max + 1 if there
 * were more). */
static int read_number(const int32_t *cp, size_t n, size_t *i, int max,
                       long *value)
{
    int count = 0;
    long v = 0;

    while (*i < n && is_ascii_digit(cp[*i])) {
        if (count == max)
            return max + 1;
        v = v * 10 + (cp[*i] - '0');
        count++;
        (*i)++;
    }
    *value = v;
    return count;
}

/* Date separators after NFKC: 年月日, or one of - / . used twice. */
static int32_t date_sep(int32_t c)
{
    if (c == CP_YEAR || c == '/' || c == '.')
        return c;
    if (is_dash(c))
        return '-';
    return 0;
}

/* Parses an NFKC-normalised date. */
static int date_parse_cps(const int32_t *cp, size_t n, int *y, int *m, int *d,
                          const char **rule)
{
    const struct era *era = NULL;
    size_t i = 0, k;
    long year, month, day, ymd;
    int count, ydigits;
    int32_t sep;

    i = skip_spaces(cp, n, i);
    for (k = 0; k < N_ERAS && era == NULL; k++) {
        if (i + 1 < n && cp[i] == eras[k].k1 && cp[i + 1] == eras[k].k2) {
            era = &eras[k];
            i += 2;
        } else if (i < n && (cp[i] == eras[k].letter ||
                             cp[i] == eras[k].letter + ('a' - 'A'))) {
            era = &eras[k];
            i += 1;
        }
    }
    i = skip_spaces(cp, n, i);
    if (era != NULL && i < n && cp[i] == CP_GAN) {
        year = 1;
        count = 1;
        i++;
    } else {
        count = read_number(cp, n, &i, 8, &year);
    }
    if (count == 0 || count > 8)
        goto bad_format;
    ydigits = count;
    i = skip_spaces(cp, n, i);
    if (era == NULL && count == 8 && i == n) {
        /* YYYYMMDD */
        day = year % 100;
        month = year / 100 % 100;
        year /= 10000;
    } else {
        if (count > 4)
            goto bad_format;
        if (i >= n || (sep = date_sep(cp[i])) == 0)
            goto bad_format;
        i = skip_spaces(cp, n, i + 1);
        count = read_number(cp, n, &i, 2, &month);
        if (count == 0 || count > 2)
            goto bad_format;
        i = skip_spaces(cp, n, i);
        if (i >= n ||
            (sep == CP_YEAR ? cp[i] != CP_MONTH : date_sep(cp[i]) != sep))
            goto bad_format;
        i = skip_spaces(cp, n, i + 1);
        count = read_number(cp, n, &i, 2, &day);
        if (count == 0 || count > 2)
            goto bad_format;
        i = skip_spaces(cp, n, i);
        if (sep == CP_YEAR) {
            if (i >= n || cp[i] != CP_DAY)
                goto bad_format;
            i = skip_spaces(cp, n, i + 1);
        }
        if (i != n)
            goto bad_format;
        if (era == NULL && ydigits != 4) {
            *rule = R_DATE_YEAR4;
            return -1;
        }
    }
    if (era != NULL) {
        /* The longest era, Showa, reached 64. */
        if (ydigits > 2) {
            *rule = R_DATE_ERA_DIGITS;
            return -1;
        }
        if (year < 1) {
            *rule = R_DATE_ERA0;
            return -1;
        }
        year += era->base;
    }
    if (month < 1 || month > 12) {
        *rule = R_DATE_MONTH;
        return -1;
    }
    if (year < 1873) {
        *rule = R_DATE_OLD;
        return -1;
    }
    if (year > 9999) {
        *rule = R_DATE_LATE;
        return -1;
    }
    if (day < 1 || day > days_in_month((int)year, (int)month)) {
        *rule = R_DATE_DAY;
        return -1;
    }
    ymd = year * 10000 + month * 100 + day;
    if (era != NULL && (ymd < era->first || ymd > era->last)) {
        *rule = R_DATE_ERA;
        return -1;
    }
    *y = (int)year;
    *m = (int)month;
    *d = (int)day;
    return 0;

bad_format:
    *rule = R_DATE_FORMAT;
    return -1;
}

/* ---- canonical forms -----------------------------------------------------*/

/* text and address: NFC, no control characters (text: TAB and LF allowed,
 * CRLF becomes LF) nor private-use ones, trimmed, non-empty. */
static int canon_text(struct cpbuf *b, int allow_tab_lf, int32_t **start,
                      size_t *count, const char **rule)
{
    int32_t *cp = b->cp;
    size_t i, w = 0, s, e;

    for (i = 0; i < b->n; i++) {
        int32_t c = cp[i];
        if (allow_tab_lf && c == '\r' && i + 1 < b->n && cp[i + 1] == '\n')
            continue;
        if (is_cc(c) && !(allow_tab_lf && (c == '\t' || c == '\n'))) {
            *rule = R_CTRL;
            return -1;
        }
        if (is_private_use(c)) {
            *rule = R_PRIVATE;
            return -1;
        }
        cp[w++] = c;
    }
    for (s = 0; s < w && is_space_cp(cp[s]); s++)
        ;
    for (e = w; e > s && is_space_cp(cp[e - 1]); e--)
        ;
    if (s == e) {
        *rule = R_EMPTY;
        return -1;
    }
    if (is_mark(cp[s])) {
        *rule = R_MARK_START;
        return -1;
    }
    *start = cp + s;
    *count = e - s;
    return 0;
}

#define R_NAME_DIGIT N_("must not contain digits")
#define R_NAME_CHAR N_("contains a character that is not allowed in a name")
#define R_NAME_MARK N_("contains a combining mark that is not part of a letter")
#define R_NAME_LETTER N_("must contain a letter")

enum prev_class { PREV_NONE, PREV_HAN, PREV_KANA, PREV_LATIN, PREV_OTHER };

/*
 * name: after NFKC (which turns U+3000 into U+0020), spaces are trimmed
 * and runs become one U+3000. Allowed: kanji (and 々〆〻), hiragana,
 * katakana (ー ヶ ヽ ヾ), ・ ゠, Latin letters with their accents, and ASCII
 * space . - '. Dash look-alikes other than "-" and ー become ー after kana
 * and "-" elsewhere; typographic apostrophes become '. Variation
 * selectors may follow a kanji. At least one letter (a kanji, a kana other
 * than ー, a Latin letter): punctuation alone is no name.
 */
static int canon_name(struct cpbuf *b, const char **rule)
{
    int32_t *cp = b->cp;
    size_t i, w = 0;
    int pend = 0, letters = 0;
    enum prev_class prev = PREV_NONE, cls;

    for (i = 0; i < b->n; i++) {
        int32_t c = cp[i];
        if (c == 0x20 || c == 0x3000) {
            pend = w > 0;
            continue;
        }
        if (is_cc(c)) {
            *rule = R_CTRL;
            return -1;
        }
        if (is_vs(c) || is_mark(c)) {
            int ok =
                !pend &&
                (is_vs(c) ? prev == PREV_HAN
                          : (c >= 0x300 && c <= 0x36F && prev == PREV_LATIN));
            if (!ok) {
                *rule = R_NAME_MARK;
                return -1;
            }
            cp[w++] = c;
            if (is_vs(c))
                prev = PREV_OTHER;
            continue;
        }
        if (is_dash(c) && c != '-' && c != 0x30FC)
            c = (!pend && prev == PREV_KANA) ? 0x30FC : '-';
        else if (is_apostrophe(c))
            c = '\'';
        if (is_han(c))
            cls = PREV_HAN;
        else if (is_kana(c))
            cls = PREV_KANA;
        else if (is_latin_letter(c))
            cls = PREV_LATIN;
        else if (c == 0x30FB || c == 0x30A0 || c == '.' || c == '-' ||
                 c == '\'')
            cls = PREV_OTHER;
        else if (is_number(c)) {
            *rule = R_NAME_DIGIT;
            return -1;
        } else {
            *rule = R_NAME_CHAR;
            return -1;
        }
        if (pend) {
            cp[w++] = 0x3000;
            pend = 0;
        }
        cp[w++] = c;
        prev = cls;
        letters += cls != PREV_OTHER && c != 0x30FC;
    }
    if (w == 0) {
        *rule = R_EMPTY;
        return -1;
    }
    if (letters == 0) {
        *rule = R_NAME_LETTER;
        return -1;
    }
    b->n = w;
    return 0;
}

#define R_KANA_CHAR                                                            \
    N_("may contain only kana, long vowel marks, middle dots and spaces")
#define R_KANA_LETTER N_("must contain a kana letter")

/* kana: NFKC, hiragana -> katakana, spaces as for name; only katakana, ー,
 * ・, and at least one kana that is not ー; a dash look-alike right after a
 * kana becomes ー. */
static int canon_kana(struct cpbuf *b, const char **rule)
{
    int32_t *cp = b->cp;
    size_t i, w = 0;
    int pend = 0, prev_kana = 0, letters = 0;

    for (i = 0; i < b->n; i++) {
        int32_t c = to_katakana(cp[i]);
        if (c == 0x20 || c == 0x3000) {
            pend = w > 0;
            continue;
        }
        if (is_cc(c)) {
            *rule = R_CTRL;
            return -1;
        }
        if (is_dash(c) && c != 0x30FC) {
            if (pend || !prev_kana) {
                *rule = R_KANA_CHAR;
                return -1;
            }
            c = 0x30FC;
        }
        if (!is_katakana(c) && c != 0x30FB) {
            *rule = R_KANA_CHAR;
            return -1;
        }
        if (pend) {
            cp[w++] = 0x3000;
            pend = 0;
        }
        cp[w++] = c;
        prev_kana = c != 0x30FB;
        letters += c != 0x30FB && c != 0x30FC;
    }
    if (w == 0) {
        *rule = R_EMPTY;
        return -1;
    }
    if (letters == 0) {
        *rule = R_KANA_LETTER;
        return -1;
    }
    b->n = w;
    return 0;
}

#define R_POSTAL_LEN N_("must be 7 digits")
#define R_POSTAL_CHAR                                                          \
    N_("may contain only digits, hyphens, spaces and a leading postal mark")

static int canon_postal(const struct cpbuf *b, char **out, const char **rule)
{
    char digits[8];
    size_t i, count = 0;
    int rc = MAMORI_EINVAL;

    i = skip_spaces(b->cp, b->n, 0);
    if (i < b->n && b->cp[i] == 0x3012) /* 〒 */
        i++;
    for (; i < b->n; i++) {
        int32_t c = b->cp[i];
        if (is_ascii_digit(c)) {
            if (count < 7)
                digits[count] = (char)c;
            count++;
        } else if (!is_space_cp(c) && !is_dash(c)) {
            *rule = R_POSTAL_CHAR;
            goto out;
        }
    }
    if (count != 7) {
        *rule = R_POSTAL_LEN;
        goto out;
    }
    *out = malloc(9);
    if (*out == NULL) {
        rc = MAMORI_ENOMEM;
        goto out;
    }
    memcpy(*out, digits, 3);
    (*out)[3] = '-';
    memcpy(*out + 4, digits + 3, 4);
    (*out)[8] = '\0';
    rc = 0;
out:
    explicit_bzero(digits, sizeof digits);
    return rc;
}

#define PHONE_MAX 15

#define R_PHONE_CHAR                                                           \
    N_("may contain only digits, hyphens, spaces and parentheses")
#define R_PHONE_CC N_("only Japanese numbers (+81) are accepted")
#define R_PHONE_START N_("must start with 0 or +81")
#define R_PHONE_INTL                                                           \
    N_("must not start with 00 (a prefix for calls abroad): give 0... or "     \
       "+81...")
#define R_PHONE_INTL010                                                        \
    N_("must not start with 010 (the prefix for calls abroad): give 0... or "  \
       "+81...")
#define R_PHONE_LEN N_("wrong number of digits for its prefix")

/*
 * Collects the digits of a phone number into digits[0..PHONE_MAX]: a
 * leading +81 becomes 0 (dropping a trunk 0 written after it, as in
 * "+81 (0)3"); anything but digits and separators is an error. *count may
 * exceed PHONE_MAX (digits beyond it are not stored).
 */
static int phone_digits(const struct cpbuf *b, char *digits, size_t *count,
                        const char **rule)
{
    size_t i, n = 0;
    int intl = 0;

    i = skip_spaces(b->cp, b->n, 0);
    if (i < b->n && b->cp[i] == '+') {
        if (i + 2 < b->n && b->cp[i + 1] == '8' && b->cp[i + 2] == '1') {
            intl = 1;
            i += 3;
        } else {
            *rule = R_PHONE_CC;
            return -1;
        }
    }
    if (intl) {
        digits[n++] = '0';
    }
    for (; i < b->n; i++) {
        int32_t c = b->cp[i];
        if (is_ascii_digit(c)) {
            if (intl && n == 1 && c == '0') {
                intl = 0; /* one trunk 0 only */
                continue;
            }
            if (n < PHONE_MAX + 1)
                digits[n] = (char)c;
            n++;
        } else if (!is_space_cp(c) && !is_dash(c) && c != '(' && c != ')' &&
                   c != '.') {
            *rule = R_PHONE_CHAR;
            return -1;
        }
    }
    *count = n;
    return 0;
}

/* Expected length of a Japanese number from its prefix (digits[0] == '0').
 * 0120 is listed although it matches the default, so that the table reads
 * like the numbering plan. */
static size_t phone_expected(const char *d, size_t n)
{
    if (n >= 4 && memcmp(d, "0120", 4) == 0)
        return 10;
    if (n >= 4 && memcmp(d, "0800", 4) == 0)
        return 11;
    if (n >= 3 && d[2] == '0' && (d[1] == '2' || (d[1] >= '5' && d[1] <= '9')))
        return 11; /* 020, 050, 060, 070, 080, 090 */
    return 10;
}

static int canon_phone(const struct cpbuf *b, char **out, const char **rule)
{
    char digits[PHONE_MAX + 2];
    size_t n = 0;
    int rc = MAMORI_EINVAL;

    if (phone_digits(b, digits, &n, rule) != 0)
        goto out;
    if (n == 0 || digits[0] != '0') {
        *rule = R_PHONE_START;
        goto out;
    }
    if (n > 1 && digits[1] == '0') {
        /* (after +81, 00 is a trunk zero too many) */
        size_t k = skip_spaces(b->cp, b->n, 0);
        *rule = k < b->n && b->cp[k] == '+' ? R_PHONE_START : R_PHONE_INTL;
        goto out;
    }
    if (n > 2 && digits[1] == '1' && digits[2] == '0') {
        /* no area code starts with 010 */
        *rule = R_PHONE_INTL010;
        goto out;
    }
    if (n > PHONE_MAX || n != phone_expected(digits, n)) {
        *rule = R_PHONE_LEN;
        goto out;
    }
    *out = malloc(n + 1);
    if (*out == NULL) {
        rc = MAMORI_ENOMEM;
        goto out;
    }
    memcpy(*out, digits, n);
    (*out)[n] = '\0';
    rc = 0;
out:
    explicit_bzero(digits, sizeof digits);
    return rc;
}

#define EMAIL_MAX 254
#define R_EMAIL_ASCII N_("must contain only ASCII characters")
#define R_EMAIL_SPACE N_("must not contain spaces")
#define R_EMAIL_AT N_("must contain exactly one @")
#define R_EMAIL_LOCAL_EMPTY N_("local part is empty")
#define R_EMAIL_LOCAL_LONG N_("local part is longer than 64 bytes")
#define R_EMAIL_LOCAL_CHAR                                                     \
    N_("local part contains a character that is not allowed")
#define R_EMAIL_DOT N_("domain must contain a dot")
#define R_EMAIL_LABEL N_("domain has an empty or over-long label")
#define R_EMAIL_DOMAIN_CHAR                                                    \
    N_("domain may contain only a-z, 0-9, hyphens and dots")
#define R_EMAIL_HYPHEN N_("domain label must not start or end with a hyphen")
#define R_EMAIL_LONG N_("longer than 254 bytes")

static int email_local_char(int32_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           is_ascii_digit(c) || (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~.", c));
}

/*
 * email: local@domain, local part of RFC 5322 atext and dots (dots are not
 * checked further: old Japanese mobile addresses have "..", and ".@"),
 * domain of LDH labels, lower-cased, at least one dot.
 */
static int canon_email(struct cpbuf *b, const char **rule)
{
    int32_t *cp = b->cp;
    size_t s, e, i, at = 0, ats = 0, label = 0, labels = 1;

    for (s = 0; s < b->n && is_space_cp(cp[s]); s++)
        ;
    for (e = b->n; e > s && is_space_cp(cp[e - 1]); e--)
        ;
    if (s == e) {
        *rule = R_EMPTY;
        return -1;
    }
    for (i = s; i < e; i++) {
        if (is_space_cp(cp[i])) {
            *rule = R_EMAIL_SPACE;
            return -1;
        }
        if (cp[i] < 0x21 || cp[i] > 0x7E) {
            *rule = is_cc(cp[i]) ? R_CTRL : R_EMAIL_ASCII;
            return -1;
        }
        if (cp[i] == '@') {
            at = i;
            ats++;
        }
    }
    if (e - s > EMAIL_MAX) {
        *rule = R_EMAIL_LONG;
        return -1;
    }
    if (ats != 1) {
        *rule = R_EMAIL_AT;
        return -1;
    }
    if (at == s) {
        *rule = R_EMAIL_LOCAL_EMPTY;
        return -1;
    }
    if (at - s > 64) {
        *rule = R_EMAIL_LOCAL_LONG;
        return -1;
    }
    for (i = s; i < at; i++) {
        if (!email_local_char(cp[i])) {
            *rule = R_EMAIL_LOCAL_CHAR;
            return -1;
        }
    }
    for (i = at + 1; i <= e; i++) {
        int32_t c = i < e ? cp[i] : '.';
        if (c >= 'A' && c <= 'Z') {
            c += 'a' - 'A';
            cp[i] = c;
        }
        if (c == '.') {
            if (label == 0 || label > 63) {
                *rule = R_EMAIL_LABEL;
                return -1;
            }
            if (cp[i - 1] == '-' || cp[i - label] == '-') {
                *rule = R_EMAIL_HYPHEN;
                return -1;
            }
            if (i < e)
                labels++;
            label = 0;
        } else if ((c >= 'a' && c <= 'z') || is_ascii_digit(c) || c == '-') {
            label++;
        } else {
            *rule = R_EMAIL_DOMAIN_CHAR;
            return -1;
        }
    }
    if (labels < 2) {
        *rule = R_EMAIL_DOT;
        return -1;
    }
    if (s > 0)
        memmove(cp, cp + s, (e - s) * sizeof *cp);
    b->n = e - s;
    return 0;
}

#define R_MYNUMBER_LEN N_("must be 12 digits")
#define R_CORPNUMBER_LEN N_("must be 13 digits")
#define R_NUMBER_CHAR N_("may contain only digits, spaces and hyphens")
#define R_CHECK_DIGIT N_("check digit does not match")

static int canon_number(const struct cpbuf *b, size_t want, char **out,
                        const char **rule)
{
    char digits[14];
    size_t i, count = 0;
    int rc = MAMORI_EINVAL, ok;

    for (i = 0; i < b->n; i++) {
        int32_t c = b->cp[i];
        if (is_ascii_digit(c)) {
            if (count < want)
                digits[count] = (char)c;
            count++;
        } else if (!is_space_cp(c) && !is_dash(c)) {
            *rule = R_NUMBER_CHAR;
            goto out;
        }
    }
    if (count != want) {
        *rule = want == 12 ? R_MYNUMBER_LEN : R_CORPNUMBER_LEN;
        goto out;
    }
    digits[want] = '\0';
    ok = want == 12 ? text_mynumber_valid(digits)
                    : text_corpnumber_valid(digits);
    if (!ok) {
        *rule = R_CHECK_DIGIT;
        goto out;
    }
    *out = malloc(want + 1);
    if (*out == NULL) {
        rc = MAMORI_ENOMEM;
        goto out;
    }
    memcpy(*out, digits, want + 1);
    rc = 0;
out:
    explicit_bzero(digits, sizeof digits);
    return rc;
}

/* "YYYY-MM-DD" for a date date_parse_cps accepted. */
static int format_date(int y, int m, int d, char **out)
{
    char *s = malloc(11);

    if (s == NULL)
        return MAMORI_ENOMEM;
    s[0] = (char)('0' + y / 1000 % 10);
    s[1] = (char)('0' + y / 100 % 10);
    s[2] = (char)('0' + y / 10 % 10);
    s[3] = (char)('0' + y % 10);
    s[4] = '-';
    s[5] = (char)('0' + m / 10 % 10);
    s[6] = (char)('0' + m % 10);
    s[7] = '-';
    s[8] = (char)('0' + d / 10 % 10);
    s[9] = (char)('0' + d % 10);
    s[10] = '\0';
    *out = s;
    return 0;
}

int text_canonical(enum field_type t, const char *in, size_t len, char **out,
                   const char **rule)
{
    struct cpbuf b;
    const char *dummy = NULL;
    const char **r = rule != NULL ? rule : &dummy;
    const char *bad;
    int32_t *start;
    size_t count;
    int rc = MAMORI_EINVAL, y, m, d;

    cpbuf_init(&b);
    *r = NULL;
    if (out != NULL)
        *out = NULL;
    if (out == NULL || (in == NULL && len > 0)) {
        *r = R_ARG;
        return MAMORI_EINVAL;
    }
    if ((int)t < 0 || t >= FT_COUNT) {
        *r = R_TYPE;
        goto out;
    }
    if (len > TEXT_MAX_VALUE) {
        *r = R_LONG;
        goto out;
    }
    if (!text_utf8_valid(in, len)) {
        *r = R_UTF8;
        goto out;
    }
    rc = cpbuf_normalise(
        &b, in, len, (t == FT_TEXT || t == FT_ADDRESS) ? NFC_OPTS : NFKC_OPTS,
        t == FT_KANA   ? PREMAP_KATAKANA
        : t == FT_NAME ? PREMAP_MARKS
                       : PREMAP_NONE);
    if (rc != 0) {
        *r = rc == MAMORI_ENOMEM ? R_NOMEM : R_UTF8;
        goto out;
    }
    rc = MAMORI_EINVAL;
    if ((bad = bad_char(t, b.cp, b.n)) != NULL) {
        *r = bad;
        goto out;
    }
    start = b.cp;
    switch (t) {
    case FT_TEXT:
    case FT_ADDRESS:
        if (canon_text(&b, t == FT_TEXT, &start, &count, r) != 0)
            goto out;
        b.n = count;
        break;
    case FT_NAME:
        if (canon_name(&b, r) != 0)
            goto out;
        break;
    case FT_KANA:
        if (canon_kana(&b, r) != 0)
            goto out;
        break;
    case FT_EMAIL:
        if (canon_email(&b, r) != 0)
            goto out;
        break;
    case FT_DATE:
        if (date_parse_cps(b.cp, b.n, &y, &m, &d, r) != 0)
            goto out;
        rc = format_date(y, m, d, out);
        goto out;
    case FT_POSTAL:
        rc = canon_postal(&b, out, r);
        goto out;
    case FT_PHONE:
        rc = canon_phone(&b, out, r);
        goto out;
    case FT_MYNUMBER:
        rc = canon_number(&b, 12, out, r);
        goto out;
    case FT_CORPNUMBER:
        rc = canon_number(&b, 13, out, r);
        goto out;
    default:
        *r = R_TYPE;
        goto out;
    }
    rc = utf8_encode(start, b.n, TEXT_MAX_VALUE, out);
    if (rc == MAMORI_EINVAL)
        *r = R_LONG_NORM;
out:
    if (rc == MAMORI_ENOMEM)
        *r = R_NOMEM;
    cpbuf_release(&b);
    return rc;
}

int text_date_parse(const char *in, size_t len, int *y, int *m, int *d,
                    const char **rule)
{
    struct cpbuf b;
    const char *dummy = NULL;
    const char **r = rule != NULL ? rule : &dummy;
    const char *bad;
    int yy, mm, dd, rc = MAMORI_EINVAL;

    cpbuf_init(&b);
    *r = NULL;
    if (y == NULL || m == NULL || d == NULL || (in == NULL && len > 0)) {
        *r = R_ARG;
        goto out;
    }
    if (len > TEXT_MAX_VALUE) {
        *r = R_LONG;
        goto out;
    }
    if (!text_utf8_valid(in, len)) {
        *r = R_UTF8;
        goto out;
    }
    /* text.h promises -1 for every failure here, out of memory included. */
    rc = cpbuf_normalise(&b, in, len, NFKC_OPTS, PREMAP_NONE);
    if (rc != 0) {
        *r = rc == MAMORI_ENOMEM ? R_NOMEM : R_UTF8;
        rc = MAMORI_EINVAL;
        goto out;
    }
    rc = MAMORI_EINVAL;
    if ((bad = bad_char(FT_DATE, b.cp, b.n)) != NULL) {
        *r = bad;
        goto out;
    }
    if (date_parse_cps(b.cp, b.n, &yy, &mm, &dd, r) != 0)
        goto out;
    *y = yy;
    *m = mm;
    *d = dd;
    rc = 0;
out:
    cpbuf_release(&b);
    return rc;
}

/* ---- search keys ---------------------------------------------------------*/

enum key_flags {
    KEY_KATAKANA = 1 << 0, /* hiragana -> katakana */
    KEY_NO_DOT = 1 << 1,   /* drop ・ and ゠ (name separators) */
    KEY_KANJI = 1 << 2,    /* fold variant kanji and small ヶ ヵ */
};

/*
 * In place over NFKC-casefolded code points: drops white space and control
 * characters; a dash look-alike becomes ー right after a kana (ignoring the
 * dropped spaces) and "-" elsewhere; wave dashes become "~", typographic
 * apostrophes '.
 */
static void key_fold(struct cpbuf *b, unsigned flags)
{
    int32_t *cp = b->cp;
    size_t i, w = 0;

    for (i = 0; i < b->n; i++) {
        int32_t c = cp[i];
        if (flags & KEY_KATAKANA)
            c = to_katakana(c);
        if (is_space_cp(c) || is_cc(c))
            continue;
        if ((flags & KEY_NO_DOT) && (c == 0x30FB || c == 0x30A0))
            continue;
        if (is_dash(c))
            c = (w > 0 && is_kana(cp[w - 1])) ? 0x30FC : '-';
        else if (is_wave(c))
            c = '~';
        else if (is_apostrophe(c))
            c = '\'';
        else if (flags & KEY_KANJI)
            c = fold_kanji(c);
        cp[w++] = c;
    }
    b->n = w;
}

/* Keeps only ASCII digits (phone: with +81 -> 0). */
static void key_digits(struct cpbuf *b, int phone)
{
    int32_t *cp = b->cp;
    size_t i, w = 0, first;
    int intl = 0;

    if (phone) {
        first = skip_spaces(cp, b->n, 0);
        if (first + 2 < b->n && cp[first] == '+' && cp[first + 1] == '8' &&
            cp[first + 2] == '1') {
            intl = 1;
            cp[w++] = '0';
            i = first + 3;
        } else {
            i = 0;
        }
    } else {
        i = 0;
    }
    for (; i < b->n; i++) {
        int32_t c = cp[i];
        if (!is_ascii_digit(c))
            continue;
        if (intl && w == 1 && c == '0') {
            intl = 0; /* one trunk 0 only */
            continue;
        }
        cp[w++] = c;
    }
    b->n = w;
}

int text_search_key(enum field_type t, const char *in, size_t len, char **out)
{
    struct cpbuf b;
    int rc = MAMORI_EINVAL, y, m, d;
    const char *rule;
    unsigned flags = 0;

    cpbuf_init(&b);
    if (out != NULL)
        *out = NULL;
    if (out == NULL || (in == NULL && len > 0))
        return MAMORI_EINVAL;
    if ((int)t < 0 || t >= FT_COUNT || len > TEXT_MAX_VALUE ||
        !text_utf8_valid(in, len))
        goto out;
    switch (t) {
    case FT_PHONE:
    case FT_POSTAL:
    case FT_MYNUMBER:
    case FT_CORPNUMBER:
        rc = cpbuf_normalise(&b, in, len, NFKC_OPTS, PREMAP_NONE);
        if (rc != 0)
            goto out;
        key_digits(&b, t == FT_PHONE);
        break;
    case FT_DATE:
        rc = cpbuf_normalise(&b, in, len, NFKC_OPTS, PREMAP_NONE);
        if (rc != 0)
            goto out;
        if (date_parse_cps(b.cp, b.n, &y, &m, &d, &rule) == 0) {
            rc = format_date(y, m, d, out);
            goto out;
        }
        /* Not a date: fold it like text; it matches no date's key. */
        rc = cpbuf_normalise(&b, in, len, KEY_OPTS, PREMAP_NONE);
        if (rc != 0)
            goto out;
        key_fold(&b, 0);
        break;
    case FT_NAME:
        flags = KEY_KATAKANA | KEY_NO_DOT | KEY_KANJI;
        goto fold;
    case FT_KANA:
        flags = KEY_KATAKANA | KEY_NO_DOT;
        goto fold;
    case FT_ADDRESS:
        flags = KEY_KANJI;
        goto fold;
    default: /* FT_TEXT, FT_EMAIL */
    fold:
        rc = cpbuf_normalise(&b, in, len, KEY_OPTS,
                             (flags & KEY_KATAKANA) ? PREMAP_KATAKANA
                                                    : PREMAP_MARKS);
        if (rc != 0)
            goto out;
        key_fold(&b, flags);
        break;
    }
    rc = utf8_encode(b.cp, b.n, SIZE_MAX - 1, out);
out:
    cpbuf_release(&b);
    return rc;
}
