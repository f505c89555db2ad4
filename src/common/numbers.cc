// Strict decimal parsing; see numbers.h for the rules and why.
#include "common/numbers.h"

#include <array>
#include <bit>
#include <cstring>
#include <limits>

namespace fulmar {
namespace {

// Digits only, no sign. Overflow is an error rather than a saturation, as
// strtoull reports ERANGE and memcached rejects it.
bool parse_digits(std::string_view s, uint64_t& out) {
    if (s.empty() || s.size() > 20) return false;
    uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        const uint64_t d = static_cast<uint64_t>(c - '0');
        if (v > (std::numeric_limits<uint64_t>::max() - d) / 10) return false;
        v = v * 10 + d;
    }
    out = v;
    return true;
}

}  // namespace

bool parse_u64(std::string_view s, uint64_t& out) {
    if (!s.empty() && s.front() == '+') s.remove_prefix(1);
    return parse_digits(s, out);
}

bool parse_u32(std::string_view s, uint32_t& out) {
    uint64_t v = 0;
    if (!parse_u64(s, v) || v > std::numeric_limits<uint32_t>::max()) return false;
    out = static_cast<uint32_t>(v);
    return true;
}

bool parse_i64(std::string_view s, int64_t& out) {
    bool neg = false;
    if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
        neg = s.front() == '-';
        s.remove_prefix(1);
    }
    uint64_t mag = 0;
    if (!parse_digits(s, mag)) return false;
    const uint64_t limit =
        static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) + (neg ? 1 : 0);
    if (mag > limit) return false;
    out = neg ? static_cast<int64_t>(0 - mag) : static_cast<int64_t>(mag);
    return true;
}

bool parse_i32(std::string_view s, int32_t& out) {
    int64_t v = 0;
    if (!parse_i64(s, v)) return false;
    if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max())
        return false;
    out = static_cast<int32_t>(v);
    return true;
}

namespace {

// "00".."99": two digits per division instead of one.
constexpr std::array<char, 200> kDigitPairs = [] {
    std::array<char, 200> t{};
    for (int i = 0; i < 100; ++i) {
        t[static_cast<size_t>(2 * i)] = static_cast<char>('0' + i / 10);
        t[static_cast<size_t>(2 * i + 1)] = static_cast<char>('0' + i % 10);
    }
    return t;
}();

// 10^0 .. 10^19: the digit count from the bit width, one compare to settle.
constexpr std::array<uint64_t, 20> kPow10 = [] {
    std::array<uint64_t, 20> t{};
    uint64_t p = 1;
    for (auto& x : t) {
        x = p;
        p *= 10;
    }
    return t;
}();

}  // namespace

size_t decimal_digits(uint64_t v) {
    // floor(log10(2^bits)) is bits * 1233 / 4096 for every width up to 64;
    // the number itself is that many digits or one more.
    const auto t = static_cast<size_t>((std::bit_width(v) * 1233) >> 12);
    return t + (v >= kPow10[t]) + (v == 0);
}

size_t format_u64(uint64_t v, char* buf) {
    // Flags, lengths and small CAS values dominate replies: a branch each.
    if (v < 10) {
        buf[0] = static_cast<char>('0' + v);
        return 1;
    }
    if (v < 100) {
        std::memcpy(buf, &kDigitPairs[2 * v], 2);
        return 2;
    }
    // Written from its last digit back, straight into `buf` (no copy of a
    // variable length: that was a libc call per number).
    const size_t n = decimal_digits(v);
    char* p = buf + n;
    while (v >= 100) {
        p -= 2;
        std::memcpy(p, &kDigitPairs[2 * (v % 100)], 2);
        v /= 100;
    }
    if (v >= 10) {
        std::memcpy(p - 2, &kDigitPairs[2 * v], 2);
    } else {
        p[-1] = static_cast<char>('0' + v);
    }
    return n;
}

size_t format_i64(int64_t v, char* buf) {
    if (v >= 0) return format_u64(static_cast<uint64_t>(v), buf);
    buf[0] = '-';
    return 1 + format_u64(0 - static_cast<uint64_t>(v), buf + 1);
}

}  // namespace fulmar
