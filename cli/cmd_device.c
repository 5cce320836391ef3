/*
 * cmd_device.c - this machine's device key (端末の鍵), and `mamori device
 * enroll|approve|revoke|list`.
 *
 * The key file (mamori_device_key_format: "pk HEX", "sk HEX", Ed25519) is
 * mode 0600 in a 0700 directory, and is refused when anyone else could
 * read it. The private key never leaves it: logins sign a challenge.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "i18n.h"
#include "banned.h"

int cli_device_path(char *buf, size_t size)
{
    const char *env = getenv("MAMORI_DEVICE_KEY");
    int n;

    if (env && *env) {
        n = snprintf(buf, size, "%s", env);
    } else if ((env = getenv("XDG_CONFIG_HOME")) && env[0] == '/') {
        n = snprintf(buf, size, "%s/mamori/device.key", env);
    } else {
        const char *home = cli_home_dir();
        if (!home)
            return MAMORI_ENOTFOUND;
        n = snprintf(buf, size, "%s/.config/mamori/device.key", home);
    }
    return n < 0 || (size_t)n >= size ? MAMORI_ETOOBIG : 0;
}

/* Reads the key file at path. */
static int load(const char *path, struct cli_device *d)
{
    char text[MAMORI_DEVICE_KEY_TEXT + 8];
    ssize_t got;
    size_t len = 0;
    int fd, rc = cli_open_private(path, &fd);

    if (rc != 0)
        return rc;
    while (len < sizeof text &&
           (got = read(fd, text + len, sizeof text - len)) > 0)
        len += (size_t)got;
    close(fd);
    rc = mamori_device_key_parse(text, len, d->pk, d->sk);
    explicit_bzero(text, sizeof text);
    return rc;
}

int cli_device_load(struct cli_device *d, int create)
{
    char path[4096], text[MAMORI_DEVICE_KEY_TEXT];
    int rc = cli_device_path(path, sizeof path);

    if (rc != 0)
        return rc;
    rc = load(path, d);
    if (rc != MAMORI_ENOTFOUND || !create)
        return rc;
    mamori_device_keygen(d->pk, d->sk);
    rc = mamori_device_key_format(d->pk, d->sk, text, sizeof text);
    if (rc == 0)
        rc = cli_make_private_dir(path, 1);
    if (rc == 0 && cli_write_private_file(path, text, strlen(text)) != 0)
        rc = MAMORI_EIO;
    explicit_bzero(text, sizeof text);
    return rc;
}

/* This machine's name, for a device label. */
static void host_name(char *buf, size_t size)
{
    if (gethostname(buf, size) != 0 || buf[0] == '\0')
        snprintf(buf, size, "PC");
    buf[size - 1] = '\0';
}

int check_device_enroll(struct cli *c)
{
    if (!c->a.user || !*c->a.user)
        return cli_usage(c, _("device enroll needs --user NAME"));
    return 0;
}

int cmd_device_enroll(struct cli *c)
{
    struct mamori_client client = {.os_uid = (long)getuid()};
    struct mamori_login_req req = {0};
    struct cli_device d;
    char id[37], name[64], pass[CLI_SECRET_MAX], prompt[160];
    size_t pass_len = 0;
    int rc;

    if (c->a.name)
        snprintf(name, sizeof name, "%s", c->a.name);
    else
        host_name(name, sizeof name);
    snprintf(prompt, sizeof prompt, _("Password for %s: "), c->a.user);
    rc = cli_read_secret(prompt, NULL, pass, sizeof pass, &pass_len);
    if (rc == 1)
        return cli_error(c, MAMORI_EAUTH,
                         _("device enroll: no password given"));
    if (rc)
        return cli_fail_detail(c, _("read password"), rc, NULL);
    rc = cli_device_load(&d, 1);
    if (rc) {
        explicit_bzero(pass, sizeof pass);
        explicit_bzero(&d, sizeof d);
        return cli_fail_detail(c, _("device key"), rc, NULL);
    }
    req.user = c->a.user;
    req.password = pass;
    req.password_len = pass_len;
    req.otp = c->a.otp;
    rc = mamori_device_request(c->m, &req, name, d.pk, &client, id);
    explicit_bzero(pass, sizeof pass);
    explicit_bzero(&d, sizeof d);
    if (rc == MAMORI_EOTP)
        return cli_error(c, MAMORI_EOTP,
                         _("device enroll: this account needs a one-time "
                           "code: add --otp CODE"));
    if (rc == MAMORI_EEXIST)
        return cli_error(c, MAMORI_EEXIST,
                         _("device enroll: this device is already pending "
                           "or approved (see mamori device list)"));
    if (rc)
        return cli_fail_detail(c, _("device enroll"), rc, NULL);
    if (c->a.json)
        return cli_json_print(
            c, json_pack("{s:s, s:s}", "id", id, "state", "pending"));
    printf("%s\n", id);
    cli_note(c,
             _("This device waits for approval: an admin runs `mamori "
               "device approve %s`. Then log in."),
             id);
    return CLI_EXIT_OK;
}

