/*
 * keys.h - the key store: DIR/keys.db, a small SQLite file kept apart from
 * the data (data backups never contain it). It holds, each wrapped
 * (AES-256-GCM) by the master key (KEK):
 *   - per-dataset keys (DEKs) by version; version 0 is the dataset's
 *     blind-index root key, versions >= 1 encrypt records;
 *   - the audit chain's initial key k0 (for verifiers) and its current,
 *     forward-evolved key (epoch, k_epoch);
 *   - the Ed25519 signing key (its public key in clear).
 * The KEK itself is stored only wrapped by the unseal key: the 32 bytes of a
 * key file, or Argon2id(passphrase, salt) with m >= 64 MiB, t >= 3.
 * All key material lives in crypto_secret_alloc memory and is wiped.
 */
#ifndef MAMORI_KEYS_H
#define MAMORI_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "mamori.h"

struct keys;

/* Argon2id parameters used for a passphrase (and the floor accepted). */
#define KEYS_ARGON_OPS 3
#define KEYS_ARGON_MEM (64u * 1024 * 1024)

/* Creates DIR/keys.db for vault_id: random KEK, wrapped under the unseal key
 * from src; random audit key k0; Ed25519 key pair. A key_file that does not
 * exist is created with 32 random bytes, mode 0400; an existing one must be
 * 32 bytes and not readable by group or others. Remembers the source (kind
 * and absolute key-file path). */
int keys_create(const char *home, const char *vault_id,
                const struct mamori_keysrc *src, struct keys **out);

/* What the key store remembers of its source (readable while sealed). */
int keys_source(const char *home, char *kind, size_t kind_size, char *path,
                size_t path_size);

/* Opens and unseals. MAMORI_EKEY for a wrong key or an unsafe key file.
 * When src has neither key_file nor passphrase, the remembered key file is
 * used. */
int keys_open(const char *home, const struct mamori_keysrc *src,
              struct keys **out);
void keys_close(struct keys *k);

/* The vault id the key store was made for. */
const char *keys_vault_id(const struct keys *k);

/* A dataset key (see above). With create, a missing key is generated and
 * stored. *key points into guarded memory owned by k, valid until
 * keys_close or keys_dataset_destroy. MAMORI_ENOTFOUND if missing (or
 * destroyed). */
int keys_dataset_key(struct keys *k, const char *dataset_uuid, uint32_t version,
                     int create, const uint8_t **key);
/* The id under which keys_dataset_key keeps the identity key (version 1):
 * it seals users' TOTP secrets and keys the MACs of their recovery codes.
 * It belongs to no dataset, and no erasure touches it. */
#define KEYS_IDENTITY_ID "identity"

/* Destroys every key of the dataset (crypto-shredding). */
int keys_dataset_destroy(struct keys *k, const char *dataset_uuid);

/* The audit chain's initial key k0 (guarded memory owned by k). */
int keys_audit_initial(struct keys *k, const uint8_t **k0);
/* The audit key for epoch: derived forward from the stored current key
 * (k[e+1] = crypto_kdf(k[e], "mamori-audit-epoch")). The store is not
 * changed: the entries that need the key may yet be rolled back, and the
 * store must keep the key of the log's committed end (keys_audit_advance
 * once they are committed). An epoch older than the stored one is
 * MAMORI_ESTATE. out is caller-provided (wipe it); *stored_epoch (if not
 * NULL) is the stored key's epoch. */
int keys_audit_key(struct keys *k, uint64_t epoch, uint8_t out[CRYPTO_KEY_LEN],
                   uint64_t *stored_epoch);
/* Replaces the stored current key by the one of epoch (derived forward)
 * and wipes the older one, for a log whose committed entries reached
 * epoch: never beyond, or the log's next entry would need a wiped key.
 * Nothing if the stored key is of epoch or later. */
int keys_audit_advance(struct keys *k, uint64_t epoch);
/* Steps a key one epoch forward (what keys_audit_key and verifiers use). */
void keys_audit_evolve(const uint8_t in[CRYPTO_KEY_LEN],
                       uint8_t out[CRYPTO_KEY_LEN]);

/* Ed25519: sign with the vault's key; its public key. */
int keys_sign(struct keys *k, const void *msg, size_t len,
              uint8_t sig[CRYPTO_SIG_LEN]);
void keys_sign_public(const struct keys *k, uint8_t pk[CRYPTO_SIGN_PK_LEN]);

/* ---- backups (backup.c) ----------------------------------------------- */

/* What a key-store backup needs to be unsealed without the store: the
 * source kind, the Argon2id parameters of a passphrase, and the KEK
 * wrapped by the unseal key (as in the store). Nothing here is secret
 * without the key file or passphrase. */
#define KEYS_SEAL_KEYFILE 1
#define KEYS_SEAL_PASSPHRASE 2
#define KEYS_WRAPPED_KEK_LEN (CRYPTO_KEY_LEN + CRYPTO_AEAD_OVERHEAD)
struct keys_seal {
    int kind; /* KEYS_SEAL_* */
    uint8_t salt[CRYPTO_SALT_LEN];
    uint64_t ops, mem;
    uint8_t kek[KEYS_WRAPPED_KEK_LEN];
};
/* The seal of the open store. */
int keys_seal_get(struct keys *k, struct keys_seal *out);
/* Unwraps the KEK of a seal (untrusted input: parameters are bounded as
 * for the store) with src: a key file (src->key_file; no remembered path)
 * or a passphrase. MAMORI_EKEY for a wrong or unsafe key. kek is the
 * caller's (guarded) memory; wipe it. */
int keys_seal_open(const struct keys_seal *seal, const char *vault_id,
                   const struct mamori_keysrc *src,
                   uint8_t kek[CRYPTO_KEY_LEN]);
/* A subkey of the KEK: crypto_kdf(KEK, label, vault id). out: wipe it. */
int keys_derive(struct keys *k, const char *label, uint8_t out[CRYPTO_KEY_LEN]);
/* A consistent copy of the key store (SQLite backup API) into path, a new
 * file made 0600. */
int keys_snapshot(struct keys *k, const char *path);
/* For a restored vault whose key store is newer than its log: sets the
 * current audit key back to the one of epoch (derived from k0) when the
 * stored one is later; nothing otherwise. */
int keys_audit_rewind(struct keys *k, uint64_t epoch);

#endif
