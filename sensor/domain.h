/*
 * domain -- registered domains ("example.co.uk" of "a.b.example.co.uk") from the
 * Public Suffix List, through libpsl (this module is its only user).
 *
 * The list is loaded once, on first use, from the system's publicsuffix package
 * (falling back to libpsl's built-in copy); afterwards lookups never allocate:
 * the list's answers for recently asked suffixes are kept in a fixed table.
 * Names are lower-case dotted text as the decoders leave them.  Not thread-safe
 * (the capture thread is its only caller).
 */
#ifndef WARD_DOMAIN_H
#define WARD_DOMAIN_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Copies the registered domain of name into out (cap bytes) and returns out.
 * Names under no known suffix keep their last two labels ("pirate.sea"); a name
 * of one label is returned whole.  Returns NULL for an empty name.
 */
const char *domain_registered(const char *name, char *out, size_t cap);

/* True if name is domain or ends in "." + domain. */
bool domain_is_within(const char *name, const char *domain);

#endif
