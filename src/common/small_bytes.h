// Copies and compares of a few dozen bytes without a libc call: the GET
// path's keys (16 B typical) and small values (32 B) are shorter than what
// memcpy/memcmp's dispatch costs. Overlapping fixed-size loads and stores
// cover every length up to 32 bytes in two moves; longer ones go to libc.
//
// Any thread; pure. Reads and writes only [p, p + n): never past the end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace fulmar {

inline void copy_small(char* dst, const char* src, size_t n) {
    if (n >= 16) {
        if (n > 32) {
            std::memcpy(dst, src, n);
            return;
        }
        // Both loads first: the two halves may overlap each other.
        uint64_t a[2], b[2];
        std::memcpy(a, src, 16);
        std::memcpy(b, src + n - 16, 16);
        std::memcpy(dst, a, 16);
        std::memcpy(dst + n - 16, b, 16);
    } else if (n >= 8) {
        uint64_t a, b;
        std::memcpy(&a, src, 8);
        std::memcpy(&b, src + n - 8, 8);
        std::memcpy(dst, &a, 8);
        std::memcpy(dst + n - 8, &b, 8);
    } else if (n >= 4) {
        uint32_t a, b;
        std::memcpy(&a, src, 4);
        std::memcpy(&b, src + n - 4, 4);
        std::memcpy(dst, &a, 4);
        std::memcpy(dst + n - 4, &b, 4);
    } else {
        for (size_t i = 0; i < n; ++i)
            dst[i] = src[i];
    }
}

// a[0..n) == b[0..n).
inline bool equal_small(const char* a, const char* b, size_t n) {
    if (n > 32) return std::memcmp(a, b, n) == 0;
    if (n > 16) return equal_small(a, b, 16) && equal_small(a + n - 16, b + n - 16, 16);
    if (n >= 8) {
        uint64_t a0, a1, b0, b1;
        std::memcpy(&a0, a, 8);
        std::memcpy(&b0, b, 8);
        std::memcpy(&a1, a + n - 8, 8);
        std::memcpy(&b1, b + n - 8, 8);
        return ((a0 ^ b0) | (a1 ^ b1)) == 0;
    }
    if (n >= 4) {
        uint32_t a0, a1, b0, b1;
        std::memcpy(&a0, a, 4);
        std::memcpy(&b0, b, 4);
        std::memcpy(&a1, a + n - 4, 4);
        std::memcpy(&b1, b + n - 4, 4);
        return ((a0 ^ b0) | (a1 ^ b1)) == 0;
    }
    for (size_t i = 0; i < n; ++i)
        if (a[i] != b[i]) return false;
    return true;
}

}  // namespace fulmar
