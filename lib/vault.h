/*
 * vault.h - datasets and encrypted records (internal helpers shared with
 * tests and later modules: import, export).
 */
#ifndef MAMORI_VAULT_H
#define MAMORI_VAULT_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"
#include "store.h"
#include "text.h"

struct guard_call;

#define VAULT_MAX_FIELDS 64
#define VAULT_INDEX_BITS_DEFAULT 18

struct vault_field {
    char name[64];
    enum field_type type;
    int searchable;
    int key; /* part of the dataset's record key (implies searchable) */
    struct crypto_hmac_key *index_key; /* when searchable */
    struct crypto_hmac_key *check_key; /* masks the entries' checks */
};

/* A dataset as the domain code sees it, cached on the vault handle. */
struct vault_ds {
    int64_t id;
    char uuid[37];
    char name[64];
    int index_bits;
    size_t nfields;
    struct vault_field fields[VAULT_MAX_FIELDS];
    const uint8_t *dek; /* record key, version 1 (owned by keys) */
    struct vault_ds *next;
};

/* Canonical values of a record, by schema field; NULL = absent. */
struct values {
    char *v[VAULT_MAX_FIELDS];
};
void vault_values_wipe(struct values *vs, size_t n);

/* Why a value was refused: the field (schema index, or -1 when the name is
 * wrong), the 1-based position of the FIELD=VALUE, a static rule text. */
struct refusal {
    int field;
    size_t arg;
    const char *rule;
};

/* A record ready to be written: ciphertext and blind-index values. */
struct prepared {
    struct store_record r;
    uint8_t mac[VAULT_MAX_FIELDS][4];
    uint8_t maclen[VAULT_MAX_FIELDS];   /* 0: no index entry */
    uint8_t check[VAULT_MAX_FIELDS][4]; /* masked, see vault_probe */
};

/* The cached dataset of a store row, or NULL if it was not loaded yet
 * (callable without m->lock: the cache only grows while the handle is
 * open). */
struct vault_ds *vault_ds_cached(struct mamori *m,
                                 const struct store_dataset *row);
/* The dataset of the guarded call c (vault_ds_load; for the read gate,
 * the cached one or GUARD_SLOW). */
int vault_ds_of(struct guard_call *c, struct vault_ds **out);
/* The cached dataset of a store row, loading its keys on first use. Call
 * with m->lock held. */
int vault_ds_load(struct mamori *m, const struct store_dataset *row,
                  struct vault_ds **out);

/* Validates kv into canonical values (thread-safe, no session state). With
 * seen[] zeroed for a new record. */
int vault_values_from_kv(const struct vault_ds *d, const struct mamori_kv *kv,
                         size_t n, struct values *vs,
                         int seen[VAULT_MAX_FIELDS], struct refusal *why);

/* Names the refusal in the session's error detail and the audit detail;
 * row is 1-based, 0 for a single record. */
void vault_refusal_report(mamori_sess *s, struct guard_call *c,
                          const struct vault_ds *d, const struct mamori_kv *kv,
                          size_t row, const struct refusal *why);

/* A new record (random UUID v4 id, version 1) sealed and indexed; thread-
 * safe. vault_write_new stores it (inside the caller's transaction). */
int vault_prepare_new(struct mamori *m, const struct vault_ds *d,
                      const struct values *vs, int64_t now, struct prepared *p);
int vault_write_new(struct mamori *m, const struct vault_ds *d,
                    const struct prepared *p);

/* Field names: 1..63 of [a-z0-9_], starting with a letter, not "id" or
 * "version" (dataset.c). */
int vault_field_name_ok(const char *s, size_t n);

/* The schema field of that name (and its index), or NULL. */
struct vault_field *vault_field_find(struct vault_ds *d, const char *name,
                                     size_t *idx);
/* The schema field kv names, or NULL (no name, or no such field). */
const struct vault_field *vault_kv_field(const struct vault_ds *d,
                                         const struct mamori_kv *kv);

/* Decrypts a stored record into its values: MAMORI_ECRYPTO when its tag,
 * binding or layout does not check out. */
int vault_unseal(struct mamori *m, const struct vault_ds *d,
                 const struct store_record *r, struct values *vs);

/* Reads a record through the read gate (fast) or the ordinary one. With
 * later (and fast), the record is held in later->rec until its entry's
 * verdict (later_queue): 0 then means queued, and *out stays NULL. */
int vault_record_get(mamori_sess *s, int fast, const char *dataset,
                     const char *id, struct mamori_record **out,
                     struct mamori_later *later);

/* The public form of a decrypted record; takes over the values. view
 * (GUARD_VIEW_*) says which values are replaced by their masked form
 * (mask_value); the record's masked flag is set if any was. */
int vault_record_out(const struct vault_ds *d, const struct store_record *r,
                     struct values *vs, unsigned view,
                     struct mamori_record **out);

