// The set and hash commands' shared pieces; see resp_coll_util.h.
#include "engine/resp_coll_util.h"

#include <algorithm>
#include <climits>
#include <numeric>
#include <random>

#include "engine/resp_commands.h"
#include "engine/resp_util.h"

namespace fulmar::engine::resp {
namespace {

struct SplitMix64 {
    SplitMix64() {
        std::random_device rd;
        state = (uint64_t{rd()} << 32) ^ rd();
    }
    uint64_t next() {
        uint64_t z = (state += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    uint64_t state = 0;
};

SplitMix64& rng() {
    thread_local SplitMix64 r;
    return r;
}

}  // namespace

size_t random_below(size_t n) {
    // n is bounded by an item's entries (< 2^20): the modulo's bias is
    // below 2^-44.
    return static_cast<size_t>(rng().next() % n);
}

std::vector<size_t> random_distinct(size_t n, size_t k) {
    std::vector<size_t> idx(n);
    std::iota(idx.begin(), idx.end(), size_t{0});
    for (size_t i = 0; i < k; ++i)
        std::swap(idx[i], idx[i + random_below(n - i)]);
    idx.resize(k);
    return idx;
}

bool random_reply_fits(uint64_t count, size_t longest, size_t per_pick_entries) {
    // "$<len>\r\n<bytes>\r\n" at most 24 bytes of framing per entry.
    const uint64_t per_pick = (uint64_t{longest} + 24) * per_pick_entries + 8;
    return count <= kMaxRandomReplyBytes / per_pick;
}

void write_random_too_large(proto::ReplySink& out) {
    RespWriter(out).write_error(
        "count is too large: the reply would pass 64 MiB (a negative count repeats entries)");
}

bool parse_scan_cursor(std::string_view s, uint64_t& cursor, proto::ReplySink& out) {
    // strtoul(s, &end, 10) with Redis's checks, on a byte string (a NUL in
    // the argument ends strtoul's parse, so it is a trailing byte).
    size_t i = 0;
    bool negative = false;
    if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
        negative = s[0] == '-';
        ++i;
    }
    uint64_t v = 0;
    bool overflow = false;
    const size_t digits_from = i;
    for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
        const uint64_t d = static_cast<uint64_t>(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) overflow = true;
        v = v * 10 + d;
    }
    // No digit at all: strtoul consumed nothing, so only "" ends there.
    const bool ok = i == digits_from ? s.empty() : (i == s.size() && !overflow);
    if (!ok) {
        RespWriter(out).write_error("invalid cursor");
        return false;
    }
    cursor = negative ? 0 - v : v;
    return true;
}

bool parse_scan_options(std::span<const std::string_view> args, size_t first, ScanOptions& o,
                        proto::ReplySink& out) {
    for (size_t i = first; i < args.size();) {
        const bool has_value = args.size() - i >= 2;
        if (iequals(args[i], "count") && has_value) {
            if (!resp_parse_int(args[i + 1], o.count)) {
                RespWriter(out).write_error(kErrNotInteger);
                return false;
            }
            if (o.count < 1) {
                RespWriter(out).write_error(kErrSyntax);
                return false;
            }
        } else if (iequals(args[i], "match") && has_value) {
            o.pattern = args[i + 1];
            o.use_pattern = o.pattern != "*";
        } else {
            RespWriter(out).write_error(kErrSyntax);
            return false;
        }
        i += 2;
    }
    return true;
}

ScanSlice scan_slice(size_t n, uint64_t cursor, int64_t count) {
    if (n <= kScanWholeUpTo) return {0, n, 0};
    const size_t hi = cursor == 0 ? n : static_cast<size_t>(std::min<uint64_t>(cursor, n));
    const size_t lo = hi > static_cast<uint64_t>(count) ? hi - static_cast<size_t>(count) : 0;
    return {lo, hi, lo};
}

}  // namespace fulmar::engine::resp
