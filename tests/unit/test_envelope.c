/*
 * test_envelope -- signed framing: a sealed batch opens, verifies and parses;
 * any flipped bit in the body or the signature is caught; size, count and
 * sequence limits hold; malformed protobuf is refused with a reason; opening in
 * an arena gives the same.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "keys.h"

struct ids {
    struct keys_identity a; /* the sender */
    struct keys_identity b; /* someone else */
};

static int setup(void **state)
{
    static struct ids ids;
    assert_int_equal(keys_init(), 0);
    assert_int_equal(keys_generate(&ids.a), 0);
    assert_int_equal(keys_generate(&ids.b), 0);
    *state = &ids;
    return 0;
}

/* A batch of n events with uids "ev-<i>" sealed as sender at first_seq. */
static int seal_events(const struct keys_identity *id, const char *sender, uint64_t first_seq,
                       size_t n, size_t summary_len, uint8_t **out, size_t *len)
{
    Ward__Event *ev = calloc(n, sizeof(*ev));
    Ward__Message *m = calloc(n, sizeof(*m));
    Ward__Message **mp = calloc(n, sizeof(*mp));
    char (*uid)[32] = calloc(n, sizeof(*uid));
    char *summary = calloc(1, summary_len + 1);
    assert_true(ev && m && mp && uid && summary);
    memset(summary, 's', summary_len);
    for (size_t i = 0; i < n; i++) {
        ward__event__init(&ev[i]);
        ward__message__init(&m[i]);
        snprintf(uid[i], sizeof(uid[i]), "ev-%zu", i);
        ev[i].uid = uid[i];
        ev[i].kind = WARD__EVENT_KIND__PORTSCAN;
        ev[i].summary = summary;
        m[i].kind_case = WARD__MESSAGE__KIND_EVENT;
        m[i].event = &ev[i];
        mp[i] = &m[i];
    }
    Ward__Batch b;
    ward__batch__init(&b);
    b.messages = mp;
    b.n_messages = n;
    Ward__Payload p;
    ward__payload__init(&p);
    p.kind_case = WARD__PAYLOAD__KIND_BATCH;
    p.batch = &b;
    int rc = envelope_seal(&p, sender, first_seq, id, out, len);
    free(ev);
    free(m);
    free(mp);
    free(uid);
    free(summary);
    return rc;
}

/* Opens, verifies with pk and parses buf; returns the first failing step's code. */
static int open_all(const uint8_t *buf, size_t len, const uint8_t *pk, Ward__Payload **out)
{
    Ward__Envelope *env;
    const char *why;
    int rc = envelope_open(buf, len, &env, &why);
    if (rc < 0)
        return rc;
    rc = envelope_verify(env, pk);
    if (rc == 0)
        rc = envelope_payload(env, out, &why);
    envelope_free(env);
    return rc;
}

static void test_envelope_round_trip(void **state)
{
    struct ids *ids = *state;
    uint8_t *buf;
    size_t len;
    assert_int_equal(seal_events(&ids->a, "edge-1", 42, 3, 10, &buf, &len), 0);
    Ward__Envelope *env;
    const char *why;
    assert_int_equal(envelope_open(buf, len, &env, &why), 0);
    assert_string_equal(env->sender, "edge-1");
    assert_int_equal(env->first_seq, 42);
    assert_int_equal(envelope_verify(env, ids->a.pub.sign_pk), 0);
    Ward__Payload *p;
    assert_int_equal(envelope_payload(env, &p, &why), 0);
    assert_int_equal(p->kind_case, WARD__PAYLOAD__KIND_BATCH);
    assert_int_equal(p->batch->n_messages, 3);
    assert_string_equal(p->batch->messages[2]->event->uid, "ev-2");
    envelope_payload_free(p);
    envelope_free(env);
    free(buf);
}

