// Reply verification; see reply_check.h for the grammar checked.
#include "reply_check.h"

#include <cstring>

#include "common/numbers.h"

namespace fulmar::pktgen {
namespace {

constexpr std::string_view kValue = "VALUE ";
constexpr std::string_view kEnd = "END\r\n";
constexpr std::string_view kStored = "STORED\r\n";
// The end of a one-key hit, and the same bytes as the top seven of a
// little-endian word (the last eight bytes of the reply, loaded at once).
constexpr std::string_view kTail = "\r\nEND\r\n";
constexpr uint64_t tail_word() {
    uint64_t w = 0;
    for (size_t i = 0; i < kTail.size(); i++)
        w |= uint64_t{static_cast<unsigned char>(kTail[i])} << (8 * (i + 1));
    return w;
}
constexpr uint64_t kTailWord = tail_word();

bool is_error_line(std::string_view r) {
    return r.starts_with("SERVER_ERROR") || r.starts_with("CLIENT_ERROR") || r.starts_with("ERROR");
}

// Splits off the next space-delimited token of `line`.
std::string_view token(std::string_view& line) {
    const size_t sp = line.find(' ');
    std::string_view t = line.substr(0, sp);
    line = sp == std::string_view::npos ? std::string_view{} : line.substr(sp + 1);
    return t;
}

// The run of plain decimal digits at q: its length (at most 16, and then
// the run may go on) and, in `out`, its value (callers bound the length
// before using it). Eight digits at a time (SWAR): reads 16 bytes at q.
[[gnu::always_inline]] inline size_t digit_run(const char* q, uint64_t& out) {
    static constexpr uint64_t kPow10[9] = {1,      10,      100,      1000,     10000,
                                           100000, 1000000, 10000000, 100000000};
    out = 0;
    size_t n = 0;
    for (int word = 0; word < 2; word++) {
        uint64_t w;
        std::memcpy(&w, q + n, 8);
        // A byte's top bit is set unless it is '0'..'9' (below '0' borrows,
        // above '9' or not ASCII carries); borrows and carries only reach
        // later bytes, so the first flagged byte is the first non-digit.
        const uint64_t bad =
            ((w + 0x4646464646464646ULL) | (w - 0x3030303030303030ULL)) & 0x8080808080808080ULL;
        const size_t m = bad ? static_cast<size_t>(__builtin_ctzll(bad)) >> 3 : 8;
        if (m != 0) {
            // The m digits into the top bytes, zeros before them, then
            // Lemire's three multiplies: pairs, quads, the eight.
            uint64_t v = m == 8 ? w : w << (8 * (8 - m));
            v = ((v & 0x0F0F0F0F0F0F0F0FULL) * 2561) >> 8;
            v = ((v & 0x00FF00FF00FF00FFULL) * 6553601) >> 16;
            v = ((v & 0x0000FFFF0000FFFFULL) * 42949672960001ULL) >> 32;
            out = out * kPow10[m] + v;
            n += m;
        }
        if (m < 8) break;
    }
    return n;
}

}  // namespace

const char* reply_error_name(ReplyError e) {
    switch (e) {
        case ReplyError::kNone:
            return "none";
        case ReplyError::kMalformed:
            return "malformed";
        case ReplyError::kServerError:
            return "server_error";
        case ReplyError::kUnexpectedKey:
            return "unexpected_key";
        case ReplyError::kWrongValue:
            return "wrong_value";
        case ReplyError::kStale:
            return "stale";
        case ReplyError::kFuture:
            return "future";
        case ReplyError::kForeign:
            return "foreign";
        case ReplyError::kCount:
            break;
    }
    return "unknown";
}

GetVerdict check_get_reply(std::string_view reply, std::span<const uint32_t> keys,
                           std::span<const uint32_t> min_versions, const Workload& w,
                           const KeyVersions& versions) {
    GetVerdict v;
    auto fail = [&](ReplyError e) {
        v.error = e;
        return v;
    };
    if (is_error_line(reply)) return fail(ReplyError::kServerError);
    size_t next = 0;  // keys[next] is the first key not yet answered
    while (reply.starts_with(kValue)) {
        const size_t eol = reply.find("\r\n");
        if (eol == std::string_view::npos) return fail(ReplyError::kMalformed);
        std::string_view line = reply.substr(kValue.size(), eol - kValue.size());
        const std::string_view key_s = token(line);
        const std::string_view flags_s = token(line);
        const std::string_view bytes_s = token(line);  // a CAS unique may follow (gets)
        uint32_t flags = 0, n = 0;
        if (!parse_u32(flags_s, flags) || !parse_u32(bytes_s, n))
            return fail(ReplyError::kMalformed);
        const size_t data_at = eol + 2;
        if (reply.size() < data_at + n + 2 || reply.substr(data_at + n, 2) != "\r\n")
            return fail(ReplyError::kMalformed);
        const std::string_view data = reply.substr(data_at, n);
        reply.remove_prefix(data_at + n + 2);

        uint32_t key = 0;
        if (!w.parse_key(key_s, key)) return fail(ReplyError::kUnexpectedKey);
        // Request order: every key skipped on the way was a miss.
        while (next < keys.size() && keys[next] != key) {
            next++;
            v.misses++;
        }
        if (next == keys.size()) return fail(ReplyError::kUnexpectedKey);
        const uint32_t min_version = min_versions[next];
        next++;

        if (!w.mine(flags)) {
            // Data from before this run is expected until a set of ours lands.
            if (min_version != 0) return fail(ReplyError::kForeign);
            v.unverified++;
            continue;
        }
        const uint32_t version = flags & kVersionMask;
        const uint32_t sent = versions.sent(key);
        if (version == 0 || sent == 0 || version_after(version, sent))
            return fail(ReplyError::kFuture);
        if (min_version != 0 && version_after(min_version, version))
            return fail(ReplyError::kStale);
        if (!w.value_equals(key, version, data)) return fail(ReplyError::kWrongValue);
        v.hits++;
    }
    if (reply != kEnd)
        return fail(is_error_line(reply) ? ReplyError::kServerError : ReplyError::kMalformed);
    v.misses += static_cast<uint32_t>(keys.size() - next);
    return v;
}

GetVerdict check_one_get_reply(std::string_view reply, uint32_t key, uint32_t min_version,
                               const Workload& w, const KeyVersions& versions) {
    auto general = [&] {
        const uint32_t keys[1] = {key};
        const uint32_t mins[1] = {min_version};
        return check_get_reply(reply, keys, mins, w, versions);
    };
    GetVerdict v;
    if (reply == kEnd) {
        v.misses = 1;
        return v;
    }
    const size_t key_len = w.params().key_len;
    // "VALUE " <key> " " <flags> " " <bytes> "\r\n" <data> "\r\nEND\r\n"
    const size_t key_end = kValue.size() + key_len;
    if (reply.size() < key_end + 1 + kTail.size() || !reply.starts_with(kValue) ||
        reply[key_end] != ' ')
        return general();
    if (key_len == 16) {
        uint64_t head, tail, got[2];
        Workload::key16_words(key, head, tail);
        std::memcpy(got, reply.data() + kValue.size(), 16);
        if (((got[0] ^ head) | (got[1] ^ tail)) != 0) return general();
    } else {
        char want[kMaxKeyLen];
        w.format_key(key, want);
        if (std::memcmp(reply.data() + kValue.size(), want, key_len) != 0) return general();
    }
    // The reply must end in "\r\nEND\r\n" (checked first, as one word: it
    // also bounds the digit scans below, which stop at its '\r').
    uint64_t last8;
    std::memcpy(&last8, reply.data() + reply.size() - 8, 8);
    if ((last8 & ~uint64_t{0xff}) != kTailWord) return general();
    const char* const data_end = reply.data() + reply.size() - kTail.size();
    // Plain digits only (a sign, a CAS or spaces go the general way), read
    // 16 bytes at a time: a reply too short for that (a value of a few
    // bytes) goes the general way too.
    const char* const end = reply.data() + reply.size();
    const char* q = reply.data() + key_end + 1;
    uint64_t flags = 0, n = 0;
    if (end - q < 16) return general();
    size_t len = digit_run(q, flags);
    if (len == 0 || len > 10 || flags > UINT32_MAX || q[len] != ' ') return general();
    q += len + 1;
    if (end - q < 16) return general();
    len = digit_run(q, n);
    if (len == 0 || len > 5 || q[len] != '\r' || q[len + 1] != '\n') return general();
    q += len + 2;
    if (q > data_end || static_cast<size_t>(data_end - q) != n) return general();
    const size_t at = static_cast<size_t>(q - reply.data());
    // The proof, as check_get_reply makes it; any failure: its verdict.
    const auto f = static_cast<uint32_t>(flags);
    if (!w.mine(f)) return general();
    const uint32_t version = f & kVersionMask;
    const uint32_t sent = versions.sent(key);
    if (version == 0 || sent == 0 || version_after(version, sent) ||
        (min_version != 0 && version_after(min_version, version)) ||
        !w.value_equals(key, version, reply.substr(at, n)))
        return general();
    v.hits = 1;
    return v;
}

ReplyError check_set_reply(std::string_view reply) {
    if (reply == kStored) return ReplyError::kNone;
    if (is_error_line(reply)) return ReplyError::kServerError;
    return ReplyError::kMalformed;
}

}  // namespace fulmar::pktgen
