/*
 * cmd_session.c - `mamori login`, `mamori logout`, and the session file
 * that carries the token between commands.
 *
 * The file holds one line, the token. It is created 0600 (through a
 * temporary name and rename) in a 0700 directory, opened with O_NOFOLLOW,
 * and refused when it is not a regular file of the calling user that only
 * they can read.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "i18n.h"
#include "banned.h"

const char *cli_home_dir(void)
{
    const char *home = getenv("HOME");

    if (!home || home[0] != '/') {
        struct passwd *pw = getpwuid(getuid());

        home = pw ? pw->pw_dir : NULL;
    }
    return home;
}

/* Vault ids are UUID text; check before putting one in a file name. */
static int safe_id(const char *id)
{
    size_t i, n = strlen(id);

    if (n == 0 || n > 64)
        return 0;
    for (i = 0; i < n; i++)
        if (!((id[i] >= '0' && id[i] <= '9') ||
              (id[i] >= 'a' && id[i] <= 'z') ||
              (id[i] >= 'A' && id[i] <= 'Z') || id[i] == '-'))
            return 0;
    return 1;
}

int cli_session_path(struct cli *c, char *buf, size_t size)
{
    const char *env, *id;
    int n;

    if (c->a.session_file && *c->a.session_file) {
        n = snprintf(buf, size, "%s", c->a.session_file);
    } else if ((env = getenv("MAMORI_SESSION_FILE")) && *env) {
        n = snprintf(buf, size, "%s", env);
    } else {
        id = c->m ? mamori_vault_id(c->m) : NULL;
        if (!id || !safe_id(id))
            return MAMORI_ESTATE;
        if ((env = getenv("XDG_RUNTIME_DIR")) && env[0] == '/') {
            n = snprintf(buf, size, "%s/mamori/session-%s", env, id);
        } else {
            const char *home = cli_home_dir();

            if (!home)
                return MAMORI_ENOTFOUND;
            n = snprintf(buf, size, "%s/.cache/mamori/session-%s", home, id);
        }
    }
    if (n < 0 || (size_t)n >= size)
        return MAMORI_ETOOBIG;
    return 0;
}

/* Makes the directory that will hold a private file (session, device key):
 * every missing component is created 0700; the last one, if it already exists
 * and is ours, is made 0700 when it is the default place. A directory of
 * another user is refused. */
int cli_make_private_dir(const char *path, int own_default)
{
    char dir[4096];
    struct stat st;
    char *slash, *p;
    size_t n = strlen(path);

    if (n >= sizeof dir)
        return MAMORI_ETOOBIG;
    memcpy(dir, path, n + 1);
    slash = strrchr(dir, '/');
    if (!slash)
        return 0; /* a file in the current directory */
    if (slash == dir)
        return 0; /* in "/" */
    *slash = '\0';
    for (p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0700) != 0 && errno != EEXIST)
            return MAMORI_EIO;
        *p = '/';
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return MAMORI_EIO;
    if (lstat(dir, &st) != 0)
        return MAMORI_EIO;
    if (!S_ISDIR(st.st_mode))
        return MAMORI_EIO;
    if (own_default) {
        if (st.st_uid != getuid())
            return MAMORI_EDENIED;
        if ((st.st_mode & 077) != 0 && chmod(dir, 0700) != 0)
            return MAMORI_EIO;
    }
    return 0;
}

static int make_session_dir(struct cli *c, const char *path)
{
    return cli_make_private_dir(path,
                                !(c->a.session_file && *c->a.session_file) &&
                                    !getenv("MAMORI_SESSION_FILE"));
}

static int token_chars_ok(const char *t, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (!((t[i] >= 'A' && t[i] <= 'Z') || (t[i] >= 'a' && t[i] <= 'z') ||
              (t[i] >= '0' && t[i] <= '9') || t[i] == '-' || t[i] == '_'))
            return 0;
    return 1;
}

/* Reads the token (MAMORI_TOKEN_LEN + 1 bytes) from the session file.
 * Returns 0; MAMORI_ENOTFOUND if there is none; MAMORI_EDENIED if the file
 * is not private to the caller; MAMORI_EINVAL if its content is not a
 * token; MAMORI_EIO. */
int cli_open_private(const char *path, int *out)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);

    *out = -1;
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return MAMORI_ENOTFOUND;
        if (errno == ELOOP)
            return MAMORI_EDENIED;
        return MAMORI_EIO;
    }
    if (fstat(fd, &st) != 0) {
        close(fd);
        return MAMORI_EIO;
    }
    if (!S_ISREG(st.st_mode) || st.st_uid != getuid() ||
        (st.st_mode & 077) != 0) {
        close(fd);
        return MAMORI_EDENIED;
    }
    *out = fd;
    return 0;
}

