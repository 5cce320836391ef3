/*
 * cmd_mfa.c - `mamori mfa enroll|confirm|reset`: the TOTP second factor.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "i18n.h"
#include "banned.h"

int cmd_mfa_enroll(struct cli *c)
{
    struct mamori_mfa_enrolment e;
    int rc = mamori_mfa_enroll(c->s, &e), ret;

    if (rc)
        return cli_fail(c, _("mfa enroll"), rc);
    e.secret[sizeof e.secret - 1] = '\0';
    if (c->a.json) {
        ret = cli_json_print(
            c, json_pack("{s:s, s:s}", "secret", e.secret, "uri", e.uri));
    } else {
        /* The secret itself is what this command is for: it goes to the
         * user's terminal, never to a log. */
        fputs(e.qr, stdout);
        printf("%s %s\n", _("Secret:"), e.secret);
        printf("%s\n", e.uri);
        cli_note(c, _("Scan the QR code (or type the secret) into the "
                      "authenticator app, then run `mamori mfa confirm "
                      "CODE` with the code it shows."));
        ret = CLI_EXIT_OK;
    }
    mamori_mfa_enrolment_free(&e);
    return ret;
}

int cmd_mfa_confirm(struct cli *c)
{
    char codes[MAMORI_RECOVERY_CODES][MAMORI_RECOVERY_LEN + 1];
    int rc = mamori_mfa_confirm(c->s, c->args[0], codes), ret = CLI_EXIT_OK;

    if (rc)
        return cli_fail(c, _("mfa confirm"), rc);
    if (c->a.json) {
        json_t *arr = json_array();
        for (int i = 0; arr && i < MAMORI_RECOVERY_CODES; i++) {
            if (json_array_append_new(arr, json_string(codes[i]))) {
                json_decref(arr);
                arr = NULL;
            }
        }
        ret = cli_json_print(c, json_pack("{s:o}", "recovery_codes", arr));
    } else {
        cli_note(c, _("MFA is active. Recovery codes (each works once; shown "
                      "only now):"));
        for (int i = 0; i < MAMORI_RECOVERY_CODES; i++)
            printf("%s\n", codes[i]);
    }
    explicit_bzero(codes, sizeof codes);
    return ret;
}

int cmd_mfa_reset(struct cli *c)
{
    int rc = mamori_mfa_reset(c->s, c->args[0]);
    if (rc)
        return cli_fail(c, _("mfa reset"), rc);
    if (c->a.json)
        return cli_json_print(c, json_pack("{s:b}", "ok", 1));
    cli_note(c, _("MFA of %s removed; they enrol again at the next login."),
             c->args[0]);
    return CLI_EXIT_OK;
}
