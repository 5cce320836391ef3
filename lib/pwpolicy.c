/*
 * pwpolicy.c - password rules. See pwpolicy.h.
 *
 * The checks, in the order a password meets them (the first broken rule is
 * the one reported):
 *
 *  1. Form: valid UTF-8, at most 1024 bytes, no control character (Unicode
 *     category Cc: U+0000-U+001F, U+007F-U+009F; NUL included).
 *  2. Length in code points: requirements profile min_length (default 10,
 *     floor 8); NIST 15, or 8 with MFA. 1024 bytes leaves room for at least
 *     256 code points of any script, above NIST's "at least 64".
 *  3. Requirements profile only: one each of A-Z, a-z, 0-9 and a symbol.
 *     Kept simple: full-width ASCII (U+FF01-U+FF5E) counts as its ASCII
 *     counterpart (what NFKC does to it); any other character that is not a
 *     space (category Zs) counts as a symbol, kana and kanji included. The
 *     NIST profile has no composition rule.
 *  4. The current password, when given: refused if identical, equal after
 *     folding case, within edit distance 3, or equal once the leading and
 *     trailing runs of digits and symbols are removed (Password1! ->
 *     Password2!, 2023Spring -> Spring!!).
 *  5. The user name (>= 3 code points), case-insensitively, forwards or
 *     reversed, also after leetspeak folding of both.
 *  6. Shapes: a character repeated 5 times in a row; a sequence of 5 code
 *     points each one up or one down from the last (abcde, 54321); a
 *     password whose core (below) is only runs of 3 or more such characters
 *     (Abcd1234!!); a whole password that is one unit repeated, the last
 *     copy possibly cut short (Aa1!Aa1!Aa).
 *  7. Our list (k_common): keyboard walks, words at the top of leaked-
 *     password lists, and Japanese office and everyday words in romaji and
 *     kana. A password is "common" if one of its candidate forms is a word
 *     of the list or a concatenation of them (adminadmin, qwertyasdf).
 *  8. The dictionary: the candidate forms looked up in cracklib's
 *     dictionary, then cracklib's own FascistCheckUser() on the password.
 *
 * Folding and candidate forms. Every code point is folded one to one:
 * full-width ASCII to ASCII, U+3000 to a space, then lower case (utf8proc's
 * simple mapping). One to one, so positions and lengths survive folding.
 * The candidates are the folded password (a) as is, (b) without its
 * leading and trailing symbols, (c) without its leading and trailing digits
 * and symbols (the "core": P@ssw0rd1! -> p@ssw0rd), (d) as (c) after
 * reading @ as a and $ as s first (@dmin123 -> admin); each of them plain
 * and with leetspeak folded (@ 4 -> a, 0 -> o, 1 -> i or l, ! -> i,
 * | -> l, 3 -> e, $ 5 -> s, 7 -> t), forwards and reversed. Padding is
 * stripped without regard to its own strength: "password" followed by 10
 * random digits is refused; such passwords are rare and the message says
 * why.
 *
 * cracklib. FascistCheck() is not thread-safe (PWOpen() keeps the open
 * dictionary in a static, Mangle() a static buffer, GetPW() a static
 * block cache), so every cracklib call here runs under g_crack_lock; no
 * other code in libmamori may call cracklib. FascistCheck() without a user
 * compares with the gecos entry of the process's own Unix user (and fails
 * when that user has no passwd entry, as in containers): we call
 * FascistCheckUser() with the account name and an empty gecos instead.
 *
 * FascistLookUser() applies its rules in a fixed order and stops at the
 * first that fires: shorter than 6 bytes, fewer than 5 different bytes,
 * all whitespace, "too simplistic/systematic" (too many neighbouring bytes
 * one apart), a UK National Insurance number shape, the user name, and only
 * then the dictionary: every rule of its mangling table (trim ends, purge
 * punctuation, undo leetspeak...) looked up forwards and reversed. Two
 * consequences:
 *  - The NIST profile must not apply the composition-like rules, so there
 *    we use only the dictionary and user-name verdicts. But a password such
 *    as "mississippi" gets "not enough DIFFERENT characters" and is never
 *    looked up at all. So we also look our own candidate forms up in the
 *    same dictionary directly (PWOpen/FindPW, cracklib's public packer.h
 *    interface), whatever the profile, before calling FascistCheckUser().
 *    FindPW() returns the word count for a miss, which packer.h does not
 *    expose to us; we learn it by looking up "\x7f", which no dictionary
 *    built by cracklib-format contains.
 *  - Those early rules count bytes, and the UTF-8 of Japanese text has many
 *    neighbouring bytes one apart, so they misjudge it. The requirements
 *    profile therefore applies all of cracklib's verdicts to passwords that
 *    are ASCII after width folding, and only the dictionary and user-name
 *    verdicts to others. Any verdict we do not recognise refuses the
 *    password in both profiles (fail closed).
 * cracklib's messages are translated (dgettext "cracklib", a Japanese
 * catalog is installed): a verdict is matched against both the English
 * text and its translation. cracklib looks at the first 255 bytes only;
 * our own checks see the whole password.
 *
 * The dictionary path is the policy's, or GetDefaultCracklibDict(). If its
 * files are missing or PWOpen() fails, a password that passes every other
 * rule is refused with MAMORI_EIO ("password dictionary missing"): an
 * install without the dictionary must not quietly accept dictionary words.
 * We test for the files first because PWOpen() prints to stderr on
 * failure. A check costs about 3 ms, nearly all of it cracklib's look-ups.
 *
 * Secrets: all the password's working copies (code points, folded forms,
 * candidates) are in one crypto_secret_alloc() block, wiped when freed.
 * cracklib copies the password to its own stack and static buffers and
 * does not wipe them; that cannot be helped short of replacing it.
 */
