/*
 * test_export.c - take-out under approval: who may request, decide and
 * run; one run per approval; the ZIP (opened with 7z) and CMS (opened with
 * openssl cms) files hold exactly the selected records as the requester
 * sees them; CP932; bad certificates; the bulk-export alert; the ledger;
 * failures leave no file; an approval lapses after export.approval_hours.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "helpers.h"

#define OP2_PW "Second#Oper-8841"

struct ctx {
    struct tvault tv;
    mamori_sess *op2;
    char dir[300]; /* output directory */
    char ids[3][MAMORI_ID_LEN + 1];
};

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    return system(cmd);
}

/* The whole of a small file, NUL-terminated (NULL if unreadable). */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
        fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) &&
        fread(buf, 1, (size_t)n, f) == (size_t)n) {
        buf[n] = '\0';
        if (len)
            *len = (size_t)n;
    } else {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

static int setup(void **state)
{
    struct ctx *x = calloc(1, sizeof *x);
    const struct mamori_kv r1[] = {{"name", "山田 太郎"},
                                   {"kana", "ヤマダ タロウ"},
                                   {"phone", "09012345678"},
                                   {"mynumber", "123456789018"},
                                   {"note", "a,\"b\"\nc"}};
    const struct mamori_kv r2[] = {
        {"name", "佐藤 花子"}, {"phone", "0312345678"}, {"note", "=1+2"}};
    const struct mamori_kv r3[] = {{"name", "髙橋 一郎"}, {"note", "①②"}};
    if (!x || tv_setup(&x->tv) != 0)
        return -1;
    if (mamori_dataset_grant_flags(x->tv.admin, "people", "op1",
                                   MAMORI_GRANT_HANDLER) ||
        mamori_user_add(x->tv.admin, "op2", "operator", TV_INITIAL_PW,
                        strlen(TV_INITIAL_PW)) ||
        mamori_dataset_grant(x->tv.admin, "people", "op2"))
        return -1;
    x->op2 = tv_first_login(&x->tv, "op2", TV_INITIAL_PW, OP2_PW);
    if (!x->op2 ||
        mamori_record_add(x->tv.op, "people", r1, 5, x->ids[0],
                          sizeof x->ids[0]) ||
        mamori_record_add(x->tv.op, "people", r2, 3, x->ids[1],
                          sizeof x->ids[1]) ||
        mamori_record_add(x->tv.op, "people", r3, 2, x->ids[2],
                          sizeof x->ids[2]))
        return -1;
    snprintf(x->dir, sizeof x->dir, "%s.out", x->tv.home);
    if (mkdir(x->dir, 0700) != 0)
        return -1;
    *state = x;
    return 0;
}

static int teardown(void **state)
{
    struct ctx *x = *state;
    mamori_session_close(x->op2);
    sh("chmod -R u+w '%s'; rm -rf '%s'", x->dir, x->dir);
    tv_teardown(&x->tv);
    free(x);
    return 0;
}

static int64_t request(mamori_sess *s, const char *format, const char *enc,
                       const char *field, const char *value, const char *cert,
                       int *rc)
{
    struct mamori_export_req req = {
        "people", field, value, "send to the client for payroll",
        format,   enc,   cert,  cert ? strlen(cert) : 0};
    int64_t id = 0;
    *rc = mamori_export_request(s, &req, &id);
    return id;
}

/* A request approved by the admin. */
static int64_t approved(struct ctx *x, mamori_sess *s, const char *format,
                        const char *enc, const char *field, const char *value,
                        const char *cert)
{
    int rc;
    int64_t id = request(s, format, enc, field, value, cert, &rc);
    assert_int_equal(rc, 0);
    assert_true(id > 0);
    assert_int_equal(mamori_export_approve(x->tv.admin, id), 0);
    return id;
}

static int audit_has(struct ctx *x, const char *action, const char *detail)
{
    struct mamori_audit_entry *e = NULL;
    size_t n = 0;
    int found = 0;
    assert_int_equal(mamori_audit_show(x->tv.aud, 0, &e, &n), 0);
    for (size_t i = 0; i < n; i++)
        if (strcmp(e[i].action, action) == 0 &&
            (!detail || strstr(e[i].detail, detail)))
            found++;
    mamori_audit_entries_free(e, n);
    return found;
}

/* The number of entries of action with that outcome whose detail holds
 * detail. */
static int audit_outcome(struct ctx *x, const char *action, const char *outcome,
                         const char *detail)
{
    struct mamori_audit_entry *e = NULL;
    size_t n = 0;
    int found = 0;
    assert_int_equal(mamori_audit_show(x->tv.aud, 0, &e, &n), 0);
    for (size_t i = 0; i < n; i++)
        if (strcmp(e[i].action, action) == 0 &&
            strcmp(e[i].outcome, outcome) == 0 && strstr(e[i].detail, detail))
            found++;
    mamori_audit_entries_free(e, n);
    return found;
}

/* Request id's ledger entry as s sees it into *out (0), or -1. */
static int ledger_of(mamori_sess *s, int64_t id, struct mamori_export_info *out)
{
    struct mamori_export_info *e = NULL;
    size_t n = 0;
    int found = -1;
    assert_int_equal(mamori_export_list(s, &e, &n), 0);
    for (size_t i = 0; i < n; i++) {
        if (e[i].id == id) {
            *out = e[i];
            found = 0;
        }
    }
    free(e);
    return found;
}

static void roles_and_states(void **state)
{
    struct ctx *x = *state;
    struct mamori_export_result res;
    char out[400];
    int rc;

    /* admins and auditors do not request; nor does a viewer */
    request(x->tv.admin, "zip", NULL, NULL, NULL, NULL, &rc);
    assert_int_equal(rc, MAMORI_EDENIED);
    request(x->tv.aud, "zip", NULL, NULL, NULL, NULL, &rc);
    assert_int_equal(rc, MAMORI_EDENIED);
    int64_t id = request(x->tv.op, "zip", NULL, NULL, NULL, NULL, &rc);
    assert_int_equal(rc, 0);
    /* operators (the requester included) and auditors do not approve */
    assert_int_equal(mamori_export_approve(x->tv.op, id), MAMORI_EDENIED);
    assert_int_equal(mamori_export_approve(x->op2, id), MAMORI_EDENIED);
    assert_int_equal(mamori_export_approve(x->tv.aud, id), MAMORI_EDENIED);
    /* not approved yet: no run */
    snprintf(out, sizeof out, "%s/a.zip", x->dir);
    assert_int_equal(mamori_export_run(x->tv.op, id, out, &res), MAMORI_ESTATE);
    /* rejected: no run, no second decision */
    assert_int_equal(mamori_export_reject(x->tv.admin, id), 0);
    assert_int_equal(mamori_export_approve(x->tv.admin, id), MAMORI_ESTATE);
    assert_int_equal(mamori_export_run(x->tv.op, id, out, &res), MAMORI_ESTATE);
    assert_int_equal(access(out, F_OK), -1);
    /* approved: another operator may not run it; the requester once */
    id = approved(x, x->tv.op, "zip", NULL, NULL, NULL, NULL);
    assert_int_equal(mamori_export_run(x->op2, id, out, &res), MAMORI_EDENIED);
    assert_int_equal(access(out, F_OK), -1);
    assert_int_equal(mamori_export_mark(x->tv.admin, id, "returned"),
                     MAMORI_ESTATE);
    /* never over the vault's own files or its key file: refused, audited,
     * and the export may still run */
    {
        char own[400];
        int before = audit_has(x, "export.run", NULL);
        snprintf(own, sizeof own, "%s/vault.db", x->tv.home);
        assert_int_equal(mamori_export_run(x->tv.op, id, own, &res),
                         MAMORI_EINVAL);
        assert_non_null(strstr(mamori_errdetail(x->tv.op), "own directory"));
        assert_int_equal(mamori_export_run(x->tv.op, id, x->tv.key, &res),
                         MAMORI_EINVAL);
        assert_non_null(strstr(mamori_errdetail(x->tv.op), "key file"));
        assert_int_equal(audit_has(x, "export.run", NULL), before + 2);
    }
    assert_int_equal(mamori_export_run(x->tv.op, id, out, &res), 0);
    assert_int_equal(res.count, 3);
    assert_true(strlen(res.password) >= 20);
    assert_int_equal(strlen(res.sha256), 64);
    mamori_export_result_wipe(&res);
    assert_int_equal(res.password[0], '\0');
    assert_int_equal(mamori_export_run(x->tv.op, id, out, &res), MAMORI_ESTATE);
    /* the file is handed over to the requester only, and only while the
     * dataset is still granted to them */
    {
        struct mamori_export_info info;
        assert_int_equal(mamori_export_handover(x->tv.op, id, &info), 0);
        assert_string_equal(info.dataset, "people");
        assert_int_equal(mamori_export_handover(x->op2, id, &info),
                         MAMORI_EDENIED);
        assert_int_equal(mamori_dataset_revoke(x->tv.admin, "people", "op1"),
                         0);
        assert_int_equal(mamori_export_handover(x->tv.op, id, &info),
                         MAMORI_EDENIED);
        assert_int_equal(mamori_dataset_grant_flags(x->tv.admin, "people",
                                                    "op1",
                                                    MAMORI_GRANT_HANDLER),
                         0);
        assert_int_equal(mamori_export_handover(x->tv.op, 9999, &info),
                         MAMORI_ENOTFOUND);
    }
    /* mark: admin only, then not again */
    assert_int_equal(mamori_export_mark(x->tv.op, id, "returned"),
                     MAMORI_EDENIED);
    assert_int_equal(mamori_export_mark(x->tv.admin, id, "lost"),
                     MAMORI_EINVAL);
    assert_int_equal(mamori_export_mark(x->tv.admin, id, "destroyed"), 0);
    assert_int_equal(mamori_export_mark(x->tv.admin, id, "returned"),
                     MAMORI_ESTATE);
    /* unknown ids */
    assert_int_equal(mamori_export_approve(x->tv.admin, 9999),
                     MAMORI_ENOTFOUND);
    int runs = audit_has(x, "export.run", NULL);
    assert_int_equal(mamori_export_run(x->tv.op, 9999, out, &res),
                     MAMORI_ENOTFOUND);
    /* the probe for an unknown request is in the log too */
    assert_int_equal(audit_has(x, "export.run", NULL), runs + 1);
    assert_int_equal(mamori_export_run(x->tv.op, -1, out, &res),
                     MAMORI_ENOTFOUND);
    /* the refusals are audited */
    assert_true(audit_has(x, "export.approve", "role or grant") >= 3);
    assert_true(audit_has(x, "export.run", "not the requester") >= 1);
}

static void bad_requests(void **state)
{
    struct ctx *x = *state;
    struct mamori_export_req req;
    char long_reason[300];
    int64_t id = 0;
    int rc;

    memset(&req, 0, sizeof req);
    req.dataset = "people";
    req.format = "zip";
    req.reason = NULL;
    assert_int_equal(mamori_export_request(x->tv.op, &req, &id), MAMORI_EINVAL);
    req.reason = "";
    assert_int_equal(mamori_export_request(x->tv.op, &req, &id), MAMORI_EINVAL);
    memset(long_reason, 'a', sizeof long_reason - 1);
    long_reason[sizeof long_reason - 1] = '\0';
    req.reason = long_reason;
    assert_int_equal(mamori_export_request(x->tv.op, &req, &id),
                     MAMORI_ETOOBIG);
    req.reason = "for 090-1234-5678";
    assert_int_equal(mamori_export_request(x->tv.op, &req, &id), MAMORI_EINVAL);
    assert_null(strstr(mamori_errdetail(x->tv.op), "1234"));
    req.reason = "ok reason";
    req.format = "tar";
    assert_int_equal(mamori_export_request(x->tv.op, &req, &id), MAMORI_EINVAL);
    req.format = "zip";
    req.encoding = "latin1";
    assert_int_equal(mamori_export_request(x->tv.op, &req, &id), MAMORI_EINVAL);
    req.encoding = NULL;
    req.recipient_cert = "x";
    req.recipient_cert_len = 1;
    assert_int_equal(mamori_export_request(x->tv.op, &req, &id),
                     MAMORI_EINVAL); /* zip takes no certificate */
    req.recipient_cert = NULL;
    req.recipient_cert_len = 0;
    req.search_field = "birth"; /* not searchable */
    req.search_value = "1980-01-01";
    assert_int_equal(mamori_export_request(x->tv.op, &req, &id), MAMORI_EINVAL);
    req.search_field = "nosuch";
    assert_int_equal(mamori_export_request(x->tv.op, &req, &id), MAMORI_EINVAL);
    req.search_field = "name";
    req.search_value = "   ";
    assert_int_equal(mamori_export_request(x->tv.op, &req, &id), MAMORI_EINVAL);
    req.search_value = NULL;
    assert_int_equal(mamori_export_request(x->tv.op, &req, &id), MAMORI_EINVAL);
    req.search_field = NULL;
    req.dataset = "nosuch";
    assert_int_equal(mamori_export_request(x->tv.op, &req, &id),
                     MAMORI_ENOTFOUND);
    /* cms: garbage and missing certificates */
    req.dataset = "people";
    req.format = "cms";
    assert_int_equal(mamori_export_request(x->tv.op, &req, &id), MAMORI_EINVAL);
    req.recipient_cert = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END "
                         "CERTIFICATE-----\n";
    req.recipient_cert_len = strlen(req.recipient_cert);
    assert_int_equal(mamori_export_request(x->tv.op, &req, &id), MAMORI_EINVAL);
    assert_non_null(strstr(mamori_errdetail(x->tv.op), "certificate"));
    assert_int_equal(id, 0);
    /* oversized */
    char *big = malloc(70 * 1024);
    assert_non_null(big);
    memset(big, 'A', 70 * 1024);
    req.recipient_cert = big;
    req.recipient_cert_len = 70 * 1024;
    assert_int_equal(mamori_export_request(x->tv.op, &req, &id),
                     MAMORI_ETOOBIG);
    free(big);
    /* a key that may only sign; an EC key for key agreement is fine */
    char crt[400], *pem;
    snprintf(crt, sizeof crt, "%s/sign.crt", x->dir);
    assert_int_equal(sh("openssl req -x509 -newkey rsa:2048 -nodes -keyout "
                        "'%s.key' -out '%s' -days 30 -subj '/CN=Signer' "
                        "-addext keyUsage=digitalSignature 2>/dev/null",
                        crt, crt),
                     0);
    pem = slurp(crt, NULL);
    assert_non_null(pem);
    req.recipient_cert = pem;
    req.recipient_cert_len = strlen(pem);
    assert_int_equal(mamori_export_request(x->tv.op, &req, &id), MAMORI_EINVAL);
    assert_non_null(strstr(mamori_errdetail(x->tv.op), "key usage"));
    free(pem);
    snprintf(crt, sizeof crt, "%s/ec.crt", x->dir);
    assert_int_equal(sh("openssl req -x509 -newkey ec -pkeyopt "
                        "ec_paramgen_curve:P-256 -nodes -keyout '%s.key' "
                        "-out '%s' -days 30 -subj '/CN=EC' 2>/dev/null",
                        crt, crt),
                     0);
    pem = slurp(crt, NULL);
    assert_non_null(pem);
    req.recipient_cert = pem;
    req.recipient_cert_len = strlen(pem);
    assert_int_equal(mamori_export_request(x->tv.op, &req, &id), 0);
    assert_true(id > 0);
    free(pem);
    (void)rc;
}

static void zip_holds_the_records(void **state)
{
    struct ctx *x = *state;
    struct mamori_export_result res;
    struct mamori_record *r = NULL;
    char out[400], *csv;
    size_t len = 0;

    int64_t id = approved(x, x->tv.op, "zip", NULL, NULL, NULL, NULL);
    snprintf(out, sizeof out, "%s/people.zip", x->dir);
    assert_int_equal(mamori_export_run(x->tv.op, id, out, &res), 0);
    assert_int_equal(res.count, 3);
    /* letters and digits, no look-alikes */
    assert_int_equal(strspn(res.password, "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghij"
                                          "kmnpqrstuvwxyz23456789"),
                     strlen(res.password));
    /* the file is the one the ledger names */
    assert_int_equal(sh("cd '%s' && sha256sum people.zip | grep -q '^%s '",
                        x->dir, res.sha256),
                     0);
    assert_int_equal(
        sh("7z l -slt -p'%s' '%s' | grep -q 'AES-256'", res.password, out), 0);
    /* a wrong password fails */
    assert_int_not_equal(sh("cd '%s' && 7z x -y -pWrongPassword123456 "
                            "people.zip >/dev/null 2>&1",
                            x->dir),
                         0);
    sh("rm -f '%s/people.csv'", x->dir);
    assert_int_equal(sh("cd '%s' && 7z x -y -p'%s' people.zip >/dev/null",
                        x->dir, res.password),
                     0);
    snprintf(out, sizeof out, "%s/people.csv", x->dir);
    csv = slurp(out, &len);
    assert_non_null(csv);
    static const char head[] = "\xEF\xBB\xBF"
                               "id,name,kana,birth,phone,mynumber,note\r\n";
    assert_memory_equal(csv, head, sizeof head - 1);
    /* the rows are the records as record get gives them, quoted */
    assert_int_equal(mamori_record_get(x->tv.op, "people", x->ids[0], &r), 0);
    char row[512];
    snprintf(row, sizeof row, "%s,%s,%s,,%s,%s,\"a,\"\"b\"\"\nc\"\r\n",
             x->ids[0], r->fields[0].value, r->fields[1].value,
             r->fields[2].value, r->fields[3].value);
    mamori_record_free(r);
    assert_non_null(strstr(csv, row));
    /* a value Excel would read as a formula is kept as text */
    snprintf(row, sizeof row, "%s,佐藤　花子,,,0312345678,,'=1+2\r\n",
             x->ids[1]);
    assert_non_null(strstr(csv, row));
    free(csv);
    /* the run's entry lists the exported ids, never a value */
    assert_int_equal(audit_has(x, "export.run", res.sha256), 1);
    struct mamori_audit_entry *e = NULL;
    size_t n = 0;
    assert_int_equal(mamori_audit_show(x->tv.aud, 0, &e, &n), 0);
    int seen = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(e[i].action, "export.run") != 0)
            continue;
        seen = 1;
        assert_int_equal(e[i].count, 3);
        for (int k = 0; k < 3; k++)
            assert_non_null(strstr(e[i].record_ids, x->ids[k]));
        assert_null(strstr(e[i].detail, res.password));
    }
    assert_true(seen);
    mamori_audit_entries_free(e, n);
    /* the password is nowhere in the vault's files */
    assert_int_not_equal(
        sh("grep -r -q -a '%s' '%s'", res.password, x->tv.home), 0);
    assert_int_not_equal(sh("grep -r -q -a '0312345678' '%s'", x->tv.home), 0);
    mamori_export_result_wipe(&res);
}

