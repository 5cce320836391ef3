/*
 * test_workers.c - the handle's kept threads: every argument runs exactly
 * once per call, on the caller and the workers, call after call.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>

#include "workers.h"

struct slot {
    atomic_int runs;
    pthread_t by;
};

static void *count(void *arg)
{
    struct slot *s = arg;
    atomic_fetch_add(&s->runs, 1);
    s->by = pthread_self();
    return NULL;
}

static void each_argument_once(void **state)
{
    struct workers *w = NULL;
    struct slot slots[WORKERS_MAX + 1];
    void *args[WORKERS_MAX + 1];
    (void)state;

    for (size_t n = 0; n <= WORKERS_MAX + 1; n++) {
        for (int round = 0; round < 50; round++) {
            memset(slots, 0, sizeof slots);
            for (size_t i = 0; i < n; i++)
                args[i] = &slots[i];
            workers_run(&w, n, count, args);
            for (size_t i = 0; i < n; i++)
                assert_int_equal(atomic_load(&slots[i].runs), 1);
            for (size_t i = n; i <= WORKERS_MAX; i++)
                assert_int_equal(atomic_load(&slots[i].runs), 0);
            /* The first argument is the caller's own. */
            if (n > 0)
                assert_true(pthread_equal(slots[0].by, pthread_self()));
            if (n > 1)
                assert_false(pthread_equal(slots[1].by, pthread_self()));
        }
    }
    assert_non_null(w);
    workers_stop(w);
    workers_stop(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_argument_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