#include <limits.h>
#include <libintl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <crack.h>
#include <packer.h>
#include <utf8proc.h>

#include "crypto.h"
#include "i18n.h"
#include "mamori.h"
#include "pwpolicy.h"
#include "text.h"
#include "banned.h"

#define PWP_MAX PWPOLICY_MAX_BYTES
#define UTF8_CAP (4 * PWP_MAX + 1)
#define N_BASES 4
#define N_VARIANTS 3
#define N_CAND (N_BASES * N_VARIANTS * 2)
/* Dictionary words are at most MAXWORDLEN - 1 bytes; shorter than 4 a
 * match says little (and "a", "ab"... are in the dictionary). */
#define DICT_WORD_MIN 4
#define DICT_WORD_MAX (MAXWORDLEN - 1)
#define SIMILAR_EDITS 3
#define MAX_SAME 4 /* longest allowed run of one character */
#define MAX_STEP 4 /* longest allowed run of +1 or -1 steps */

/* ---- rule texts ---------------------------------------------------------- */

static const char R_NO_POLICY[] = N_("no password policy");
static const char R_BAD_POLICY[] = N_("invalid password policy");
static const char R_NO_PASSWORD[] = N_("password missing");
static const char R_TOO_LONG[] = N_("longer than 1024 bytes");
static const char R_NOT_UTF8[] = N_("not valid UTF-8");
static const char R_CONTROL[] = N_("contains a control character");
static const char R_UPPER[] = N_("needs an upper-case letter");
static const char R_LOWER[] = N_("needs a lower-case letter");
static const char R_DIGIT[] = N_("needs a digit");
static const char R_SYMBOL[] = N_("needs a symbol");
static const char R_OLD_TOO_LONG[] =
    N_("current password longer than 1024 bytes");
static const char R_OLD_NOT_UTF8[] = N_("current password not valid UTF-8");
static const char R_SAME[] = N_("same as the current password");
static const char R_SIMILAR[] = N_("too similar to the current password");
static const char R_USER_TOO_LONG[] = N_("user name longer than 1024 bytes");
static const char R_USER_NOT_UTF8[] = N_("user name not valid UTF-8");
static const char R_USER[] = N_("contains the user name");
static const char R_REPEAT[] = N_("repeats a character more than 4 times");
static const char R_SEQUENCE[] =
    N_("contains a sequence of 5 characters, like abcde or 54321");
static const char R_RUNS[] = N_("is made of sequences or repeated characters");
static const char R_PATTERN[] = N_("repeats a pattern");
static const char R_COMMON[] = N_("is a common password");
static const char R_DICT[] = N_("is based on a dictionary word");
static const char R_FEW_CHARS[] =
    N_("does not contain enough different characters");
static const char R_SYSTEMATIC[] = N_("is too simplistic or systematic");
static const char R_SIMPLE[] = N_("is too simple");
static const char R_CHECKER[] = N_("refused by the password checker");
static const char R_DICT_MISSING[] = N_("password dictionary missing");
static const char R_NOMEM[] = N_("out of memory");

/* "shorter than N characters" for every minimum a policy can have. */
#define SHORT(n) "shorter than " #n " characters"
static const char *const k_short[] = {
    SHORT(8),  SHORT(9),  SHORT(10), SHORT(11), SHORT(12), SHORT(13), SHORT(14),
    SHORT(15), SHORT(16), SHORT(17), SHORT(18), SHORT(19), SHORT(20), SHORT(21),
    SHORT(22), SHORT(23), SHORT(24), SHORT(25), SHORT(26), SHORT(27), SHORT(28),
    SHORT(29), SHORT(30), SHORT(31), SHORT(32), SHORT(33), SHORT(34), SHORT(35),
    SHORT(36), SHORT(37), SHORT(38), SHORT(39), SHORT(40), SHORT(41), SHORT(42),
    SHORT(43), SHORT(44), SHORT(45), SHORT(46), SHORT(47), SHORT(48), SHORT(49),
    SHORT(50), SHORT(51), SHORT(52), SHORT(53), SHORT(54), SHORT(55), SHORT(56),
    SHORT(57), SHORT(58), SHORT(59), SHORT(60), SHORT(61), SHORT(62), SHORT(63),
    SHORT(64),
};
#undef SHORT
_Static_assert(sizeof k_short / sizeof *k_short ==
                   PWPOLICY_CEIL_MIN - PWPOLICY_FLOOR_MIN + 1,
               "one text per possible minimum");

