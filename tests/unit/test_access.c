/*
 * test_access.c - least privilege as docs/access.md states it: every role
 * against every guarded operation of mamori.h, refusals audited; masking
 * per field type and caller; My Number handlers; stated purposes; the
 * admin cap; break-glass.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "guard.h"
#include "helpers.h"

#define ADMIN_PW "Vault#Keeper-2026"
#define MN "123456789018"    /* a valid synthetic My Number */
#define MN2 "987654321018"   /* not valid: used where only shape matters */
#define CORP "7000012050002" /* the NTA's published corporate number */
#define NOID "00000000-0000-4000-8000-000000000000"

/* The callers of the matrix, in docs/access.md's column order. */
enum col { ADM, OP, OPN, HDL, VW, AUD, BG, NCOL };
static const char *const col_name[NCOL] = {"adm", "op",  "op-", "hdl",
                                           "vw",  "aud", "bg"};

struct world {
    struct tvault tv; /* admin (break-glass on "people"), op1, aud1 */
    mamori_sess *s[NCOL];
    char rec_plain[MAMORI_ID_LEN + 1]; /* people: no My Number */
    char rec_mn[MAMORI_ID_LEN + 1];    /* people: holds MN */
    int64_t bg_people;                 /* admin's approved window */
    int serial;                        /* for unique names */
};

static mamori_sess *new_user(struct world *w, const char *name,
                             const char *role)
{
    assert_int_equal(mamori_user_add(w->tv.admin, name, role, TV_INITIAL_PW,
                                     strlen(TV_INITIAL_PW)),
                     0);
    mamori_sess *s = tv_first_login(&w->tv, name, TV_INITIAL_PW, TV_OP_PW);
    assert_non_null(s);
    assert_string_equal(mamori_session_role(s), role);
    return s;
}

static int world_setup(void **state)
{
    struct world *w = calloc(1, sizeof *w);
    struct mamori_kv mn[] = {{"name", "山田 太郎"},
                             {"kana", "ヤマダ タロウ"},
                             {"birth", "1980-04-01"},
                             {"phone", "09012345678"},
                             {"mynumber", MN}};
    struct mamori_kv plain[] = {{"name", "佐藤 花子"}};

    if (!w || tv_setup(&w->tv) != 0)
        return -1;
    /* Break-glass windows outlast the default idle limit in the tests
     * that move the clock. */
    if (mamori_config_set(w->tv.admin, "session.idle_minutes", "240") ||
        mamori_config_set(w->tv.admin, "session.lifetime_hours", "72"))
        return -1;
    w->s[ADM] = new_user(w, "admin2", "admin");
    w->s[OP] = w->tv.op;
    w->s[OPN] = new_user(w, "op2", "operator");
    w->s[HDL] = new_user(w, "hand1", "operator");
    w->s[VW] = new_user(w, "view1", "viewer");
    w->s[AUD] = w->tv.aud;
    w->s[BG] = w->tv.admin;
    if (mamori_dataset_grant_flags(w->tv.admin, "people", "hand1",
                                   MAMORI_GRANT_HANDLER) ||
        mamori_dataset_grant(w->tv.admin, "people", "view1"))
        return -1;
    if (mamori_user_add(w->tv.admin, "spare", "operator", TV_INITIAL_PW,
                        strlen(TV_INITIAL_PW)) ||
        mamori_record_add(w->s[HDL], "people", mn, 5, w->rec_mn,
                          sizeof w->rec_mn) ||
        mamori_record_add(w->s[OP], "people", plain, 1, w->rec_plain,
                          sizeof w->rec_plain))
        return -1;
    if (mamori_breakglass_request(w->tv.admin, "people", "matrix test",
                                  &w->bg_people) ||
        mamori_breakglass_approve(w->s[ADM], w->bg_people))
        return -1;
    *state = w;
    return 0;
}

static int world_teardown(void **state)
{
    struct world *w = *state;
    if (!w)
        return 0; /* the set-up failed */
    mamori_session_close(w->s[ADM]);
    mamori_session_close(w->s[OPN]);
    mamori_session_close(w->s[HDL]);
    mamori_session_close(w->s[VW]);
    tv_teardown(&w->tv);
    free(w);
    return 0;
}

static const char *field(const struct mamori_record *r, const char *name)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->fields[i].name, name) == 0)
            return r->fields[i].value;
    return NULL;
}

/* Audit entries with the given outcome (and, if action is not NULL, that
 * action); every entry is also checked for My Numbers. */
static size_t count_entries(struct world *w, const char *outcome,
                            const char *action)
{
    struct mamori_audit_entry *e = NULL;
    size_t n = 0, k = 0;
    assert_int_equal(mamori_audit_show(w->tv.aud, 0, &e, &n), 0);
    for (size_t i = 0; i < n; i++) {
        assert_null(strstr(e[i].detail, MN));
        if (e[i].record_ids)
            assert_null(strstr(e[i].record_ids, MN));
        if (strcmp(e[i].outcome, outcome) == 0 &&
            (!action || strcmp(e[i].action, action) == 0))
            k++;
    }
    mamori_audit_entries_free(e, n);
    return k;
}

/* The newest audit entry with this action; its detail into detail. */
static void last_detail(struct world *w, const char *action, char *detail,
                        size_t size)
{
    struct mamori_audit_entry *e = NULL;
    size_t n = 0;
    detail[0] = '\0';
    assert_int_equal(mamori_audit_show(w->tv.aud, 0, &e, &n), 0);
    for (size_t i = n; i-- > 0;) {
        if (strcmp(e[i].action, action) == 0) {
            snprintf(detail, size, "%s", e[i].detail);
            break;
        }
    }
    mamori_audit_entries_free(e, n);
}

/* ---- the matrix ---------------------------------------------------------
 * One function per operation: runs it as s (column col) and returns the
 * result. Targets are made so that an allowed call succeeds or fails for a
 * reason other than the role. */

typedef int (*op_fn)(struct world *w, mamori_sess *s, int col);

static int op_user_add(struct world *w, mamori_sess *s, int col)
{
    char name[32];
    snprintf(name, sizeof name, "mx%d%s", ++w->serial, col == BG ? "b" : "");
    return mamori_user_add(s, name, "operator", TV_INITIAL_PW,
                           strlen(TV_INITIAL_PW));
}

static int op_user_list(struct world *w, mamori_sess *s, int col)
{
    struct mamori_user_info *u = NULL;
    size_t n = 0;
    int rc = mamori_user_list(s, &u, &n);
    (void)w, (void)col;
    if (rc == 0)
        assert_true(n >= 7);
    free(u);
    return rc;
}

static int op_user_unlock(struct world *w, mamori_sess *s, int col)
{
    (void)w, (void)col;
    return mamori_user_unlock(s, "spare");
}

static int op_user_disable(struct world *w, mamori_sess *s, int col)
{
    (void)w, (void)col;
    return mamori_user_disable(s, "nobody", 1);
}

static int op_user_enable(struct world *w, mamori_sess *s, int col)
{
    (void)w, (void)col;
    return mamori_user_disable(s, "spare", 0);
}

static int op_user_reset(struct world *w, mamori_sess *s, int col)
{
    (void)w, (void)col;
    return mamori_user_reset(s, "spare", TV_INITIAL_PW, strlen(TV_INITIAL_PW));
}

static int op_session_list(struct world *w, mamori_sess *s, int col)
{
    struct mamori_session_info *si = NULL;
    size_t n = 0;
    int rc = mamori_session_list(s, &si, &n);
    (void)w, (void)col;
    free(si);
    return rc;
}

static int op_session_revoke(struct world *w, mamori_sess *s, int col)
{
    (void)w, (void)col;
    return mamori_session_revoke(s, NULL, "spare");
}

static int op_mfa_reset(struct world *w, mamori_sess *s, int col)
{
    (void)w, (void)col;
    return mamori_mfa_reset(s, "spare");
}

