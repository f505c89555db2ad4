// What the set and hash commands share beyond resp_util.h: the random
// choices (SPOP, SRANDMEMBER, HRANDFIELD), the SSCAN/HSCAN cursor and
// options, and Redis's count arguments.
//
// Internal to src/engine's resp_set_commands.cc and resp_hash_commands.cc.
// Any thread: the random generator is the calling thread's own (an owner
// worker's, or the control plane's for the random reads), so no state is
// shared between threads and none needs a lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "proto/reply_sink.h"

namespace fulmar::engine::resp {

// The calling thread's generator (splitmix64, seeded once per thread from
// std::random_device): a uniform index below n (n > 0).
size_t random_below(size_t n);

// k distinct indices below n, in random order (k <= n): a partial
// Fisher-Yates over 0..n-1, so O(n) memory, and n is bounded by the item.
std::vector<size_t> random_distinct(size_t n, size_t k);

// A negative random count repeats entries, so its reply is not bounded by
// the collection: we refuse one whose reply could pass this many bytes
// (Redis would build it whole; see docs/resp-progress.md).
inline constexpr size_t kMaxRandomReplyBytes = size_t{64} << 20;
// Whether `count` picks of entries at most `longest` bytes long fit that.
bool random_reply_fits(uint64_t count, size_t longest, size_t per_pick_entries);
void write_random_too_large(proto::ReplySink& out);

// Redis's parseScanCursorOrReply: strtoul's syntax (an optional sign, a
// '-' wraps, no leading space, no trailing byte, "" is 0). False after
// writing "invalid cursor".
bool parse_scan_cursor(std::string_view s, uint64_t& cursor, proto::ReplySink& out);

struct ScanOptions {
    int64_t count = 10;
    std::string_view pattern;
    bool use_pattern = false;
};
// SSCAN/HSCAN's options from args[first] on (COUNT n, MATCH p; no TYPE);
// false after writing Redis's error.
bool parse_scan_options(std::span<const std::string_view> args, size_t first, ScanOptions& o,
                        proto::ReplySink& out);

// Redis keeps a small collection in one compact encoding and answers a scan
// of it whole, with cursor 0. Ours are all compact: up to this many entries
// (fields for a hash) a scan is answered whole too, as Redis does for its
// intsets and listpacks; past it a cursor walks the entries.
inline constexpr size_t kScanWholeUpTo = 512;

// The slice a scan of `n` entries returns for `cursor`: entries [lo, hi),
// and the cursor to return. The walk goes from the last entry down: a
// removal shifts only later entries, which were already returned (so they
// may come again), and an addition goes to the end, which is not scanned
// yet at all, so an entry present for the whole scan is never missed.
struct ScanSlice {
    size_t lo = 0, hi = 0;
    uint64_t next = 0;
};
ScanSlice scan_slice(size_t n, uint64_t cursor, int64_t count);

}  // namespace fulmar::engine::resp
