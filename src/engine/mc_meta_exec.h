// Executes parsed memcached meta requests (mg, ms, md, ma, mn, me) on the
// shards and writes memcached 1.6.18's replies byte for byte.
//
// Threading: runs on the thread that owns the EngineCtx, and calls the
// shards' owner-only methods (find, allocate, publish, modify, unlink, arith,
// store) for every command, mg included: a meta get may write the item (TTL,
// win token, stale and fetched bits). The caller must own every shard it
// sends requests to (see src/engine/README.md).
//
// Contract with the session: `req` is a request parse_mc_meta() completed
// (status kComplete); parse errors, swallowing and "line too long" are the
// session's business. execute_meta() appends the whole reply to `out`, or
// nothing when quiet mode (q) suppresses it. It allocates nothing.
//
// Where we differ from memcached 1.6.18, on purpose or for want of a field:
//   - Flags from later 1.6 releases are honoured: E (new CAS value, on ms,
//     md, ma and mg's vivify) and md x (replace the value with an empty one,
//     keep the item). 1.6.18 itself rejects both as invalid flags.
//   - ma T on a number that grows longer ("99" -> "100") sets the TTL; 1.6.18
//     sets it on the replaced copy and loses it.
//   - mg l and me la= count from the item's last store or touch (Item::time):
//     memcached also moves it on reads, at most once a minute. We do not,
//     because flush_all compares that field with the flush time.
//   - k echoes a binary key in base64 when the request used b; memcached
//     keeps a "binary key" bit in the item and decides by that, so a key
//     stored with b and read back without it differs.
//   - me reports our class (1-based, as memcached numbers its classes) and
//     our item size (32-byte header + key + value), not memcached's.
//   - C on mg is accepted and ignored, exactly as memcached 1.6.18 does (C
//     compares CAS for writes; a get has nothing to compare).
#pragma once

#include "engine/engine_ctx.h"
#include "proto/mc_meta.h"
#include "proto/reply_sink.h"

namespace fulmar::engine {

// Executes one parsed meta request against ctx's shards at ctx.now() and
// appends its reply to `out`; updates ctx.stats as memcached's counters move.
void execute_meta(const proto::McMetaRequest& req, EngineCtx& ctx, proto::ReplySink& out);

// ---- mg served by a reader (the control plane), without the owner ----------
//
// What mg reports of an item, whoever read it (the owner's Item, a reader's
// store::ItemMeta).
struct MetaGetFields {
    uint32_t value_len = 0;
    uint64_t cas = 0;
    uint32_t client_flags = 0;
    UnixTime time = 0;
    uint8_t type_bits = 0;
};

// Whether `req` is an mg whose flags only report (b c f h k l O q s t u v):
// no T, N, R or E, nothing that may write the item.
bool meta_get_reads_only(const proto::McMetaRequest& req);
// Whether such an mg, hitting `it`, would leave it unchanged: it is not
// stale (a win token) and it was fetched before (or u asks for no bump).
// Only then may a reader answer it.
bool meta_get_hit_changes_nothing(const proto::McMetaRequest& req, const MetaGetFields& it);
// The reply to such an mg: byte for byte what execute_meta() writes.
void write_meta_get_hit(const proto::McMetaRequest& req, const MetaGetFields& it,
                        std::string_view value, UnixTime exptime, UnixTime now,
                        proto::ReplySink& out);
void write_meta_get_miss(const proto::McMetaRequest& req, proto::ReplySink& out);

}  // namespace fulmar::engine
