/*
 * cmd_audit.c - `mamori audit show|checkpoint|verify`.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "i18n.h"
#include "banned.h"

/* Largest checkpoint file read by `audit verify --checkpoint`. */
#define CHECKPOINT_MAX (64u * 1024)

static void terminate_entry(struct mamori_audit_entry *e)
{
    e->user[sizeof e->user - 1] = '\0';
    e->device[sizeof e->device - 1] = '\0';
    e->action[sizeof e->action - 1] = '\0';
    e->dataset[sizeof e->dataset - 1] = '\0';
    e->outcome[sizeof e->outcome - 1] = '\0';
    e->detail[sizeof e->detail - 1] = '\0';
    e->client[sizeof e->client - 1] = '\0';
    e->request_id[sizeof e->request_id - 1] = '\0';
}

/* "a,b,c" -> ["a","b","c"]; "" or NULL -> []. */
static json_t *ids_json(const char *ids)
{
    json_t *arr = json_array();
    const char *p = ids, *comma;

    if (!arr || !ids || !*ids)
        return arr;
    for (;;) {
        comma = strchr(p, ',');
        if (json_array_append_new(
                arr,
                json_stringn(p, comma ? (size_t)(comma - p) : strlen(p)))) {
            json_decref(arr);
            return NULL;
        }
        if (!comma)
            break;
        p = comma + 1;
    }
    return arr;
}

