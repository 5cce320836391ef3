/*
 * cmd_config.c - `mamori config list|get|set`: the vault's settings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "i18n.h"
#include "banned.h"

/* The settings, their strings made sure to end. */
static int load(struct cli *c, struct mamori_config_item **list, size_t *n)
{
    int rc = mamori_config_list(c->s, list, n);
    if (rc)
        return cli_fail(c, _("config"), rc);
    for (size_t i = 0; i < *n; i++) {
        struct mamori_config_item *e = &(*list)[i];
        e->key[sizeof e->key - 1] = '\0';
        e->value[sizeof e->value - 1] = '\0';
        e->def[sizeof e->def - 1] = '\0';
        e->range[sizeof e->range - 1] = '\0';
        e->help[sizeof e->help - 1] = '\0';
    }
    return CLI_EXIT_OK;
}

static json_t *item_json(const struct mamori_config_item *e)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s}", "key", e->key, "value",
                     e->value, "default", e->def, "range", e->range, "help",
                     e->help);
}

int cmd_config_list(struct cli *c)
{
    struct mamori_config_item *list = NULL;
    size_t n = 0;
    int ret = load(c, &list, &n);

    if (ret)
        return ret;
    if (c->a.json) {
        json_t *arr = json_array();
        for (size_t i = 0; arr && i < n; i++) {
            if (json_array_append_new(arr, item_json(&list[i]))) {
                json_decref(arr);
                arr = NULL;
            }
        }
        ret = cli_json_print(c, arr);
    } else {
        const char *headers[] = {_("SETTING"), _("VALUE"), _("DEFAULT"),
                                 _("RANGE"), _("MEANING")};
        struct cli_table t;
        cli_table_init(&t, headers, 5);
        for (size_t i = 0; i < n && ret == 0; i++) {
            const char *row[5] = {list[i].key, list[i].value, list[i].def,
                                  list[i].range, _(list[i].help)};
            if (cli_table_add(&t, row))
                ret = cli_fail(c, _("config"), MAMORI_ENOMEM);
        }
        if (ret == 0 && cli_table_print(&t, c->out_tty))
            ret = cli_fail(c, _("config"), MAMORI_ENOMEM);
        cli_table_release(&t);
    }
    free(list);
    return ret;
}

int cmd_config_get(struct cli *c)
{
    struct mamori_config_item *list = NULL;
    size_t n = 0;
    int ret = load(c, &list, &n);

    if (ret)
        return ret;
    ret = -1;
    for (size_t i = 0; i < n && ret < 0; i++) {
        if (strcmp(list[i].key, c->args[0]) != 0)
            continue;
        if (c->a.json)
            ret = cli_json_print(c, item_json(&list[i]));
        else {
            printf("%s\n", list[i].value);
            ret = CLI_EXIT_OK;
        }
    }
    free(list);
    if (ret < 0)
        ret = cli_error(c, MAMORI_ENOTFOUND,
                        _("config get: no such setting (see mamori config "
                          "list)"));
    return ret;
}

int cmd_config_set(struct cli *c)
{
    char now[MAMORI_CONFIG_VALUE_MAX];
    int rc = mamori_config_set(c->s, c->args[0], c->args[1]);

    if (rc)
        return cli_fail(c, _("config set"), rc);
    if (c->a.json)
        return cli_json_print(c, json_pack("{s:b}", "ok", 1));
    /* The value as stored (" 10" and "010" are 10), not as typed. */
    if (mamori_config_normalize(c->args[0], c->args[1], now, sizeof now) == 0)
        cli_note(c, _("%s is now %s."), c->args[0], now);
    return CLI_EXIT_OK;
}
