/*
 * cmd_export.c - `mamori export request|approve|reject|run|list|mark`:
 * taking data out of the vault (持ち出し) with an admin's approval, into an
 * AES-256 ZIP (password shown once) or CMS enveloped data (DER) to a
 * recipient's certificate, and the take-out ledger.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "i18n.h"
#include "banned.h"

/* Largest recipient certificate file read. */
#define CERT_FILE_MAX (64 * 1024)

int check_export_request(struct cli *c)
{
    const char *enc = c->a.encoding, *fmt = c->a.format;

    if (!c->a.reason || !*c->a.reason)
        return cli_usage(c, _("export request needs --reason TEXT (why the "
                              "data must leave the vault; no personal "
                              "data)"));
    if (!fmt)
        return cli_usage(c, _("export request needs --format zip|cms"));
    if (strcmp(fmt, "zip") != 0 && strcmp(fmt, "cms") != 0)
        return cli_usage(c, _("--format: zip or cms"));
    if (strcmp(fmt, "cms") == 0 && !c->a.recipient_cert)
        return cli_usage(c, _("--format cms needs --recipient-cert FILE"));
    if (strcmp(fmt, "zip") == 0 && c->a.recipient_cert)
        return cli_usage(c, _("--recipient-cert is for --format cms only (a "
                              "zip has a password)"));
    if (enc && strcmp(enc, "utf-8") != 0 && strcmp(enc, "cp932") != 0)
        return cli_usage(c, _("--encoding: utf-8 or cp932"));
    if (c->a.search) {
        const char *eq = strchr(c->a.search, '=');
        if (!eq || eq == c->a.search || eq[1] == '\0')
            return cli_usage(c, _("--search: expected FIELD=VALUE"));
    }
    return 0;
}

int check_export_run(struct cli *c)
{
    if (!c->a.out || !*c->a.out)
        return cli_usage(c, _("export run needs --out FILE"));
    if (strcmp(c->a.out, "-") == 0)
        return cli_usage(c, _("--out: a file is needed (it appears only "
                              "when complete), not standard output"));
    return 0;
}

/* The request id in c->args[0]: 0 and *id, or a usage error. */
static int parse_id(struct cli *c, int64_t *id)
{
    const char *s = c->args[0];
    char *end = NULL;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (s[0] < '0' || s[0] > '9' || errno || !end || *end || v <= 0)
        return cli_usage(c,
                         _("argument %d: expected a request id (a number "
                           "from `mamori export list`)"),
                         c->argi[0]);
    *id = (int64_t)v;
    return 0;
}

int cmd_export_request(struct cli *c)
{
    struct mamori_export_req req;
    char *cert = NULL, *field = NULL, value[CLI_ARG_MAX];
    size_t cert_len = 0, vlen = 0;
    int64_t id = 0;
    int rc;

    memset(&req, 0, sizeof req);
    if (c->a.recipient_cert) {
        rc = cli_read_small_file(c->a.recipient_cert, CERT_FILE_MAX, &cert,
                                 &cert_len);
        if (rc == MAMORI_ETOOBIG)
            return cli_usage(c, _("--recipient-cert: over 64 KiB"));
        if (rc)
            return cli_fail_detail(c, _("read the recipient certificate"), rc,
                                   NULL);
    }
    if (c->a.search) {
        const char *eq = strchr(c->a.search, '=');
        field = strndup(c->a.search, (size_t)(eq - c->a.search));
        if (!field) {
            free(cert);
            return cli_fail(c, _("export request"), MAMORI_ENOMEM);
        }
        req.search_field = field;
        req.search_value = eq + 1;
        if (strcmp(eq + 1, "-") == 0) {
            /* The value from stdin: not in ps, /proc or the history. */
            if (cli_read_line(STDIN_FILENO, value, sizeof value, &vlen) != 0 ||
                vlen == 0) {
                free(cert);
                free(field);
                explicit_bzero(value, sizeof value);
                return cli_usage(c, _("--search FIELD=-: expected the value "
                                      "on a line of standard input"));
            }
            req.search_value = value;
        }
    }
    req.dataset = c->args[0];
    req.reason = c->a.reason;
    req.format = c->a.format;
    req.encoding = c->a.encoding;
    req.recipient_cert = cert;
    req.recipient_cert_len = cert_len;
    /* The reason is the request's own, kept in the ledger and its audit
     * entry; it is not repeated as the session's stated purpose. */
    rc = mamori_session_reason(c->s, NULL);
    if (rc == 0)
        rc = mamori_export_request(c->s, &req, &id);
    free(cert);
    free(field);
    explicit_bzero(value, sizeof value);
    if (rc)
        return cli_fail(c, _("export request"), rc);
    if (c->a.json)
        return cli_json_print(
            c, json_pack("{s:I, s:o, s:s}", "id", (json_int_t)id, "dataset",
                         cli_json_str(c->args[0]), "state", "pending"));
    printf("%lld\n", (long long)id);
    cli_note(c, _("An admin must approve it: mamori export approve %lld"),
             (long long)id);
    return CLI_EXIT_OK;
}

