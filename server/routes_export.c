/*
 * routes_export.c - running an approved export and downloading its file
 * (持ち出し). The run writes the encrypted file (AES-256 ZIP or CMS: only
 * ciphertext) into a spool directory under the vault home (0700; the
 * library writes the file 0600 and renames it into place); the requester
 * downloads it once, and the download removes it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "mamorid.h"
#include "routes.h"
#include "banned.h"

#define SPOOL_DIR "export-spool"

/* Path parameter 0 as an export request id: a decimal integer >= 1. */
static int xid_param(struct ctx *c, int64_t *id)
{
    const char *s = c->nparams ? c->params[0] : "";
    char *end;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (s[0] < '1' || s[0] > '9' || errno || *end || v < 1 || strlen(s) > 18) {
        srv_fail_code(c, 400, "invalid", MAMORI_EINVAL,
                      "path: the export id is not a positive integer");
        return -1;
    }
    *id = (int64_t)v;
    return 0;
}

/* The spool directory, made 0700 if absent; it must be ours and a plain
 * directory. */
static int spool_dir(struct ctx *c, char *out, size_t size)
{
    struct stat st;
    int n;

    if (!c->S->home)
        return MAMORI_ESTATE;
    n = snprintf(out, size, "%s/%s", c->S->home, SPOOL_DIR);
    if (n < 0 || (size_t)n >= size)
        return MAMORI_ETOOBIG;
    if (mkdir(out, 0700) != 0 && errno != EEXIST)
        return MAMORI_EIO;
    if (lstat(out, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid())
        return MAMORI_EIO;
    if ((st.st_mode & 077) && chmod(out, 0700) != 0)
        return MAMORI_EIO;
    return 0;
}

/* The spool file of export id. */
static int spool_path(struct ctx *c, int64_t id, char *out, size_t size)
{
    char dir[4096];
    int rc = spool_dir(c, dir, sizeof dir), n;

    if (rc)
        return rc;
    n = snprintf(out, size, "%s/%lld.export", dir, (long long)id);
    return n < 0 || (size_t)n >= size ? MAMORI_ETOOBIG : 0;
}

void rt_export_spool_drop(struct ctx *c, int64_t id)
{
    char path[4200];

    /* A file never downloaded, marked returned or destroyed: the ledger
     * says it is gone, so it goes. */
    if (spool_path(c, id, path, sizeof path) == 0 && unlink(path) != 0 &&
        errno != ENOENT)
        syslog(LOG_ERR, "export %lld: the spool file could not be removed",
               (long long)id);
}

void h_export_run(struct ctx *c)
{
    struct mamori_export_result res;
    char path[4200], dl[64];
    json_t *o;
    int64_t id;
    int rc;

    memset(&res, 0, sizeof res);
    if (xid_param(c, &id))
        return;
    rc = spool_path(c, id, path, sizeof path);
    if (rc) {
        srv_fail(c, rc, "the export spool directory is not usable");
        return;
    }
    rc = mamori_export_run(c->s, id, path, &res);
    if (rc) {
        srv_fail(c, rc, NULL);
        goto out;
    }
    res.sha256[sizeof res.sha256 - 1] = '\0';
    res.password[sizeof res.password - 1] = '\0';
    snprintf(dl, sizeof dl, "/api/v1/exports/%lld/file", (long long)id);
    o = json_pack("{s:I, s:I, s:s, s:s}", "id", (json_int_t)id, "count",
                  (json_int_t)res.count, "sha256", res.sha256, "download", dl);
    if (o && res.password[0] &&
        json_object_set_new(o, "password", json_string(res.password))) {
        json_decref(o);
        o = NULL;
    }
    /* The password is in the response only: wiped once sent. */
    rt_json_wiped(c, 200, o);
out:
    mamori_export_result_wipe(&res);
}

/* The ledger entry of id as the session may see it: 0, or
 * MAMORI_ENOTFOUND. */
static int ledger_find(struct ctx *c, int64_t id,
                       struct mamori_export_info *out)
{
    struct mamori_export_info *e = NULL;
    size_t n = 0, i;
    int rc = mamori_export_list(c->s, &e, &n);

    if (rc)
        return rc;
    rc = MAMORI_ENOTFOUND;
    for (i = 0; i < n; i++) {
        if (e[i].id == id) {
            *out = e[i];
            out->requester[sizeof out->requester - 1] = '\0';
            out->dataset[sizeof out->dataset - 1] = '\0';
            out->format[sizeof out->format - 1] = '\0';
            out->state[sizeof out->state - 1] = '\0';
            rc = 0;
            break;
        }
    }
    free(e);
    return rc;
}

/* Why there is no file to take: the ledger says (404, 403, 409), else it
 * was downloaded already (410). */
static void no_file(struct ctx *c, int64_t id)
{
    struct mamori_export_info x;
    int rc = ledger_find(c, id, &x);

    if (rc)
        srv_fail(c, rc,
                 rc == MAMORI_ENOTFOUND ? "no such export request" : NULL);
    else if (strcmp(x.requester, mamori_session_user(c->s)) != 0)
        srv_fail(c, MAMORI_EDENIED,
                 "only the requester downloads an export's file");
    else if (strcmp(x.state, "approved") == 0 ||
             strcmp(x.state, "pending") == 0 ||
             strcmp(x.state, "rejected") == 0 || strcmp(x.state, "lapsed") == 0)
        srv_fail(c, MAMORI_ESTATE, "the export has not been run");
    else
        srv_fail_code(c, 410, "gone", MAMORI_ENOTFOUND,
                      "the export file was downloaded already");
    OPENSSL_cleanse(&x, sizeof x);
}

void h_export_file(struct ctx *c)
{
    struct mamori_export_info x;
    char path[4200], taken[4300];
    struct stat st;
    int64_t id;
    int rc, fd = -1, zip, n;

    if (xid_param(c, &id))
        return;
    rc = spool_path(c, id, path, sizeof path);
    if (rc) {
        srv_fail(c, rc, "the export spool directory is not usable");
        return;
    }
    if (lstat(path, &st) != 0) {
        no_file(c, id);
        return;
    }
    /* The requester's, run, not marked: audited before anything leaves. */
    rc = mamori_export_handover(c->s, id, &x);
    if (rc) {
        srv_fail(c, rc, NULL);
        return;
    }
    /* Once: the first request to rename the file takes it. */
    snprintf(taken, sizeof taken, "%s.sending-%s", path,
             c->rq->request_id ? c->rq->request_id : "x");
    if (rename(path, taken) != 0) {
        /* (a download of the same file by the same user, a moment
         * earlier: its handover is in the log twice) */
        if (errno == ENOENT)
            srv_fail_code(c, 410, "gone", MAMORI_ENOTFOUND,
                          "the export file was downloaded already");
        else
            srv_fail(c, MAMORI_EIO, "the export file cannot be read");
        return;
    }
    fd = open(taken, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (unlink(taken) != 0 && fd >= 0) {
        close(fd);
        fd = -1;
    }
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        srv_fail(c, MAMORI_EIO, "the export file cannot be read");
        return;
    }
    zip = strcmp(x.format, "zip") == 0;
    srv_resp_release(c->rs);
    c->rs->status = 200;
    c->rs->content_type = zip ? "application/zip" : "application/pkcs7-mime";
    c->rs->file_fd = fd;
    c->rs->file_len = (uint64_t)st.st_size;
    n = snprintf(c->rs->disposition, sizeof c->rs->disposition,
                 "attachment; filename=\"%s-%lld.%s\"", x.dataset,
                 (long long)id, zip ? "zip" : "p7m");
    if (n < 0 || (size_t)n >= sizeof c->rs->disposition)
        snprintf(c->rs->disposition, sizeof c->rs->disposition,
                 "attachment; filename=\"export-%lld.%s\"", (long long)id,
                 zip ? "zip" : "p7m");
    OPENSSL_cleanse(&x, sizeof x);
}
