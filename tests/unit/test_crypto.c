/*
 * test_crypto.c - lib/crypto.c: known answers (SHA-256, HMAC-SHA-256 from
 * RFC 4231, AES-256-GCM from the GCM spec), tampering, encoders, UUIDs,
 * Ed25519, password hashing, random generator after fork().
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "crypto.h"
#include "banned.h"

/* Decodes a hex literal of a test vector (test input, assumed valid). */
static size_t unhex(const char *s, uint8_t *out, size_t max)
{
    long n = crypto_unhex(s, strlen(s), out, max);

    assert_true(n >= 0);
    return (size_t)n;
}

static void assert_hex(const uint8_t *p, size_t len, const char *want)
{
    char got[2 * 64 + 1];

    assert_true(len <= 64);
    crypto_hex(p, len, got);
    assert_string_equal(got, want);
}

static int setup(void **state)
{
    (void)state;
    return crypto_init();
}

/* ---- SHA-256, HMAC, KDF -------------------------------------------------- */

static void test_init_twice(void **state)
{
    (void)state;
    assert_int_equal(crypto_init(), 0);
    assert_int_equal(crypto_init(), 0);
}

static void test_sha256_kat(void **state)
{
    uint8_t out[32];
    char *big;

    (void)state;
    crypto_sha256("abc", 3, out);
    assert_hex(out, 32,
               "ba7816bf8f01cfea414140de5dae2223"
               "b00361a396177a9cb410ff61f20015ad");
    crypto_sha256(NULL, 0, out);
    assert_hex(out, 32,
               "e3b0c44298fc1c149afbf4c8996fb924"
               "27ae41e4649b934ca495991b7852b855");
    big = malloc(1000000);
    assert_non_null(big);
    memset(big, 'a', 1000000);
    crypto_sha256(big, 1000000, out);
    free(big);
    assert_hex(out, 32,
               "cdc76e5c9914fb9281a1c7e284d73e67"
               "f1809a48a497200e046d39ccc7112cd0");
}

struct hmac_vec {
    const uint8_t *key;
    size_t keylen;
    const char *msg;
    const char *mac;
};

static const uint8_t key_tc1[20] = {0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
                                    0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
                                    0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b};
static uint8_t key_tc6[131]; /* 0xaa x 131, set in the test */

static void check_hmac_vec(const struct hmac_vec *v)
{
    struct crypto_part one = {v->msg, strlen(v->msg)};
    struct crypto_part split[4];
    struct crypto_hmac_key *hk;
    size_t len = strlen(v->msg), cut = len / 3;
    uint8_t out[CRYPTO_MAC_LEN];

    crypto_hmac(v->key, v->keylen, &one, 1, out);
    assert_hex(out, sizeof(out), v->mac);

    hk = crypto_hmac_key_new(v->key, v->keylen);
    assert_non_null(hk);
    memset(out, 0, sizeof(out));
    crypto_hmac_run(hk, &one, 1, out);
    assert_hex(out, sizeof(out), v->mac);
    /* The precomputed state is not consumed by a run. */
    memset(out, 0, sizeof(out));
    crypto_hmac_run(hk, &one, 1, out);
    assert_hex(out, sizeof(out), v->mac);

    /* The same message in parts, with an empty part in between. */
    split[0].p = v->msg;
    split[0].len = cut;
    split[1].p = NULL;
    split[1].len = 0;
    split[2].p = v->msg + cut;
    split[2].len = len - 2 * cut;
    split[3].p = v->msg + len - cut;
    split[3].len = cut;
    memset(out, 0, sizeof(out));
    crypto_hmac_run(hk, split, 4, out);
    assert_hex(out, sizeof(out), v->mac);
    memset(out, 0, sizeof(out));
    crypto_hmac(v->key, v->keylen, split, 4, out);
    assert_hex(out, sizeof(out), v->mac);
    crypto_hmac_key_free(hk);
}

static void test_hmac_rfc4231(void **state)
{
    struct hmac_vec tc1 = {key_tc1, sizeof(key_tc1), "Hi There",
                           "b0344c61d8db38535ca8afceaf0bf12b"
                           "881dc200c9833da726e9376c2e32cff7"};
    struct hmac_vec tc2 = {(const uint8_t *)"Jefe", 4,
                           "what do ya want for nothing?",
                           "5bdcc146bf60754e6a042426089575c7"
                           "5a003f089d2739839dec58b964ec3843"};
    struct hmac_vec tc6 = {key_tc6, sizeof(key_tc6),
                           "Test Using Larger Than Block-Size Key - Hash Key "
                           "First",
                           "60e431591ee0b67f0d8a26aacbf5b77f"
                           "8e0bc6213728c5140546040f0ee37f54"};

    (void)state;
    memset(key_tc6, 0xaa, sizeof(key_tc6));
    check_hmac_vec(&tc1);
    check_hmac_vec(&tc2);
    check_hmac_vec(&tc6);
    crypto_hmac_key_free(NULL); /* harmless */
}

