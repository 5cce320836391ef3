/*
 * crypto.c - the primitives of crypto.h over OpenSSL libcrypto (AES-256-GCM,
 * SHA-256, HMAC-SHA-256) and libsodium (random, guarded memory, Argon2id,
 * Ed25519, constant-time compare).
 *
 * Speed matters here: records are encrypted a million at a time and blind
 * indexes run HMAC in hot loops. So:
 *   - each thread keeps its own AES-GCM contexts and skips the key schedule
 *     when the key is the one it used last;
 *   - nonces and other small random values come from a per-thread
 *     fast-key-erasure ChaCha20 generator (libsodium's
 *     randombytes_buf_deterministic) seeded from the OS, reseeded every
 *     RNG_RESEED refills and after fork();
 *   - HMAC keys are expanded once into SHA-256 states after the ipad and
 *     opad blocks; a run copies a state by value (no allocation). OpenSSL 3
 *     offers that only through its deprecated SHA256_* functions, which
 *     measured 200 ns against 320 ns for EVP_MD_CTX_copy_ex per 150-byte
 *     message. Build with -DMAMORI_HMAC_EVP (or against an OpenSSL built
 *     without deprecated APIs) to use the EVP path instead.
 *
 * Our names stay clear of libsodium's (crypto_sign, crypto_pwhash ... are
 * its): crypto_ed25519_*, crypto_pw_*. Only the libsodium sub-headers needed
 * are included, and the algorithm-specific functions are called.
 */
#if !defined(MAMORI_HMAC_EVP)
/* SHA256_Init/Update/Final: deprecated in OpenSSL 3, still the fastest way
 * to copy a precomputed HMAC state (see above). */
#define OPENSSL_SUPPRESS_DEPRECATED
#endif

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/opensslconf.h>
#include <openssl/sha.h>
#include <sodium/core.h>
#include <sodium/crypto_pwhash_argon2id.h>
#include <sodium/crypto_sign_ed25519.h>
#include <sodium/randombytes.h>
#include <sodium/utils.h>

#include "crypto.h"
#include "banned.h"

#if !defined(MAMORI_HMAC_EVP) && defined(OPENSSL_NO_DEPRECATED_3_0)
#define MAMORI_HMAC_EVP 1
#endif

_Static_assert(CRYPTO_PWHASH_STRLEN >= crypto_pwhash_argon2id_STRBYTES,
               "CRYPTO_PWHASH_STRLEN too small for libsodium");
_Static_assert(CRYPTO_SIGN_PK_LEN == crypto_sign_ed25519_PUBLICKEYBYTES,
               "Ed25519 public key length");
_Static_assert(CRYPTO_SIGN_SK_LEN == crypto_sign_ed25519_SECRETKEYBYTES,
               "Ed25519 secret key length");
_Static_assert(CRYPTO_SIG_LEN == crypto_sign_ed25519_BYTES,
               "Ed25519 signature length");
_Static_assert(CRYPTO_SALT_LEN == crypto_pwhash_argon2id_SALTBYTES,
               "Argon2id salt length");

/* Argon2id parameters for user passwords (stronger than OWASP's floor of
 * m = 19 MiB, t = 2). */
#define PWHASH_OPS 3
#define PWHASH_MEM (64u * 1024 * 1024)

#define SHA256_BLOCK 64
/* EVP lengths are int: feed long inputs in slices. */
#define EVP_SLICE (1 << 30)

/* Per-thread random pool: POOL bytes per refill, the first RNG_SEED of which
 * become the next seed (fast key erasure). */
#define RNG_SEED randombytes_SEEDBYTES
#define RNG_POOL 1024
#define RNG_RESEED 64
/* Requests larger than this go straight to the OS generator. */
#define RNG_DIRECT 256

/* ---- process-wide state -------------------------------------------------- */

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static int g_init_rc = -1;
static EVP_CIPHER *g_gcm;
#if defined(MAMORI_HMAC_EVP)
static EVP_MD *g_sha256;
#endif
static pthread_key_t g_tls_key;
/* Bumped in the child after fork(): per-thread generators reseed. */
static atomic_uint g_fork_gen;

/* Per-thread secrets, in guarded memory. */
struct tls_secret {
    uint8_t enc_key[CRYPTO_KEY_LEN];
    uint8_t dec_key[CRYPTO_KEY_LEN];
    uint8_t seed[RNG_SEED];
    uint8_t pool[RNG_POOL];
    size_t pool_pos; /* next unread byte of pool; RNG_POOL = empty */
    unsigned refills;
    unsigned gen;
    int seeded;
    int enc_keyed, dec_keyed;
};

/* Kept in TLS (not inside the guarded block) so leak checkers see the
 * contexts as reachable. */
