/*
 * test_pwpolicy.c - the password rules: each rule with passing and failing
 * passwords in both profiles, the user name, the blocklists (ours and
 * cracklib's), similarity to the current password, hostile input, a
 * missing dictionary, cracklib in a Japanese locale, and threads.
 * All passwords here are made up for the tests.
 */
#include <locale.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <crack.h>

#include "mamori.h"
#include "pwpolicy.h"
#include "banned.h"

static const struct pw_policy REQ = {PW_PROFILE_REQUIREMENTS, 0, 0, NULL};
static const struct pw_policy NIST = {PW_PROFILE_NIST, 0, 0, NULL};
static const struct pw_policy NIST_MFA = {PW_PROFILE_NIST, 0, 1, NULL};

static const char JP_PHRASE[] = "春はあけぼの、やうやう白くなりゆく山ぎは";

static int check(const struct pw_policy *p, const char *user, const char *pw,
                 const char *old, const char **rule)
{
    return pwpolicy_check(p, user, pw, strlen(pw), old, old ? strlen(old) : 0,
                          rule);
}

static void accept_(const struct pw_policy *p, const char *user, const char *pw,
                    const char *old, int line)
{
    const char *rule = "unset";
    int rc = check(p, user, pw, old, &rule);
    if (rc != 0)
        print_error("line %d: refused: %s\n", line, rule ? rule : "(null)");
    assert_int_equal(rc, 0);
    assert_null(rule);
}

static void refuse_(const struct pw_policy *p, const char *user, const char *pw,
                    const char *old, const char *want, int line)
{
    const char *rule = NULL;
    int rc = check(p, user, pw, old, &rule);
    if (rc != MAMORI_EINVAL || !rule || strcmp(rule, want) != 0)
        print_error("line %d: rc %d rule \"%s\", want \"%s\"\n", line, rc,
                    rule ? rule : "(null)", want);
    assert_int_equal(rc, MAMORI_EINVAL);
    assert_non_null(rule);
    assert_string_equal(rule, want);
    /* The rule names the rule, never the password. */
    if (strlen(pw) >= 4)
        assert_null(strstr(rule, pw));
}

#define ACCEPT(p, user, pw, old) accept_(p, user, pw, old, __LINE__)
#define REFUSE(p, user, pw, old, want) refuse_(p, user, pw, old, want, __LINE__)

/* A deterministic password of n bytes from an alphabet with no two
 * characters one apart, so no sequences; no character twice in a row. */
static void make_ascii(char *out, size_t n, uint32_t seed)
{
    static const char abc[] = "ACEGIKMOQSUWYbdfhjlnprtvxz02468#&*=?";
    char prev = 0;
    for (size_t i = 0; i < n; i++) {
        char c;
        do {
            seed = seed * 1103515245u + 12345u;
            c = abc[(seed >> 16) % (sizeof abc - 1)];
        } while (c == prev);
        out[i] = prev = c;
    }
    out[n] = '\0';
}

/* n kanji (3 bytes each) from U+4E00.., none one apart from the last. */
static void make_kanji(char *out, size_t n, uint32_t seed)
{
    uint32_t prev = 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t c;
        do {
            seed = seed * 1103515245u + 12345u;
            c = 0x4E00 + (seed >> 16) % 2000;
        } while (c + 1 >= prev && c <= prev + 1);
        prev = c;
        out[k++] = (char)(0xE0 | (c >> 12));
        out[k++] = (char)(0x80 | ((c >> 6) & 0x3F));
        out[k++] = (char)(0x80 | (c & 0x3F));
    }
    out[k] = '\0';
}

/* ---- good passwords ----------------------------------------------------- */

