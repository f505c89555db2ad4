// memcached classic text protocol: every fixed reply string, byte for byte.
//
// Any thread; constants only. Strings are as memcached 1.6.18 sends them
// (proto_text.c, memcached.c), checked against the Debian build on loopback;
// a client that matches on the text (many do, on "STORED" or "END") sees no
// difference. Lines that carry data are split into the constant parts here
// and the numbers the engine renders with format_u64().
#pragma once

#include <string_view>

namespace fulmar::proto {

inline constexpr std::string_view kMcCrlf = "\r\n";

// ---- storage: set, add, replace, append, prepend, cas -----------------------
inline constexpr std::string_view kMcStored = "STORED\r\n";
inline constexpr std::string_view kMcNotStored = "NOT_STORED\r\n";
inline constexpr std::string_view kMcExists = "EXISTS\r\n";
inline constexpr std::string_view kMcNotFound = "NOT_FOUND\r\n";

// ---- delete, touch, incr/decr ----------------------------------------------
inline constexpr std::string_view kMcDeleted = "DELETED\r\n";
inline constexpr std::string_view kMcTouched = "TOUCHED\r\n";
// incr/decr success is the new value then kMcCrlf; a miss is kMcNotFound.

// ---- retrieval: get, gets, gat, gats ----------------------------------------
// "VALUE <key> <flags> <bytes>[ <cas>]\r\n<data>\r\n" per hit, then kMcEnd.
inline constexpr std::string_view kMcValuePrefix = "VALUE ";
inline constexpr std::string_view kMcEnd = "END\r\n";

// ---- admin: flush_all, verbosity, version, stats ----------------------------
inline constexpr std::string_view kMcOk = "OK\r\n";
// "VERSION <version>\r\n".
inline constexpr std::string_view kMcVersionPrefix = "VERSION ";
// "STAT <name> <value>\r\n" per statistic, then kMcEnd.
inline constexpr std::string_view kMcStatPrefix = "STAT ";
inline constexpr std::string_view kMcReset = "RESET\r\n";

// ---- errors -----------------------------------------------------------------
// Unknown command, and wrong token count for every command that checks one.
inline constexpr std::string_view kMcError = "ERROR\r\n";
inline constexpr std::string_view kMcClientErrorBadFormat =
    "CLIENT_ERROR bad command line format\r\n";
// delete with a third token other than "0" or "noreply"; the two spaces are
// memcached's.
inline constexpr std::string_view kMcClientErrorBadDeleteFormat =
    "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n";
inline constexpr std::string_view kMcClientErrorBadDataChunk = "CLIENT_ERROR bad data chunk\r\n";
inline constexpr std::string_view kMcClientErrorInvalidExptime =
    "CLIENT_ERROR invalid exptime argument\r\n";
inline constexpr std::string_view kMcClientErrorInvalidDelta =
    "CLIENT_ERROR invalid numeric delta argument\r\n";
inline constexpr std::string_view kMcClientErrorNonNumeric =
    "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n";
inline constexpr std::string_view kMcClientErrorFlushDisabled =
    "CLIENT_ERROR flush_all not allowed\r\n";
// stats cachedump with too few arguments (no "format" here, unlike the rest).
inline constexpr std::string_view kMcClientErrorBadCommandLine =
    "CLIENT_ERROR bad command line\r\n";
inline constexpr std::string_view kMcClientErrorStatsDetailUsage =
    "CLIENT_ERROR usage: stats detail on|off|dump\r\n";
inline constexpr std::string_view kMcClientErrorCachedumpDisabled =
    "CLIENT_ERROR stats cachedump not allowed\r\n";
inline constexpr std::string_view kMcClientErrorIllegalSlabId = "CLIENT_ERROR Illegal slab id\r\n";
inline constexpr std::string_view kMcServerErrorTooLarge =
    "SERVER_ERROR object too large for cache\r\n";
inline constexpr std::string_view kMcServerErrorOutOfMemoryStoring =
    "SERVER_ERROR out of memory storing object\r\n";
// incr/decr that cannot allocate the new value.
inline constexpr std::string_view kMcServerErrorOutOfMemory = "SERVER_ERROR out of memory\r\n";
inline constexpr std::string_view kMcServerErrorOutOfMemoryGet =
    "SERVER_ERROR out of memory writing get response\r\n";
// ma's miss with N when the new item cannot be allocated (memcached's words,
// capital O included).
inline constexpr std::string_view kMcServerErrorOutOfMemoryVivify =
    "SERVER_ERROR Out of memory allocating new item\r\n";
inline constexpr std::string_view kMcServerErrorOutOfMemoryStats =
    "SERVER_ERROR out of memory writing stats\r\n";
inline constexpr std::string_view kMcServerErrorUnhandledStorage =
    "SERVER_ERROR Unhandled storage type.\r\n";

// ---- Fulmar's own (no memcached equivalent) ---------------------------------
// A UDP datagram whose writes land on keys of two shards: no one lcore may
// run it (each shard has one writer), so it is refused whole.
inline constexpr std::string_view kMcServerErrorSpan =
    "SERVER_ERROR writes to keys of different shards in one datagram\r\n";

// memcached has no reply for a line over 2048 bytes without a newline, nor
// for an HTTP request line: it closes the connection without a word.

}  // namespace fulmar::proto
