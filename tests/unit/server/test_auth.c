/* Unit tests of admin/auth.c: the role matrix, role names, token names,
 * and the failed-login back-off (with an in-memory store double). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "auth.h"

static auth_role role_of(const char *method, const char *path)
{
    return auth_route_role(method, path, strlen(path));
}

static void test_matrix(void **state)
{
    (void)state;
    assert_int_equal(role_of("GET", "/projects"), ROLE_VIEWER);
    assert_int_equal(role_of("HEAD", "/status"), ROLE_VIEWER);
    assert_int_equal(role_of("GET", "/devices/861234567890123"), ROLE_VIEWER);
    assert_int_equal(role_of("GET", "/tokens"), ROLE_ADMIN);
    assert_int_equal(role_of("GET", "/tokens/x"), ROLE_ADMIN);
    assert_int_equal(role_of("POST", "/projects"), ROLE_ADMIN);
    assert_int_equal(role_of("PATCH", "/projects/K"), ROLE_ADMIN);
    assert_int_equal(role_of("DELETE", "/projects/K"), ROLE_ADMIN);
    assert_int_equal(role_of("POST", "/projects/K/packages"), ROLE_OPERATOR);
    assert_int_equal(role_of("POST", "/projects/K/firmware"), ROLE_OPERATOR);
    assert_int_equal(role_of("DELETE", "/projects/K/firmware/F"), ROLE_OPERATOR);
    assert_int_equal(role_of("POST", "/devices/X/unban"), ROLE_OPERATOR);
    assert_int_equal(role_of("PUT", "/files/a.bin"), ROLE_OPERATOR);
    assert_int_equal(role_of("POST", "/push"), ROLE_OPERATOR);
    assert_int_equal(role_of("PUT", "/push/rate"), ROLE_OPERATOR);
    assert_int_equal(role_of("POST", "/rollouts/3/pause"), ROLE_OPERATOR);
    /* a pattern is whole segments: a longer or shorter path is another route */
    assert_int_equal(role_of("POST", "/projects/K/packages/extra"), ROLE_ADMIN);
    assert_int_equal(role_of("PUT", "/files"), ROLE_ADMIN);
    assert_int_equal(role_of("PUT", "/filesx/a"), ROLE_ADMIN);
    /* unknown writes need an admin */
    assert_int_equal(role_of("POST", "/something/new"), ROLE_ADMIN);
    assert_int_equal(role_of("BREW", "/projects"), ROLE_ADMIN);
    assert_int_equal(role_of("POST", ""), ROLE_ADMIN);
}

