/*
 * cmd_entry.c - `mamori entry start|verify|amend|list`: verified double
 * entry (ベリファイ入力).
 *
 * Values come as in `record add`: FIELD=VALUE arguments (split at the first
 * "="), or with --stdin FIELD=VALUE lines of standard input. Messages name
 * an argument by its position or a line by its number, never by what it
 * holds; a failed verification names the fields that differ, never a value.
 * What is read from stdin is wiped after use.

 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "i18n.h"
#include "banned.h"

/* entry start DATASET | verify ID | amend ID, then FIELD=VALUE...: each
 * pair well formed, and at least one unless --stdin. */
int check_entry(struct cli *c)
{
    return cli_kv_check(c, 1);
}

/* ---- start -------------------------------------------------------------- */

int cmd_entry_start(struct cli *c)
{
    struct cli_kv s;
    char id[MAMORI_ID_LEN + 1];
    int rc, ret;

    memset(id, 0, sizeof id);
    ret = cli_kv_collect(c, 1, &s);
    if (ret)
        goto out;
    if (s.n == 0) {
        ret = cli_usage(c, _("no FIELD=VALUE given"));
        goto out;
    }
    rc = mamori_entry_start(c->s, c->args[0], s.kv, s.n, id, sizeof id);
    if (rc) {
        ret = cli_fail(c, _("entry start"), rc);
        goto out;
    }
    id[MAMORI_ID_LEN] = '\0';
    if (c->a.json)
        ret = cli_json_print(c, json_pack("{s:s}", "id", id));
    else
        printf("%s\n", id);
out:
    cli_kv_release(&s);
    return ret;
}

/* ---- verify ------------------------------------------------------------- */

/* A failed verification: the fields that differ, on stderr and, with
 * --json, as {"error": {..., "fields": [names]}} on stdout. */
static int report_mismatch(struct cli *c, const char *names)
{
    const char *msg = mamori_strerror(MAMORI_EMISMATCH);
    char *shown = NULL, list[MAMORI_ENTRY_MISMATCH_MAX + 64];
    size_t at = 0;

    /* "a,b" -> "a, b" for people. */
    for (const char *p = names; *p && at + 3 < sizeof list; p++) {
        list[at++] = *p;
        if (*p == ',')
            list[at++] = ' ';
    }
    list[at] = '\0';
    shown = cli_sanitize(list, 0);
    fflush(stdout);
    fprintf(stderr, "mamori: %s: %s: %s %s\n", _("entry verify"), msg,
            _("fields that differ:"), shown ? shown : "?");
    if (c->a.json) {
        json_t *fields = json_array(), *err = NULL;
        const char *p = names;
        char full[512], detail[sizeof list + 256];

        while (fields && *p) {
            size_t l = strcspn(p, ",");
            char *name = strndup(p, l);

            if (!name || json_array_append_new(fields, cli_json_str(name))) {
                free(name);
                json_decref(fields);
                fields = NULL;
                break;
            }
            free(name);
            p += l + (p[l] == ',');
        }
        snprintf(full, sizeof full, "%s: %s", _("entry verify"), msg);
        snprintf(detail, sizeof detail, "%s %s", _("fields that differ:"),
                 list);
        if (fields)
            err = json_pack("{s:s, s:o, s:o, s:o}", "code",
                            mamori_errname(MAMORI_EMISMATCH), "message",
                            cli_json_str(full), "detail", cli_json_str(detail),
                            "fields", fields);
        (void)cli_json_print(c, err ? json_pack("{s:o}", "error", err) : NULL);
    }
    free(shown);
    return cli_exit_code(MAMORI_EMISMATCH);
}

int cmd_entry_verify(struct cli *c)
{
    struct cli_kv s;
    char rid[MAMORI_ID_LEN + 1], names[MAMORI_ENTRY_MISMATCH_MAX];
    int rc, ret;

    memset(rid, 0, sizeof rid);
    names[0] = '\0';
    ret = cli_kv_collect(c, 1, &s);
    if (ret)
        goto out;
    if (s.n == 0) {
        ret = cli_usage(c, _("no FIELD=VALUE given"));
        goto out;
    }
    rc = mamori_entry_verify(c->s, c->args[0], s.kv, s.n, rid, sizeof rid,
                             names, sizeof names);
    if (rc == MAMORI_EMISMATCH) {
        names[sizeof names - 1] = '\0';
        ret = report_mismatch(c, names);
        goto out;
    }
    if (rc) {
        ret = cli_fail(c, _("entry verify"), rc);
        goto out;
    }
    rid[MAMORI_ID_LEN] = '\0';
    if (c->a.json)
        ret = cli_json_print(c, json_pack("{s:s, s:o}", "id", rid, "entry",
                                          cli_json_str(c->args[0])));
    else
        printf("%s\n", rid);
out:
    cli_kv_release(&s);
    return ret;
}