int pwpolicy_rule_min(const char *rule)
{
    for (size_t i = 0; rule && i < sizeof k_short / sizeof *k_short; i++)
        if (rule == k_short[i])
            return PWPOLICY_FLOOR_MIN + (int)i;
    return 0;
}

/* ---- our list -------------------------------------------------------------
 * Lower case, already folded; at least 4 bytes (3 kana/kanji). Compared
 * with whole candidate forms, alone or concatenated, so a short entry does
 * not refuse a long password that merely contains it. */
static const char *const k_common[] = {
    /* keyboard walks (QWERTY, also JIS), number pad; reversed forms are
     * found by the reversed candidates */
    "qwer",
    "qwert",
    "qwerty",
    "qwertyu",
    "qwertyui",
    "qwertyuiop",
    "asdf",
    "asdfg",
    "asdfgh",
    "asdfghj",
    "asdfghjk",
    "asdfghjkl",
    "zxcv",
    "zxcvb",
    "zxcvbn",
    "zxcvbnm",
    "qazwsx",
    "qazwsxedc",
    "qazxsw",
    "wsxedc",
    "1qaz2wsx",
    "1qaz2wsx3edc",
    "qaz2wsx",
    "zaq12wsx",
    "zaq1xsw2",
    "!qaz@wsx",
    "!qaz2wsx",
    "1q2w3e",
    "1q2w3e4r",
    "1q2w3e4r5t",
    "q1w2e3r4",
    "qweasd",
    "qweasdzxc",
    "asdzxc",
    "qwertz",
    "azerty",
    "147258369",
    "159357",
    "741852963",
    "789456123",
    "963852741",
    /* English words high in leaked-password lists */
    "password",
    "passwd",
    "passcode",
    "pass",
    "letmein",
    "welcome",
    "admin",
    "administrator",
    "root",
    "user",
    "guest",
    "test",
    "testing",
    "login",
    "logon",
    "master",
    "secret",
    "changeme",
    "change",
    "default",
    "iloveyou",
    "love",
    "monkey",
    "dragon",
    "football",
    "baseball",
    "soccer",
    "sunshine",
    "princess",
    "shadow",
    "superman",
    "batman",
    "trustno",
    "hello",
    "freedom",
    "whatever",
    "starwars",
    "computer",
    "internet",
    "summer",
    "winter",
    "spring",
    "autumn",
    "system",
    "server",
    "manager",
    "company",
    "office",
    "access",
    "private",
    "security",
    "temp",
    "money",
    /* Japanese: the password itself, places, greetings, culture */
    "pasuwado",
    "pasuwaado",
    "pasuwa-do",
    "himitsu",
    "himitu",
    "nihon",
    "nippon",
    "japan",
    "tokyo",
    "osaka",
    "kyoto",
    "yokohama",
    "nagoya",
    "sapporo",
    "fukuoka",
    "kobe",
    "sakura",
    "fujisan",
    "konnichiwa",
    "konnichiha",
    "arigato",
    "arigatou",
    "ohayo",
    "ohayou",
    "sayonara",
    "daisuki",
    "aishiteru",
    "kawaii",
    "ganbare",
    "ganbatte",
    "doraemon",
    "pikachu",
    "totoro",
    "naruto",
    "gundam",
    "haru",
    "natsu",
    "fuyu",
    /* Japanese office words */
    "kaisha",
    "kaisya",
    "shain",
    "syain",
    "jimu",
    "jimusho",
    "jimusyo",
    "soumu",
    "somu",
    "jinji",
    "keiri",
    "eigyo",
    "eigyou",
    "shacho",
    "shachou",
    "syacho",
    "syachou",
    "bucho",
    "buchou",
    "kacho",
    "kachou",
    "kanri",
    "kanrisha",
    "kanrisya",
    "tantou",
    "tantousha",
    "daihyo",
    "daihyou",
    "honsha",
    "honsya",
    "shisha",
    "shigoto",
    "kaigi",
    "uketsuke",
    "mainanba",
    "mynumber",
    "kojinjoho",
    "kojinjouhou",
    "mamori",
    /* the commonest family names, and the textbook given names */
    "satou",
    "sato",
    "suzuki",
    "takahashi",
    "tanaka",
    "watanabe",
    "yamamoto",
    "nakamura",
    "kobayashi",
    "yamada",
    "taro",
    "tarou",
    "hanako",
    /* in kana and kanji */
    "パスワード",
    "ぱすわーど",
    "ひみつ",
    "秘密",
    "管理者",
    "あいうえお",
    "いろはにほへと",
};

