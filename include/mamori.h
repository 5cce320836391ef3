/*
 * mamori.h - the public API of libmamori, the personal-data vault.
 *
 * The CLI (cli/) and the server (server/) use nothing but this header. Every
 * call that touches data takes a session (struct mamori_sess) and passes
 * through the gate (lib/guard.c): authenticate, authorise, write the audit
 * entry, then run. Functions return 0 on success or a negative MAMORI_E*
 * code; mamori_strerror() turns a code into a message in the user's
 * language, and mamori_errdetail() gives the detail of the last failure on a
 * session (a field name and a rule, never a personal value).
 */
#ifndef MAMORI_H
#define MAMORI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MAMORI_VERSION "0.1.0"
#define MAMORI_MUST_CHECK __attribute__((warn_unused_result))

enum mamori_err {
    MAMORI_OK = 0,
    MAMORI_EINVAL = -1,     /* bad argument or value (see errdetail) */
    MAMORI_ENOMEM = -2,     /* out of memory */
    MAMORI_EIO = -3,        /* file or database I/O failed */
    MAMORI_ECRYPTO = -4,    /* decryption or integrity check failed */
    MAMORI_EDENIED = -5,    /* the role may not do this */
    MAMORI_EAUTH = -6,      /* wrong user name or password */
    MAMORI_ENOTFOUND = -7,  /* no such dataset, record, user */
    MAMORI_EEXIST = -8,     /* already exists */
    MAMORI_EAUDIT = -9,     /* the audit entry could not be written */
    MAMORI_ETAMPER = -10,   /* the audit chain does not verify */
    MAMORI_EKEY = -11,      /* key file or passphrase wrong or unsafe */
    MAMORI_ESESSION = -12,  /* no session, or it has expired */
    MAMORI_ESTATE = -13,    /* not possible in the current state */
    MAMORI_ETOOBIG = -14,   /* value or input over its limit */
    MAMORI_ESCHEMA = -15,   /* vault schema newer than this program */
    MAMORI_EOTP = -16,      /* password right; a one-time code is needed */
    MAMORI_EDEVICE = -17,   /* login from a device that is not approved */
    MAMORI_EMISMATCH = -18, /* a second keying differs from the first */
};

/* Message for an error code, in the locale's language. Never NULL. */
const char *mamori_strerror(int err);
/* Stable machine name of an error code, for JSON ("invalid", "denied",
 * "not_found", ...; "error" for an unknown code). Never NULL. */
const char *mamori_errname(int err);

/* Sets up libmamori (libsodium, OpenSSL, gettext domain). Call once before
 * anything else; safe to call again. */
int mamori_library_init(void) MAMORI_MUST_CHECK;

/* ---- Vault lifecycle --------------------------------------------------- */

typedef struct mamori mamori;           /* an open, unsealed vault */
typedef struct mamori_sess mamori_sess; /* a user's authenticated session */

#define MAMORI_ID_LEN 36    /* record ids: UUID v4 text */
#define MAMORI_TOKEN_LEN 43 /* session token: 32 bytes, base64url */

struct mamori_keysrc {
    const char *key_file;   /* path of a 32-byte key file, or NULL */
    const char *passphrase; /* passphrase, or NULL */
    size_t passphrase_len;
};

/* Creates a new vault in home (made 0700 if absent). With a key_file that
 * does not exist, 32 random bytes are written to it with mode 0400. The
 * admin user is created with the given password. Refuses an existing
 * vault. */
int mamori_init(const char *home, const struct mamori_keysrc *src,
                const char *admin, const char *admin_password,
                size_t password_len) MAMORI_MUST_CHECK;

/* mamori_init, also registering the machine it runs on as an approved
 * device of the first admin (name, and the public half of a key from
 * mamori_device_keygen); device_id receives its id (37 bytes). */
int mamori_init_device(const char *home, const struct mamori_keysrc *src,
                       const char *admin, const char *admin_password,
                       size_t password_len, const char *device_name,
                       const uint8_t device_pk[32],
                       char *device_id) MAMORI_MUST_CHECK;

/* What the vault remembers of its key source: *kind is "keyfile" or
 * "passphrase"; for a key file, path receives its absolute path. Readable
 * without unsealing. */
int mamori_key_source(const char *home, char *kind, size_t kind_size,
                      char *path, size_t path_size) MAMORI_MUST_CHECK;

/* Opens and unseals a vault. A key file readable by group or others is
 * refused (MAMORI_EKEY). */
int mamori_open(const char *home, const struct mamori_keysrc *src,
                mamori **out) MAMORI_MUST_CHECK;
void mamori_close(mamori *m);

/* The vault's id (UUID text). */
const char *mamori_vault_id(const mamori *m);

/* ---- Sessions ---------------------------------------------------------- */

/* Who is calling, for the audit entry. Any member may be NULL/0. */
struct mamori_client {
    const char *device;     /* device id */
    const char *address;    /* client address */
    const char *request_id; /* front end's request id */
    long os_uid;            /* OS user of a CLI session, -1 if none */
};

/* The request context of the calling thread: every audit entry the calls
 * of this thread write from now on names the client (an address, "cli")
 * and the request id, until the next call (NULL or "" for none). A front
 * end serving requests on a thread pool sets it at the start of each
 * request. A session's own client address and request id (struct
 * mamori_client) win over it. Control characters are dropped; each is cut
 * at 63 bytes. */
void mamori_set_request(const char *client, const char *request_id);

/* What a monitoring scrape (mamorid's /metrics) reads: counts only, no
 * session needed (the front end decides who may see them). */
struct mamori_stats {
    int64_t audit_appends; /* audit entries appended by this process */
    int64_t read_commits;  /* group commits of reads' entries (disk syncs) */
    int64_t sessions;      /* sessions not expired */
    int64_t locked;        /* accounts locked now */
};
int mamori_stats(mamori *m, struct mamori_stats *st) MAMORI_MUST_CHECK;

/* Checks the password and opens a session; the token (NUL-terminated,
 * MAMORI_TOKEN_LEN chars) is written to token, which must hold
 * MAMORI_TOKEN_LEN + 1 bytes. Failures are audited; the error does not tell
 * whether the user exists (MAMORI_EAUTH). Without a device proof: with
 * device.required on it is MAMORI_EDEVICE (see mamori_login_ex). */
int mamori_login(mamori *m, const char *user, const char *password,
                 size_t password_len, const struct mamori_client *client,
                 char *token, size_t token_size) MAMORI_MUST_CHECK;

/* A login with every factor. The password; otp, a 6-digit TOTP code or a
 * recovery code when the user has MFA (NULL otherwise: the answer is then
 * MAMORI_EOTP if the password was right, so that a front end can ask for
 * the code); a code once used is refused again. A wrong code counts toward
 * the lockout like a wrong password. */
