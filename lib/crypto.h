/*
 * crypto.h - the primitives libmamori uses, over OpenSSL libcrypto (AES-GCM,
 * HMAC-SHA-256, SHA-256) and libsodium (random, Argon2id, Ed25519, guarded
 * memory, constant-time compare). Nothing else in libmamori calls either
 * library's crypto directly.
 */
#ifndef MAMORI_CRYPTO_H
#define MAMORI_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define CRYPTO_KEY_LEN 32
#define CRYPTO_NONCE_LEN 12
#define CRYPTO_TAG_LEN 16
/* Ciphertext layout: nonce || ciphertext || tag. */
#define CRYPTO_AEAD_OVERHEAD (CRYPTO_NONCE_LEN + CRYPTO_TAG_LEN)
#define CRYPTO_MAC_LEN 32
#define CRYPTO_SIGN_PK_LEN 32
#define CRYPTO_SIGN_SK_LEN 64
#define CRYPTO_SIG_LEN 64

/* Initialises libsodium. 0 or -1. */
int crypto_init(void);

/* Fills buf with random bytes (never fails once crypto_init succeeded). */
void crypto_random(void *buf, size_t len);

/* Guarded memory for secrets: sodium_malloc (guard pages, mlock) and
 * sodium_free (wipes). crypto_secret_alloc returns NULL on failure. */
void *crypto_secret_alloc(size_t len);
void crypto_secret_free(void *p);
/* Wipes len bytes (not optimised away). */
void crypto_wipe(void *p, size_t len);
/* Wipes a NUL-terminated string and frees it; NULL is fine. */
void crypto_wipe_free_str(char *s);
/* Constant-time equality of two len-byte buffers: 1 if equal. */
int crypto_equal(const void *a, const void *b, size_t len);

/*
 * AES-256-GCM. out must hold ptlen + CRYPTO_AEAD_OVERHEAD bytes; a fresh
 * random nonce is drawn. Returns 0 or -1.
 */
int crypto_aead_encrypt(const uint8_t key[CRYPTO_KEY_LEN], const void *ad,
                        size_t adlen, const void *pt, size_t ptlen,
                        uint8_t *out);
/* The same with the caller's nonce (written to out's first bytes), for
 * streams whose chunk nonces come from a counter: the caller makes sure a
 * nonce is never used twice under one key. */
int crypto_aead_encrypt_nonce(const uint8_t key[CRYPTO_KEY_LEN],
                              const uint8_t nonce[CRYPTO_NONCE_LEN],
                              const void *ad, size_t adlen, const void *pt,
                              size_t ptlen, uint8_t *out);
/* out must hold ctlen - CRYPTO_AEAD_OVERHEAD bytes. Returns 0, or -1 if the
 * tag does not verify (out is wiped then) or ctlen is too short. */
int crypto_aead_decrypt(const uint8_t key[CRYPTO_KEY_LEN], const void *ad,
                        size_t adlen, const uint8_t *ct, size_t ctlen,
                        uint8_t *out);

/* HMAC-SHA-256 over the concatenation of up to n message parts. */
struct crypto_part {
    const void *p;
    size_t len;
};
void crypto_hmac(const uint8_t *key, size_t keylen,
                 const struct crypto_part *parts, size_t n,
                 uint8_t out[CRYPTO_MAC_LEN]);

/*
 * A keyed HMAC context with the key schedule done once, for hot loops
 * (blind indexes, audit verification). Thread-safe to use one context from
 * several threads at once: crypto_hmac_run copies the precomputed state.
 */
struct crypto_hmac_key;
struct crypto_hmac_key *crypto_hmac_key_new(const uint8_t *key, size_t keylen);
void crypto_hmac_key_free(struct crypto_hmac_key *k);
void crypto_hmac_run(const struct crypto_hmac_key *k,
                     const struct crypto_part *parts, size_t n,
                     uint8_t out[CRYPTO_MAC_LEN]);

/* Derives a 32-byte subkey: HMAC-SHA-256(key, label || 0x00 || context). */
void crypto_kdf(const uint8_t key[CRYPTO_KEY_LEN], const char *label,
                const void *context, size_t context_len,
                uint8_t out[CRYPTO_KEY_LEN]);

/* SHA-256. */
void crypto_sha256(const void *p, size_t len, uint8_t out[32]);

/* Argon2id raw key derivation. opslimit >= 3, memlimit >= 64 MiB are
 * enforced by keys.c, not here. Returns 0 or -1 (out of memory). */
#define CRYPTO_SALT_LEN 16
int crypto_argon2id(const char *pass, size_t passlen,
                    const uint8_t salt[CRYPTO_SALT_LEN], uint64_t opslimit,
                    size_t memlimit, uint8_t *out, size_t outlen);

/* Password hashing for user logins (Argon2id, encoded string with its
 * parameters, crypto_pwhash_str). out must hold CRYPTO_PWHASH_STRLEN. */
#define CRYPTO_PWHASH_STRLEN 128
int crypto_pw_hash(const char *pw, size_t pwlen,
                   char out[CRYPTO_PWHASH_STRLEN]);
/* 1 if pw matches the hash, 0 if not. */
int crypto_pw_verify(const char *hash, const char *pw, size_t pwlen);
/* 1 if the hash was made with other parameters than crypto_pw_hash uses
 * today (rehash at the next login), 0 if not. */
int crypto_pw_needs_rehash(const char *hash);

/* Ed25519. */
void crypto_ed25519_keypair(uint8_t pk[CRYPTO_SIGN_PK_LEN],
                            uint8_t sk[CRYPTO_SIGN_SK_LEN]);
void crypto_ed25519_sign(const uint8_t sk[CRYPTO_SIGN_SK_LEN], const void *msg,
                         size_t len, uint8_t sig[CRYPTO_SIG_LEN]);
/* 1 if valid. */
int crypto_ed25519_verify(const uint8_t pk[CRYPTO_SIGN_PK_LEN], const void *msg,
                          size_t len, const uint8_t sig[CRYPTO_SIG_LEN]);

/* Hex and base64url (no padding) encoding. out sizes: 2*len+1 and
 * crypto_b64_len(len)+1. Decoders return the decoded length or -1. */
void crypto_hex(const void *p, size_t len, char *out);
long crypto_unhex(const char *s, size_t slen, void *out, size_t outmax);
size_t crypto_b64_len(size_t len);
void crypto_b64(const void *p, size_t len, char *out);
long crypto_unb64(const char *s, size_t slen, void *out, size_t outmax);

/* A random UUID v4 as text; out holds 37 bytes. */
void crypto_uuid(char out[37]);

#endif