static pthread_mutex_t g_crack_lock = PTHREAD_MUTEX_INITIALIZER;

/* Everything derived from the password, in one guarded block. */
struct work {
    uint32_t pw[PWP_MAX];   /* the password's code points */
    uint32_t f[PWP_MAX];    /* folded */
    uint32_t base[PWP_MAX]; /* a stripped form of f */
    uint32_t var[PWP_MAX];  /* a candidate; cracklib's input */
    uint32_t u[PWP_MAX];    /* folded user name */
    uint32_t uvar[PWP_MAX]; /* a form of the user name */
    uint32_t old[PWP_MAX];  /* folded current password */
    unsigned row[2][PWP_MAX + 1];
    unsigned char reach[UTF8_CAP];
    char utf8[UTF8_CAP];
    char dict[N_CAND][DICT_WORD_MAX + 1]; /* forms for the dictionary */
    size_t ndict;
};

/* ---- code points ----------------------------------------------------------
 */

/* Decodes UTF-8 already checked by text_utf8_valid(); returns the number of
 * code points (<= len). */
static size_t utf8_decode(const char *s, size_t len, uint32_t *out)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, n = 0;

    while (i < len) {
        uint32_t c = u[i];
        size_t k = 1;
        if (c >= 0xF0) {
            c &= 0x07;
            k = 4;
        } else if (c >= 0xE0) {
            c &= 0x0F;
            k = 3;
        } else if (c >= 0xC0) {
            c &= 0x1F;
            k = 2;
        }
        for (size_t j = 1; j < k; j++)
            c = (c << 6) | (u[i + j] & 0x3Fu);
        out[n++] = c;
        i += k;
    }
    return n;
}

/* Encodes n code points (n <= PWP_MAX) into out (UTF8_CAP bytes),
 * NUL-terminated; returns the byte length. */
static size_t utf8_encode(const uint32_t *cp, size_t n, char *out)
{
    unsigned char *o = (unsigned char *)out;
    size_t k = 0;

    for (size_t i = 0; i < n; i++) {
        uint32_t c = cp[i];
        if (c < 0x80) {
            o[k++] = (unsigned char)c;
        } else if (c < 0x800) {
            o[k++] = (unsigned char)(0xC0 | (c >> 6));
            o[k++] = (unsigned char)(0x80 | (c & 0x3F));
        } else if (c < 0x10000) {
            o[k++] = (unsigned char)(0xE0 | (c >> 12));
            o[k++] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
            o[k++] = (unsigned char)(0x80 | (c & 0x3F));
        } else {
            o[k++] = (unsigned char)(0xF0 | (c >> 18));
            o[k++] = (unsigned char)(0x80 | ((c >> 12) & 0x3F));
            o[k++] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
            o[k++] = (unsigned char)(0x80 | (c & 0x3F));
        }
    }
    o[k] = '\0';
    return k;
}

/* Full-width ASCII and the ideographic space to ASCII (NFKC's effect on
 * them, without the rest of NFKC, so one code point stays one). */
static uint32_t fold_width(uint32_t c)
{
    if (c >= 0xFF01 && c <= 0xFF5E)
        return c - 0xFEE0;
    if (c == 0x3000)
        return ' ';
    return c;
}

static uint32_t fold(uint32_t c)
{
    c = fold_width(c);
    if (c < 0x80)
        return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
    return (uint32_t)utf8proc_tolower((utf8proc_int32_t)c);
}

static int is_space(uint32_t c)
{
    return c == ' ' ||
           utf8proc_category((utf8proc_int32_t)c) == UTF8PROC_CATEGORY_ZS;
}

/* On folded text: ASCII that is not a letter (digits, symbols, space). */
static int is_pad(uint32_t c)
{
    return c < 0x80 && !(c >= 'a' && c <= 'z');
}

/* On folded text: ASCII that is neither a letter nor a digit. */
static int is_sym_pad(uint32_t c)
{
    return is_pad(c) && !(c >= '0' && c <= '9');
}

static uint32_t symleet(uint32_t c)
{
    return c == '@' ? 'a' : c == '$' ? 's' : c;
}

static int is_symleet_pad(uint32_t c)
{
    return is_pad(symleet(c));
}

