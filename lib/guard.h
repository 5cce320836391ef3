/*
 * guard.h - THE gate. Every public operation runs as
 *
 *     struct guard_call c;
 *     int rc = guard_begin(&c, s, OP_X, dataset);  // session, role, grant
 *     if (rc == 0)
 *         rc = do_the_work(&c, ...);               // inside a transaction
 *     rc = guard_end(&c, rc);                      // audit entry, commit
 *
 * guard_begin checks that the session is live and the role may do the
 * operation (and, for dataset operations, that the dataset exists; for
 * record operations, that the operator or viewer was granted it, or that
 * an admin's read falls in an approved break-glass window, and that a
 * dataset requiring a stated purpose got one); it opens the store
 * transaction and sets how records are released (view, handler). A
 * refusal is itself audited. guard_end checks the admin cap (admin.max)
 * after an admin's operation, appends the audit entry in the same
 * transaction as the work and commits; if the entry cannot be written
 * nothing is committed and the result is MAMORI_EAUDIT (fail closed): the
 * caller must then release nothing it produced. A failed operation is
 * rolled back and audited as an error, or as denied for MAMORI_EDENIED.
 * Every entry's detail carries the session's stated purpose ("reason:
 * ...") and, for a break-glass read, "break-glass ID" first.
 */
#ifndef MAMORI_GUARD_H
#define MAMORI_GUARD_H

#include <semaphore.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"

enum guard_op {
    OP_INIT,
    OP_LOGIN,
    OP_LOGOUT,
    OP_USER_ADD,
    OP_USER_LIST,
    OP_DATASET_CREATE,
    OP_DATASET_LIST,
    OP_DATASET_GRANT,
    OP_RECORD_ADD,
    OP_RECORD_GET,
    OP_RECORD_UPDATE,
    OP_RECORD_DELETE,
    OP_RECORD_SEARCH,
    OP_AUDIT_SHOW,
    OP_AUDIT_CHECKPOINT,
    OP_AUDIT_VERIFY,
    OP_PASSWD,
    OP_USER_UNLOCK,
    OP_USER_LOCK,
    OP_USER_RESET,
    OP_SESSION_LIST,
    OP_SESSION_REVOKE,
    OP_CONFIG_LIST,
    OP_CONFIG_SET,
    OP_DATASET_REVOKE,
    OP_DATASET_GRANTS,
    OP_BREAKGLASS_REQUEST,
    OP_BREAKGLASS_APPROVE,
    OP_BREAKGLASS_CLOSE,
    OP_BREAKGLASS_LIST,
    OP_MFA_ENROLL,
    OP_MFA_CONFIRM,
    OP_MFA_RESET,
    OP_DEVICE_ENROLL,
    OP_DEVICE_APPROVE,
    OP_DEVICE_REVOKE,
    OP_DEVICE_LIST,
    OP_ACCESS_REVIEW,
    OP_IMPORT,
    OP_ENTRY_START,
    OP_ENTRY_VERIFY,
    OP_ENTRY_AMEND,
    OP_ENTRY_LIST,
    OP_ENTRY_EXPIRE,
    OP_EXPORT_REQUEST,
    OP_EXPORT_APPROVE,
    OP_EXPORT_REJECT,
    OP_EXPORT_RUN,
    OP_EXPORT_LIST,
    OP_EXPORT_MARK,
    OP_EXPORT_ALERT,
    OP_EXPORT_HANDOVER,
    OP_BACKUP_CREATE,
    OP_BACKUP_KEYS,
    OP_BACKUP_VERIFY,
    OP_BACKUP_LIST,
    OP_BACKUP_RESTORE,
    OP_USER_DISABLE,
    OP_USER_ENABLE,
    OP_SESSION_REASON, /* a reason refused where it was given */
    OP_COUNT
};

struct guard_call {
    mamori_sess *s;
    enum guard_op op;
    struct store_dataset ds; /* when the op names a dataset */
    int has_ds;
    int in_tx;
    /* Filled by the operation for its audit entry. */
    char *ids; /* comma-separated record ids */
    size_t ids_len, ids_cap;
    int64_t ids_count; /* ids in the current piece */
    int parts;         /* pieces already written (long id lists) */
    int64_t count;
    char detail[128];
    /* A refusal that changes state (an approval found lapsed): guard_end
     * commits the work with the refusal's entry instead of rolling it
     * back; if the entry cannot be written, nothing is kept and the result
     * is MAMORI_EAUDIT. */
    int keep_refusal;
    /* Set by guard_begin for record operations: how records are released
     * (GUARD_VIEW_*), whether the caller may handle My Numbers in the
     * dataset, and the break-glass window an admin's read runs under. */
    unsigned view;
    int handler;
    int64_t breakglass;
    int admins; /* admins when an admin's call began (the cap), else -1 */
    /* The connection the operation reads through: the handle's store, or
     * for a read gate a reader of the pool. */
    struct store *st;
    int fast;       /* opened by guard_read_begin */
    int gen_ok;     /* the read gate knows st's auth generation: */
    int64_t gen;    /* it reads the dataset and grant through authcache */
    unsigned grant; /* the grant's flags seen by guard_read_begin */
    int refused;    /* guard_read_begin's refusal, for guard_end to write */
};

