// memcached meta protocol requests (mg, ms, md, ma, mn, me): grammar only.
//
// Any thread; parse_mc_meta() is a pure function and a McMetaRequest is a
// plain value owned by whoever parsed it (one connection or lcore). Its views
// point into the caller's input buffer, valid until that buffer changes; a
// base64 key ('b' flag) is decoded into the request itself, so requests may
// be parsed in a batch and executed later.
//
// Follows memcached 1.6.18 (the version whose replies the tests were checked
// against) byte for byte, including its error precedence, plus the flags later
// 1.6 releases added: E (new CAS value) and x (md: drop the value, keep the
// item). Where memcached's strtol() family silently truncates an out-of-range
// number (T4294967296, F4294967296) we reject it as common/numbers.h does.
//
//   mg <key> <flag>*\r\n
//   ms <key> <datalen> <flag>*\r\n<data>\r\n
//   md <key> <flag>*\r\n
//   ma <key> <flag>*\r\n
//   mn\r\n                    (any tokens after it are ignored)
//   me <key> [b]\r\n          (only an exact "b" third token counts)
//
// A command line ends in "\n", optionally preceded by "\r"; it is cut at its
// first NUL as memcached's strlen() does, and split on spaces only. Each flag
// is one character, maybe followed by a token ("T30", "Oabc"); only its first
// character is looked at, so "vxyz" is the v flag.
//
// Reply notes for the engine (memcached 1.6.18):
//   mg hit  "VA <len> <flags>*\r\n<data>\r\n" or "HD <flags>*\r\n": flags
//           s t c f l h O k echo in request order, then W X Z as the item says.
//   mg miss "EN <flags>*\r\n": only O and k echo, in request order.
//   ms      "HD|NS|EX|NF <flags>*\r\n": O k c echo in request order.
//   md      "HD|NF|EX <flags>*\r\n": O k echo. ma: "HD|VA|NF|EX": c t O k.
//   O echoes the whole token ("Oabc"); k echoes " k<key>", and for a binary
//   key " k<base64 key> b", re-encoded from the decoded bytes.
//   q suppresses: mg EN; ms HD; md HD; ma HD/VA. Errors are always sent.
//   mn answers "MN\r\n". me answers "ME <key> exp=.. la=.. cas=.. fetch=..
//   cls=.. size=..\r\n" or "EN\r\n".
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "proto/parse.h"