static void test_good_passwords(void **state)
{
    (void)state;
    ACCEPT(&REQ, "tanaka", "Kx7#mPq2vLw9", NULL);
    ACCEPT(&REQ, "tanaka", "Tg4%nBz8rYe3", NULL);
    ACCEPT(&REQ, NULL, "Kx7#mPq2vLw9", NULL);
    /* A kanji counts as the symbol. */
    ACCEPT(&REQ, "tanaka", "Kx7東mPq2vLw9", NULL);
    ACCEPT(&NIST, "tanaka", JP_PHRASE, NULL);
    ACCEPT(&NIST, "tanaka", "correct horse battery staple", NULL);
    ACCEPT(&NIST, "tanaka", "Kx7#mPq2vLw9Tg4", NULL);
    ACCEPT(&NIST_MFA, "tanaka", "Kx7#mPq2", NULL);
    /* rule may be NULL */
    assert_int_equal(
        pwpolicy_check(&REQ, "tanaka", "Kx7#mPq2vLw9", 12, NULL, 0, NULL), 0);
}

/* ---- length ---------------------------------------------------------------
 */

static void test_length_requirements(void **state)
{
    struct pw_policy p = REQ;
    (void)state;
    REFUSE(&REQ, NULL, "Kx7#mPq2v", NULL, "shorter than 10 characters");
    ACCEPT(&REQ, NULL, "Kx7#mPq2vL", NULL);
    /* Code points, not bytes: 9 code points in 21 bytes, then 10. */
    REFUSE(&REQ, NULL, "Ab1!東京大阪京", NULL, "shorter than 10 characters");
    ACCEPT(&REQ, NULL, "Ab1!東京大阪京都", NULL);
    /* Full-width letters are one code point each, too. */
    REFUSE(&REQ, NULL, "Ｋｘ７＃ｍＰｑ２ｖ", NULL,
           "shorter than 10 characters");
    ACCEPT(&REQ, NULL, "Ｋｘ７＃ｍＰｑ２ｖＬ", NULL);

    p.min_length = 12;
    REFUSE(&p, NULL, "Kx7#mPq2vLw", NULL, "shorter than 12 characters");
    ACCEPT(&p, NULL, "Kx7#mPq2vLw9", NULL);
    p.min_length = 64;
    REFUSE(&p, NULL, "Kx7#mPq2vLw9", NULL, "shorter than 64 characters");
    /* Below the floor counts as the floor. */
    p.min_length = 5;
    REFUSE(&p, NULL, "Kx7#mPq", NULL, "shorter than 8 characters");
    ACCEPT(&p, NULL, "Kx7#mPq2", NULL);
    p.min_length = 1;
    REFUSE(&p, NULL, "Kx7#mPq", NULL, "shorter than 8 characters");
}

static void test_length_nist(void **state)
{
    (void)state;
    REFUSE(&NIST, NULL, "Kx7#mPq2vLw9Tg", NULL, "shorter than 15 characters");
    ACCEPT(&NIST, NULL, "Kx7#mPq2vLw9Tg4", NULL);
    REFUSE(&NIST_MFA, NULL, "Kx7#mPq", NULL, "shorter than 8 characters");
    ACCEPT(&NIST_MFA, NULL, "Kx7#mPq2", NULL);
    /* min_length is the requirements profile's; NIST ignores it. */
    struct pw_policy p = NIST;
    p.min_length = 40;
    ACCEPT(&p, NULL, "Kx7#mPq2vLw9Tg4", NULL);
    /* 14 kanji are short, 15 are enough. */
    REFUSE(&NIST, NULL, "春夏秋冬東西南北上下左右前後", NULL,
           "shorter than 15 characters");
    ACCEPT(&NIST, NULL, "春夏秋冬東西南北上下左右前後中", NULL);
}