static int op_device_approve(struct world *w, mamori_sess *s, int col)
{
    (void)w, (void)col;
    return mamori_device_approve(s, NOID);
}

static int op_device_revoke(struct world *w, mamori_sess *s, int col)
{
    (void)w, (void)col;
    return mamori_device_revoke(s, NOID);
}

static int op_device_list(struct world *w, mamori_sess *s, int col)
{
    struct mamori_device_info *d = NULL;
    size_t n = 0;
    int rc = mamori_device_list(s, &d, &n);
    (void)w, (void)col;
    free(d);
    return rc;
}

static int op_access_review(struct world *w, mamori_sess *s, int col)
{
    struct mamori_review_user *r = NULL;
    size_t n = 0;
    int rc = mamori_access_review(s, &r, &n);
    (void)w, (void)col;
    free(r);
    return rc;
}

static int op_config_list(struct world *w, mamori_sess *s, int col)
{
    struct mamori_config_item *it = NULL;
    size_t n = 0;
    int rc = mamori_config_list(s, &it, &n);
    (void)w, (void)col;
    free(it);
    return rc;
}

static int op_config_set(struct world *w, mamori_sess *s, int col)
{
    (void)w, (void)col;
    return mamori_config_set(s, "lockout.minutes", "15");
}

static int op_dataset_create(struct world *w, mamori_sess *s, int col)
{
    static const struct mamori_field_def f[] = {{"a", "text", 0}};
    char name[32];
    struct mamori_dataset_def d = {name, "c", "p", NULL, f, 1};
    (void)col;
    snprintf(name, sizeof name, "mxds%d", ++w->serial);
    return mamori_dataset_create(s, &d);
}

static int op_dataset_list(struct world *w, mamori_sess *s, int col)
{
    struct mamori_dataset_info *d = NULL;
    size_t n = 0;
    int rc = mamori_dataset_list(s, &d, &n), people = 0;
    (void)w;
    for (size_t i = 0; rc == 0 && i < n; i++)
        people += strcmp(d[i].name, "people") == 0;
    /* operators and viewers see the granted datasets only */
    if (rc == 0)
        assert_int_equal(people, col == OPN ? 0 : 1);
    if (rc == 0 && (col == OP || col == HDL || col == VW))
        assert_int_equal(n, 1);
    if (rc == 0 && col == OPN)
        assert_int_equal(n, 0);
    mamori_dataset_list_free(d, n);
    return rc;
}

static int op_dataset_grant(struct world *w, mamori_sess *s, int col)
{
    (void)w, (void)col;
    return mamori_dataset_grant(s, "people", "op1");
}

static int op_dataset_grant_flags(struct world *w, mamori_sess *s, int col)
{
    (void)w, (void)col;
    return mamori_dataset_grant_flags(s, "people", "hand1",
                                      MAMORI_GRANT_HANDLER);
}

static int op_dataset_revoke(struct world *w, mamori_sess *s, int col)
{
    (void)col;
    /* a grant to take away, made by the admin */
    assert_int_equal(mamori_dataset_grant(w->tv.admin, "people", "spare"), 0);
    int rc = mamori_dataset_revoke(s, "people", "spare");
    if (rc != 0)
        assert_int_equal(mamori_dataset_revoke(w->tv.admin, "people", "spare"),
                         0);
    return rc;
}

static int op_dataset_grants(struct world *w, mamori_sess *s, int col)
{
    struct mamori_grant_info *g = NULL;
    size_t n = 0;
    int rc = mamori_dataset_grants(s, "people", &g, &n);
    (void)w, (void)col;
    if (rc == 0) {
        int handlers = 0;
        assert_int_equal(n, 3); /* op1, hand1, view1 */
        for (size_t i = 0; i < n; i++)
            handlers += (g[i].flags & MAMORI_GRANT_HANDLER) != 0;
        assert_int_equal(handlers, 1);
    }
    free(g);
    return rc;
}

static int op_record_add(struct world *w, mamori_sess *s, int col)
{
    struct mamori_kv kv[] = {{"name", "試験 一郎"}};
    char id[MAMORI_ID_LEN + 1];
    (void)w, (void)col;
    return mamori_record_add(s, "people", kv, 1, id, sizeof id);
}

static int op_record_add_many(struct world *w, mamori_sess *s, int col)
{
    struct mamori_kv kv[] = {{"name", "試験 二郎"}, {"name", "試験 三郎"}};
    char ids[2 * (MAMORI_ID_LEN + 1)];
    (void)w, (void)col;
    return mamori_record_add_many(s, "people", kv, 1, 2, ids, sizeof ids);
}

static int op_bulk(struct world *w, mamori_sess *s, int col)
{
    struct mamori_kv kv[] = {{"name", "試験 四郎"}};
    char id[MAMORI_ID_LEN + 1];
    mamori_bulk *b = NULL;
    int rc = mamori_bulk_begin(s, "people", &b);
    (void)w, (void)col;
    if (rc != 0) {
        assert_null(b);
        return rc;
    }
    assert_int_equal(mamori_bulk_add(b, kv, 1, 1, id, sizeof id), 0);
    return mamori_bulk_commit(b);
}

static int op_record_get(struct world *w, mamori_sess *s, int col)
{
    struct mamori_record *r = NULL;
    int rc = mamori_record_get(s, "people", w->rec_mn, &r);
    if (rc != 0) {
        assert_null(r);
        return rc;
    }
    /* only the handler sees the My Number */
    assert_string_equal(field(r, "mynumber"), col == HDL ? MN : "********9018");
    assert_int_equal(r->masked, col != HDL);
    if (col == VW)
        assert_string_equal(field(r, "name"), "山田　＊＊");
    else
        assert_string_equal(field(r, "name"), "山田　太郎");
    mamori_record_free(r);
    return rc;
}

static int op_record_search(struct world *w, mamori_sess *s, int col)
{
    struct mamori_record **rs = NULL;
    size_t n = 0;
    int rc = mamori_record_search(s, "people", "name", "山田太郎", &rs, &n);
    (void)w;
    if (rc == 0) {
        assert_int_equal(n, 1);
        assert_int_equal(rs[0]->masked, col != HDL);
    } else {
        assert_null(rs);
    }
    mamori_record_array_free(rs, n);
    return rc;
}

static int op_record_search_many(struct world *w, mamori_sess *s, int col)
{
    const char *v[] = {"佐藤花子", "山田太郎"};
    struct mamori_record **rs = NULL;
    size_t n = 0, first[3];
    int rc =
        mamori_record_search_many(s, "people", "name", v, 2, &rs, &n, first);
    (void)w, (void)col;
    if (rc == 0)
        assert_int_equal(n, 2);
    mamori_record_array_free(rs, n);
    return rc;
}

static int op_record_update(struct world *w, mamori_sess *s, int col)
{
    struct mamori_kv kv[] = {{"note", "更新"}};
    (void)col;
    return mamori_record_update(s, "people", w->rec_plain, kv, 1);
}

static int op_record_delete(struct world *w, mamori_sess *s, int col)
{
    struct mamori_kv kv[] = {{"name", "削除 予定"}};
    char id[MAMORI_ID_LEN + 1];
    (void)col;
    assert_int_equal(
        mamori_record_add(w->s[HDL], "people", kv, 1, id, sizeof id), 0);
    return mamori_record_delete(s, "people", id);
}

/* The other admin of the two, for requests a caller may approve. */
static mamori_sess *other_admin(struct world *w, mamori_sess *s)
{
    return s == w->tv.admin ? w->s[ADM] : w->tv.admin;
}

