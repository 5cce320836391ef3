/*
 * cmd_init.c - `mamori init`: a new vault and its first administrator.
 *
 * The master key is protected by a key file (created 0400 by the library
 * when absent) or by a passphrase. Secrets are read in this order: the
 * passphrase (MAMORI_PASSPHRASE_FD, a terminal prompt, or line 1 of stdin),
 * then the administrator's password (a terminal prompt, or the next line).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "i18n.h"
#include "banned.h"

/* An absolute form of path in buf (the vault remembers the path, and a
 * relative one would depend on where later commands run). */
static int absolute_path(const char *path, char *buf, size_t size)
{
    char cwd[4096];
    int n;

    if (path[0] == '/') {
        n = snprintf(buf, size, "%s", path);
    } else {
        if (!getcwd(cwd, sizeof cwd))
            return MAMORI_EIO;
        n = snprintf(buf, size, "%s/%s", cwd, path);
    }
    if (n < 0 || (size_t)n >= size)
        return MAMORI_ETOOBIG;
    return 0;
}

/* The key file init is to use: --key-file, else $MAMORI_KEY_FILE unless
 * --passphrase is given ("instead of a key file"); NULL if none. */
static const char *init_key_file(const struct cli *c)
{
    const char *env;

    if (c->a.key_file && *c->a.key_file)
        return c->a.key_file;
    if (!c->a.passphrase && (env = getenv("MAMORI_KEY_FILE")) && *env)
        return env;
    return NULL;
}

int check_init(struct cli *c)
{
    if (!c->a.admin || !*c->a.admin)
        return cli_usage(c, _("init needs --admin NAME"));
    if (!init_key_file(c) && !c->a.passphrase)
        return cli_usage(c, _("init needs --key-file FILE or --passphrase"));
    return 0;
}

int cmd_init(struct cli *c)
{
    struct mamori_keysrc src = {0};
    char pass[CLI_SECRET_MAX], pw[CLI_SECRET_MAX], prompt[160];
    char key_file[4096], host[64], device_id[37];
    struct cli_device dev;
    size_t pass_len = 0, pw_len = 0;
    const char *kf = init_key_file(c);
    int rc, ret = CLI_EXIT_FAIL;

    memset(pass, 0, sizeof pass);
    memset(pw, 0, sizeof pw);
    if (kf) {
        rc = absolute_path(kf, key_file, sizeof key_file);
        if (rc)
            return cli_usage(c, _("the key file path is too long"));
        src.key_file = key_file;
    }

    if (c->a.passphrase) {
        rc = cli_read_passphrase(_("New vault passphrase: "),
                                 _("Repeat the passphrase: "), pass,
                                 sizeof pass, &pass_len);
        if (rc == 1) {
            ret = cli_error(c, MAMORI_EINVAL, _("init: no passphrase given"));
            goto out;
        }
        if (rc == MAMORI_EINVAL) {
            ret = cli_error(c, MAMORI_EINVAL,
                            _("init: the passphrases do not match"));
            goto out;
        }
        if (rc == CLI_EBADFD) {
            ret = cli_error(c, MAMORI_EINVAL,
                            _("MAMORI_PASSPHRASE_FD is not an open file "
                              "descriptor"));
            goto out;
        }
        if (rc) {
            ret = cli_fail_detail(c, _("read passphrase"), rc, NULL);
            goto out;
        }
        src.passphrase = pass;
        src.passphrase_len = pass_len;
    }

    snprintf(prompt, sizeof prompt, _("Password for %s: "), c->a.admin);
    rc = cli_read_secret(prompt, _("Repeat the password: "), pw, sizeof pw,
                         &pw_len);
    if (rc == 1) {
        ret = cli_error(c, MAMORI_EINVAL, _("init: no password given"));
        goto out;
    }
    if (rc == MAMORI_EINVAL) {
        ret =
            cli_error(c, MAMORI_EINVAL, _("init: the passwords do not match"));
        goto out;
    }
    if (rc) {
        ret = cli_fail_detail(c, _("read password"), rc, NULL);
        goto out;
    }

    /* This machine becomes the first admin's approved device. */
    rc = cli_device_load(&dev, 1);
    if (rc) {
        ret = cli_fail_detail(c, _("device key"), rc, NULL);
        goto out;
    }
    if (gethostname(host, sizeof host) != 0 || !host[0])
        snprintf(host, sizeof host, "PC");
    host[sizeof host - 1] = '\0';
    rc = mamori_init_device(c->home, &src, c->a.admin, pw, pw_len, host, dev.pk,
                            device_id);
    explicit_bzero(&dev, sizeof dev);
    explicit_bzero(pass, sizeof pass);
    explicit_bzero(pw, sizeof pw);
    if (rc) {
        ret = cli_fail(c, _("init"), rc);
        goto out;
    }
    if (c->a.json) {
        json_t *j = json_object();

        if (j &&
            (json_object_set_new(j, "home", cli_json_str(c->home)) ||
             json_object_set_new(j, "admin", cli_json_str(c->a.admin)) ||
             json_object_set_new(
                 j, "key_source",
                 json_string(c->a.passphrase ? "passphrase" : "keyfile")) ||
             (src.key_file &&
              json_object_set_new(j, "key_file",
                                  cli_json_str(src.key_file))))) {
            json_decref(j);
            j = NULL;
        }
        ret = cli_json_print(c, j);
        goto out;
    }
    cli_note(c, _("Created a vault in %s; administrator: %s."), c->home,
             c->a.admin);
    if (src.key_file)
        cli_note(c,
                 _("Keep the key file %s safe: without it the vault "
                   "cannot be opened."),
                 src.key_file);
    ret = CLI_EXIT_OK;
out:
    explicit_bzero(pass, sizeof pass);
    explicit_bzero(pw, sizeof pw);
    return ret;
}
