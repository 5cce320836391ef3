/*
 * cmd_breakglass.c - `mamori breakglass request|approve|close|list`: an
 * admin's emergency read of a dataset, approved by a second admin.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "i18n.h"
#include "banned.h"

int check_breakglass_request(struct cli *c)
{
    if (!c->a.reason || !*c->a.reason)
        return cli_usage(c, _("breakglass request needs --reason TEXT (why "
                              "the data must be read; no personal data)"));
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
                           "from `mamori breakglass list`)"),
                         c->argi[0]);
    *id = (int64_t)v;
    return 0;
}

int cmd_breakglass_request(struct cli *c)
{
    int64_t id = 0;
    int rc;

    /* The reason is the request's own, kept with it and in its audit
     * entry; it is not repeated as the session's stated purpose. */
    rc = mamori_session_reason(c->s, NULL);
    if (rc == 0)
        rc = mamori_breakglass_request(c->s, c->args[0], c->a.reason, &id);
    if (rc)
        return cli_fail(c, _("breakglass request"), rc);
    if (c->a.json)
        return cli_json_print(
            c, json_pack("{s:I, s:o, s:s}", "id", (json_int_t)id, "dataset",
                         cli_json_str(c->args[0]), "state", "pending"));
    printf("%lld\n", (long long)id);
    cli_note(c,
             _("Another admin must approve it: mamori breakglass approve "
               "%lld"),
             (long long)id);
    return CLI_EXIT_OK;
}

int cmd_breakglass_approve(struct cli *c)
{
    int64_t id;
    int rc = parse_id(c, &id);

    if (rc)
        return rc;
    rc = mamori_breakglass_approve(c->s, id);
    if (rc)
        return cli_fail(c, _("breakglass approve"), rc);
    if (c->a.json)
        return cli_json_print(c, json_pack("{s:I, s:s}", "id", (json_int_t)id,
                                           "state", "active"));
    cli_note(c, _("Break-glass %lld approved."), (long long)id);
    return CLI_EXIT_OK;
}

int cmd_breakglass_close(struct cli *c)
{
    int64_t id;
    int rc = parse_id(c, &id);

    if (rc)
        return rc;
    rc = mamori_breakglass_close(c->s, id);
    if (rc)
        return cli_fail(c, _("breakglass close"), rc);
    if (c->a.json)
        return cli_json_print(
            c, json_pack("{s:I, s:b}", "id", (json_int_t)id, "closed", 1));
    cli_note(c, _("Break-glass %lld closed."), (long long)id);
    return CLI_EXIT_OK;
}

static void terminate(struct mamori_breakglass_info *b)
{
    b->dataset[sizeof b->dataset - 1] = '\0';
    b->requester[sizeof b->requester - 1] = '\0';
    b->approver[sizeof b->approver - 1] = '\0';
    b->state[sizeof b->state - 1] = '\0';
    b->reason[sizeof b->reason - 1] = '\0';
}

static json_t *info_json(const struct mamori_breakglass_info *b)
{
    return json_pack(
        "{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "id",
        (json_int_t)b->id, "dataset", cli_json_str(b->dataset), "requester",
        cli_json_str(b->requester), "approver",
        b->approver[0] ? cli_json_str(b->approver) : json_null(), "state",
        cli_json_str(b->state), "requested", cli_json_time(b->requested),
        "approved", cli_json_time(b->approved), "expires",
        cli_json_time(b->expires), "reason", cli_json_str(b->reason));
}

int cmd_breakglass_list(struct cli *c)
{
    struct mamori_breakglass_info *b = NULL;
    size_t n = 0, i;
    int rc, ret;

    rc = mamori_breakglass_list(c->s, &b, &n);
    if (rc)
        return cli_fail(c, _("breakglass list"), rc);
    for (i = 0; i < n; i++)
        terminate(&b[i]);
    if (c->a.json) {
        json_t *arr = json_array();

        for (i = 0; arr && i < n; i++) {
            json_t *o = info_json(&b[i]);

            if (!o || json_array_append_new(arr, o)) {
                json_decref(arr);
                arr = NULL;
            }
        }
        ret = cli_json_print(c, arr);
    } else {
        const char *headers[] = {_("ID"),       _("DATASET"), _("REQUESTER"),
                                 _("APPROVER"), _("STATE"),   _("REQUESTED"),
                                 _("UNTIL"),    _("REASON")};
        struct cli_table t;

        cli_table_init(&t, headers, 8);
        for (i = 0; i < n; i++) {
            char id[32], req[32], until[32];
            const char *row[8];

            snprintf(id, sizeof id, "%lld", (long long)b[i].id);
            cli_format_time(b[i].requested, req, sizeof req);
            cli_format_time(b[i].expires, until, sizeof until);
            row[0] = id;
            row[1] = b[i].dataset;
            row[2] = b[i].requester;
            row[3] = b[i].approver[0] ? b[i].approver : "-";
            row[4] = b[i].state;
            row[5] = req;
            row[6] = until;
            row[7] = b[i].reason;
            if (cli_table_add(&t, row)) {
                cli_table_release(&t);
                free(b);
                return cli_fail(c, _("breakglass list"), MAMORI_ENOMEM);
            }
        }
        rc = cli_table_print(&t, c->out_tty);
        cli_table_release(&t);
        ret = rc ? cli_fail(c, _("breakglass list"), rc) : CLI_EXIT_OK;
    }
    free(b);
    return ret;
}