/* In an arena: the same results, every truncation refused, reused after each reset. */
static void test_envelope_arena_opens_the_same(void **state)
{
    struct ids *ids = *state;
    struct envelope_arena *arena = envelope_arena_new();
    assert_non_null(arena);
    uint8_t *buf;
    size_t len;
    /* Larger than one chunk of the arena once unpacked. */
    assert_int_equal(seal_events(&ids->a, "edge-1", 7, 3000, 200, &buf, &len), 0);
    for (int round = 0; round < 3; round++) {
        Ward__Envelope *env;
        const char *why;
        assert_int_equal(envelope_open_in(arena, buf, len, &env, &why), 0);
        assert_string_equal(env->sender, "edge-1");
        assert_int_equal(envelope_verify(env, ids->a.pub.sign_pk), 0);
        Ward__Payload *p;
        assert_int_equal(envelope_payload_in(arena, env, &p, &why), 0);
        assert_int_equal(p->batch->n_messages, 3000);
        assert_string_equal(p->batch->messages[2999]->event->uid, "ev-2999");
        assert_int_equal(strlen(p->batch->messages[0]->event->summary), 200);
        envelope_arena_reset(arena);
    }
    for (size_t n = 0; n < 200; n++) {
        Ward__Envelope *env = NULL;
        const char *why = NULL;
        if (envelope_open_in(arena, buf, n, &env, &why) == 0) {
            Ward__Payload *p = NULL;
            assert_int_not_equal(envelope_verify(env, ids->a.pub.sign_pk), 0);
            (void)!envelope_payload_in(arena, env, &p, &why);
        } else {
            assert_non_null(why);
        }
        envelope_arena_reset(arena);
    }
    envelope_arena_free(arena);
    envelope_arena_free(NULL);
    free(buf);
}

static void test_envelope_other_key_rejected(void **state)
{
    struct ids *ids = *state;
    uint8_t *buf;
    size_t len;
    Ward__Payload *p = NULL;
    assert_int_equal(seal_events(&ids->b, "edge-1", 1, 2, 10, &buf, &len), 0);
    assert_int_equal(open_all(buf, len, ids->a.pub.sign_pk, &p), -EBADMSG);
    assert_null(p);
    free(buf);
}

static void test_envelope_every_flipped_bit_rejected(void **state)
{
    struct ids *ids = *state;
    uint8_t *buf;
    size_t len;
    assert_int_equal(seal_events(&ids->a, "edge-1", 7, 2, 10, &buf, &len), 0);
    /* Every bit of the message: either it no longer parses, or it fails the signature. */
    for (size_t i = 0; i < len; i++) {
        for (unsigned bit = 0; bit < 8; bit++) {
            buf[i] ^= (uint8_t)(1u << bit);
            Ward__Payload *p = NULL;
            int rc = open_all(buf, len, ids->a.pub.sign_pk, &p);
            if (rc == 0) {
                /* Only a change that leaves every signed byte intact may pass. */
                Ward__Envelope *env;
                const char *why;
                assert_int_equal(envelope_open(buf, len, &env, &why), 0);
                assert_int_equal(env->first_seq, 7);
                assert_string_equal(env->sender, "edge-1");
                envelope_free(env);
                envelope_payload_free(p);
            }
            buf[i] ^= (uint8_t)(1u << bit);
        }
    }
    free(buf);
}

static void test_envelope_flipped_body_or_signature_rejected(void **state)
{
    struct ids *ids = *state;
    uint8_t *buf;
    size_t len;
    assert_int_equal(seal_events(&ids->a, "edge-1", 7, 2, 10, &buf, &len), 0);
    Ward__Envelope *env;
    const char *why;
    assert_int_equal(envelope_open(buf, len, &env, &why), 0);
    env->body.data[env->body.len / 2] ^= 0x01;
    assert_int_equal(envelope_verify(env, ids->a.pub.sign_pk), -EBADMSG);
    env->body.data[env->body.len / 2] ^= 0x01;
    env->signature.data[5] ^= 0x80;
    assert_int_equal(envelope_verify(env, ids->a.pub.sign_pk), -EBADMSG);
    env->signature.data[5] ^= 0x80;
    env->first_seq++;
    assert_int_equal(envelope_verify(env, ids->a.pub.sign_pk), -EBADMSG);
    env->first_seq--;
    assert_int_equal(envelope_verify(env, ids->a.pub.sign_pk), 0);
    envelope_free(env);
    free(buf);
}

static void test_envelope_oversized_rejected(void **state)
{
    struct ids *ids = *state;
    uint8_t *buf;
    size_t len;
    /* 3 events of 3 MiB each: over the 8 MiB message limit. */
    assert_int_equal(seal_events(&ids->a, "edge-1", 1, 3, 3u << 20, &buf, &len), -ENOSPC);
    assert_null(buf);
    /* And a receiver refuses anything over the limit before parsing it. */
    size_t big = ENVELOPE_MAX_BYTES + 1;
    uint8_t *junk = calloc(1, big);
    Ward__Envelope *env;
    const char *why = NULL;
    assert_int_equal(envelope_open(junk, big, &env, &why), -EMSGSIZE);
    assert_non_null(why);
    free(junk);
}

