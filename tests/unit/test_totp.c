/*
 * test_totp.c - lib/totp.c: RFC 6238 SHA-1 vectors, agreement with the real
 * `oathtool` at several times, the verification window, replay refusal,
 * malformed and full-width typed codes, otpauth URI encoding, the terminal
 * QR text read back by the real `zbarimg`, recovery codes.
 *
 * External tools run through posix_spawnp with an argv (no shell); their
 * arguments are only our own Base32/hex text, numbers and our own temp file
 * names.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "crypto.h"
#include "mamori.h"
#include "totp.h"
#include "banned.h"

extern char **environ;

/* RFC 6238 appendix B: the SHA-1 seed. */
static const uint8_t RFC_SECRET[] = "12345678901234567890";
#define RFC_LEN 20

static int setup(void **state)
{
    (void)state;
    return crypto_init();
}

/*
 * Runs argv[0] from PATH with argv (no shell), stderr to /dev/null, and
 * captures its stdout (up to size - 1 bytes, the rest drained). Returns the
 * exit status, or -1 if it could not run or did not exit normally.
 */
static int run_capture(char *const argv[], char *out, size_t size)
{
    posix_spawn_file_actions_t fa;
    int pfd[2], status = 0, rc = -1;
    pid_t pid;
    size_t n = 0;
    ssize_t r;
    char drain[256];

    out[0] = '\0';
    if (pipe(pfd) != 0)
        return -1;
    if (posix_spawn_file_actions_init(&fa) != 0) {
        close(pfd[0]);
        close(pfd[1]);
        return -1;
    }
    if (posix_spawn_file_actions_adddup2(&fa, pfd[1], 1) != 0 ||
        posix_spawn_file_actions_addclose(&fa, pfd[0]) != 0 ||
        posix_spawn_file_actions_addclose(&fa, pfd[1]) != 0 ||
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0) !=
            0 ||
        posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        close(pfd[0]);
        close(pfd[1]);
        return -1;
    }
    posix_spawn_file_actions_destroy(&fa);
    close(pfd[1]);
    for (;;) {
        if (n < size - 1)
            r = read(pfd[0], out + n, size - 1 - n);
        else
            r = read(pfd[0], drain, sizeof drain);
        if (r <= 0)
            break;
        if (n < size - 1)
            n += (size_t)r;
    }
    out[n] = '\0';
    close(pfd[0]);
    if (waitpid(pid, &status, 0) == pid && WIFEXITED(status))
        rc = WEXITSTATUS(status);
    return rc;
}

static void chomp(char *s)
{
    size_t n = strlen(s);

    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
}

/* ---- codes ---------------------------------------------------------------*/

struct vec {
    int64_t t;
    const char *code; /* last 6 digits of the RFC's 8-digit SHA-1 value */
};

static const struct vec rfc_vecs[] = {
    {59, "287082"},          /* 94287082 */
    {1111111109, "081804"},  /* 07081804 */
    {1111111111, "050471"},  /* 14050471 */
    {1234567890, "005924"},  /* 89005924 */
    {2000000000, "279037"},  /* 69279037 */
    {20000000000, "353130"}, /* 65353130 */
};

static void test_rfc6238_vectors(void **state)
{
    char code[TOTP_DIGITS + 1];
    uint64_t m;

    (void)state;
    for (size_t i = 0; i < sizeof rfc_vecs / sizeof rfc_vecs[0]; i++) {
        uint64_t step = (uint64_t)rfc_vecs[i].t / TOTP_STEP;

        assert_int_equal(totp_code(RFC_SECRET, RFC_LEN, step, code), 0);
        assert_string_equal(code, rfc_vecs[i].code);
        m = 0;
        assert_int_equal(totp_verify(RFC_SECRET, RFC_LEN, rfc_vecs[i].code,
                                     rfc_vecs[i].t, 0, 0, &m),
                         0);
        assert_int_equal(m, step);
    }
}

