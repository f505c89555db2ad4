// Checks one complete memcached reply against the request it answers: a get
// reply's hits are proven values of this run, a set reply is STORED.
//
// Any thread; pure functions over the reply bytes, the request's keys and the
// workload's version arrays (read-only here). No allocation.
//
// A get reply, as memcached 1.6 and fulmar-dataplane write it: one block per
// hit, in request order (a key asked twice comes back twice), then END.
//
//   VALUE <key> <flags> <bytes>\r\n
//   <bytes bytes of data>\r\n
//   ...
//   END\r\n
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "workload.h"

namespace fulmar::pktgen {

// The first problem found in a reply. Names (reply_error_name) are JSON keys.
enum class ReplyError : uint8_t {
    kNone,
    kMalformed,      // not the grammar above, or bytes after END / STORED
    kServerError,    // SERVER_ERROR, CLIENT_ERROR or ERROR line
    kUnexpectedKey,  // a VALUE for a key not asked for (or out of order)
    kWrongValue,     // length or bytes differ from what that version stored
    kStale,          // older than a version acknowledged before the get was sent
    kFuture,         // newer than any version this run sent
    kForeign,        // another run's value where ours was acknowledged
    kCount,
};

inline constexpr size_t kReplyErrorCount = static_cast<size_t>(ReplyError::kCount);

const char* reply_error_name(ReplyError e);

struct GetVerdict {
    uint32_t hits = 0;        // values proven ours and fresh
    uint32_t misses = 0;      // keys asked for with no VALUE block
    uint32_t unverified = 0;  // hits on keys never set in this run (earlier runs' data)
    ReplyError error = ReplyError::kNone;
};

// `keys[i]` was asked for when the newest acknowledged version of it was
// `min_versions[i]` (0: none). `versions` is read at reply time for the
// newest version sent.
GetVerdict check_get_reply(std::string_view reply, std::span<const uint32_t> keys,
                           std::span<const uint32_t> min_versions, const Workload& w,
                           const KeyVersions& versions);

// check_get_reply for a get of one key, the common request, in one pass
// over the bytes: a reply that is exactly "END\r\n", or exactly one VALUE
// block for `key` (flags and length in plain digits) then END and proven
// ours and fresh, is decided here; anything else, every error included, is
// left to check_get_reply, so the verdict is always the one it gives.
GetVerdict check_one_get_reply(std::string_view reply, uint32_t key, uint32_t min_version,
                               const Workload& w, const KeyVersions& versions);

// kNone for "STORED\r\n".
ReplyError check_set_reply(std::string_view reply);

}  // namespace fulmar::pktgen