/* My Number rules for a caller who is not a handler of the dataset
 * (c->handler unset): entering a My Number is handling it. 0 if kv (n
 * pairs) gives no mynumber field a value - or, with update, names no
 * mynumber field at all (clearing one is handling it too) - else
 * MAMORI_EDENIED with the session's and the audit entry's detail naming
 * the field and the rule (at: 1-based row of a batch, or with
 * VAULT_MN_LINE an import's line of the file as its problems name it; 0
 * for a single record). */
#define VAULT_MN_UPDATE 1u /* kv changes a record: naming a field is enough */
#define VAULT_MN_LINE 2u   /* at is a line of a file */
int vault_mynumber_check(mamori_sess *s, struct guard_call *c,
                         const struct vault_ds *d, const struct mamori_kv *kv,
                         size_t n, uint64_t at, unsigned how);

/* Schema text kept in the store: "v1;bits=18;name:type[:s[:k]];..." (":k":
 * a key field, always searchable; older text without it parses). */
int vault_schema_format(const struct vault_ds *d, char *out, size_t size);
int vault_schema_parse(const char *text, struct vault_ds *d);

/* Record ids: 16 bytes <-> UUID text (36 chars, lower-case). */
int vault_rid_parse(const char *text, uint8_t rid[16]);
void vault_rid_format(const uint8_t rid[16], char out[37]);

/* A search key's blind-index value (the MAC's first index_bits bits) and
 * its check (4 further bytes of the MAC).
 *
 * The index is lossy on purpose (DESIGN.md: 2 <= expected collisions), so
 * a lookup finds other values' entries too. Each entry therefore also
 * stores VAULT_CHECK_LEN bytes: 8 bytes of its record's id (a nonce) and
 * the check XORed with a mask, HMAC(field's check key, nonce). To anyone
 * without the key the stored check is random and differs between two
 * records with the same value, so the file tells no more than the index
 * alone; a lookup recomputes the mask and reads only the records whose
 * check fits (false positives 2^-32, still dropped after decryption). */
#define VAULT_CHECK_LEN 12
struct vault_probe {
    const struct vault_field *f;
    uint8_t mac[4];
    size_t maclen;
    uint8_t check[4];
};
void vault_probe_make(const struct vault_ds *d, const struct vault_field *f,
                      const char *key, size_t keylen, struct vault_probe *p);
/* The entry check of probe p for a record (out: VAULT_CHECK_LEN). */
void vault_probe_seal(const struct vault_probe *p, const uint8_t rid[16],
                      uint8_t out[VAULT_CHECK_LEN]);
/* store_index_keep for a struct vault_probe: whether an entry's stored
 * check fits (an entry without one always does). */
int vault_probe_keep(void *probe, const uint8_t *chk, size_t len);

/* The record key (recordkey.c): the search keys of vs's key fields, in
 * schema order, into keys[0..*nkeys) (wipe with vault_key_free); *nkeys 0
 * when the dataset has no key or one of its fields is empty. */
int vault_key_of(const struct vault_ds *d, const struct values *vs,
                 char *keys[VAULT_MAX_FIELDS], size_t *nkeys);
void vault_key_free(char *keys[VAULT_MAX_FIELDS], size_t nkeys);
/* *taken: whether a record of d other than self (NULL: any) has the key
 * keys[0..nkeys), read in st. */
int vault_key_taken(struct mamori *m, struct store *st,
                    const struct vault_ds *d,
                    char *const keys[VAULT_MAX_FIELDS], size_t nkeys,
                    const uint8_t *self, int *taken);
/* MAMORI_EEXIST (with the details) when a record of d other than self
 * (NULL: any) has vs's record key, read in c's connection. */
int vault_key_check(mamori_sess *s, struct guard_call *c,
                    const struct vault_ds *d, const struct values *vs,
                    const uint8_t *self);
/* 0 when vs has a value at all (a record or an entry needs one), else
 * MAMORI_EINVAL with the details (changed: vs is the values an update
 * would leave). */
int vault_need_value(mamori_sess *s, struct guard_call *c,
                     const struct vault_ds *d, const struct values *vs,
                     int changed);
/* Whether kv (n pairs) names one of d's key fields: an update that names
 * none keeps the record's key as it is. */
int vault_key_named(const struct vault_ds *d, const struct mamori_kv *kv,
                    size_t n);

/* The record plaintext form of vs sealed (AES-256-GCM) under the dataset's
 * record key with the caller's associated data (verified entries bind
 * their own); *ct malloc'd. vault_values_unseal is the reverse:
 * MAMORI_ECRYPTO when the tag, binding or layout does not check out. Wipe
 * vs with vault_values_wipe. */
int vault_values_seal(const struct vault_ds *d, const void *ad, size_t adlen,
                      const struct values *vs, uint8_t **ct, size_t *ctlen);
int vault_values_unseal(const struct vault_ds *d, const void *ad, size_t adlen,
                        const uint8_t *ct, size_t ctlen, struct values *vs);

/* Replaces, in place, the values that view (GUARD_VIEW_*) releases masked
 * by their masked form, as vault_record_out does (the stored values are
 * wiped); *masked (may be NULL) is set to 1 if any was. For exports. */
int vault_values_mask(const struct vault_ds *d, struct values *vs,
                      unsigned view, int *masked);

#endif
