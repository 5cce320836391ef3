/*
 * fuzz_text.c - libFuzzer target for lib/text.c.
 *
 * The first byte picks a field type, the rest is the value. Runs
 * text_canonical, text_search_key and text_date_parse and aborts if an
 * invariant breaks:
 *   - results are 0 / -1 / -2; on failure *out is NULL and the rule is a
 *     non-empty printable ASCII text that does not point into the input;
 *   - a canonical value is valid UTF-8, at most TEXT_MAX_VALUE bytes, is its
 *     own canonical form (idempotence), and has the same search key as the
 *     raw input;
 *   - per type: dates are YYYY-MM-DD and agree with text_date_parse, postal
 *     codes NNN-NNNN, phone numbers and My Numbers digits with a valid
 *     check digit;
 *   - a search key exists exactly for valid UTF-8 up to TEXT_MAX_VALUE
 *     bytes, is valid UTF-8 and holds no control characters.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                               \
    do {                                                                       \
        if (!(x))                                                              \
            abort();                                                           \
    } while (0)

static int all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

static void check_rule(const char *rule, const char *in, size_t len)
{
    CHECK(rule != NULL);
    CHECK(rule[0] != '\0');
    CHECK(!(rule >= in && rule < in + len));
    for (const char *p = rule; *p; p++)
        CHECK(*p >= 0x20 && *p <= 0x7E);
}

static void check_key_text(const char *k)
{
    size_t n = strlen(k);

    CHECK(text_utf8_valid(k, n));
    for (size_t i = 0; i < n; i++)
        CHECK((unsigned char)k[i] >= 0x20 && (unsigned char)k[i] != 0x7F);
}

static void check_typed(enum field_type t, const char *c)
{
    size_t n = strlen(c);
    int y, m, d;
    const char *rule = NULL;

    switch (t) {
    case FT_DATE:
        CHECK(n == 10 && c[4] == '-' && c[7] == '-');
        CHECK(text_date_parse(c, n, &y, &m, &d, &rule) == 0);
        CHECK(y >= 1873 && y <= 9999 && m >= 1 && m <= 12 && d >= 1 && d <= 31);
        break;
    case FT_POSTAL:
        CHECK(n == 8 && c[3] == '-' && all_digits(c, 3) &&
              all_digits(c + 4, 4));
        break;
    case FT_PHONE:
        CHECK((n == 10 || n == 11) && c[0] == '0' && all_digits(c, n));
        break;
    case FT_MYNUMBER:
        CHECK(n == 12 && text_mynumber_valid(c));
        break;
    case FT_CORPNUMBER:
        CHECK(n == 13 && text_corpnumber_valid(c));
        break;
    case FT_EMAIL:
        CHECK(strchr(c, '@') != NULL && strchr(c, '@') == strrchr(c, '@'));
        break;
    default:
        CHECK(n > 0);
        break;
    }
}

static int num(const char *s, size_t n)
{
    int v = 0;

    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

/* dc is the canonical date of the same input text_date_parse read as y-m-d */
static int date_matches(const char *dc, int y, int m, int d)
{
    return dc != NULL && strlen(dc) == 10 && num(dc, 4) == y &&
           num(dc + 5, 2) == m && num(dc + 8, 2) == d;
}

static void check_digits_api(const char *in, size_t len)
{
    char buf[14];

    if (len < 13)
        return;
    memcpy(buf, in, 13);
    buf[13] = '\0';
    if (!all_digits(buf, 13))
        return;
    CHECK(text_corpnumber_valid(buf) ==
          (text_corpnumber_check_digit(buf + 1) == buf[0]));
    buf[12] = '\0';
    CHECK(text_mynumber_valid(buf) ==
          (text_mynumber_check_digit(buf) == buf[11]));
    CHECK(text_mynumber_check_digit(buf) >= '0' &&
          text_mynumber_check_digit(buf) <= '9');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    enum field_type t;
    const char *in;
    size_t len;
    char *canon = NULL, *again = NULL, *key = NULL, *ckey = NULL;
    const char *rule = NULL;
    int rc, krc, drc, y = 0, m = 0, d = 0, valid;

    if (size < 1)
        return 0;
    t = (enum field_type)(data[0] % FT_COUNT);
    len = size - 1;
    /* Copy so that ASan sees any read past len. */
    in = malloc(len ? len : 1);
    CHECK(in != NULL);
    memcpy((char *)in, data + 1, len);
    valid = len <= TEXT_MAX_VALUE && text_utf8_valid(in, len);

    rc = text_canonical(t, in, len, &canon, &rule);
    CHECK(rc == 0 || rc == -1 || rc == -2);
    if (rc != 0) {
        CHECK(canon == NULL);
        check_rule(rule, in, len);
    } else {
        size_t n;
        CHECK(valid);
        CHECK(canon != NULL && rule == NULL);
        n = strlen(canon);
        CHECK(n <= TEXT_MAX_VALUE);
        CHECK(text_utf8_valid(canon, n));
        check_typed(t, canon);
        rc = text_canonical(t, canon, n, &again, &rule);
        CHECK(rc == 0);
        CHECK(strcmp(again, canon) == 0);
        CHECK(text_search_key(t, canon, n, &ckey) == 0);
    }

    krc = text_search_key(t, in, len, &key);
    CHECK(krc == 0 || krc == -1 || krc == -2);
    if (krc == 0) {
        CHECK(valid);
        check_key_text(key);
        if (ckey != NULL)
            CHECK(strcmp(ckey, key) == 0);
    } else {
        CHECK(key == NULL);
        CHECK(krc == -2 || !valid);
    }

    rule = NULL;
    drc = text_date_parse(in, len, &y, &m, &d, &rule);
    if (drc == 0) {
        char *dc = NULL;
        CHECK(text_canonical(FT_DATE, in, len, &dc, &rule) == 0);
        CHECK(date_matches(dc, y, m, d));
        free(dc);
    } else {
        CHECK(drc == -1);
        check_rule(rule, in, len);
    }

    check_digits_api(in, len);

    free(canon);
    free(again);
    free(key);
    free(ckey);
    free((char *)in);
    return 0;
}
