/*
 * cmd_sessions.c - `mamori session list|revoke` (admin): the vault's live
 * sessions, and ending them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "i18n.h"
#include "banned.h"

int cmd_session_list(struct cli *c)
{
    struct mamori_session_info *list = NULL;
    size_t n = 0;
    int ret = CLI_EXIT_OK;
    int rc = mamori_session_list(c->s, &list, &n);

    if (rc)
        return cli_fail(c, _("session list"), rc);
    for (size_t i = 0; i < n; i++) {
        list[i].id[sizeof list[i].id - 1] = '\0';
        list[i].user[sizeof list[i].user - 1] = '\0';
    }
    if (c->a.json) {
        json_t *arr = json_array();
        for (size_t i = 0; arr && i < n; i++) {
            json_t *o = json_pack(
                "{s:s, s:o, s:o, s:o, s:o, s:b, s:b}", "id", list[i].id, "user",
                cli_json_str(list[i].user), "created",
                cli_json_time(list[i].created), "last_seen",
                cli_json_time(list[i].last_seen), "expires",
                cli_json_time(list[i].expires), "must_change_password",
                (list[i].needs & MAMORI_NEED_PASSWD) != 0, "current",
                list[i].current);
            if (json_array_append_new(arr, o)) {
                json_decref(arr);
                arr = NULL;
            }
        }
        ret = cli_json_print(c, arr);
    } else {
        const char *headers[] = {_("ID"),        _("USER"),    _("STARTED"),
                                 _("LAST USED"), _("EXPIRES"), _("NOTE")};
        struct cli_table t;
        cli_table_init(&t, headers, 6);
        for (size_t i = 0; i < n && ret == 0; i++) {
            char created[32], seen[32], exp[32];
            cli_format_time(list[i].created, created, sizeof created);
            cli_format_time(list[i].last_seen, seen, sizeof seen);
            cli_format_time(list[i].expires, exp, sizeof exp);
            const char *row[6] = {list[i].id,
                                  list[i].user,
                                  created,
                                  seen,
                                  exp,
                                  list[i].current ? _("this session")
                                  : (list[i].needs & MAMORI_NEED_PASSWD)
                                      ? _("initial password")
                                      : ""};
            if (cli_table_add(&t, row))
                ret = cli_fail(c, _("session list"), MAMORI_ENOMEM);
        }
        if (ret == 0 && cli_table_print(&t, c->out_tty))
            ret = cli_fail(c, _("session list"), MAMORI_ENOMEM);
        cli_table_release(&t);
    }
    free(list);
    return ret;
}

int check_session_revoke(struct cli *c)
{
    if (c->nargs == 1 && c->a.user)
        return cli_usage(c, _("session revoke: give an ID or --user NAME, "
                              "not both"));
    if (c->nargs != 1 && !c->a.user)
        return cli_usage(c, _("session revoke needs an ID or --user NAME"));
    return 0;
}

int cmd_session_revoke(struct cli *c)
{
    int rc = mamori_session_revoke(c->s, c->nargs == 1 ? c->args[0] : NULL,
                                   c->a.user);
    if (rc)
        return cli_fail(c, _("session revoke"), rc);
    if (c->a.json)
        return cli_json_print(c, json_pack("{s:b}", "ok", 1));
    if (c->a.user)
        cli_note(c, _("Every session of %s has ended."), c->a.user);
    else
        cli_note(c, _("Session ended."));
    return CLI_EXIT_OK;
}