static void test_names(void **state)
{
    (void)state;
    assert_int_equal(auth_role_parse("viewer"), ROLE_VIEWER);
    assert_int_equal(auth_role_parse("operator"), ROLE_OPERATOR);
    assert_int_equal(auth_role_parse("admin"), ROLE_ADMIN);
    assert_int_equal(auth_role_parse("Admin"), ROLE_NONE);
    assert_int_equal(auth_role_parse(NULL), ROLE_NONE);
    assert_string_equal(auth_role_name(ROLE_OPERATOR), "operator");
    assert_true(auth_name_valid("ci-reader_1.x"));
    assert_false(auth_name_valid(""));
    assert_false(auth_name_valid("-x"));
    assert_false(auth_name_valid(".x"));
    assert_false(auth_name_valid("a b"));
    assert_false(auth_name_valid("a/b"));
    char long_name[80];
    memset(long_name, 'a', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = 0;
    assert_false(auth_name_valid(long_name));
}

/* ---- a store with only the token table ------------------------------------ */

static store_token rows[8];
static size_t nrows;

static store_err t_load(store *s, store_token_cb cb, void *arg)
{
    (void)s;
    for (size_t i = 0; i < nrows; i++)
        if (cb(arg, &rows[i]))
            break;
    return STORE_OK;
}
static store_err t_insert(store *s, const store_token *t)
{
    (void)s;
    for (size_t i = 0; i < nrows; i++)
        if (!strcmp(rows[i].name, t->name) || !strcmp(rows[i].sha256, t->sha256))
            return STORE_CONFLICT;
    rows[nrows++] = *t;
    return STORE_OK;
}
static store_err t_upsert(store *s, const store_token *t)
{
    (void)s;
    for (size_t i = 0; i < nrows; i++)
        if (!strcmp(rows[i].name, t->name)) {
            rows[i] = *t;
            return STORE_OK;
        }
    rows[nrows++] = *t;
    return STORE_OK;
}
static store_err t_delete(store *s, const char *name)
{
    (void)s;
    for (size_t i = 0; i < nrows; i++)
        if (!strcmp(rows[i].name, name)) {
            rows[i] = rows[--nrows];
            return STORE_OK;
        }
    return STORE_NOTFOUND;
}
static const store_ops t_ops = {
    .tokens_load = t_load, .token_insert = t_insert, .token_upsert = t_upsert, .token_delete = t_delete};

static void test_tokens(void **state)
{
    (void)state;
    nrows = 0;
    store st = {&t_ops};
    char err[128];
    auth_tokens *t = auth_tokens_open(&st, err, sizeof err);
    assert_non_null(t);
    /* no file, no admin: the caller must make one */
    assert_int_equal(auth_tokens_sync_initial(t, NULL), 1);
    const char *file = "0123456789abcdef0123456789abcdef";
    assert_int_equal(auth_tokens_sync_initial(t, file), 0);
    assert_int_equal(auth_tokens_sync_initial(t, NULL), 0);
    auth_principal who;
    assert_int_equal(auth_tokens_check(t, file, strlen(file), &who), 1);
    assert_string_equal(who.name, "initial");
    assert_int_equal(who.role, ROLE_ADMIN);
    assert_int_equal(auth_tokens_check(t, file, strlen(file) - 1, &who), 0);
    /* the stored row holds a hash, never the text */
    assert_int_equal(nrows, 1);
    assert_null(strstr(rows[0].sha256, file));
    char text[AUTH_TOKEN_TEXT + 1];
    assert_int_equal(auth_tokens_add(t, "ci", ROLE_VIEWER, text), STORE_OK);
    assert_int_equal(strlen(text), AUTH_TOKEN_TEXT);
    assert_int_equal(auth_tokens_check(t, text, strlen(text), &who), 1);
    assert_string_equal(who.name, "ci");
    assert_int_equal(who.role, ROLE_VIEWER);
    assert_int_equal(auth_tokens_add(t, "ci", ROLE_ADMIN, text), STORE_CONFLICT);
    assert_int_equal(auth_tokens_count(t, ROLE_VIEWER), 2);
    assert_int_equal(auth_tokens_count(t, ROLE_ADMIN), 1);
    assert_int_equal(auth_tokens_revoke(t, "ci"), STORE_OK);
    assert_int_equal(auth_tokens_revoke(t, "ci"), STORE_NOTFOUND);
    /* a new admin.token replaces the hash of "initial" */
    const char *file2 = "fedcba9876543210fedcba9876543210";
    assert_int_equal(auth_tokens_sync_initial(t, file2), 0);
    assert_int_equal(auth_tokens_check(t, file, strlen(file), &who), 0);
    assert_int_equal(auth_tokens_check(t, file2, strlen(file2), &who), 1);
    auth_tokens_free(t);
}

static void test_backoff(void **state)
{
    (void)state;
    nrows = 0;
    store st = {&t_ops};
    char err[128];
    auth_tokens *t = auth_tokens_open(&st, err, sizeof err);
    assert_non_null(t);
    int64_t now = 1000;
    for (int i = 0; i < AUTH_FREE_FAILS - 1; i++) {
        auth_backoff_fail(t, "10.0.0.1", now);
        assert_int_equal(auth_backoff_wait(t, "10.0.0.1", now), 0);
    }
    auth_backoff_fail(t, "10.0.0.1", now);
    assert_int_equal(auth_backoff_wait(t, "10.0.0.1", now), 1);
    assert_int_equal(auth_backoff_wait(t, "10.0.0.2", now), 0); /* per address */
    auth_backoff_fail(t, "10.0.0.1", now);
    assert_int_equal(auth_backoff_wait(t, "10.0.0.1", now), 2);
    for (int i = 0; i < 30; i++)
        auth_backoff_fail(t, "10.0.0.1", now);
    assert_int_equal(auth_backoff_wait(t, "10.0.0.1", now), AUTH_BACKOFF_MAX_S);
    assert_int_equal(auth_backoff_wait(t, "10.0.0.1", now + AUTH_BACKOFF_MAX_S), 0);
    auth_backoff_ok(t, "10.0.0.1");
    auth_backoff_fail(t, "10.0.0.1", now);
    assert_int_equal(auth_backoff_wait(t, "10.0.0.1", now), 0);
    /* many addresses: the table stays bounded and keeps the newest */
    char a[64];
    for (int i = 0; i < AUTH_ADDR_SLOTS + 100; i++) {
        snprintf(a, sizeof a, "192.0.2.%d", i);
        for (int k = 0; k < AUTH_FREE_FAILS; k++)
            auth_backoff_fail(t, a, now + i);
    }
    assert_int_equal(auth_backoff_wait(t, a, now + AUTH_ADDR_SLOTS + 99), 1);
    auth_tokens_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matrix),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_tokens),
        cmocka_unit_test(test_backoff),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