static int op_bg_request(struct world *w, mamori_sess *s, int col)
{
    int64_t id = 0;
    int rc = mamori_breakglass_request(s, "people", "drill", &id);
    (void)w, (void)col;
    if (rc == 0) {
        assert_true(id > 0);
        assert_int_equal(mamori_breakglass_close(s, id), 0);
    } else {
        assert_int_equal(id, 0);
    }
    return rc;
}

static int op_bg_approve(struct world *w, mamori_sess *s, int col)
{
    int64_t id = 0;
    (void)col;
    assert_int_equal(
        mamori_breakglass_request(other_admin(w, s), "people", "drill", &id),
        0);
    int rc = mamori_breakglass_approve(s, id);
    assert_int_equal(mamori_breakglass_close(other_admin(w, s), id), 0);
    return rc;
}

static int op_bg_close(struct world *w, mamori_sess *s, int col)
{
    int64_t id = 0;
    (void)col;
    assert_int_equal(
        mamori_breakglass_request(other_admin(w, s), "people", "drill", &id),
        0);
    int rc = mamori_breakglass_close(s, id);
    if (rc != 0)
        assert_int_equal(mamori_breakglass_close(other_admin(w, s), id), 0);
    return rc;
}

static int op_bg_list(struct world *w, mamori_sess *s, int col)
{
    struct mamori_breakglass_info *b = NULL;
    size_t n = 0;
    int rc = mamori_breakglass_list(s, &b, &n);
    (void)col;
    if (rc == 0) {
        assert_true(n >= 1);
        assert_int_equal(b[0].id, w->bg_people);
        assert_string_equal(b[0].state, "active");
        assert_string_equal(b[0].requester, "admin");
        assert_string_equal(b[0].approver, "admin2");
    }
    free(b);
    return rc;
}

static int op_audit_show(struct world *w, mamori_sess *s, int col)
{
    struct mamori_audit_entry *e = NULL;
    size_t n = 0;
    int rc = mamori_audit_show(s, 5, &e, &n);
    (void)w, (void)col;
    mamori_audit_entries_free(e, n);
    return rc;
}

static int op_audit_checkpoint(struct world *w, mamori_sess *s, int col)
{
    char *cp = NULL;
    size_t len = 0;
    int rc = mamori_audit_checkpoint(s, &cp, &len);
    (void)w, (void)col;
    free(cp);
    return rc;
}

static int op_audit_verify(struct world *w, mamori_sess *s, int col)
{
    struct mamori_verify_result vr;
    (void)w, (void)col;
    return mamori_audit_verify(s, NULL, 0, &vr);
}

/* Self-service: allowed for everyone (the results are not EDENIED). */
static int op_passwd(struct world *w, mamori_sess *s, int col)
{
    (void)w, (void)col;
    /* a wrong current password: refused for that reason, not the role */
    int rc = mamori_passwd(s, "Not-The-Pass-1!", 15, "Fresh#Passw0rd-xy", 17);
    assert_int_equal(rc, MAMORI_EAUTH);
    return rc;
}

static int op_mfa_enroll(struct world *w, mamori_sess *s, int col)
{
    struct mamori_mfa_enrolment e;
    (void)w, (void)col;
    memset(&e, 0, sizeof e);
    int rc = mamori_mfa_enroll(s, &e);
    if (rc == 0)
        mamori_mfa_enrolment_free(&e);
    return rc;
}

/* ---- data in and out (issue 4) ---- */

struct membuf {
    const char *p;
    size_t left;
};

static long mem_read(void *arg, void *buf, size_t len)
{
    struct membuf *m = arg;
    size_t n = len < m->left ? len : m->left;
    memcpy(buf, m->p, n);
    m->p += n;
    m->left -= n;
    return (long)n;
}

static int op_import(struct world *w, mamori_sess *s, int col)
{
    static const char csv[] = "name,kana\r\n試験 五郎,シケン ゴロウ\r\n";
    struct membuf mb = {csv, sizeof csv - 1};
    struct mamori_source src = {mem_read, &mb};
    struct mamori_import_opts o = {0};
    struct mamori_import_result res;
    (void)w, (void)col;
    return mamori_import(s, "people", &src, NULL, &o, &res);
}

static int op_entry_start(struct world *w, mamori_sess *s, int col)
{
    struct mamori_kv kv[] = {{"name", "試験 六郎"}};
    char id[MAMORI_ID_LEN + 1];
    (void)w, (void)col;
    return mamori_entry_start(s, "people", kv, 1, id, sizeof id);
}

static int op_entry_list(struct world *w, mamori_sess *s, int col)
{
    struct mamori_entry_info *e = NULL;
    size_t n = 0;
    int rc = mamori_entry_list(s, NULL, &e, &n);
    (void)w, (void)col;
    free(e);
    return rc;
}

/* A pending export request of op1 (the granted operator). */
static int64_t export_pending(struct world *w)
{
    struct mamori_export_req req = {"people", NULL, NULL, "matrix test",
                                    "zip",    NULL, NULL, 0};
    int64_t id = 0;
    assert_int_equal(mamori_export_request(w->s[OP], &req, &id), 0);
    return id;
}

static int op_export_request(struct world *w, mamori_sess *s, int col)
{
    struct mamori_export_req req = {"people", NULL, NULL, "matrix test",
                                    "zip",    NULL, NULL, 0};
    int64_t id = 0;
    (void)w, (void)col;
    return mamori_export_request(s, &req, &id);
}

static int op_export_approve(struct world *w, mamori_sess *s, int col)
{
    (void)col;
    return mamori_export_approve(s, export_pending(w));
}

/* path: a file of the test's own under the vault's home (outputs never go
 * in the home itself: mamori_output_check). */
static void out_path(struct world *w, const char *name, int col, char *path,
                     size_t size)
{
    snprintf(path, size, "%s/out", w->tv.home);
    if (mkdir(path, 0700) != 0)
        assert_int_equal(errno, EEXIST);
    snprintf(path, size, "%s/out/%s-%d", w->tv.home, name, col);
}

static int op_export_run(struct world *w, mamori_sess *s, int col)
{
    int64_t id = export_pending(w);
    char path[400];
    struct mamori_export_result res;
    int rc;
    assert_int_equal(mamori_export_approve(w->s[ADM], id), 0);
    out_path(w, "export.zip", col, path, sizeof path);
    rc = mamori_export_run(s, id, path, &res);
    mamori_export_result_wipe(&res);
    return rc;
}

static int op_export_handover(struct world *w, mamori_sess *s, int col)
{
    int64_t id = export_pending(w);
    char path[400];
    struct mamori_export_result res;
    struct mamori_export_info x;
    int rc;
    assert_int_equal(mamori_export_approve(w->s[ADM], id), 0);
    out_path(w, "handover.zip", col, path, sizeof path);
    assert_int_equal(mamori_export_run(w->s[OP], id, path, &res), 0);
    mamori_export_result_wipe(&res);
    rc = mamori_export_handover(s, id, &x);
    if (rc == 0) {
        assert_int_equal(x.id, id);
        assert_string_equal(x.dataset, "people");
        assert_string_equal(x.format, "zip");
        assert_int_equal(strlen(x.sha256), 64);
    }
    return rc;
}

static int op_export_list(struct world *w, mamori_sess *s, int col)
{
    struct mamori_export_info *x = NULL;
    size_t n = 0;
    int rc = mamori_export_list(s, &x, &n);
    (void)w, (void)col;
    free(x);
    return rc;
}

static int op_export_mark(struct world *w, mamori_sess *s, int col)
{
    (void)col;
    /* Still pending: an admin gets MAMORI_ESTATE, the others a refusal. */
    return mamori_export_mark(s, export_pending(w), "destroyed");
}

static int op_backup_create(struct world *w, mamori_sess *s, int col)
{
    struct mamori_backup_info b;
    (void)w, (void)col;
    return mamori_backup_create(s, NULL, 0, &b);
}

