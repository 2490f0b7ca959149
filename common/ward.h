/*
 * ward -- project-wide macros.  Nothing here allocates or holds state.
 */
#ifndef WARD_H
#define WARD_H

#include <stddef.h>

#define WARD_VERSION "0.1.0"

/* A result that must not be ignored (libsodium's warn_unused_result). */
#define WARD_MUST_CHECK __attribute__((warn_unused_result))
#define WARD_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define WARD_UNUSED __attribute__((unused))
/* A function that never returns (GNU spelling: cppcheck does not read C11 _Noreturn). */
#define WARD_NORETURN __attribute__((noreturn))
/* Kept out of its caller, so that the caller's common path needs no stack frame. */
#define WARD_NOINLINE __attribute__((noinline))

#define WARD_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define WARD_MIN(a, b) ((a) < (b) ? (a) : (b))
#define WARD_MAX(a, b) ((a) > (b) ? (a) : (b))

/* Assert that stays on in release builds; for programmer errors only, never input. */
#define WARD_ASSERT(cond)                                                            \
    do {                                                                             \
        if (!(cond))                                                                 \
            ward_assert_fail(#cond, __FILE__, __LINE__);                             \
    } while (0)

WARD_NORETURN void ward_assert_fail(const char *what, const char *file, int line);

#endif