struct mamori_login_req {
    const char *user;
    const char *password;
    size_t password_len;
    const char *otp;
    /* Proof of an approved device (端末): its public key, a challenge
     * from mamori_device_challenge, and the device key's signature
     * (mamori_device_sign). When the setting device.required is on (the
     * default), a login without the proof of an approved device (none,
     * a wrong or stale one, or a key not approved) is refused with
     * MAMORI_EDEVICE before the password is looked at: audited, and
     * counting toward no lockout, so that no one without an approved
     * device can lock an account (mamori_device_request asks for
     * approval). With the setting off, a wrong proof counts as a failed
     * login. */
    const uint8_t *device_pk; /* MAMORI_DEVICE_PK_LEN bytes */
    const char *challenge;
    const uint8_t *signature; /* MAMORI_DEVICE_SIG_LEN bytes */
    /* The caller's own check, called with arg once the device proof (when
     * device.required asks for one) has passed, before the password is
     * looked at: a per-account rate limit, say, which then only approved
     * devices use up. Nonzero refuses with that value, unaudited (the
     * caller answers for it). NULL: none. */
    int (*before_password)(void *arg);
    void *arg;
};
int mamori_login_ex(mamori *m, const struct mamori_login_req *req,
                    const struct mamori_client *client, char *token,
                    size_t token_size) MAMORI_MUST_CHECK;

/* Resumes a session from its token. MAMORI_ESESSION if unknown or
 * expired. */
int mamori_session_open(mamori *m, const char *token,
                        const struct mamori_client *client,
                        mamori_sess **out) MAMORI_MUST_CHECK;
/* As mamori_session_open, for a caller whose next call is a record read
 * (mamori_record_get, mamori_record_search): the session is checked in a
 * snapshot that stays open for that read, which then need not check it
 * again. Any other call, or mamori_session_close, ends the snapshot. */
int mamori_session_open_read(mamori *m, const char *token,
                             const struct mamori_client *client,
                             mamori_sess **out) MAMORI_MUST_CHECK;

/* Ends the session in the vault (token no longer valid) and frees s, also
 * when it fails. */
int mamori_logout(mamori_sess *s) MAMORI_MUST_CHECK;

/* Frees the handle; the session stays valid in the vault. */
void mamori_session_close(mamori_sess *s);

/* Detail of the session's last failure: names what and where (field, rule,
 * line), never the value. Empty string if none. */
const char *mamori_errdetail(const mamori_sess *s);

/* 0 when path may take an output file of the vault at home (an export, a
 * report, a key backup, a checkpoint): it is not in the vault's own
 * directory, and it would not replace a file there, the vault's key file,
 * or any of reads[0..nreads) (the files the command reads). Otherwise
 * MAMORI_EINVAL, with *why an English reason (a msgid of the "mamori"
 * text domain). home may be NULL: only reads are then protected. */
int mamori_output_check(const char *home, const char *path,
                        const char *const *reads, size_t nreads,
                        const char **why);

/* The user of the session and their role name. */
const char *mamori_session_user(const mamori_sess *s);
const char *mamori_session_role(const mamori_sess *s);

/* Restarts the session's idle clock while a long request of its own is
 * under way (an upload: the user is active, the library sees no call).
 * Not audited. MAMORI_ESESSION if the session has ended or expired. */
int mamori_session_keepalive(mamori_sess *s) MAMORI_MUST_CHECK;

/* The session's limits, for a screen that warns before the idle logout:
 * the idle time allowed (session.idle_minutes, in seconds) and when the
 * session ends whatever its use (unix seconds). Not audited: it reveals
 * nothing but the session's own bounds. MAMORI_ESESSION if it has ended. */
int mamori_session_limits(mamori_sess *s, int64_t *idle_seconds,
                          int64_t *expires);

/* What a session must do before anything else: after a password login, a
 * user whose password was set by an admin must change it (NEED_PASSWD).
 * Such a restricted session can only do that, enrol MFA (below) and log
 * out. */
#define MAMORI_NEED_PASSWD 1u
/* MFA is required for the user's role but not enrolled: the session can
 * only enrol it (mamori_mfa_enroll, mamori_mfa_confirm). */
#define MAMORI_NEED_MFA 2u
unsigned mamori_session_needs(const mamori_sess *s);

/* Changes the session user's own password: current, then new. The new one
 * must follow the password rules (mamori_config_list: password.*), differ
 * from the current one enough, and not be one of the last
 * password.history ones. Ends the user's other sessions and lifts
 * MAMORI_NEED_PASSWD. A wrong current password is MAMORI_EAUTH and counts
 * toward the lockout. */
int mamori_passwd(mamori_sess *s, const char *current, size_t current_len,
                  const char *password, size_t password_len) MAMORI_MUST_CHECK;

struct mamori_session_info {
    char id[17]; /* 16 hex digits naming the session (not its token) */
    char user[64];
    int64_t created, last_seen, expires;
    unsigned needs; /* MAMORI_NEED_* */
    int current;    /* the caller's own session */
};
/* Admin only. Live sessions, oldest first; free *out with free(). */
int mamori_session_list(mamori_sess *s, struct mamori_session_info **out,
                        size_t *n) MAMORI_MUST_CHECK;
/* Admin only. Ends the session with the given id (as listed), or, with
 * user set and id NULL, every session of that user. */
int mamori_session_revoke(mamori_sess *s, const char *id,
                          const char *user) MAMORI_MUST_CHECK;

/* Sets the stated purpose for the next operations (audited); NULL clears.
 * MAMORI_EINVAL, leaving none, for text that is not valid UTF-8, holds a
 * control character, a run of 10 or more digits or an email address (the
 * detail names the rule); MAMORI_ETOOBIG past 255 bytes. It must not name
 * a person either, which cannot be checked. */
int mamori_session_reason(mamori_sess *s, const char *reason) MAMORI_MUST_CHECK;

/* ---- Users ------------------------------------------------------------- */

struct mamori_user_info {
    char name[64];
    char role[16];
    int64_t created;    /* unix time */
    int64_t last_login; /* unix time, 0 if never */
    int disabled;
    int must_change;      /* still has the initial password */
    int mfa;              /* 0 none, 1 enrolment pending, 2 active */
    int64_t locked_until; /* unix time while locked, else 0 */
};

/* Admin only. role: "admin", "operator", "auditor" or "viewer" (see the
 * roles under Datasets). At most admin.max users (mamori_config_list) may
 * be admins: a call that would make one more is refused (MAMORI_EDENIED). */
int mamori_user_add(mamori_sess *s, const char *name, const char *role,
                    const char *password,
                    size_t password_len) MAMORI_MUST_CHECK;
/* Admin only. Lifts a lockout (failed logins) at once. */
int mamori_user_unlock(mamori_sess *s, const char *name) MAMORI_MUST_CHECK;
/* Admin only. Disables (disabled 1) or enables again (0) the account of
 * a user who leaves or moves (異動・退職): a disabled user cannot log in
 * (the answer is that of a wrong password) and their sessions end at once;
 * the account and its audit entries stay. Refused (MAMORI_EDENIED) for
 * the last admin who is not disabled, and for the caller's own account;
 * enabling an admin is refused past admin.max as adding one is.
 * MAMORI_ESTATE if the user is disabled already (enabled already). */