static int read_token(const char *path, char *token, size_t size)
{
    char buf[128];
    size_t len = 0;
    int fd, rc;

    rc = cli_open_private(path, &fd);
    if (rc != 0)
        return rc;
    rc = cli_read_line(fd, buf, sizeof buf, &len);
    if (rc == 1 || rc == MAMORI_ETOOBIG) {
        rc = MAMORI_EINVAL;
        goto out;
    }
    if (rc != 0)
        goto out;
    if (len != MAMORI_TOKEN_LEN || len + 1 > size ||
        !token_chars_ok(buf, len)) {
        rc = MAMORI_EINVAL;
        goto out;
    }
    memcpy(token, buf, len + 1);
    rc = 0;
out:
    explicit_bzero(buf, sizeof buf);
    close(fd);
    return rc;
}

static const char *not_logged_in(void)
{
    return _("not logged in: run `mamori login --user NAME`");
}

int cli_session_resume(struct cli *c)
{
    struct mamori_client client = {0};
    char path[4096], token[MAMORI_TOKEN_LEN + 1];
    int rc;

    rc = cli_session_path(c, path, sizeof path);
    if (rc)
        return cli_fail(c, _("session file"), rc);
    rc = read_token(path, token, sizeof token);
    if (rc == MAMORI_ENOTFOUND)
        return cli_error(c, MAMORI_ESESSION, "%s", not_logged_in());
    if (rc == MAMORI_EDENIED)
        return cli_error(c, MAMORI_EDENIED,
                         _("the session file is not a private file of this "
                           "user; remove it and log in again"));
    if (rc == MAMORI_EINVAL)
        return cli_error(c, MAMORI_ESESSION,
                         _("the session file is damaged: run `mamori login "
                           "--user NAME`"));
    if (rc)
        return cli_fail(c, _("session file"), rc);
    client.os_uid = (long)getuid();
    rc = mamori_session_open(c->m, token, &client, &c->s);
    explicit_bzero(token, sizeof token);
    if (rc == MAMORI_ESESSION) {
        /* Expired or ended: the token is useless now. */
        c->s = NULL;
        (void)unlink(path);
        return cli_error(c, MAMORI_ESESSION,
                         _("not logged in (the session has expired or "
                           "ended): run `mamori login --user NAME`"));
    }
    if (rc) {
        c->s = NULL;
        return cli_fail(c, _("open session"), rc);
    }
    return CLI_EXIT_OK;
}

/* Ends the session an older session file points to, if it is still valid,
 * so that logging in again does not leave it open. */
static void end_old_session(struct cli *c, const char *path)
{
    struct mamori_client client = {0};
    char token[MAMORI_TOKEN_LEN + 1];
    mamori_sess *old = NULL;

    if (read_token(path, token, sizeof token) != 0)
        return;
    client.os_uid = (long)getuid();
    if (mamori_session_open(c->m, token, &client, &old) == 0 && old &&
        mamori_logout(old) != 0) {
        /* Best effort: it expires on its own. */
    }
    explicit_bzero(token, sizeof token);
}

int check_login(struct cli *c)
{
    if (!c->a.user || !*c->a.user)
        return cli_usage(c, _("login needs --user NAME"));
    return 0;
}

