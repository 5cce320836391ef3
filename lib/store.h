/*
 * store.h - the storage interface. Domain modules (vault.c, audit.c, auth.c)
 * read and write through these typed calls only and never write SQL of their
 * own, so that a PostgreSQL implementation can follow the SQLite one.
 *
 * The embedded implementation is store_sqlite.c: one file DIR/vault.db, WAL,
 * secure_delete, foreign keys, schema version with migrations. Calls return
 * 0 on success or a negative MAMORI_E* code (MAMORI_ENOTFOUND for a missing
 * row, MAMORI_EEXIST for a unique-key clash, MAMORI_EIO otherwise). Strings
 * in the structs are NUL-terminated and truncated never: a too-long value is
 * refused with MAMORI_ETOOBIG.
 */
#ifndef MAMORI_STORE_H
#define MAMORI_STORE_H

#include <stddef.h>
#include <stdint.h>

struct store;

/* Process-wide SQLite settings; called once by mamori_library_init before
 * any connection is opened. */
void store_global_init(void);

#define STORE_SCHEMA_VERSION 13
#define STORE_RID_LEN 16 /* record id: 16 random bytes (UUID v4) */

/* Opens DIR/vault.db; with create, makes it (refusing an existing one) and
 * the schema. Otherwise migrates an older schema forward, and refuses a newer
 * one (MAMORI_ESCHEMA). */
int store_open(const char *home, int create, struct store **out);
void store_close(struct store *s);

/* A read-only connection (query_only) for parallel readers. Sees committed
 * data only. (A memory map was tried: remapping on every read transaction
 * made batch lookups slower, not faster.) */
int store_open_reader(const char *home, struct store **out);

/* The connection's page cache, in KiB. */
int store_set_cache(struct store *s, int64_t kib);

/* Reads pages of the file through a memory map of up to bytes (0: off)
 * for long sequential scans. */
int store_set_mmap(struct store *s, int64_t bytes);

/* For a reader that serves many lookups: reads pages through a map of the
 * file that outlives other connections' commits (up to SQLite's limit, 2
 * GiB as Debian builds it; pages beyond are read). Pages come in as they
 * are first touched (filling the whole map at once cost a first batch of
 * lookups more than the faults it saved). The map's pages count in the
 * process's RSS. MAMORI_EINVAL if s is not a reader. */
int store_map_kept(struct store *s);

/* One write transaction at a time (BEGIN IMMEDIATE; waits for other writers
 * up to a busy timeout). Reads outside a transaction see committed data. */
int store_begin(struct store *s);
int store_commit(struct store *s);
void store_rollback(struct store *s);
/* A read transaction (deferred BEGIN): the reads until store_rollback see
 * one snapshot of committed data. For reader connections. */
int store_read_begin(struct store *s);

/* Small key/value settings ("vault_id", "created", ...). */
int store_meta_get(struct store *s, const char *key, char *val, size_t size);
int store_meta_set(struct store *s, const char *key, const char *val);

/* ---- users ---- */
enum { STORE_MFA_NONE = 0, STORE_MFA_PENDING = 1, STORE_MFA_ACTIVE = 2 };
#define STORE_MFA_SECRET_MAX 128
struct store_user {
    int64_t id;
    char name[64];
    char role[16];
    char pwhash[128];
    int64_t created;
    int64_t last_login;
    int disabled;
    int must_change;      /* initial password: change before anything else */
    int failures;         /* consecutive failed logins */
    int64_t locked_until; /* unix time; 0 if not locked */
    int64_t pw_changed;   /* when the password was last set */
    int mfa_state;        /* STORE_MFA_* */
    uint8_t mfa_secret[STORE_MFA_SECRET_MAX]; /* sealed TOTP secret */
    size_t mfa_secret_len;
    int64_t mfa_last_step; /* newest TOTP step used (replay guard) */
    /* Device enrolment's own count and lock (auth_login_failed): it
     * needs no approved device, so its failures must not lock logins. */
    int enrol_failures;
    int64_t enrol_locked_until;
};
int store_user_add(struct store *s, struct store_user *u); /* sets u->id */
int store_user_get(struct store *s, const char *name, struct store_user *u);
int store_user_get_id(struct store *s, int64_t id, struct store_user *u);
int store_user_update(struct store *s, const struct store_user *u);
/* How many users have the role and are not disabled. */
int store_user_count_role(struct store *s, const char *role, int64_t *n);
/* All users by name; *out malloc'd. */
int store_user_list(struct store *s, struct store_user **out, size_t *n);