static void test_hmac_keys_differ(void **state)
{
    uint8_t k1[32] = {1}, k2[32] = {2}, a[32], b[32];
    struct crypto_part m = {"value", 5};

    (void)state;
    crypto_hmac(k1, sizeof(k1), &m, 1, a);
    crypto_hmac(k2, sizeof(k2), &m, 1, b);
    assert_false(crypto_equal(a, b, 32));
    /* A zero-padded key of 32 bytes equals the same key of 31 bytes plus a
     * zero byte in HMAC: a known property, pinned so no one relies on the
     * contrary. */
    crypto_hmac(k1, 31, &m, 1, b);
    crypto_hmac(k1, 32, &m, 1, a);
    assert_memory_equal(a, b, 32);
}

static void test_kdf(void **state)
{
    uint8_t key[CRYPTO_KEY_LEN], a[32], b[32], c[32];
    static const uint8_t zero = 0;
    struct crypto_part parts[3] = {{"label", 5}, {&zero, 1}, {"ctx", 3}};

    (void)state;
    crypto_random(key, sizeof(key));
    crypto_kdf(key, "label", "ctx", 3, a);
    crypto_hmac(key, sizeof(key), parts, 3, b);
    assert_memory_equal(a, b, 32);
    crypto_kdf(key, "label", NULL, 0, c);
    assert_false(crypto_equal(a, c, 32));
    crypto_kdf(key, "other", "ctx", 3, c);
    assert_false(crypto_equal(a, c, 32));
    /* "lab" || 0 || "el..." must not collide with "label" || 0 || ... */
    crypto_kdf(key, "lab", "el\0ctx", 6, c);
    assert_false(crypto_equal(a, c, 32));
    /* in place */
    memcpy(c, key, 32);
    crypto_kdf(c, "label", "ctx", 3, c);
    assert_memory_equal(a, c, 32);
}

struct hmac_thread {
    const struct crypto_hmac_key *hk;
    const uint8_t *want;
    int ok;
};

static void *hmac_worker(void *p)
{
    struct hmac_thread *t = p;
    struct crypto_part m = {"shared message", 14};
    uint8_t out[32];
    int i;

    t->ok = 1;
    for (i = 0; i < 20000; i++) {
        crypto_hmac_run(t->hk, &m, 1, out);
        if (memcmp(out, t->want, 32) != 0)
            t->ok = 0;
    }
    return NULL;
}

static void test_hmac_key_threads(void **state)
{
    uint8_t key[32], want[32];
    struct crypto_part m = {"shared message", 14};
    struct crypto_hmac_key *hk;
    struct hmac_thread t[2];
    pthread_t th[2];
    int i;

    (void)state;
    crypto_random(key, sizeof(key));
    crypto_hmac(key, sizeof(key), &m, 1, want);
    hk = crypto_hmac_key_new(key, sizeof(key));
    assert_non_null(hk);
    for (i = 0; i < 2; i++) {
        t[i].hk = hk;
        t[i].want = want;
        t[i].ok = 0;
        assert_int_equal(pthread_create(&th[i], NULL, hmac_worker, &t[i]), 0);
    }
    for (i = 0; i < 2; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_true(t[i].ok);
    }
    crypto_hmac_key_free(hk);
}

/* ---- AES-256-GCM --------------------------------------------------------- */

static void test_aead_roundtrip(void **state)
{
    static const size_t lens[] = {0, 1, 15, 16, 17, 255, 4096, 1 << 20};
    uint8_t key[CRYPTO_KEY_LEN];
    size_t i;

    (void)state;
    crypto_random(key, sizeof(key));
    for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        size_t n = lens[i];
        uint8_t *pt = malloc(n + 1), *ct = malloc(n + CRYPTO_AEAD_OVERHEAD);
        uint8_t *back = malloc(n + 1);
        const char *ad = i % 2 ? "vault|dataset|record|1" : NULL;
        size_t adlen = ad != NULL ? strlen(ad) : 0;

        assert_non_null(pt);
        assert_non_null(ct);
        assert_non_null(back);
        crypto_random(pt, n);
        assert_int_equal(crypto_aead_encrypt(key, ad, adlen, pt, n, ct), 0);
        if (n >= 16)
            assert_memory_not_equal(ct + CRYPTO_NONCE_LEN, pt, 16);
        assert_int_equal(crypto_aead_decrypt(key, ad, adlen, ct,
                                             n + CRYPTO_AEAD_OVERHEAD,
                                             n > 0 ? back : NULL),
                         0);
        if (n > 0)
            assert_memory_equal(back, pt, n);
        free(pt);
        free(ct);
        free(back);
    }
}

