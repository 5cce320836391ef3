/*
 * cmd_record.c - `mamori record add|get|update|delete|search`.
 *
 * Values come as FIELD=VALUE arguments (split at the first "="), or with
 * --stdin as FIELD=VALUE lines of standard input, which keeps them out of
 * the process list. Messages name an argument by its position or a line by
 * its number, never by what it holds. Everything read from stdin, and every
 * record shown, is wiped from our memory after use.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "i18n.h"
#include "banned.h"

int check_record_add(struct cli *c)
{
    return cli_kv_check(c, 1);
}

int check_record_update(struct cli *c)
{
    return cli_kv_check(c, 2);
}

int check_record_search(struct cli *c)
{
    int rc = cli_kv_check(c, 1);

    if (rc == 0 && c->nargs > 2)
        return cli_usage(c, _("record search takes exactly one FIELD=VALUE"));
    return rc;
}

/* ---- output ------------------------------------------------------------- */

static void record_terminate(struct mamori_record *r)
{
    r->id[sizeof r->id - 1] = '\0';
}

static json_t *record_json(const struct mamori_record *r)
{
    json_t *o = json_object();
    size_t i;

    /* "masked": the values are the masked forms the caller's role gets
     * (a viewer; My Numbers for an operator who is not a handler). */
    if (!o || json_object_set_new(o, "id", cli_json_str(r->id)) ||
        json_object_set_new(o, "version", json_integer(r->version)) ||
        json_object_set_new(o, "masked", json_boolean(r->masked)))
        goto fail;
    for (i = 0; i < r->n; i++) {
        const char *name = r->fields[i].name ? r->fields[i].name : "";
        char key[80];

        /* A field called "id", "version" or "masked" must not hide the
         * record's own: it is shown as "field:id". */
        if (json_object_get(o, name)) {
            snprintf(key, sizeof key, "field:%s", name);
            name = key;
        }
        if (json_object_set_new(o, name, cli_json_str(r->fields[i].value)))
            goto fail;
    }
    return o;
fail:
    json_decref(o);
    return NULL;
}

static void record_print(const struct mamori_record *r)
{
    size_t i;

    cli_print_kv(_("id"), r->id);
    printf("%s: %lu\n", _("version"), (unsigned long)r->version);
    if (r->masked)
        printf("%s: %s\n", _("masked"), _("yes"));
    for (i = 0; i < r->n; i++) {
        char *name = cli_sanitize(r->fields[i].name, 0);

        cli_print_kv(name ? name : "?", r->fields[i].value);
        free(name);
    }
}

/* ---- commands ----------------------------------------------------------- */

int cmd_record_add(struct cli *c)
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
    rc = mamori_record_add(c->s, c->args[0], s.kv, s.n, id, sizeof id);
    if (rc) {
        ret = cli_fail(c, _("record add"), rc);
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

int cmd_record_get(struct cli *c)
{
    struct mamori_record *r = NULL;
    int rc, ret;

    rc = mamori_record_get(c->s, c->args[0], c->args[1], &r);
    if (rc)
        return cli_fail(c, _("record get"), rc);
    record_terminate(r);
    if (c->a.json) {
        ret = cli_json_print(c, record_json(r));
    } else {
        record_print(r);
        ret = CLI_EXIT_OK;
    }
    mamori_record_free(r);
    return ret;
}

int cmd_record_update(struct cli *c)
{
    struct cli_kv s;
    int rc, ret;

    ret = cli_kv_collect(c, 2, &s);
    if (ret)
        goto out;
    if (s.n == 0) {
        ret = cli_usage(c, _("no FIELD=VALUE given"));
        goto out;
    }
    rc = mamori_record_update(c->s, c->args[0], c->args[1], s.kv, s.n);
    if (rc) {
        ret = cli_fail(c, _("record update"), rc);
        goto out;
    }
    if (c->a.json)
        ret = cli_json_print(c,
                             json_pack("{s:o, s:b}", "id",
                                       cli_json_str(c->args[1]), "updated", 1));
    else
        cli_note(c, _("Updated record %s."), c->args[1]);
out:
    cli_kv_release(&s);
    return ret;
}

int cmd_record_delete(struct cli *c)
{
    int rc = mamori_record_delete(c->s, c->args[0], c->args[1]);

    if (rc)
        return cli_fail(c, _("record delete"), rc);
    if (c->a.json)
        return cli_json_print(c, json_pack("{s:o, s:b}", "id",
                                           cli_json_str(c->args[1]), "deleted",
                                           1));
    cli_note(c, _("Deleted record %s."), c->args[1]);
    return CLI_EXIT_OK;
}

int cmd_record_search(struct cli *c)
{
    struct mamori_record **rs = NULL;
    struct cli_kv s;
    size_t n = 0, i;
    int rc, ret;

    ret = cli_kv_collect(c, 1, &s);
    if (ret)
        goto out;
    if (s.n != 1) {
        ret = cli_usage(c, _("record search takes exactly one FIELD=VALUE"));
        goto out;
    }
    rc = mamori_record_search(c->s, c->args[0], s.kv[0].name, s.kv[0].value,
                              &rs, &n);
    if (rc) {
        ret = cli_fail(c, _("record search"), rc);
        goto out;
    }
    for (i = 0; i < n; i++)
        record_terminate(rs[i]);
    if (c->a.json) {
        json_t *arr = json_array();

        for (i = 0; arr && i < n; i++) {
            json_t *o = record_json(rs[i]);

            if (!o || json_array_append_new(arr, o)) {
                json_decref(arr);
                arr = NULL;
            }
        }
        ret = cli_json_print(c, arr);
    } else {
        for (i = 0; i < n; i++) {
            if (i)
                printf("\n");
            record_print(rs[i]);
        }
        if (n == 0 && c->out_tty && !c->a.quiet)
            printf("%s\n", _("No matching records."));
        ret = CLI_EXIT_OK;
    }
    mamori_record_array_free(rs, n);
out:
    cli_kv_release(&s);
    return ret;
}