static void test_long_passwords(void **state)
{
    char *buf = malloc(PWPOLICY_MAX_BYTES + 8); /* 342 kanji + NUL */
    const char *rule = NULL;
    (void)state;
    assert_non_null(buf);
    /* NIST: at least 64 characters must be allowed; we take 1024 bytes. */
    make_ascii(buf, 64, 1);
    ACCEPT(&NIST, "tanaka", buf, NULL);
    make_ascii(buf, PWPOLICY_MAX_BYTES, 2);
    ACCEPT(&NIST, "tanaka", buf, NULL);
    ACCEPT(&REQ, "tanaka", buf, NULL);
    make_ascii(buf, PWPOLICY_MAX_BYTES + 1, 3);
    assert_int_equal(check(&NIST, "tanaka", buf, NULL, &rule), MAMORI_ETOOBIG);
    assert_string_equal(rule, "longer than 1024 bytes");
    /* 341 kanji are 1023 bytes; 342 are 1026. */
    make_kanji(buf, 341, 4);
    ACCEPT(&NIST, "tanaka", buf, NULL);
    make_kanji(buf, 342, 5);
    assert_int_equal(check(&NIST, "tanaka", buf, NULL, &rule), MAMORI_ETOOBIG);
    free(buf);
}

/* ---- composition ----------------------------------------------------------
 */

static void test_composition(void **state)
{
    (void)state;
    REFUSE(&REQ, NULL, "kx7#mpq2vlw9", NULL, "needs an upper-case letter");
    REFUSE(&REQ, NULL, "KX7#MPQ2VLW9", NULL, "needs a lower-case letter");
    REFUSE(&REQ, NULL, "Kx!#mPq%vLw&", NULL, "needs a digit");
    REFUSE(&REQ, NULL, "Kx7mPq2vLw9z", NULL, "needs a symbol");
    /* A space is not a symbol (ASCII or ideographic). */
    REFUSE(&REQ, NULL, "Kx7 mPq2vLw9", NULL, "needs a symbol");
    REFUSE(&REQ, NULL, "Kx7\xE3\x80\x80mPq2vLw9", NULL, "needs a symbol");
    /* Full-width letters count as their ASCII class. */
    REFUSE(&REQ, NULL, "ＫＸ７＃ＭＰＱ２ＶＬＷ９", NULL,
           "needs a lower-case letter");
    ACCEPT(&REQ, NULL, "ＫＸ７＃ｍＰＱ２ＶＬＷ９", NULL);
    /* Kana count as symbols; an accented letter too. */
    ACCEPT(&REQ, NULL, "Kx7かmPq2vLw9", NULL);
    ACCEPT(&REQ, NULL, "Kx7émPq2vLw9", NULL);
    /* NIST: no composition rules. */
    ACCEPT(&NIST, NULL, "kx7mpq2vlw9tg4rz", NULL);
    ACCEPT(&NIST, NULL, "lowercase only phrase here", NULL);
}

/* ---- the user name --------------------------------------------------------
 */

static void test_user_name(void **state)
{
    (void)state;
    REFUSE(&REQ, "tanaka", "Xq7#tanaka!Lp", NULL, "contains the user name");
    REFUSE(&REQ, "tanaka", "Xq7#TaNaKa!Lp", NULL, "contains the user name");
    REFUSE(&REQ, "TANAKA", "Xq7#tanaka!Lp", NULL, "contains the user name");
    REFUSE(&REQ, "tanaka", "Xq7#akanat!Lp", NULL, "contains the user name");
    REFUSE(&REQ, "tanaka", "Xq7#ＴＡＮＡＫＡ!Lp", NULL,
           "contains the user name");
    REFUSE(&REQ, "tanaka", "Xq7#t@n4ka!Lp", NULL, "contains the user name");
    REFUSE(&REQ, "op1", "Xq7#mOPiz!Lp", NULL, "contains the user name");
    REFUSE(&NIST, "tanaka", "my name is tanaka, ok", NULL,
           "contains the user name");
    REFUSE(&NIST, "suzuki.h", "Kx7#mPq2vLw9suzuki.h", NULL,
           "contains the user name");
    /* Names shorter than 3 characters are not looked for. */
    ACCEPT(&REQ, "ab", "Xq7#ab!Lp9z", NULL);
    /* Someone else's name, or no name, is fine. */
    ACCEPT(&REQ, "sato1", "Xq7#tanaka!Lp", NULL);
    ACCEPT(&REQ, NULL, "Xq7#tanaka!Lp", NULL);
}