/* ---- sessions (token stored hashed) ---- */
struct store_session {
    uint8_t token_hash[32];
    int64_t user_id;
    long os_uid;
    int64_t created;
    int64_t last_seen;
    int64_t expires;
    unsigned restricted; /* MAMORI_NEED_* bits still to be done */
    char device[37];     /* the proven device's id, "" if none */
};
int store_session_add(struct store *s, const struct store_session *ss);
int store_session_get(struct store *s, const uint8_t token_hash[32],
                      struct store_session *ss);
/* Sets the session's last_seen to now, unless it is within grain seconds
 * before now already (the row is then left alone). MAMORI_ENOTFOUND if
 * there is no such session. */
int store_session_touch(struct store *s, const uint8_t token_hash[32],
                        int64_t now, int64_t grain);
int store_session_delete(struct store *s, const uint8_t token_hash[32]);
/* The generation of what a session check reads (users, sessions but for
 * last_seen, datasets, grants, settings): a new value after any change to
 * it, in this process or another (authcache.c). */
int store_auth_gen(struct store *s, int64_t *gen);
/* Sets the session's restricted bits. */
int store_session_restrict(struct store *s, const uint8_t token_hash[32],
                           unsigned restricted);
/* Every session, oldest first; *out malloc'd. */
int store_session_list(struct store *s, struct store_session **out, size_t *n);
/* Ends every session of the user but keep (NULL: all); *n receives how
 * many. */
int store_session_delete_user(struct store *s, int64_t user_id,
                              const uint8_t *keep, int64_t *n);
/* Ends every session of every user (a restored vault); *n receives how
 * many. */
int store_session_delete_all(struct store *s, int64_t *n);

/* ---- password history: hashes of a user's earlier passwords ---- */
struct store_pwhash {
    char hash[128];
};
/* Adds a hash and keeps only the newest keep entries of the user. */
int store_pwhist_add(struct store *s, int64_t user_id, const char *hash,
                     int keep);
/* The user's earlier hashes, newest first; *out malloc'd (wipe it). */
int store_pwhist_list(struct store *s, int64_t user_id,
                      struct store_pwhash **out, size_t *n);

/* ---- registered devices (端末) ---- */
struct store_device {
    char id[37];
    char name[64];
    char alg[16]; /* "ed25519" */
    uint8_t pubkey[64];
    size_t pubkey_len;
    char state[16];                    /* "pending", "approved", "revoked" */
    int64_t requested_by, approved_by; /* user ids, 0 if none */
    int64_t created, approved, last_used;
};
int store_device_add(struct store *s, const struct store_device *d);
int store_device_get(struct store *s, const char *id, struct store_device *d);
/* The device with this public key that is not revoked (an approved one
 * before a pending one); MAMORI_ENOTFOUND if none. */
int store_device_by_key(struct store *s, const uint8_t *pk, size_t len,
                        struct store_device *d);
/* 1 if a device with this key was revoked (and none is live), else 0. */
int store_device_revoked(struct store *s, const uint8_t *pk, size_t len);
int store_device_update(struct store *s, const struct store_device *d);
int store_device_list(struct store *s, struct store_device **out, size_t *n);
/* Ends every session opened from the device; *n receives how many. */
int store_session_delete_device(struct store *s, const char *device,
                                int64_t *n);

/* ---- login challenges: single-use nonces, kept hashed ---- */
int store_challenge_add(struct store *s, const uint8_t hash[32],
                        int64_t expires);