/* Variant 0: as is; 1: leetspeak read back with 1 -> i; 2: with 1 -> l. */
static uint32_t leet(uint32_t c, int variant)
{
    if (variant == 0)
        return c;
    switch (c) {
    case '@':
    case '4':
        return 'a';
    case '0':
        return 'o';
    case '1':
        return variant == 1 ? 'i' : 'l';
    case '!':
        return 'i';
    case '|':
        return 'l';
    case '3':
        return 'e';
    case '$':
    case '5':
        return 's';
    case '7':
        return 't';
    default:
        return c;
    }
}

/* The bounds [*a, *b) of s without its leading and trailing pad(). */
static void trim(const uint32_t *s, size_t n, int (*pad)(uint32_t), size_t *a,
                 size_t *b)
{
    size_t i = 0, j = n;
    while (i < j && pad(s[i]))
        i++;
    while (j > i && pad(s[j - 1]))
        j--;
    *a = i;
    *b = j;
}

/* 1 if needle (m > 0) occurs in hay. */
static int contains(const uint32_t *hay, size_t n, const uint32_t *needle,
                    size_t m)
{
    if (m == 0 || m > n)
        return 0;
    for (size_t i = 0; i + m <= n; i++)
        if (hay[i] == needle[0] &&
            memcmp(hay + i, needle, m * sizeof *needle) == 0)
            return 1;
    return 0;
}

/* ---- the rules ------------------------------------------------------------
 */

/* The minimum length for p, or -1 if the policy is invalid. */
static int policy_min(const struct pw_policy *p)
{
    if (p->profile == PW_PROFILE_NIST)
        return p->has_mfa ? PWPOLICY_NIST_MIN_MFA : PWPOLICY_NIST_MIN;
    if (p->profile != PW_PROFILE_REQUIREMENTS)
        return -1;
    if (p->min_length < 0 || p->min_length > PWPOLICY_CEIL_MIN)
        return -1;
    if (p->min_length == 0)
        return PWPOLICY_DEFAULT_MIN;
    if (p->min_length < PWPOLICY_FLOOR_MIN)
        return PWPOLICY_FLOOR_MIN;
    return p->min_length;
}

static const char *check_chars(const uint32_t *cp, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (cp[i] < 0x20 || (cp[i] >= 0x7F && cp[i] <= 0x9F))
            return R_CONTROL;
    return NULL;
}

static const char *check_classes(const uint32_t *cp, size_t n)
{
    int upper = 0, lower = 0, digit = 0, symbol = 0;

    for (size_t i = 0; i < n; i++) {
        uint32_t c = fold_width(cp[i]);
        if (c >= 'A' && c <= 'Z')
            upper = 1;
        else if (c >= 'a' && c <= 'z')
            lower = 1;
        else if (c >= '0' && c <= '9')
            digit = 1;
        else if (!is_space(c))
            symbol = 1;
    }
    if (!upper)
        return R_UPPER;
    if (!lower)
        return R_LOWER;
    if (!digit)
        return R_DIGIT;
    if (!symbol)
        return R_SYMBOL;
    return NULL;
}

/* 1 if the edit (Levenshtein) distance of a and b is <= k. Only the band
 * |i - j| <= k of the table is computed; cells outside count as k + 1. */
static int within_edits(const uint32_t *a, size_t n, const uint32_t *b,
                        size_t m, unsigned k, unsigned (*row)[PWP_MAX + 1])
{
    unsigned *prev = row[0], *cur = row[1], *t;
    size_t plo = 0, phi = m < k ? m : k;

    if ((n > m ? n - m : m - n) > k)
        return 0;
    for (size_t j = 0; j <= phi; j++)
        prev[j] = (unsigned)j;
    for (size_t i = 1; i <= n; i++) {
        size_t lo = i > k ? i - k : 0;
        size_t hi = m < i + k ? m : i + k;
        unsigned best = k + 1;
        for (size_t j = lo; j <= hi; j++) {
            unsigned up = j >= plo && j <= phi ? prev[j] : k + 1;
            unsigned v = up + 1;
            if (j == 0) {
                v = i < k + 1 ? (unsigned)i : k + 1;
            } else {
                unsigned left = j - 1 >= lo ? cur[j - 1] : k + 1;
                unsigned diag =
                    j - 1 >= plo && j - 1 <= phi ? prev[j - 1] : k + 1;
                diag += a[i - 1] != b[j - 1];
                if (left + 1 < v)
                    v = left + 1;
                if (diag < v)
                    v = diag;
            }
            if (v > k + 1)
                v = k + 1;
            cur[j] = v;
            if (v < best)
                best = v;
        }
        if (best > k)
            return 0;
        t = prev;
        prev = cur;
        cur = t;
        plo = lo;
        phi = hi;
    }
    return m >= plo && m <= phi && prev[m] <= k;
}