/* ---- blocklists -----------------------------------------------------------
 */

static void test_common_passwords(void **state)
{
    (void)state;
    REFUSE(&REQ, NULL, "P@ssw0rd1!", NULL, "is a common password");
    REFUSE(&REQ, NULL, "Qwerty123!", NULL, "is a common password");
    REFUSE(&REQ, NULL, "Zaq12wsx!!", NULL, "is a common password");
    REFUSE(&REQ, NULL, "!QAZ2wsx1!", NULL, "is a common password");
    REFUSE(&REQ, NULL, "Admin123!!", NULL, "is a common password");
    REFUSE(&REQ, NULL, "@Dmin!2024", NULL, "is a common password");
    REFUSE(&REQ, NULL, "P@$$w0rd2024", NULL, "is a common password");
    REFUSE(&REQ, NULL, "Himitsu2024!", NULL, "is a common password");
    REFUSE(&REQ, NULL, "Ytrewq123!", NULL, "is a common password");
    REFUSE(&REQ, NULL, "Passwordpassword1!", NULL, "is a common password");
    REFUSE(&REQ, NULL, "2024#Mamori", NULL, "is a common password");
    REFUSE(&REQ, NULL, "Kaisha-2024", NULL, "is a common password");
    REFUSE(&NIST, NULL, "passwordpassword", NULL, "repeats a pattern");
    REFUSE(&NIST, NULL, "adminpassword123", NULL, "is a common password");
    REFUSE(&NIST, NULL, "qwertyuiopasdfgh", NULL, "is a common password");
    REFUSE(&NIST, NULL, "1q2w3e4r5t!!??##", NULL, "is a common password");
    REFUSE(&NIST_MFA, NULL, "2024パスワード!!!!", NULL, "is a common password");
    REFUSE(&NIST_MFA, NULL, "ＰＡＳＳＷＯＲＤ１２３", NULL,
           "is a common password");
    /* A list word inside a longer password is fine. */
    ACCEPT(&REQ, NULL, "Kx7#password-mPq2", NULL);
    ACCEPT(&NIST, NULL, "my tokyo office has 3 cats", NULL);
}

static void test_dictionary(void **state)
{
    (void)state;
    /* Found by our own look-up of the core... */
    REFUSE(&REQ, NULL, "Elephant2024!!", NULL, "is based on a dictionary word");
    REFUSE(&NIST_MFA, NULL, "#7Elephant", NULL,
           "is based on a dictionary word");
    /* ...also where cracklib stops before its dictionary ("not enough
     * DIFFERENT characters"). */
    REFUSE(&NIST_MFA, NULL, "mississippi", NULL,
           "is based on a dictionary word");
    /* Found by cracklib's own mangling (it trims letters off the ends). */
    REFUSE(&NIST_MFA, NULL, "xxdragon", NULL, "is based on a dictionary word");
    REFUSE(&NIST_MFA, NULL, "nogardxx", NULL, "is based on a dictionary word");
    /* cracklib's other verdicts: requirements profile only, ASCII only. */
    REFUSE(&REQ, NULL, "Aa1!aA!1Aa", NULL,
           "does not contain enough different characters");
    ACCEPT(&NIST_MFA, NULL, "Aa1!aA!1Aa", NULL);
    REFUSE(&REQ, NULL, "AbCd2Ef4Gh!", NULL, "is too simplistic or systematic");
    ACCEPT(&NIST_MFA, NULL, "AbCd2Ef4Gh!", NULL);
}

/* ---- shapes ---------------------------------------------------------------
 */