static json_t *entry_json(const struct mamori_audit_entry *e)
{
    json_t *o = json_object();

    if (!o || json_object_set_new(o, "seq", json_integer(e->seq)) ||
        json_object_set_new(o, "time", cli_json_time(e->time)) ||
        json_object_set_new(o, "user", cli_json_str(e->user)) ||
        json_object_set_new(o, "device", cli_json_str(e->device)) ||
        json_object_set_new(o, "action", cli_json_str(e->action)) ||
        json_object_set_new(o, "dataset", cli_json_str(e->dataset)) ||
        json_object_set_new(o, "outcome", cli_json_str(e->outcome)) ||
        json_object_set_new(o, "detail", cli_json_str(e->detail)) ||
        json_object_set_new(o, "count", json_integer(e->count)) ||
        json_object_set_new(o, "record_ids", ids_json(e->record_ids)) ||
        json_object_set_new(o, "client", cli_json_str(e->client)) ||
        json_object_set_new(o, "request_id", cli_json_str(e->request_id))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* Parses --last: digits only. 0 on success. */
static int parse_count(const char *s, size_t *out)
{
    unsigned long long v;
    char *end;

    if (!s || !*s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || *end || v > SIZE_MAX)
        return -1;
    *out = (size_t)v;
    return 0;
}

/* --from/--to: a date is a local day (as `audit show` prints times),
 * from its start or (end) to its end; YYYY-MM-DDTHH:MM:SSZ is UTC. */
static int parse_time(const char *text, int end, int64_t *out)
{
    struct tm tm;
    time_t t;
    int y, mo, d, used = 0;

    if (strlen(text) != 10)
        return mamori_audit_time(text, end, out);
    /* (mamori_audit_time checks the shape; the local day is ours) */
    if (mamori_audit_time(text, end, out) != 0 ||
        sscanf(text, "%4d-%2d-%2d%n", &y, &mo, &d, &used) != 3 || used != 10)
        return MAMORI_EINVAL;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = end ? 23 : 0;
    tm.tm_min = end ? 59 : 0;
    tm.tm_sec = end ? 59 : 0;
    tm.tm_isdst = -1;
    t = mktime(&tm);
    if (t == (time_t)-1)
        return MAMORI_EINVAL;
    *out = (int64_t)t;
    return 0;
}

/* The filter of the command line; 1 if it has one, -1 after a usage
 * error. */
static int show_filter(struct cli *c, struct mamori_audit_filter *f)
{
    memset(f, 0, sizeof *f);
    f->user = c->a.user;
    f->action = c->a.action;
    if (c->a.from && parse_time(c->a.from, 0, &f->from) != 0)
        return -1;
    if (c->a.to && parse_time(c->a.to, 1, &f->to) != 0)
        return -1;
    return f->user || f->action || c->a.from || c->a.to;
}

int check_audit_show(struct cli *c)
{
    struct mamori_audit_filter f;
    size_t last = 0;

    if (c->a.last && (parse_count(c->a.last, &last) || last == 0))
        return cli_usage(c, _("--last needs a positive whole number"));
    if (show_filter(c, &f) < 0)
        return cli_usage(c, _("--from and --to take a date (2026-04-01) or a "
                              "UTC time (2026-04-01T09:30:00Z)"));
    if (f.to && f.from > f.to)
        return cli_usage(c, _("--to is before --from"));
    return 0;
}

int cmd_audit_show(struct cli *c)
{
    struct mamori_audit_entry *e = NULL;
    size_t last = 0, n = 0, i;
    int rc, ret = CLI_EXIT_FAIL;

    struct mamori_audit_filter f;
    int any;

    if (c->a.last && parse_count(c->a.last, &last) != 0)
        return cli_usage(c, _("--last needs a positive whole number"));
    if ((any = show_filter(c, &f)) < 0)
        return cli_usage(c, _("--from and --to take a date (2026-04-01) or a "
                              "UTC time (2026-04-01T09:30:00Z)"));
    rc = mamori_audit_find(c->s, any ? &f : NULL, last, &e, &n);
    if (rc)
        return cli_fail(c, _("audit show"), rc);
    for (i = 0; i < n; i++)
        terminate_entry(&e[i]);
    if (c->a.json) {
        json_t *arr = json_array();

        for (i = 0; arr && i < n; i++) {
            json_t *o = entry_json(&e[i]);

            if (!o || json_array_append_new(arr, o)) {
                json_decref(arr);
                arr = NULL;
            }
        }
        ret = cli_json_print(c, arr);
    } else {
        const char *headers[] = {
            _("SEQ"),     _("TIME"),    _("USER"),  _("DEVICE"), _("ACTION"),
            _("DATASET"), _("OUTCOME"), _("COUNT"), _("DETAIL"), _("RECORDS")};
        struct cli_table t;

        cli_table_init(&t, headers, 10);
        for (i = 0; i < n; i++) {
            char seq[32], when[32], count[32];
            const char *row[10];

            snprintf(seq, sizeof seq, "%lld", (long long)e[i].seq);
            snprintf(count, sizeof count, "%lld", (long long)e[i].count);
            cli_format_time(e[i].time, when, sizeof when);
            row[0] = seq;
            row[1] = when;
            row[2] = e[i].user[0] ? e[i].user : "-";
            row[3] = e[i].device[0] ? e[i].device : "-";
            row[4] = e[i].action;
            row[5] = e[i].dataset[0] ? e[i].dataset : "-";
            row[6] = e[i].outcome;
            row[7] = count;
            row[8] = e[i].detail[0] ? e[i].detail : "-";
            row[9] =
                e[i].record_ids && e[i].record_ids[0] ? e[i].record_ids : "-";
            if (cli_table_add(&t, row)) {
                cli_table_release(&t);
                ret = cli_fail(c, _("audit show"), MAMORI_ENOMEM);
                goto out;
            }
        }
        rc = cli_table_print(&t, c->out_tty);
        cli_table_release(&t);
        ret = rc ? cli_fail(c, _("audit show"), rc) : CLI_EXIT_OK;
    }
out:
    mamori_audit_entries_free(e, n);
    return ret;
}

int cmd_audit_checkpoint(struct cli *c)
{
    char *text = NULL;
    size_t len = 0;
    int rc, ret = CLI_EXIT_FAIL;

    if (strcmp(c->a.out, "-") != 0 &&
        (ret = cli_output_ok(c, "--out", c->a.out, NULL, 0)) != 0)
        return ret;
    rc = mamori_audit_checkpoint(c->s, &text, &len);
    if (rc)
        return cli_fail(c, _("audit checkpoint"), rc);
    if (strcmp(c->a.out, "-") == 0) {
        fwrite(text, 1, len, stdout);
        if (len > 0 && text[len - 1] != '\n')
            fputc('\n', stdout);
        ret = CLI_EXIT_OK;
        goto out;
    }
    if (cli_write_private_file(c->a.out, text, len) != 0) {
        ret = cli_fail_detail(c, _("audit checkpoint"), MAMORI_EIO,
                              strerror(errno));
        goto out;
    }
    if (c->a.json)
        ret = cli_json_print(
            c, json_pack("{s:o}", "checkpoint", cli_json_str(c->a.out)));
    else {
        cli_note(c,
                 _("Checkpoint written to %s; keep a copy away from this "
                   "host."),
                 c->a.out);
        ret = CLI_EXIT_OK;
    }
out:
    free(text);
    return ret;
}

int cmd_audit_verify(struct cli *c)
{
    struct mamori_verify_result res;
    char *cp = NULL;
    size_t cp_len = 0;
    int rc, ret = CLI_EXIT_FAIL;

    memset(&res, 0, sizeof res);
    if (c->a.checkpoint) {
        rc = cli_read_small_file(c->a.checkpoint, CHECKPOINT_MAX, &cp, &cp_len);
        if (rc == MAMORI_ETOOBIG)
            return cli_error(c, MAMORI_EINVAL,
                             _("audit verify: the checkpoint file is too "
                               "large to be a checkpoint"));
        if (rc)
            return cli_fail_detail(c, _("audit verify: read the checkpoint"),
                                   rc,
                                   rc == MAMORI_EIO ? strerror(errno) : NULL);
    }
    rc = mamori_audit_verify(c->s, cp, cp_len, &res);
    res.problem[sizeof res.problem - 1] = '\0';
    if (rc == MAMORI_ETAMPER) {
        char detail[512];

        /* The problem names the entry, in the user's language (the
         * result's is English); say which only if it is silent. */
        if (*mamori_errdetail(c->s))
            snprintf(detail, sizeof detail, "%s", mamori_errdetail(c->s));
        else if (res.problem[0])
            snprintf(detail, sizeof detail, "%s", res.problem);
        else
            snprintf(detail, sizeof detail, _("entry %lld"),
                     (long long)res.first_bad);
        ret = cli_fail_detail(c, _("audit verify"), rc, detail);
        goto out;
    }
    if (rc) {
        ret = cli_fail(c, _("audit verify"), rc);
        goto out;
    }
    if (c->a.json) {
        ret = cli_json_print(c, json_pack("{s:b, s:I}", "ok", 1, "entries",
                                          (json_int_t)res.entries));
        goto out;
    }
    printf(NG_("ok: %lld entry\n", "ok: %lld entries\n",
               (unsigned long)res.entries),
           (long long)res.entries);
    ret = CLI_EXIT_OK;
out:
    free(cp);
    return ret;
}