struct tls_state {
    EVP_CIPHER_CTX *enc;
    EVP_CIPHER_CTX *dec;
    struct tls_secret *sec;
};

static _Thread_local struct tls_state tls;

static void tls_destroy(void *p)
{
    struct tls_state *t = p;

    if (t == NULL)
        return;
    EVP_CIPHER_CTX_free(t->enc);
    EVP_CIPHER_CTX_free(t->dec);
    sodium_free(t->sec); /* wipes */
    t->enc = NULL;
    t->dec = NULL;
    t->sec = NULL;
}

static void on_fork_child(void)
{
    atomic_fetch_add(&g_fork_gen, 1u);
}

static int gcm_selftest(void);

static void init_once(void)
{
    EVP_MD *md;

    if (sodium_init() < 0)
        return;
    g_gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    md = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (g_gcm == NULL || md == NULL) {
        EVP_MD_free(md);
        return;
    }
#if defined(MAMORI_HMAC_EVP)
    g_sha256 = md;
#else
    EVP_MD_free(md); /* only checked: the SHA256_* functions need no handle */
#endif
    if (EVP_CIPHER_get_iv_length(g_gcm) != CRYPTO_NONCE_LEN ||
        EVP_CIPHER_get_key_length(g_gcm) != CRYPTO_KEY_LEN)
        return;
    if (pthread_key_create(&g_tls_key, tls_destroy) != 0)
        return;
    if (pthread_atfork(NULL, NULL, on_fork_child) != 0)
        return;
    if (gcm_selftest() != 0)
        return;
    g_init_rc = 0;
}

static int ensure_init(void)
{
    if (pthread_once(&g_once, init_once) != 0)
        return -1;
    return g_init_rc;
}

int crypto_init(void)
{
    return ensure_init();
}

/* The calling thread's secrets, allocated on first use; NULL if out of
 * memory. */
static struct tls_secret *tls_get(void)
{
    struct tls_secret *s;

    if (tls.sec != NULL)
        return tls.sec;
    s = sodium_malloc(sizeof(*s));
    if (s == NULL)
        return NULL;
    memset(s, 0, sizeof(*s));
    s->pool_pos = RNG_POOL;
    if (pthread_setspecific(g_tls_key, &tls) != 0) {
        sodium_free(s);
        return NULL;
    }
    tls.sec = s;
    return s;
}

/* ---- random -------------------------------------------------------------- */

static void rng_refill(struct tls_secret *s)
{
    unsigned gen = atomic_load_explicit(&g_fork_gen, memory_order_relaxed);

    if (!s->seeded || s->gen != gen || s->refills >= RNG_RESEED) {
        randombytes_buf(s->seed, sizeof(s->seed));
        s->seeded = 1;
        s->gen = gen;
        s->refills = 0;
    }
    randombytes_buf_deterministic(s->pool, sizeof(s->pool), s->seed);
    memcpy(s->seed, s->pool, RNG_SEED);
    sodium_memzero(s->pool, RNG_SEED);
    s->pool_pos = RNG_SEED;
    s->refills++;
}

static void rng_take(struct tls_secret *s, uint8_t *out, size_t len)
{
    unsigned gen = atomic_load_explicit(&g_fork_gen, memory_order_relaxed);

    if (s->gen != gen)
        s->pool_pos = RNG_POOL; /* forked: never reuse the parent's pool */
    while (len > 0) {
        size_t n;

        if (s->pool_pos >= RNG_POOL)
            rng_refill(s);
        n = RNG_POOL - s->pool_pos;
        if (n > len)
            n = len;
        memcpy(out, s->pool + s->pool_pos, n);
        sodium_memzero(s->pool + s->pool_pos, n);
        s->pool_pos += n;
        out += n;
        len -= n;
    }
}

void crypto_random(void *buf, size_t len)
{
    struct tls_secret *s;

    if (len == 0)
        return;
    if (ensure_init() != 0)
        abort(); /* no safe fallback for randomness */
    s = len <= RNG_DIRECT ? tls_get() : NULL;
    if (s == NULL) {
        randombytes_buf(buf, len);
        return;
    }
    rng_take(s, buf, len);
}

/* ---- memory -------------------------------------------------------------- */

void *crypto_secret_alloc(size_t len)
{
    if (ensure_init() != 0)
        return NULL;
    return sodium_malloc(len);
}

void crypto_secret_free(void *p)
{
    sodium_free(p);
}

void crypto_wipe(void *p, size_t len)
{
    if (p != NULL && len > 0)
        sodium_memzero(p, len);
}

void crypto_wipe_free_str(char *s)
{
    if (s == NULL)
        return;
    sodium_memzero(s, strlen(s));
    free(s);
}