/* How a record operation releases values. */
enum guard_view {
    GUARD_VIEW_PLAIN = 0,       /* as stored: a My Number handler */
    GUARD_VIEW_NO_MYNUMBER = 1, /* mynumber fields masked */
    GUARD_VIEW_MASKED = 2,      /* every field masked: a viewer */
};

/* 1 if role is one of the roles a user may have: admin, operator, auditor,
 * viewer. (For user creation and role changes.) */
int guard_role_valid(const char *role);

/* Copies text into out (size bytes, NUL-terminated) without control or
 * bidirectional-override characters and invalid UTF-8, cut at a character
 * boundary; returns the length written. For a user's own words that go
 * into the audit log (--reason). */
size_t guard_clean_text(const char *text, char *out, size_t size);

/* 1 if text holds a run of GUARD_NUMBER_RUN or more digits (ASCII or
 * full-width; dashes between them do not end the run): it may be a My
 * Number or a phone number, and must not go into the log. */
#define GUARD_NUMBER_RUN 10
int guard_text_has_number(const char *text);

/* 1 if text holds something shaped like an email address: after NFKC (so
 * full-width ＠ and ． count), a run of non-space characters, an '@', then
 * up to a space or the next '@' a '.' with text before it and a letter or
 * digit after it ("x@example.com", "a@b@c.d"). Not "a@b", "a@b.", "@team",
 * "meeting @ 10am". */
int guard_text_has_email(const char *text);

/* The check for a user's own words that go into the audit log: a reason
 * (--reason: mamori_session_reason, an export or a break-glass request).
 * 0 if text may go there; else MAMORI_EINVAL, with s's detail naming the
 * rule it breaks, never the text: "reason: not valid UTF-8", "reason:
 * control character" (control and bidirectional-override characters, tab
 * and newline included), a run of GUARD_NUMBER_RUN digits
 * (guard_text_has_number), an email address (guard_text_has_email). s may
 * be NULL. NULL and "" pass (whether a reason is required is the
 * caller's). Names cannot be told from other words and are not looked
 * for: a reason must not name a person (the documentation says so). */
int guard_reason_check(mamori_sess *s, const char *text);
/* The rule text breaks, for the audit log (English, never the text):
 * "not valid UTF-8", "control character", "a run of digits", "an email
 * address"; NULL if it breaks none. */
const char *guard_reason_rule(const char *text);

/* Action name of an operation as it appears in the audit log. */
const char *guard_action(enum guard_op op);

/* 1 if role may perform op (dataset grants checked separately). */
int guard_role_allows(const char *role, enum guard_op op);

int guard_begin(struct guard_call *c, mamori_sess *s, enum guard_op op,
                const char *dataset);
/* The read gate, for the record reads that write nothing but their audit
 * entry (OP_RECORD_GET, OP_RECORD_SEARCH): as guard_begin, without the
 * handle lock. The checks and the operation's reads go through a reader
 * connection (c->st) in one snapshot; guard_end then hands the entry to
 * the group commit (guard_commit.c), which writes the entries of
 * concurrent reads in one transaction of the writer, checking again there
 * that each session and grant still stands, and returns once the entry is
 * committed. Only the plain cases pass: a read that found its record, one
 * that found none, and a plain refusal (no such dataset, no grant, a
 * reason missing). Their entries are the ordinary gate's, and guard_end
 * returns the failure once its entry is committed. A refused read comes
 * back from guard_read_begin as its error with c->refused set: the caller
 * skips the operation and hands the error to guard_end (or
 * guard_end_later), which writes it. An expired session, any other
 * failure, an admin's break-glass read, a restricted session, an id list
 * longer than one entry: the gate (begin or end) returns GUARD_SLOW with
 * nothing written, and the caller runs the operation again through
 * guard_begin, which records the refusal or failure. */
#define GUARD_SLOW 1
int guard_read_begin(struct guard_call *c, mamori_sess *s, enum guard_op op,
                     const char *dataset);