static void test_aead_tamper(void **state)
{
    uint8_t key[CRYPTO_KEY_LEN], other[CRYPTO_KEY_LEN];
    uint8_t pt[100], ct[100 + CRYPTO_AEAD_OVERHEAD], bad[sizeof(ct)];
    uint8_t out[100], zero[100] = {0};
    const char ad[] = "vault-1|dataset-1|record-1|3";
    size_t positions[] = {0,
                          11,
                          CRYPTO_NONCE_LEN,
                          CRYPTO_NONCE_LEN + 50,
                          CRYPTO_NONCE_LEN + 99,
                          CRYPTO_NONCE_LEN + 100,
                          sizeof(ct) - 1};
    size_t i;
    int bit;

    (void)state;
    crypto_random(key, sizeof(key));
    memcpy(other, key, sizeof(key));
    other[31] ^= 1;
    crypto_random(pt, sizeof(pt));
    assert_int_equal(
        crypto_aead_encrypt(key, ad, strlen(ad), pt, sizeof(pt), ct), 0);

    /* a flipped bit in nonce, ciphertext or tag */
    for (i = 0; i < sizeof(positions) / sizeof(positions[0]); i++) {
        for (bit = 0; bit < 8; bit += 7) {
            memcpy(bad, ct, sizeof(ct));
            bad[positions[i]] ^= (uint8_t)(1u << bit);
            memset(out, 0xa5, sizeof(out));
            assert_int_equal(
                crypto_aead_decrypt(key, ad, strlen(ad), bad, sizeof(bad), out),
                -1);
            /* out is wiped on failure */
            assert_memory_equal(out, zero, sizeof(out));
        }
    }
    /* a flipped bit in the AD, a shorter or longer AD, no AD */
    {
        char ad2[sizeof(ad)];

        memcpy(ad2, ad, sizeof(ad));
        ad2[5] ^= 0x01;
        assert_int_equal(
            crypto_aead_decrypt(key, ad2, strlen(ad2), ct, sizeof(ct), out),
            -1);
        assert_int_equal(
            crypto_aead_decrypt(key, ad, strlen(ad) - 1, ct, sizeof(ct), out),
            -1);
        assert_int_equal(crypto_aead_decrypt(key, NULL, 0, ct, sizeof(ct), out),
                         -1);
    }
    /* wrong key, then the right key again (the per-thread key cache) */
    assert_int_equal(
        crypto_aead_decrypt(other, ad, strlen(ad), ct, sizeof(ct), out), -1);
    assert_int_equal(
        crypto_aead_decrypt(key, ad, strlen(ad), ct, sizeof(ct), out), 0);
    assert_memory_equal(out, pt, sizeof(pt));
    /* truncated: lost tag bytes, or shorter than nonce + tag */
    assert_int_equal(
        crypto_aead_decrypt(key, ad, strlen(ad), ct, sizeof(ct) - 1, out), -1);
    assert_int_equal(crypto_aead_decrypt(key, ad, strlen(ad), ct,
                                         CRYPTO_AEAD_OVERHEAD - 1, out),
                     -1);
    assert_int_equal(crypto_aead_decrypt(key, ad, strlen(ad), ct, 0, out), -1);
    /* bad arguments */
    assert_int_equal(
        crypto_aead_decrypt(NULL, ad, strlen(ad), ct, sizeof(ct), out), -1);
    assert_int_equal(crypto_aead_encrypt(key, NULL, 5, pt, sizeof(pt), bad),
                     -1);
    assert_int_equal(crypto_aead_encrypt(key, ad, strlen(ad), NULL, 5, bad),
                     -1);
    assert_int_equal(
        crypto_aead_encrypt(key, ad, strlen(ad), pt, SIZE_MAX, bad), -1);
}

/* Known answers: nonce || ciphertext || tag from the GCM specification
 * (test cases 14 and 16, AES-256), through the decrypt path. */
