/*
 * routes.h - what the route handlers (routes*.c) share: the helpers of
 * routes.c and the handlers that the table in routes.c lists from the
 * other files. Internal to the server.
 */
#ifndef MAMORID_ROUTES_H
#define MAMORID_ROUTES_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "mamorid.h"

/* ---- helpers (routes.c) -------------------------------------------------- */

/* Path parameter 0 as a dataset name; else a 400 sent and -1. */
int rt_ds_param(struct ctx *c, const char **ds);
/* ["password", "mfa"] for MAMORI_NEED_* bits. */
json_t *rt_needs_json(unsigned needs);
/* The body {FIELD: VALUE, ...} as kv pairs pointing into c->json (free
 * the array only); else an error sent and -1. */
int rt_body_kv(struct ctx *c, struct mamori_kv **out, size_t *n);
/* Wipes every string of j in place (before it is freed). */
void rt_wipe_json(json_t *j);
/* n bytes from exactly 2n hex digits; -1 if not. */
int rt_hex_decode(const char *hex, uint8_t *out, size_t n);
/* Member k of o as a string (NULL if absent or null); *bad = 1 if it is
 * another type or holds a NUL. */
const char *rt_opt_str(json_t *o, const char *k, int *bad);

/* A per-account rate limit (S->rl_user, the bucket of prefix and user),
 * as a mamori_login_req's before_password: taken only once the device
 * proof has passed. wait: the seconds to wait when it refused. */
struct rt_user_gate {
    struct srv *S;
    const char *prefix; /* "user:" for logins, "enrol:" for enrolments */
    const char *user;
    int wait;
};
int rt_user_gate(void *arg);

/* ---- datasets and records (routes_records.c) ---------------------------- */

void h_datasets(struct ctx *c);
void h_search(struct ctx *c);
void h_record_get(struct ctx *c);
void h_record_add(struct ctx *c);
void h_record_update(struct ctx *c);
void h_record_delete(struct ctx *c);

/* ---- slice 2 (routes_admin.c) -------------------------------------------- */

/* A user name as the library takes it: 1-63 of A-Z a-z 0-9 . _ -, the
 * first alphanumeric. */
int rt_user_name_ok(const char *s);
/* Sends j (consumed) and wipes the strings it held afterwards. */
void rt_json_wiped(struct ctx *c, int status, json_t *j);
/* Removes export id's file from the download spool (marked returned or
 * destroyed before it was downloaded). */
void rt_export_spool_drop(struct ctx *c, int64_t id);

void h_passwd(struct ctx *c);
void h_mfa_enroll(struct ctx *c);
void h_mfa_confirm(struct ctx *c);
void h_users(struct ctx *c);
void h_user_add(struct ctx *c);
void h_user_unlock(struct ctx *c);
void h_user_disable(struct ctx *c);
void h_user_enable(struct ctx *c);
void h_user_reset(struct ctx *c);
void h_devices(struct ctx *c);
void h_device_approve(struct ctx *c);
void h_device_revoke(struct ctx *c);
void h_device_request(struct ctx *c);
void h_access_review(struct ctx *c);
void h_config(struct ctx *c);
void h_config_set(struct ctx *c);
void h_audit_checkpoint(struct ctx *c);

/* ---- slice 2 (routes_work.c) --------------------------------------------- */

void h_entry_start(struct ctx *c);
void h_entry_verify(struct ctx *c);
void h_entry_amend(struct ctx *c);
void h_entries(struct ctx *c);
void h_export_request(struct ctx *c);
void h_export_approve(struct ctx *c);
void h_export_reject(struct ctx *c);
void h_exports(struct ctx *c);
void h_export_mark(struct ctx *c);
void h_backups(struct ctx *c);
void h_backup_create(struct ctx *c);

/* ---- export run and download (routes_export.c) --------------------------- */

void h_export_run(struct ctx *c);
void h_export_file(struct ctx *c);

/* ---- slice 3 (routes_import.c) ------------------------------------------- */

void h_import(struct ctx *c);

/* ---- slice 3 (routes_manage.c) ------------------------------------------- */

void h_dataset_create(struct ctx *c);
void h_grants_all(struct ctx *c);
void h_grants(struct ctx *c);
void h_grant(struct ctx *c);
void h_grant_revoke(struct ctx *c);
void h_sessions(struct ctx *c);
void h_session_revoke(struct ctx *c);
void h_user_sessions_revoke(struct ctx *c);
void h_mfa_reset(struct ctx *c);
void h_breakglass(struct ctx *c);
void h_breakglass_request(struct ctx *c);
void h_breakglass_approve(struct ctx *c);
void h_breakglass_close(struct ctx *c);
void h_backup_verify(struct ctx *c);

#endif