int mamori_user_disable(mamori_sess *s, const char *name,
                        int disabled) MAMORI_MUST_CHECK;
/* Admin only. Sets a new initial password (a forgotten one): the user must
 * change it at the next login; their sessions end and a lockout lifts. */
int mamori_user_reset(mamori_sess *s, const char *name, const char *password,
                      size_t password_len) MAMORI_MUST_CHECK;
/* Admin or auditor. Free *out with free(). */
int mamori_user_list(mamori_sess *s, struct mamori_user_info **out,
                     size_t *n) MAMORI_MUST_CHECK;

/* ---- MFA (TOTP, RFC 6238) --------------------------------------------- */

struct mamori_mfa_enrolment {
    char secret[40]; /* Base32, to type into an authenticator app */
    char *uri;       /* otpauth:// URI */
    char *qr;        /* the URI as a QR code in text for a terminal */
};
/* Starts (or restarts) the caller's enrolment: a new secret, pending until
 * confirmed. MAMORI_ESTATE if MFA is already active (an admin resets it).
 * Free with mamori_mfa_enrolment_free (wipes). */
int mamori_mfa_enroll(mamori_sess *s,
                      struct mamori_mfa_enrolment *out) MAMORI_MUST_CHECK;
void mamori_mfa_enrolment_free(struct mamori_mfa_enrolment *e);

#define MAMORI_RECOVERY_CODES 10
#define MAMORI_RECOVERY_LEN 11 /* "XXXXX-XXXXX" */
/* Activates the pending secret when code matches it; codes receives 10
 * single-use recovery codes to show once (only their keyed hashes are
 * kept). Lifts MAMORI_NEED_MFA. */
int mamori_mfa_confirm(mamori_sess *s, const char *code,
                       char (*codes)[MAMORI_RECOVERY_LEN + 1])
    MAMORI_MUST_CHECK;
/* Admin only: removes a user's MFA (a lost phone); they enrol again at the
 * next login, and their sessions end. */
int mamori_mfa_reset(mamori_sess *s, const char *user) MAMORI_MUST_CHECK;

/* ---- Registered devices (端末限定) -------------------------------------- */

/* A device holds an Ed25519 key pair; the private half never leaves it
 * (a 0600 file for the CLI; a non-extractable WebCrypto key in a browser).
 * A device asks for approval from a session of its user, an admin
 * approves it, and from then on a login from it signs a single-use
 * challenge. */
#define MAMORI_DEVICE_PK_LEN 32
#define MAMORI_DEVICE_SK_LEN 64
#define MAMORI_DEVICE_SIG_LEN 64
#define MAMORI_CHALLENGE_LEN 43 /* base64url text of 32 random bytes */

/* A new device key pair (for the client side; wipe sk after use). */
void mamori_device_keygen(uint8_t pk[MAMORI_DEVICE_PK_LEN],
                          uint8_t sk[MAMORI_DEVICE_SK_LEN]);
/* The text of a device key file: "pk HEX\nsk HEX\n" (lower-case hex),
 * into out (MAMORI_DEVICE_KEY_TEXT bytes). */
#define MAMORI_DEVICE_KEY_TEXT 208
int mamori_device_key_format(const uint8_t pk[MAMORI_DEVICE_PK_LEN],
                             const uint8_t sk[MAMORI_DEVICE_SK_LEN], char *out,
                             size_t size) MAMORI_MUST_CHECK;
/* Parses that text (len bytes) back. MAMORI_EINVAL unless it is exactly
 * that form and the public key is the private key's. Wipe sk after use. */
int mamori_device_key_parse(const char *text, size_t len,
                            uint8_t pk[MAMORI_DEVICE_PK_LEN],
                            uint8_t sk[MAMORI_DEVICE_SK_LEN]) MAMORI_MUST_CHECK;
/* A single-use login challenge, valid 2 minutes; out holds
 * MAMORI_CHALLENGE_LEN + 1 bytes. */
int mamori_device_challenge(mamori *m, char *out,
                            size_t size) MAMORI_MUST_CHECK;
/* Signs the login of user with challenge on this vault (client side). */
int mamori_device_sign(const mamori *m, const uint8_t sk[MAMORI_DEVICE_SK_LEN],
                       const char *user, const char *challenge,
                       uint8_t sig[MAMORI_DEVICE_SIG_LEN]) MAMORI_MUST_CHECK;

/* Asks for the approval of a device (its public key pk), as user req->user
 * proves who they are the way a login does (password, and the one-time
 * code once MFA is active) - but no session is opened: an admin approves
 * the pending device first. A wrong password or code counts toward a lock
 * of enrolments only (lockout.threshold in a row lock them for
 * lockout.minutes; user unlock lifts it), never of logins: enrolment needs
 * no approved device, and must not let a stranger lock an account. A
 * locked account (logins or enrolments) is refused as for a wrong
 * password. id
 * receives its id (37 bytes). name: 1..63 bytes, a label such as
 * "経理部 PC-3". MAMORI_EEXIST if the key is already pending or approved. */
int mamori_device_request(mamori *m, const struct mamori_login_req *req,
                          const char *name,
                          const uint8_t pk[MAMORI_DEVICE_PK_LEN],
                          const struct mamori_client *client,
                          char *id) MAMORI_MUST_CHECK;
/* Admin only. */
int mamori_device_approve(mamori_sess *s, const char *id) MAMORI_MUST_CHECK;
/* Admin only: the device can no longer log in; its sessions end. */
int mamori_device_revoke(mamori_sess *s, const char *id) MAMORI_MUST_CHECK;

struct mamori_device_info {
    char id[37];
    char name[64];
    char state[16];        /* "pending", "approved", "revoked" */
    char requested_by[64]; /* user name */
    char approved_by[64];  /* user name, "" if not approved */
    int64_t created, approved, last_used;
};
/* Admin or auditor: every device. Free *out with free(). */
int mamori_device_list(mamori_sess *s, struct mamori_device_info **out,
                       size_t *n) MAMORI_MUST_CHECK;

/* ---- Access review (アクセス権の定期的な見直し)
 * ------------------------------ */

/* What a review flags about a user. */
#define MAMORI_REVIEW_DORMANT 1u      /* no login for review.dormant_days */
#define MAMORI_REVIEW_ADMIN_EXCESS 2u /* an admin while admins > admin.max */
#define MAMORI_REVIEW_NO_MFA 4u      /* MFA required for the role, not active */
#define MAMORI_REVIEW_LOCKED 8u      /* locked out now */
#define MAMORI_REVIEW_INITIAL_PW 16u /* still has the initial password */
#define MAMORI_REVIEW_DISABLED 32u

struct mamori_review_user {
    char name[64];
    char role[16];
    int64_t created, last_login, pw_changed;
    int mfa;             /* 0 none, 1 pending, 2 active */
    int devices;         /* approved devices the user asked for */
    char datasets[1024]; /* "payroll(handler), hr" ("" if none); cut with
                            "..." when longer */
    unsigned flags;      /* MAMORI_REVIEW_* */
};
/* Admin or auditor: every user's role, datasets, MFA, devices, last login,
 * and what needs a look. Audited. Free *out with free(). */