static void test_envelope_too_many_messages_rejected(void **state)
{
    struct ids *ids = *state;
    uint8_t *buf;
    size_t len;
    Ward__Payload *p = NULL;
    assert_int_equal(seal_events(&ids->a, "edge-1", 1, ENVELOPE_MAX_MESSAGES + 1, 1, &buf, &len),
                     0);
    assert_int_equal(open_all(buf, len, ids->a.pub.sign_pk, &p), -EBADMSG);
    free(buf);
}

static void test_envelope_batch_needs_sequence(void **state)
{
    struct ids *ids = *state;
    uint8_t *buf;
    size_t len;
    Ward__Payload *p = NULL;
    assert_int_equal(seal_events(&ids->a, "edge-1", 0, 1, 1, &buf, &len), 0);
    assert_int_equal(open_all(buf, len, ids->a.pub.sign_pk, &p), -EBADMSG);
    free(buf);
    assert_int_equal(seal_events(&ids->a, "edge-1", UINT64_MAX, 2, 1, &buf, &len), 0);
    assert_int_equal(open_all(buf, len, ids->a.pub.sign_pk, &p), -EBADMSG);
    free(buf);
}

static void test_envelope_malformed_protobuf(void **state)
{
    struct ids *ids = *state;
    uint8_t *buf;
    size_t len;
    assert_int_equal(seal_events(&ids->a, "edge-1", 1, 4, 50, &buf, &len), 0);
    /* Every truncation is refused, with a reason. */
    for (size_t n = 0; n < len; n++) {
        Ward__Envelope *env = NULL;
        const char *why = NULL;
        int rc = envelope_open(buf, n, &env, &why);
        if (rc == 0) {
            /* A prefix may still be a well-formed envelope, but never a valid one. */
            assert_int_not_equal(envelope_verify(env, ids->a.pub.sign_pk), 0);
            envelope_free(env);
        } else {
            assert_non_null(why);
        }
    }
    const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x02};
    Ward__Envelope *env = NULL;
    const char *why = NULL;
    assert_int_equal(envelope_open(garbage, sizeof(garbage), &env, &why), -EBADMSG);
    assert_non_null(why);
    free(buf);
}

static void test_envelope_signed_garbage_body(void **state)
{
    struct ids *ids = *state;
    const uint8_t body[] = {0x0a, 0x80, 0x80, 0x80};
    uint8_t *buf;
    size_t len;
    assert_int_equal(envelope_seal_body(body, sizeof(body), "edge-1", 1, &ids->a, &buf, &len), 0);
    Ward__Envelope *env;
    const char *why = NULL;
    assert_int_equal(envelope_open(buf, len, &env, &why), 0);
    assert_int_equal(envelope_verify(env, ids->a.pub.sign_pk), 0);
    Ward__Payload *p = NULL;
    assert_int_equal(envelope_payload(env, &p, &why), -EBADMSG);
    assert_non_null(why);
    envelope_free(env);
    free(buf);
}

static void test_envelope_sender_limit(void **state)
{
    struct ids *ids = *state;
    char name[ENVELOPE_MAX_SENDER + 2];
    memset(name, 'n', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    uint8_t *buf;
    size_t len;
    assert_int_equal(seal_events(&ids->a, name, 1, 1, 1, &buf, &len), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_envelope_round_trip),
        cmocka_unit_test(test_envelope_arena_opens_the_same),
        cmocka_unit_test(test_envelope_other_key_rejected),
        cmocka_unit_test(test_envelope_every_flipped_bit_rejected),
        cmocka_unit_test(test_envelope_flipped_body_or_signature_rejected),
        cmocka_unit_test(test_envelope_oversized_rejected),
        cmocka_unit_test(test_envelope_too_many_messages_rejected),
        cmocka_unit_test(test_envelope_batch_needs_sequence),
        cmocka_unit_test(test_envelope_malformed_protobuf),
        cmocka_unit_test(test_envelope_signed_garbage_body),
        cmocka_unit_test(test_envelope_sender_limit),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