/* Constant time in the contents: every word is read and OR-ed, no early
 * exit; 8 bytes a step (sodium_memcmp's byte loop showed in the profile of
 * audit verification, which compares two MACs per entry). */
int crypto_equal(const void *a, const void *b, size_t len)
{
    const unsigned char *pa = a, *pb = b;
    uint64_t acc = 0;
    size_t i = 0;

    for (; i + 8 <= len; i += 8) {
        uint64_t x, y;
        memcpy(&x, pa + i, 8);
        memcpy(&y, pb + i, 8);
        acc |= x ^ y;
    }
    for (; i < len; i++)
        acc |= (uint64_t)(pa[i] ^ pb[i]);
    __asm__ __volatile__("" : "+r"(acc)); /* keep the compiler honest */
    return acc == 0;
}

/* ---- AES-256-GCM --------------------------------------------------------- */

/* Feeds len bytes (AD when out is NULL) through ctx in int-sized slices. */
static int gcm_update(EVP_CIPHER_CTX *ctx, int enc, uint8_t *out,
                      const uint8_t *in, size_t len)
{
    while (len > 0) {
        int n = len > EVP_SLICE ? EVP_SLICE : (int)len;
        int outl = 0;
        int ok = enc ? EVP_EncryptUpdate(ctx, out, &outl, in, n)
                     : EVP_DecryptUpdate(ctx, out, &outl, in, n);

        if (ok != 1 || (out != NULL && outl != n))
            return -1;
        in += n;
        if (out != NULL)
            out += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Seals with the given nonce; key NULL keeps the key already set in ctx. */
static int gcm_seal(EVP_CIPHER_CTX *ctx, const uint8_t *key,
                    const uint8_t nonce[CRYPTO_NONCE_LEN], const uint8_t *ad,
                    size_t adlen, const uint8_t *pt, size_t ptlen, uint8_t *ct,
                    uint8_t tag[CRYPTO_TAG_LEN])
{
    int outl = 0;

    if (EVP_EncryptInit_ex(ctx, NULL, NULL, key, nonce) != 1)
        return -1;
    if (gcm_update(ctx, 1, NULL, ad, adlen) != 0 ||
        gcm_update(ctx, 1, ct, pt, ptlen) != 0)
        return -1;
    if (EVP_EncryptFinal_ex(ctx, ct + ptlen, &outl) != 1 || outl != 0)
        return -1;
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, CRYPTO_TAG_LEN, tag) !=
        1)
        return -1;
    return 0;
}

static int gcm_open(EVP_CIPHER_CTX *ctx, const uint8_t *key,
                    const uint8_t nonce[CRYPTO_NONCE_LEN], const uint8_t *ad,
                    size_t adlen, const uint8_t *ct, size_t ctlen,
                    const uint8_t tag[CRYPTO_TAG_LEN], uint8_t *pt)
{
    uint8_t tagcopy[CRYPTO_TAG_LEN], fin[CRYPTO_TAG_LEN];
    int outl = 0;

    memcpy(tagcopy, tag, sizeof(tagcopy));
    if (EVP_DecryptInit_ex(ctx, NULL, NULL, key, nonce) != 1)
        return -1;
    if (gcm_update(ctx, 0, NULL, ad, adlen) != 0 ||
        gcm_update(ctx, 0, pt, ct, ctlen) != 0)
        return -1;
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, CRYPTO_TAG_LEN,
                            tagcopy) != 1)
        return -1;
    if (EVP_DecryptFinal_ex(ctx, fin, &outl) != 1 || outl != 0)
        return -1;
    return 0;
}

/* A known answer (GCM spec test case 14: AES-256, zero key, zero nonce, one
 * zero block), run once at init. */
