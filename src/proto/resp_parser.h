// RESP request parser: the multibulk and inline commands that Redis 7.0 accepts,
// with its limits and its exact protocol error strings.
//
// One parser per connection, owned by the thread that reads it; not thread-safe.
//
// Follows parse.h: call parse() with every byte received and not yet consumed;
// it returns one request at a time. Two forms, chosen by the first byte as
// Redis's processInputBuffer does:
//
//   *<n>\r\n $<len>\r\n <len bytes>\r\n ...   multibulk: n bulk strings
//   <words, sdssplitargs quoting>\n           inline: anything not starting with '*'
//
// A request with no arguments (an empty or blank line, *0, *-1) completes with
// args().empty(): Redis skips those without a reply, and so must the caller.
//
// Every error is fatal to the connection, as in Redis (CLIENT_CLOSE_AFTER_REPLY):
// kError consumes nothing; the caller writes error_message() as a simple error
// (RespWriter::write_simple_error) and closes once it is sent.
//
// Cost of partial input: the parser keeps where it stopped (the argument
// offsets found so far, how far a line was searched for its end), so a request
// fed one byte at a time costs O(size) in total, not O(size^2). This relies on
// the contract that the bytes passed before stay in front, unchanged; if the
// input is shorter than the last call's, the parser starts the request over.
// Memory grows with the request (one offset per argument): bounding the
// connection's buffer is the caller's job, as client-query-buffer-limit
// (1 GB) is in Redis.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "proto/parse.h"

namespace fulmar::proto {

// Redis's proto-max-bulk-len default: longer bulk strings are "invalid bulk length".
inline constexpr size_t kRespMaxBulkLen = 512ull * 1024 * 1024;
// Redis's PROTO_INLINE_MAX_SIZE: the longest inline request, and the longest
// "*<n>" / "$<len>" line, before a "too big" error.
inline constexpr size_t kRespMaxInlineLen = 64 * 1024;
// Before AUTH, Redis (authRequired()) refuses more arguments or longer ones
// than these so that an unauthenticated client cannot make it allocate much.
inline constexpr int64_t kRespUnauthMaxArgs = 10;
inline constexpr int64_t kRespUnauthMaxBulkLen = 16 * 1024;

struct RespParserConfig {
    size_t max_bulk_len = kRespMaxBulkLen;
    size_t max_inline_len = kRespMaxInlineLen;
};

// Whether the connection still has to authenticate (Redis's authRequired()).
enum class RespAuth : uint8_t {
    kAuthenticated,
    kUnauthenticated,
};

struct RespParseResult {
    ParseStatus status = ParseStatus::kNeedMore;
    size_t consumed = 0;  // kComplete only: bytes of the request, terminator included
};

class RespParser {
  public:
    explicit RespParser(RespParserConfig config = {});

    // Parses the first request in `input`. On kComplete, args() holds it.
    RespParseResult parse(std::string_view input);

    // The arguments of the request parse() just completed. Multibulk arguments
    // point into the `input` given to parse() (zero copy); inline ones into
    // this parser's storage. Valid until the next parse() or reset(), or until
    // the caller's buffer changes, whichever comes first.
    std::span<const std::string_view> args() const { return args_; }

    // After kError: the reply text without '-' and CRLF, as Redis sends it,
    // e.g. "ERR Protocol error: invalid bulk length". Valid until the next parse().
    std::string_view error_message() const { return {error_.data(), error_len_}; }

    void set_auth(RespAuth auth) { auth_ = auth; }

    // Forgets a request in progress (the connection's buffer was dropped).
    // Keeps the buffers' capacity, as parse() does between requests.
    void reset();

  private:
    enum class Stage : uint8_t {
        kStart,           // nothing seen of the next request
        kInline,          // looking for the '\n' that ends an inline request
        kMultibulkCount,  // looking for the '\r' that ends "*<n>"
        kBulkHeader,      // looking for the '\r' that ends "$<len>"
        kBulkData,        // waiting for <len> bytes and the 2 that follow
    };

    // A multibulk argument as an offset, not a view: between parse() calls the
    // caller may move its buffer.
    struct ArgSpan {
        size_t offset;
        size_t len;
    };

    // Where the end of a line is, as Redis's strchr finds it.
    enum class LineEnd : uint8_t { kFound, kNotYet, kTooLong };

    LineEnd find_line_end(std::string_view input, char delim, size_t& at);
    RespParseResult parse_inline(std::string_view input);
    RespParseResult parse_multibulk(std::string_view input);
    bool split_inline(std::string_view line);
    RespParseResult complete(size_t consumed);
    RespParseResult fail(std::string_view message);
    RespParseResult fail_expected_dollar(char got);

    RespParserConfig config_;
    RespAuth auth_ = RespAuth::kAuthenticated;

    // Progress through the current request, kept across kNeedMore.
    Stage stage_ = Stage::kStart;
    size_t line_start_ = 0;      // offset of the line being looked at
    size_t scanned_ = 0;         // offset up to which that line has no terminator
    bool line_blocked_ = false;  // a NUL came first: the line can never end
    size_t pos_ = 0;             // offset of the next unparsed byte
    int64_t args_left_ = 0;      // bulk strings still to come
    size_t bulk_len_ = 0;        // length of the bulk string being waited for
    size_t seen_len_ = 0;        // input length at the previous call

    // Reused from request to request: no allocation once warm.
    std::vector<ArgSpan> spans_;
    std::vector<std::string_view> args_;
    std::string inline_buf_;

    // Longest message: "ERR Protocol error: unauthenticated multibulk length".
    std::array<char, 64> error_{};
    size_t error_len_ = 0;
};

}  // namespace fulmar::proto