static void test_shapes(void **state)
{
    (void)state;
    REFUSE(&REQ, NULL, "Kx7#aaaaa!Lp", NULL,
           "repeats a character more than 4 times");
    ACCEPT(&REQ, NULL, "Kx7#aaaa!Lp9", NULL);
    REFUSE(&NIST, NULL, "ああああああ、いいえ、そうです", NULL,
           "repeats a character more than 4 times");
    REFUSE(&REQ, NULL, "Kx7#mPq2vLw9-12345", NULL,
           "contains a sequence of 5 characters, like abcde or 54321");
    REFUSE(&REQ, NULL, "Kx7#mPq2vLw9-54321", NULL,
           "contains a sequence of 5 characters, like abcde or 54321");
    REFUSE(&REQ, NULL, "Kx7#vwXYz#mPq2", NULL,
           "contains a sequence of 5 characters, like abcde or 54321");
    REFUSE(&REQ, NULL, "Kx7#mPq2vLw9１２３４５", NULL,
           "contains a sequence of 5 characters, like abcde or 54321");
    ACCEPT(&REQ, NULL, "Kx7#mPq2vLw9-1234", NULL);
    REFUSE(&REQ, NULL, "Abcd1234!!", NULL,
           "is made of sequences or repeated characters");
    REFUSE(&NIST, NULL, "aaaabbbbccccdddd", NULL,
           "is made of sequences or repeated characters");
    REFUSE(&REQ, NULL, "Aa1!Aa1!Aa1!", NULL, "repeats a pattern");
    REFUSE(&REQ, NULL, "Aa1!Aa1!Aa", NULL, "repeats a pattern");
    REFUSE(&NIST, NULL, "Kx7#mPq2Kx7#mPq2", NULL, "repeats a pattern");
}

/* ---- the current password -------------------------------------------------
 */

static void test_similar(void **state)
{
    const char *rule = NULL;
    (void)state;
    REFUSE(&REQ, NULL, "Kx7#mPq2vLw9", "Kx7#mPq2vLw9",
           "same as the current password");
    REFUSE(&REQ, NULL, "Kx7#mPq2vLw8", "Kx7#mPq2vLw9",
           "too similar to the current password");
    REFUSE(&REQ, NULL, "kX7#MpQ2VlW9", "Kx7#mPq2vLw9",
           "too similar to the current password");
    REFUSE(&REQ, NULL, "Kx7#mPq2vLw9abc", "Kx7#mPq2vLw9",
           "too similar to the current password");
    REFUSE(&REQ, NULL, "x7#mPq2vL9T", "Kx7#mPq2vLw9",
           "too similar to the current password"); /* 3 edits */
    REFUSE(&REQ, NULL, "Blue-Heron-Sky!2024##", "Blue-Heron-Sky!1",
           "too similar to the current password");
    REFUSE(&REQ, NULL, "99##Blue-Heron-Sky", "2023Blue-Heron-Sky",
           "too similar to the current password");
    /* Four edits apart, or a different core: fine. */
    ACCEPT(&REQ, NULL, "Kx7#mPq2vLw9eG4z", "Kx7#mPq2vLw9");
    ACCEPT(&REQ, NULL, "x7#mPq2vL9Tz", "Kx7#mPq2vLw9");
    ACCEPT(&REQ, NULL, "Tg4%nBz8rYe3", "Kx7#mPq2vLw9");
    ACCEPT(&REQ, NULL, "Blue-Heron-Pond!1", "Blue-Heron-Sky!1");
    /* NIST too. */
    REFUSE(&NIST, NULL, "春はあけぼの、やうやう白くなりゆく山ぎわ", JP_PHRASE,
           "too similar to the current password");
    ACCEPT(&NIST, NULL, "夏は夜。月のころはさらなり、闇もなほ", JP_PHRASE);
    /* An empty current password compares like any other. */
    ACCEPT(&REQ, NULL, "Kx7#mPq2vLw9", "");
    /* A current password that is not one we could have accepted. */
    assert_int_equal(check(&REQ, NULL, "Kx7#mPq2vLw9", "\xC3\x28", &rule),
                     MAMORI_EINVAL);
    assert_string_equal(rule, "current password not valid UTF-8");
    char *big = malloc(PWPOLICY_MAX_BYTES + 2);
    assert_non_null(big);
    memset(big, 'a', PWPOLICY_MAX_BYTES + 1);
    big[PWPOLICY_MAX_BYTES + 1] = '\0';
    assert_int_equal(check(&REQ, NULL, "Kx7#mPq2vLw9", big, &rule),
                     MAMORI_ETOOBIG);
    assert_string_equal(rule, "current password longer than 1024 bytes");
    free(big);
}