static int gcm_selftest(void)
{
    static const uint8_t want[32] = {
        0xce, 0xa7, 0x40, 0x3d, 0x4d, 0x60, 0x6b, 0x6e, 0x07, 0x4e, 0xc5,
        0xd3, 0xba, 0xf3, 0x9d, 0x18, 0xd0, 0xd1, 0xc8, 0xa7, 0x99, 0x99,
        0x6b, 0xf0, 0x26, 0x5b, 0x98, 0xb5, 0xd4, 0x8a, 0xb9, 0x19};
    uint8_t key[CRYPTO_KEY_LEN] = {0}, nonce[CRYPTO_NONCE_LEN] = {0};
    uint8_t pt[16] = {0}, got[32];
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int rc = -1;

    if (ctx == NULL)
        return -1;
    if (EVP_EncryptInit_ex(ctx, g_gcm, NULL, NULL, NULL) != 1)
        goto out;
    if (gcm_seal(ctx, key, nonce, NULL, 0, pt, sizeof(pt), got, got + 16) != 0)
        goto out;
    if (memcmp(got, want, sizeof(want)) != 0)
        goto out;
    rc = 0;
out:
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

/* The thread's context for enc/dec, made on first use. */
static EVP_CIPHER_CTX *tls_cipher(int enc)
{
    EVP_CIPHER_CTX **slot = enc ? &tls.enc : &tls.dec;
    EVP_CIPHER_CTX *ctx;
    int ok;

    if (*slot != NULL)
        return *slot;
    ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL)
        return NULL;
    ok = enc ? EVP_EncryptInit_ex(ctx, g_gcm, NULL, NULL, NULL)
             : EVP_DecryptInit_ex(ctx, g_gcm, NULL, NULL, NULL);
    if (ok != 1) {
        EVP_CIPHER_CTX_free(ctx);
        return NULL;
    }
    *slot = ctx;
    return ctx;
}

static int aead_seal(const uint8_t key[CRYPTO_KEY_LEN], const uint8_t *nonce,
                     const void *ad, size_t adlen, const void *pt, size_t ptlen,
                     uint8_t *out);

int crypto_aead_encrypt(const uint8_t key[CRYPTO_KEY_LEN], const void *ad,
                        size_t adlen, const void *pt, size_t ptlen,
                        uint8_t *out)
{
    return aead_seal(key, NULL, ad, adlen, pt, ptlen, out);
}

int crypto_aead_encrypt_nonce(const uint8_t key[CRYPTO_KEY_LEN],
                              const uint8_t nonce[CRYPTO_NONCE_LEN],
                              const void *ad, size_t adlen, const void *pt,
                              size_t ptlen, uint8_t *out)
{
    if (nonce == NULL)
        return -1;
    return aead_seal(key, nonce, ad, adlen, pt, ptlen, out);
}

/* nonce NULL: a random one. */
static int aead_seal(const uint8_t key[CRYPTO_KEY_LEN], const uint8_t *nonce,
                     const void *ad, size_t adlen, const void *pt, size_t ptlen,
                     uint8_t *out)
{
    struct tls_secret *s;
    EVP_CIPHER_CTX *ctx;
    const uint8_t *setkey = NULL;

    if (key == NULL || out == NULL || (ad == NULL && adlen > 0) ||
        (pt == NULL && ptlen > 0) || ptlen > SIZE_MAX - CRYPTO_AEAD_OVERHEAD)
        return -1;
    if (ensure_init() != 0)
        return -1;
    s = tls_get();
    ctx = s != NULL ? tls_cipher(1) : NULL;
    if (ctx == NULL)
        return -1;
    if (nonce != NULL)
        memmove(out, nonce, CRYPTO_NONCE_LEN);
    else
        rng_take(s, out, CRYPTO_NONCE_LEN);
    /* The key schedule is the costly part: skip it for the same key. */
    if (!s->enc_keyed || !crypto_equal(s->enc_key, key, CRYPTO_KEY_LEN))
        setkey = key;
    s->enc_keyed = 0;
    if (gcm_seal(ctx, setkey, out, ad, adlen, pt, ptlen, out + CRYPTO_NONCE_LEN,
                 out + CRYPTO_NONCE_LEN + ptlen) != 0) {
        sodium_memzero(out, ptlen + CRYPTO_AEAD_OVERHEAD);
        return -1;
    }
    if (setkey != NULL)
        memcpy(s->enc_key, key, CRYPTO_KEY_LEN);
    s->enc_keyed = 1;
    return 0;
}

int crypto_aead_decrypt(const uint8_t key[CRYPTO_KEY_LEN], const void *ad,
                        size_t adlen, const uint8_t *ct, size_t ctlen,
                        uint8_t *out)
{
    struct tls_secret *s;
    EVP_CIPHER_CTX *ctx;
    const uint8_t *setkey = NULL;
    size_t ptlen;

    if (key == NULL || ct == NULL || ctlen < CRYPTO_AEAD_OVERHEAD ||
        (ad == NULL && adlen > 0))
        return -1;
    ptlen = ctlen - CRYPTO_AEAD_OVERHEAD;
    if (out == NULL && ptlen > 0)
        return -1;
    if (ensure_init() != 0)
        return -1;
    s = tls_get();
    ctx = s != NULL ? tls_cipher(0) : NULL;
    if (ctx == NULL)
        return -1;
    if (!s->dec_keyed || !crypto_equal(s->dec_key, key, CRYPTO_KEY_LEN))
        setkey = key;
    s->dec_keyed = 0;
    if (gcm_open(ctx, setkey, ct, ad, adlen, ct + CRYPTO_NONCE_LEN, ptlen,
                 ct + CRYPTO_NONCE_LEN + ptlen, out) != 0) {
        if (ptlen > 0)
            sodium_memzero(out, ptlen);
        /* The context may be half-keyed: set the key again next time. */
        return -1;
    }
    if (setkey != NULL)
        memcpy(s->dec_key, key, CRYPTO_KEY_LEN);
    s->dec_keyed = 1;
    return 0;
}

