/*
 * fuzz_pwpolicy.c - the password rules take whatever a user types, plus a
 * user name and a current password. Any bytes must give a clean verdict:
 * no crash, a named rule on every refusal, the same verdict twice, and an
 * accepted password that really meets the basic rules.
 *
 * Input layout: byte 0 selects the policy (bit 0: NIST, bit 1: MFA,
 * bit 2: a current password is given, bits 3-7: min_length 0..31); byte 1
 * is the user name's length, byte 2 the current password's; then the user
 * name, the current password, and the rest is the new password. Missing
 * bytes count as zero.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mamori.h"
#include "pwpolicy.h"
#include "text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t take(const uint8_t **p, size_t *left, size_t want)
{
    size_t n = want < *left ? want : *left;
    *p += n;
    *left -= n;
    return n;
}

/* 1 if the ASCII needle occurs in hay, ignoring ASCII case. */
static int has_ascii_ci(const char *hay, size_t n, const char *needle, size_t m)
{
    for (size_t i = 0; m && i + m <= n; i++) {
        size_t j = 0;
        while (j < m) {
            unsigned char a = (unsigned char)hay[i + j];
            unsigned char b = (unsigned char)needle[j];
            if (a >= 'A' && a <= 'Z')
                a = (unsigned char)(a + 32);
            if (b >= 'A' && b <= 'Z')
                b = (unsigned char)(b + 32);
            if (a != b)
                break;
            j++;
        }
        if (j == m)
            return 1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pw_policy p = {0};
    const uint8_t *cur = data;
    size_t left = size, ulen, olen, len;
    uint8_t flags = 0, ul = 0, ol = 0;
    char *user = NULL, *old = NULL, *pw = NULL;
    const char *rule = NULL, *rule2 = NULL;
    const char *ustart, *ostart;
    int rc, rc2, user_ascii = 1;

    if (left > 0)
        flags = cur[0];
    take(&cur, &left, 1);
    if (left > 0)
        ul = cur[0];
    take(&cur, &left, 1);
    if (left > 0)
        ol = cur[0];
    take(&cur, &left, 1);
    ustart = (const char *)cur;
    ulen = take(&cur, &left, ul);
    ostart = (const char *)cur;
    olen = take(&cur, &left, ol);
    len = left;

    p.profile = (flags & 1) ? PW_PROFILE_NIST : PW_PROFILE_REQUIREMENTS;
    p.has_mfa = (flags >> 1) & 1;
    p.min_length = flags >> 3;

    /* Own copies, so that reads past the ends are caught. */
    user = malloc(ulen + 1);
    old = malloc(olen ? olen : 1);
    pw = malloc(len ? len : 1);
    if (!user || !old || !pw)
        goto out;
    memcpy(user, ustart, ulen);
    user[ulen] = '\0'; /* a NUL inside simply ends the name */
    memcpy(old, ostart, olen);
    memcpy(pw, cur, len);

    rc = pwpolicy_check(&p, ul ? user : NULL, pw, len, (flags & 4) ? old : NULL,
                        olen, &rule);
    rc2 = pwpolicy_check(&p, ul ? user : NULL, pw, len,
                         (flags & 4) ? old : NULL, olen, &rule2);
    if (rc != rc2 || rule != rule2)
        abort(); /* the same question, the same answer */
    if (rc != 0 && rc != MAMORI_EINVAL && rc != MAMORI_ETOOBIG &&
        rc != MAMORI_EIO && rc != MAMORI_ENOMEM)
        abort();
    if (rc != 0) {
        if (!rule || !*rule)
            abort(); /* a refusal names its rule */
        goto out;
    }
    if (rule)
        abort();
    /* Accepted: within bounds, UTF-8, no C0 control, not the current
     * password, not containing an ASCII user name. */
    if (len < PWPOLICY_NIST_MIN_MFA || len > PWPOLICY_MAX_BYTES ||
        !text_utf8_valid(pw, len))
        abort();
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)pw[i] < 0x20 || pw[i] == 0x7F)
            abort();
    if ((flags & 4) && olen == len && memcmp(old, pw, len) == 0)
        abort();
    for (size_t i = 0; user[i]; i++)
        if ((unsigned char)user[i] >= 0x80)
            user_ascii = 0;
    if (ul && user_ascii && strlen(user) >= 3 &&
        has_ascii_ci(pw, len, user, strlen(user)))
        abort();
out:
    free(user);
    free(old);
    free(pw);
    return 0;
}