static const char *check_old(struct work *w, size_t n, const char *pw,
                             size_t len, const char *old, size_t oldlen)
{
    size_t on, a, b, oa, ob;

    if (oldlen == len && crypto_equal(pw, old, len))
        return R_SAME;
    on = utf8_decode(old, oldlen, w->old);
    for (size_t i = 0; i < on; i++)
        w->old[i] = fold(w->old[i]);
    if (within_edits(w->f, n, w->old, on, SIMILAR_EDITS, w->row))
        return R_SIMILAR;
    trim(w->f, n, is_pad, &a, &b);
    trim(w->old, on, is_pad, &oa, &ob);
    if (b > a && b - a == ob - oa &&
        memcmp(w->f + a, w->old + oa, (b - a) * sizeof *w->f) == 0)
        return R_SIMILAR;
    return NULL;
}

static const char *check_user(struct work *w, size_t n, const char *user)
{
    size_t un = utf8_decode(user, strlen(user), w->u);

    if (un < 3)
        return NULL;
    for (size_t i = 0; i < un; i++)
        w->u[i] = fold(w->u[i]);
    for (int v = 0; v < N_VARIANTS; v++) {
        for (size_t i = 0; i < n; i++)
            w->var[i] = leet(w->f[i], v);
        for (size_t i = 0; i < un; i++)
            w->uvar[i] = leet(w->u[i], v);
        if (contains(w->var, n, w->uvar, un))
            return R_USER;
        for (size_t i = 0; i < un; i++)
            w->uvar[i] = leet(w->u[un - 1 - i], v);
        if (contains(w->var, n, w->uvar, un))
            return R_USER;
    }
    return NULL;
}

/* 1 if s is a sequence of runs, each of 3 or more code points that step by
 * 0, +1 or -1 (greedy, left to right). */
static int all_runs(const uint32_t *s, size_t n)
{
    size_t i = 0;

    if (n == 0)
        return 0;
    while (i < n) {
        size_t end = i + 1;
        if (end < n) {
            int64_t d = (int64_t)s[end] - (int64_t)s[i];
            if (d >= -1 && d <= 1)
                while (end < n && (int64_t)s[end] - (int64_t)s[end - 1] == d)
                    end++;
        }
        if (end - i < 3)
            return 0;
        i = end;
    }
    return 1;
}

/* 1 if s is a unit of at most half its length repeated, the last copy
 * possibly cut short (Aa1!Aa1!Aa). */
static int periodic(const uint32_t *s, size_t n)
{
    for (size_t p = 1; p <= n / 2; p++) {
        size_t i = p;
        while (i < n && s[i] == s[i - p])
            i++;
        if (i == n)
            return 1;
    }
    return 0;
}

static const char *check_shapes(const uint32_t *f, size_t n)
{
    size_t same = 1, up = 1, down = 1, a, b;

    for (size_t i = 1; i < n; i++) {
        same = f[i] == f[i - 1] ? same + 1 : 1;
        up = f[i] == f[i - 1] + 1 ? up + 1 : 1;
        down = f[i] + 1 == f[i - 1] ? down + 1 : 1;
        if (same > MAX_SAME)
            return R_REPEAT;
        if (up > MAX_STEP || down > MAX_STEP)
            return R_SEQUENCE;
    }
    trim(f, n, is_pad, &a, &b);
    if (b > a ? all_runs(f + a, b - a) : all_runs(f, n))
        return R_RUNS;
    if (periodic(f, n))
        return R_PATTERN;
    return NULL;
}

/* 1 if s[0..len) is one or more words of k_common end to end. reach
 * (len + 1 bytes) marks the offsets where a word can start. */
static int words_compose(const char *s, size_t len, unsigned char *reach)
{
    if (len == 0)
        return 0;
    memset(reach, 0, len + 1);
    reach[0] = 1;
    for (size_t i = 0; i < len; i++) {
        if (!reach[i])
            continue;
        for (size_t k = 0; k < sizeof k_common / sizeof *k_common; k++) {
            size_t wl = strlen(k_common[k]);
            if (wl <= len - i && memcmp(s + i, k_common[k], wl) == 0)
                reach[i + wl] = 1;
        }
    }
    return reach[len];
}

/* Candidate base `which` (see the file comment) of the folded password,
 * into w->base; returns its length. */
static size_t make_base(struct work *w, size_t n, int which)
{
    size_t a = 0, b = n;

    if (which == 1)
        trim(w->f, n, is_sym_pad, &a, &b);
    else if (which == 2)
        trim(w->f, n, is_pad, &a, &b);
    else if (which == 3)
        trim(w->f, n, is_symleet_pad, &a, &b);
    for (size_t i = a; i < b; i++)
        w->base[i - a] = which == 3 ? symleet(w->f[i]) : w->f[i];
    return b - a;
}