/* Removes the challenge and gives its expiry: 0, or MAMORI_ENOTFOUND. */
int store_challenge_take(struct store *s, const uint8_t hash[32],
                         int64_t *expires);
/* Removes the challenges that expired before now. */
int store_challenge_prune(struct store *s, int64_t now);

/* ---- MFA recovery codes: keyed MACs of the normalised codes ---- */
/* Replaces the user's codes with n new ones (32-byte MACs). */
int store_recovery_set(struct store *s, int64_t user_id,
                       const uint8_t (*macs)[32], size_t n);
/* Marks the unused code with this MAC used: 0, or MAMORI_ENOTFOUND. */
int store_recovery_use(struct store *s, int64_t user_id, const uint8_t mac[32]);
/* Unused codes left. */
int store_recovery_left(struct store *s, int64_t user_id, int64_t *n);

/* ---- settings changed by `mamori config` (defaults live in config.c) ---- */
/* MAMORI_ENOTFOUND when the key was never set. */
int store_config_get(struct store *s, const char *key, char *val, size_t size);
int store_config_set(struct store *s, const char *key, const char *val);

/* ---- datasets ---- */
struct store_dataset {
    int64_t id;
    char uuid[37];
    char name[64];
    char client[256];
    char purpose[512];
    char ends[11];
    char state[16];
    int64_t created;
    char schema[4096];  /* field list, "name:type:s;..." */
    int require_reason; /* every record read must state a purpose */
};
int store_dataset_add(struct store *s, struct store_dataset *d); /* sets id */
int store_dataset_get(struct store *s, const char *name,
                      struct store_dataset *d);
int store_dataset_list(struct store *s, struct store_dataset **out, size_t *n);

/* ---- grants: which operators and viewers work on a dataset ---- */
#define STORE_GRANT_HANDLER 1u /* designated My Number handler */
struct store_grant {
    int64_t dataset_id;
    int64_t user_id;
    unsigned flags; /* STORE_GRANT_* */
};
/* A plain grant; MAMORI_EEXIST if the user has one already. */
int store_grant_add(struct store *s, int64_t dataset_id, int64_t user_id);
/* Grants the dataset with exactly these flags (adds, or replaces the
 * flags of an existing grant). */
int store_grant_set(struct store *s, int64_t dataset_id, int64_t user_id,
                    unsigned flags);
/* 1 if granted, 0 if not, <0 on error. */
int store_grant_check(struct store *s, int64_t dataset_id, int64_t user_id);
/* As store_grant_check; *flags (may be NULL) receives the grant's flags, 0
 * when there is none. */
int store_grant_get(struct store *s, int64_t dataset_id, int64_t user_id,
                    unsigned *flags);
/* MAMORI_ENOTFOUND if there was no such grant. */
int store_grant_delete(struct store *s, int64_t dataset_id, int64_t user_id);
/* Every grant, by dataset id then user id; *out malloc'd. */
int store_grant_list(struct store *s, struct store_grant **out, size_t *n);

/* ---- break-glass: an admin's emergency read of a dataset, approved by a
 * second admin, for a limited time ---- */
struct store_breakglass {
    int64_t id;
    int64_t dataset_id;
    int64_t requester; /* user id */
    int64_t approver;  /* user id, 0 while pending */
    int64_t requested; /* unix time */
    int64_t approved;  /* 0 while pending */
    int64_t expires;   /* end of the window; 0 while pending */
    char reason[256];
};
int store_breakglass_add(struct store *s, struct store_breakglass *b);
int store_breakglass_get(struct store *s, int64_t id,
                         struct store_breakglass *b);
/* Approves a pending request: MAMORI_ESTATE if it is not pending. */
int store_breakglass_approve(struct store *s, int64_t id, int64_t approver,
                             int64_t approved, int64_t expires);
/* Ends an approved window at time end if it would close later; withdraws
 * a pending request (it can no longer be approved). */
int store_breakglass_end(struct store *s, int64_t id, int64_t end);
/* Every request, oldest first; *out malloc'd. */
int store_breakglass_list(struct store *s, struct store_breakglass **out,
                          size_t *n);