static int op_backup_keys(struct world *w, mamori_sess *s, int col)
{
    struct mamori_backup_info b;
    char path[400];
    out_path(w, "keys.mbak", col, path, sizeof path);
    return mamori_backup_keys(s, path, &b);
}

static int op_backup_verify(struct world *w, mamori_sess *s, int col)
{
    struct mamori_backup_info b;
    char path[400];
    (void)col;
    snprintf(path, sizeof path, "%s/no-such.mbak", w->tv.home);
    return mamori_backup_verify(s, path, &b);
}

static int op_backup_list(struct world *w, mamori_sess *s, int col)
{
    struct mamori_backup_info *b = NULL;
    size_t n = 0;
    int rc = mamori_backup_list(s, NULL, &b, &n);
    (void)w, (void)col;
    free(b);
    return rc;
}

/* Allowed (Y), refused (N), or self-service (S: allowed, any result but
 * EDENIED), per column adm op op- hdl vw aud bg. */
static const struct {
    const char *name;
    op_fn fn;
    const char *expect;
    int allowed_rc; /* what an allowed call returns (when Y) */
} matrix[] = {
    {"user_add", op_user_add, "YNNNNNY", 0},
    {"user_list", op_user_list, "YNNNNYY", 0},
    {"user_unlock", op_user_unlock, "YNNNNNY", MAMORI_ESTATE}, /* not locked */
    {"user_disable", op_user_disable, "YNNNNNY", MAMORI_ENOTFOUND},
    {"user_enable", op_user_enable, "YNNNNNY", MAMORI_ESTATE}, /* enabled */
    {"user_reset", op_user_reset, "YNNNNNY", 0},
    {"session_list", op_session_list, "YNNNNNY", 0},
    {"session_revoke", op_session_revoke, "YNNNNNY", 1},
    {"mfa_reset", op_mfa_reset, "YNNNNNY", 1},
    {"device_approve", op_device_approve, "YNNNNNY", MAMORI_ENOTFOUND},
    {"device_revoke", op_device_revoke, "YNNNNNY", MAMORI_ENOTFOUND},
    {"device_list", op_device_list, "YNNNNYY", 0},
    {"access_review", op_access_review, "YNNNNYY", 0},
    {"config_list", op_config_list, "YNNNNYY", 0},
    {"config_set", op_config_set, "YNNNNNY", 0},
    {"dataset_create", op_dataset_create, "YNNNNNY", 0},
    {"dataset_list", op_dataset_list, "YYYYYYY", 0},
    {"dataset_grant", op_dataset_grant, "YNNNNNY", 0},
    {"dataset_grant_flags", op_dataset_grant_flags, "YNNNNNY", 0},
    {"dataset_revoke", op_dataset_revoke, "YNNNNNY", 0},
    {"dataset_grants", op_dataset_grants, "YNNNNYY", 0},
    {"record_add", op_record_add, "NYNYNNN", 0},
    {"record_add_many", op_record_add_many, "NYNYNNN", 0},
    {"bulk", op_bulk, "NYNYNNN", 0},
    {"record_get", op_record_get, "NYNYYNY", 0},
    {"record_search", op_record_search, "NYNYYNY", 0},
    {"record_search_many", op_record_search_many, "NYNYYNY", 0},
    {"record_update", op_record_update, "NYNYNNN", 0},
    {"record_delete", op_record_delete, "NYNYNNN", 0},
    {"breakglass_request", op_bg_request, "YNNNNNY", 0},
    {"breakglass_approve", op_bg_approve, "YNNNNNY", 0},
    {"breakglass_close", op_bg_close, "YNNNNNY", 0},
    {"breakglass_list", op_bg_list, "YNNNNYY", 0},
    {"audit_show", op_audit_show, "YNNNNYY", 0},
    {"audit_checkpoint", op_audit_checkpoint, "YNNNNYY", 0},
    {"audit_verify", op_audit_verify, "YNNNNYY", 0},
    {"import", op_import, "NYNYNNN", 0},
    {"entry_start", op_entry_start, "NYNYNNN", 0},
    {"entry_list", op_entry_list, "NYYYNYN", 0},
    {"export_request", op_export_request, "NYNYNNN", 0},
    {"export_approve", op_export_approve, "YNNNNNY", 0},
    {"export_run", op_export_run, "NYNNNNN", 0},
    {"export_handover", op_export_handover, "NYNNNNN", 0},
    {"export_list", op_export_list, "YYYYNYY", 0},
    {"export_mark", op_export_mark, "YNNNNNY", MAMORI_ESTATE},
    {"backup_create", op_backup_create, "YNNNNNY", 0},
    {"backup_keys", op_backup_keys, "YNNNNNY", 0},
    {"backup_verify", op_backup_verify, "YNNNNYY", 1},
    {"backup_list", op_backup_list, "YNNNNYY", 0},
    {"passwd", op_passwd, "SSSSSSS", 0},
    {"mfa_enroll", op_mfa_enroll, "SSSSSSS", 0},
};

static void role_matrix(void **state)
{
    struct world *w = *state;
    /* A wrong current password (passwd) is refused as a failed login is,
     * and also logged as one. */
    size_t denied_before = count_entries(w, "denied", NULL) -
                           count_entries(w, "denied", "login") -
                           count_entries(w, "denied", "passwd"),
           refused = 0;

    for (size_t i = 0; i < sizeof matrix / sizeof matrix[0]; i++) {
        assert_int_equal(strlen(matrix[i].expect), NCOL);
        for (int col = 0; col < NCOL; col++) {
            char e = matrix[i].expect[col];
            int rc = matrix[i].fn(w, w->s[col], col);
            if ((e == 'N') != (rc == MAMORI_EDENIED) ||
                (e == 'Y' && matrix[i].allowed_rc != 1 &&
                 rc != matrix[i].allowed_rc))
                fail_msg("%s as %s: got %d (%s), want %s", matrix[i].name,
                         col_name[col], rc, mamori_errdetail(w->s[col]),
                         e == 'N' ? "refused" : "allowed");
            if (rc == MAMORI_EDENIED) {
                refused++;
                /* the detail names the rule, and nothing personal */
                assert_true(strlen(mamori_errdetail(w->s[col])) > 0);
            }
        }
    }
    /* every refusal is in the log, once */
    assert_int_equal(count_entries(w, "denied", NULL) -
                         count_entries(w, "denied", "login") -
                         count_entries(w, "denied", "passwd") - denied_before,
                     refused);
    /* the tables agree with the gate's own */
    assert_true(guard_role_valid("viewer"));
    assert_false(guard_role_valid("root"));
    assert_false(guard_role_valid(""));
    assert_true(guard_role_allows("viewer", OP_RECORD_GET));
    assert_true(guard_role_allows("viewer", OP_RECORD_SEARCH));
    assert_false(guard_role_allows("viewer", OP_RECORD_ADD));
    assert_false(guard_role_allows("viewer", OP_RECORD_UPDATE));
    assert_false(guard_role_allows("viewer", OP_RECORD_DELETE));
    assert_false(guard_role_allows("admin", OP_RECORD_GET));
    assert_false(guard_role_allows("auditor", OP_BREAKGLASS_REQUEST));
    assert_true(guard_role_allows("auditor", OP_BREAKGLASS_LIST));
}

/* ---- masking ------------------------------------------------------------ */

