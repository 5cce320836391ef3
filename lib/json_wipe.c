/*
 * json_wipe.c - jansson's allocator, made to wipe what it frees.
 *
 * jansson copies every string it is given or parses (record values,
 * passwords, tokens) into blocks of its own, and its parser keeps each
 * token's raw text in a buffer it grows and frees. With this allocator
 * every such block is zeroed when freed, in the CLI and in mamorid alike.
 * A size header in front of each block remembers its length.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "internal.h"
#include "banned.h"

#define JHDR 16 /* keeps the block's alignment */

static void *wiping_malloc(size_t n)
{
    unsigned char *p;

    if (n > SIZE_MAX - JHDR)
        return NULL;
    p = malloc(n + JHDR);
    if (!p)
        return NULL;
    memcpy(p, &n, sizeof n);
    return p + JHDR;
}

static void wiping_free(void *ptr)
{
    unsigned char *p;
    size_t n;

    if (!ptr)
        return;
    p = (unsigned char *)ptr - JHDR;
    memcpy(&n, p, sizeof n);
    explicit_bzero(p, n + JHDR);
    free(p);
}

void json_wipe_install(void)
{
    json_malloc_t mf;
    json_free_t ff;

    /* Only over jansson's defaults: an application that installed its own
     * keeps them (blocks must be freed by the allocator that made them). */
    json_get_alloc_funcs(&mf, &ff);
    if (mf == malloc && ff == free)
        json_set_alloc_funcs(wiping_malloc, wiping_free);
}
