// memcached text replies as the client reads them (grammar only; client.cc
// maps them to each command's return codes).
//
// Any thread; pure functions over the reassembled reply text. Results hold
// string_views into that text.
//
//   get/gets:  (VALUE <key> <flags> <bytes>[ <cas>]\r\n<data>\r\n)* END\r\n
//   others:    one line: STORED | NOT_STORED | EXISTS | NOT_FOUND | DELETED |
//              TOUCHED | <decimal> | ERROR | CLIENT_ERROR <msg> | SERVER_ERROR <msg>
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace fulmar::client {

inline constexpr std::string_view kReplyStored = "STORED";
inline constexpr std::string_view kReplyNotStored = "NOT_STORED";
inline constexpr std::string_view kReplyExists = "EXISTS";
inline constexpr std::string_view kReplyNotFound = "NOT_FOUND";
inline constexpr std::string_view kReplyDeleted = "DELETED";
inline constexpr std::string_view kReplyTouched = "TOUCHED";
inline constexpr std::string_view kReplyEnd = "END";
inline constexpr std::string_view kReplyValue = "VALUE ";
inline constexpr std::string_view kReplyError = "ERROR";
inline constexpr std::string_view kReplyClientError = "CLIENT_ERROR";
inline constexpr std::string_view kReplyServerError = "SERVER_ERROR";
// memcached's wording of the two server errors callers can act on.
inline constexpr std::string_view kReplyTooLarge = "SERVER_ERROR object too large";
inline constexpr std::string_view kReplyOutOfMemory = "SERVER_ERROR out of memory";
// A Fulmar cluster node's refusal of a write to another partition's key
// (engine/ring_guard.h): the client's ring is stale. "moving": the key is
// in a move's flip; the write may be retried in a moment.
inline constexpr std::string_view kReplyMoved = "SERVER_ERROR moved:";
inline constexpr std::string_view kReplyMoving = "SERVER_ERROR moving:";

enum class ReplyKind : uint8_t {
    kStored,
    kNotStored,
    kExists,
    kNotFound,
    kDeleted,
    kTouched,
    kNumber,
    kError,
    kClientError,
    kServerError,
    kServerTooLarge,
    kServerOutOfMemory,
    kServerMoved,
    kServerMoving,
    kMalformed,  // anything else, or bytes after the line
};

struct SimpleReply {
    ReplyKind kind = ReplyKind::kMalformed;
    uint64_t number = 0;  // kNumber only
};

// Reads a one-line reply, which must be the whole text.
SimpleReply parse_simple_reply(std::string_view text);

struct ValueBlock {
    std::string_view key;
    std::string_view data;
    uint32_t flags = 0;
    uint64_t cas = 0;
};

enum class GetReplyStatus : uint8_t {
    kOk,           // values (possibly none) then END, nothing after
    kIncomplete,   // so far so good, but the text ends inside a block or before END
    kMalformed,    // not the grammar above
    kServerError,  // ERROR, CLIENT_ERROR or SERVER_ERROR line where END or VALUE belongs
};

// Decides whether a get reply is whole, reading only what arrived since the
// last call: `cursor` is 0 at first and is left at the first block not yet
// whole. Any status but kIncomplete is final.
GetReplyStatus scan_get_reply(std::string_view text, size_t& cursor);

// The same over a TCP stream of pipelined replies, where the next reply may
// follow this one's END: on kOk and kServerError, `end` is the offset just
// after the reply (its END line, or the error line that cut it short).
GetReplyStatus scan_get_reply_prefix(std::string_view text, size_t& cursor, size_t& end);

// Offset just after the first line (its \r\n) of a one-line reply in a stream,
// searching from `from` (what an earlier call already searched, less one
// byte); 0 while the line is incomplete.
size_t line_reply_end(std::string_view text, size_t& from);

// Reads a get/gets reply; `out` receives the values read before any problem.
GetReplyStatus parse_get_reply(std::string_view text, std::vector<ValueBlock>& out);

}  // namespace fulmar::client
