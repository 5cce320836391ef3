/*
 * cmd_passwd.c - `mamori passwd`: change one's own password.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "i18n.h"
#include "banned.h"

int cmd_passwd(struct cli *c)
{
    char cur[CLI_SECRET_MAX], pw[CLI_SECRET_MAX];
    size_t cur_len = 0, pw_len = 0;
    int rc, ret = CLI_EXIT_FAIL;

    memset(cur, 0, sizeof cur);
    memset(pw, 0, sizeof pw);
    rc = cli_read_secret(_("Current password: "), NULL, cur, sizeof cur,
                         &cur_len);
    if (rc == 0)
        rc =
            cli_read_secret(_("New password: "), _("Repeat the new password: "),
                            pw, sizeof pw, &pw_len);
    if (rc == 1) {
        ret = cli_error(c, MAMORI_EINVAL,
                        _("passwd: give the current and the new password"));
        goto out;
    }
    if (rc == MAMORI_EINVAL) {
        ret = cli_error(c, MAMORI_EINVAL,
                        _("passwd: the passwords do not match"));
        goto out;
    }
    if (rc) {
        ret = cli_fail_detail(c, _("read password"), rc, NULL);
        goto out;
    }
    rc = mamori_passwd(c->s, cur, cur_len, pw, pw_len);
    if (rc) {
        ret = cli_fail(c, _("passwd"), rc);
        goto out;
    }
    if (c->a.json)
        ret = cli_json_print(c, json_pack("{s:b}", "ok", 1));
    else {
        cli_note(c, _("Password changed. Your other sessions have ended."));
        ret = CLI_EXIT_OK;
    }
out:
    explicit_bzero(cur, sizeof cur);
    explicit_bzero(pw, sizeof pw);
    return ret;
}
