/*
 * cmd_review.c - `mamori access review`: who may do what, and what needs a
 * look, for the periodic review of access rights.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "i18n.h"
#include "banned.h"

static const struct {
    unsigned bit;
    const char *key;  /* JSON */
    const char *text; /* N_() */
} flag_names[] = {
    {MAMORI_REVIEW_DORMANT, "dormant", N_("dormant")},
    {MAMORI_REVIEW_ADMIN_EXCESS, "too_many_admins", N_("too many admins")},
    {MAMORI_REVIEW_NO_MFA, "no_mfa", N_("no MFA")},
    {MAMORI_REVIEW_LOCKED, "locked", N_("locked")},
    {MAMORI_REVIEW_INITIAL_PW, "initial_password", N_("initial password")},
    {MAMORI_REVIEW_DISABLED, "disabled", N_("disabled")},
};
#define NFLAGS (sizeof flag_names / sizeof flag_names[0])

static const char *mfa_text(int mfa)
{
    return mfa == 2 ? _("active") : mfa == 1 ? _("pending") : _("none");
}

static json_t *review_json(const struct mamori_review_user *r, size_t n)
{
    json_t *arr = json_array();
    static const char *const mfa_key[] = {"none", "pending", "active"};

    for (size_t i = 0; arr && i < n; i++) {
        json_t *flags = json_array();
        for (size_t k = 0; flags && k < NFLAGS; k++)
            if ((r[i].flags & flag_names[k].bit) &&
                json_array_append_new(flags, json_string(flag_names[k].key)))
                flags = NULL;
        json_t *o = json_pack(
            "{s:o, s:s, s:s, s:i, s:o, s:o, s:o, s:o, s:o}", "user",
            cli_json_str(r[i].name), "role", r[i].role, "mfa",
            mfa_key[r[i].mfa >= 0 && r[i].mfa <= 2 ? r[i].mfa : 0], "devices",
            r[i].devices, "datasets", cli_json_str(r[i].datasets), "created",
            cli_json_time(r[i].created), "last_login",
            cli_json_time(r[i].last_login), "password_changed",
            cli_json_time(r[i].pw_changed), "flags",
            flags ? flags : json_null());
        if (!flags || json_array_append_new(arr, o)) {
            json_decref(arr);
            arr = NULL;
        }
    }
    return arr;
}

int cmd_access_review(struct cli *c)
{
    struct mamori_review_user *r = NULL;
    size_t n = 0;
    int ret = CLI_EXIT_OK, rc = mamori_access_review(c->s, &r, &n);

    if (rc)
        return cli_fail(c, _("access review"), rc);
    for (size_t i = 0; i < n; i++) {
        r[i].name[sizeof r[i].name - 1] = '\0';
        r[i].role[sizeof r[i].role - 1] = '\0';
        r[i].datasets[sizeof r[i].datasets - 1] = '\0';
    }
    if (c->a.json) {
        ret = cli_json_print(c, review_json(r, n));
        free(r);
        return ret;
    }
    const char *headers[] = {_("USER"),     _("ROLE"),       _("MFA"),
                             _("DEVICES"),  _("LAST LOGIN"), _("DATASETS"),
                             _("ATTENTION")};
    struct cli_table t;
    size_t flagged = 0;
    cli_table_init(&t, headers, 7);
    for (size_t i = 0; i < n && ret == 0; i++) {
        char last[32], devices[16], flags[256] = "";
        cli_format_time(r[i].last_login, last, sizeof last);
        snprintf(devices, sizeof devices, "%d", r[i].devices);
        for (size_t k = 0; k < NFLAGS; k++) {
            size_t len = strlen(flags);
            if (r[i].flags & flag_names[k].bit)
                snprintf(flags + len, sizeof flags - len, "%s%s",
                         len ? ", " : "", _(flag_names[k].text));
        }
        flagged += r[i].flags != 0;
        const char *row[7] = {r[i].name, r[i].role, mfa_text(r[i].mfa),
                              devices,   last,      r[i].datasets,
                              flags};
        if (cli_table_add(&t, row))
            ret = cli_fail(c, _("access review"), MAMORI_ENOMEM);
    }
    if (ret == 0 && cli_table_print(&t, c->out_tty))
        ret = cli_fail(c, _("access review"), MAMORI_ENOMEM);
    cli_table_release(&t);
    if (ret == 0)
        cli_note(c,
                 NG_("%zu user, %zu needing attention.",
                     "%zu users, %zu needing attention.", n),
                 n, flagged);
    free(r);
    return ret;
}
