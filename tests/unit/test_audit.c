/*
 * test_audit -- the hash-chained audit log: append, verify, and tampering of
 * every kind (changed, deleted, inserted rows; the tail cut off) found and named.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "audit.h"
#include "clock.h"
#include "keys.h"
#include "store.h"
#include "store_int.h"

static const struct actor alice = {.uid = 1001, .name = "alice", .role = ROLE_OPERATOR};

static int setup(void **state)
{
    struct store *st = NULL;
    assert_int_equal(keys_init(), 0);
    clock_fake_set(1763700000ULL * USEC_PER_SEC);
    assert_int_equal(store_open(":memory:", &st), 0);
    assert_int_equal(audit_init_store(st), 0);
    *state = st;
    return 0;
}

static int teardown(void **state)
{
    store_close(*state);
    clock_fake_off();
    return 0;
}

static void append_n(struct store *st, int n)
{
    for (int i = 0; i < n; i++) {
        json_t *d = json_pack("{s:i, s:s}", "n", i, "note", "x");
        int64_t id = 0;
        assert_int_equal(audit_append(st, &alice, "incident.note", "incident", 7, d, &id), 0);
        json_decref(d);
        clock_fake_advance(USEC_PER_SEC);
    }
}

static void sql(struct store *st, const char *q)
{
    assert_int_equal(store_exec(st, q), 0);
}

static void test_audit_empty_log_verifies(void **state)
{
    struct audit_verify_result res;
    assert_int_equal(audit_verify(*state, &res), 0);
    assert_true(res.ok);
    assert_int_equal(res.rows, 0);
}

static void test_audit_append_chains_rows(void **state)
{
    struct store *st = *state;
    append_n(st, 5);
    struct audit_verify_result res;
    assert_int_equal(audit_verify(st, &res), 0);
    assert_true(res.ok);
    assert_int_equal(res.rows, 5);
    assert_int_equal(strlen(res.head), 64);

    json_t *rows = NULL;
    struct audit_query q = {.object = "incident", .object_id = 7};
    assert_int_equal(audit_query(st, &q, &rows), 0);
    assert_int_equal(json_array_size(rows), 5);
    json_t *second = json_array_get(rows, 1);
    assert_string_equal(json_string_value(json_object_get(second, "prev_hash")),
                        json_string_value(json_object_get(json_array_get(rows, 0), "hash")));
    assert_string_equal(json_str(second, "actor", ""), "alice");
    assert_string_equal(json_str(second, "role", ""), "operator");
    json_decref(rows);
}

static void test_audit_rejects_bad_arguments(void **state)
{
    json_t *arr = json_array();
    assert_int_equal(audit_append(*state, &alice, "", "incident", 1, NULL, NULL), -EINVAL);
    assert_int_equal(audit_append(*state, &alice, "x.y", "incident", 1, arr, NULL), -EINVAL);
    json_decref(arr);
}

static void test_audit_edit_is_named(void **state)
{
    struct store *st = *state;
    append_n(st, 5);
    sql(st, "UPDATE audit SET details = '{\"n\":9}' WHERE id = 3");
    struct audit_verify_result res;
    assert_int_equal(audit_verify(st, &res), 0);
    assert_false(res.ok);
    assert_int_equal(res.bad_id, 3);
    assert_non_null(strstr(res.reason, "row 3 was changed"));
}

static void test_audit_edit_with_rehash_is_named(void **state)
{
    /* Someone who rewrites a row and its hash still breaks the next row's link. */
    struct store *st = *state;
    append_n(st, 5);
    sql(st, "UPDATE audit SET hash = 'ab' || substr(hash, 3) WHERE id = 2");
    struct audit_verify_result res;
    assert_int_equal(audit_verify(st, &res), 0);
    assert_false(res.ok);
    assert_int_equal(res.bad_id, 2);
}