static void test_base32(void **state)
{
    char b32[TOTP_SECRET_B32_SIZE];
    char small[TOTP_SECRET_B32_SIZE - 1];
    uint8_t s17[17];
    char b17[(8 * 17 + 4) / 5 + 1];

    (void)state;
    assert_int_equal(totp_secret_base32(RFC_SECRET, RFC_LEN, b32, sizeof b32),
                     0);
    assert_string_equal(b32, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    /* One byte short of room: refused, out left empty. */
    memset(small, 'x', sizeof small);
    assert_int_equal(
        totp_secret_base32(RFC_SECRET, RFC_LEN, small, sizeof small),
        MAMORI_ETOOBIG);
    assert_int_equal(small[0], '\0');
    /* 17 bytes = 136 bits = 27 full characters + 1 bit: 28 characters. */
    memset(s17, 0xFF, sizeof s17);
    assert_int_equal(totp_secret_base32(s17, sizeof s17, b17, sizeof b17), 0);
    assert_string_equal(b17, "777777777777777777777777777Q");
    memset(s17, 0, sizeof s17);
    assert_int_equal(totp_secret_base32(s17, sizeof s17, b17, sizeof b17), 0);
    assert_string_equal(b17, "AAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    /* Bad arguments. */
    assert_int_equal(totp_secret_base32(NULL, RFC_LEN, b32, sizeof b32),
                     MAMORI_EINVAL);
    assert_int_equal(totp_secret_base32(RFC_SECRET, 15, b32, sizeof b32),
                     MAMORI_EINVAL);
    assert_int_equal(totp_secret_base32(RFC_SECRET, 65, b32, sizeof b32),
                     MAMORI_EINVAL);
    assert_int_equal(totp_secret_base32(RFC_SECRET, RFC_LEN, NULL, 33),
                     MAMORI_EINVAL);
    assert_int_equal(totp_secret_base32(RFC_SECRET, RFC_LEN, b32, 0),
                     MAMORI_EINVAL);
}

static void test_secret_new(void **state)
{
    uint8_t a[TOTP_SECRET_LEN], b[TOTP_SECRET_LEN], zero[TOTP_SECRET_LEN];

    (void)state;
    memset(zero, 0, sizeof zero);
    totp_secret_new(a);
    totp_secret_new(b);
    assert_memory_not_equal(a, b, TOTP_SECRET_LEN);
    assert_memory_not_equal(a, zero, TOTP_SECRET_LEN);
    crypto_wipe(a, sizeof a);
    crypto_wipe(b, sizeof b);
}

static int is_b32(const char *s)
{
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= '2' && *s <= '7')))
            return 0;
    return 1;
}

/* Our code for unix time t against `oathtool --totp` given the secret both
 * as our Base32 and as hex (so our Base32 is checked too). */
static void check_oathtool(const uint8_t *secret, size_t len, int64_t t)
{
    char b32[(8 * TOTP_SECRET_MAX + 4) / 5 + 1];
    char hex[2 * TOTP_SECRET_MAX + 1];
    char at[32], got[64], code[TOTP_DIGITS + 1];
    char totp_opt[] = "--totp", b_opt[] = "-b", now_opt[] = "--now",
         prog[] = "oathtool";

    assert_int_equal(totp_secret_base32(secret, len, b32, sizeof b32), 0);
    assert_true(is_b32(b32));
    crypto_hex(secret, len, hex);
    snprintf(at, sizeof at, "@%lld", (long long)t);
    assert_int_equal(totp_code(secret, len, (uint64_t)t / TOTP_STEP, code), 0);

    {
        char *argv[] = {prog, totp_opt, b_opt, b32, now_opt, at, NULL};
        assert_int_equal(run_capture(argv, got, sizeof got), 0);
        chomp(got);
        assert_string_equal(got, code);
    }
    {
        char *argv[] = {prog, totp_opt, hex, now_opt, at, NULL};
        assert_int_equal(run_capture(argv, got, sizeof got), 0);
        chomp(got);
        assert_string_equal(got, code);
    }
}

static void test_oathtool(void **state)
{
    const int64_t times[] = {0,          29,         30,
                             59,         1111111109, 1234567890,
                             2000000000, 4102444799, 20000000000};
    uint8_t secret[TOTP_SECRET_MAX];

    (void)state;
    check_oathtool(RFC_SECRET, RFC_LEN, 1234567890);
    totp_secret_new(secret);
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++)
        check_oathtool(secret, TOTP_SECRET_LEN, times[i]);
    check_oathtool(secret, TOTP_SECRET_LEN, (int64_t)time(NULL));
    /* Other lengths: 16 (the minimum), 17 (Base32 with a partial last
     * character), 64 (the maximum, longer than a SHA-1 block). */
    crypto_random(secret, sizeof secret);
    check_oathtool(secret, 16, (int64_t)time(NULL));
    check_oathtool(secret, 17, 1700000000);
    check_oathtool(secret, TOTP_SECRET_MAX, 1700000000);
    crypto_wipe(secret, sizeof secret);
}

static void test_code_args(void **state)
{
    char code[TOTP_DIGITS + 1];
    const uint64_t max = (uint64_t)INT64_MAX / TOTP_STEP;

    (void)state;
    assert_int_equal(totp_code(NULL, RFC_LEN, 1, code), MAMORI_EINVAL);
    assert_int_equal(totp_code(RFC_SECRET, 0, 1, code), MAMORI_EINVAL);
    assert_int_equal(totp_code(RFC_SECRET, TOTP_SECRET_MIN - 1, 1, code),
                     MAMORI_EINVAL);
    assert_int_equal(totp_code(RFC_SECRET, RFC_LEN, 1, NULL), MAMORI_EINVAL);
    assert_int_equal(totp_code(RFC_SECRET, RFC_LEN, max + 1, code),
                     MAMORI_EINVAL);
    assert_int_equal(totp_code(RFC_SECRET, RFC_LEN, UINT64_MAX, code),
                     MAMORI_EINVAL);
    assert_int_equal(totp_code(RFC_SECRET, RFC_LEN, max, code), 0);
    assert_int_equal(strlen(code), TOTP_DIGITS);
}

/* ---- verification ---------------------------------------------------------*/

#define T0 1111111109 /* step 37037036, 29 s into it */