int mamori_access_review(mamori_sess *s, struct mamori_review_user **out,
                         size_t *n) MAMORI_MUST_CHECK;

/* ---- Settings ---------------------------------------------------------- */

#define MAMORI_CONFIG_VALUE_MAX 64

struct mamori_config_item {
    char key[48];
    char value[MAMORI_CONFIG_VALUE_MAX];
    char def[MAMORI_CONFIG_VALUE_MAX]; /* the default */
    char range[64];                    /* "8-128" or "requirements|nist" */
    char help[160];                    /* one line, English */
};
/* Admin or auditor: every setting with its value. Free *out with free(). */
int mamori_config_list(mamori_sess *s, struct mamori_config_item **out,
                       size_t *n) MAMORI_MUST_CHECK;
/* Admin only. Audited with the old and the new value. */
int mamori_config_set(mamori_sess *s, const char *key,
                      const char *value) MAMORI_MUST_CHECK;
/* The value as mamori_config_set would store it (" 010" is 10), into
 * out; MAMORI_ENOTFOUND for no such setting, MAMORI_EINVAL for a value
 * out of its range. Reads nothing of a vault. */
int mamori_config_normalize(const char *key, const char *value, char *out,
                            size_t size) MAMORI_MUST_CHECK;

/* ---- Datasets ---------------------------------------------------------- */

/* Roles (docs/access.md has the whole matrix):
 *   admin     manages users, datasets, grants and settings; reads no
 *             personal data, except through break-glass (below)
 *   operator  adds, reads, changes, deletes and searches the records of the
 *             datasets granted to them; My Number fields only as a
 *             designated handler (MAMORI_GRANT_HANDLER), else they are
 *             masked and may not be entered, searched or deleted
 *   viewer    reads and searches the records of granted datasets, every
 *             value masked (mamori_record.masked)
 *   auditor   reads the audit log, settings, users and grants; no records
 */

struct mamori_field_def {
    const char *name;
    const char *type; /* name kana date postal phone email mynumber
                         corpnumber address text */
    int searchable;
    int key; /* part of the key that identifies a record (duplicates are
                refused on import); implies searchable */
};

struct mamori_dataset_def {
    const char *name;
    const char *client;
    const char *purpose;
    const char *ends; /* YYYY-MM-DD, or NULL */
    const struct mamori_field_def *fields;
    size_t nfields;
    int require_reason; /* every record read must state a purpose:
                           mamori_session_reason, or it is refused */
};

struct mamori_field_info {
    char name[64];
    char type[16];
    int searchable;
    int key;
};

struct mamori_dataset_info {
    char name[64];
    char client[256];
    char purpose[512];
    char ends[11]; /* "" if none */
    char state[16];
    int64_t created;
    int64_t records;
    size_t nfields;
    struct mamori_field_info *fields; /* owned by the array */
    int require_reason;
};

/* Admin only. Field names: 1..63 chars of [a-z0-9_] starting with a
 * letter, unique, and not "id" or "version" (the keys of a record's JSON
 * form). */
int mamori_dataset_create(mamori_sess *s,
                          const struct mamori_dataset_def *d) MAMORI_MUST_CHECK;
/* Datasets the caller may see: all for admin/auditor, granted ones for
 * operators and viewers. Free with mamori_dataset_list_free. */
int mamori_dataset_list(mamori_sess *s, struct mamori_dataset_info **out,
                        size_t *n) MAMORI_MUST_CHECK;
void mamori_dataset_list_free(struct mamori_dataset_info *list, size_t n);
/* Admin only: lets an operator or a viewer work on the dataset (a plain
 * grant: mamori_dataset_grant_flags with flags 0). */
int mamori_dataset_grant(mamori_sess *s, const char *dataset,
                         const char *user) MAMORI_MUST_CHECK;

/* The operator is a designated My Number handler (事務取扱担当者) of the
 * dataset: the only users who see mynumber fields unmasked and may enter,
 * search by or delete them. */
#define MAMORI_GRANT_HANDLER 1u

/* Admin only: grants the dataset with exactly these flags (MAMORI_GRANT_*),
 * adding the grant or replacing the flags of one the user has: granting
 * again without MAMORI_GRANT_HANDLER ends the designation. Only operators
 * can be handlers (MAMORI_EINVAL otherwise). */
int mamori_dataset_grant_flags(mamori_sess *s, const char *dataset,
                               const char *user,
                               unsigned flags) MAMORI_MUST_CHECK;
/* Admin only: takes the user's grant of the dataset away
 * (MAMORI_ENOTFOUND if there was none). */
int mamori_dataset_revoke(mamori_sess *s, const char *dataset,
                          const char *user) MAMORI_MUST_CHECK;

struct mamori_grant_info {
    char dataset[64];
    char user[64];
    char role[16];
    unsigned flags; /* MAMORI_GRANT_* */
};
/* Admin or auditor: the grants of one dataset, or of all (dataset NULL),
 * by dataset and user name. Free *out with free(). */
int mamori_dataset_grants(mamori_sess *s, const char *dataset,
                          struct mamori_grant_info **out,
                          size_t *n) MAMORI_MUST_CHECK;

/* ---- Records ----------------------------------------------------------- */

struct mamori_kv {
    const char *name;
    const char *value;
};

struct mamori_record {
    char id[MAMORI_ID_LEN + 1];
    uint32_t version;
    int64_t updated;
    size_t n;
    struct mamori_kv *fields; /* canonical values, owned; wiped on free */
    int masked; /* 1 if any value is in its masked form (for the caller's
                   role), not the stored one */
};

/* Validates every value (canonical form per field type), encrypts and stores
 * a new record; id receives its random id (MAMORI_ID_LEN + 1 bytes). A bad
 * value changes nothing: MAMORI_EINVAL, errdetail names field and rule. */
int mamori_record_add(mamori_sess *s, const char *dataset,
                      const struct mamori_kv *kv, size_t n, char *id,
                      size_t id_size) MAMORI_MUST_CHECK;
/* Adds nrows records in one transaction, audited there (a long list of ids
 * goes into several entries of that transaction). kv holds
 * nrows * per_row pairs, row by row. Every row is validated first: one bad
 * row and nothing is added (MAMORI_EINVAL; errdetail names the row number,
 * 1-based, the field and the rule). ids receives nrows ids of
 * MAMORI_ID_LEN + 1 bytes each (ids_size >= nrows * (MAMORI_ID_LEN + 1)).
 * Validation and encryption run on all cores. */
int mamori_record_add_many(mamori_sess *s, const char *dataset,
                           const struct mamori_kv *kv, size_t per_row,
                           size_t nrows, char *ids,
                           size_t ids_size) MAMORI_MUST_CHECK;
