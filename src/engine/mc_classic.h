// Executes parsed classic memcached text requests (get ... stats) on the
// shards and writes memcached 1.6.18's replies byte for byte.
//
// Threading: runs on the thread that owns the EngineCtx. Gets read through
// Shard::read (the lock-free path the dataplane will use); everything else
// calls the shards' owner-only methods, and so do two rare steps of a get:
// a miss (to tell an expired item from an absent one for get_expired, and to
// reclaim it, as memcached's do_item_get does) and the first hit after a
// store (to set the item's "fetched" bit that meta's h flag reports). The
// caller must own every shard (see src/engine/README.md).
//
// Contract with the session: execute_classic() takes a request the parser
// completed (kComplete); execute_classic_error() takes one it refused
// (kError) and replies as memcached does, with memcached's side effects (a
// "set" refused as too large unlinks the key). Both append the whole reply
// to `out`, or nothing under noreply. Connection-level behaviour (quit,
// closing, swallowing, memcached's reply-queue flushes) is the session's.
// Neither allocates.
//
// Where we differ from memcached 1.6.18:
//   - incr/decr on a value above memcached's 512 KiB chunk size: memcached
//     answers "non-numeric" (its value is chunked); we parse the number.
//   - "stats" reports what a cache without memcached's threads, LRU
//     segments and connection table can know; counters memcached keeps per
//     slab class are summed over the engine. "bytes" counts the chunks held
//     by live items. "stats settings", "items", "slabs", "sizes", "conns"
//     and "cachedump" answer a few fields or an empty list (see
//     mc_classic.cc); an unknown argument is "ERROR", as in memcached.
//   - total_items counts successful storage commands; memcached also counts
//     an incr that had to copy the item.
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/engine_ctx.h"
#include "proto/mc_text.h"
#include "proto/reply_sink.h"
#include "store/digest.h"

namespace fulmar::engine {

// memcached's item_size_ok(), exactly: engine_ctx.h's mc_item_fits() plus
// the 4 bytes memcached stores client flags in when they are not 0.
inline bool mc_item_fits_flags(size_t key_len, size_t value_len, uint32_t flags) {
    return mc_item_fits(key_len, value_len + (flags != 0 ? sizeof(uint32_t) : 0));
}

// The largest value any storage request can store (1-byte key, flags 0):
// 1,048,516 bytes. The session gives it to the parsers so that larger values
// are refused from their command line and swallowed, never buffered.
inline constexpr uint32_t kMcMaxStorableValueLen =
    static_cast<uint32_t>(kMcItemSizeMax - 48 - 8 - 1 - 1 - 2);
static_assert(kMcMaxStorableValueLen == 1048516);

// Executes one complete request through its command table entry
// (mc_commands.h). kQuit does nothing here: closing is the session's.
void execute_classic(const proto::McTextRequest& req, EngineCtx& ctx, proto::ReplySink& out);

// The same, with the request's key already digested (mc_text_key(req), or
// what a router computed for it): nothing is digested twice.
void execute_classic(const proto::McTextRequest& req, const store::KeyRef& key, EngineCtx& ctx,
                     proto::ReplySink& out);

// Replies to a request the parser refused with `error` (one that is neither
// kMetaCommand nor a close), with memcached's side effects: a storage
// request too large for an item unlinks the key when it is a "set"; a
// storage request whose data is both too large and badly terminated gets
// the "too large" reply, as memcached checks the size before reading the
// data; a get family line with a key over 250 bytes still fetches (gat:
// touches) the keys before that key, their replies discarded; flush_all
// counts in cmd_flush even with a bad delay.
void execute_classic_error(proto::McTextError error, const proto::McTextRequest& req,
                           EngineCtx& ctx, proto::ReplySink& out);

}  // namespace fulmar::engine