/* The approved window of user on the dataset that is open at now (the
 * newest if several); MAMORI_ENOTFOUND if none. */
int store_breakglass_active(struct store *s, int64_t dataset_id,
                            int64_t user_id, int64_t now,
                            struct store_breakglass *b);

/* ---- records (ciphertext only) ---- */
struct store_record {
    int64_t dataset_id;
    uint8_t id[STORE_RID_LEN];
    uint32_t version;
    uint32_t key_version;
    int64_t updated;
    uint8_t *ct; /* owned by the caller; store_record_get mallocs it */
    size_t ctlen;
};
/* Inserts, or replaces the record with the same (dataset_id, id). */
int store_record_put(struct store *s, const struct store_record *r);
int store_record_get(struct store *s, int64_t dataset_id,
                     const uint8_t id[STORE_RID_LEN], struct store_record *r);
int store_record_delete(struct store *s, int64_t dataset_id,
                        const uint8_t id[STORE_RID_LEN]);
int store_record_count(struct store *s, int64_t dataset_id, int64_t *n);

/* ---- blind indexes: (dataset, field number, truncated MAC) -> record ----
 * An entry may carry a check (chk): bytes the domain code derives so that
 * a lookup can drop most of the index's deliberate false positives before
 * reading their records. The store keeps them opaque. */
#define STORE_CHECK_MAX 16
int store_index_put(struct store *s, int64_t dataset_id, int field,
                    const uint8_t *mac, size_t maclen, const uint8_t *chk,
                    size_t chklen, const uint8_t id[STORE_RID_LEN]);
/* Removes one entry, as store_index_put added it. Index entries go
 * before their record. */
int store_index_delete(struct store *s, int64_t dataset_id, int field,
                       const uint8_t *mac, size_t maclen,
                       const uint8_t id[STORE_RID_LEN]);
/* Whether a lookup reads the record of an entry with this check (chk is
 * NULL for an entry written without one). */
typedef int (*store_index_keep)(void *arg, const uint8_t *chk, size_t len);
/* The records whose index entry matches and that keep (NULL: all) wants,
 * ciphertexts included; *out malloc'd, free with store_records_free. */
int store_index_lookup(struct store *s, int64_t dataset_id, int field,
                       const uint8_t *mac, size_t maclen, store_index_keep keep,
                       void *keep_arg, struct store_record **out, size_t *n);
void store_records_free(struct store_record *r, size_t n);

/* ---- audit log (table "audit") ---- */
struct store_audit_row {
    int64_t seq;
    int64_t time;
    char user[64];
    char device[64];
    char action[32];
    char dataset[64];
    char *record_ids; /* comma-separated; may be NULL; owned by the row */
    int64_t count;
    char outcome[16];
    char detail[128];
    uint8_t prev_mac[32];
    uint8_t mac[32];
    /* Schema 8: the request context. format selects the MAC input
     * (AUDIT_FORMAT_* in audit.h): rows written before the migration are
     * format 1, with client and request_id empty. */
    int format;
    char client[64];     /* client address, "cli", or "" */
    char request_id[64]; /* front end's request id, or "" */
    /* Schema 9: the fields above as stored, one JSON object that audit.c
     * writes (audit_body) and the store keeps byte for byte; the fields
     * are read back from it. Set for appending, NULL when read. */
    const char *body;
    size_t body_len;
};
/* The seq and MAC of the newest row, or MAMORI_ENOTFOUND if the log is
 * empty. */
int store_audit_head(struct store *s, int64_t *seq, uint8_t mac[32]);
/* Appends row: seq, format, body, record_ids and the MACs (row->seq must be
 * last + 1). Fails with MAMORI_EAUDIT when fault injection is on. */
int store_audit_append(struct store *s, const struct store_audit_row *row);
/* Calls cb for each row with from <= seq <= to (ascending); stops early and
 * returns cb's value if it is non-zero. The row is only valid during the
 * call. */