static void code_at(uint64_t step, char out[TOTP_DIGITS + 1])
{
    assert_int_equal(totp_code(RFC_SECRET, RFC_LEN, step, out), 0);
}

static void test_window(void **state)
{
    const uint64_t cur = T0 / TOTP_STEP;
    char c[TOTP_DIGITS + 1];
    uint64_t m;

    (void)state;
    for (int k = -1; k <= 1; k++) {
        code_at(cur + (uint64_t)(int64_t)k, c);
        m = 0;
        assert_int_equal(totp_verify(RFC_SECRET, RFC_LEN, c, T0, 1, 0, &m), 0);
        assert_int_equal(m, cur + (uint64_t)(int64_t)k);
        /* Window 0: only the current step. */
        assert_int_equal(totp_verify(RFC_SECRET, RFC_LEN, c, T0, 0, 0, &m),
                         k == 0 ? 0 : MAMORI_EAUTH);
    }
    for (int k = -2; k <= 2; k += 4) {
        code_at(cur + (uint64_t)(int64_t)k, c);
        m = 12345;
        assert_int_equal(totp_verify(RFC_SECRET, RFC_LEN, c, T0, 1, 0, &m),
                         MAMORI_EAUTH);
        assert_int_equal(m, 12345); /* untouched */
        /* A window of 2 takes it. */
        assert_int_equal(totp_verify(RFC_SECRET, RFC_LEN, c, T0, 2, 0, &m), 0);
    }
    /* Wrong code of the right form. */
    code_at(cur, c);
    c[0] = c[0] == '9' ? '0' : (char)(c[0] + 1);
    assert_int_equal(totp_verify(RFC_SECRET, RFC_LEN, c, T0, 1, 0, &m),
                     MAMORI_EAUTH);
    /* Another secret's code. */
    code_at(cur, c);
    assert_int_equal(totp_verify((const uint8_t *)"abcdefghijklmnopqrst", 20, c,
                                 T0, 1, 0, &m),
                     MAMORI_EAUTH);
    /* Near the epoch: the window does not go below step 0. */
    code_at(0, c);
    assert_int_equal(totp_verify(RFC_SECRET, RFC_LEN, c, 0, 1, 0, &m),
                     MAMORI_EAUTH); /* step 0 <= last_used 0 */
    code_at(1, c);
    assert_int_equal(totp_verify(RFC_SECRET, RFC_LEN, c, 0, 1, 0, &m), 0);
    assert_int_equal(m, 1);
}

static void test_replay(void **state)
{
    const uint64_t cur = T0 / TOTP_STEP;
    char c[TOTP_DIGITS + 1];
    uint64_t m = 0, m2 = 0;

    (void)state;
    code_at(cur, c);
    assert_int_equal(totp_verify(RFC_SECRET, RFC_LEN, c, T0, 1, 0, &m), 0);
    assert_int_equal(m, cur);
    /* The same code again, last_used now cur: refused, at this time and 30
     * seconds later (still in the window). */
    assert_int_equal(totp_verify(RFC_SECRET, RFC_LEN, c, T0, 1, m, &m2),
                     MAMORI_EAUTH);
    assert_int_equal(totp_verify(RFC_SECRET, RFC_LEN, c, T0 + 30, 1, m, &m2),
                     MAMORI_EAUTH);
    /* An earlier step's code after a later one was used: refused. */
    code_at(cur - 1, c);
    assert_int_equal(totp_verify(RFC_SECRET, RFC_LEN, c, T0, 1, cur, &m2),
                     MAMORI_EAUTH);
    assert_int_equal(totp_verify(RFC_SECRET, RFC_LEN, c, T0, 1, cur - 1, &m2),
                     MAMORI_EAUTH);
    assert_int_equal(totp_verify(RFC_SECRET, RFC_LEN, c, T0, 1, cur - 2, &m2),
                     0);
    assert_int_equal(m2, cur - 1);
    /* The next step's code is still good. */
    code_at(cur + 1, c);
    assert_int_equal(totp_verify(RFC_SECRET, RFC_LEN, c, T0, 1, cur, &m2), 0);
    assert_int_equal(m2, cur + 1);
    /* last_used far in the future (clock was wrong once): nothing matches. */
    code_at(cur, c);
    assert_int_equal(
        totp_verify(RFC_SECRET, RFC_LEN, c, T0, 1, UINT64_MAX, &m2),
        MAMORI_EAUTH);
}

/*
 * A code can belong to two steps of one window (one chance in 10^6 per
 * pair). The latest step must be the one returned: storing an earlier one
 * as last_used_step would let the same code through a second time. Steps
 * found by searching the RFC secret's codes (and checked with oathtool):
 * 910737 and 910738 both give 911617; 153567 and 153569 both 468457.
 */