/* Streaming form of add_many for imports: one transaction from begin to
 * commit, so that either every row is added or none. Each add validates,
 * encrypts and writes nrows rows (ids as for add_many; a refusal's row number
 * counts from the first row of the bulk). After a failed add only
 * mamori_bulk_abort is possible. Commit and abort free the handle. While a
 * bulk is open it holds the vault handle: other calls from the same thread
 * are refused (MAMORI_ESTATE), other threads wait. */
typedef struct mamori_bulk mamori_bulk;
int mamori_bulk_begin(mamori_sess *s, const char *dataset,
                      mamori_bulk **out) MAMORI_MUST_CHECK;
int mamori_bulk_add(mamori_bulk *b, const struct mamori_kv *kv, size_t per_row,
                    size_t nrows, char *ids, size_t ids_size) MAMORI_MUST_CHECK;
int mamori_bulk_commit(mamori_bulk *b) MAMORI_MUST_CHECK;
void mamori_bulk_abort(mamori_bulk *b);
/* Reads one record. What comes back depends on the caller: a viewer gets
 * every value masked, an operator who is not a handler of the dataset (and
 * an admin under break-glass) gets mynumber values masked; masked records
 * have masked set. A dataset with require_reason refuses reads without a
 * stated purpose (MAMORI_EINVAL). The same holds for the searches. */
int mamori_record_get(mamori_sess *s, const char *dataset, const char *id,
                      struct mamori_record **out) MAMORI_MUST_CHECK;
/* mamori_record_get for a server whose threads must not wait for the disk:
 * either the answer now (*later NULL, as mamori_record_get), or 0 with
 * *later set: the record is held back until its audit entry is committed,
 * ready(arg) is called once when the verdict is in: from another thread,
 * or from this one before mamori_record_get_later returns when the read
 * cannot go the quick way (a refusal, say). mamori_later_end
 * then gives what mamori_record_get would have (it waits for the verdict
 * if called before, and frees later). s must stay open until then.
 * mamori_later_blocks (after ready) is 1 when mamori_later_end will read
 * again through the ordinary gate and so wait for a commit of its own:
 * end such a later on a thread that may wait. */
typedef struct mamori_later mamori_later;
int mamori_record_get_later(mamori_sess *s, const char *dataset, const char *id,
                            void (*ready)(void *arg), void *arg,
                            struct mamori_record **out,
                            mamori_later **later) MAMORI_MUST_CHECK;
int mamori_later_blocks(mamori_later *l);
int mamori_later_end(mamori_later *l,
                     struct mamori_record **out) MAMORI_MUST_CHECK;
/* Replaces the given fields, keeps the others. */
int mamori_record_update(mamori_sess *s, const char *dataset, const char *id,
                         const struct mamori_kv *kv,
                         size_t n) MAMORI_MUST_CHECK;
int mamori_record_delete(mamori_sess *s, const char *dataset,
                         const char *id) MAMORI_MUST_CHECK;
/* Exact match on a searchable field after normalisation. Searching by a
 * mynumber field is for the dataset's handlers only (MAMORI_EDENIED). */
int mamori_record_search(mamori_sess *s, const char *dataset, const char *field,
                         const char *value, struct mamori_record ***out,
                         size_t *n) MAMORI_MUST_CHECK;
/* Several exact-match lookups on one field in one guarded call, audited in
 * one transaction (duplicate checks before an import, batch clients); the
 * values are split over the vault's reader connections. The matches of
 * values[i] are (*out)[first[i]] .. (*out)[first[i + 1] - 1]; first must
 * hold nvalues + 1 entries. */
int mamori_record_search_many(mamori_sess *s, const char *dataset,
                              const char *field, const char *const *values,
                              size_t nvalues, struct mamori_record ***out,
                              size_t *n, size_t *first) MAMORI_MUST_CHECK;
void mamori_record_free(struct mamori_record *r);
void mamori_record_array_free(struct mamori_record **rs, size_t n);

/* ---- Import (CSV) ---------------------------------------------------- */

/* Where the bytes of a CSV come from (a file, an upload): read fills buf
 * with up to len bytes and returns how many, 0 at the end, < 0 on error. */
struct mamori_source {
    long (*read)(void *arg, void *buf, size_t len);
    void *arg;
};

enum mamori_encoding {
    MAMORI_ENC_AUTO = 0, /* UTF-8 BOM -> UTF-8; valid UTF-8 -> UTF-8; else
                            CP932 */
    MAMORI_ENC_UTF8 = 1,
    MAMORI_ENC_CP932 = 2, /* Windows Shift_JIS (with ① 髙 﨑 ...) */
};

/* An encoding by name, in any case, as Windows and Excel name them: "auto"
 * (or NULL), "utf-8"/"utf8", "cp932"/"sjis"/"shift_jis"/"windows-31j".
 * 0, or MAMORI_EINVAL for any other name. */
int mamori_encoding_parse(const char *name, enum mamori_encoding *out);

/* What kind of problem a row or the file has. */
enum mamori_problem_kind {
    MAMORI_PROBLEM_INVALID = 1, /* a value fails its field's rule */
    MAMORI_PROBLEM_DUP_FILE,    /* key fields equal an earlier row's */
    MAMORI_PROBLEM_DUP_RECORD,  /* key fields equal an existing record's */
    MAMORI_PROBLEM_MISMATCH,    /* differs from the verify file */
    MAMORI_PROBLEM_FORMAT,      /* the file itself: CSV, encoding, header */
};

/* One problem, handed to the problem callback as it is found: where
 * (line: the physical line where the row starts in the file, 1-based, 0
 * when it is about the whole file; column: the column's header, or the
 * field's name, "" if none) and the rule. Never a value. The strings are
 * valid during the call only. */
struct mamori_problem {
    uint64_t line;
    const char *column;
    enum mamori_problem_kind kind;
    const char *rule;
};

/* Name of a problem kind: "invalid", "duplicate in file", ... */
const char *mamori_problem_kind_name(enum mamori_problem_kind kind);

struct mamori_import_opts {
    enum mamori_encoding encoding;
    /* COLUMN=FIELD maps (name: the column's header, value: the field); a
     * column not mapped fills the field of its own name (after trimming
     * and NFKC of the header). */
    const struct mamori_kv *map;
    size_t nmap;
    int skip_invalid; /* import the valid rows (default: all or nothing) */
    /* Called now and then with the source bytes read and rows read. */
    void (*progress)(void *arg, uint64_t bytes, uint64_t rows);
    void (*problem)(void *arg, const struct mamori_problem *p);
    void *arg; /* for both callbacks */
};

struct mamori_import_result {
    uint64_t rows;                 /* data rows read (the header not counted) */
    uint64_t imported;             /* records added */
    uint64_t rejected;             /* rows with an invalid value */
    uint64_t duplicates;           /* rows not added as duplicates */
    uint64_t mismatches;           /* rows differing from the verify file */
    enum mamori_encoding encoding; /* found (or forced) */
    char sha256[65];               /* hex SHA-256 of the source bytes */
};