/* A device state in the user's language. */
static const char *state_text(const char *s)
{
    if (strcmp(s, "pending") == 0)
        return _("pending");
    if (strcmp(s, "approved") == 0)
        return _("approved");
    if (strcmp(s, "revoked") == 0)
        return _("revoked");
    return s;
}

int cmd_device_approve(struct cli *c)
{
    int rc = mamori_device_approve(c->s, c->args[0]);
    if (rc)
        return cli_fail(c, _("device approve"), rc);
    if (c->a.json)
        return cli_json_print(c, json_pack("{s:b}", "ok", 1));
    cli_note(c, _("Device %s approved."), c->args[0]);
    return CLI_EXIT_OK;
}

int cmd_device_revoke(struct cli *c)
{
    int rc = mamori_device_revoke(c->s, c->args[0]);
    if (rc)
        return cli_fail(c, _("device revoke"), rc);
    if (c->a.json)
        return cli_json_print(c, json_pack("{s:b}", "ok", 1));
    cli_note(c, _("Device %s revoked; its sessions have ended."), c->args[0]);
    return CLI_EXIT_OK;
}

int cmd_device_list(struct cli *c)
{
    struct mamori_device_info *list = NULL;
    size_t n = 0;
    int ret = CLI_EXIT_OK, rc = mamori_device_list(c->s, &list, &n);

    if (rc)
        return cli_fail(c, _("device list"), rc);
    for (size_t i = 0; i < n; i++) {
        list[i].id[sizeof list[i].id - 1] = '\0';
        list[i].name[sizeof list[i].name - 1] = '\0';
        list[i].state[sizeof list[i].state - 1] = '\0';
        list[i].requested_by[sizeof list[i].requested_by - 1] = '\0';
        list[i].approved_by[sizeof list[i].approved_by - 1] = '\0';
    }
    if (c->a.json) {
        json_t *arr = json_array();
        for (size_t i = 0; arr && i < n; i++) {
            json_t *o = json_pack(
                "{s:s, s:o, s:s, s:o, s:o, s:o, s:o, s:o}", "id", list[i].id,
                "name", cli_json_str(list[i].name), "state", list[i].state,
                "requested_by", cli_json_str(list[i].requested_by),
                "approved_by", cli_json_str(list[i].approved_by), "created",
                cli_json_time(list[i].created), "approved",
                cli_json_time(list[i].approved), "last_used",
                cli_json_time(list[i].last_used));
            if (json_array_append_new(arr, o)) {
                json_decref(arr);
                arr = NULL;
            }
        }
        ret = cli_json_print(c, arr);
    } else {
        const char *headers[] = {_("ID"),          _("NAME"),
                                 _("STATE"),       _("REQUESTED BY"),
                                 _("APPROVED BY"), _("LAST USED")};
        struct cli_table t;
        cli_table_init(&t, headers, 6);
        for (size_t i = 0; i < n && ret == 0; i++) {
            char last[32];
            cli_format_time(list[i].last_used, last, sizeof last);
            const char *row[6] = {list[i].id,
                                  list[i].name,
                                  state_text(list[i].state),
                                  list[i].requested_by,
                                  list[i].approved_by,
                                  last};
            if (cli_table_add(&t, row))
                ret = cli_fail(c, _("device list"), MAMORI_ENOMEM);
        }
        if (ret == 0 && cli_table_print(&t, c->out_tty))
            ret = cli_fail(c, _("device list"), MAMORI_ENOMEM);
        cli_table_release(&t);
    }
    free(list);
    return ret;
}
