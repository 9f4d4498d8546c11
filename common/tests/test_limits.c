/* test_limits.c — FULLCONV_LIMITS parsing (common/limits_env.c): names, suffixes, 32-bit
 * fields, and that a bad spec (unknown name, bad value, overflow) changes nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/fc_common.h"

static fc_limits saved;

static int save_limits(void **state)
{
    (void)state;
    saved = fc_limits_current;
    return 0;
}

static int restore_limits(void **state)
{
    (void)state;
    fc_limits_current = saved;
    unsetenv("FULLCONV_LIMITS");
    return 0;
}

static void test_defaults(void **state)
{
    (void)state;
    assert_int_equal(fc_limits_current.max_file_bytes, 4ull << 30);
    assert_int_equal(fc_limits_current.max_nesting, 100);
    assert_int_equal(fc_limits_current.max_arena_bytes, 8ull << 30);
}

static void test_parse_suffixes(void **state)
{
    (void)state;
    fc_error err = {0};
    assert_int_equal(fc_limits_parse("max_file_bytes=16G,max_nesting=200,max_string_bytes=3k,max_zip_ratio=5000", &err), 0);
    assert_int_equal(fc_limits_current.max_file_bytes, 16ull << 30);
    assert_int_equal(fc_limits_current.max_nesting, 200);
    assert_int_equal(fc_limits_current.max_string_bytes, 3072);
    assert_int_equal(fc_limits_current.max_zip_ratio, 5000);
    assert_int_equal(fc_limits_current.max_tensors, saved.max_tensors);   /* untouched */
    assert_int_equal(fc_limits_parse("max_arena_bytes=1T,", &err), 0);    /* trailing comma ok */
    assert_int_equal(fc_limits_current.max_arena_bytes, 1ull << 40);
}

static void test_bad_spec_changes_nothing(void **state)
{
    (void)state;
    const char *bad[] = {
        "max_nesting=200,no_such_limit=3",  /* unknown name after a good one */
        "max_nesting",                      /* no value */
        "max_nesting=-1", "max_nesting=0", "max_nesting=12x", "max_nesting=1.5",
        "max_nesting=4294967296",           /* over a 32-bit field */
        "max_file_bytes=99999999999999999999", "max_file_bytes=20000000000T",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fc_error err = {0};
        assert_int_equal(fc_limits_parse(bad[i], &err), -1);
        assert_int_equal(err.code, FC_EINPUT);
        assert_non_null(strstr(err.msg, "FULLCONV_LIMITS"));
        assert_memory_equal(&fc_limits_current, &saved, sizeof saved);
    }
}

static void test_from_env(void **state)
{
    (void)state;
    fc_error err = {0};
    unsetenv("FULLCONV_LIMITS");
    assert_int_equal(fc_limits_init_from_env(&err), 0);
    assert_memory_equal(&fc_limits_current, &saved, sizeof saved);
    setenv("FULLCONV_LIMITS", "max_pickle_memo=7", 1);
    assert_int_equal(fc_limits_init_from_env(&err), 0);
    assert_int_equal(fc_limits_current.max_pickle_memo, 7);
    setenv("FULLCONV_LIMITS", "max_pickle_memo=", 1);
    assert_int_equal(fc_limits_init_from_env(&err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, save_limits, restore_limits),
        cmocka_unit_test_setup_teardown(test_parse_suffixes, save_limits, restore_limits),
        cmocka_unit_test_setup_teardown(test_bad_spec_changes_nothing, save_limits, restore_limits),
        cmocka_unit_test_setup_teardown(test_from_env, save_limits, restore_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