/* Imports the rows of a CSV (RFC 4180; header row first) from src into
 * dataset, as an operator granted it (My Number columns only for its
 * handlers: MAMORI_EDENIED otherwise, nothing imported). Every row is
 * validated like mamori_record_add; rows whose key fields (dataset key)
 * equal an existing record's or an earlier row's are duplicates: reported,
 * not imported. All or nothing, in one transaction: any invalid row (or,
 * with verify, any difference) and nothing is added (MAMORI_EINVAL, or
 * MAMORI_EMISMATCH), every problem still reported (a rejected row: one
 * problem per invalid value, in column order); with skip_invalid the
 * valid rows are added. With verify (NULL: none), a second keying of the
 * same data is read in step and compared field by field after
 * normalisation. Duplicates alone do not fail an import. A malformed file
 * (CSV, encoding, header: MAMORI_EINVAL; over a limit: MAMORI_ETOOBIG;
 * unreadable: MAMORI_EIO) imports nothing. One audit entry (import) holds
 * the counts, the SHA-256 and the new record ids; a refused import is
 * audited with its counts. res is filled in every case. Memory stays
 * bounded whatever the size of the file. */
int mamori_import(mamori_sess *s, const char *dataset,
                  const struct mamori_source *src,
                  const struct mamori_source *verify,
                  const struct mamori_import_opts *o,
                  struct mamori_import_result *res) MAMORI_MUST_CHECK;

/* ---- Verified entry (ベリファイ入力) ------------------------------------ */

/* Two operators key the same source independently; a record is created
 * only when both keyings agree. The first keying waits as a pending entry,
 * sealed (AES-256-GCM) under the dataset's record key and bound to the
 * vault, dataset, entry id, version and the operator who keyed it; no call
 * ever returns its values. Pending entries expire entry.expire_hours
 * after they were started and are then wiped (an "entry.expire" audit
 * entry per dataset, with the count and the entry ids). Every entry call
 * first wipes the expired ones. Audit entries name the entry ("entry ID"
 * in the detail), never a value. */

/* Most bytes of a mismatch list: every field name of a dataset. */
#define MAMORI_ENTRY_MISMATCH_MAX 4160
/* Failed verifications allowed per version of an entry: after that only an
 * amendment by the first operator (mamori_entry_amend) lets it be verified
 * again, so that the comparison cannot be used to guess the first values. */
#define MAMORI_ENTRY_TRIES 3

/* Operator of the dataset: validates kv like mamori_record_add (canonical
 * values; a non-handler may not enter a My Number, MAMORI_EDENIED) and
 * keeps them as a pending entry; id receives its random id (UUID v4,
 * MAMORI_ID_LEN + 1 bytes). At least one field must have a value. A bad
 * value changes nothing: MAMORI_EINVAL, errdetail names field and rule. */
int mamori_entry_start(mamori_sess *s, const char *dataset,
                       const struct mamori_kv *kv, size_t n, char *id,
                       size_t id_size) MAMORI_MUST_CHECK;

/* Operator of the entry's dataset who did not key it (else
 * MAMORI_EDENIED): the second keying kv is validated the same way, then
 * compared with the first - the same fields with a value, each with the
 * same canonical value (so 全角 and 半角 digits, or 和暦 and ISO dates,
 * compare equal). Equal: the record is created (as mamori_record_add does,
 * by the verifier), the entry is deleted and record_id receives the new
 * record's id (MAMORI_ID_LEN + 1 bytes). Different: MAMORI_EMISMATCH,
 * nothing is created, mismatch (msize bytes; may be NULL) receives the
 * names of the fields that differ, comma-separated and cut at a name
 * (",...") if they do not fit, errdetail says "fields that differ: a, b";
 * the entry's mismatch count goes up. After MAMORI_ENTRY_TRIES failed
 * verifications of one version, MAMORI_ESTATE until it is amended. An
 * entry that holds a My Number is verified by a handler only
 * (MAMORI_EDENIED). Unknown or expired id: MAMORI_ENOTFOUND; an id that is
 * not a UUID: MAMORI_EINVAL. */
int mamori_entry_verify(mamori_sess *s, const char *id,
                        const struct mamori_kv *kv, size_t n, char *record_id,
                        size_t record_id_size, char *mismatch,
                        size_t msize) MAMORI_MUST_CHECK;

/* The operator who started the entry only (else MAMORI_EDENIED): replaces
 * the given fields (validated; an empty value clears the field, and
 * clearing a My Number is handling it), keeps the others, and makes a new
 * version, which may be verified MAMORI_ENTRY_TRIES times again. The
 * expiry does not move. */
int mamori_entry_amend(mamori_sess *s, const char *id,
                       const struct mamori_kv *kv, size_t n) MAMORI_MUST_CHECK;

struct mamori_entry_info {
    char id[MAMORI_ID_LEN + 1];
    char dataset[64];
    char entered_by[64];               /* the operator who keyed it */
    int64_t created, updated, expires; /* unix time */
    uint32_t version;                  /* 1, +1 per amendment */
    int64_t mismatches;                /* failed verifications in all */
};
/* Pending entries, oldest first, of one dataset or of all (dataset NULL):
 * an operator sees those of the datasets granted to them (naming another
 * dataset is MAMORI_EDENIED), an auditor every one. Never any value. Free
 * *out with free(). */
int mamori_entry_list(mamori_sess *s, const char *dataset,
                      struct mamori_entry_info **out,
                      size_t *n) MAMORI_MUST_CHECK;

/* ---- Export under take-out approval (持ち出し) -------------------------- */

/* Data leaves the vault only with an admin's permission. An operator asks
 * (the whole dataset, or the records matching one searchable field), an
 * admin who is not the requester approves or rejects, and the requester
 * runs the approved export once, into an encrypted file:
 *   "zip"  AES-256 ZIP (WinZip AE-2, deflate) holding DATASET.csv, with a
 *          random password shown once to the requester;
 *   "cms"  CMS enveloped data (DER, AES-256-GCM) to the recipient's X.509
 *          certificate: `openssl cms -decrypt -inform DER` opens it.
 * The CSV: a header of "id" and the field names, one row per record as
 * the requester may see it (a non-handler's My Numbers masked, as record
 * get gives them), RFC 4180 quoting, CRLF; UTF-8 with a byte order mark,
 * or CP932. Each step is audited (the run's entry lists the exported ids)
 * and kept in the take-out ledger (持ち出し管理台帳). A run of more than
 * export.alert_threshold records also writes a bulk-export alert entry
 * (export.alert) and sends it to syslog at LOG_ALERT. */
struct mamori_export_req {
    const char *dataset;
    const char *search_field; /* a searchable field, or NULL: all records */
    const char *search_value; /* kept sealed under the dataset key */
    const char *reason;       /* 1-255 bytes, no personal data (as
                                 mamori_session_reason's) */
    const char *format;       /* "zip" or "cms" */
    const char *encoding;     /* "utf-8" (NULL: the default) or "cp932" */
    /* cms only: the recipient's certificate, PEM. It must parse, hold an
     * RSA or EC key that may be used for key transport or agreement, and
     * be valid now. */
    const char *recipient_cert;
    size_t recipient_cert_len;
};