/* ---- amend -------------------------------------------------------------- */

int cmd_entry_amend(struct cli *c)
{
    struct cli_kv s;
    int rc, ret;

    ret = cli_kv_collect(c, 1, &s);
    if (ret)
        goto out;
    if (s.n == 0) {
        ret = cli_usage(c, _("no FIELD=VALUE given"));
        goto out;
    }
    rc = mamori_entry_amend(c->s, c->args[0], s.kv, s.n);
    if (rc) {
        ret = cli_fail(c, _("entry amend"), rc);
        goto out;
    }
    if (c->a.json)
        ret = cli_json_print(c,
                             json_pack("{s:o, s:b}", "id",
                                       cli_json_str(c->args[0]), "amended", 1));
    else
        cli_note(c, _("Amended entry %s; it can be verified again."),
                 c->args[0]);
out:
    cli_kv_release(&s);
    return ret;
}

/* ---- list --------------------------------------------------------------- */

static void info_terminate(struct mamori_entry_info *e)
{
    e->id[sizeof e->id - 1] = '\0';
    e->dataset[sizeof e->dataset - 1] = '\0';
    e->entered_by[sizeof e->entered_by - 1] = '\0';
}

static json_t *info_json(const struct mamori_entry_info *e)
{
    return json_pack(
        "{s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:I}", "id", cli_json_str(e->id),
        "dataset", cli_json_str(e->dataset), "entered_by",
        cli_json_str(e->entered_by), "created", cli_json_time(e->created),
        "updated", cli_json_time(e->updated), "expires",
        cli_json_time(e->expires), "version", (json_int_t)e->version,
        "mismatches", (json_int_t)e->mismatches);
}

static int list_table(struct cli *c, const struct mamori_entry_info *e,
                      size_t n)
{
    const char *headers[] = {_("ID"),      _("DATASET"),   _("ENTERED BY"),
                             _("CREATED"), _("UPDATED"),   _("EXPIRES"),
                             _("VERSION"), _("MISMATCHES")};
    struct cli_table t;
    int rc = 0;

    cli_table_init(&t, headers, 8);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char created[32], updated[32], expires[32], version[16], mis[24];
        const char *row[8];

        cli_format_time(e[i].created, created, sizeof created);
        cli_format_time(e[i].updated, updated, sizeof updated);
        cli_format_time(e[i].expires, expires, sizeof expires);
        snprintf(version, sizeof version, "%lu", (unsigned long)e[i].version);
        snprintf(mis, sizeof mis, "%lld", (long long)e[i].mismatches);
        row[0] = e[i].id;
        row[1] = e[i].dataset;
        row[2] = e[i].entered_by;
        row[3] = created;
        row[4] = updated;
        row[5] = expires;
        row[6] = version;
        row[7] = mis;
        rc = cli_table_add(&t, row);
    }
    if (rc == 0)
        rc = cli_table_print(&t, c->out_tty);
    cli_table_release(&t);
    if (rc)
        return cli_fail(c, _("entry list"), rc);
    if (n == 0 && c->out_tty && !c->a.quiet)
        printf("%s\n", _("No pending entries."));
    return CLI_EXIT_OK;
}

int cmd_entry_list(struct cli *c)
{
    struct mamori_entry_info *e = NULL;
    size_t n = 0;
    int rc, ret;

    rc = mamori_entry_list(c->s, c->nargs > 0 ? c->args[0] : NULL, &e, &n);
    if (rc)
        return cli_fail(c, _("entry list"), rc);
    for (size_t i = 0; i < n; i++)
        info_terminate(&e[i]);
    if (c->a.json) {
        json_t *arr = json_array();

        for (size_t i = 0; arr && i < n; i++) {
            json_t *o = info_json(&e[i]);

            if (!o || json_array_append_new(arr, o)) {
                json_decref(arr);
                arr = NULL;
            }
        }
        ret = cli_json_print(c, arr);
    } else {
        ret = list_table(c, e, n);
    }
    free(e);
    return ret;
}
