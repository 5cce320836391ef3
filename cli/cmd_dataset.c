/*
 * cmd_dataset.c - `mamori dataset create|list|grant|revoke|grants`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "i18n.h"
#include "banned.h"

/* Splits a --field spec NAME:TYPE[:search], in place in spec, into f.
 * Returns 0, or -1 if it has another shape. */
static int parse_field(char *spec, struct mamori_field_def *f)
{
    char *type, *flag;

    type = strchr(spec, ':');
    if (!type)
        return -1;
    *type++ = '\0';
    flag = strchr(type, ':');
    if (flag) {
        *flag++ = '\0';
        if (strcmp(flag, "search") != 0)
            return -1;
    }
    if (!*spec || !*type)
        return -1;
    f->name = spec;
    f->type = type;
    f->searchable = flag != NULL;
    return 0;
}

/* Marks the fields named in --key FIELD[,FIELD...] (n defined fields).
 * Returns 0, or -1 with *bad pointing at the first name that is not a
 * defined field (or empty, or given twice) inside the copy in buf. */
static int mark_keys(char *buf, struct mamori_field_def *fields, size_t n,
                     const char **bad)
{
    char *p = buf;

    for (;;) {
        char *comma = strchr(p, ',');
        size_t i;

        if (comma)
            *comma = '\0';
        for (i = 0; i < n; i++)
            if (strcmp(fields[i].name, p) == 0)
                break;
        if (!*p || i == n || fields[i].key) {
            *bad = p;
            return -1;
        }
        fields[i].key = 1;
        if (!comma)
            return 0;
        p = comma + 1;
    }
}

static int key_usage(struct cli *c, const char *bad)
{
    char *name = cli_sanitize(bad, 0);
    int rc = cli_usage(c,
                       _("--key: \"%s\" is not a --field of the dataset (or "
                         "is named twice)"),
                       name ? name : "?");
    free(name);
    return rc;
}

static int field_usage(struct cli *c, size_t i)
{
    return cli_usage(c,
                     _("--field (argument %d): expected NAME:TYPE or "
                       "NAME:TYPE:search"),
                     c->a.field_argi[i]);
}

int check_dataset_create(struct cli *c)
{
    struct mamori_field_def f;
    struct mamori_field_def *all = NULL;
    char **specs = NULL, *keys = NULL;
    const char *badkey = NULL;
    size_t i;
    int ret = 0;

    if (!c->a.client || !*c->a.client)
        return cli_usage(c, _("dataset create needs --client TEXT"));
    if (!c->a.purpose || !*c->a.purpose)
        return cli_usage(c, _("dataset create needs --purpose TEXT"));
    if (c->a.nfields == 0)
        return cli_usage(c, _("dataset create needs at least one --field "
                              "NAME:TYPE[:search]"));
    for (i = 0; i < c->a.nfields; i++) {
        char *spec = strdup(c->a.fields[i]);
        int bad;

        if (!spec)
            return cli_fail(c, _("dataset create"), MAMORI_ENOMEM);
        bad = parse_field(spec, &f) != 0;
        free(spec);
        if (bad)
            return field_usage(c, i);
    }
    if (!c->a.key)
        return 0;
    /* Every --key name must be one of the --field names. */
    all = calloc(c->a.nfields, sizeof *all);
    specs = calloc(c->a.nfields, sizeof *specs);
    keys = strdup(c->a.key);
    if (!all || !specs || !keys) {
        ret = cli_fail(c, _("dataset create"), MAMORI_ENOMEM);
        goto out;
    }
    for (i = 0; i < c->a.nfields; i++) {
        specs[i] = strdup(c->a.fields[i]);
        if (!specs[i] || parse_field(specs[i], &all[i]) != 0) {
            ret = cli_fail(c, _("dataset create"), MAMORI_ENOMEM);
            goto out;
        }
    }
    if (mark_keys(keys, all, c->a.nfields, &badkey) != 0)
        ret = key_usage(c, badkey);
out:
    for (i = 0; specs && i < c->a.nfields; i++)
        free(specs[i]);
    free(specs);
    free(all);
    free(keys);
    return ret;
}