/* Operator with a grant of the dataset: asks for an export; *id receives
 * the request's id. Searching by a mynumber field is for the dataset's My
 * Number handlers. A bad certificate is MAMORI_EINVAL (errdetail says
 * why). */
int mamori_export_request(mamori_sess *s, const struct mamori_export_req *req,
                          int64_t *id) MAMORI_MUST_CHECK;
/* Admin only, and not the requester (MAMORI_EDENIED); only while the
 * request is pending (MAMORI_ESTATE). */
int mamori_export_approve(mamori_sess *s, int64_t id) MAMORI_MUST_CHECK;
int mamori_export_reject(mamori_sess *s, int64_t id) MAMORI_MUST_CHECK;

#define MAMORI_EXPORT_PASSWORD_LEN 24
struct mamori_export_result {
    int64_t count;   /* records exported */
    char sha256[65]; /* of the written file, hex */
    char password[MAMORI_EXPORT_PASSWORD_LEN + 1]; /* zip: show once; "" for
                                                      cms */
};
/* The requester only, once, after approval (a second run, or a run of a
 * request that is not approved, is MAMORI_ESTATE). An approval lasts
 * export.approval_hours from the decision: a run after that is refused
 * (MAMORI_ESTATE, errdetail says so) and the request is marked "lapsed"
 * with the refusal's audit entry, for good. Writes the file to path
 * through a file in its directory (mode 0600) that has no name until it is
 * complete and synced; it is put in place at path just before the run's
 * audit entry commits (a file already there kept aside), and taken back
 * (the old one restored) if that commit fails, so that the ledger and the
 * file agree. On any failure (a full disk, a record that fails its
 * integrity check, a value with no CP932 form - errdetail names the
 * record and field) nothing is left and the request stays approved; a
 * crash in the moment of the commit may leave the file with the request
 * still approved (running it again replaces it). Wipe res with
 * mamori_export_result_wipe. */
int mamori_export_run(mamori_sess *s, int64_t id, const char *path,
                      struct mamori_export_result *res) MAMORI_MUST_CHECK;
void mamori_export_result_wipe(struct mamori_export_result *res);

struct mamori_export_info {
    int64_t id;
    char dataset[64];
    char requester[64];
    char reason[256];
    char format[8];            /* "zip", "cms" */
    char encoding[8];          /* "utf-8", "cp932" */
    char search_field[64];     /* "" for the whole dataset (never the value) */
    char recipient[512];       /* certificate subject (cms), else "" */
    char recipient_sha256[65]; /* certificate SHA-256 fingerprint, hex */
    char state[16];            /* "pending", "approved", "rejected", "done",
                                  "returned", "destroyed", "lapsed" (an
                                  approval that ran out, or that a restore
                                  ended) */
    char approver[64];         /* who approved or rejected; "" while pending */
    char marked_by[64];        /* who marked it returned/destroyed, else "" */
    int64_t requested, decided, ran, marked; /* unix time, 0 if not yet */
    int64_t count;                           /* records exported (done) */
    char sha256[65]; /* of the written file (done), else "" */
    int64_t expires; /* approved: when the approval lapses, else 0 */
};
/* The take-out ledger, oldest first: admins and auditors see every
 * request, operators their own. An approval past export.approval_hours is
 * marked "lapsed" as the ledger is read (named in the list's audit entry).
 * Free *out with free(). */
int mamori_export_list(mamori_sess *s, struct mamori_export_info **out,
                       size_t *n) MAMORI_MUST_CHECK;
/* For a front end that keeps the file of a run export for its requester
 * to fetch (mamorid's one-time download): the requester only, while the
 * export is "done" (MAMORI_ESTATE before the run and once marked returned
 * or destroyed; MAMORI_EDENIED for anyone else). Audited (export.handover,
 * with the record count); call it before releasing the file, and release
 * nothing unless it returns 0. out receives the ledger entry (id, dataset,
 * format, state, count, sha256). */
int mamori_export_handover(mamori_sess *s, int64_t id,
                           struct mamori_export_info *out) MAMORI_MUST_CHECK;
/* Admin only, after the run: state is "returned" or "destroyed". */
int mamori_export_mark(mamori_sess *s, int64_t id,
                       const char *state) MAMORI_MUST_CHECK;

/* ---- Backups ----------------------------------------------------------- */

/* Encrypted backups. `backup create` takes an online, consistent snapshot
 * of vault.db (records, still sealed under their dataset keys, and the
 * audit log) with SQLite's backup API, and writes it AES-256-GCM encrypted
 * in chunks to DIR/mamori-<vault id, 8 chars>-<UTC time>.mbak (a temp name
 * renamed when complete: a crash leaves no file that verifies). The key
 * derives from the vault's master key (KEK), so the key file or passphrase
 * is needed to read a backup. Dataset keys are not in it: `backup keys`
 * writes the key store apart, so that erasing a dataset's keys later also
 * makes old data backups unreadable for it. Unencrypted snapshots (a copy
 * of vault.db, whose personal values are ciphertexts) only ever sit in a
 * private directory under the vault home (0700) and are removed. */
#define MAMORI_BACKUP_DATA 1 /* a data backup (vault.db) */
#define MAMORI_BACKUP_KEYS 2 /* a key-store backup (keys.db) */

struct mamori_backup_info {
    char path[4096]; /* the file */
    int kind;        /* MAMORI_BACKUP_* */
    char vault_id[37];
    char key_source[16]; /* key backups: "keyfile" or "passphrase" */
    int64_t created;     /* unix time */
    int64_t size;        /* bytes of the file */
    int64_t records, datasets, audit_entries;
    char audit_head[65];  /* hex MAC of the newest audit entry */
    char sha256[65];      /* hex SHA-256 of the snapshot inside */
    char file_sha256[65]; /* hex SHA-256 of the file (create, keys), else
                             "" (a listing reads headers only) */
    int removed;          /* create: older backups deleted (retention) */
    char problem[160];    /* what was wrong when a call failed, or "" */
};

/* Admin only. Writes a data backup into dir (NULL: HOME/backups, made
 * 0700), then keeps the newest keep backups of this vault there and
 * deletes older ones (keep 0: the setting backup.keep). Audited when it
 * starts and when it ends (counts and the file's SHA-256 in the detail);
 * records the time as the store's meta "last_backup". out (may be NULL)
 * describes the new file. */
int mamori_backup_create(mamori_sess *s, const char *dir, int keep,
                         struct mamori_backup_info *out) MAMORI_MUST_CHECK;
/* The same without a session, for the daily timer: whoever holds the
 * unsealed vault (its key file or passphrase) may back it up; audited as
 * user "system". */
int mamori_backup_create_system(mamori *m, const char *dir, int keep,
                                struct mamori_backup_info *out)
    MAMORI_MUST_CHECK;
