/* The string map under the fleet: put/get/del with backward-shift deletion. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "smap.h"

static void put_get_del(void **state)
{
    (void)state;
    struct smap m;
    smap_init(&m);
    static int vals[20000];
    char k[32];
    for (int i = 0; i < 20000; i++) {
        snprintf(k, sizeof k, "dev%d", i);
        vals[i] = i;
        assert_int_equal(smap_put(&m, k, &vals[i], NULL), 0);
    }
    assert_int_equal(m.count, 20000);
    for (int i = 0; i < 20000; i += 2) {
        snprintf(k, sizeof k, "dev%d", i);
        assert_ptr_equal(smap_del(&m, k), &vals[i]);
    }
    for (int i = 0; i < 20000; i++) {
        snprintf(k, sizeof k, "dev%d", i);
        if (i % 2)
            assert_ptr_equal(smap_get(&m, k), &vals[i]);
        else
            assert_null(smap_get(&m, k));
    }
    void *old = NULL;
    assert_int_equal(smap_put(&m, "dev1", &vals[5], &old), 0);
    assert_ptr_equal(old, &vals[1]);
    size_t n = 0;
    for (size_t i = 0; smap_next(&m, &i, NULL, NULL);)
        n++;
    assert_int_equal(n, 10000);
    assert_null(smap_del(&m, "nope"));
    smap_free(&m, NULL);
    assert_null(smap_get(&m, "dev1"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(put_get_del)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
