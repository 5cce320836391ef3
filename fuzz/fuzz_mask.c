/*
 * fuzz_mask.c - libFuzzer target for lib/mask.c.
 *
 * The first byte picks a field type (two values past FT_COUNT stand for an
 * unknown type), the rest is the value. Runs mask_value and aborts if an
 * invariant breaks:
 *   - the result is 0, -1 or -2; -1 exactly when the value is not UTF-8;
 *     on failure *out is NULL;
 *   - a masked form is valid UTF-8, at most MASK_MAX_LEN bytes, holds a
 *     mask ('*' or '＊'), is never the value itself (unless that is a mask
 *     already), and is the same when asked again;
 *   - per type: text, unknown types and values over TEXT_MAX_VALUE bytes
 *     are "＊＊＊"; masked My Numbers and corporate numbers show at most 4
 *     digits, dates 4, postal codes 3, phone numbers their first group and
 *     last 4 (at most 8); a masked e-mail address is "＊＊＊" or x***@domain;
 *     a masked name ends in "＊＊" and is no longer than the value + 6.
 * Also: the canonical form of the value (when it has one) masks cleanly.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mask.h"
#include "text.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                               \
    do {                                                                       \
        if (!(x))                                                              \
            abort();                                                           \
    } while (0)

#define FULL "＊＊＊"

static size_t count_digits(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        if (*s >= '0' && *s <= '9')
            n++;
    return n;
}

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);

    return n >= t && memcmp(s + n - t, tail, t) == 0;
}

static void check_masked(enum field_type t, const char *in, size_t len,
                         const char *out)
{
    size_t n = strlen(out);

    CHECK(n > 0 && n <= MASK_MAX_LEN);
    CHECK(text_utf8_valid(out, n));
    CHECK(strchr(out, '*') != NULL || strstr(out, "＊") != NULL);
    /* only a value that is a mask already ("東京都＊＊＊") may come back */
    CHECK(!(n == len && memcmp(out, in, len) == 0) ||
          memchr(in, '*', len) != NULL || memmem(in, len, "＊", 3) != NULL);
    if (len > TEXT_MAX_VALUE || (int)t < 0 || t >= FT_COUNT) {
        CHECK(strcmp(out, FULL) == 0);
        return;
    }
    switch (t) {
    case FT_TEXT:
        CHECK(strcmp(out, FULL) == 0);
        break;
    case FT_MYNUMBER:
    case FT_CORPNUMBER:
        CHECK(count_digits(out) <= 4);
        break;
    case FT_DATE:
        CHECK(count_digits(out) <= 4);
        break;
    case FT_POSTAL:
        CHECK(count_digits(out) <= 3);
        break;
    case FT_PHONE:
        CHECK(count_digits(out) <= 8);
        CHECK(strcmp(out, FULL) == 0 || strstr(out, "-*") != NULL);
        break;
    case FT_EMAIL:
        CHECK(strcmp(out, FULL) == 0 ||
              (n > 5 && memcmp(out + 1, "***@", 4) == 0));
        break;
    case FT_NAME:
    case FT_KANA:
        CHECK(ends_with(out, "＊＊"));
        CHECK(n <= len + 6 || strcmp(out, FULL) == 0);
        break;
    case FT_ADDRESS:
        CHECK(ends_with(out, FULL));
        CHECK(n <= len + 9);
        break;
    default:
        break;
    }
}

static void run(enum field_type t, const char *in, size_t len, int valid)
{
    char *out = NULL, *again = NULL;
    int rc = mask_value(t, in, len, &out);

    CHECK(rc == 0 || rc == -1 || rc == -2);
    if (rc != 0) {
        CHECK(out == NULL);
        CHECK(rc == -2 || !valid);
        return;
    }
    CHECK(valid);
    CHECK(out != NULL);
    check_masked(t, in, len, out);
    rc = mask_value(t, in, len, &again);
    CHECK(rc == 0 || rc == -2);
    if (rc == 0)
        CHECK(strcmp(out, again) == 0);
    free(out);
    free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    enum field_type t;
    char *in, *canon = NULL;
    const char *rule = NULL;
    size_t len;
    int valid;

    if (size < 1)
        return 0;
    t = (enum field_type)(data[0] % (FT_COUNT + 2));
    len = size - 1;
    /* Copy so that ASan sees any read past len. */
    in = malloc(len ? len : 1);
    CHECK(in != NULL);
    if (len > 0)
        memcpy(in, data + 1, len);
    valid = text_utf8_valid(in, len);
    run(t, in, len, valid);

    if (t < FT_COUNT && text_canonical(t, in, len, &canon, &rule) == 0) {
        run(t, canon, strlen(canon), 1);
        free(canon);
    }
    free(in);
    return 0;
}