/* Admin only. Writes an encrypted consistent copy of the key store to
 * file (through a temp name; an existing file is replaced). It opens with
 * the vault's key file or passphrase alone. */
int mamori_backup_keys(mamori_sess *s, const char *file,
                       struct mamori_backup_info *out) MAMORI_MUST_CHECK;
/* Admin or auditor. Decrypts a backup of this vault into a private temp
 * directory, checks every chunk, the manifest, the snapshot's SHA-256,
 * and for a data backup its audit chain (with this vault's audit key),
 * whose length and head must equal the manifest's; wipes the copy.
 * MAMORI_ECRYPTO (not readable, altered, truncated, another vault's) or
 * MAMORI_ETAMPER (chain or counts differ), out->problem saying what. */
int mamori_backup_verify(mamori_sess *s, const char *file,
                         struct mamori_backup_info *out) MAMORI_MUST_CHECK;
/* Admin or auditor. This vault's backups in dir (NULL: HOME/backups),
 * newest first, from their headers alone (nothing is decrypted: verify
 * checks them). Free *out with free(). */
int mamori_backup_list(mamori_sess *s, const char *dir,
                       struct mamori_backup_info **out,
                       size_t *n) MAMORI_MUST_CHECK;
/* Reads a backup's header without a key or session (unauthenticated:
 * for choosing how to unseal before a restore). */
int mamori_backup_probe(const char *file,
                        struct mamori_backup_info *out) MAMORI_MUST_CHECK;
/* No session: restores a data backup (file) and a key-store backup
 * (keys_file) of the same vault into home, which must not exist or be an
 * empty directory (MAMORI_EEXIST otherwise, out->problem naming how many
 * entries and the first; the temp files an interrupted restore left there
 * do not count, and are removed); src is the backed-up vault's key file
 * or passphrase (MAMORI_EKEY if wrong). Writes vault.db and keys.db (0600,
 * directory 0700), opens the restored vault to prove it, ends every
 * session and login challenge in it, makes each approved export that had
 * not run "lapsed", and appends a "backup.restore" entry (user "system",
 * with those counts) to its log. A failure leaves nothing behind. The
 * restored key store still names the original key file's path. */
int mamori_backup_restore(const char *file, const char *keys_file,
                          const char *home, const struct mamori_keysrc *src,
                          struct mamori_backup_info *out) MAMORI_MUST_CHECK;

/* ---- Break-glass ------------------------------------------------------- */

/* Admins read no personal data. In an emergency an admin asks for a read
 * of one dataset, stating why; a different admin approves; then the first
 * may read (get and search; mynumber fields stay masked) that dataset for
 * breakglass.minutes. Every step and every read is audited (reads carry
 * "break-glass ID" in their detail) and sent to syslog at LOG_ALERT. A
 * request not approved within 24 hours lapses. */
struct mamori_breakglass_info {
    int64_t id;
    char dataset[64];
    char requester[64];
    char approver[64]; /* "" while pending */
    char state[16];    /* "pending", "withdrawn", "lapsed", "active",
                          "ended" */
    int64_t requested, approved, expires; /* unix time; 0 if not yet */
    char reason[256];
};

/* Admin only: asks for a break-glass read of dataset; reason (1-255 bytes,
 * no personal data, as mamori_session_reason's) is required. *id receives the
 * request's id. */
int mamori_breakglass_request(mamori_sess *s, const char *dataset,
                              const char *reason,
                              int64_t *id) MAMORI_MUST_CHECK;
/* Admin only, and not the admin who asked: opens the window. */
int mamori_breakglass_approve(mamori_sess *s, int64_t id) MAMORI_MUST_CHECK;
/* Admin only: ends an open window now, or withdraws a pending request. */
int mamori_breakglass_close(mamori_sess *s, int64_t id) MAMORI_MUST_CHECK;
/* Admin or auditor: every request, oldest first. Free *out with free(). */
int mamori_breakglass_list(mamori_sess *s, struct mamori_breakglass_info **out,
                           size_t *n) MAMORI_MUST_CHECK;

/* ---- Audit log --------------------------------------------------------- */

struct mamori_audit_entry {
    int64_t seq;
    int64_t time;
    char user[64];
    char device[64];
    char action[32];
    char dataset[64];
    char outcome[16]; /* "ok", "denied", "error" */
    char detail[128]; /* reason code or error, never personal values */
    int64_t count;
    char *record_ids;    /* comma-separated ids, owned */
    char client[64];     /* client address ("cli" for the CLI), or "" */
    char request_id[64]; /* the front end's request id, or "" */
};

/* Auditor or admin. The last n entries (all if n == 0), oldest first. */
int mamori_audit_show(mamori_sess *s, size_t last,
                      struct mamori_audit_entry **out,
                      size_t *n) MAMORI_MUST_CHECK;

/* Which entries mamori_audit_find shows; NULL or 0 means any. */
struct mamori_audit_filter {
    const char *user;   /* exactly this user (at most 63 bytes) */
    const char *action; /* this action, or a prefix ending in "." such as
                           "record." (at most 31 bytes) */
    int64_t from, to;   /* times (Unix seconds), inclusive */
};
/* Auditor or admin. The last n entries that match f (all of them if
 * n == 0), oldest first; the whole log is searched, and at most 2n
 * entries are held at a time. MAMORI_EINVAL for a filter out of bounds. */
int mamori_audit_find(mamori_sess *s, const struct mamori_audit_filter *f,
                      size_t last, struct mamori_audit_entry **out,
                      size_t *n) MAMORI_MUST_CHECK;
/* A filter time: YYYY-MM-DD (its first second, or with end_of_day its
 * last) or YYYY-MM-DDTHH:MM:SS[.fff]Z, in UTC. 0 or MAMORI_EINVAL. */
int mamori_audit_time(const char *text, int end_of_day,
                      int64_t *out) MAMORI_MUST_CHECK;
void mamori_audit_entries_free(struct mamori_audit_entry *e, size_t n);

/* Auditor or admin. A signed checkpoint (text, owned by caller) of the
 * chain's head: keep it off the host. */
int mamori_audit_checkpoint(mamori_sess *s, char **out,
                            size_t *len) MAMORI_MUST_CHECK;

struct mamori_verify_result {
    int64_t entries;   /* entries checked */
    int64_t first_bad; /* seq of the first bad entry, 0 if none */
    char problem[160]; /* what was wrong, "" if intact */
};

/* Auditor or admin. Verifies the whole chain, and, with a checkpoint, that
 * the log still reaches it. 0 only if intact, else MAMORI_ETAMPER with the
 * result filled in. */
int mamori_audit_verify(mamori_sess *s, const char *checkpoint, size_t len,
                        struct mamori_verify_result *res) MAMORI_MUST_CHECK;

/* ---- Testing hooks ----------------------------------------------------- */

/* Fault injection for tests: when set, the next audit appends fail. Only
 * honoured when the environment has MAMORI_TEST_HOOKS=1. */
void mamori_test_fail_audit(mamori *m, int on);

#ifdef __cplusplus
}
#endif
#endif