/* ---- hostile input --------------------------------------------------------
 */

static void test_hostile(void **state)
{
    const char *rule = NULL;
    struct pw_policy bad = REQ;
    size_t mb = 1 << 20;
    char *big;
    (void)state;

    assert_int_equal(
        pwpolicy_check(NULL, "u", "Kx7#mPq2vLw9", 12, NULL, 0, &rule),
        MAMORI_EINVAL);
    assert_string_equal(rule, "no password policy");
    assert_int_equal(pwpolicy_check(&REQ, "u", NULL, 0, NULL, 0, &rule),
                     MAMORI_EINVAL);
    assert_string_equal(rule, "password missing");
    assert_int_equal(pwpolicy_check(&REQ, "u", NULL, 12, NULL, 0, &rule),
                     MAMORI_EINVAL);
    assert_int_equal(pwpolicy_check(&REQ, "u", "", 0, NULL, 0, &rule),
                     MAMORI_EINVAL);
    assert_string_equal(rule, "shorter than 10 characters");
    assert_int_equal(pwpolicy_check(&NIST, "u", "", 0, NULL, 0, &rule),
                     MAMORI_EINVAL);
    assert_string_equal(rule, "shorter than 15 characters");

    bad.min_length = 65;
    assert_int_equal(check(&bad, NULL, "Kx7#mPq2vLw9", NULL, &rule),
                     MAMORI_EINVAL);
    assert_string_equal(rule, "invalid password policy");
    bad.min_length = -1;
    assert_int_equal(check(&bad, NULL, "Kx7#mPq2vLw9", NULL, &rule),
                     MAMORI_EINVAL);
    bad = REQ;
    bad.profile = (enum pw_profile)7;
    assert_int_equal(check(&bad, NULL, "Kx7#mPq2vLw9", NULL, &rule),
                     MAMORI_EINVAL);
    assert_string_equal(rule, "invalid password policy");

    /* Invalid UTF-8: bad continuation, overlong '/', surrogate, cut short,
     * beyond U+10FFFF, a lone continuation byte. */
    static const char *const bad_utf8[] = {
        "Kx7#mPq2\xC3\x28vLw9",         "Kx7#mPq2\xC0\xAFvLw9",
        "Kx7#mPq2\xED\xA0\x80vLw9",     "Kx7#mPq2vLw9\xE3\x81",
        "Kx7#mPq2\xF4\x90\x80\x80vLw9", "Kx7#mPq2\x80vLw9",
    };
    for (size_t i = 0; i < sizeof bad_utf8 / sizeof *bad_utf8; i++) {
        rule = NULL;
        assert_int_equal(check(&REQ, NULL, bad_utf8[i], NULL, &rule),
                         MAMORI_EINVAL);
        assert_string_equal(rule, "not valid UTF-8");
    }
    /* NUL inside, TAB, DEL, newline, C1 NEL. */
    assert_int_equal(
        pwpolicy_check(&REQ, NULL, "Kx7#m\0Pq2vLw9", 13, NULL, 0, &rule),
        MAMORI_EINVAL);
    assert_string_equal(rule, "contains a control character");
    REFUSE(&REQ, NULL, "Kx7#m\tPq2vLw9", NULL, "contains a control character");
    REFUSE(&REQ, NULL, "Kx7#m\x7FPq2vLw9", NULL,
           "contains a control character");
    REFUSE(&NIST, NULL, "Kx7#mPq2vLw9Tg4\n", NULL,
           "contains a control character");
    REFUSE(&REQ, NULL, "Kx7#m\xC2\x85Pq2vLw9", NULL,
           "contains a control character");

    /* 1 MB of password, of current password, of user name. */
    big = malloc(mb + 1);
    assert_non_null(big);
    memset(big, 'A', mb);
    big[mb] = '\0';
    assert_int_equal(pwpolicy_check(&REQ, NULL, big, mb, NULL, 0, &rule),
                     MAMORI_ETOOBIG);
    assert_string_equal(rule, "longer than 1024 bytes");
    assert_int_equal(
        pwpolicy_check(&REQ, NULL, "Kx7#mPq2vLw9", 12, big, mb, &rule),
        MAMORI_ETOOBIG);
    assert_int_equal(
        pwpolicy_check(&REQ, big, "Kx7#mPq2vLw9", 12, NULL, 0, &rule),
        MAMORI_EINVAL);
    assert_string_equal(rule, "user name longer than 1024 bytes");
    free(big);
    /* A user name that is not UTF-8. */
    assert_int_equal(check(&REQ, "ta\xFFnaka", "Kx7#mPq2vLw9", NULL, &rule),
                     MAMORI_EINVAL);
    assert_string_equal(rule, "user name not valid UTF-8");
    /* NULL old with a length is no current password. */
    assert_int_equal(
        pwpolicy_check(&REQ, NULL, "Kx7#mPq2vLw9", 12, NULL, 99, &rule), 0);
    assert_null(rule);
}

