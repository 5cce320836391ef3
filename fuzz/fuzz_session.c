/*
 * fuzz_session.c - what a client sends to open or prove a session: a
 * session token, a device key file's text, a user name and challenge to
 * sign. Against a real vault made once: nothing malformed may open a
 * session, crash, or parse as a device key that does not hold together.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mamori.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static mamori *vault;
static char home[] = "/tmp/mamori-fuzz-session.XXXXXX";

/* Removes the vault this run made. */
static void cleanup(void)
{
    static const char *const files[] = {"vault.db",     "vault.db-wal",
                                        "vault.db-shm", "keys.db",
                                        "keys.db-wal",  "keys.db-shm"};
    char path[sizeof home + 32];
    mamori_close(vault);
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", home, files[i]);
        (void)unlink(path);
    }
    snprintf(path, sizeof path, "%s.key", home);
    (void)unlink(path);
    (void)rmdir(home);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char key[sizeof home + 8];
    struct mamori_keysrc src = {0};

    (void)argc;
    (void)argv;
    if (mamori_library_init() != 0 || !mkdtemp(home))
        abort();
    snprintf(key, sizeof key, "%s.key", home);
    src.key_file = key;
    if (mamori_init(home, &src, "admin", "Vault#Keeper-2026", 17) != 0 ||
        mamori_open(home, &src, &vault) != 0)
        abort();
    atexit(cleanup);
    return 0;
}

/* The next '\n'-separated part of the input, NUL-terminated (copied). */
static char *part(const uint8_t **p, const uint8_t *end)
{
    const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
    size_t n = nl ? (size_t)(nl - *p) : (size_t)(end - *p);
    char *s = malloc(n + 1);
    if (!s)
        abort();
    memcpy(s, *p, n);
    s[n] = '\0';
    *p = nl ? nl + 1 : end;
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t pk[MAMORI_DEVICE_PK_LEN], sk[MAMORI_DEVICE_SK_LEN];
    uint8_t sig[MAMORI_DEVICE_SIG_LEN];
    char again[MAMORI_DEVICE_KEY_TEXT];
    struct mamori_client cl = {.os_uid = -1};
    mamori_sess *s = NULL;

    /* The whole input as a device key file. */
    if (mamori_device_key_parse((const char *)data, size, pk, sk) == 0) {
        /* Accepted only in its one canonical form. */
        if (mamori_device_key_format(pk, sk, again, sizeof again) != 0 ||
            strlen(again) != size || memcmp(again, data, size) != 0)
            abort();
    }
    /* token, user, challenge */
    const uint8_t *p = data, *end = data + size;
    char *token = part(&p, end), *user = part(&p, end);
    char *challenge = part(&p, end);
    if (mamori_session_open(vault, token, &cl, &s) == 0)
        abort(); /* no session was ever opened in this vault */
    mamori_device_keygen(pk, sk);
    int rc = mamori_device_sign(vault, sk, user, challenge, sig);
    if (rc == 0 && strlen(challenge) != MAMORI_CHALLENGE_LEN)
        abort();
    free(token);
    free(user);
    free(challenge);
    return 0;
}