/* ---- SHA-256 and HMAC ---------------------------------------------------- */

static void must(int ok)
{
    if (ok != 1)
        abort(); /* only on out-of-memory in OpenSSL: no safe result */
}

#if !defined(MAMORI_HMAC_EVP)

struct crypto_hmac_key {
    SHA256_CTX inner; /* state after key ^ ipad */
    SHA256_CTX outer; /* state after key ^ opad */
};

void crypto_sha256(const void *p, size_t len, uint8_t out[32])
{
    SHA256_CTX c;

    must(SHA256_Init(&c));
    if (len > 0)
        must(SHA256_Update(&c, p, len));
    must(SHA256_Final(out, &c));
    sodium_memzero(&c, sizeof(c));
}

static void hmac_setup(struct crypto_hmac_key *k, const uint8_t *key,
                       size_t keylen)
{
    uint8_t block[SHA256_BLOCK] = {0}, pad[SHA256_BLOCK];
    size_t i;

    if (keylen > SHA256_BLOCK)
        crypto_sha256(key, keylen, block);
    else if (keylen > 0)
        memcpy(block, key, keylen);
    for (i = 0; i < SHA256_BLOCK; i++)
        pad[i] = block[i] ^ 0x36;
    must(SHA256_Init(&k->inner));
    must(SHA256_Update(&k->inner, pad, sizeof(pad)));
    for (i = 0; i < SHA256_BLOCK; i++)
        pad[i] = block[i] ^ 0x5c;
    must(SHA256_Init(&k->outer));
    must(SHA256_Update(&k->outer, pad, sizeof(pad)));
    sodium_memzero(block, sizeof(block));
    sodium_memzero(pad, sizeof(pad));
}

static void hmac_teardown(struct crypto_hmac_key *k)
{
    sodium_memzero(k, sizeof(*k));
}

static void hmac_finish(const struct crypto_hmac_key *k,
                        const struct crypto_part *parts, size_t n,
                        uint8_t out[CRYPTO_MAC_LEN])
{
    SHA256_CTX c = k->inner;
    uint8_t ih[32];
    size_t i;

    for (i = 0; i < n; i++)
        if (parts[i].len > 0)
            must(SHA256_Update(&c, parts[i].p, parts[i].len));
    must(SHA256_Final(ih, &c));
    c = k->outer;
    must(SHA256_Update(&c, ih, sizeof(ih)));
    must(SHA256_Final(out, &c));
    sodium_memzero(&c, sizeof(c));
    sodium_memzero(ih, sizeof(ih));
}

#else /* MAMORI_HMAC_EVP */

struct crypto_hmac_key {
    EVP_MD_CTX *inner;
    EVP_MD_CTX *outer;
};

void crypto_sha256(const void *p, size_t len, uint8_t out[32])
{
    unsigned int outl = 0;

    must(ensure_init() == 0);
    must(EVP_Digest(p, len, out, &outl, g_sha256, NULL));
    must(outl == 32);
}

static void hmac_setup(struct crypto_hmac_key *k, const uint8_t *key,
                       size_t keylen)
{
    uint8_t block[SHA256_BLOCK] = {0}, pad[SHA256_BLOCK];
    size_t i;

    must(ensure_init() == 0);
    if (keylen > SHA256_BLOCK)
        crypto_sha256(key, keylen, block);
    else if (keylen > 0)
        memcpy(block, key, keylen);
    k->inner = EVP_MD_CTX_new();
    k->outer = EVP_MD_CTX_new();
    must(k->inner != NULL && k->outer != NULL);
    for (i = 0; i < SHA256_BLOCK; i++)
        pad[i] = block[i] ^ 0x36;
    must(EVP_DigestInit_ex(k->inner, g_sha256, NULL));
    must(EVP_DigestUpdate(k->inner, pad, sizeof(pad)));
    for (i = 0; i < SHA256_BLOCK; i++)
        pad[i] = block[i] ^ 0x5c;
    must(EVP_DigestInit_ex(k->outer, g_sha256, NULL));
    must(EVP_DigestUpdate(k->outer, pad, sizeof(pad)));
    sodium_memzero(block, sizeof(block));
    sodium_memzero(pad, sizeof(pad));
}