/* ---- the dictionary -------------------------------------------------------
 */

static void test_dictionary_missing(void **state)
{
    struct pw_policy p = REQ;
    const char *rule = NULL;
    char dir[] = "/tmp/pwpolicy-dict.XXXXXX", path[128], file[160];
    (void)state;

    p.dict_path = "/nonexistent/cracklib_dict";
    assert_int_equal(check(&p, NULL, "Kx7#mPq2vLw9", NULL, &rule), MAMORI_EIO);
    assert_string_equal(rule, "password dictionary missing");
    p.profile = PW_PROFILE_NIST;
    assert_int_equal(check(&p, NULL, JP_PHRASE, NULL, &rule), MAMORI_EIO);
    /* Rules before the dictionary still name themselves. */
    p.profile = PW_PROFILE_REQUIREMENTS;
    REFUSE(&p, NULL, "Kx7#mPq2v", NULL, "shorter than 10 characters");

    /* Files present but not a dictionary (PWOpen complains on stderr). */
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/dict", dir);
    static const char *const ext[] = {".pwi", ".pwd", ".hwm"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(file, sizeof file, "%s%s", path, ext[i]);
        FILE *f = fopen(file, "w");
        assert_non_null(f);
        assert_int_equal(fputs("not a cracklib dictionary\n", f) >= 0, 1);
        assert_int_equal(fclose(f), 0);
    }
    p.dict_path = path;
    assert_int_equal(check(&p, NULL, "Kx7#mPq2vLw9", NULL, &rule), MAMORI_EIO);
    assert_string_equal(rule, "password dictionary missing");
    for (size_t i = 0; i < 3; i++) {
        snprintf(file, sizeof file, "%s%s", path, ext[i]);
        assert_int_equal(unlink(file), 0);
    }
    assert_int_equal(rmdir(dir), 0);

    /* The default dictionary, named explicitly, works. */
    p.dict_path = GetDefaultCracklibDict();
    ACCEPT(&p, NULL, "Kx7#mPq2vLw9", NULL);
}

/* cracklib's verdicts come translated in a Japanese locale; they must
 * still be recognised. */
