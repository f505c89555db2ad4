// Strict decimal parsing; see numbers.h for the rules and why.
#include "common/numbers.h"

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

size_t format_u64(uint64_t v, char* buf) {
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = static_cast<char>('0' + v % 10);
        v /= 10;
    } while (v != 0);
    for (size_t i = 0; i < n; ++i)
        buf[i] = tmp[n - 1 - i];
    return n;
}

size_t format_i64(int64_t v, char* buf) {
    if (v >= 0) return format_u64(static_cast<uint64_t>(v), buf);
    buf[0] = '-';
    return 1 + format_u64(0 - static_cast<uint64_t>(v), buf + 1);
}

}  // namespace fulmar