int cmd_dataset_create(struct cli *c)
{
    struct mamori_dataset_def def = {0};
    struct mamori_field_def *fields = NULL;
    char **specs = NULL, *keys = NULL;
    const char *bad = NULL;
    size_t i, n = c->a.nfields;
    int rc, ret = CLI_EXIT_FAIL;

    fields = calloc(n, sizeof *fields);
    specs = calloc(n, sizeof *specs);
    if (!fields || !specs) {
        ret = cli_fail(c, _("dataset create"), MAMORI_ENOMEM);
        goto out;
    }
    for (i = 0; i < n; i++) {
        specs[i] = strdup(c->a.fields[i]);
        if (!specs[i]) {
            ret = cli_fail(c, _("dataset create"), MAMORI_ENOMEM);
            goto out;
        }
        if (parse_field(specs[i], &fields[i]) != 0) {
            ret = field_usage(c, i);
            goto out;
        }
    }
    if (c->a.key) {
        keys = strdup(c->a.key);
        if (!keys) {
            ret = cli_fail(c, _("dataset create"), MAMORI_ENOMEM);
            goto out;
        }
        if (mark_keys(keys, fields, n, &bad) != 0) {
            ret = key_usage(c, bad);
            goto out;
        }
    }
    def.name = c->args[0];
    def.client = c->a.client;
    def.purpose = c->a.purpose;
    def.ends = c->a.ends && *c->a.ends ? c->a.ends : NULL;
    def.fields = fields;
    def.nfields = n;
    def.require_reason = (c->a.seen & OPTBIT(OPT_REQUIRE_REASON)) != 0;
    rc = mamori_dataset_create(c->s, &def);
    if (rc) {
        ret = cli_fail(c, _("dataset create"), rc);
        goto out;
    }
    if (c->a.json) {
        ret = cli_json_print(
            c, json_pack("{s:o}", "dataset", cli_json_str(def.name)));
        goto out;
    }
    cli_note(c, _("Created dataset %s."), def.name);
    ret = CLI_EXIT_OK;
out:
    if (specs)
        for (i = 0; i < n; i++)
            free(specs[i]);
    free(specs);
    free(fields);
    free(keys);
    return ret;
}

static void terminate_info(struct mamori_dataset_info *d)
{
    size_t k;

    d->name[sizeof d->name - 1] = '\0';
    d->client[sizeof d->client - 1] = '\0';
    d->purpose[sizeof d->purpose - 1] = '\0';
    d->ends[sizeof d->ends - 1] = '\0';
    d->state[sizeof d->state - 1] = '\0';
    for (k = 0; d->fields && k < d->nfields; k++) {
        d->fields[k].name[sizeof d->fields[k].name - 1] = '\0';
        d->fields[k].type[sizeof d->fields[k].type - 1] = '\0';
    }
}

static json_t *dataset_json(const struct mamori_dataset_info *d)
{
    json_t *o = json_object(), *fa = json_array();
    size_t k;

    if (!o || !fa)
        goto fail;
    for (k = 0; d->fields && k < d->nfields; k++) {
        json_t *f = json_object();

        if (!f || json_array_append_new(fa, f) ||
            json_object_set_new(f, "name", cli_json_str(d->fields[k].name)) ||
            json_object_set_new(f, "type", cli_json_str(d->fields[k].type)) ||
            json_object_set_new(f, "searchable",
                                json_boolean(d->fields[k].searchable)) ||
            json_object_set_new(f, "key", json_boolean(d->fields[k].key)))
            goto fail;
    }
    if (json_object_set_new(o, "name", cli_json_str(d->name)) ||
        json_object_set_new(o, "client", cli_json_str(d->client)) ||
        json_object_set_new(o, "purpose", cli_json_str(d->purpose)) ||
        json_object_set_new(o, "state", cli_json_str(d->state)) ||
        json_object_set_new(o, "ends",
                            d->ends[0] ? cli_json_str(d->ends) : json_null()) ||
        json_object_set_new(o, "created", cli_json_time(d->created)) ||
        json_object_set_new(o, "records", json_integer(d->records)) ||
        json_object_set_new(o, "require_reason",
                            json_boolean(d->require_reason)))
        goto fail;
    if (json_object_set(o, "fields", fa))
        goto fail;
    json_decref(fa);
    return o;
fail:
    json_decref(fa);
    json_decref(o);
    return NULL;
}

/* "name:type:search:key,name:type" for the table. NULL on ENOMEM. */
static char *fields_text(const struct mamori_dataset_info *d)
{
    size_t k, len = 1, off = 0;
    char *s;

    for (k = 0; d->fields && k < d->nfields; k++)
        len += strlen(d->fields[k].name) + strlen(d->fields[k].type) + 13;
    s = malloc(len);
    if (!s)
        return NULL;
    s[0] = '\0';
    for (k = 0; d->fields && k < d->nfields; k++)
        off += (size_t)snprintf(s + off, len - off, "%s%s:%s%s%s", k ? "," : "",
                                d->fields[k].name, d->fields[k].type,
                                d->fields[k].searchable ? ":search" : "",
                                d->fields[k].key ? ":key" : "");
    return s;
}