/* Ids per audit entry, in bytes: past this the list goes on in further
 * entries of the same transaction. */
#define GUARD_IDS_PER_ENTRY (64 * 1024)

/* Adds a record id to the audit entry. */
int guard_add_id(struct guard_call *c, const char *id);
int guard_end(struct guard_call *c, int rc);

/* A read's audit entry waiting for the group commit (guard_commit.c). */
struct guard_wait {
    struct store_audit_row *row; /* its request context filled */
    const uint8_t *token_hash;   /* the session, touched in the commit */
    int64_t user_id;
    char role[16];
    int64_t dataset_id;
    unsigned grant; /* the grant's flags the read was allowed under */
    int refusal;    /* a refused read's: written without checks */
    int rc;         /* 0, GUARD_SLOW, or MAMORI_EAUDIT */
    int done;       /* rc is the verdict */
    sem_t wake;     /* guard_commit: posted with the verdict */
    /* guard_commit_submit: called with the verdict in rc, on the
     * committer's thread; w may be freed from then on. */
    void (*notify)(struct guard_wait *w);
    struct guard_wait *next;
};

/* Commits w's entry with those of the other reads waiting (the handle's
 * committer thread writes them in one transaction under m->lock) and
 * returns w->rc: 0 once the entry is committed; GUARD_SLOW if the session,
 * user or grant changed since the read (nothing written for it);
 * MAMORI_EAUDIT if the batch could not be written (fail closed). */
int guard_commit(struct mamori *m, struct guard_wait *w);
/* The same without waiting: queues w (with w->notify set) and returns 0;
 * w->notify(w) follows with the verdict. GUARD_SLOW if w could not be
 * queued (the handle is closing): nothing was queued. */
int guard_commit_submit(struct mamori *m, struct guard_wait *w);
/* Writes what still waits and ends the committer (mamori_close). */
void guard_commit_stop(struct mamori *m);
/* Batches guard_commit wrote in this process (any handle). */
int64_t guard_commits_total(void);

/* guard_end without waiting for the read gate's group commit: for a call
 * opened by guard_read_begin whose outcome the read gate writes (rc 0, a
 * missing record, c's refusal; the caller keeps rc to give once
 * committed), queues
 * its entry (filled into *row; w and row must outlive the verdict, and the
 * caller frees row->record_ids after it) to be told to notify, and returns
 * 0 or GUARD_SLOW as guard_commit_submit; otherwise the same as guard_end. */
int guard_end_later(struct guard_call *c, int rc, struct guard_wait *w,
                    struct store_audit_row *row,
                    void (*notify)(struct guard_wait *w));
/* A read gate's entry was not written (MAMORI_EAUDIT): the alert, and the
 * session's detail. */
void guard_read_audit_failed(mamori_sess *s, enum guard_op op);

/* A record read waiting for its audit entry's group commit (later.c).
 * w comes first: the committer's notify gets &w. */
struct mamori_later {
    struct guard_wait w;
    struct store_audit_row row;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done; /* the verdict is in w.rc and ready has returned */
    void (*ready)(void *arg);
    void *arg;
    mamori_sess *s;
    struct mamori_record *rec; /* held back until the verdict */
    int op_rc;                 /* the read's own outcome (0, not found) */
    char *dataset, *id;
};

/* Queues c's entry for l (the read gate's call, rc its outcome so far):
 * 0 once queued; otherwise as guard_end. */
int later_queue(struct mamori_later *l, struct guard_call *c, int rc);

/* Fills an audit row for an event outside an operation (login, init); the
 * caller appends it in its own transaction. */
void guard_event_row(struct store_audit_row *row, const char *user,
                     const char *device, enum guard_op op, const char *outcome,
                     const char *detail);

/* The fail-closed alert (syslog, LOG_ALERT): an audit entry could not be
 * written or committed, so action was refused. Every such failure raises
 * it; the caller then returns the error. */
void guard_alert_audit_failure(const char *action);
/* Alerts raised in this process (any handle). */
int64_t guard_audit_alerts_total(void);
/* The writer's audit entry for op could not be appended or committed:
 * rolls the transaction back (audit_rollback), raises the alert and
 * returns MAMORI_EAUDIT. Callers hold m->lock. */
int guard_audit_failed(struct mamori *m, enum guard_op op);

/* Writes a stand-alone audit entry in its own transaction (login, init).
 * user may be "" when unknown. */
int guard_audit_event(struct mamori *m, const char *user, const char *device,
                      enum guard_op op, const char *outcome,
                      const char *detail);

#endif