static void hmac_teardown(struct crypto_hmac_key *k)
{
    EVP_MD_CTX_free(k->inner); /* cleanses the digest state */
    EVP_MD_CTX_free(k->outer);
    k->inner = NULL;
    k->outer = NULL;
}

static void hmac_finish(const struct crypto_hmac_key *k,
                        const struct crypto_part *parts, size_t n,
                        uint8_t out[CRYPTO_MAC_LEN])
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    uint8_t ih[32];
    unsigned int outl = 0;
    size_t i;

    must(c != NULL);
    must(EVP_MD_CTX_copy_ex(c, k->inner));
    for (i = 0; i < n; i++)
        if (parts[i].len > 0)
            must(EVP_DigestUpdate(c, parts[i].p, parts[i].len));
    must(EVP_DigestFinal_ex(c, ih, &outl));
    must(EVP_MD_CTX_copy_ex(c, k->outer));
    must(EVP_DigestUpdate(c, ih, sizeof(ih)));
    must(EVP_DigestFinal_ex(c, out, &outl));
    EVP_MD_CTX_free(c);
    sodium_memzero(ih, sizeof(ih));
}

#endif /* MAMORI_HMAC_EVP */

void crypto_hmac(const uint8_t *key, size_t keylen,
                 const struct crypto_part *parts, size_t n,
                 uint8_t out[CRYPTO_MAC_LEN])
{
    struct crypto_hmac_key k;

    hmac_setup(&k, key, keylen);
    hmac_finish(&k, parts, n, out);
    hmac_teardown(&k);
}

struct crypto_hmac_key *crypto_hmac_key_new(const uint8_t *key, size_t keylen)
{
    struct crypto_hmac_key *k;

    if (key == NULL && keylen > 0)
        return NULL;
    k = crypto_secret_alloc(sizeof(*k));
    if (k == NULL)
        return NULL;
    hmac_setup(k, key, keylen);
    return k;
}

void crypto_hmac_key_free(struct crypto_hmac_key *k)
{
    if (k == NULL)
        return;
    hmac_teardown(k);
    sodium_free(k);
}

void crypto_hmac_run(const struct crypto_hmac_key *k,
                     const struct crypto_part *parts, size_t n,
                     uint8_t out[CRYPTO_MAC_LEN])
{
    hmac_finish(k, parts, n, out);
}

void crypto_kdf(const uint8_t key[CRYPTO_KEY_LEN], const char *label,
                const void *context, size_t context_len,
                uint8_t out[CRYPTO_KEY_LEN])
{
    static const uint8_t zero = 0;
    struct crypto_part parts[3] = {
        {label, label != NULL ? strlen(label) : 0},
        {&zero, 1},
        {context, context != NULL ? context_len : 0},
    };

    /* crypto_hmac reads all of key before writing out: in == out is fine. */
    crypto_hmac(key, CRYPTO_KEY_LEN, parts, 3, out);
}

/* ---- Argon2id ------------------------------------------------------------ */

int crypto_argon2id(const char *pass, size_t passlen,
                    const uint8_t salt[CRYPTO_SALT_LEN], uint64_t opslimit,
                    size_t memlimit, uint8_t *out, size_t outlen)
{
    if ((pass == NULL && passlen > 0) || salt == NULL || out == NULL)
        return -1;
    if (outlen < crypto_pwhash_argon2id_BYTES_MIN ||
        outlen > crypto_pwhash_argon2id_BYTES_MAX ||
        passlen > crypto_pwhash_argon2id_PASSWD_MAX ||
        opslimit < crypto_pwhash_argon2id_OPSLIMIT_MIN ||
        opslimit > crypto_pwhash_argon2id_OPSLIMIT_MAX ||
        memlimit < crypto_pwhash_argon2id_MEMLIMIT_MIN ||
        memlimit > crypto_pwhash_argon2id_MEMLIMIT_MAX)
        return -1;
    if (ensure_init() != 0)
        return -1;
    if (crypto_pwhash_argon2id(out, outlen, pass != NULL ? pass : "", passlen,
                               salt, opslimit, memlimit,
                               crypto_pwhash_argon2id_ALG_ARGON2ID13) != 0) {
        sodium_memzero(out, outlen);
        return -1;
    }
    return 0;
}

int crypto_pw_hash(const char *pw, size_t pwlen, char out[CRYPTO_PWHASH_STRLEN])
{
    if ((pw == NULL && pwlen > 0) || out == NULL ||
        pwlen > crypto_pwhash_argon2id_PASSWD_MAX)
        return -1;
    if (ensure_init() != 0)
        return -1;
    if (crypto_pwhash_argon2id_str(out, pw != NULL ? pw : "", pwlen, PWHASH_OPS,
                                   PWHASH_MEM) != 0) {
        sodium_memzero(out, CRYPTO_PWHASH_STRLEN);
        return -1;
    }
    return 0;
}