int store_audit_scan(struct store *s, int64_t from, int64_t to,
                     int (*cb)(void *arg, const struct store_audit_row *row),
                     void *arg);
/* A row as stored, for verification: pointers into the store, valid during
 * the callback only; nothing is parsed. */
struct store_audit_raw {
    int64_t seq;
    int format;
    const char *body; /* not NUL-terminated */
    size_t body_len;
    const char *record_ids; /* NULL if none; not NUL-terminated */
    size_t ids_len;
    const uint8_t *prev_mac, *mac; /* 32 bytes each */
    /* The entry as stored up to its MAC: what a format 4 MAC covers after
     * the seq. */
    const uint8_t *entry;
    size_t entry_len;
};
/* An entry as stored (untrusted: the file may have been edited): format
 * (1 byte), prev_mac (32), body, a NUL, the record ids (comma-separated,
 * maybe none), mac (32). Neither the body (JSON text, audit_body.c) nor
 * the ids hold a NUL, so the first NUL after prev_mac ends the body;
 * everything before the mac is what a format 4 MAC covers after the seq.
 * Fills raw but its seq with pointers into e, or MAMORI_ETAMPER. */
int store_audit_entry_split(const uint8_t *e, size_t n,
                            struct store_audit_raw *raw);
/* The entry of row as the store keeps it (row->mac last), malloc'd into
 * *out; MAMORI_EINVAL for a body that is empty or holds a NUL, a format
 * outside 1..255 or a part too long. */
int store_audit_entry_encode(const struct store_audit_row *row, uint8_t **out,
                             size_t *len);
/* As store_audit_scan, with the rows as stored. A row that cannot be
 * split (not a blob, too short, no end to its body) is passed too, so
 * that the reader can name it: with its seq, format STORE_AUDIT_UNREADABLE
 * and empty parts (zero MACs). */
#define STORE_AUDIT_UNREADABLE 0
int store_audit_scan_raw(struct store *s, int64_t from, int64_t to,
                         int (*cb)(void *arg,
                                   const struct store_audit_raw *raw),
                         void *arg);
int store_audit_count(struct store *s, int64_t *n);
/* An upper bound on the number of audit rows the file can hold, found
 * without reading the table (count() reads it all). */
int store_audit_row_bound(struct store *s, int64_t *bound);
void store_audit_row_release(struct store_audit_row *row);

/* For monitoring: sessions that have not expired at now, and accounts
 * (not disabled) locked at now (store_sqlite_stats.c). */
int store_stats(struct store *s, int64_t now, int64_t *sessions,
                int64_t *locked);

/* Test hook: make store_audit_append fail while on. */
void store_fail_audit(struct store *s, int on);

/* ---- pending verified entries (entry.c; store_sqlite_entry.c) ---- */
struct store_entry {
    char id[37]; /* UUID text, lower case */
    int64_t dataset_id;
    int64_t entered_by; /* user id of the operator who keyed it */
    int64_t created, updated, expires;
    uint32_t version;
    int64_t mismatches; /* failed verifications in all */
    int64_t tries;      /* failed verifications of this version */
    uint8_t *ct;        /* sealed values; store_entry_get mallocs it */
    size_t ctlen;
};
/* Inserts a new entry (MAMORI_EEXIST if the id is taken). */
int store_entry_add(struct store *s, const struct store_entry *e);
/* MAMORI_ENOTFOUND if there is none; free e->ct. */
int store_entry_get(struct store *s, const char *id, struct store_entry *e);
/* Replaces version, updated, tries and ct of the entry e->id. */
int store_entry_update(struct store *s, const struct store_entry *e);
/* Counts a failed verification (mismatches and tries up by one). */
int store_entry_mismatch(struct store *s, const char *id);
int store_entry_delete(struct store *s, const char *id);
/* What a listing shows of an entry: no ciphertext. */
struct store_entry_row {
    char id[37];
    char dataset[64];
    char entered_by[64]; /* user name */
    int64_t created, updated, expires;
    uint32_t version;
    int64_t mismatches;
};
/* The listing row of one entry; MAMORI_ENOTFOUND if there is none. */
int store_entry_describe(struct store *s, const char *id,
                         struct store_entry_row *r);
