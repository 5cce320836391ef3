/*
 * audit.h - the tamper-evident access log.
 *
 * Each entry (a row of table "audit") carries the MAC of its predecessor and
 * its own MAC: HMAC-SHA-256 under the key of its epoch (seq / AUDIT_EPOCH
 * entries share a key; k[e+1] = KDF(k[e]), the writer wipes old keys) over
 * the vault id, the entry's fields and prev_mac. Verification needs only k0,
 * and since each entry stores its predecessor's MAC, entries verify in
 * parallel. Checkpoints (seq, head MAC, time) are signed with the vault's
 * Ed25519 key and kept off the host; they reveal truncation of the newest
 * entries.
 */
#ifndef MAMORI_AUDIT_H
#define MAMORI_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"

#define AUDIT_EPOCH 4096

/* The MAC input of an entry, stored in its first byte: 1 for entries
 * written before schema 8 (no request context), 2 until schema 9 (client
 * address and request id covered too), 3 until schema 11: the bytes of
 * the entry's body (audit_body) instead of each field; 4 since: the seq,
 * then the entry as stored up to its MAC (store.h, store_audit_raw). */
#define AUDIT_FORMAT_V1 1
#define AUDIT_FORMAT_V2 2
#define AUDIT_FORMAT_V3 3
#define AUDIT_FORMAT_V4 4

/* Room for any body. */
#define AUDIT_BODY_MAX 4096

/* The body of an entry (audit_body.c): its fields but seq, record_ids and
 * the MACs, as one compact JSON object. Encoding writes it into out (size
 * >= AUDIT_BODY_MAX): its length, or 0 if a field has lost its NUL.
 * Decoding (untrusted: the file may have been edited) fills the fields of
 * row, or returns MAMORI_ETAMPER: not JSON, a key missing, extra or
 * repeated, a value of the wrong type or too long for its field. */
size_t audit_body_encode(const struct store_audit_row *row, char *out,
                         size_t size);
int audit_body_decode(const char *body, size_t len,
                      struct store_audit_row *row);
/* A stored row with its body decoded; record_ids is copied into *buf
 * (grown as needed, reused across rows, freed by the caller) and
 * row->record_ids points there, or is NULL. */
int audit_row_decode(const struct store_audit_raw *raw,
                     struct store_audit_row *row, char **buf, size_t *cap);

/* Fills an empty row->client and row->request_id from the calling
 * thread's request context (mamori_set_request). */
void audit_fill_context(struct store_audit_row *row);

/* Entries appended by this process (any handle), for mamori_stats; an
 * append whose transaction is then rolled back counts too. */
int64_t audit_appends_total(void);

/* Fills in seq, prev_mac and mac of row and appends it, inside the caller's
 * store transaction. MAMORI_EAUDIT on any failure. */
int audit_append(struct mamori *m, struct store_audit_row *row);
/* As audit_append, for a row whose request context was filled already, in
 * the thread of its request (the group commit writes other threads'
 * entries). */
int audit_append_filled(struct mamori *m, struct store_audit_row *row);

/* Commits the writer's transaction (store_commit, whose result it
 * returns); then, if its entries stepped into a new epoch, moves the key
 * store's audit key up to the epoch of the log's committed end, wiping
 * the older key. Should that fail, the store stays behind, which the next
 * commit or the next open derives forward from. Callers hold m->lock. */
int audit_commit(struct mamori *m);
/* Rolls the writer's transaction back (store_rollback) and forgets a key
 * its entries stepped to that the key store does not hold: the next
 * append derives its key from the store again. Callers hold m->lock. */
void audit_rollback(struct mamori *m);

/* Verifies the chain from the first entry; with a checkpoint text, also
 * that the log reaches it. */
int audit_verify(struct mamori *m, const char *checkpoint, size_t len,
                 struct mamori_verify_result *res);

/* A signed checkpoint of the current head (malloc'd text). */
int audit_checkpoint(struct mamori *m, char **out, size_t *len);

/* Parsed checkpoint. */
struct audit_checkpoint {
    char vault_id[37];
    int64_t seq;
    int64_t time;
    uint8_t head[CRYPTO_MAC_LEN];
    uint8_t pk[CRYPTO_SIGN_PK_LEN];
    uint8_t sig[CRYPTO_SIG_LEN];
    size_t signed_len; /* bytes of the text covered by sig */
};

/* Parses checkpoint text (untrusted input) without checking the signature:
 * 0, or MAMORI_EINVAL with *why naming the problem. */
int audit_checkpoint_parse(const char *text, size_t len,
                           struct audit_checkpoint *cp, const char **why);

/* Computes an entry's MAC under key, with the input its row->format
 * selects: the fields, or for formats 3 and 4 row->body (exposed for
 * tests). */
void audit_mac(const struct crypto_hmac_key *key, const char *vault_id,
               const struct store_audit_row *row, uint8_t out[CRYPTO_MAC_LEN]);

#endif
