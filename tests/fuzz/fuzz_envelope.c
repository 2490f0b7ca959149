/*
 * fuzz_envelope -- sensor frames as the console decodes them: envelope_open(),
 * then envelope_payload() on the same bytes as a body (signature not required:
 * the payload parser must be safe even on bytes that passed a signature check).
 */
#include "fuzz.h"

#include "envelope.h"

int FUZZ_ENTRY(const uint8_t *data, size_t size)
{
    if (size > (64u << 10))
        return 0;
    Ward__Envelope *env = NULL;
    const char *why = NULL;
    if (envelope_open(data, size, &env, &why) == 0) {
        Ward__Payload *p = NULL;
        if (envelope_payload(env, &p, &why) == 0)
            envelope_payload_free(p);
        envelope_free(env);
    }
    Ward__Envelope fake;
    ward__envelope__init(&fake);
    fake.version = 1;
    static char sender[] = "fuzz";
    fake.sender = sender;
    fake.first_seq = 1;
    fake.body.data = (uint8_t *)(uintptr_t)data;
    fake.body.len = size;
    Ward__Payload *p = NULL;
    if (envelope_payload(&fake, &p, &why) == 0)
        envelope_payload_free(p);
    return 0;
}