int cmd_login(struct cli *c)
{
    struct mamori_client client = {0};
    struct mamori_login_req req = {0};
    struct cli_device dev;
    char challenge[MAMORI_CHALLENGE_LEN + 1];
    uint8_t sig[MAMORI_DEVICE_SIG_LEN];
    char path[4096], prompt[160], pass[CLI_SECRET_MAX], otp[128];
    char token[MAMORI_TOKEN_LEN + 2];
    size_t pass_len = 0, otp_len = 0;
    const char *role = NULL;
    int rc, ret = CLI_EXIT_FAIL;

    memset(token, 0, sizeof token);
    memset(otp, 0, sizeof otp);
    memset(&dev, 0, sizeof dev);
    rc = cli_session_path(c, path, sizeof path);
    if (rc) {
        ret = cli_fail(c, _("session file"), rc);
        goto out;
    }
    snprintf(prompt, sizeof prompt, _("Password for %s: "), c->a.user);
    rc = cli_read_secret(prompt, NULL, pass, sizeof pass, &pass_len);
    if (rc == 1) {
        ret = cli_error(c, MAMORI_EAUTH, _("login: no password given"));
        goto out;
    }
    if (rc) {
        ret = cli_fail_detail(c, _("read password"), rc, NULL);
        goto out;
    }
    client.os_uid = (long)getuid();
    rc = cli_device_load(&dev, 0);
    if (rc == 0) {
        /* This machine's device key proves the device. */
        rc = mamori_device_challenge(c->m, challenge, sizeof challenge);
        if (rc == 0)
            rc = mamori_device_sign(c->m, dev.sk, c->a.user, challenge, sig);
        if (rc) {
            ret = cli_fail_detail(c, _("device key"), rc, NULL);
            goto out;
        }
        req.device_pk = dev.pk;
        req.challenge = challenge;
        req.signature = sig;
    } else if (rc != MAMORI_ENOTFOUND) {
        ret = cli_error(c, rc,
                        _("the device key file is unreadable or not private "
                          "to this user"));
        goto out;
    }
    req.user = c->a.user;
    req.password = pass;
    req.password_len = pass_len;
    req.otp = c->a.otp;
    rc = mamori_login_ex(c->m, &req, &client, token, MAMORI_TOKEN_LEN + 1);
    if (rc == MAMORI_EOTP && isatty(STDIN_FILENO)) {
        /* The password was right; ask for the code and try again. */
        rc = cli_read_secret(_("One-time code: "), NULL, otp, sizeof otp,
                             &otp_len);
        if (rc == 0 && req.device_pk) {
            /* The first challenge was used: sign a new one. */
            rc = mamori_device_challenge(c->m, challenge, sizeof challenge);
            if (rc == 0)
                rc =
                    mamori_device_sign(c->m, dev.sk, c->a.user, challenge, sig);
        }
        if (rc == 0) {
            req.otp = otp;
            rc = mamori_login_ex(c->m, &req, &client, token,
                                 MAMORI_TOKEN_LEN + 1);
        } else {
            rc = MAMORI_EOTP;
        }
    }
    explicit_bzero(pass, sizeof pass);
    explicit_bzero(otp, sizeof otp);
    if (rc == MAMORI_EOTP) {
        ret = cli_error(c, MAMORI_EOTP,
                        _("login: this account needs a one-time code: add "
                          "--otp CODE"));
        goto out;
    }
    if (rc == MAMORI_EDEVICE) {
        ret = cli_error(c, MAMORI_EDEVICE,
                        _("login: this device is not approved: run `mamori "
                          "device enroll --user NAME` and ask an admin to "
                          "approve it"));
        goto out;
    }
    if (rc) {
        ret = cli_fail(c, _("login"), rc);
        goto out;
    }
    rc = make_session_dir(c, path);
    if (rc == 0) {
        end_old_session(c, path);
        token[MAMORI_TOKEN_LEN] = '\n';
        if (cli_write_private_file(path, token, MAMORI_TOKEN_LEN + 1) != 0)
            rc = MAMORI_EIO;
        token[MAMORI_TOKEN_LEN] = '\0';
    }
    if (rc) {
        mamori_sess *s = NULL;

        /* Nobody could use this session: end it. */
        if (mamori_session_open(c->m, token, &client, &s) == 0 && s &&
            mamori_logout(s) != 0) {
            /* Best effort: it expires on its own. */
        }
        ret = cli_fail_detail(c, _("write the session file"), rc, NULL);
        goto out;
    }
    if (mamori_session_open(c->m, token, &client, &c->s) == 0 && c->s)
        role = mamori_session_role(c->s);
    else
        c->s = NULL;
    if (c->a.json) {
        unsigned needs = c->s ? mamori_session_needs(c->s) : 0;
        json_t *j = json_pack(
            "{s:o, s:o, s:o, s:b, s:b}", "user", cli_json_str(c->a.user),
            "role", role ? cli_json_str(role) : json_null(), "session_file",
            cli_json_str(path), "must_change_password",
            (needs & MAMORI_NEED_PASSWD) != 0, "must_enrol_mfa",
            (needs & MAMORI_NEED_MFA) != 0);
        ret = cli_json_print(c, j);
        goto out;
    }
    if (role)
        cli_note(c, _("Logged in as %s (%s)."), c->a.user, role);
    else
        cli_note(c, _("Logged in as %s."), c->a.user);
    if (c->s && (mamori_session_needs(c->s) & MAMORI_NEED_PASSWD))
        cli_note(c, _("Your password was set by an administrator: change it "
                      "now with `mamori passwd`. Until then nothing else is "
                      "allowed."));
    if (c->s && (mamori_session_needs(c->s) & MAMORI_NEED_MFA))
        cli_note(c, _("Your role needs a one-time code (MFA): set it up now "
                      "with `mamori mfa enroll`. Until then nothing else is "
                      "allowed."));
    ret = CLI_EXIT_OK;
out:
    explicit_bzero(pass, sizeof pass);
    explicit_bzero(token, sizeof token);
    explicit_bzero(&dev, sizeof dev);
    return ret;
}

int cmd_logout(struct cli *c)
{
    char path[4096];
    int rc, rc_path;

    rc_path = cli_session_path(c, path, sizeof path);
    rc = mamori_logout(c->s);
    c->s = NULL;
    /* Keep the file if the vault refused (the session is still open). */
    if ((rc == 0 || rc == MAMORI_ESESSION) && rc_path == 0 &&
        unlink(path) != 0 && errno != ENOENT && rc == 0)
        rc = MAMORI_EIO;
    if (rc)
        return cli_fail(c, _("logout"), rc);
    if (c->a.json)
        return cli_json_print(c, json_pack("{s:b}", "ok", 1));
    cli_note(c, _("Logged out."));
    return CLI_EXIT_OK;
}
