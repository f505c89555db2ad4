// The common memcached UDP request, recognised in one pass: a datagram whose
// whole body is one `get`/`gets` line with a few plain keys.
//
// Pure, any thread. The dataplane's GET fast path uses it to skip the full
// classic parser and the engine's second tokenization; anything it does not
// accept (other commands, pipelined lines, odd spacing, \r or NUL inside the
// line, long or many keys) goes to the full parser, which then decides exactly as
// memcached does. So accepting is a promise: McTextParser reads an accepted
// body as the same command with the same keys (tests/proto check this on
// random lines, and the mc_get_line fuzzer on arbitrary ones).
//
//   "get" | "gets"  ( " " key ){1,kMcGetLineMaxKeys}  "\r\n" | "\n"
//   key: 1..250 bytes, any but space, \n, \r and NUL (as the classic parser
//        reads keys: memcached splits tokens on spaces only)
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "proto/mc_text.h"

namespace fulmar::proto {

// Enough for the multi-gets clients send in one datagram; more keys take the
// full path (its replies usually span datagrams anyway).
inline constexpr size_t kMcGetLineMaxKeys = 32;

struct McGetLine {
    bool with_cas = false;  // gets
    size_t n_keys = 0;
    std::array<std::string_view, kMcGetLineMaxKeys> keys;  // views into the body
};

// True when `body` is exactly one plain get/gets line (see above).
// Inline, as mc_plain_key_end: the dataplane runs it for every datagram.
inline bool parse_mc_get_line(std::string_view body, McGetLine& out);

// The same recognition in two steps, for the GET batch: the verb ("get " or
// "gets "; `pos` then where the keys start), checked before anything else
// is looked at, then the keys from `pos`, each handed to `put(i, key)` as
// it is found (the batch writes them straight into its own key slots, with
// no McGetLine between) and `n_keys` set on success. On false some keys may
// have been put: the caller counts none of them.
inline bool mc_one_short_get(std::string_view body, size_t& key_len);
// mc_one_short_get for a body mc_get_verb() found to start with "get ".
inline bool mc_short_get_key(std::string_view body, size_t& key_len);
inline bool mc_get_verb(std::string_view body, bool& with_cas, size_t& pos);
template <typename Put>
inline bool parse_mc_get_keys(std::string_view body, size_t pos, size_t& n_keys, Put&& put);

// The end of the key starting at `pos` in p[0..end): the first byte that
// cannot be in a plain key (above), or end; pos <= end. Shared with
// mc_set_line.
inline size_t mc_plain_key_end(const char* p, size_t pos, size_t end);

namespace detail {
// Bytes a fast-path key may hold: any but space (ends a key), \n (ends the
// line), \r (may end it) and NUL (memcached ends a line there), as the
// classic parser reads keys; load generators such as memcaslap put control
// bytes in their keys.
inline constexpr std::array<bool, 256> kKeyByte = [] {
    std::array<bool, 256> t{};
    for (int c = 0; c < 256; ++c)
        t[static_cast<size_t>(c)] = c != ' ' && c != '\n' && c != '\r' && c != 0;
    return t;
}();

}  // namespace detail

// Eight bytes a step (SWAR): a byte below 0x21 borrows in `x - 0x21..` with
// its own top bit clear; borrows only run upwards, so the lowest flagged byte
// is always a real one. It is usually the key's end (space or \r); a
// control byte inside a key is rare, so the table decides only then.
inline size_t mc_plain_key_end(const char* p, size_t pos, size_t end) {
    constexpr uint64_t kOnes = 0x0101010101010101;
    constexpr uint64_t kHigh = 0x8080808080808080;
    while (end - pos >= 8) {  // pos <= end: no wrap
        uint64_t x;
        std::memcpy(&x, p + pos, 8);
        const uint64_t below = (x - kOnes * 0x21) & ~x & kHigh;
        if (below == 0) {
            pos += 8;
            continue;
        }
        const size_t at = pos + static_cast<size_t>(std::countr_zero(below) >> 3);
        if (!detail::kKeyByte[static_cast<uint8_t>(p[at])]) return at;
        pos = at + 1;
    }
    while (pos < end && detail::kKeyByte[static_cast<uint8_t>(p[pos])])
        ++pos;
    return pos;
}

// The datagram nearly every GET is, `get <key>\r\n` with a key of at most
// 16 bytes, recognised without the key loop: true, with the key at
// body.data() + 4 and `key_len` its length, only when parse_mc_get_line
// would read the same line as one key, not gets (a false is no verdict:
// the caller goes on to mc_get_verb and parse_mc_get_keys). The key is read
// in two overlapping words, never past `body`; any byte below 0x21 in it
// (a space: more keys; a control byte the full parser may yet take as part
// of a key) goes the general way. The test for such a byte is exact: no
// byte below 0x21 leaves every high bit clear.
inline bool mc_short_get_key(std::string_view body, size_t& key_len) {
    constexpr uint64_t kOnes = 0x0101010101010101;
    constexpr uint64_t kHigh = 0x8080808080808080;
    constexpr size_t kMax = kMcMaxKeyLen < 16 ? kMcMaxKeyLen : 16;
    const size_t n = body.size();
    if (n < 4 + 1 + 2 || n > 4 + kMax + 2) return false;
    const char* p = body.data();
    uint16_t crlf;
    std::memcpy(&crlf, p + n - 2, 2);
    if (crlf != std::bit_cast<uint16_t>(std::array<char, 2>{'\r', '\n'})) return false;
    const size_t len = n - 6;
    uint64_t a;
    uint64_t b;
    if (len >= 8) {
        std::memcpy(&a, p + 4, 8);
        std::memcpy(&b, p + n - 10, 8);
    } else if (len >= 4) {
        uint32_t a4;
        uint32_t b4;
        std::memcpy(&a4, p + 4, 4);
        std::memcpy(&b4, p + n - 6, 4);
        a = b = a4 | uint64_t{b4} << 32;
    } else {
        // One to three bytes; the rest of the word a byte that passes.
        a = b = (kOnes * 0x21 & ~uint64_t{0xffffff}) | uint64_t{static_cast<uint8_t>(p[4])} |
                uint64_t{static_cast<uint8_t>(p[4 + len / 2])} << 8 |
                uint64_t{static_cast<uint8_t>(p[n - 3])} << 16;
    }
    if ((((a - kOnes * 0x21) & ~a) | ((b - kOnes * 0x21) & ~b)) & kHigh) return false;
    key_len = len;
    return true;
}

inline bool mc_one_short_get(std::string_view body, size_t& key_len) {
    return body.starts_with("get ") && mc_short_get_key(body, key_len);
}

inline bool mc_get_verb(std::string_view body, bool& with_cas, size_t& pos) {
    if (body.starts_with("get ")) {
        with_cas = false;
        pos = 4;
        return true;
    }
    if (body.starts_with("gets ")) {
        with_cas = true;
        pos = 5;
        return true;
    }
    return false;
}

template <typename Put>
inline bool parse_mc_get_keys(std::string_view body, size_t pos, size_t& n_keys, Put&& put) {
    if (body.size() < pos + 2 || body.back() != '\n') return false;
    const size_t end = body.size() - (body[body.size() - 2] == '\r' ? 2 : 1);
    // The count in a local: `put`'s stores may alias anything.
    size_t n = 0;
    const char* p = body.data();
    while (true) {
        const size_t start = pos;
        pos = mc_plain_key_end(p, pos, end);
        const size_t len = pos - start;
        if (len == 0 || len > kMcMaxKeyLen || n == kMcGetLineMaxKeys) return false;
        put(n++, std::string_view(p + start, len));
        if (pos == end) {
            n_keys = n;
            return true;
        }
        // One space, then another key: anything else is for the full parser.
        if (p[pos] != ' ') return false;
        ++pos;
    }
}

inline bool parse_mc_get_line(std::string_view body, McGetLine& out) {
    size_t pos;
    return mc_get_verb(body, out.with_cas, pos) &&
           parse_mc_get_keys(body, pos, out.n_keys,
                             [&out](size_t i, std::string_view key) { out.keys[i] = key; });
}

}  // namespace fulmar::proto