static void non_handler_masked_and_search(void **state)
{
    struct ctx *x = *state;
    struct mamori_export_result res;
    char out[400], *csv;
    int rc;

    /* op2 is not a handler: My Numbers masked, no search by My Number */
    request(x->op2, "zip", NULL, "mynumber", "123456789018", NULL, &rc);
    assert_int_equal(rc, MAMORI_EINVAL); /* not searchable at all here */
    int64_t id = approved(x, x->op2, "zip", NULL, "name", "山田太郎", NULL);
    snprintf(out, sizeof out, "%s/m.zip", x->dir);
    assert_int_equal(mamori_export_run(x->op2, id, out, &res), 0);
    assert_int_equal(res.count, 1);
    assert_int_equal(
        sh("cd '%s' && 7z x -y -p'%s' m.zip >/dev/null", x->dir, res.password),
        0);
    snprintf(out, sizeof out, "%s/people.csv", x->dir);
    csv = slurp(out, NULL);
    assert_non_null(csv);
    assert_null(strstr(csv, "123456789018"));
    assert_non_null(strstr(csv, "********9018"));
    assert_non_null(strstr(csv, x->ids[0]));
    assert_null(strstr(csv, x->ids[1]));
    free(csv);
    mamori_export_result_wipe(&res);
    /* the search value is not kept in plain text */
    assert_int_not_equal(sh("grep -r -q -a '山田' '%s'", x->tv.home), 0);
}