static void test_audit_delete_is_named(void **state)
{
    struct store *st = *state;
    append_n(st, 5);
    sql(st, "DELETE FROM audit WHERE id = 3");
    struct audit_verify_result res;
    assert_int_equal(audit_verify(st, &res), 0);
    assert_false(res.ok);
    assert_int_equal(res.bad_id, 3);
    assert_non_null(strstr(res.reason, "row 3 was deleted"));
}

static void test_audit_delete_first_is_named(void **state)
{
    struct store *st = *state;
    append_n(st, 3);
    sql(st, "DELETE FROM audit WHERE id = 1");
    struct audit_verify_result res;
    assert_int_equal(audit_verify(st, &res), 0);
    assert_false(res.ok);
    assert_int_equal(res.bad_id, 1);
    assert_non_null(strstr(res.reason, "row 1 was deleted"));
}

static void test_audit_delete_tail_is_named(void **state)
{
    struct store *st = *state;
    append_n(st, 5);
    sql(st, "DELETE FROM audit WHERE id = 5");
    struct audit_verify_result res;
    assert_int_equal(audit_verify(st, &res), 0);
    assert_false(res.ok);
    assert_int_equal(res.bad_id, 5);
    assert_non_null(strstr(res.reason, "row 5 was deleted"));
}

static void test_audit_insert_at_end_is_named(void **state)
{
    struct store *st = *state;
    append_n(st, 4);
    sql(st, "INSERT INTO audit(time_usec, actor, uid, role, action, object, object_id, "
            "details, prev_hash, hash) SELECT time_usec, 'mallory', 0, 'admin', "
            "'incident.close', 'incident', 7, '{}', hash, hash FROM audit WHERE id = 4");
    struct audit_verify_result res;
    assert_int_equal(audit_verify(st, &res), 0);
    assert_false(res.ok);
    assert_int_equal(res.bad_id, 5);
    assert_non_null(strstr(res.reason, "row 5 was inserted"));
}

static void test_audit_insert_in_gap_is_named(void **state)
{
    /* A row slipped in before the first one (id 0) breaks the chain's start. */
    struct store *st = *state;
    append_n(st, 3);
    sql(st, "INSERT INTO audit(id, time_usec, actor, uid, role, action, object, object_id, "
            "details, prev_hash, hash) VALUES (0, 1, 'mallory', 0, 'admin', 'x.y', '', 0, "
            "'{}', '', '')");
    struct audit_verify_result res;
    assert_int_equal(audit_verify(st, &res), 0);
    assert_false(res.ok);
    assert_int_equal(res.bad_id, 0);
    assert_non_null(strstr(res.reason, "row 0 was inserted"));
}

static void test_audit_append_after_tail_cut_still_fails(void **state)
{
    /* New rows follow the recorded head, so a cut tail stays visible. */
    struct store *st = *state;
    append_n(st, 4);
    sql(st, "DELETE FROM audit WHERE id >= 3");
    append_n(st, 1);
    struct audit_verify_result res;
    assert_int_equal(audit_verify(st, &res), 0);
    assert_false(res.ok);
    assert_int_equal(res.bad_id, 3);
    assert_non_null(strstr(res.reason, "rows 3-4 were deleted"));
}

static void test_audit_append_joins_callers_rollback(void **state)
{
    struct store *st = *state;
    append_n(st, 2);
    assert_int_equal(store_begin(st), 0);
    append_n(st, 2);
    store_rollback(st);
    append_n(st, 1);
    struct audit_verify_result res;
    assert_int_equal(audit_verify(st, &res), 0);
    assert_true(res.ok);
    assert_int_equal(res.rows, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_audit_empty_log_verifies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_append_chains_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_rejects_bad_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_edit_is_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_edit_with_rehash_is_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_delete_is_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_delete_first_is_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_delete_tail_is_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_insert_at_end_is_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_insert_in_gap_is_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_append_after_tail_cut_still_fails, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_audit_append_joins_callers_rollback, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