static void masking_per_type(void **state)
{
    struct world *w = *state;
    static const struct mamori_field_def f[] = {
        {"name", "name", 1},       {"kana", "kana", 0},
        {"birth", "date", 0},      {"postal", "postal", 0},
        {"phone", "phone", 0},     {"email", "email", 0},
        {"address", "address", 0}, {"mynumber", "mynumber", 1},
        {"corp", "corpnumber", 0}, {"note", "text", 0},
    };
    struct mamori_dataset_def d = {"alltypes", "c", "p", NULL, f, 10};
    struct mamori_kv kv[] = {
        {"name", "山田 太郎"},
        {"kana", "やまだ たろう"},
        {"birth", "昭和55年4月1日"},
        {"postal", "100-0001"},
        {"phone", "090-1234-5678"},
        {"email", "taro@example.jp"},
        {"address", "東京都千代田区千代田1-1"},
        {"mynumber", MN},
        {"corp", CORP},
        {"note", "電話で確認済み"},
    };
    static const char *const plain[10] = {"山田　太郎",
                                          "ヤマダ　タロウ",
                                          "1980-04-01",
                                          "100-0001",
                                          "09012345678",
                                          "taro@example.jp",
                                          "東京都千代田区千代田1-1",
                                          MN,
                                          CORP,
                                          "電話で確認済み"};
    static const char *const masked[10] = {
        "山田　＊＊",           "ヤマダ　＊＊",
        "1980-**-**",           "100-****",
        "090-****-5678",        "t***@example.jp",
        "東京都千代田区＊＊＊", "********9018",
        "*********0002",        "＊＊＊"};
    char id[MAMORI_ID_LEN + 1];
    int64_t bg = 0;

    assert_int_equal(mamori_dataset_create(w->tv.admin, &d), 0);
    assert_int_equal(mamori_dataset_grant(w->tv.admin, "alltypes", "op1"), 0);
    assert_int_equal(mamori_dataset_grant_flags(w->tv.admin, "alltypes",
                                                "hand1", MAMORI_GRANT_HANDLER),
                     0);
    assert_int_equal(mamori_dataset_grant(w->tv.admin, "alltypes", "view1"), 0);
    assert_int_equal(
        mamori_record_add(w->s[HDL], "alltypes", kv, 10, id, sizeof id), 0);
    assert_int_equal(
        mamori_breakglass_request(w->tv.admin, "alltypes", "masking", &bg), 0);
    assert_int_equal(mamori_breakglass_approve(w->s[ADM], bg), 0);

    const int who[] = {HDL, OP, VW, BG};
    for (size_t k = 0; k < sizeof who / sizeof who[0]; k++) {
        struct mamori_record *r = NULL;
        int c = who[k];
        assert_int_equal(mamori_record_get(w->s[c], "alltypes", id, &r), 0);
        assert_int_equal(r->n, 10);
        for (size_t i = 0; i < 10; i++) {
            int want_mask = c == VW || (c != HDL && i == 7);
            const char *v = field(r, f[i].name);
            assert_non_null(v);
            if (strcmp(v, want_mask ? masked[i] : plain[i]) != 0)
                fail_msg("%s as %s: got %s", f[i].name, col_name[c], v);
        }
        assert_int_equal(r->masked, c != HDL);
        mamori_record_free(r);
    }

    /* viewers search and see masked values; by My Number: handlers only */
    struct mamori_record **rs = NULL;
    size_t n = 0;
    assert_int_equal(
        mamori_record_search(w->s[VW], "alltypes", "name", "山田太郎", &rs, &n),
        0);
    assert_int_equal(n, 1);
    assert_string_equal(field(rs[0], "name"), "山田　＊＊");
    assert_string_equal(field(rs[0], "phone"), "090-****-5678");
    mamori_record_array_free(rs, n);
    for (int c = OP; c <= BG; c++) {
        if (c == OPN || c == AUD)
            continue;
        rs = NULL;
        n = 0;
        int rc =
            mamori_record_search(w->s[c], "alltypes", "mynumber", MN, &rs, &n);
        assert_int_equal(rc, c == HDL ? 0 : MAMORI_EDENIED);
        if (rc == 0) {
            assert_int_equal(n, 1);
            assert_string_equal(field(rs[0], "mynumber"), MN);
        } else {
            assert_null(rs);
            assert_non_null(strstr(mamori_errdetail(w->s[c]), "mynumber"));
            assert_null(strstr(mamori_errdetail(w->s[c]), MN));
        }
        mamori_record_array_free(rs, n);
    }
    assert_int_equal(mamori_breakglass_close(w->s[ADM], bg), 0);
    (void)count_entries(w, "ok", NULL); /* no My Number in any entry */
}

/* ---- My Number handlers ------------------------------------------------- */

static int64_t people_records(mamori_sess *s)
{
    struct mamori_dataset_info *ds = NULL;
    size_t n = 0;
    int64_t k = -1;
    assert_int_equal(mamori_dataset_list(s, &ds, &n), 0);
    for (size_t i = 0; i < n; i++)
        if (strcmp(ds[i].name, "people") == 0)
            k = ds[i].records;
    mamori_dataset_list_free(ds, n);
    assert_true(k >= 0);
    return k;
}

static void mynumber_handlers(void **state)
{
    struct world *w = *state;
    mamori_sess *op = w->s[OP], *hdl = w->s[HDL];
    struct mamori_kv with[] = {{"name", "鈴木 一郎"}, {"mynumber", MN}};
    struct mamori_kv empty[] = {{"name", "鈴木 二郎"}, {"mynumber", ""}};
    struct mamori_kv clear[] = {{"mynumber", ""}};
    struct mamori_kv note[] = {{"note", "住所変更の連絡あり"}};
    struct mamori_kv rows[] = {{"name", "一 一"},
                               {"mynumber", ""},
                               {"name", "二 二"},
                               {"mynumber", MN}};
    char id[MAMORI_ID_LEN + 1], ids[2 * (MAMORI_ID_LEN + 1)];
    struct mamori_record *r = NULL;
    int64_t before = people_records(op);

    /* entering one: refused, naming field and rule, never the value */
    assert_int_equal(mamori_record_add(op, "people", with, 2, id, sizeof id),
                     MAMORI_EDENIED);
    assert_string_equal(id, "");
    assert_non_null(strstr(mamori_errdetail(op), "\"mynumber\""));
    assert_non_null(strstr(mamori_errdetail(op), "handlers"));
    assert_null(strstr(mamori_errdetail(op), MN));
    char detail[128];
    last_detail(w, "record.add", detail, sizeof detail);
    assert_non_null(strstr(detail, "not a handler"));
    /* even an invalid one: the rule comes before the value's checks */
    struct mamori_kv bad[] = {{"mynumber", MN2}};
    assert_int_equal(mamori_record_add(op, "people", bad, 1, id, sizeof id),
                     MAMORI_EDENIED);
    /* an empty value is no My Number */
    assert_int_equal(mamori_record_add(op, "people", empty, 2, id, sizeof id),
                     0);
    /* bulk: the row is named */
    assert_int_equal(
        mamori_record_add_many(op, "people", rows, 2, 2, ids, sizeof ids),
        MAMORI_EDENIED);
    assert_non_null(strstr(mamori_errdetail(op), "row 2"));
    assert_string_equal(ids, "");
    /* changing or clearing one, deleting a record that holds one */
    assert_int_equal(mamori_record_update(op, "people", w->rec_mn, with + 1, 1),
                     MAMORI_EDENIED);
    assert_int_equal(mamori_record_update(op, "people", w->rec_mn, clear, 1),
                     MAMORI_EDENIED);
    assert_int_equal(mamori_record_delete(op, "people", w->rec_mn),
                     MAMORI_EDENIED);
    assert_non_null(strstr(mamori_errdetail(op), "holds a My Number"));
    /* the other fields are the operator's to change; the number stays */
    assert_int_equal(mamori_record_update(op, "people", w->rec_mn, note, 1), 0);
    assert_int_equal(mamori_record_get(hdl, "people", w->rec_mn, &r), 0);
    assert_string_equal(field(r, "mynumber"), MN);
    assert_string_equal(field(r, "note"), "住所変更の連絡あり");
    mamori_record_free(r);
    /* the handler enters and updates them */
    assert_int_equal(mamori_record_add(hdl, "people", with, 2, id, sizeof id),
                     0);
    assert_int_equal(mamori_record_update(hdl, "people", id, clear, 1), 0);
    assert_int_equal(mamori_record_delete(hdl, "people", id), 0);

    assert_int_equal(people_records(op), before + 1); /* the empty one */

    /* granting again without the flag ends the designation */
    assert_int_equal(mamori_dataset_grant(w->tv.admin, "people", "hand1"), 0);
    last_detail(w, "dataset.grant", detail, sizeof detail);
    assert_non_null(strstr(detail, "handler designation ended"));
    assert_int_equal(mamori_record_get(hdl, "people", w->rec_mn, &r), 0);
    assert_string_equal(field(r, "mynumber"), "********9018");
    mamori_record_free(r);
    assert_int_equal(mamori_dataset_grant_flags(w->tv.admin, "people", "hand1",
                                                MAMORI_GRANT_HANDLER),
                     0);
    last_detail(w, "dataset.grant", detail, sizeof detail);
    assert_string_equal(detail, "granted to hand1 as My Number handler");

    /* who may be granted what */
    assert_int_equal(mamori_dataset_grant_flags(w->tv.admin, "people", "view1",
                                                MAMORI_GRANT_HANDLER),
                     MAMORI_EINVAL);
    assert_int_equal(mamori_dataset_grant(w->tv.admin, "people", "aud1"),
                     MAMORI_EINVAL);
    assert_int_equal(mamori_dataset_grant(w->tv.admin, "people", "admin2"),
                     MAMORI_EINVAL);
    assert_int_equal(mamori_dataset_grant(w->tv.admin, "people", "nobody"),
                     MAMORI_ENOTFOUND);
    assert_int_equal(mamori_dataset_grant(w->tv.admin, "people", NULL),
                     MAMORI_ENOTFOUND);
    assert_int_equal(mamori_dataset_grant(w->tv.admin, "nosuch", "op1"),
                     MAMORI_ENOTFOUND);
    assert_int_equal(
        mamori_dataset_grant_flags(w->tv.admin, "people", "op1", 0x80),
        MAMORI_EINVAL);
    /* revoking: the operator is out, and in again */
    assert_int_equal(mamori_dataset_revoke(w->tv.admin, "people", "op2"),
                     MAMORI_ENOTFOUND);
    assert_int_equal(mamori_dataset_revoke(w->tv.admin, "people", "op1"), 0);
    assert_int_equal(mamori_record_get(op, "people", w->rec_plain, &r),
                     MAMORI_EDENIED);
    assert_int_equal(mamori_dataset_grant(w->tv.admin, "people", "op1"), 0);
    assert_int_equal(mamori_record_get(op, "people", w->rec_plain, &r), 0);
    mamori_record_free(r);
    (void)count_entries(w, "ok", NULL); /* no My Number in any entry */
}

