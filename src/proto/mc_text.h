// memcached classic text protocol: the request parser (get ... stats).
//
// A McTextParser is a plain value owned by one connection (so by one lcore);
// not thread-safe. It holds no buffer: parse() reads the bytes received so
// far and says how many of them the first request used. The only state it
// keeps between calls is how much of a rejected, too-large value is still to
// be discarded. Requests hold string_views into the caller's buffer: valid
// until the caller consumes or moves those bytes.
//
// The grammar, as memcached 1.6 reads it (proto_text.c), tokens split on one
// or more spaces, lines ending in "\n" with an optional "\r" before it:
//
//   get|gets <key>+                          gat|gats <exptime> <key>*
//   set|add|replace|append|prepend <key> <flags> <exptime> <bytes> [noreply]
//   cas <key> <flags> <exptime> <bytes> <cas unique> [noreply]
//       then <bytes> of data and "\r\n"
//   delete <key> [0] [noreply]               touch <key> <exptime> [noreply]
//   incr|decr <key> <delta> [noreply]        flush_all [delay] [noreply]
//   verbosity <level> [noreply]              version | quit | stats [args]
//   ring                                     (Fulmar's, not memcached's: the cluster ring)
//
// Behaviour reproduced from memcached 1.6.18 rather than its documentation
// (each checked against the real server; see mc_text_test.cc):
//  - A line ends at its first NUL byte: memcached tokenizes with strlen.
//  - Numbers follow strtol/strtoul: leading whitespace, a sign, leading zeros
//    and anything after a trailing whitespace byte are accepted; values are
//    parsed as 64-bit and cut to 32 bits (flags 4294967297 is 1; <bytes>
//    4294967297 is 1). "-1" is rejected for unsigned fields, yet a negative
//    number of magnitude above 2^63 wraps to a small positive one.
//  - A junk token where "noreply" may stand is ignored, not an error
//    ("incr k 1 junk", "set k 0 0 1 junk", "flush_all 10 20").
//  - A bad storage line is answered without reading its data: the data line
//    is then parsed as a command, as memcached does (usually "ERROR").
//  - Data not followed by "\r\n": "CLIENT_ERROR bad data chunk", and exactly
//    <bytes> + 2 bytes are skipped, whatever they hold.
//  - "noreply" silences errors too, but only where memcached has looked at
//    it before failing; req.noreply says so on errors as well.
//
// Reply-queue quirks for the engine (memcached writes replies in batches): a
// get refused for a long key drops every reply queued since the last get,
// and a close drops the queue unsent.
//
// One deliberate difference: memcached closes a connection whose buffer
// holds over 2048 bytes with no newline unless it starts with "get "/"gets ",
// so a long non-get line survives when it arrives in one read and not when
// it arrives in two. We close on the line's length instead, the same for
// every fragmentation: memcached's behaviour whenever the line is split.
#pragma once

#include "fulmar/protocol.h"

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "proto/parse.h"