static void test_same_code_two_steps(void **state)
{
    char a[TOTP_DIGITS + 1], b[TOTP_DIGITS + 1];
    uint64_t m = 0, m2 = 0;

    (void)state;
    code_at(910737, a);
    code_at(910738, b);
    assert_string_equal(a, "911617");
    assert_string_equal(b, "911617");
    assert_int_equal(
        totp_verify(RFC_SECRET, RFC_LEN, a, 910737 * 30 + 15, 1, 0, &m), 0);
    assert_int_equal(m, 910738);
    assert_int_equal(
        totp_verify(RFC_SECRET, RFC_LEN, a, 910737 * 30 + 15, 1, m, &m2),
        MAMORI_EAUTH);
    /* last_used between the two: the later one still matches. */
    assert_int_equal(
        totp_verify(RFC_SECRET, RFC_LEN, a, 910737 * 30 + 15, 1, 910737, &m2),
        0);
    assert_int_equal(m2, 910738);

    code_at(153567, a);
    code_at(153569, b);
    assert_string_equal(a, "468457");
    assert_string_equal(b, "468457");
    assert_int_equal(totp_verify(RFC_SECRET, RFC_LEN, a, 153568 * 30, 1, 0, &m),
                     0);
    assert_int_equal(m, 153569);
    assert_int_equal(
        totp_verify(RFC_SECRET, RFC_LEN, a, 153568 * 30, 1, m, &m2),
        MAMORI_EAUTH);
    assert_int_equal(
        totp_verify(RFC_SECRET, RFC_LEN, a, 153568 * 30, 0, 0, &m2),
        MAMORI_EAUTH);
}

static void test_verify_input_forms(void **state)
{
    /* 081804 is the code at T0. */
    static const char *const good[] = {
        "081804",
        "081 804",
        " 081804 ",
        "\xEF\xBC\x90\xEF\xBC\x98\xEF\xBC\x91\xEF\xBC\x98\xEF\xBC\x90\xEF\xBC"
        "\x94", /* ０８１８０４ */
        "\xEF\xBC\x90\xEF\xBC\x98\xEF\xBC\x91\xE3\x80\x80\xEF\xBC\x98\xEF\xBC"
        "\x90\xEF\xBC\x94", /* ０８１　８０４ */
        "08\xEF\xBC\x91"
        "804", /* mixed widths */
    };
    uint64_t m;

    (void)state;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        m = 0;
        assert_int_equal(
            totp_verify(RFC_SECRET, RFC_LEN, good[i], T0, 0, 0, &m), 0);
        assert_int_equal(m, T0 / TOTP_STEP);
    }
}