static int decide(struct cli *c, int approve)
{
    int64_t id;
    int rc = parse_id(c, &id);

    if (rc)
        return rc;
    rc = approve ? mamori_export_approve(c->s, id)
                 : mamori_export_reject(c->s, id);
    if (rc)
        return cli_fail(c, approve ? _("export approve") : _("export reject"),
                        rc);
    if (c->a.json)
        return cli_json_print(c, json_pack("{s:I, s:s}", "id", (json_int_t)id,
                                           "state",
                                           approve ? "approved" : "rejected"));
    if (approve)
        cli_note(c, _("Export %lld approved: the requester may run it once."),
                 (long long)id);
    else
        cli_note(c, _("Export %lld rejected."), (long long)id);
    return CLI_EXIT_OK;
}

int cmd_export_approve(struct cli *c)
{
    return decide(c, 1);
}

int cmd_export_reject(struct cli *c)
{
    return decide(c, 0);
}

int cmd_export_run(struct cli *c)
{
    struct mamori_export_result res;
    int64_t id;
    int rc = parse_id(c, &id), ret;

    if (rc)
        return rc;
    if ((rc = cli_output_ok(c, "--out", c->a.out, NULL, 0)) != 0)
        return rc;
    rc = mamori_export_run(c->s, id, c->a.out, &res);
    if (rc)
        return cli_fail(c, _("export run"), rc);
    if (c->a.json) {
        json_t *o = json_pack("{s:I, s:o, s:I, s:s}", "id", (json_int_t)id,
                              "file", cli_json_str(c->a.out), "records",
                              (json_int_t)res.count, "sha256", res.sha256);
        if (o && res.password[0] &&
            json_object_set_new(o, "password", json_string(res.password))) {
            json_decref(o);
            o = NULL;
        }
        ret = cli_json_print(c, o);
    } else {
        cli_print_kv(_("file"), c->a.out);
        printf("%s: %lld\n", _("records"), (long long)res.count);
        printf("sha256: %s\n", res.sha256);
        if (res.password[0]) {
            if (c->out_tty)
                printf("%s\n", _("The ZIP password follows. It is shown only "
                                 "this once: send it by another channel "
                                 "than the file."));
            printf("%s\n", res.password);
        }
        ret = CLI_EXIT_OK;
    }
    mamori_export_result_wipe(&res);
    return ret;
}

static json_t *info_json(const struct mamori_export_info *e)
{
    json_t *o = json_object();

#define SET(k, v)                                                              \
    do {                                                                       \
        if (o && json_object_set_new(o, k, v)) {                               \
            json_decref(o);                                                    \
            o = NULL;                                                          \
        }                                                                      \
    } while (0)
#define STR_OR_NULL(s) ((s)[0] ? cli_json_str(s) : json_null())
    SET("id", json_integer((json_int_t)e->id));
    SET("dataset", cli_json_str(e->dataset));
    SET("requester", cli_json_str(e->requester));
    SET("requested", cli_json_time(e->requested));
    SET("reason", cli_json_str(e->reason));
    SET("format", cli_json_str(e->format));
    SET("encoding", cli_json_str(e->encoding));
    SET("search_field", STR_OR_NULL(e->search_field));
    SET("recipient", STR_OR_NULL(e->recipient));
    SET("recipient_sha256", STR_OR_NULL(e->recipient_sha256));
    SET("state", cli_json_str(e->state));
    SET("approver", STR_OR_NULL(e->approver));
    SET("decided", cli_json_time(e->decided));
    SET("expires", cli_json_time(e->expires));
    SET("ran", cli_json_time(e->ran));
    SET("count", json_integer((json_int_t)e->count));
    SET("sha256", STR_OR_NULL(e->sha256));
    SET("marked_by", STR_OR_NULL(e->marked_by));
    SET("marked", cli_json_time(e->marked));
#undef SET
#undef STR_OR_NULL
    return o;
}