int crypto_pw_needs_rehash(const char *hash)
{
    if (hash == NULL || memchr(hash, '\0', CRYPTO_PWHASH_STRLEN) == NULL)
        return 0;
    return crypto_pwhash_argon2id_str_needs_rehash(hash, PWHASH_OPS,
                                                   PWHASH_MEM) == 1;
}

int crypto_pw_verify(const char *hash, const char *pw, size_t pwlen)
{
    if (hash == NULL || (pw == NULL && pwlen > 0) ||
        pwlen > crypto_pwhash_argon2id_PASSWD_MAX)
        return 0;
    /* libsodium reads hash as a C string: it must end inside the buffer. */
    if (memchr(hash, '\0', CRYPTO_PWHASH_STRLEN) == NULL)
        return 0;
    if (ensure_init() != 0)
        return 0;
    return crypto_pwhash_argon2id_str_verify(hash, pw != NULL ? pw : "",
                                             pwlen) == 0;
}

/* ---- Ed25519 ------------------------------------------------------------- */

void crypto_ed25519_keypair(uint8_t pk[CRYPTO_SIGN_PK_LEN],
                            uint8_t sk[CRYPTO_SIGN_SK_LEN])
{
    must(ensure_init() == 0);
    must(crypto_sign_ed25519_keypair(pk, sk) == 0);
}

void crypto_ed25519_sign(const uint8_t sk[CRYPTO_SIGN_SK_LEN], const void *msg,
                         size_t len, uint8_t sig[CRYPTO_SIG_LEN])
{
    must(ensure_init() == 0);
    must(crypto_sign_ed25519_detached(sig, NULL, msg, len, sk) == 0);
}

int crypto_ed25519_verify(const uint8_t pk[CRYPTO_SIGN_PK_LEN], const void *msg,
                          size_t len, const uint8_t sig[CRYPTO_SIG_LEN])
{
    if (pk == NULL || sig == NULL || (msg == NULL && len > 0))
        return 0;
    return crypto_sign_ed25519_verify_detached(sig, msg, len, pk) == 0;
}

/* ---- hex, base64url, UUID ------------------------------------------------ */

static const char hexdigits[] = "0123456789abcdef";

void crypto_hex(const void *p, size_t len, char *out)
{
    const uint8_t *b = p;
    size_t i;

    for (i = 0; i < len; i++) {
        out[2 * i] = hexdigits[b[i] >> 4];
        out[2 * i + 1] = hexdigits[b[i] & 0x0f];
    }
    out[2 * len] = '\0';
}

/* 1 if lo <= x <= hi, else 0, without branches (x, lo, hi < 2^31). */
static unsigned in_range(unsigned x, unsigned lo, unsigned hi)
{
    return (((x - lo) | (hi - x)) >> 31 & 1) ^ 1;
}

/* Value of a hex digit (either case), or -1; no data-dependent branches, as
 * the digits may spell a key. */
static int hexval(unsigned char ch)
{
    unsigned c = ch;
    unsigned dg = in_range(c, '0', '9'), lc = in_range(c, 'a', 'f');
    unsigned uc = in_range(c, 'A', 'F');
    unsigned v = ((c - '0') & (0u - dg)) | ((c - 'a' + 10) & (0u - lc)) |
                 ((c - 'A' + 10) & (0u - uc));
    unsigned ok = dg | lc | uc;

    return (int)(v & (0u - ok)) | -(int)(ok ^ 1);
}

long crypto_unhex(const char *s, size_t slen, void *out, size_t outmax)
{
    uint8_t *o = out;
    size_t n, i;
    int bad = 0;

    if ((s == NULL && slen > 0) || slen % 2 != 0)
        return -1;
    n = slen / 2;
    if (n > outmax || n > (size_t)LONG_MAX || (o == NULL && n > 0))
        return -1;
    for (i = 0; i < n; i++) {
        int hi = hexval((unsigned char)s[2 * i]);
        int lo = hexval((unsigned char)s[2 * i + 1]);

        bad |= hi | lo; /* negative if either was bad */
        o[i] = (uint8_t)(((unsigned)hi & 0x0f) << 4 | ((unsigned)lo & 0x0f));
    }
    if (bad < 0) {
        sodium_memzero(o, n);
        return -1;
    }
    return (long)n;
}

size_t crypto_b64_len(size_t len)
{
    static const size_t tail[3] = {0, 2, 3};

    /* SIZE_MAX on overflow, so that an allocation of it fails. */
    if (len / 3 > (SIZE_MAX - 3) / 4)
        return SIZE_MAX;
    return len / 3 * 4 + tail[len % 3];
}