namespace fulmar::proto {

// ---- Wire constants -----------------------------------------------------

// Status codes open a reply line; flags and "\r\n" follow.
inline constexpr std::string_view kMcMetaHd = "HD";      // success, no value
inline constexpr std::string_view kMcMetaVa = "VA";      // value follows: "VA <len>"
inline constexpr std::string_view kMcMetaEn = "EN";      // mg/me miss
inline constexpr std::string_view kMcMetaNf = "NF";      // not found
inline constexpr std::string_view kMcMetaNs = "NS";      // not stored
inline constexpr std::string_view kMcMetaEx = "EX";      // CAS mismatch
inline constexpr std::string_view kMcMetaMe = "ME";      // me hit: "ME <key> k=v..."
inline constexpr std::string_view kMcMetaMn = "MN\r\n";  // the whole mn reply
inline constexpr std::string_view kMcMetaCrlf = "\r\n";

// Complete error lines, as memcached writes them. The first four are the
// same bytes as the classic protocol's, repeated here so that this module
// stands alone.
inline constexpr std::string_view kMcMetaErrUnknownCommand = "ERROR\r\n";
inline constexpr std::string_view kMcMetaErrBadFormat = "CLIENT_ERROR bad command line format\r\n";
inline constexpr std::string_view kMcMetaErrBadDataChunk = "CLIENT_ERROR bad data chunk\r\n";
inline constexpr std::string_view kMcMetaErrTooLarge =
    "SERVER_ERROR object too large for cache\r\n";
// mg says "are"; ms, md and ma do not.
inline constexpr std::string_view kMcMetaErrGetFlagsTooLong =
    "CLIENT_ERROR options flags are too long\r\n";
inline constexpr std::string_view kMcMetaErrFlagsTooLong =
    "CLIENT_ERROR options flags too long\r\n";
inline constexpr std::string_view kMcMetaErrDuplicateFlag = "CLIENT_ERROR duplicate flag\r\n";
inline constexpr std::string_view kMcMetaErrInvalidFlag = "CLIENT_ERROR invalid flag\r\n";
// md and ma answer every flag error with this one line.
inline constexpr std::string_view kMcMetaErrInvalidOrDuplicateFlag =
    "CLIENT_ERROR invalid or duplicate flag\r\n";
inline constexpr std::string_view kMcMetaErrBadToken =
    "CLIENT_ERROR bad token in command line format\r\n";
inline constexpr std::string_view kMcMetaErrModeLength =
    "CLIENT_ERROR incorrect length for M token\r\n";
inline constexpr std::string_view kMcMetaErrBadInitial =
    "CLIENT_ERROR invalid numeric initial value\r\n";
inline constexpr std::string_view kMcMetaErrBadDelta =
    "CLIENT_ERROR invalid numeric delta value\r\n";
inline constexpr std::string_view kMcMetaErrKeyDecode = "CLIENT_ERROR error decoding key\r\n";
inline constexpr std::string_view kMcMetaErrOpaqueTooLong =
    "CLIENT_ERROR opaque token too long\r\n";
inline constexpr std::string_view kMcMetaErrBadSetMode =
    "CLIENT_ERROR invalid mode for ms M token\r\n";
inline constexpr std::string_view kMcMetaErrBadArithmeticMode =
    "CLIENT_ERROR invalid mode for ma M token\r\n";

// ---- Limits (memcached's) -----------------------------------------------

inline constexpr size_t kMcMetaKeyMaxLen = 250;  // KEY_MAX_LENGTH, checked before base64 decoding
// memcached closes a connection that sends this many bytes without a "\n".
// It accepts a longer line that happens to arrive in one read; we close on any
// longer line, so the outcome does not depend on how the bytes were split.
inline constexpr size_t kMcMetaMaxLineLen = 2048;
// MFLAG_MAX_OPT_LENGTH counts the command, the key, the flags (and ms's length)
// plus a terminal token: at most 17 flags for mg/md/ma, 16 for ms.
inline constexpr size_t kMcMetaMaxTokens = 20;
inline constexpr size_t kMcMetaMaxFlags = kMcMetaMaxTokens - 3;
inline constexpr size_t kMcMetaMaxOpaqueLen = 32;  // of the whole token, 'O' included
// Default for parse_mc_meta's max_data_len: memcached's item_size_max. The
// store makes the exact check (headers included) and answers the same line.
inline constexpr size_t kMcMetaDefaultMaxDataLen = 1024 * 1024;
inline constexpr int32_t kMcMetaMaxDataLen = INT32_MAX - 2;  // beyond: bad command line format

// ---- Request ------------------------------------------------------------

enum class McMetaCommand : uint8_t {
    kGet,         // mg
    kSet,         // ms
    kDelete,      // md
    kArithmetic,  // ma
    kNoop,        // mn
    kDebug,       // me
};

// ms M<mode>: E add, A append, P prepend, R replace, S set.
enum class McMetaSetMode : uint8_t { kSet, kAdd, kAppend, kPrepend, kReplace };
// ma M<mode>: I or + increment, D or - decrement.
enum class McMetaArithmeticMode : uint8_t { kIncrement, kDecrement };

struct McMetaFlag {
    char name = 0;
    std::string_view token;  // the bytes after the flag character, maybe empty
};

struct McMetaRequest {
    McMetaCommand command = McMetaCommand::kNoop;
    // The key as sent: base64 text when key_binary.
    std::string_view raw_key;
    bool key_binary = false;
    // ms only: the data block, without its "\r\n".
    std::string_view data;

    // Flags in request order, each at most once: replies echo O, k, c... in
    // this order.
    std::array<McMetaFlag, kMcMetaMaxFlags> flags{};
    uint8_t n_flags = 0;
    uint64_t present = 0;  // bit flag_bit(c) set for each flag c given

    // Parsed tokens; meaningful only when has() says the flag was given.
    int32_t ttl = 0;                               // T: new TTL (exptime)
    int32_t vivify_ttl = 0;                        // N: autovivify on miss with this TTL
    int32_t recache_ttl = 0;                       // R: win the recache token below this TTL
    uint32_t client_flags = 0;                     // F
    uint64_t compare_cas = 0;                      // C
    uint64_t new_cas = 0;                          // E
    uint64_t delta = 1;                            // D (ma): defaults to 1
    uint64_t initial = 0;                          // J (ma): value on autovivify
    char mode = 0;                                 // M: the raw mode character
    McMetaSetMode set_mode = McMetaSetMode::kSet;  // ms, from mode
    McMetaArithmeticMode arithmetic_mode = McMetaArithmeticMode::kIncrement;  // ma, from mode
    std::string_view opaque;  // O: the bytes after 'O' (reply echoes "O" + opaque)

