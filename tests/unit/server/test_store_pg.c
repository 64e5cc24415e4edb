/*
 * test_store_pg.c — the PostgreSQL backend's pieces that need no database:
 * both backends' schema steps end at the same version, the db settings are
 * checked, and a database that cannot be reached is refused with a clear
 * message (the integration tests in tests/integration/postgres.cmake run
 * the backend itself on a throw-away cluster).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "store.h"
#include "store_pg.h"

static void schema_versions_equal(void **state)
{
    (void)state;
    assert_true(store_sqlite_schema_version() >= 1);
    assert_int_equal(store_pg_schema_version(), store_sqlite_schema_version());
}

static void db_settings(void **state)
{
    (void)state;
    of_config c;
    char err[256];
    config_defaults(&c);
    assert_string_equal(c.db, "");
    assert_int_equal(c.db_pool, STORE_PG_POOL_DEFAULT);
    assert_int_equal(config_set(&c, "db", "postgresql://u@127.0.0.1:5432/d", err, sizeof err), 0);
    assert_string_equal(c.db, "postgresql://u@127.0.0.1:5432/d");
    assert_int_equal(config_set(&c, "db", "postgres://u@h/d", err, sizeof err), 0);
    assert_int_equal(config_set(&c, "db", "/var/lib/openfota", err, sizeof err), -1);
    assert_non_null(strstr(err, "postgresql://"));
    assert_int_equal(config_set(&c, "db", "mysql://u@h/d", err, sizeof err), -1);
    assert_int_equal(config_set(&c, "db_pool", "8", err, sizeof err), 0);
    assert_int_equal(c.db_pool, 8);
    assert_int_equal(config_set(&c, "db_pool", "0", err, sizeof err), -1);
    assert_int_equal(config_set(&c, "db_pool", "65", err, sizeof err), -1);
    const char *text = "db = postgresql://a@b/c\ndb_pool = 2\n";
    assert_int_equal(config_parse_text(&c, text, strlen(text), err, sizeof err), 0);
    assert_string_equal(c.db, "postgresql://a@b/c");
    assert_int_equal(c.db_pool, 2);
}

static void unreachable_database_refused(void **state)
{
    (void)state;
    char err[512] = "";
    /* port 1 on loopback: nothing listens there */
    store *s = store_pg_open("postgresql://openfota@127.0.0.1:1/none", 2, err, sizeof err);
    assert_null(s);
    assert_non_null(strstr(err, "cannot connect to the database"));
    s = store_pg_open("sqlite:/tmp/x", 2, err, sizeof err);
    assert_null(s);
    assert_non_null(strstr(err, "postgresql://"));
    assert_string_equal(store_strerror(STORE_UNAVAILABLE), "database unavailable, retry");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(schema_versions_equal),
        cmocka_unit_test(db_settings),
        cmocka_unit_test(unreachable_database_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