/* base64url alphabet index -> char, without table lookups on the data. */
static char b64char(unsigned v)
{
    unsigned c = v + 'A';

    c += ((25u - v) >> 8) & ('a' - 'A' - 26);
    c += ((51u - v) >> 8) & ('0' - 'a' - 26 + 256);
    c += ((61u - v) >> 8) & (unsigned)('-' - '0' - 10);
    c += ((62u - v) >> 8) & (unsigned)('_' - '-' - 1);
    return (char)(c & 0xff);
}

void crypto_b64(const void *p, size_t len, char *out)
{
    const uint8_t *b = p;
    size_t i, o = 0;

    for (i = 0; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)b[i] << 16 | (uint32_t)b[i + 1] << 8 | b[i + 2];

        out[o++] = b64char(v >> 18);
        out[o++] = b64char((v >> 12) & 63);
        out[o++] = b64char((v >> 6) & 63);
        out[o++] = b64char(v & 63);
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)b[i] << 16;

        out[o++] = b64char(v >> 18);
        out[o++] = b64char((v >> 12) & 63);
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)b[i] << 16 | (uint32_t)b[i + 1] << 8;

        out[o++] = b64char(v >> 18);
        out[o++] = b64char((v >> 12) & 63);
        out[o++] = b64char((v >> 6) & 63);
    }
    out[o] = '\0';
}

/* Value of a base64url char, or -1. */
static int b64val(unsigned char ch)
{
    unsigned c = ch;
    unsigned up = in_range(c, 'A', 'Z'), lo = in_range(c, 'a', 'z');
    unsigned dg = in_range(c, '0', '9'), mi = c == '-', us = c == '_';
    unsigned v = ((c - 'A') & (0u - up)) | ((c - 'a' + 26) & (0u - lo)) |
                 ((c - '0' + 52) & (0u - dg)) | (62u & (0u - mi)) |
                 (63u & (0u - us));
    unsigned ok = up | lo | dg | mi | us;

    return (int)(v & (0u - ok)) | -(int)(ok ^ 1);
}

long crypto_unb64(const char *s, size_t slen, void *out, size_t outmax)
{
    uint8_t *o = out;
    size_t full = slen / 4, rest = slen % 4, n, i, j;
    int bad = 0;
    uint32_t v;

    if ((s == NULL && slen > 0) || rest == 1)
        return -1;
    n = full * 3 + (rest > 0 ? rest - 1 : 0);
    if (n > outmax || n > (size_t)LONG_MAX || (o == NULL && n > 0))
        return -1;
    for (i = 0, j = 0; i < full; i++, j += 3) {
        int a = b64val((unsigned char)s[4 * i]);
        int b = b64val((unsigned char)s[4 * i + 1]);
        int c = b64val((unsigned char)s[4 * i + 2]);
        int d = b64val((unsigned char)s[4 * i + 3]);

        bad |= a | b | c | d;
        v = (uint32_t)(a & 63) << 18 | (uint32_t)(b & 63) << 12 |
            (uint32_t)(c & 63) << 6 | (uint32_t)(d & 63);
        o[j] = (uint8_t)(v >> 16);
        o[j + 1] = (uint8_t)(v >> 8);
        o[j + 2] = (uint8_t)v;
    }
    if (rest > 0) {
        const char *t = s + 4 * full;
        int a = b64val((unsigned char)t[0]);
        int b = b64val((unsigned char)t[1]);
        int c = rest == 3 ? b64val((unsigned char)t[2]) : 0;

        bad |= a | b | c;
        v = (uint32_t)(a & 63) << 18 | (uint32_t)(b & 63) << 12 |
            (uint32_t)(c & 63) << 6;
        o[j] = (uint8_t)(v >> 16);
        if (rest == 3)
            o[j + 1] = (uint8_t)(v >> 8);
        /* Canonical form only: the unused low bits must be zero. */
        if ((rest == 2 && (v & 0xffff) != 0) || (rest == 3 && (v & 0xff) != 0))
            bad = -1;
    }
    if (bad < 0) {
        sodium_memzero(o, n);
        return -1;
    }
    return (long)n;
}

void crypto_uuid(char out[37])
{
    uint8_t b[16];
    char hex[33];
    size_t i, o = 0;

    crypto_random(b, sizeof(b));
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* variant 10xx */
    crypto_hex(b, sizeof(b), hex);
    for (i = 0; i < 32; i++) {
        if (i == 8 || i == 12 || i == 16 || i == 20)
            out[o++] = '-';
        out[o++] = hex[i];
    }
    out[o] = '\0';
}
