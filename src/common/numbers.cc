// Strict decimal parsing; see numbers.h for the rules and why.
#include "common/numbers.h"

#include <array>
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

}  // namespace

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
    char tmp[20];
    size_t at = sizeof(tmp);
    while (v >= 100) {
        at -= 2;
        std::memcpy(tmp + at, &kDigitPairs[2 * (v % 100)], 2);
        v /= 100;
    }
    if (v >= 10) {
        at -= 2;
        std::memcpy(tmp + at, &kDigitPairs[2 * v], 2);
    } else {
        tmp[--at] = static_cast<char>('0' + v);
    }
    std::memcpy(buf, tmp + at, sizeof(tmp) - at);
    return sizeof(tmp) - at;
}

size_t decimal_digits(uint64_t v) {
    size_t n = 1;
    for (; v >= 10000; v /= 10000)
        n += 4;
    return n + (v >= 10) + (v >= 100) + (v >= 1000);
}

size_t format_i64(int64_t v, char* buf) {
    if (v >= 0) return format_u64(static_cast<uint64_t>(v), buf);
    buf[0] = '-';
    return 1 + format_u64(0 - static_cast<uint64_t>(v), buf + 1);
}

}  // namespace fulmar
