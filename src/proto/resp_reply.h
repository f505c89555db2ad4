// RESP reply reader: what a client (fulmarctl) needs to read the replies a
// Redis-protocol server sends, RESP2 and the RESP3 types Redis 7.0 sends to
// a HELLO 3 client, decoded into a tree of RespValue.
//
// Any thread; a plain function. parse_resp_reply() reads one whole reply
// from the front of its input; with a partial reply it returns kNeedMore and
// is called again with more bytes, starting over (replies to an admin CLI are
// a few KiB: re-reading them costs less than keeping state would).
//
//   +<text>  -<text>  :<int>  $<len> <bytes>  $-1  *<n> <n replies>  *-1
//   RESP3: _ (null)  #t/#f  ,<double>  %<n> (n pairs, read as 2n elements)
//          ~<n> (set) and ><n> (push), read as arrays
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "proto/parse.h"

namespace fulmar::proto {

// Limits against a broken or hostile peer: a reader allocates no more than
// the bytes it was given, and recursion stays shallow.
inline constexpr size_t kRespReplyMaxDepth = 32;
inline constexpr int64_t kRespReplyMaxElements = 1 << 24;

struct RespValue {
    enum class Type : uint8_t {
        kSimple,   // +text
        kError,    // -text (text without the '-')
        kInteger,  // :n, and RESP3 booleans (1 / 0)
        kBulk,     // $len; RESP3 doubles as their text
        kNull,     // $-1, *-1, RESP3 _
        kArray,    // *n; RESP3 maps (flattened), sets, pushes
    };
    Type type = Type::kNull;
    std::string text;  // kSimple, kError, kBulk
    int64_t integer = 0;
    std::vector<RespValue> elements;  // kArray

    bool is_error() const { return type == Type::kError; }
};

struct RespReplyResult {
    ParseStatus status = ParseStatus::kNeedMore;
    size_t consumed = 0;  // kComplete: bytes of the reply
};

// Reads one reply from the front of `in` into `out`. On kError, `error`
// (when given) says what was wrong; the connection cannot be trusted after.
RespReplyResult parse_resp_reply(std::string_view in, RespValue& out, std::string* error = nullptr);

}  // namespace fulmar::proto