/* Our list, over every candidate form. Also collects the forms worth a
 * dictionary look-up (ASCII, DICT_WORD_MIN..DICT_WORD_MAX bytes) into
 * w->dict. */
static const char *check_common(struct work *w, size_t n)
{
    w->ndict = 0;
    for (int which = 0; which < N_BASES; which++) {
        size_t bn = make_base(w, n, which);
        if (bn == 0)
            continue;
        for (int v = 0; v < N_VARIANTS; v++) {
            for (int rev = 0; rev < 2; rev++) {
                size_t len, k;
                for (size_t i = 0; i < bn; i++)
                    w->var[rev ? bn - 1 - i : i] = leet(w->base[i], v);
                len = utf8_encode(w->var, bn, w->utf8);
                if (words_compose(w->utf8, len, w->reach))
                    return R_COMMON;
                if (len != bn || len < DICT_WORD_MIN || len > DICT_WORD_MAX)
                    continue; /* not ASCII, or no dictionary word */
                for (k = 0; k < w->ndict; k++)
                    if (strcmp(w->dict[k], w->utf8) == 0)
                        break;
                if (k == w->ndict && w->ndict < N_CAND)
                    memcpy(w->dict[w->ndict++], w->utf8, len + 1);
            }
        }
    }
    return NULL;
}

/* What a cracklib verdict means to us. */
enum crack_kind {
    CK_DICT,       /* a dictionary word: both profiles */
    CK_USER,       /* the user name (or gecos): both profiles */
    CK_FEW_CHARS,  /* requirements profile, ASCII only */
    CK_SYSTEMATIC, /* requirements profile, ASCII only */
    CK_SIMPLE,     /* requirements profile, ASCII only */
    CK_LOAD_ERROR, /* the dictionary: fail closed */
    CK_UNKNOWN,    /* anything else: fail closed */
};

static const struct {
    const char *msg;
    enum crack_kind kind;
} k_crack[] = {
    {"it is based on a dictionary word", CK_DICT},
    {"it is based on a (reversed) dictionary word", CK_DICT},
    {"it is based on your username", CK_USER},
    {"it is based upon your password entry", CK_USER},
    {"it is derived from your password entry", CK_USER},
    {"it's derived from your password entry", CK_USER},
    {"it is derivable from your password entry", CK_USER},
    {"it's derivable from your password entry", CK_USER},
    {"it does not contain enough DIFFERENT characters", CK_FEW_CHARS},
    {"it is too simplistic/systematic", CK_SYSTEMATIC},
    {"it is WAY too short", CK_SIMPLE},
    {"it is too short", CK_SIMPLE},
    {"it is all whitespace", CK_SIMPLE},
    {"it looks like a National Insurance number.", CK_SIMPLE},
    {"error loading dictionary", CK_LOAD_ERROR},
};

static enum crack_kind crack_classify(const char *verdict)
{
    for (size_t i = 0; i < sizeof k_crack / sizeof *k_crack; i++)
        if (strcmp(verdict, k_crack[i].msg) == 0 ||
            strcmp(verdict, dgettext("cracklib", k_crack[i].msg)) == 0)
            return k_crack[i].kind;
    return CK_UNKNOWN;
}

/* 1 if the dictionary's files are there to be read. */
static int dict_present(const char *prefix)
{
    char path[PATH_MAX];
    int r;

    r = snprintf(path, sizeof path, "%s.pwi", prefix);
    if (r < 0 || (size_t)r >= sizeof path || access(path, R_OK) != 0)
        return 0;
    r = snprintf(path, sizeof path, "%s.pwd", prefix);
    if (r < 0 || (size_t)r >= sizeof path)
        return 0;
    if (access(path, R_OK) == 0)
        return 1;
    r = snprintf(path, sizeof path, "%s.pwd.gz", prefix);
    return r >= 0 && (size_t)r < sizeof path && access(path, R_OK) == 0;
}

/* The dictionary look-ups and FascistCheckUser(). Returns 0, MAMORI_EINVAL
 * or MAMORI_EIO with *why. */