static void test_aead_kat(void **state)
{
    uint8_t key[32], ct[12 + 60 + 16], out[60], want[60], aad[20];
    size_t n;

    (void)state;
    /* test case 14: zero key, zero nonce, one zero block */
    memset(key, 0, sizeof(key));
    n = unhex("000000000000000000000000"
              "cea7403d4d606b6e074ec5d3baf39d18"
              "d0d1c8a799996bf0265b98b5d48ab919",
              ct, sizeof(ct));
    assert_int_equal(n, 44);
    memset(out, 0xff, 16);
    assert_int_equal(crypto_aead_decrypt(key, NULL, 0, ct, n, out), 0);
    memset(want, 0, 16);
    assert_memory_equal(out, want, 16);

    /* test case 16: with AAD, 60-byte plaintext; twice (the second run
     * reuses the thread's key schedule) */
    unhex("feffe9928665731c6d6a8f9467308308"
          "feffe9928665731c6d6a8f9467308308",
          key, sizeof(key));
    unhex("feedfacedeadbeeffeedfacedeadbeefabaddad2", aad, sizeof(aad));
    unhex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
          "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
          want, sizeof(want));
    n = unhex("cafebabefacedbaddecaf888"
              "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1"
              "aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
              "76fc6ece0f4e1768cddf8853bb2d551b",
              ct, sizeof(ct));
    assert_int_equal(n, sizeof(ct));
    assert_int_equal(crypto_aead_decrypt(key, aad, sizeof(aad), ct, n, out), 0);
    assert_memory_equal(out, want, sizeof(want));
    memset(out, 0, sizeof(out));
    assert_int_equal(crypto_aead_decrypt(key, aad, sizeof(aad), ct, n, out), 0);
    assert_memory_equal(out, want, sizeof(want));
    /* and our encryption of it decrypts the same way */
    {
        uint8_t mine[sizeof(ct)];

        assert_int_equal(crypto_aead_encrypt(key, aad, sizeof(aad), want,
                                             sizeof(want), mine),
                         0);
        assert_int_equal(
            crypto_aead_decrypt(key, aad, sizeof(aad), mine, sizeof(mine), out),
            0);
        assert_memory_equal(out, want, sizeof(want));
    }
}

static void test_aead_key_switch(void **state)
{
    uint8_t k[3][CRYPTO_KEY_LEN], ct[6][16 + CRYPTO_AEAD_OVERHEAD], out[16];
    const char msg[16] = "fifteen bytes..";
    int i, j;

    (void)state;
    for (i = 0; i < 3; i++)
        crypto_random(k[i], CRYPTO_KEY_LEN);
    /* interleave keys so the cached key schedule changes between calls */
    for (i = 0; i < 6; i++)
        assert_int_equal(crypto_aead_encrypt(k[i % 3], "ad", 2, msg, 16, ct[i]),
                         0);
    for (i = 5; i >= 0; i--) {
        for (j = 0; j < 3; j++) {
            int rc =
                crypto_aead_decrypt(k[j], "ad", 2, ct[i], sizeof(ct[i]), out);

            assert_int_equal(rc, j == i % 3 ? 0 : -1);
            if (rc == 0)
                assert_memory_equal(out, msg, 16);
        }
    }
}

static int cmp_nonce(const void *a, const void *b)
{
    return memcmp(a, b, CRYPTO_NONCE_LEN);
}

static void test_aead_nonces_unique(void **state)
{
    enum { N = 10000 };
    uint8_t key[CRYPTO_KEY_LEN], ct[CRYPTO_AEAD_OVERHEAD + 1];
    uint8_t(*nonces)[CRYPTO_NONCE_LEN] = malloc(N * CRYPTO_NONCE_LEN);
    int i;

    (void)state;
    assert_non_null(nonces);
    crypto_random(key, sizeof(key));
    for (i = 0; i < N; i++) {
        assert_int_equal(crypto_aead_encrypt(key, NULL, 0, "x", 1, ct), 0);
        memcpy(nonces[i], ct, CRYPTO_NONCE_LEN);
    }
    qsort(nonces, N, CRYPTO_NONCE_LEN, cmp_nonce);
    for (i = 1; i < N; i++)
        assert_memory_not_equal(nonces[i - 1], nonces[i], CRYPTO_NONCE_LEN);
    free(nonces);
}

struct aead_thread {
    const uint8_t *shared;
    int failures;
};

static void *aead_worker(void *p)
{
    struct aead_thread *t = p;
    uint8_t own[CRYPTO_KEY_LEN], pt[150], ct[150 + CRYPTO_AEAD_OVERHEAD];
    uint8_t out[150];
    int i;

    crypto_random(own, sizeof(own));
    for (i = 0; i < 3000; i++) {
        const uint8_t *key = i % 3 ? t->shared : own;

        crypto_random(pt, sizeof(pt));
        if (crypto_aead_encrypt(key, "r", 1, pt, sizeof(pt), ct) != 0 ||
            crypto_aead_decrypt(key, "r", 1, ct, sizeof(ct), out) != 0 ||
            memcmp(pt, out, sizeof(pt)) != 0)
            t->failures++;
        /* and a forgery is refused in the middle of it all */
        ct[20] ^= 1;
        if (crypto_aead_decrypt(key, "r", 1, ct, sizeof(ct), out) != -1)
            t->failures++;
    }
    return NULL;
}