static void test_verify_malformed(void **state)
{
    static const char *const bad[] = {
        "",
        "     ",
        "08180",    /* 5 digits */
        "0818045",  /* 7 digits */
        "081804 1", /* 7 digits with a space */
        "08l804",   /* letter */
        "O81804",   /* letter O */
        "081-804",  /* dash */
        "081804\n", /* newline */
        "\t081804", /* tab */
        "+81804",
        "-81804",
        "0x1804",
        "081804\xEF\xBC", /* cut full-width digit */
        "\xEF\xBC",
        "\xC0\xB0"
        "81804", /* overlong '0' */
        "\xE0\x80\xB0"
        "81804", /* overlong '0', 3 bytes */
        "\xD9\xA0\xD9\xA8"
        "1804", /* Arabic-Indic digits */
        "\xEF\xBC\x8B"
        "81804", /* full-width plus */
        "\xF0\x9D\x9F\x8E"
        "81804", /* mathematical bold zero */
        "\xE2\x80\x8B"
        "081804", /* zero-width space */
    };
    char big[10 * 1024 + 1], spaced[TOTP_INPUT_MAX + 2];
    uint64_t m = 777;

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(totp_verify(RFC_SECRET, RFC_LEN, bad[i], T0, 1, 0, &m),
                         MAMORI_EINVAL);
    assert_int_equal(totp_verify(RFC_SECRET, RFC_LEN, NULL, T0, 1, 0, &m),
                     MAMORI_EINVAL);
    /* 10 KB: digits, and the right code followed by 10 KB of spaces. */
    memset(big, '1', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(totp_verify(RFC_SECRET, RFC_LEN, big, T0, 1, 0, &m),
                     MAMORI_EINVAL);
    memset(big, ' ', sizeof big - 1);
    memcpy(big, "081804", 6);
    assert_int_equal(totp_verify(RFC_SECRET, RFC_LEN, big, T0, 1, 0, &m),
                     MAMORI_EINVAL);
    /* The length limit is exact: TOTP_INPUT_MAX bytes pass, one more not. */
    memset(spaced, ' ', sizeof spaced);
    memcpy(spaced, "081804", 6);
    spaced[TOTP_INPUT_MAX] = '\0';
    assert_int_equal(totp_verify(RFC_SECRET, RFC_LEN, spaced, T0, 1, 0, &m), 0);
    spaced[TOTP_INPUT_MAX] = ' ';
    spaced[TOTP_INPUT_MAX + 1] = '\0';
    assert_int_equal(totp_verify(RFC_SECRET, RFC_LEN, spaced, T0, 1, 0, &m),
                     MAMORI_EINVAL);
    /* Bad arguments. */
    m = 777;
    assert_int_equal(totp_verify(NULL, RFC_LEN, "081804", T0, 1, 0, &m),
                     MAMORI_EINVAL);
    assert_int_equal(totp_verify(RFC_SECRET, 8, "081804", T0, 1, 0, &m),
                     MAMORI_EINVAL);
    assert_int_equal(totp_verify(RFC_SECRET, RFC_LEN, "081804", -1, 1, 0, &m),
                     MAMORI_EINVAL);
    assert_int_equal(
        totp_verify(RFC_SECRET, RFC_LEN, "081804", INT64_MIN, 1, 0, &m),
        MAMORI_EINVAL);
    assert_int_equal(totp_verify(RFC_SECRET, RFC_LEN, "081804", T0, -1, 0, &m),
                     MAMORI_EINVAL);
    assert_int_equal(totp_verify(RFC_SECRET, RFC_LEN, "081804", T0,
                                 TOTP_WINDOW_MAX + 1, 0, &m),
                     MAMORI_EINVAL);
    assert_int_equal(totp_verify(RFC_SECRET, RFC_LEN, "081804", T0, 1, 0, NULL),
                     MAMORI_EINVAL);
    assert_int_equal(m, 777);
    /* The far end of time: steps past time_t are skipped, not wrapped. */
    assert_int_equal(
        totp_verify(RFC_SECRET, RFC_LEN, "081804", INT64_MAX, 1, 0, &m),
        MAMORI_EAUTH);
}

/* ---- otpauth URI ---------------------------------------------------------*/

static void test_uri(void **state)
{
    char *uri = NULL;
    char name[TOTP_NAME_MAX + 2];

    (void)state;
    assert_int_equal(totp_uri("mamori", "admin", RFC_SECRET, RFC_LEN, &uri), 0);
    assert_string_equal(uri, "otpauth://totp/mamori:admin"
                             "?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
                             "&issuer=mamori&algorithm=SHA1&digits=6"
                             "&period=30");
    crypto_wipe_free_str(uri);

    /* Spaces, '&', ':', Japanese; unreserved "~._-" kept. */
    assert_int_equal(totp_uri("Mamori Corp & Co:東京", "山田 太郎:a&b~x.y_z-1",
                              RFC_SECRET, RFC_LEN, &uri),
                     0);
    assert_string_equal(
        uri, "otpauth://totp/Mamori%20Corp%20%26%20Co%3A%E6%9D%B1%E4%BA%AC"
             ":%E5%B1%B1%E7%94%B0%20%E5%A4%AA%E9%83%8E%3Aa%26b~x.y_z-1"
             "?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
             "&issuer=Mamori%20Corp%20%26%20Co%3A%E6%9D%B1%E4%BA%AC"
             "&algorithm=SHA1&digits=6&period=30");
    crypto_wipe_free_str(uri);

    /* Reserved and special ASCII all encoded. */
    assert_int_equal(
        totp_uri("a/b?c#d%e+f=g", "x@y", RFC_SECRET, RFC_LEN, &uri), 0);
    assert_string_equal(uri, "otpauth://totp/a%2Fb%3Fc%23d%25e%2Bf%3Dg:x%40y"
                             "?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
                             "&issuer=a%2Fb%3Fc%23d%25e%2Bf%3Dg"
                             "&algorithm=SHA1&digits=6&period=30");
    crypto_wipe_free_str(uri);

    /* Length limit: TOTP_NAME_MAX bytes pass, one more is ETOOBIG. */
    memset(name, 'n', sizeof name);
    name[TOTP_NAME_MAX] = '\0';
    assert_int_equal(totp_uri(name, name, RFC_SECRET, RFC_LEN, &uri), 0);
    assert_non_null(uri);
    crypto_wipe_free_str(uri);
    name[TOTP_NAME_MAX] = 'n';
    name[TOTP_NAME_MAX + 1] = '\0';
    uri = (char *)1;
    assert_int_equal(totp_uri(name, "a", RFC_SECRET, RFC_LEN, &uri),
                     MAMORI_ETOOBIG);
    assert_null(uri);
    assert_int_equal(totp_uri("a", name, RFC_SECRET, RFC_LEN, &uri),
                     MAMORI_ETOOBIG);

    /* Bad names and secrets. */
    {
        static const char *const bad[] = {
            "",         "tab\there", "nl\n",     "del\x7F",     "\302\205c1",
            "\xFF\xFE", "\xE6\x9D",  "\xC0\xAF", "\xED\xA0\x80" /* UTF-16
                                                                   surrogate */
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            assert_int_equal(totp_uri(bad[i], "a", RFC_SECRET, RFC_LEN, &uri),
                             MAMORI_EINVAL);
            assert_null(uri);
            assert_int_equal(totp_uri("a", bad[i], RFC_SECRET, RFC_LEN, &uri),
                             MAMORI_EINVAL);
        }
    }
    assert_int_equal(totp_uri(NULL, "a", RFC_SECRET, RFC_LEN, &uri),
                     MAMORI_EINVAL);
    assert_int_equal(totp_uri("a", NULL, RFC_SECRET, RFC_LEN, &uri),
                     MAMORI_EINVAL);
    assert_int_equal(totp_uri("a", "b", NULL, RFC_LEN, &uri), MAMORI_EINVAL);
    assert_int_equal(totp_uri("a", "b", RFC_SECRET, 10, &uri), MAMORI_EINVAL);
    assert_null(uri);
    assert_int_equal(totp_uri("a", "b", RFC_SECRET, RFC_LEN, NULL),
                     MAMORI_EINVAL);
}

/* ---- QR text --------------------------------------------------------------*/

/*
 * Reads QR text back into modules as a dark-background terminal shows it:
 * glyphs light (1), spaces and the unpainted half-cells dark (0). Checks
 * that only the four glyphs occur, every line ends in '\n' and all lines
 * have the same width. Returns a malloc'd w x h grid.
 */
static uint8_t *qr_parse(const char *t, int *w, int *h)
{
    int lines = 0, width = -1, cells = 0, line = 0;
    uint8_t *g;
    const char *p;

    for (p = t; *p; p++)
        if (*p == '\n')
            lines++;
    assert_true(lines > 0);
    assert_int_equal(t[strlen(t) - 1], '\n');
    /* Cells of the first line. */
    for (p = t; *p != '\n' && *p != '\0'; p += *p == ' ' ? 1 : 3)
        cells++;
    width = cells;
    g = calloc((size_t)width * (size_t)lines * 2, 1);
    assert_non_null(g);
    cells = 0;
    p = t;
    while (*p) {
        int top, bot;

        if (*p == '\n') {
            assert_int_equal(cells, width);
            cells = 0;
            line++;
            p++;
            continue;
        }
        if (*p == ' ') {
            top = bot = 0;
            p++;
        } else {
            assert_true((unsigned char)p[0] == 0xE2 &&
                        (unsigned char)p[1] == 0x96);
            switch ((unsigned char)p[2]) {
            case 0x88:
                top = bot = 1;
                break;
            case 0x80:
                top = 1;
                bot = 0;
                break;
            case 0x84:
                top = 0;
                bot = 1;
                break;
            default:
                fail_msg("unexpected glyph");
                return NULL;
            }
            p += 3;
        }
        assert_true(cells < width);
        g[(size_t)(2 * line) * (size_t)width + (size_t)cells] = (uint8_t)top;
        g[(size_t)(2 * line + 1) * (size_t)width + (size_t)cells] =
            (uint8_t)bot;
        cells++;
    }
    assert_int_equal(line, lines);
    *w = width;
    *h = 2 * lines;
    return g;
}

/* Writes the grid as a binary PGM, scale pixels per module, light = white,
 * into a new temp file whose name goes into path. */
static void write_pgm(const uint8_t *g, int w, int h, int scale, char *path,
                      size_t size)
{
    FILE *f;
    int fd;

    snprintf(path, size, "/tmp/mamori-totp-qr.XXXXXX.pgm");
    fd = mkstemps(path, 4);
    assert_true(fd >= 0);
    f = fdopen(fd, "wb");
    assert_non_null(f);
    fprintf(f, "P5\n%d %d\n255\n", w * scale, h * scale);
    for (int y = 0; y < h * scale; y++)
        for (int x = 0; x < w * scale; x++) {
            int light =
                g[(size_t)(y / scale) * (size_t)w + (size_t)(x / scale)];

            assert_true(fputc(light ? 255 : 0, f) != EOF);
        }
    assert_int_equal(fclose(f), 0);
}

/* Renders text as QR, checks the layout, decodes it with zbarimg and
 * compares. */
static void qr_roundtrip(const char *text)
{
    char *qr = NULL, path[64], got[4096];
    char prog[] = "zbarimg", raw[] = "--raw", quiet[] = "-q";
    uint8_t *g;
    int w = 0, h = 0;

    assert_int_equal(totp_qr_text(text, &qr), 0);
    assert_non_null(qr);
    g = qr_parse(qr, &w, &h);
    /* Square symbol of 21..177 modules plus the quiet zone; the odd last
     * half-row is the unpainted background. */
    assert_true(w >= 21 + 8 && w <= 177 + 8 && (w - 21 - 8) % 4 == 0);
    assert_int_equal(h, w + 1);
    for (int x = 0; x < w; x++)
        assert_int_equal(g[(size_t)(h - 1) * (size_t)w + (size_t)x], 0);
    /* Quiet zone: 4 light modules on every side. */
    for (int y = 0; y < w; y++)
        for (int x = 0; x < w; x++)
            if (x < 4 || y < 4 || x >= w - 4 || y >= w - 4)
                assert_int_equal(g[(size_t)y * (size_t)w + (size_t)x], 1);
    /* Polarity: the finder pattern's corner module is dark, the ring inside
     * it light, its centre dark. */
    assert_int_equal(g[4 * (size_t)w + 4], 0);
    assert_int_equal(g[5 * (size_t)w + 5], 1);
    assert_int_equal(g[7 * (size_t)w + 7], 0);

    write_pgm(g, w, h, 4, path, sizeof path);
    {
        char *argv[] = {prog, raw, quiet, path, NULL};
        int rc = run_capture(argv, got, sizeof got);

        unlink(path);
        assert_int_equal(rc, 0);
    }
    chomp(got);
    assert_string_equal(got, text);
    free(g);
    crypto_wipe_free_str(qr);
}

static void test_qr_zbarimg(void **state)
{
    char *uri = NULL;
    uint8_t secret[TOTP_SECRET_LEN];
    char name[TOTP_NAME_MAX + 1];

    (void)state;
    qr_roundtrip("hello");
    totp_secret_new(secret);
    assert_int_equal(totp_uri("mamori", "admin", secret, sizeof secret, &uri),
                     0);
    qr_roundtrip(uri);
    crypto_wipe_free_str(uri);
    assert_int_equal(
        totp_uri("守り 株式会社", "山田 太郎:a&b", secret, sizeof secret, &uri),
        0);
    qr_roundtrip(uri);
    crypto_wipe_free_str(uri);
    /* The longest URI we build (both names at their limit, all encoded). */
    for (size_t i = 0; i + 3 <= TOTP_NAME_MAX; i += 3)
        memcpy(name + i, "東", 3);
    name[TOTP_NAME_MAX / 3 * 3] = '\0';
    assert_int_equal(totp_uri(name, name, secret, sizeof secret, &uri), 0);
    qr_roundtrip(uri);
    crypto_wipe_free_str(uri);
    crypto_wipe(secret, sizeof secret);
}

static void test_qr_limits(void **state)
{
    char *qr = (char *)1;
    char *big;

    (void)state;
    assert_int_equal(totp_qr_text(NULL, &qr), MAMORI_EINVAL);
    assert_null(qr);
    assert_int_equal(totp_qr_text("", &qr), MAMORI_EINVAL);
    assert_null(qr);
    assert_int_equal(totp_qr_text("x", NULL), MAMORI_EINVAL);
    big = malloc(TOTP_QR_TEXT_MAX + 2);
    assert_non_null(big);
    memset(big, 'x', TOTP_QR_TEXT_MAX + 1);
    big[TOTP_QR_TEXT_MAX + 1] = '\0';
    assert_int_equal(totp_qr_text(big, &qr), MAMORI_ETOOBIG);
    assert_null(qr);
    /* TOTP_QR_TEXT_MAX bytes still fit in a version-40 M symbol. */
    big[TOTP_QR_TEXT_MAX] = '\0';
    assert_int_equal(totp_qr_text(big, &qr), 0);
    assert_non_null(qr);
    free(qr);
    free(big);
}

/* ---- recovery codes
 * --------------------------------------------------------*/

static const char ALPHABET[] = "23456789ABCDEFGHJKMNPQRSTUVWXYZ";

static int cmp_codes(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void test_recovery_new(void **state)
{
    enum { N = 1000 };
    static char codes[N][TOTP_RECOVERY_LEN + 1];
    size_t seen[256] = {0};

    (void)state;
    assert_int_equal(strlen(ALPHABET), 31);
    for (int i = 0; i < N; i++) {
        char norm[TOTP_RECOVERY_CHARS + 1];

        totp_recovery_new(codes[i]);
        assert_int_equal(strlen(codes[i]), TOTP_RECOVERY_LEN);
        assert_int_equal(codes[i][5], '-');
        for (int j = 0; j < TOTP_RECOVERY_LEN; j++) {
            if (j == 5)
                continue;
            assert_non_null(strchr(ALPHABET, codes[i][j]));
            seen[(unsigned char)codes[i][j]]++;
        }
        /* Its own normal form is itself without the dash. */
        assert_int_equal(totp_recovery_normalise(codes[i], norm), 0);
        assert_memory_equal(norm, codes[i], 5);
        assert_memory_equal(norm + 5, codes[i] + 6, 5);
    }
    /* Every character of the alphabet turns up (each expected ~322 times
     * in 10000 draws), none outside it. */
    for (const char *a = ALPHABET; *a; a++)
        assert_true(seen[(unsigned char)*a] > 150);
    for (const char *x = "01ILO"; *x; x++)
        assert_int_equal(seen[(unsigned char)*x], 0);
    qsort(codes, N, sizeof codes[0], cmp_codes);
    for (int i = 1; i < N; i++)
        assert_string_not_equal(codes[i - 1], codes[i]);
}

/*
 * Uniformity: 100000 characters over the 31-letter alphabet, chi-square
 * with 30 degrees of freedom. The 1-in-10^6 critical value is about 83; a
 * plain "byte % 31" without rejection (8 letters at 9/256, the others at
 * 8/256) scores around 280.
 */
static void test_recovery_uniform(void **state)
{
    enum { CODES = 10000 };
    size_t count[256] = {0};
    const double expect = CODES * 10.0 / 31.0;
    double chi2 = 0;

    (void)state;
    for (int i = 0; i < CODES; i++) {
        char c[TOTP_RECOVERY_LEN + 1];

        totp_recovery_new(c);
        for (int j = 0; j < TOTP_RECOVERY_LEN; j++)
            if (j != 5)
                count[(unsigned char)c[j]]++;
    }
    for (const char *a = ALPHABET; *a; a++) {
        double d = (double)count[(unsigned char)*a] - expect;

        chi2 += d * d / expect;
    }
    assert_true(chi2 < 90.0);
}

static void test_recovery_normalise(void **state)
{
    static const char *const good[] = {
        "ABCDE-FGHJK", "abcde-fghjk", "AbCdE fGhJk", "abcdefghjk",
        " abcde - fghjk ", "ABCDE--FGHJK",
        /* ＡＢＣＤＥ－ＦＧＨＪＫ */
        "\xEF\xBC\xA1\xEF\xBC\xA2\xEF\xBC\xA3\xEF\xBC\xA4\xEF\xBC\xA5\xEF\xBC"
        "\x8D\xEF\xBC\xA6\xEF\xBC\xA7\xEF\xBC\xA8\xEF\xBC\xAA\xEF\xBC\xAB",
        /* ａｂｃｄｅ　ｆｇｈｊｋ (full-width lower case, ideographic space) */
        "\xEF\xBD\x81\xEF\xBD\x82\xEF\xBD\x83\xEF\xBD\x84\xEF\xBD\x85\xE3\x80"
        "\x80\xEF\xBD\x86\xEF\xBD\x87\xEF\xBD\x88\xEF\xBD\x8A\xEF\xBD\x8B",
        "ABCDE\xE3\x83\xBC"
        "FGHJK", /* ー typed by an IME for '-' */
        "ABCDE\xE2\x88\x92"
        "FGHJK", /* − minus sign */
        "ABCDE\xEF\xBD\xB0"
        "FGHJK", /* ｰ half-width long vowel */
    };
    static const char *const bad[] = {
        "",
        "-----",
        "ABCDE-FGHJ",   /* 9 */
        "ABCDE-FGHJKM", /* 11 */
        "ABCDE-FGHJ0",  /* zero */
        "ABCDE-FGHJO",  /* letter O */
        "ABCDE-FGHJ1",  /* one */
        "ABCDE-FGHJI",  /* letter I */
        "ABCDE-FGHJL",  /* letter L */
        "abcde-fghji",  /* i folds to I */
        "ABCDE_FGHJK",  /* underscore is not a separator */
        "ABCDE.FGHJK",
        "ABCDE\tFGHJK",
        "ABCDE-FGHJK\n",
        "ABCDE-FGHJ\xEF\xBC",     /* cut full-width character */
        "ABCDE-FGHJ\xC3\x89",     /* É */
        "ABCDE-FGHJ\xE3\x82\xAB", /* カ */
        "\357\274\257BCDE-FGHJK", /* full-width O */
        "ABCDE-FGHJ\xC5\xBF",     /* long s, which some case folds make 'S' */
    };
    char out[TOTP_RECOVERY_CHARS + 1];
    char big[10 * 1024 + 1], edge[TOTP_INPUT_MAX + 2];

    (void)state;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        memset(out, 'x', sizeof out);
        assert_int_equal(totp_recovery_normalise(good[i], out), 0);
        assert_string_equal(out, "ABCDEFGHJK");
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(out, 'x', sizeof out);
        assert_int_equal(totp_recovery_normalise(bad[i], out), MAMORI_EINVAL);
        assert_int_equal(out[0], '\0');
    }
    assert_int_equal(totp_recovery_normalise(NULL, out), MAMORI_EINVAL);
    assert_int_equal(totp_recovery_normalise("ABCDE-FGHJK", NULL),
                     MAMORI_EINVAL);
    /* 10 KB: letters, and a good code padded with spaces. */
    memset(big, 'A', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(totp_recovery_normalise(big, out), MAMORI_EINVAL);
    memset(big, ' ', sizeof big - 1);
    memcpy(big, "ABCDE-FGHJK", 11);
    assert_int_equal(totp_recovery_normalise(big, out), MAMORI_EINVAL);
    /* Exact length limit. */
    memset(edge, ' ', sizeof edge);
    memcpy(edge, "ABCDE-FGHJK", 11);
    edge[TOTP_INPUT_MAX] = '\0';
    assert_int_equal(totp_recovery_normalise(edge, out), 0);
    edge[TOTP_INPUT_MAX] = ' ';
    edge[TOTP_INPUT_MAX + 1] = '\0';
    assert_int_equal(totp_recovery_normalise(edge, out), MAMORI_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc6238_vectors),
        cmocka_unit_test(test_base32),
        cmocka_unit_test(test_secret_new),
        cmocka_unit_test(test_oathtool),
        cmocka_unit_test(test_code_args),
        cmocka_unit_test(test_window),
        cmocka_unit_test(test_replay),
        cmocka_unit_test(test_same_code_two_steps),
        cmocka_unit_test(test_verify_input_forms),
        cmocka_unit_test(test_verify_malformed),
        cmocka_unit_test(test_uri),
        cmocka_unit_test(test_qr_zbarimg),
        cmocka_unit_test(test_qr_limits),
        cmocka_unit_test(test_recovery_new),
        cmocka_unit_test(test_recovery_uniform),
        cmocka_unit_test(test_recovery_normalise),
    };

    return cmocka_run_group_tests(tests, setup, NULL);
}