/* ---- purpose of access -------------------------------------------------- */

static void purpose_of_access(void **state)
{
    struct world *w = *state;
    static const struct mamori_field_def f[] = {{"name", "name", 1}};
    struct mamori_dataset_def d = {"reasoned", "c", "p", NULL, f, 1, 1};
    struct mamori_kv kv[] = {{"name", "高橋 三郎"}};
    mamori_sess *op = w->s[OP], *vw = w->s[VW];
    struct mamori_record *r = NULL, **rs = NULL;
    struct mamori_dataset_info *ds = NULL;
    char id[MAMORI_ID_LEN + 1], detail[128], longr[300];
    size_t n = 0;

    assert_int_equal(mamori_dataset_create(w->tv.admin, &d), 0);
    assert_int_equal(mamori_dataset_grant(w->tv.admin, "reasoned", "op1"), 0);
    assert_int_equal(mamori_dataset_grant(w->tv.admin, "reasoned", "view1"), 0);
    assert_int_equal(mamori_dataset_list(op, &ds, &n), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(ds[i].require_reason,
                         strcmp(ds[i].name, "reasoned") == 0);
    mamori_dataset_list_free(ds, n);
    /* writing needs no reason; reading does */
    assert_int_equal(mamori_record_add(op, "reasoned", kv, 1, id, sizeof id),
                     0);
    size_t errors = count_entries(w, "error", "record.get");
    assert_int_equal(mamori_record_get(op, "reasoned", id, &r), MAMORI_EINVAL);
    assert_null(r);
    assert_non_null(strstr(mamori_errdetail(op), "requires a reason"));
    assert_int_equal(count_entries(w, "error", "record.get"), errors + 1);
    last_detail(w, "record.get", detail, sizeof detail);
    assert_string_equal(detail, "reason required");
    assert_int_equal(
        mamori_record_search(vw, "reasoned", "name", "高橋三郎", &rs, &n),
        MAMORI_EINVAL);
    /* blank is no reason */
    assert_int_equal(mamori_session_reason(op, "   "), 0);
    assert_int_equal(mamori_record_get(op, "reasoned", id, &r), MAMORI_EINVAL);

    assert_int_equal(mamori_session_reason(op, "月次確認 11月分"), 0);
    assert_int_equal(mamori_record_get(op, "reasoned", id, &r), 0);
    mamori_record_free(r);
    last_detail(w, "record.get", detail, sizeof detail);
    assert_string_equal(detail, "reason: 月次確認 11月分");
    assert_int_equal(mamori_session_reason(vw, "問合せ対応"), 0);
    assert_int_equal(
        mamori_record_search(vw, "reasoned", "name", "高橋三郎", &rs, &n), 0);
    assert_int_equal(n, 1);
    mamori_record_array_free(rs, n);
    last_detail(w, "record.search", detail, sizeof detail);
    assert_string_equal(detail, "by name; reason: 問合せ対応");

    /* control and bidi characters and bad UTF-8 are refused where the
     * reason is given; one set past that is refused by the gate, and its
     * entry has them dropped */
    assert_int_equal(mamori_session_reason(op, "a\x1b[2Jb"), MAMORI_EINVAL);
    assert_string_equal(mamori_errdetail(op), "reason: control character");
    assert_int_equal(mamori_session_reason(op, "d\xff"), MAMORI_EINVAL);
    assert_string_equal(mamori_errdetail(op), "reason: not valid UTF-8");
    snprintf(op->reason, sizeof op->reason, "%s",
             "a\x1b[2Jb\nc\xe2\x80\xae"
             "d\xff");
    assert_int_equal(mamori_record_get(op, "reasoned", id, &r), MAMORI_EINVAL);
    assert_null(r);
    last_detail(w, "record.get", detail, sizeof detail);
    assert_string_equal(detail, "reason refused; reason: a[2Jbcd");
    assert_int_equal(mamori_session_reason(op, NULL), 0);

    /* a long reason is cut at a character boundary */
    memset(longr, 0, sizeof longr);
    for (size_t i = 0; i + 3 < 255; i += 3)
        memcpy(longr + i, "確", 3);
    assert_int_equal(mamori_session_reason(op, longr), 0);
    assert_int_equal(mamori_record_get(op, "reasoned", id, &r), 0);
    mamori_record_free(r);
    last_detail(w, "record.get", detail, sizeof detail);
    assert_true(strlen(detail) <= 127);
    assert_int_equal((strlen(detail) - strlen("reason: ")) % 3, 0);
    assert_int_equal(strncmp(detail, "reason: 確確", 14), 0);

    /* a reason that holds a number is refused and never logged: where it
     * is given, and by the gate if it got past that */
    const char *numbers[] = {"本人 " MN " 確認", "電話 090-1234-5678 の件",
                             "ＴＥＬ０９０１２３４５６７８"};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(mamori_session_reason(op, numbers[i]), MAMORI_EINVAL);
        assert_non_null(strstr(mamori_errdetail(op), "personal data"));
        snprintf(op->reason, sizeof op->reason, "%s", numbers[i]);
        assert_int_equal(mamori_record_get(op, "reasoned", id, &r),
                         MAMORI_EINVAL);
        assert_non_null(strstr(mamori_errdetail(op), "personal data"));
        /* on any dataset, for any operation */
        assert_int_equal(mamori_record_get(op, "people", w->rec_plain, &r),
                         MAMORI_EINVAL);
        last_detail(w, "record.get", detail, sizeof detail);
        assert_int_equal(strncmp(detail, "reason refused", 14), 0);
    }
    /* dates and short numbers are fine */
    assert_int_equal(mamori_session_reason(op, "2026-11-28 問合せ #4711"), 0);
    assert_int_equal(mamori_record_get(op, "reasoned", id, &r), 0);
    mamori_record_free(r);
    assert_int_equal(mamori_session_reason(op, NULL), 0);
    assert_int_equal(mamori_session_reason(vw, NULL), 0);
    assert_int_equal(mamori_record_get(op, "reasoned", id, &r), MAMORI_EINVAL);
    (void)count_entries(w, "ok", NULL);
    /* the phone number of the refused reason is nowhere either */
    struct mamori_audit_entry *e = NULL;
    assert_int_equal(mamori_audit_show(w->tv.aud, 0, &e, &n), 0);
    for (size_t i = 0; i < n; i++) {
        assert_null(strstr(e[i].detail, "1234-5678"));
        assert_null(strstr(e[i].detail, "０９０"));
        assert_null(strstr(e[i].detail, "\x1b"));
    }
    mamori_audit_entries_free(e, n);
}