static void test_aead_threads(void **state)
{
    uint8_t shared[CRYPTO_KEY_LEN];
    struct aead_thread t[2];
    pthread_t th[2];
    int i;

    (void)state;
    crypto_random(shared, sizeof(shared));
    for (i = 0; i < 2; i++) {
        t[i].shared = shared;
        t[i].failures = 0;
        assert_int_equal(pthread_create(&th[i], NULL, aead_worker, &t[i]), 0);
    }
    for (i = 0; i < 2; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(t[i].failures, 0);
    }
}

/* ---- random -------------------------------------------------------------- */

static void test_random(void **state)
{
    uint8_t a[1000], b[1000], z[1000] = {0};

    (void)state;
    crypto_random(a, 0);
    crypto_random(a, sizeof(a)); /* large: straight from the OS */
    crypto_random(b, sizeof(b));
    assert_memory_not_equal(a, z, sizeof(a));
    assert_memory_not_equal(a, b, sizeof(a));
    crypto_random(a, 16); /* small: the thread's pool */
    crypto_random(b, 16);
    assert_memory_not_equal(a, b, 16);
    /* across a pool refill */
    crypto_random(a, 250);
    crypto_random(a, 250);
    crypto_random(a, 250);
    crypto_random(a, 250);
    crypto_random(b, 250);
    assert_memory_not_equal(a, b, 250);
}

/* A child of fork() must not replay its parent's random pool, nor derive
 * the same next pool (it would reuse GCM nonces). */