namespace fulmar::proto {

// memcached's KEY_MAX_LENGTH.
inline constexpr size_t kMcMaxKeyLen = FULMAR_MC_MAX_KEY_LEN;
// Bytes of a line memcached buffers before it wants to see the newline.
inline constexpr size_t kMcMaxLineWithoutNewline = 2048;
// memcached refuses <bytes> above INT_MAX - 2 as a bad command line.
inline constexpr uint32_t kMcMaxValueLenAccepted = 2147483645u;

enum class McTextCommand : uint8_t {
    kNone,
    kGet,  // also memcached's undocumented alias "bget"
    kGets,
    kGat,
    kGats,
    kSet,
    kAdd,
    kReplace,
    kAppend,
    kPrepend,
    kCas,
    kDelete,
    kIncr,
    kDecr,
    kTouch,
    kFlushAll,
    kVerbosity,
    kVersion,
    kQuit,
    kStats,
    kRing,  // Fulmar's: the cluster ring this node serves (clients learn it from any node)
};

// Every way a request can fail; mc_text_error_reply() gives the wire string.
enum class McTextError : uint8_t {
    kNone,
    kUnknownCommand,   // "ERROR": no such command (memcached admin commands Fulmar lacks too)
    kBadArity,         // "ERROR": known command, wrong number of tokens
    kBadFormat,        // "CLIENT_ERROR bad command line format": key > 250, bad number
    kBadDeleteFormat,  // "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]"
    kInvalidExptime,   // "CLIENT_ERROR invalid exptime argument": touch, gat(s), flush_all
    kInvalidDelta,     // "CLIENT_ERROR invalid numeric delta argument": incr, decr
    kBadDataChunk,     // "CLIENT_ERROR bad data chunk": data not followed by "\r\n"
    kObjectTooLarge,   // "SERVER_ERROR object too large for cache"; the value is swallowed
    kSwallowed,        // no reply: more bytes of a value already rejected as too large
    kLineTooLong,      // no reply, close: over 2048 bytes without "\n", not a get
    kHttpRequest,      // no reply, close: an unknown command whose last token is HTTP/...
    kMetaCommand,      // not a close though consumed is 0: a meta command (mg, ms, ...);
                       // hand the same bytes to the meta parser
};

// The reply memcached sends for `e` (with "\r\n"), or "" where it sends
// none. Send nothing either when the request's noreply is set.
std::string_view mc_text_error_reply(McTextError e);

// Whether memcached closes the connection on `e` (consumed is then 0).
constexpr bool mc_text_error_closes(McTextError e) {
    return e == McTextError::kLineTooLong || e == McTextError::kHttpRequest;
}

// Splits a run of keys (or stats arguments) on spaces, lazily: a multi-get
// has no key limit and costs no allocation. Tokens keep any byte but ' '.
class McTokenIter {
  public:
    explicit McTokenIter(std::string_view rest) : rest_(rest) {}
    // Stores the next token and returns true, or returns false at the end.
    bool next(std::string_view& token);

  private:
    std::string_view rest_;
};

// A parsed request. Only the fields of its command are set; the rest keep
// these defaults. On an error the fields parsed before it are set, so the
// engine can still act: kObjectTooLarge carries the key (memcached unlinks
// it on set), kInvalidExptime carries kFlushAll (flush_all not allowed
// wins over a bad delay in memcached).
struct McTextRequest {
    McTextCommand command = McTextCommand::kNone;
    bool noreply = false;
    // Storage, delete, incr/decr, touch: the key. get family: the first key.
    std::string_view key;
    // get family: every key, space-separated, each at most 250 bytes (checked
    // before the request completes); walk them with key_iter().
    std::string_view keys;
    // Storage: the data block, without its "\r\n".
    std::string_view value;
    uint32_t flags = 0;
    uint32_t value_len = 0;
    // Storage, touch, gat(s): memcached's exptime, before any relative/absolute
    // conversion. flush_all: the delay (0 when absent).
    int32_t exptime = 0;
    uint64_t cas = 0;
    uint64_t delta = 0;
    uint32_t verbosity = 0;
    // stats: the arguments, outer spaces trimmed ("" for plain "stats");
    // split them with McTokenIter.
    std::string_view stats_args;

    McTokenIter key_iter() const { return McTokenIter(keys); }
};

struct McTextResult {
    ParseStatus status = ParseStatus::kNeedMore;
    McTextError error = McTextError::kNone;
    // kComplete/kError: bytes to drop from the front of the input.
    size_t consumed = 0;
    // kNeedMore on a storage request whose line is parsed: the bytes the whole
    // request needs, so the connection can size its buffer. Otherwise 0.
    size_t needed = 0;
};

struct McTextConf {
    // Values longer than this are refused with kObjectTooLarge as soon as
    // the line is read, and swallowed, so a connection never buffers them.
    // The engine sets it from its item size; it may still refuse a smaller
    // value once complete (memcached's limit also counts the key).
    uint32_t max_value_len = 1024 * 1024;
};

class McTextParser {
  public:
    explicit McTextParser(McTextConf conf = {}) : conf_(conf) {}

    // Parses the first request in `in` (bytes received and not yet consumed)
    // into `req`, which it resets first. Never reads outside `in`.
    //   kComplete: `req` is valid; drop `consumed` bytes.
    //   kNeedMore: nothing consumed; call again with more bytes appended.
    //              `req` holds nothing to act on.
    //   kError:    reply mc_text_error_reply(error) unless req.noreply, drop
    //              `consumed` bytes; close when mc_text_error_closes(error).
    McTextResult parse(std::string_view in, McTextRequest& req);

    // Bytes of a refused value not yet seen, to be skipped by later calls.
    uint64_t swallow_pending() const { return swallow_; }

  private:
    McTextConf conf_;
    uint64_t swallow_ = 0;
};

}  // namespace fulmar::proto