static void clean_text(void **state)
{
    char out[16];
    (void)state;
    assert_int_equal(guard_clean_text("abc", out, sizeof out), 3);
    assert_string_equal(out, "abc");
    assert_int_equal(guard_clean_text(NULL, out, sizeof out), 0);
    assert_string_equal(out, "");
    /* overlong, surrogate, truncated sequences and C1 controls go */
    assert_int_equal(guard_clean_text("a\xc0\xaf"
                                      "b\xed\xa0\x80"
                                      "c\xe3\x81"
                                      "d\xc2\x85"
                                      "e",
                                      out, sizeof out),
                     5);
    assert_string_equal(out, "abcde");
    /* cut at a character boundary; trailing spaces dropped */
    assert_int_equal(guard_clean_text("あいうえおかきく", out, sizeof out), 15);
    assert_string_equal(out, "あいうえお");
    assert_int_equal(guard_clean_text("x   ", out, sizeof out), 1);
    assert_int_equal(guard_clean_text("abc", out, 1), 0);
    assert_int_equal(guard_clean_text("abc", out, 0), 0);

    assert_true(guard_text_has_number("1234567890"));
    assert_true(guard_text_has_number("1234-5678-9018"));
    assert_true(guard_text_has_number("１２３４５６７８９０"));
    assert_false(guard_text_has_number("123456789"));
    assert_false(guard_text_has_number("2026-11-28 10:00"));
    /* spaces split groups as on the card, in either width */
    assert_true(guard_text_has_number("マイナンバー 1234 5678 9012 確認"));
    assert_true(guard_text_has_number("１２３４　５６７８　９０１２"));
    assert_false(guard_text_has_number("第 123 456 号"));
    assert_false(guard_text_has_number("1234  5678  90"));
    assert_false(guard_text_has_number("12345 67890"));
    assert_false(guard_text_has_number(NULL));
    assert_false(guard_text_has_number("\xff\xff"));
}

/* ---- the admin cap ------------------------------------------------------ */

static void admin_cap(void **state)
{
    struct world *w = *state;
    struct mamori_user_info *u = NULL;
    char detail[128];
    size_t n = 0, denied = count_entries(w, "denied", "user.add");

    /* admin and admin2: the default cap of 2 is reached */
    assert_int_equal(mamori_user_add(w->tv.admin, "admin3", "admin",
                                     TV_INITIAL_PW, strlen(TV_INITIAL_PW)),
                     MAMORI_EDENIED);
    assert_non_null(strstr(mamori_errdetail(w->tv.admin), "admin.max is 2"));
    assert_int_equal(count_entries(w, "denied", "user.add"), denied + 1);
    last_detail(w, "user.add", detail, sizeof detail);
    assert_non_null(strstr(detail, "admin.max 2 reached"));
    assert_int_equal(mamori_user_list(w->tv.admin, &u, &n), 0);
    for (size_t i = 0; i < n; i++)
        assert_string_not_equal(u[i].name, "admin3");
    free(u);
    /* other roles are not capped */
    assert_int_equal(mamori_user_add(w->tv.admin, "view2", "viewer",
                                     TV_INITIAL_PW, strlen(TV_INITIAL_PW)),
                     0);
    assert_int_equal(mamori_user_add(w->tv.admin, "bad", "root", TV_INITIAL_PW,
                                     strlen(TV_INITIAL_PW)),
                     MAMORI_EINVAL);
    /* the cap is a setting, 1-5 */
    assert_int_equal(mamori_config_set(w->tv.admin, "admin.max", "6"),
                     MAMORI_EINVAL);
    assert_int_equal(mamori_config_set(w->tv.admin, "admin.max", "0"),
                     MAMORI_EINVAL);
    assert_int_equal(mamori_config_set(w->tv.admin, "admin.max", "3"), 0);
    assert_int_equal(mamori_user_add(w->tv.admin, "admin3", "admin",
                                     TV_INITIAL_PW, strlen(TV_INITIAL_PW)),
                     0);
    /* lowering it takes no one's role, but no admin can be added */
    assert_int_equal(mamori_config_set(w->tv.admin, "admin.max", "2"), 0);
    assert_int_equal(mamori_user_add(w->tv.admin, "admin4", "admin",
                                     TV_INITIAL_PW, strlen(TV_INITIAL_PW)),
                     MAMORI_EDENIED);
    assert_non_null(strstr(mamori_errdetail(w->tv.admin), "3 admins"));
    /* and other admin work goes on */
    assert_int_equal(mamori_user_reset(w->tv.admin, "admin3", TV_INITIAL_PW,
                                       strlen(TV_INITIAL_PW)),
                     0);
    assert_int_equal(mamori_config_set(w->tv.admin, "lockout.minutes", "15"),
                     0);
}

/* ---- break-glass -------------------------------------------------------- */