/* Entries, oldest first; dataset_id 0 for every dataset, user_id non-zero
 * for only the datasets granted to that user. *out malloc'd. */
int store_entry_list(struct store *s, int64_t dataset_id, int64_t user_id,
                     struct store_entry_row **out, size_t *n);
/* Entries with expires <= now (by dataset name, then id), then deletes
 * them; *out malloc'd (may be NULL when *n is 0). */
int store_entry_expire(struct store *s, int64_t now,
                       struct store_entry_row **out, size_t *n);

/* ---- take-out ledger (export.c; store_sqlite_export.c) ---- */
/* A take-out request and its ledger entry. The sealed search value and the
 * recipient's certificate (DER) are loaded by store_export_get only
 * (malloc'd; store_export_release frees them); lists leave them NULL. */
struct store_export {
    int64_t id;
    int64_t dataset_id;
    int64_t requested_by; /* user id */
    int64_t requested;    /* unix time */
    char reason[256];
    char format[8];        /* "zip", "cms" */
    char encoding[8];      /* "utf-8", "cp932" */
    char search_field[64]; /* "" for the whole dataset */
    uint8_t *search_ct;    /* the search value sealed under the dataset key */
    size_t search_ct_len;
    char recipient[512];       /* certificate subject, "" for zip */
    char recipient_sha256[65]; /* certificate fingerprint, hex */
    uint8_t *cert;             /* recipient certificate, DER */
    size_t cert_len;
    char state[16]; /* pending approved rejected done returned destroyed
                       lapsed */
    int64_t decided_by, decided; /* who approved or rejected, when */
    int64_t ran, count;          /* the run: when, how many records */
    char sha256[65];             /* of the written file, hex */
    int64_t marked_by, marked;   /* returned / destroyed: who, when */
};
/* Adds a pending request (state is set to "pending"); sets e->id. */
int store_export_add(struct store *s, struct store_export *e);
/* Sets the sealed search value of request id. */
int store_export_set_search(struct store *s, int64_t id, const uint8_t *ct,
                            size_t len);
/* MAMORI_ENOTFOUND if there is no such request. */
int store_export_get(struct store *s, int64_t id, struct store_export *e);
void store_export_release(struct store_export *e);
/* Moves a request from state from to state to, recording who and when:
 * approve/reject (from "pending": decided_by, decided), mark (from "done":
 * marked_by, marked). MAMORI_ESTATE if it is not in state from. */
int store_export_decide(struct store *s, int64_t id, const char *from,
                        const char *to, int64_t by, int64_t when);
/* An approved request ran: state "done", with the time, the record count
 * and the file's SHA-256. MAMORI_ESTATE unless it was "approved". */
int store_export_done(struct store *s, int64_t id, int64_t ran, int64_t count,
                      const char *sha256);
/* Every approved request that has not run becomes "lapsed" (it can no
 * longer run): a restored vault does not bring back approvals of the
 * past. *n receives how many. */
int store_export_lapse(struct store *s, int64_t *n);
/* Approved request id becomes "lapsed": its approval ran out
 * (export.approval_hours). MAMORI_ESTATE unless it was "approved". */
int store_export_lapse_one(struct store *s, int64_t id);
/* Every request (requested_by 0) or one user's, oldest first, without the
 * blobs; *out malloc'd. */
int store_export_list(struct store *s, int64_t requested_by,
                      struct store_export **out, size_t *n);
/* A page of a dataset's records in storage order, for streaming: up to max
 * records whose internal order key is after *cursor (0 to start); *cursor
 * moves past the last one. *n is 0 at the end. Each out[i].ct is malloc'd
 * (free them, or store_records_free on a malloc'd array). */
int store_record_scan(struct store *s, int64_t dataset_id, int64_t *cursor,
                      struct store_record *out, size_t max, size_t *n);

#endif