static void test_random_fork(void **state)
{
    enum { STREAM = 8192 };
    uint8_t *mine = malloc(STREAM), theirs[32];
    int fds[2], status = 0;
    ssize_t got = 0;
    size_t i;
    pid_t pid;

    (void)state;
    assert_non_null(mine);
    crypto_random(mine, 8); /* the pool is now filled */
    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        uint8_t r[32];

        close(fds[0]);
        crypto_random(r, sizeof(r));
        _exit(write(fds[1], r, sizeof(r)) == (ssize_t)sizeof(r) ? 0 : 1);
    }
    close(fds[1]);
    /* the parent's next several pools, in small requests */
    for (i = 0; i < STREAM; i += 64)
        crypto_random(mine + i, 64);
    while (got < (ssize_t)sizeof(theirs)) {
        ssize_t n = read(fds[0], theirs + got, sizeof(theirs) - (size_t)got);

        assert_true(n > 0);
        got += n;
    }
    close(fds[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_null(memmem(mine, STREAM, theirs, 16));
    free(mine);
}

/* ---- memory helpers ------------------------------------------------------ */

static void test_secret_memory(void **state)
{
    uint8_t a[32], b[32];
    uint8_t *s = crypto_secret_alloc(64);
    char *str;

    (void)state;
    assert_non_null(s);
    memset(s, 0x5a, 64);
    crypto_wipe(s, 64);
    memset(a, 0, sizeof(a));
    assert_memory_equal(s, a, 32);
    crypto_secret_free(s);
    crypto_secret_free(NULL);
    crypto_wipe(NULL, 0);

    memset(a, 1, sizeof(a));
    memset(b, 1, sizeof(b));
    assert_int_equal(crypto_equal(a, b, 32), 1);
    b[31] = 2;
    assert_int_equal(crypto_equal(a, b, 32), 0);
    b[31] = 1;
    b[0] = 0;
    assert_int_equal(crypto_equal(a, b, 32), 0);
    assert_int_equal(crypto_equal(a, b, 0), 1);
    /* every length and every differing byte, unaligned too */
    {
        unsigned char x[48], y[48];
        for (size_t len = 0; len <= 40; len++) {
            for (size_t off = 0; off < 3; off++) {
                memset(x, 0x5a, sizeof x);
                memset(y, 0x5a, sizeof y);
                assert_int_equal(crypto_equal(x + off, y + off, len), 1);
                for (size_t i = 0; i < len; i++) {
                    y[off + i] ^= 0x01;
                    assert_int_equal(crypto_equal(x + off, y + off, len), 0);
                    y[off + i] ^= 0x81;
                    assert_int_equal(crypto_equal(x + off, y + off, len), 0);
                    y[off + i] ^= 0x80;
                }
                y[off + len] ^= 0xff; /* past the end: not compared */
                assert_int_equal(crypto_equal(x + off, y + off, len), 1);
            }
        }
    }

    str = strdup("a passphrase");
    assert_non_null(str);
    crypto_wipe_free_str(str);
    crypto_wipe_free_str(NULL);
}

/* ---- hex and base64url --------------------------------------------------- */

static void test_hex(void **state)
{
    uint8_t out[8], all[256];
    char text[2 * 256 + 1];
    int i;

    (void)state;
    crypto_hex("\x00\x01\xab\xff", 4, text);
    assert_string_equal(text, "0001abff");
    crypto_hex(NULL, 0, text);
    assert_string_equal(text, "");
    assert_int_equal(crypto_unhex("0001abff", 8, out, sizeof(out)), 4);
    assert_memory_equal(out, "\x00\x01\xab\xff", 4);
    assert_int_equal(crypto_unhex("ABFF", 4, out, sizeof(out)), 2);
    assert_memory_equal(out, "\xab\xff", 2);
    assert_int_equal(crypto_unhex("", 0, out, sizeof(out)), 0);

    /* roundtrip of every byte value */
    for (i = 0; i < 256; i++)
        all[i] = (uint8_t)i;
    crypto_hex(all, sizeof(all), text);
    assert_int_equal(strlen(text), 512);
    {
        uint8_t back[256];

        assert_int_equal(crypto_unhex(text, 512, back, sizeof(back)), 256);
        assert_memory_equal(back, all, 256);
        /* output overflow */
        assert_int_equal(crypto_unhex(text, 512, back, 255), -1);
    }

    /* malformed */
    assert_int_equal(crypto_unhex("abc", 3, out, sizeof(out)), -1);
    assert_int_equal(crypto_unhex("0g", 2, out, sizeof(out)), -1);
    assert_int_equal(crypto_unhex("g0", 2, out, sizeof(out)), -1);
    assert_int_equal(crypto_unhex(" 0", 2, out, sizeof(out)), -1);
    assert_int_equal(crypto_unhex("0x12", 4, out, sizeof(out)), -1);
    assert_int_equal(crypto_unhex("12\0"
                                  "0",
                                  4, out, sizeof(out)),
                     -1);
    assert_int_equal(crypto_unhex("1\xc3\xa9", 4, out, sizeof(out)), -1);
    assert_int_equal(crypto_unhex("-1", 2, out, sizeof(out)), -1);
    assert_int_equal(crypto_unhex(":;", 2, out, sizeof(out)), -1);
    assert_int_equal(crypto_unhex("@G", 2, out, sizeof(out)), -1);
    assert_int_equal(crypto_unhex("`h", 2, out, sizeof(out)), -1);
    assert_int_equal(crypto_unhex(NULL, 2, out, sizeof(out)), -1);
    /* a bad digit at the end wipes what was decoded before it */
    memset(out, 0x77, sizeof(out));
    assert_int_equal(crypto_unhex("aabbcczz", 8, out, sizeof(out)), -1);
    assert_int_equal(out[0], 0);
}

static void test_b64(void **state)
{
    static const char *plain[] = {"",     "f",     "fo",    "foo",
                                  "foob", "fooba", "foobar"};
    static const char *coded[] = {"",       "Zg",      "Zm8",     "Zm9v",
                                  "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    char text[420]; /* crypto_b64_len(300) + 1 = 401 */
    uint8_t out[300], raw[300];
    size_t i, n;

    (void)state;
    for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
        crypto_b64(plain[i], strlen(plain[i]), text);
        assert_string_equal(text, coded[i]);
        assert_int_equal(crypto_b64_len(strlen(plain[i])), strlen(coded[i]));
        assert_int_equal(
            crypto_unb64(coded[i], strlen(coded[i]), out, sizeof(out)),
            (long)strlen(plain[i]));
        assert_memory_equal(out, plain[i], strlen(plain[i]));
    }
    /* the URL-safe alphabet: 0xfb 0xff is "+/8" in standard base64 */
    crypto_b64("\xfb\xff", 2, text);
    assert_string_equal(text, "-_8");
    assert_int_equal(crypto_unb64("-_8", 3, out, sizeof(out)), 2);
    assert_memory_equal(out, "\xfb\xff", 2);
    /* a 32-byte token is 43 characters (MAMORI_TOKEN_LEN) */
    assert_int_equal(crypto_b64_len(32), 43);
    assert_int_equal(crypto_b64_len(SIZE_MAX), SIZE_MAX);

    /* random roundtrips of every length up to 300 */
    for (n = 0; n <= 300; n++) {
        crypto_random(raw, n);
        crypto_b64(raw, n, text);
        assert_int_equal(strlen(text), crypto_b64_len(n));
        assert_int_equal(crypto_unb64(text, strlen(text), out, n), (long)n);
        assert_memory_equal(out, raw, n);
        if (n > 0)
            assert_int_equal(crypto_unb64(text, strlen(text), out, n - 1), -1);
    }

    /* malformed */
    assert_int_equal(crypto_unb64("Zg==", 4, out, sizeof(out)), -1);
    assert_int_equal(crypto_unb64("Zg=", 3, out, sizeof(out)), -1);
    assert_int_equal(crypto_unb64("Z", 1, out, sizeof(out)), -1);
    assert_int_equal(crypto_unb64("Zm9vY", 5, out, sizeof(out)), -1);
    assert_int_equal(crypto_unb64("Zh", 2, out, sizeof(out)), -1);
    assert_int_equal(crypto_unb64("Zm9", 3, out, sizeof(out)), -1);
    assert_int_equal(crypto_unb64("+/8", 3, out, sizeof(out)), -1);
    assert_int_equal(crypto_unb64("Zm9v\n", 5, out, sizeof(out)), -1);
    assert_int_equal(crypto_unb64("Zm 9v", 5, out, sizeof(out)), -1);
    assert_int_equal(crypto_unb64("Zm9\0", 4, out, sizeof(out)), -1);
    assert_int_equal(crypto_unb64("Zm9\xff", 4, out, sizeof(out)), -1);
    assert_int_equal(crypto_unb64("Zm9v", 4, out, 2), -1);
    assert_int_equal(crypto_unb64(NULL, 4, out, sizeof(out)), -1);
    memset(out, 0x77, sizeof(out));
    assert_int_equal(crypto_unb64("Zm9vYm*y", 8, out, sizeof(out)), -1);
    assert_int_equal(out[0], 0);
}

/* ---- UUID ---------------------------------------------------------------- */

static int cmp_uuid(const void *a, const void *b)
{
    return memcmp(a, b, 37);
}

static void test_uuid(void **state)
{
    enum { N = 1000 };
    char(*ids)[37] = malloc(N * 37);
    int i, j;

    (void)state;
    assert_non_null(ids);
    for (i = 0; i < N; i++) {
        crypto_uuid(ids[i]);
        assert_int_equal(strlen(ids[i]), 36);
        for (j = 0; j < 36; j++) {
            char c = ids[i][j];

            if (j == 8 || j == 13 || j == 18 || j == 23)
                assert_int_equal(c, '-');
            else
                assert_true((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
        }
        assert_int_equal(ids[i][14], '4');
        assert_non_null(strchr("89ab", ids[i][19]));
    }
    qsort(ids, N, 37, cmp_uuid);
    for (i = 1; i < N; i++)
        assert_string_not_equal(ids[i - 1], ids[i]);
    free(ids);
}

/* ---- Ed25519 ------------------------------------------------------------- */

static void test_sign(void **state)
{
    uint8_t pk[CRYPTO_SIGN_PK_LEN], sk[CRYPTO_SIGN_SK_LEN];
    uint8_t pk2[CRYPTO_SIGN_PK_LEN], sk2[CRYPTO_SIGN_SK_LEN];
    uint8_t sig[CRYPTO_SIG_LEN], bad[CRYPTO_SIG_LEN];
    char msg[] = "checkpoint seq=42 head=abcdef";
    size_t i;

    (void)state;
    crypto_ed25519_keypair(pk, sk);
    crypto_ed25519_keypair(pk2, sk2);
    assert_memory_not_equal(pk, pk2, sizeof(pk));
    crypto_ed25519_sign(sk, msg, strlen(msg), sig);
    assert_int_equal(crypto_ed25519_verify(pk, msg, strlen(msg), sig), 1);
    assert_int_equal(crypto_ed25519_verify(pk2, msg, strlen(msg), sig), 0);
    for (i = 0; i < sizeof(sig); i += 9) {
        memcpy(bad, sig, sizeof(sig));
        bad[i] ^= 0x10;
        assert_int_equal(crypto_ed25519_verify(pk, msg, strlen(msg), bad), 0);
    }
    msg[3] ^= 1;
    assert_int_equal(crypto_ed25519_verify(pk, msg, strlen(msg), sig), 0);
    msg[3] ^= 1;
    pk[0] ^= 1;
    assert_int_equal(crypto_ed25519_verify(pk, msg, strlen(msg), sig), 0);
    pk[0] ^= 1;
    assert_int_equal(crypto_ed25519_verify(pk, msg, strlen(msg) - 1, sig), 0);
    /* empty message */
    crypto_ed25519_sign(sk, NULL, 0, sig);
    assert_int_equal(crypto_ed25519_verify(pk, NULL, 0, sig), 1);
    assert_int_equal(crypto_ed25519_verify(pk, "x", 1, sig), 0);
    assert_int_equal(crypto_ed25519_verify(NULL, NULL, 0, sig), 0);
}

/* ---- passwords ----------------------------------------------------------- */

static void test_pwhash(void **state)
{
    char hash[CRYPTO_PWHASH_STRLEN], hash2[CRYPTO_PWHASH_STRLEN];
    char junk[CRYPTO_PWHASH_STRLEN];
    const char pw[] = "correct horse battery staple";

    (void)state;
    assert_int_equal(crypto_pw_hash(pw, strlen(pw), hash), 0);
    assert_non_null(memchr(hash, '\0', sizeof(hash)));
    /* Argon2id with t = 3, m = 64 MiB, in the encoded string */
    assert_int_equal(strncmp(hash, "$argon2id$v=19$m=65536,t=3,p=1$", 31), 0);
    assert_int_equal(crypto_pw_verify(hash, pw, strlen(pw)), 1);
    assert_int_equal(crypto_pw_verify(hash, pw, strlen(pw) - 1), 0);
    assert_int_equal(
        crypto_pw_verify(hash, "Correct horse battery staple", strlen(pw)), 0);
    assert_int_equal(crypto_pw_verify(hash, "", 0), 0);
    assert_int_equal(crypto_pw_verify(NULL, pw, strlen(pw)), 0);
    /* salted: the same password hashes differently */
    assert_int_equal(crypto_pw_hash(pw, strlen(pw), hash2), 0);
    assert_string_not_equal(hash, hash2);
    /* damaged or hostile hashes */
    memcpy(hash2, hash, sizeof(hash));
    hash2[strlen(hash2) - 2] ^= 0x01;
    assert_int_equal(crypto_pw_verify(hash2, pw, strlen(pw)), 0);
    memset(junk, 'A', sizeof(junk)); /* not NUL-terminated */
    assert_int_equal(crypto_pw_verify(junk, pw, strlen(pw)), 0);
    assert_int_equal(crypto_pw_verify("", pw, strlen(pw)), 0);
    assert_int_equal(
        crypto_pw_verify("$argon2id$v=19$m=1,t=1,p=1$x$y", pw, strlen(pw)), 0);
    /* an empty password still hashes (policy is the caller's) */
    assert_int_equal(crypto_pw_hash("", 0, hash), 0);
    assert_int_equal(crypto_pw_verify(hash, "", 0), 1);
    assert_int_equal(crypto_pw_verify(hash, "x", 1), 0);
}

static void test_argon2id(void **state)
{
    uint8_t salt[CRYPTO_SALT_LEN] = {1, 2, 3}, salt2[CRYPTO_SALT_LEN] = {9};
    uint8_t a[32], b[32], c[32];

    (void)state;
    /* small parameters: this is about the wrapper, not the cost */
    assert_int_equal(crypto_argon2id("pass", 4, salt, 1, 8u << 20, a, 32), 0);
    assert_int_equal(crypto_argon2id("pass", 4, salt, 1, 8u << 20, b, 32), 0);
    assert_memory_equal(a, b, 32);
    assert_int_equal(crypto_argon2id("pass", 4, salt2, 1, 8u << 20, c, 32), 0);
    assert_memory_not_equal(a, c, 32);
    assert_int_equal(crypto_argon2id("pasS", 4, salt, 1, 8u << 20, c, 32), 0);
    assert_memory_not_equal(a, c, 32);
    assert_int_equal(crypto_argon2id("pass", 4, salt, 2, 8u << 20, c, 32), 0);
    assert_memory_not_equal(a, c, 32);
    /* out of range */
    assert_int_equal(crypto_argon2id("pass", 4, salt, 1, 1024, c, 32), -1);
    assert_int_equal(crypto_argon2id("pass", 4, salt, 0, 8u << 20, c, 32), -1);
    assert_int_equal(crypto_argon2id("pass", 4, salt, 1, 8u << 20, c, 8), -1);
    assert_int_equal(crypto_argon2id(NULL, 4, salt, 1, 8u << 20, c, 32), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_twice),
        cmocka_unit_test(test_sha256_kat),
        cmocka_unit_test(test_hmac_rfc4231),
        cmocka_unit_test(test_hmac_keys_differ),
        cmocka_unit_test(test_kdf),
        cmocka_unit_test(test_hmac_key_threads),
        cmocka_unit_test(test_aead_roundtrip),
        cmocka_unit_test(test_aead_tamper),
        cmocka_unit_test(test_aead_kat),
        cmocka_unit_test(test_aead_key_switch),
        cmocka_unit_test(test_aead_nonces_unique),
        cmocka_unit_test(test_aead_threads),
        cmocka_unit_test(test_random),
        cmocka_unit_test(test_random_fork),
        cmocka_unit_test(test_secret_memory),
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_b64),
        cmocka_unit_test(test_uuid),
        cmocka_unit_test(test_sign),
        cmocka_unit_test(test_pwhash),
        cmocka_unit_test(test_argon2id),
    };

    return cmocka_run_group_tests(tests, setup, NULL);
}