static void breakglass_flow(void **state)
{
    struct world *w = *state;
    static const struct mamori_field_def f[] = {{"name", "name", 1},
                                                {"mynumber", "mynumber", 1}};
    struct mamori_dataset_def d = {"bgtest", "c", "p", NULL, f, 2};
    struct mamori_kv kv[] = {{"name", "伊藤 五郎"}, {"mynumber", MN}};
    mamori_sess *a = w->tv.admin, *b = w->s[ADM];
    struct mamori_record *r = NULL, **rs = NULL;
    struct mamori_breakglass_info *bi = NULL;
    char id[MAMORI_ID_LEN + 1], detail[128];
    int64_t bg = 0, bg2 = 0, bg3 = 0;
    size_t n = 0;

    assert_int_equal(mamori_dataset_create(a, &d), 0);
    assert_int_equal(
        mamori_dataset_grant_flags(a, "bgtest", "hand1", MAMORI_GRANT_HANDLER),
        0);
    assert_int_equal(
        mamori_record_add(w->s[HDL], "bgtest", kv, 2, id, sizeof id), 0);
    /* admins read no personal data */
    assert_int_equal(mamori_record_get(a, "bgtest", id, &r), MAMORI_EDENIED);
    assert_non_null(strstr(mamori_errdetail(a), "breakglass"));
    /* a request needs a reason without personal data */
    assert_int_equal(mamori_breakglass_request(a, "bgtest", NULL, &bg),
                     MAMORI_EINVAL);
    assert_int_equal(mamori_breakglass_request(a, "bgtest", " \x01 ", &bg),
                     MAMORI_EINVAL);
    assert_int_equal(
        mamori_breakglass_request(a, "bgtest", "本人 " MN " の件", &bg),
        MAMORI_EINVAL);
    char longr[300];
    memset(longr, 'x', sizeof longr - 1);
    longr[sizeof longr - 1] = '\0';
    assert_int_equal(mamori_breakglass_request(a, "bgtest", longr, &bg),
                     MAMORI_ETOOBIG);
    assert_int_equal(mamori_breakglass_request(a, "nosuch", "x", &bg),
                     MAMORI_ENOTFOUND);
    assert_int_equal(mamori_breakglass_request(w->s[OP], "bgtest", "x", &bg),
                     MAMORI_EDENIED);
    assert_int_equal(mamori_breakglass_request(a, "bgtest", NULL, NULL),
                     MAMORI_EINVAL);
    assert_int_equal(
        mamori_breakglass_request(a, "bgtest", "源泉徴収票 期限 担当不在", &bg),
        0);
    assert_true(bg > 0);
    last_detail(w, "breakglass.request", detail, sizeof detail);
    assert_non_null(strstr(detail, "担当不在"));
    /* pending: no read yet, and not the requester's to approve */
    assert_int_equal(mamori_record_get(a, "bgtest", id, &r), MAMORI_EDENIED);
    assert_int_equal(mamori_breakglass_approve(a, bg), MAMORI_EDENIED);
    assert_int_equal(mamori_breakglass_approve(w->s[OP], bg), MAMORI_EDENIED);
    assert_int_equal(mamori_breakglass_approve(b, 999999), MAMORI_ENOTFOUND);
    assert_int_equal(mamori_breakglass_approve(b, -1), MAMORI_ENOTFOUND);
    assert_int_equal(mamori_breakglass_approve(b, bg), 0);
    last_detail(w, "breakglass.approve", detail, sizeof detail);
    assert_non_null(strstr(detail, "approved for admin, 60 minutes"));
    assert_int_equal(mamori_breakglass_approve(b, bg), MAMORI_ESTATE);

    /* in the window: reads, My Numbers masked; no writes */
    assert_int_equal(mamori_record_get(a, "bgtest", id, &r), 0);
    assert_string_equal(field(r, "name"), "伊藤　五郎");
    assert_string_equal(field(r, "mynumber"), "********9018");
    assert_true(r->masked);
    mamori_record_free(r);
    char want[64];
    snprintf(want, sizeof want, "break-glass %lld", (long long)bg);
    last_detail(w, "record.get", detail, sizeof detail);
    assert_string_equal(detail, want);
    assert_int_equal(
        mamori_record_search(a, "bgtest", "name", "伊藤五郎", &rs, &n), 0);
    assert_int_equal(n, 1);
    mamori_record_array_free(rs, n);
    last_detail(w, "record.search", detail, sizeof detail);
    snprintf(want, sizeof want, "break-glass %lld; by name", (long long)bg);
    assert_string_equal(detail, want);
    assert_int_equal(mamori_record_search(a, "bgtest", "mynumber", MN, &rs, &n),
                     MAMORI_EDENIED);
    char id2[MAMORI_ID_LEN + 1];
    assert_int_equal(mamori_record_add(a, "bgtest", kv, 1, id2, sizeof id2),
                     MAMORI_EDENIED);
    assert_int_equal(mamori_record_delete(a, "bgtest", id), MAMORI_EDENIED);
    /* the approver has no window; other datasets are still closed */
    assert_int_equal(mamori_record_get(b, "bgtest", id, &r), MAMORI_EDENIED);
    assert_int_equal(mamori_record_get(a, "alltypes", id, &r), MAMORI_EDENIED);

    /* listed for admins and auditors */
    assert_int_equal(mamori_breakglass_list(w->tv.aud, &bi, &n), 0);
    int found = 0;
    for (size_t i = 0; i < n; i++) {
        if (bi[i].id != bg)
            continue;
        found = 1;
        assert_string_equal(bi[i].dataset, "bgtest");
        assert_string_equal(bi[i].state, "active");
        assert_string_equal(bi[i].requester, "admin");
        assert_string_equal(bi[i].approver, "admin2");
        assert_string_equal(bi[i].reason, "源泉徴収票 期限 担当不在");
        assert_int_equal(bi[i].expires - bi[i].approved, 60 * 60);
    }
    assert_true(found);
    free(bi);

    /* the window ends on the clock */
    tv_clock_set(tv_clock() + 61 * 60);
    assert_int_equal(mamori_record_get(a, "bgtest", id, &r), MAMORI_EDENIED);
    assert_int_equal(mamori_breakglass_close(a, bg), MAMORI_ESTATE);
    /* or when closed; a pending request can be withdrawn */
    assert_int_equal(mamori_breakglass_request(a, "bgtest", "again", &bg2), 0);
    assert_int_equal(mamori_breakglass_approve(b, bg2), 0);
    assert_int_equal(mamori_record_get(a, "bgtest", id, &r), 0);
    mamori_record_free(r);
    assert_int_equal(mamori_breakglass_close(a, bg2), 0);
    assert_int_equal(mamori_record_get(a, "bgtest", id, &r), MAMORI_EDENIED);
    assert_int_equal(mamori_breakglass_request(a, "bgtest", "third", &bg3), 0);
    assert_int_equal(mamori_breakglass_close(b, bg3), 0);
    assert_int_equal(mamori_breakglass_approve(b, bg3), MAMORI_ESTATE);
    assert_int_equal(mamori_breakglass_list(a, &bi, &n), 0);
    for (size_t i = 0; i < n; i++) {
        if (bi[i].id == bg)
            assert_string_equal(bi[i].state, "ended");
        if (bi[i].id == bg2)
            assert_string_equal(bi[i].state, "ended");
        if (bi[i].id == bg3)
            assert_string_equal(bi[i].state, "withdrawn");
    }
    free(bi);
    assert_int_equal(mamori_breakglass_list(w->s[OP], &bi, &n), MAMORI_EDENIED);
    assert_int_equal(mamori_breakglass_list(w->s[VW], &bi, &n), MAMORI_EDENIED);
    assert_true(count_entries(w, "ok", "breakglass.request") >= 3);
    assert_true(count_entries(w, "ok", "breakglass.approve") >= 2);
    assert_true(count_entries(w, "ok", "breakglass.close") >= 2);
    assert_true(count_entries(w, "denied", "breakglass.approve") >= 1);
}

/* A request not approved in 24 hours lapses (last: the clock jump ends
 * every session). */
static void breakglass_lapse(void **state)
{
    struct world *w = *state;
    struct mamori_breakglass_info *bi = NULL;
    int64_t bg = 0;
    size_t n = 0;

    assert_int_equal(
        mamori_breakglass_request(w->tv.admin, "bgtest", "late", &bg), 0);
    tv_clock_set(tv_clock() + 25 * 3600);
    mamori_sess *b = tv_login(&w->tv, "admin2", TV_OP_PW);
    assert_non_null(b);
    assert_int_equal(mamori_breakglass_approve(b, bg), MAMORI_ESTATE);
    assert_non_null(strstr(mamori_errdetail(b), "lapsed"));
    assert_int_equal(mamori_breakglass_list(b, &bi, &n), 0);
    assert_string_equal(bi[n - 1].state, "lapsed");
    free(bi);
    mamori_session_close(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(clean_text),
        cmocka_unit_test(role_matrix),
        cmocka_unit_test(masking_per_type),
        cmocka_unit_test(mynumber_handlers),
        cmocka_unit_test(purpose_of_access),
        cmocka_unit_test(admin_cap),
        cmocka_unit_test(breakglass_flow),
        cmocka_unit_test(breakglass_lapse),
    };
    return cmocka_run_group_tests(tests, world_setup, world_teardown);
}