static void terminate(struct mamori_export_info *e)
{
    e->dataset[sizeof e->dataset - 1] = '\0';
    e->requester[sizeof e->requester - 1] = '\0';
    e->reason[sizeof e->reason - 1] = '\0';
    e->format[sizeof e->format - 1] = '\0';
    e->encoding[sizeof e->encoding - 1] = '\0';
    e->search_field[sizeof e->search_field - 1] = '\0';
    e->recipient[sizeof e->recipient - 1] = '\0';
    e->recipient_sha256[sizeof e->recipient_sha256 - 1] = '\0';
    e->state[sizeof e->state - 1] = '\0';
    e->approver[sizeof e->approver - 1] = '\0';
    e->marked_by[sizeof e->marked_by - 1] = '\0';
    e->sha256[sizeof e->sha256 - 1] = '\0';
}

int cmd_export_list(struct cli *c)
{
    struct mamori_export_info *e = NULL;
    size_t n = 0, i;
    int rc, ret;

    rc = mamori_export_list(c->s, &e, &n);
    if (rc)
        return cli_fail(c, _("export list"), rc);
    for (i = 0; i < n; i++)
        terminate(&e[i]);
    if (c->a.json) {
        json_t *arr = json_array();

        for (i = 0; arr && i < n; i++) {
            json_t *o = info_json(&e[i]);

            if (!o || json_array_append_new(arr, o)) {
                json_decref(arr);
                arr = NULL;
            }
        }
        ret = cli_json_print(c, arr);
    } else {
        const char *headers[] = {_("ID"),       _("DATASET"),   _("REQUESTER"),
                                 _("STATE"),    _("FORMAT"),    _("RECORDS"),
                                 _("APPROVER"), _("REQUESTED"), _("RAN"),
                                 _("REASON")};
        struct cli_table t;

        cli_table_init(&t, headers, 10);
        for (i = 0; i < n; i++) {
            char id[32], cnt[32], req[32], ran[32], fmt[24];
            const char *row[10];

            snprintf(id, sizeof id, "%lld", (long long)e[i].id);
            snprintf(cnt, sizeof cnt, "%lld", (long long)e[i].count);
            snprintf(fmt, sizeof fmt, "%s/%s", e[i].format, e[i].encoding);
            cli_format_time(e[i].requested, req, sizeof req);
            cli_format_time(e[i].ran, ran, sizeof ran);
            row[0] = id;
            row[1] = e[i].dataset;
            row[2] = e[i].requester;
            row[3] = e[i].state;
            row[4] = fmt;
            row[5] = e[i].ran ? cnt : "-";
            row[6] = e[i].approver[0] ? e[i].approver : "-";
            row[7] = req;
            row[8] = ran;
            row[9] = e[i].reason;
            if (cli_table_add(&t, row)) {
                cli_table_release(&t);
                free(e);
                return cli_fail(c, _("export list"), MAMORI_ENOMEM);
            }
        }
        rc = cli_table_print(&t, c->out_tty);
        cli_table_release(&t);
        ret = rc ? cli_fail(c, _("export list"), rc) : CLI_EXIT_OK;
    }
    free(e);
    return ret;
}

int cmd_export_mark(struct cli *c)
{
    const char *state = c->args[1];
    int64_t id;
    int rc = parse_id(c, &id);

    if (rc)
        return rc;
    if (strcmp(state, "returned") != 0 && strcmp(state, "destroyed") != 0)
        return cli_usage(c, _("argument %d: returned or destroyed"),
                         c->argi[1]);
    rc = mamori_export_mark(c->s, id, state);
    if (rc)
        return cli_fail(c, _("export mark"), rc);
    if (c->a.json)
        return cli_json_print(
            c, json_pack("{s:I, s:s}", "id", (json_int_t)id, "state", state));
    cli_note(c, _("Export %lld marked %s."), (long long)id, state);
    return CLI_EXIT_OK;
}