int cmd_dataset_list(struct cli *c)
{
    struct mamori_dataset_info *list = NULL;
    size_t n = 0, i;
    int rc, ret = CLI_EXIT_FAIL;

    rc = mamori_dataset_list(c->s, &list, &n);
    if (rc)
        return cli_fail(c, _("dataset list"), rc);
    for (i = 0; i < n; i++)
        terminate_info(&list[i]);
    if (c->a.json) {
        json_t *arr = json_array();

        for (i = 0; arr && i < n; i++) {
            json_t *o = dataset_json(&list[i]);

            if (!o || json_array_append_new(arr, o)) {
                json_decref(arr);
                arr = NULL;
            }
        }
        ret = cli_json_print(c, arr);
    } else {
        const char *headers[] = {_("NAME"),   _("STATE"),  _("RECORDS"),
                                 _("ENDS"),   _("CLIENT"), _("PURPOSE"),
                                 _("FIELDS"), _("REASON")};
        struct cli_table t;

        cli_table_init(&t, headers, 8);
        for (i = 0; i < n; i++) {
            char records[32];
            char *fields = fields_text(&list[i]);
            const char *row[8];

            snprintf(records, sizeof records, "%lld",
                     (long long)list[i].records);
            row[0] = list[i].name;
            row[1] = list[i].state;
            row[2] = records;
            row[3] = list[i].ends[0] ? list[i].ends : "-";
            row[4] = list[i].client;
            row[5] = list[i].purpose;
            row[6] = fields;
            row[7] = list[i].require_reason ? _("required") : "-";
            if (!fields || cli_table_add(&t, row)) {
                free(fields);
                cli_table_release(&t);
                ret = cli_fail(c, _("dataset list"), MAMORI_ENOMEM);
                goto out;
            }
            free(fields);
        }
        rc = cli_table_print(&t, c->out_tty);
        cli_table_release(&t);
        ret = rc ? cli_fail(c, _("dataset list"), rc) : CLI_EXIT_OK;
    }
out:
    mamori_dataset_list_free(list, n);
    return ret;
}

int cmd_dataset_grant(struct cli *c)
{
    int handler = (c->a.seen & OPTBIT(OPT_HANDLER)) != 0;
    int rc = mamori_dataset_grant_flags(c->s, c->args[0], c->args[1],
                                        handler ? MAMORI_GRANT_HANDLER : 0);

    if (rc)
        return cli_fail(c, _("dataset grant"), rc);
    if (c->a.json)
        return cli_json_print(
            c, json_pack("{s:o, s:o, s:b}", "dataset", cli_json_str(c->args[0]),
                         "user", cli_json_str(c->args[1]), "handler", handler));
    if (handler)
        cli_note(c,
                 _("%s may now work on dataset %s, as a My Number "
                   "handler."),
                 c->args[1], c->args[0]);
    else
        cli_note(c, _("%s may now work on dataset %s."), c->args[1],
                 c->args[0]);
    return CLI_EXIT_OK;
}

int cmd_dataset_revoke(struct cli *c)
{
    int rc = mamori_dataset_revoke(c->s, c->args[0], c->args[1]);

    if (rc)
        return cli_fail(c, _("dataset revoke"), rc);
    if (c->a.json)
        return cli_json_print(
            c, json_pack("{s:o, s:o, s:b}", "dataset", cli_json_str(c->args[0]),
                         "user", cli_json_str(c->args[1]), "revoked", 1));
    cli_note(c, _("%s may no longer work on dataset %s."), c->args[1],
             c->args[0]);
    return CLI_EXIT_OK;
}

int cmd_dataset_grants(struct cli *c)
{
    struct mamori_grant_info *g = NULL;
    size_t n = 0, i;
    int rc, ret;

    rc = mamori_dataset_grants(c->s, c->nargs > 0 ? c->args[0] : NULL, &g, &n);
    if (rc)
        return cli_fail(c, _("dataset grants"), rc);
    for (i = 0; i < n; i++) {
        g[i].dataset[sizeof g[i].dataset - 1] = '\0';
        g[i].user[sizeof g[i].user - 1] = '\0';
        g[i].role[sizeof g[i].role - 1] = '\0';
    }
    if (c->a.json) {
        json_t *arr = json_array();

        for (i = 0; arr && i < n; i++) {
            json_t *o = json_pack("{s:o, s:o, s:o, s:b}", "dataset",
                                  cli_json_str(g[i].dataset), "user",
                                  cli_json_str(g[i].user), "role",
                                  cli_json_str(g[i].role), "handler",
                                  (g[i].flags & MAMORI_GRANT_HANDLER) != 0);

            if (!o || json_array_append_new(arr, o)) {
                json_decref(arr);
                arr = NULL;
            }
        }
        ret = cli_json_print(c, arr);
    } else {
        const char *headers[] = {_("DATASET"), _("USER"), _("ROLE"),
                                 _("MY NUMBER HANDLER")};
        struct cli_table t;

        cli_table_init(&t, headers, 4);
        for (i = 0; i < n; i++) {
            const char *row[4] = {g[i].dataset, g[i].user, g[i].role,
                                  (g[i].flags & MAMORI_GRANT_HANDLER) ? _("yes")
                                                                      : "-"};

            if (cli_table_add(&t, row)) {
                cli_table_release(&t);
                free(g);
                return cli_fail(c, _("dataset grants"), MAMORI_ENOMEM);
            }
        }
        rc = cli_table_print(&t, c->out_tty);
        cli_table_release(&t);
        ret = rc ? cli_fail(c, _("dataset grants"), rc) : CLI_EXIT_OK;
    }
    free(g);
    return ret;
}