static void cms_and_cp932(void **state)
{
    struct ctx *x = *state;
    struct mamori_export_result res;
    char out[400], crt[400], key[400], *pem, *csv;
    int rc;

    snprintf(crt, sizeof crt, "%s/r.crt", x->dir);
    snprintf(key, sizeof key, "%s/r.key", x->dir);
    assert_int_equal(sh("openssl req -x509 -newkey rsa:2048 -nodes -keyout "
                        "'%s' -out '%s' -days 30 -subj '/CN=Recipient' "
                        "2>/dev/null",
                        key, crt),
                     0);
    pem = slurp(crt, NULL);
    assert_non_null(pem);
    int64_t id = approved(x, x->tv.op, "cms", "cp932", NULL, NULL, pem);
    int64_t later = approved(x, x->tv.op, "cms", NULL, NULL, NULL, pem);
    snprintf(out, sizeof out, "%s/p.p7m", x->dir);
    assert_int_equal(mamori_export_run(x->tv.op, id, out, &res), 0);
    assert_int_equal(res.count, 3);
    assert_string_equal(res.password, "");
    assert_int_equal(sh("cd '%s' && openssl cms -decrypt -inform DER -in "
                        "p.p7m -inkey r.key -binary -out p.csv && iconv -f "
                        "CP932 -t UTF-8 p.csv > p.utf8",
                        x->dir),
                     0);
    snprintf(out, sizeof out, "%s/p.utf8", x->dir);
    csv = slurp(out, NULL);
    assert_non_null(csv);
    assert_int_equal(strncmp(csv, "id,name,", 8), 0); /* no BOM in CP932 */
    assert_non_null(strstr(csv, "髙橋　一郎"));
    assert_non_null(strstr(csv, "①②"));
    free(csv);
    /* the ledger has the recipient */
    struct mamori_export_info *l = NULL;
    size_t n = 0;
    assert_int_equal(mamori_export_list(x->tv.aud, &l, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(l[1].state, "approved");
    assert_string_equal(l[0].state, "done");
    assert_string_equal(l[0].format, "cms");
    assert_string_equal(l[0].encoding, "cp932");
    assert_non_null(strstr(l[0].recipient, "CN=Recipient"));
    assert_int_equal(strlen(l[0].recipient_sha256), 64);
    assert_string_equal(l[0].approver, "admin");
    assert_string_equal(l[0].requester, "op1");
    assert_string_equal(l[0].sha256, res.sha256);
    assert_int_equal(l[0].count, 3);
    assert_true(l[0].requested > 0 && l[0].decided > 0 && l[0].ran > 0);
    free(l);
    /* operators see their own requests only */
    assert_int_equal(mamori_export_list(x->op2, &l, &n), 0);
    assert_int_equal(n, 0);
    free(l);
    mamori_export_result_wipe(&res);

    /* the vault's clock decides validity: 31 days on, the certificate has
     * expired - for a new request and for the approved one's run (its
     * approval made to last that long) */
    assert_int_equal(
        mamori_config_set(x->tv.admin, "export.approval_hours", "8760"), 0);
    tv_clock_set(tv_clock() + 31 * 86400);
    mamori_session_close(x->tv.op);
    x->tv.op = tv_login(&x->tv, "op1", TV_OP_PW);
    assert_non_null(x->tv.op);
    request(x->tv.op, "cms", NULL, NULL, NULL, pem, &rc);
    assert_int_equal(rc, MAMORI_EINVAL);
    assert_non_null(strstr(mamori_errdetail(x->tv.op), "expired"));
    snprintf(out, sizeof out, "%s/late.p7m", x->dir);
    assert_int_equal(mamori_export_run(x->tv.op, later, out, &res),
                     MAMORI_EINVAL);
    assert_int_equal(access(out, F_OK), -1);
    free(pem);
}

static void cp932_refuses_and_leaves_nothing(void **state)
{
    struct ctx *x = *state;
    struct mamori_export_result res;
    const struct mamori_kv kv[] = {{"name", "𠮷田 太郎"}};
    char id4[MAMORI_ID_LEN + 1], out[400];

    assert_int_equal(
        mamori_record_add(x->tv.op, "people", kv, 1, id4, sizeof id4), 0);
    int64_t id = approved(x, x->tv.op, "zip", "cp932", NULL, NULL, NULL);
    snprintf(out, sizeof out, "%s/c.zip", x->dir);
    assert_int_equal(mamori_export_run(x->tv.op, id, out, &res), MAMORI_EINVAL);
    assert_non_null(strstr(mamori_errdetail(x->tv.op), id4));
    assert_non_null(strstr(mamori_errdetail(x->tv.op), "\"name\""));
    assert_null(strstr(mamori_errdetail(x->tv.op), "𠮷"));
    /* nothing left behind, not even the temporary file */
    assert_int_equal(sh("test -z \"$(ls -A '%s')\"", x->dir), 0);
    /* a read-only directory: refused, nothing written, still approved */
    int64_t id2 = approved(x, x->tv.op, "zip", NULL, NULL, NULL, NULL);
    chmod(x->dir, 0500);
    if (geteuid() != 0) {
        assert_int_not_equal(mamori_export_run(x->tv.op, id2, out, &res), 0);
        chmod(x->dir, 0700);
        assert_int_equal(sh("test -z \"$(ls -A '%s')\"", x->dir), 0);
    }
    chmod(x->dir, 0700);
    /* a directory that does not exist */
    snprintf(out, sizeof out, "%s/nodir/c.zip", x->dir);
    assert_int_equal(mamori_export_run(x->tv.op, id2, out, &res),
                     MAMORI_ENOTFOUND);
    snprintf(out, sizeof out, "%s/", x->dir);
    assert_int_equal(mamori_export_run(x->tv.op, id2, out, &res),
                     MAMORI_EINVAL);
    snprintf(out, sizeof out, "%s/ok.zip", x->dir);
    assert_int_equal(mamori_export_run(x->tv.op, id2, out, &res), 0);
    assert_int_equal(res.count, 4);
    mamori_export_result_wipe(&res);
}

/* The ledger and the file agree. An output that cannot be put in place
 * leaves the request approved; a run whose audit entry cannot be written
 * leaves no new file, and a file at the path as it was. */
static void place_and_audit_fail_closed(void **state)
{
    struct ctx *x = *state;
    struct mamori_export_result res;
    char out[400], keep[420], fresh[400];
    char *body;

    int64_t id = approved(x, x->tv.op, "zip", NULL, NULL, NULL, NULL);
    /* the path is a directory that is not empty */
    snprintf(out, sizeof out, "%s/d.zip", x->dir);
    assert_int_equal(mkdir(out, 0700), 0);
    snprintf(keep, sizeof keep, "%s/keep", out);
    assert_int_equal(sh("echo kept > '%s'", keep), 0);
    assert_int_not_equal(mamori_export_run(x->tv.op, id, out, &res), 0);
    assert_int_equal(access(keep, F_OK), 0);
    /* the audit entry cannot be written */
    snprintf(out, sizeof out, "%s/e.zip", x->dir);
    snprintf(fresh, sizeof fresh, "%s/f.zip", x->dir);
    assert_int_equal(sh("echo previous > '%s'", out), 0);
    mamori_test_fail_audit(x->tv.m, 1);
    assert_int_equal(mamori_export_run(x->tv.op, id, out, &res), MAMORI_EAUDIT);
    assert_int_equal(mamori_export_run(x->tv.op, id, fresh, &res),
                     MAMORI_EAUDIT);
    mamori_test_fail_audit(x->tv.m, 0);
    body = slurp(out, NULL);
    assert_non_null(body);
    assert_string_equal(body, "previous\n");
    free(body);
    assert_int_equal(access(fresh, F_OK), -1);
    /* nothing else left: d.zip and e.zip */
    assert_int_equal(sh("test \"$(ls -A '%s' | wc -l)\" -eq 2", x->dir), 0);
    /* still approved: it runs now, over the old file */
    assert_int_equal(mamori_export_run(x->tv.op, id, out, &res), 0);
    assert_int_equal(res.count, 3);
    mamori_export_result_wipe(&res);
    body = slurp(out, NULL);
    assert_non_null(body);
    assert_int_equal(memcmp(body, "PK", 2), 0);
    free(body);
    assert_int_equal(sh("test \"$(ls -A '%s' | wc -l)\" -eq 2", x->dir), 0);
    assert_int_equal(mamori_export_run(x->tv.op, id, fresh, &res),
                     MAMORI_ESTATE);
}

static void bulk_alert(void **state)
{
    struct ctx *x = *state;
    struct mamori_export_result res;
    char out[400];

    assert_int_equal(
        mamori_config_set(x->tv.admin, "export.alert_threshold", "3"), 0);
    /* 3 records: not above the threshold */
    int64_t id = approved(x, x->tv.op, "zip", NULL, NULL, NULL, NULL);
    snprintf(out, sizeof out, "%s/a.zip", x->dir);
    assert_int_equal(mamori_export_run(x->tv.op, id, out, &res), 0);
    assert_int_equal(res.count, 3);
    assert_int_equal(audit_has(x, "export.alert", NULL), 0);
    const struct mamori_kv kv[] = {{"name", "鈴木 次郎"}};
    char rid[MAMORI_ID_LEN + 1];
    assert_int_equal(
        mamori_record_add(x->tv.op, "people", kv, 1, rid, sizeof rid), 0);
    id = approved(x, x->tv.op, "zip", NULL, NULL, NULL, NULL);
    snprintf(out, sizeof out, "%s/b.zip", x->dir);
    assert_int_equal(mamori_export_run(x->tv.op, id, out, &res), 0);
    assert_int_equal(res.count, 4);
    assert_int_equal(audit_has(x, "export.alert",
                               "bulk export: 4 records > "
                               "threshold 3"),
                     1);
    mamori_export_result_wipe(&res);
}

/* An approval lasts export.approval_hours from the decision: a run after
 * that is refused and marks the request lapsed with its audit entry (or,
 * if the entry cannot be written, leaves it as it was); the ledger shows
 * and marks a lapsed approval as it is read; a lapsed request neither runs
 * nor is decided again, whatever the setting becomes. */
static void approval_lapses(void **state)
{
    struct ctx *x = *state;
    struct mamori_export_result res;
    struct mamori_export_info info;
    struct mamori_config_item *items = NULL;
    char out[400], want[64];
    size_t n = 0;
    int seen = 0;

    /* the setting: 72 hours by default, 1 to 8760 */
    assert_int_equal(mamori_config_list(x->tv.aud, &items, &n), 0);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(items[i].key, "export.approval_hours") == 0) {
            assert_string_equal(items[i].value, "72");
            assert_string_equal(items[i].def, "72");
            assert_string_equal(items[i].range, "1-8760");
            seen++;
        }
    }
    free(items);
    assert_int_equal(seen, 1);
    assert_int_equal(
        mamori_config_set(x->tv.admin, "export.approval_hours", "0"),
        MAMORI_EINVAL);
    assert_non_null(strstr(mamori_errdetail(x->tv.admin), "1-8760"));
    assert_int_equal(
        mamori_config_set(x->tv.admin, "export.approval_hours", "8761"),
        MAMORI_EINVAL);
    assert_int_equal(mamori_config_set(x->tv.op, "export.approval_hours", "1"),
                     MAMORI_EDENIED);
    /* sessions outlive the hour the clock moves on */
    assert_int_equal(
        mamori_config_set(x->tv.admin, "session.idle_minutes", "240"), 0);
    assert_int_equal(
        mamori_config_set(x->tv.admin, "export.approval_hours", "1"), 0);

    int64_t t0 = tv_clock();
    int64_t on_time = approved(x, x->tv.op, "zip", NULL, NULL, NULL, NULL);
    int64_t late = approved(x, x->tv.op, "zip", NULL, NULL, NULL, NULL);
    int64_t listed = approved(x, x->tv.op, "zip", NULL, NULL, NULL, NULL);
    int rc;
    int64_t pending = request(x->tv.op, "zip", NULL, NULL, NULL, NULL, &rc);
    assert_int_equal(rc, 0);
    /* the ledger tells when the approval ends; nothing else has an end */
    assert_int_equal(ledger_of(x->tv.op, late, &info), 0);
    assert_string_equal(info.state, "approved");
    assert_int_equal(info.decided, t0);
    assert_int_equal(info.expires, t0 + 3600);
    assert_int_equal(ledger_of(x->tv.op, pending, &info), 0);
    assert_int_equal(info.expires, 0);

    /* a second before the end it runs */
    tv_clock_set(t0 + 3599);
    snprintf(out, sizeof out, "%s/on-time.zip", x->dir);
    assert_int_equal(mamori_export_run(x->tv.op, on_time, out, &res), 0);
    mamori_export_result_wipe(&res);
    assert_int_equal(ledger_of(x->tv.op, on_time, &info), 0);
    assert_int_equal(info.expires, 0); /* done: no longer an approval */

    /* at the end it does not: refused, named, audited, marked lapsed */
    tv_clock_set(t0 + 3600);
    snprintf(out, sizeof out, "%s/late.zip", x->dir);
    assert_int_equal(mamori_export_run(x->tv.op, late, out, &res),
                     MAMORI_ESTATE);
    snprintf(want, sizeof want, "export %lld: the approval lapsed after 1 h",
             (long long)late);
    assert_non_null(strstr(mamori_errdetail(x->tv.op), want));
    assert_int_equal(access(out, F_OK), -1);
    snprintf(want, sizeof want, "export %lld: approval lapsed",
             (long long)late);
    assert_int_equal(audit_outcome(x, "export.run", "error", want), 1);
    /* only the run's entry marked it: the auditor reads it lapsed */
    assert_int_equal(audit_has(x, "export.list", "approval lapsed"), 0);
    assert_int_equal(ledger_of(x->tv.aud, late, &info), 0);
    assert_string_equal(info.state, "lapsed");
    assert_int_equal(info.expires, 0);
    /* the auditor's read of the ledger marked the other one, in its
     * entry; the pending request is not touched (its time starts at its
     * approval) */
    snprintf(want, sizeof want, "approval lapsed: export %lld",
             (long long)listed);
    assert_int_equal(audit_outcome(x, "export.list", "ok", want), 1);
    assert_int_equal(ledger_of(x->tv.op, listed, &info), 0);
    assert_string_equal(info.state, "lapsed");
    assert_int_equal(ledger_of(x->tv.op, pending, &info), 0);
    assert_string_equal(info.state, "pending");

    /* lapsed for good: no run, no decision, even with a longer setting */
    assert_int_equal(
        mamori_config_set(x->tv.admin, "export.approval_hours", "8760"), 0);
    assert_int_equal(mamori_export_run(x->tv.op, late, out, &res),
                     MAMORI_ESTATE);
    assert_non_null(strstr(mamori_errdetail(x->tv.op), "lapsed"));
    assert_int_equal(mamori_export_run(x->tv.op, listed, out, &res),
                     MAMORI_ESTATE);
    assert_int_equal(mamori_export_approve(x->tv.admin, late), MAMORI_ESTATE);
    assert_non_null(strstr(mamori_errdetail(x->tv.admin), "lapsed"));
    assert_int_equal(mamori_export_reject(x->tv.admin, listed), MAMORI_ESTATE);
    assert_int_equal(access(out, F_OK), -1);
    /* an approval given now counts from now */
    assert_int_equal(mamori_export_approve(x->tv.admin, pending), 0);
    snprintf(out, sizeof out, "%s/pending.zip", x->dir);
    assert_int_equal(mamori_export_run(x->tv.op, pending, out, &res), 0);
    mamori_export_result_wipe(&res);

    /* fail closed: when the refusal's entry cannot be written, neither the
     * run's nor the list's, nothing is marked */
    assert_int_equal(
        mamori_config_set(x->tv.admin, "export.approval_hours", "1"), 0);
    int64_t t1 = tv_clock();
    int64_t closed = approved(x, x->tv.op, "zip", NULL, NULL, NULL, NULL);
    tv_clock_set(t1 + 2 * 3600);
    snprintf(out, sizeof out, "%s/closed.zip", x->dir);
    mamori_test_fail_audit(x->tv.m, 1);
    assert_int_equal(mamori_export_run(x->tv.op, closed, out, &res),
                     MAMORI_EAUDIT);
    {
        struct mamori_export_info *e = NULL;
        assert_int_equal(mamori_export_list(x->tv.op, &e, &n), MAMORI_EAUDIT);
        assert_null(e);
    }
    mamori_test_fail_audit(x->tv.m, 0);
    snprintf(want, sizeof want, "export %lld: approval lapsed",
             (long long)closed);
    assert_int_equal(audit_outcome(x, "export.run", "error", want), 0);
    /* still approved in the store: the next run finds the time up, not a
     * request already lapsed */
    assert_int_equal(mamori_export_run(x->tv.op, closed, out, &res),
                     MAMORI_ESTATE);
    assert_non_null(strstr(mamori_errdetail(x->tv.op), "lapsed after 1 h"));
    assert_int_equal(audit_outcome(x, "export.run", "error", want), 1);
    assert_int_equal(access(out, F_OK), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(roles_and_states, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(zip_holds_the_records, setup, teardown),
        cmocka_unit_test_setup_teardown(non_handler_masked_and_search, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(cms_and_cp932, setup, teardown),
        cmocka_unit_test_setup_teardown(cp932_refuses_and_leaves_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(place_and_audit_fail_closed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(bulk_alert, setup, teardown),
        cmocka_unit_test_setup_teardown(approval_lapses, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
