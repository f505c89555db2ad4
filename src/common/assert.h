// Invariant checks: FULMAR_ASSERT for debug builds, FULMAR_CHECK for fatal ones.
//
// Any thread. Never assert on anything that input controls: bad packets,
// commands and configs get a status, not an abort.
#pragma once

#include <cstdio>
#include <cstdlib>

namespace fulmar::detail {
[[noreturn]] inline void check_failed(const char* expr, const char* file, int line) {
    std::fprintf(stderr, "fulmar: check failed: %s at %s:%d\n", expr, file, line);
    std::abort();
}
}  // namespace fulmar::detail

#define FULMAR_CHECK(expr)                                             \
    do {                                                               \
        if (__builtin_expect(!(expr), 0))                              \
            ::fulmar::detail::check_failed(#expr, __FILE__, __LINE__); \
    } while (0)

#ifdef NDEBUG
#define FULMAR_ASSERT(expr) \
    do {                    \
    } while (0)
#else
#define FULMAR_ASSERT(expr) FULMAR_CHECK(expr)
#endif

#define FULMAR_LIKELY(x) __builtin_expect(!!(x), 1)
#define FULMAR_UNLIKELY(x) __builtin_expect(!!(x), 0)
