/* test_utf8.c — device text made valid UTF-8 before it is stored or
 * rendered (issue 11: events with a bad version byte or a reason cut in the
 * middle of a character vanished from the admin API). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "utf8.h"

static void clean_is(const char *in, size_t inlen, size_t cap, const char *want)
{
    char out[256];
    size_t n = utf8_clean(out, cap, in, inlen);
    if (strcmp(out, want) != 0 || n != strlen(want))
        fail_msg("clean of %zu bytes (cap %zu): got '%s' (%zu), want '%s'", inlen, cap, out, n, want);
    assert_true(utf8_valid(out, n));
    json_t *j = json_string(out);
    assert_non_null(j); /* what the admin API does with it */
    json_decref(j);
}

static void test_clean(void **state)
{
    (void)state;
    clean_is("plain", 5, 64, "plain");
    clean_is("2012.\xff.001", 10, 64, "2012.\xEF\xBF\xBD.001");
    /* a Chinese reason cut after one byte of its last character */
    clean_is("\xE4\xB8\xAD\xE6\x96", 5, 64, "\xE4\xB8\xAD");
    clean_is("\xE4\xB8\xAD\xE6", 4, 64, "\xE4\xB8\xAD");
    /* no room for the whole character: left out, never cut */
    clean_is("ab\xE4\xB8\xAD", 5, 5, "ab");
    clean_is("\x80x", 2, 64, "\xEF\xBF\xBDx");            /* stray continuation */
    clean_is("\xC0\xAF", 2, 64, "\xEF\xBF\xBD\xEF\xBF\xBD"); /* overlong '/' */
    clean_is("\xED\xA0\x80", 3, 64, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"); /* surrogate */
    clean_is("\xF4\x90\x80\x80", 4, 64, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
    clean_is("\xF0\x9F\x98\x80!", 5, 64, "\xF0\x9F\x98\x80!");
    clean_is("a\0b", 3, 64, "a\xEF\xBF\xBD" "b");
    char out[4];
    utf8_clean(out, 1, "abc", 3);
    assert_string_equal(out, "");
}

static void test_inplace(void **state)
{
    (void)state;
    char note[120];
    /* what snprintf does to a long Chinese reason: cut mid-character */
    char reason[200] = "device reports failed: x";
    for (int i = 0; i < 40; i++)
        strcat(reason, "\xE5\x8D\x87");
    memcpy(note, reason, sizeof note - 1);
    note[sizeof note - 1] = 0;
    assert_false(utf8_valid(note, strlen(note)));
    utf8_clean_inplace(note, sizeof note);
    assert_true(utf8_valid(note, strlen(note)));
    assert_int_equal(strlen(note), 24 + 31 * 3);
    char v[16] = "2012.\xff\xfe";
    utf8_clean_inplace(v, sizeof v);
    assert_string_equal(v, "2012.\xEF\xBF\xBD\xEF\xBF\xBD");
    char w[10] = "2012.\xff\xfe";
    utf8_clean_inplace(w, sizeof w);
    assert_string_equal(w, "2012.\xEF\xBF\xBD"); /* the second one does not fit whole */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clean),
        cmocka_unit_test(test_inplace),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
