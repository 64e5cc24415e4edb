/* IMEI generation and the Luhn check digit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

static void luhn_known_values(void **st)
{
    (void)st;
    /* the classic example IMEI 49015420323751-8 */
    assert_int_equal(sim_luhn_digit("49015420323751", 14), 8);
    assert_true(sim_luhn_valid("490154203237518", 15));
    assert_false(sim_luhn_valid("490154203237519", 15));
    /* 35-209900-176148-1 */
    assert_int_equal(sim_luhn_digit("35209900176148", 14), 1);
    assert_int_equal(sim_luhn_digit("0", 1), 0);
    assert_int_equal(sim_luhn_digit("7992739871", 10), 3);
    assert_int_equal(sim_luhn_digit("12a4", 4), -1);
    assert_false(sim_luhn_valid("5", 1));
}

static void imei_shape_and_check_digit(void **st)
{
    (void)st;
    char imei[SIM_IMEI_LEN + 1];
    for (uint32_t i = 0; i < 2000; i++) {
        sim_imei_make(42, i * 499u, imei);
        assert_int_equal(strlen(imei), 15);
        assert_int_equal(strspn(imei, "0123456789"), 15);
        assert_memory_equal(imei, "86", 2);
        assert_true(sim_luhn_valid(imei, 15));
    }
}

static void imei_deterministic_and_distinct(void **st)
{
    (void)st;
    char a[SIM_IMEI_LEN + 1], b[SIM_IMEI_LEN + 1];
    sim_imei_make(7, 12345, a);
    sim_imei_make(7, 12345, b);
    assert_string_equal(a, b);
    sim_imei_make(8, 12345, b);
    assert_string_not_equal(a, b); /* another seed, another fleet */
    /* distinct indexes give distinct IMEIs: the index is in digits 8..13 */
    enum { N = 20000 };
    char(*all)[SIM_IMEI_LEN + 1] = calloc(N, sizeof(*all));
    assert_non_null(all);
    for (uint32_t i = 0; i < N; i++)
        sim_imei_make(99, i, all[i]);
    for (uint32_t i = 1; i < N; i++) {
        assert_memory_equal(all[i], all[0], 8); /* same fleet prefix */
        assert_string_not_equal(all[i], all[i - 1]);
    }
    assert_memory_equal(all[1234] + 8, "001234", 6);
    free(all);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(luhn_known_values),
        cmocka_unit_test(imei_shape_and_check_digit),
        cmocka_unit_test(imei_deterministic_and_distinct),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
