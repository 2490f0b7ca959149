/*
 * fuzz_control -- one control-socket request line through control_request():
 * the JSON parser, the request checks, the role check and the read-only verbs
 * of the core modules, against a :memory: store made once.  The peer is a
 * viewer, so nothing the fuzzer sends changes state between runs.
 */
#include "fuzz.h"

#include <stdlib.h>

#include "audit.h"
#include "console.h"
#include "control.h"
#include "modules.h"
#include "sensors.h"
#include "store.h"

static const struct console_module *const fuzz_modules[] = {&audit_module, &sensors_module,
                                                            NULL};

static struct console *fuzz_console(void)
{
    static struct console c;
    static int ready;
    if (!ready) {
        c.modules = fuzz_modules;
        if (store_open(":memory:", &c.store) < 0 || modules_init(&c) < 0)
            abort();
        ready = 1;
    }
    return &c;
}

int FUZZ_ENTRY(const uint8_t *data, size_t size)
{
    static const struct actor viewer = {1000, "fuzz", ROLE_VIEWER};
    if (size > (64u << 10))
        return 0;
    json_t *reply = control_request(fuzz_console(), &viewer, (const char *)data, size);
    if (!reply || !json_is_boolean(json_object_get(reply, "ok")))
        __builtin_trap(); /* every request gets a well-formed reply */
    if (!json_is_true(json_object_get(reply, "ok")) &&
        !json_is_string(json_object_get(reply, "error")))
        __builtin_trap(); /* every refusal says why */
    json_decref(reply);
    return 0;
}
