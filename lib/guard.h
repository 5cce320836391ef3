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
 * operation (and, for dataset operations, that the dataset exists and the
 * operator was granted it); it opens the store transaction. A refusal is
 * itself audited. guard_end appends the audit entry in the same transaction
 * as the work and commits; if the entry cannot be written nothing is
 * committed and the result is MAMORI_EAUDIT (fail closed): the caller must
 * then release nothing it produced. A failed operation is rolled back and
 * audited as an error.
 */
#ifndef MAMORI_GUARD_H
#define MAMORI_GUARD_H

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
};

/* Action name of an operation as it appears in the audit log. */
const char *guard_action(enum guard_op op);

/* 1 if role may perform op (dataset grants checked separately). */
int guard_role_allows(const char *role, enum guard_op op);

int guard_begin(struct guard_call *c, mamori_sess *s, enum guard_op op,
                const char *dataset);
/* Ids per audit entry, in bytes: past this the list goes on in further
 * entries of the same transaction. */
#define GUARD_IDS_PER_ENTRY (64 * 1024)

/* Adds a record id to the audit entry. */
int guard_add_id(struct guard_call *c, const char *id);
int guard_end(struct guard_call *c, int rc);

/* Fills an audit row for an event outside an operation (login, init); the
 * caller appends it in its own transaction. */
void guard_event_row(struct store_audit_row *row, const char *user,
                     const char *device, enum guard_op op, const char *outcome,
                     const char *detail);

/* Writes a stand-alone audit entry in its own transaction (login, init).
 * user may be "" when unknown. */
int guard_audit_event(struct mamori *m, const char *user, const char *device,
                      enum guard_op op, const char *outcome,
                      const char *detail);

#endif