static int check_dict(struct work *w, size_t n, const struct pw_policy *p,
                      const char *user, const char **why)
{
    const char *dict = p->dict_path ? p->dict_path : GetDefaultCracklibDict();
    const char *verdict = NULL;
    char mode[] = "r", absent[] = "\x7f";
    int ascii = 1, hit = 0, opened = 0;
    PWDICT *pwp;

    if (!dict || !dict_present(dict)) {
        *why = R_DICT_MISSING;
        return MAMORI_EIO;
    }
    /* cracklib gets the width-folded password with its case: it counts
     * different characters and folds case itself. */
    for (size_t i = 0; i < n; i++) {
        w->var[i] = fold_width(w->pw[i]);
        ascii &= w->var[i] < 0x80;
    }
    utf8_encode(w->var, n, w->utf8);

    if (pthread_mutex_lock(&g_crack_lock) != 0) {
        *why = R_CHECKER;
        return MAMORI_EINVAL;
    }
    pwp = PWOpen(dict, mode);
    if (pwp) {
        unsigned int miss = FindPW(pwp, absent);
        opened = 1;
        for (size_t i = 0; i < w->ndict && !hit; i++)
            hit = FindPW(pwp, w->dict[i]) != miss;
        PWClose(pwp);
        if (!hit)
            verdict = FascistCheckUser(w->utf8, dict, user ? user : "", "");
    }
    pthread_mutex_unlock(&g_crack_lock);

    if (!opened) {
        *why = R_DICT_MISSING;
        return MAMORI_EIO;
    }
    if (hit) {
        *why = R_DICT;
        return MAMORI_EINVAL;
    }
    if (!verdict)
        return 0;
    switch (crack_classify(verdict)) {
    case CK_DICT:
        *why = R_DICT;
        return MAMORI_EINVAL;
    case CK_USER:
        *why = R_USER;
        return MAMORI_EINVAL;
    case CK_FEW_CHARS:
        *why = R_FEW_CHARS;
        break;
    case CK_SYSTEMATIC:
        *why = R_SYSTEMATIC;
        break;
    case CK_SIMPLE:
        *why = R_SIMPLE;
        break;
    case CK_LOAD_ERROR:
        *why = R_DICT_MISSING;
        return MAMORI_EIO;
    case CK_UNKNOWN:
    default:
        *why = R_CHECKER;
        return MAMORI_EINVAL;
    }
    /* The composition-like verdicts. */
    if (p->profile == PW_PROFILE_REQUIREMENTS && ascii)
        return MAMORI_EINVAL;
    *why = NULL;
    return 0;
}

int pwpolicy_check(const struct pw_policy *p, const char *user, const char *pw,
                   size_t len, const char *old, size_t oldlen,
                   const char **rule)
{
    const char *ignored, *why = NULL;
    struct work *w = NULL;
    size_t n;
    int minlen, rc = MAMORI_EINVAL;

    if (!rule)
        rule = &ignored;
    *rule = NULL;
    /* Arguments first: nothing to wipe yet. */
    if (!p) {
        *rule = R_NO_POLICY;
        return MAMORI_EINVAL;
    }
    minlen = policy_min(p);
    if (minlen < 0) {
        *rule = R_BAD_POLICY;
        return MAMORI_EINVAL;
    }
    if (!pw) {
        *rule = R_NO_PASSWORD;
        return MAMORI_EINVAL;
    }
    if (len > PWP_MAX) {
        *rule = R_TOO_LONG;
        return MAMORI_ETOOBIG;
    }
    if (!text_utf8_valid(pw, len)) {
        *rule = R_NOT_UTF8;
        return MAMORI_EINVAL;
    }
    if (old && oldlen > PWP_MAX) {
        *rule = R_OLD_TOO_LONG;
        return MAMORI_ETOOBIG;
    }
    if (old && !text_utf8_valid(old, oldlen)) {
        *rule = R_OLD_NOT_UTF8;
        return MAMORI_EINVAL;
    }
    if (user && strnlen(user, PWP_MAX + 1) > PWP_MAX) {
        *rule = R_USER_TOO_LONG;
        return MAMORI_EINVAL;
    }
    if (user && !text_utf8_valid(user, strlen(user))) {
        *rule = R_USER_NOT_UTF8;
        return MAMORI_EINVAL;
    }

    w = crypto_secret_alloc(sizeof *w);
    if (!w) {
        *rule = R_NOMEM;
        return MAMORI_ENOMEM;
    }
    n = utf8_decode(pw, len, w->pw);
    if ((why = check_chars(w->pw, n)) != NULL)
        goto out;
    if (n < (size_t)minlen) {
        why = k_short[minlen - PWPOLICY_FLOOR_MIN];
        goto out;
    }
    if (p->profile == PW_PROFILE_REQUIREMENTS &&
        (why = check_classes(w->pw, n)) != NULL)
        goto out;
    for (size_t i = 0; i < n; i++)
        w->f[i] = fold(w->pw[i]);
    if (old && (why = check_old(w, n, pw, len, old, oldlen)) != NULL)
        goto out;
    if (user && (why = check_user(w, n, user)) != NULL)
        goto out;
    if ((why = check_shapes(w->f, n)) != NULL)
        goto out;
    if ((why = check_common(w, n)) != NULL)
        goto out;
    rc = check_dict(w, n, p, user, &why);
    if (rc != 0)
        goto out;
    rc = 0;
out:
    crypto_secret_free(w); /* sodium_free wipes the whole block */
    *rule = rc != 0 ? why : NULL;
    return rc;
}