    // Bit of a flag letter in `present`: A-Z then a-z; other characters are
    // never flags.
    static constexpr uint64_t flag_bit(char c) {
        if (c >= 'A' && c <= 'Z') return uint64_t{1} << (c - 'A');
        if (c >= 'a' && c <= 'z') return uint64_t{1} << (26 + (c - 'a'));
        return 0;
    }
    bool has(char c) const { return (present & flag_bit(c)) != 0; }
    bool quiet() const { return has('q'); }
    std::span<const McMetaFlag> flag_list() const { return {flags.data(), n_flags}; }

    // The key to look up: decoded bytes when key_binary, else raw_key. Safe
    // to copy the request: the view is rebuilt from the request's own buffer.
    std::string_view key() const {
        return key_binary ? std::string_view(key_buf_.data(), key_len_) : raw_key;
    }

    // Internal to parse_mc_meta: storage for a decoded base64 key.
    std::array<char, kMcMetaKeyMaxLen> key_buf_{};
    uint8_t key_len_ = 0;
};

// ---- Parsing ------------------------------------------------------------

enum class McMetaError : uint8_t {
    kNone,
    kUnknownCommand,          // "m?" other than g s d a n e; mg/ms/md/ma without a key
    kBadFormat,               // key > 250, bad/missing ms length, me errors, bad F token
    kGetFlagsTooLong,         // mg: more than 17 flags
    kFlagsTooLong,            // ms (16), md, ma (17)
    kDuplicateFlag,           // also any flag byte >= 127
    kInvalidFlag,             // unknown flag character
    kInvalidOrDuplicateFlag,  // md, ma: any error from the flags themselves
    kBadToken,                // T N R C E token not a number
    kModeLength,              // M token not exactly one character
    kBadInitial,              // J
    kBadDelta,                // D
    kKeyDecode,               // b flag and the key is not base64
    kOpaqueTooLong,           // O token longer than 32 bytes
    kBadSetMode,              // ms M not one of E A P R S
    kBadArithmeticMode,       // ma M not one of I + D -
    kBadDataChunk,            // ms data not followed by "\r\n"
    kTooLarge,                // ms length above max_data_len
    kLineTooLong,             // no "\n" within kMcMetaMaxLineLen bytes: close
};

// The reply line for an error, "\r\n" included; empty for kNone and for
// kLineTooLong, where memcached closes the connection without a word.
std::string_view mc_meta_error_line(McMetaError e);

struct McMetaResult {
    ParseStatus status = ParseStatus::kNeedMore;
    McMetaError error = McMetaError::kNone;
    // kComplete: bytes of the request (line and ms data). kError: bytes to
    // skip; 0 with kLineTooLong means close the connection.
    size_t consumed = 0;
    // kError after a valid ms length: the next `swallow` bytes after
    // `consumed` belong to the rejected data block; drop them as they arrive,
    // whatever they hold (memcached's conn_swallow), then parse again.
    size_t swallow = 0;
};

// Parses one request from the start of `input` (bytes received so far; may
// hold many pipelined requests). Reads no byte past input, allocates nothing.
// On kNeedMore call again with more bytes appended; `out` is then unspecified.
// `max_data_len`: ms data lengths above it fail with kTooLarge.
McMetaResult parse_mc_meta(std::string_view input, McMetaRequest& out,
                           size_t max_data_len = kMcMetaDefaultMaxDataLen);

// Whether `input` starts with a meta command line (first space-separated
// token two bytes long and starting with 'm'), for a connection that speaks
// classic and meta text on one socket. kNeedMore until the token ends.
enum class McMetaMatch : uint8_t { kMeta, kNotMeta, kNeedMore };
McMetaMatch match_mc_meta(std::string_view input);

// Base64 as memcached writes keys back (k flag, me): standard alphabet with
// '=' padding. `out` needs mc_meta_base64_len(in.size()) bytes. Returns the
// bytes written.
constexpr size_t mc_meta_base64_len(size_t n) {
    return (n + 2) / 3 * 4;
}
size_t mc_meta_base64_encode(std::string_view in, std::span<char> out);

}  // namespace fulmar::proto