static void test_japanese_locale(void **state)
{
    const char *v;
    (void)state;
    /* tools/deps.sh installs both the locale and libcrack2's catalog. */
    if (!setlocale(LC_ALL, "ja_JP.UTF-8") && !setlocale(LC_ALL, "ja_JP.utf8"))
        fail_msg("locale ja_JP.UTF-8 missing (make deps)");
    v = FascistCheckUser("xxdragon", GetDefaultCracklibDict(), "nobody", "");
    if (!v || strcmp(v, "it is based on a dictionary word") == 0)
        fail_msg("cracklib's Japanese catalog missing (libcrack2)");
    REFUSE(&NIST_MFA, NULL, "xxdragon", NULL, "is based on a dictionary word");
    REFUSE(&REQ, NULL, "AbCd2Ef4Gh!", NULL, "is too simplistic or systematic");
    ACCEPT(&NIST_MFA, NULL, "AbCd2Ef4Gh!", NULL);
    ACCEPT(&REQ, NULL, "Kx7#mPq2vLw9", NULL);
}

static int restore_locale(void **state)
{
    (void)state;
    return setlocale(LC_ALL, "C") ? 0 : -1;
}

/* ---- threads --------------------------------------------------------------
 */

struct tcase {
    const struct pw_policy *p;
    const char *user, *pw, *old;
    int rc;
    const char *rule;
};

static const struct tcase k_tcases[] = {
    {&REQ, "tanaka", "Kx7#mPq2vLw9", NULL, 0, NULL},
    {&REQ, "tanaka", "P@ssw0rd1!", NULL, MAMORI_EINVAL, "is a common password"},
    {&NIST_MFA, NULL, "xxdragon", NULL, MAMORI_EINVAL,
     "is based on a dictionary word"},
    {&NIST_MFA, NULL, "mississippi", NULL, MAMORI_EINVAL,
     "is based on a dictionary word"},
    {&REQ, "tanaka", "Xq7#tanaka!Lp", NULL, MAMORI_EINVAL,
     "contains the user name"},
    {&NIST, "tanaka", JP_PHRASE, NULL, 0, NULL},
    {&REQ, NULL, "Kx7#mPq2vLw8", "Kx7#mPq2vLw9", MAMORI_EINVAL,
     "too similar to the current password"},
    {&REQ, NULL, "AbCd2Ef4Gh!", NULL, MAMORI_EINVAL,
     "is too simplistic or systematic"},
};

#define N_THREADS 4
#define N_CALLS 200

static void *thread_main(void *arg)
{
    size_t start = (size_t)(uintptr_t)arg, bad = 0;
    for (size_t i = 0; i < N_CALLS; i++) {
        const struct tcase *t =
            &k_tcases[(start + i) % (sizeof k_tcases / sizeof *k_tcases)];
        const char *rule = "unset";
        int rc = check(t->p, t->user, t->pw, t->old, &rule);
        if (rc != t->rc ||
            (t->rule ? !rule || strcmp(rule, t->rule) != 0 : rule != NULL))
            bad++;
    }
    return (void *)(uintptr_t)bad;
}

static void test_threads(void **state)
{
    pthread_t th[N_THREADS];
    size_t bad = 0;
    (void)state;
    for (size_t i = 0; i < N_THREADS; i++)
        assert_int_equal(
            pthread_create(&th[i], NULL, thread_main, (void *)(uintptr_t)i), 0);
    for (size_t i = 0; i < N_THREADS; i++) {
        void *r = NULL;
        assert_int_equal(pthread_join(th[i], &r), 0);
        bad += (size_t)(uintptr_t)r;
    }
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_passwords),
        cmocka_unit_test(test_length_requirements),
        cmocka_unit_test(test_length_nist),
        cmocka_unit_test(test_long_passwords),
        cmocka_unit_test(test_composition),
        cmocka_unit_test(test_user_name),
        cmocka_unit_test(test_common_passwords),
        cmocka_unit_test(test_dictionary),
        cmocka_unit_test(test_shapes),
        cmocka_unit_test(test_similar),
        cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_dictionary_missing),
        cmocka_unit_test_teardown(test_japanese_locale, restore_locale),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
