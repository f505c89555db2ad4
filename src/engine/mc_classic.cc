// Classic memcached text commands on the shards; see mc_classic.h for the
// contract and the differences from memcached 1.6.18.
#include "engine/mc_classic.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <span>
#include <string_view>

#include "common/assert.h"
#include "common/numbers.h"
#include "engine/engine_stats.h"
#include "engine/mc_commands.h"
#include "engine/mc_get.h"
#include "engine/replica_guard.h"
#include "engine/ring_guard.h"
#include "proto/mc_wire.h"
#include "shm/layout.h"
#include "store/exptime.h"
#include "store/slab.h"

namespace fulmar::engine {
namespace {

using proto::McTextCommand;
using proto::McTextError;
using proto::McTextRequest;
using proto::ReplySink;

// memcached's MAX_NUMBER_OF_SLAB_CLASSES: "stats cachedump" refuses ids
// from here on.
constexpr uint32_t kMcMaxSlabClasses = 64;

// "STAT " + a name (< 64 here) + " " + a value (<= 64) + "\r\n".
constexpr size_t kStatLineMax = 160;

// A line built on the stack from constant parts and numbers.
class LineBuf {
  public:
    explicit LineBuf(std::span<char> buf) : buf_(buf) {}
    LineBuf& put(std::string_view s) {
        if (!s.empty()) std::memcpy(buf_.data() + n_, s.data(), s.size());
        n_ += s.size();
        return *this;
    }
    LineBuf& put_u64(uint64_t v) {
        n_ += format_u64(v, buf_.data() + n_);
        return *this;
    }
    std::string_view view() const { return {buf_.data(), n_}; }

  private:
    std::span<char> buf_;
    size_t n_ = 0;
};

void reply(ReplySink& out, const McTextRequest& req, std::string_view line) {
    if (!req.noreply) out.append(line);
}

// ---- get, gets, gat, gats ------------------------------------------------
//
//   get|gets <key>+          gat|gats <exptime> <key>+
// One "VALUE" block per hit, in request order, then "END". gets and gats
// add the CAS unique. gat/gats set the TTL of every hit and, as memcached,
// count in cmd_touch/touch_hits/touch_misses, not in the get counters.

void append_value(ReplySink& out, std::string_view key, uint32_t flags, std::string_view data,
                  const uint64_t* cas) {
    std::array<char, kMcValueLineMax> line;
    out.append({line.data(), write_mc_value_line(line.data(), key, flags, data.size(), cas)});
    out.append(data);
    out.append(proto::kMcCrlf);
}

// memcached's do_item_touch: the TTL changes and the item counts as
// fetched, under one seqlock write.
void touch_item(store::Shard& shard, store::Item* it, UnixTime exptime) {
    shard.modify(it, [&](store::Item& i) {
        i.set_expiry(exptime);
        i.type_bits |= store::kItemFetched;
    });
    it->touch_ref();
}

bool get_one(const store::KeyRef& k, bool with_cas, UnixTime now, EngineCtx& ctx, ReplySink& out) {
    // Another partition's key is a miss, as memcached answers a key it never had.
    if (ring_check(ctx, k.key, false).verdict == RingVerdict::kMoved) return false;
    store::Shard& shard = ctx.shard_for(k);
    store::ItemMeta meta;
    switch (shard.read(k, now, ctx.scratch, meta)) {
        case store::ReadStatus::kHit:
            append_value(out, k.key, meta.flags, {ctx.scratch.data(), meta.value_len},
                         with_cas ? &meta.cas : nullptr);
            settle_get_read(ctx, shard, k, true, meta, now);
            return true;
        case store::ReadStatus::kBufferTooSmall:
            // Another lcore's shard is only read, and there the scratch holds
            // the largest item. A smaller scratch: the owner serves the value
            // from the item itself.
            if (!ctx.owns(shard)) return false;
            if (store::Item* it = shard.find(k, now)) {
                append_value(out, k.key, it->client_flags, it->value(),
                             with_cas ? &it->cas : nullptr);
                mark_fetched(shard, it);
                return true;
            }
            return false;
        case store::ReadStatus::kMiss:
        case store::ReadStatus::kExpired:  // read_typed's only; a miss here
            break;
    }
    settle_get_read(ctx, shard, k, false, meta, now);
    return false;
}

bool get_and_touch(const store::KeyRef& k, bool with_cas, UnixTime exptime, UnixTime now,
                   EngineCtx& ctx, ReplySink& out) {
    if (ring_check(ctx, k.key, true).verdict != RingVerdict::kServe) return false;
    store::Shard& shard = ctx.shard_for(k);
    store::Item* it = counting_expired(ctx, shard, [&] { return shard.find(k, now); });
    if (it == nullptr || !it->is_string()) return false;
    // memcached replies with the item it touched: the value is sent even
    // when the new exptime has already passed.
    append_value(out, k.key, it->client_flags, it->value(), with_cas ? &it->cas : nullptr);
    touch_item(shard, it, exptime);
    return true;
}

// A sink for replies nobody will read.
class DiscardSink final : public ReplySink {
  public:
    void append(std::string_view) override {}
};

// Runs the get family command on its keys, in order, stopping before the
// first key longer than memcached's limit (the parser has already refused
// the line when there is one).
void cmd_get_keys(const McTextRequest& req, EngineCtx& ctx, ReplySink& out) {
    const bool touch = req.command == McTextCommand::kGat || req.command == McTextCommand::kGats;
    const bool with_cas =
        req.command == McTextCommand::kGets || req.command == McTextCommand::kGats;
    const UnixTime now = ctx.now();
    const UnixTime exptime = touch ? store::exptime_to_abs(req.exptime, now) : 0;
    proto::McTokenIter keys = req.key_iter();
    std::string_view key;
    while (keys.next(key) && key.size() <= proto::kMcMaxKeyLen) {
        const store::KeyRef k(key);
        if (touch) {
            ++ctx.stats->cmd_touch;
            if (get_and_touch(k, with_cas, exptime, now, ctx, out))
                ++ctx.stats->touch_hits;
            else
                ++ctx.stats->touch_misses;
        } else {
            ++ctx.stats->cmd_get;
            if (get_one(k, with_cas, now, ctx, out))
                ++ctx.stats->get_hits;
            else
                ++ctx.stats->get_misses;
        }
    }
}

void cmd_get(const McTextRequest& req, const store::KeyRef&, EngineCtx& ctx, ReplySink& out) {
    cmd_get_keys(req, ctx, out);
    out.append(proto::kMcEnd);
}

// ---- set, add, replace, append, prepend, cas -------------------------------
//
//   <cmd> <key> <flags> <exptime> <bytes> [noreply]\r\n<data>\r\n
//   cas <key> <flags> <exptime> <bytes> <cas unique> [noreply]\r\n<data>\r\n

store::StoreMode store_mode(McTextCommand c) {
    switch (c) {
        case McTextCommand::kAdd:
            return store::StoreMode::kAdd;
        case McTextCommand::kReplace:
            return store::StoreMode::kReplace;
        case McTextCommand::kAppend:
            return store::StoreMode::kAppend;
        case McTextCommand::kPrepend:
            return store::StoreMode::kPrepend;
        case McTextCommand::kCas:
            return store::StoreMode::kCas;
        default:
            return store::StoreMode::kSet;
    }
}

// memcached could not allocate the item: it answers, swallows the data
// (the parser does) and, for set only, unlinks the key so that a stale
// value does not outlive a failed overwrite.
void refuse_store(const McTextRequest& req, const store::KeyRef& k, EngineCtx& ctx,
                  std::string_view line, ReplySink& out) {
    if (req.command == McTextCommand::kSet) ctx.shard_for(k).remove(k, ctx.now());
    reply(out, req, line);
}

void cmd_store(const McTextRequest& req, const store::KeyRef& k, EngineCtx& ctx, ReplySink& out) {
    if (!mc_item_fits_flags(req.key.size(), req.value.size(), req.flags)) {
        refuse_store(req, k, ctx, proto::kMcServerErrorTooLarge, out);
        return;
    }
    ++ctx.stats->cmd_set;
    const UnixTime now = ctx.now();
    store::Shard& shard = ctx.shard_for(k);
    const store::StoreMode mode = store_mode(req.command);
    const bool concat = mode == store::StoreMode::kAppend || mode == store::StoreMode::kPrepend;
    if (concat) {
        // memcached allocates the joined item with the old item's flags;
        // when that is too large it answers NOT_STORED. Our slab would hold
        // a little more, so apply memcached's limit here.
        const store::Item* old = shard.find(k, now);
        if (old != nullptr &&
            !mc_item_fits_flags(req.key.size(), size_t{old->value_len} + req.value.size(),
                                old->client_flags)) {
            reply(out, req, proto::kMcNotStored);
            return;
        }
    }
    const store::StoreArgs args{
        .flags = req.flags,
        .exptime = store::exptime_to_abs(req.exptime, now),
        .cas_in = mode == store::StoreMode::kCas ? req.cas : 0,
    };
    const store::StoreStatus st = shard.store(mode, k, req.value, args, now);
    const bool cas = mode == store::StoreMode::kCas;
    switch (st) {
        case store::StoreStatus::kStored:
            ++ctx.stats->total_items;
            if (cas) ++ctx.stats->cas_hits;
            reply(out, req, proto::kMcStored);
            return;
        case store::StoreStatus::kNotStored:
            reply(out, req, proto::kMcNotStored);
            return;
        case store::StoreStatus::kExists:
            if (cas) ++ctx.stats->cas_badval;
            reply(out, req, proto::kMcExists);
            return;
        case store::StoreStatus::kNotFound:
            if (cas) ++ctx.stats->cas_misses;
            reply(out, req, proto::kMcNotFound);
            return;
        default:
            break;
    }
    // No memory (or, for append/prepend, a joined item the slab refuses):
    // memcached fails the joined allocation with NOT_STORED, the first one
    // with "out of memory".
    if (concat) {
        reply(out, req, proto::kMcNotStored);
        return;
    }
    refuse_store(req, k, ctx, proto::kMcServerErrorOutOfMemoryStoring, out);
}

// ---- delete, touch, incr, decr -----------------------------------------------

//   delete <key> [0] [noreply]
void cmd_delete(const McTextRequest& req, const store::KeyRef& k, EngineCtx& ctx, ReplySink& out) {
    store::Shard& shard = ctx.shard_for(k);
    const UnixTime now = ctx.now();
    const store::StoreStatus st =
        counting_expired(ctx, shard, [&] { return shard.remove(k, now); });
    if (st == store::StoreStatus::kDeleted) {
        ++ctx.stats->delete_hits;
        reply(out, req, proto::kMcDeleted);
    } else {
        ++ctx.stats->delete_misses;
        reply(out, req, proto::kMcNotFound);
    }
}

//   touch <key> <exptime> [noreply]
void cmd_touch(const McTextRequest& req, const store::KeyRef& k, EngineCtx& ctx, ReplySink& out) {
    store::Shard& shard = ctx.shard_for(k);
    const UnixTime now = ctx.now();
    const UnixTime exptime = store::exptime_to_abs(req.exptime, now);
    ++ctx.stats->cmd_touch;
    store::Item* it = counting_expired(ctx, shard, [&] { return shard.find(k, now); });
    if (it != nullptr && it->is_string()) {
        touch_item(shard, it, exptime);
        ++ctx.stats->touch_hits;
        reply(out, req, proto::kMcTouched);
    } else {
        ++ctx.stats->touch_misses;
        reply(out, req, proto::kMcNotFound);
    }
}

//   incr|decr <key> <delta> [noreply]
// The reply is the new value. incr wraps at 2^64, decr stops at 0; a
// shorter result is padded with spaces in the stored value (the shard).
void cmd_arith(const McTextRequest& req, const store::KeyRef& k, EngineCtx& ctx, ReplySink& out) {
    const bool incr = req.command == McTextCommand::kIncr;
    store::Shard& shard = ctx.shard_for(k);
    uint64_t value = 0;
    const store::StoreStatus st = shard.arith(
        k, incr ? store::ArithOp::kIncr : store::ArithOp::kDecr, req.delta, ctx.now(), 0, value);
    switch (st) {
        case store::StoreStatus::kOk: {
            ++(incr ? ctx.stats->incr_hits : ctx.stats->decr_hits);
            std::array<char, 24> buf;
            LineBuf line(buf);
            line.put_u64(value).put(proto::kMcCrlf);
            reply(out, req, line.view());
            return;
        }
        case store::StoreStatus::kNotFound:
            ++(incr ? ctx.stats->incr_misses : ctx.stats->decr_misses);
            reply(out, req, proto::kMcNotFound);
            return;
        case store::StoreStatus::kNonNumeric:
            reply(out, req, proto::kMcClientErrorNonNumeric);
            return;
        default:
            reply(out, req, proto::kMcServerErrorOutOfMemory);
            return;
    }
}

// ---- flush_all, verbosity, version ------------------------------------------

//   flush_all [delay] [noreply]
void cmd_flush_all(const McTextRequest& req, const store::KeyRef&, EngineCtx& ctx, ReplySink& out) {
    // Each owner flushes its own shard (the control plane sends flush_all to
    // every owner); the flush counts once, at shard 0's.
    if (ctx.own_shard <= 0) ++ctx.stats->cmd_flush;
    const UnixTime now = ctx.now();
    for (store::Shard* shard : ctx.shards)
        if (ctx.owns(*shard)) shard->flush_all(req.exptime, now);
    reply(out, req, proto::kMcOk);
}

//   verbosity <level> [noreply]
// Fulmar has no verbose logging to turn up; memcached's reply.
void cmd_verbosity(const McTextRequest& req, const store::KeyRef&, EngineCtx&, ReplySink& out) {
    reply(out, req, proto::kMcOk);
}

//   version
void cmd_version(const McTextRequest&, const store::KeyRef&, EngineCtx&, ReplySink& out) {
    out.append(proto::kMcVersionPrefix);
    out.append(kMcVersion);
    out.append(proto::kMcCrlf);
}

// ---- ring ----------------------------------------------------------------------
//
//   ring
// Fulmar's own: the cluster ring this node serves, so a client given any
// one node learns every partition (libfulmar's seeded mode):
//   RING <epoch>\r\n
//   NODE <host:port>:<weight> <name>\r\n     one per member, in ring order
//   END\r\n
// The NODE lines are nutcracker's server entries: ketama over them places
// keys where this node's ring guard does. No ring: "RING 0" and no member.

// "NODE " + address + ":" + a 32-bit weight + " " + name + "\r\n".
constexpr size_t kRingLineMax = 5 + shm::kRingAddressMax + 1 + 10 + 1 + shm::kRingNameMax + 2;

std::string_view fixed_text(const char* p, size_t max) {
    return {p, ::strnlen(p, max)};
}

void cmd_ring(const McTextRequest&, const store::KeyRef&, EngineCtx& ctx, ReplySink& out) {
    std::array<char, kRingLineMax> buf;
    const uint32_t cur =
        ctx.shared != nullptr ? ctx.shared->ring.current.load(std::memory_order_acquire) : 0;
    if (cur == 0 || cur > shm::kRingSlots) {
        out.append(LineBuf(buf).put("RING 0").put(proto::kMcCrlf).view());
        out.append(proto::kMcEnd);
        return;
    }
    const shm::RingSlot& slot = ctx.shared->ring.slots[cur - 1];
    out.append(LineBuf(buf).put("RING ").put_u64(slot.epoch).put(proto::kMcCrlf).view());
    const uint32_t n = std::min(slot.n_members, shm::kMaxRingMembers);
    for (uint32_t i = 0; i < n; ++i) {
        const shm::RingMember& m = slot.members[i];
        LineBuf line(buf);
        line.put("NODE ")
            .put(fixed_text(m.address, shm::kRingAddressMax))
            .put(":")
            .put_u64(m.weight)
            .put(" ")
            .put(fixed_text(m.name, shm::kRingNameMax))
            .put(proto::kMcCrlf);
        out.append(line.view());
    }
    out.append(proto::kMcEnd);
}

// ---- stats ---------------------------------------------------------------------
//
//   stats [reset | detail on|off|dump | settings | items | slabs | sizes | conns
//          | cachedump <class> <limit>]

void stat(ReplySink& out, std::string_view name, uint64_t v) {
    std::array<char, kStatLineMax> buf;
    LineBuf line(buf);
    line.put(proto::kMcStatPrefix).put(name).put(" ").put_u64(v).put(proto::kMcCrlf);
    out.append(line.view());
}

void stat(ReplySink& out, std::string_view name, std::string_view v) {
    std::array<char, kStatLineMax> buf;
    LineBuf line(buf);
    line.put(proto::kMcStatPrefix).put(name).put(" ").put(v).put(proto::kMcCrlf);
    out.append(line.view());
}

// "items:<id>:<field>" or "<id>:<field>", memcached's per-class names.
void class_stat(ReplySink& out, std::string_view prefix, size_t id, std::string_view field,
                uint64_t v) {
    std::array<char, 64> buf;
    LineBuf name(buf);
    name.put(prefix).put_u64(id).put(":").put(field);
    stat(out, name.view(), v);
}

struct EngineTotals {
    uint64_t curr_items = 0;
    uint64_t bytes = 0;
    uint64_t evictions = 0;
    uint64_t limit_maxbytes = 0;
};

EngineTotals totals(const EngineCtx& ctx) {
    EngineTotals t;
    for (const store::Shard* shard : ctx.shards) {
        const store::Slab& slab = shard->slab();
        for (size_t c = 0; c < slab.n_classes(); ++c) {
            const store::SlabClass& cls = slab.cls(static_cast<uint8_t>(c));
            t.curr_items += cls.n_live;
            t.bytes += cls.n_live * cls.chunk_size;
        }
        t.evictions += shard->stats().evictions;
        t.limit_maxbytes += uint64_t{slab.n_pages()} * store::kPageSize;
    }
    return t;
}

void stats_general(EngineCtx& ctx, ReplySink& out) {
    const UnixTime now = ctx.now();
    const EngineStats s = engine_totals(ctx);
    const EngineTotals t = totals(ctx);
    stat(out, "pid", static_cast<uint64_t>(::getpid()));
    stat(out, "uptime", now >= ctx.started ? now - ctx.started : 0);
    stat(out, "time", now);
    stat(out, "version", kMcVersion);
    stat(out, "pointer_size", uint64_t{sizeof(void*) * 8});
    stat(out, "cmd_get", s.cmd_get);
    stat(out, "cmd_set", s.cmd_set);
    stat(out, "cmd_flush", s.cmd_flush);
    stat(out, "cmd_touch", s.cmd_touch);
    stat(out, "get_hits", s.get_hits);
    stat(out, "get_misses", s.get_misses);
    stat(out, "get_expired", s.get_expired);
    stat(out, "delete_misses", s.delete_misses);
    stat(out, "delete_hits", s.delete_hits);
    stat(out, "incr_misses", s.incr_misses);
    stat(out, "incr_hits", s.incr_hits);
    stat(out, "decr_misses", s.decr_misses);
    stat(out, "decr_hits", s.decr_hits);
    stat(out, "cas_misses", s.cas_misses);
    stat(out, "cas_hits", s.cas_hits);
    stat(out, "cas_badval", s.cas_badval);
    stat(out, "touch_hits", s.touch_hits);
    stat(out, "touch_misses", s.touch_misses);
    stat(out, "limit_maxbytes", t.limit_maxbytes);
    stat(out, "threads", uint64_t{ctx.shards.size()});
    stat(out, "bytes", t.bytes);
    stat(out, "curr_items", t.curr_items);
    stat(out, "total_items", s.total_items);
    stat(out, "evictions", t.evictions);
    out.append(proto::kMcEnd);
}

void stats_settings(const EngineCtx& ctx, ReplySink& out) {
    stat(out, "maxbytes", totals(ctx).limit_maxbytes);
    stat(out, "item_size_max", uint64_t{kMcItemSizeMax});
    stat(out, "num_threads", uint64_t{ctx.shards.size()});
    stat(out, "evictions", "on");
    stat(out, "cas_enabled", "yes");
    stat(out, "flush_enabled", "yes");
    out.append(proto::kMcEnd);
}

// Per class, summed over shards (every shard has the same class table);
// ids are 1-based as memcached's. Classes with nothing to say are left out.
void stats_items(const EngineCtx& ctx, ReplySink& out) {
    if (ctx.shards.empty()) {
        out.append(proto::kMcEnd);
        return;
    }
    const size_t n_classes = ctx.shards[0]->slab().n_classes();
    for (size_t c = 0; c < n_classes; ++c) {
        uint64_t number = 0, evicted = 0;
        for (const store::Shard* shard : ctx.shards) {
            number += shard->slab().cls(static_cast<uint8_t>(c)).n_live;
            evicted += shard->slab().cls(static_cast<uint8_t>(c)).evictions;
        }
        if (number == 0 && evicted == 0) continue;
        class_stat(out, "items:", c + 1, "number", number);
        class_stat(out, "items:", c + 1, "evicted", evicted);
    }
    out.append(proto::kMcEnd);
}

void stats_slabs(const EngineCtx& ctx, ReplySink& out) {
    uint64_t active = 0, malloced = 0;
    const size_t n_classes = ctx.shards.empty() ? 0 : ctx.shards[0]->slab().n_classes();
    for (size_t c = 0; c < n_classes; ++c) {
        uint64_t pages = 0, used = 0, free = 0, chunks = 0;
        uint32_t chunk_size = 0;
        for (const store::Shard* shard : ctx.shards) {
            const store::SlabClass& cls = shard->slab().cls(static_cast<uint8_t>(c));
            chunk_size = cls.chunk_size;
            pages += cls.n_pages;
            used += cls.n_live;
            free += cls.n_free;
            chunks += uint64_t{cls.n_pages} * cls.chunks_per_page;
        }
        if (pages == 0) continue;
        ++active;
        malloced += pages * store::kPageSize;
        class_stat(out, "", c + 1, "chunk_size", chunk_size);
        class_stat(out, "", c + 1, "total_pages", pages);
        class_stat(out, "", c + 1, "total_chunks", chunks);
        class_stat(out, "", c + 1, "used_chunks", used);
        class_stat(out, "", c + 1, "free_chunks", free);
    }
    stat(out, "active_slabs", active);
    stat(out, "total_malloced", malloced);
    out.append(proto::kMcEnd);
}

// memcached's argument checks, then an empty dump: we do not list keys.
void stats_cachedump(std::string_view args, ReplySink& out) {
    proto::McTokenIter it(args);
    std::string_view sub, id_tok, limit_tok;
    if (!it.next(sub) || !it.next(id_tok) || !it.next(limit_tok)) {
        out.append(proto::kMcClientErrorBadCommandLine);
        return;
    }
    uint32_t id = 0, limit = 0;
    if (!parse_u32(id_tok, id) || !parse_u32(limit_tok, limit)) {
        out.append(proto::kMcClientErrorBadFormat);
        return;
    }
    if (id >= kMcMaxSlabClasses) {
        out.append(proto::kMcClientErrorIllegalSlabId);
        return;
    }
    out.append(proto::kMcEnd);
}

void cmd_stats(const McTextRequest& req, const store::KeyRef&, EngineCtx& ctx, ReplySink& out) {
    proto::McTokenIter it(req.stats_args);
    std::string_view sub;
    if (!it.next(sub)) {
        stats_general(ctx, out);
    } else if (sub == "reset") {
        reset_engine_stats(ctx);
        out.append(proto::kMcReset);
    } else if (sub == "detail") {
        // We keep no per-prefix stats: on/off are accepted, dump is empty.
        std::string_view arg;
        if (!it.next(arg) || (arg != "on" && arg != "off" && arg != "dump"))
            out.append(proto::kMcClientErrorStatsDetailUsage);
        else
            out.append(arg == "dump" ? proto::kMcEnd : proto::kMcOk);
    } else if (sub == "settings") {
        stats_settings(ctx, out);
    } else if (sub == "items") {
        stats_items(ctx, out);
    } else if (sub == "slabs") {
        stats_slabs(ctx, out);
    } else if (sub == "sizes") {
        stat(out, "sizes_status", "disabled");
        out.append(proto::kMcEnd);
    } else if (sub == "conns") {
        out.append(proto::kMcEnd);
    } else if (sub == "cachedump") {
        stats_cachedump(req.stats_args, out);
    } else {
        out.append(proto::kMcError);
    }
}

//   quit: closing is the session's; nothing runs on the shards.
void cmd_quit(const McTextRequest&, const store::KeyRef&, EngineCtx&, ReplySink&) {}

// ---- the command table ---------------------------------------------------------
//
// Name, arity and line parser come from the grammar (proto/mc_text_grammar.h);
// what a command does to the shards is written here.

using proto::mc_text_grammar;

constexpr McTextSpec spec(McTextCommand c, uint16_t flags, KeySpec keys,
                          McTextSpec::ExecuteFn execute) {
    const proto::McTextGrammar& g = mc_text_grammar(c);
    return {.name = g.name,
            .arity = {g.min_tokens, g.max_tokens},
            .flags = flags,
            .keys = keys,
            .parse = g.parse_line,
            .execute = execute};
}

constexpr KeySpec kOneKey{1, 1, 1};
constexpr KeySpec kKeysFrom1{1, -1, 1};  // get <key>+
constexpr KeySpec kKeysFrom2{2, -1, 1};  // gat <exptime> <key>+
constexpr KeySpec kNoKeys{};

// gat touches: a write. Writes of a key run on its owner, reads anywhere.
constexpr std::array<McTextSpec, proto::kMcTextGrammar.size()> kMcTextCommands = {{
    spec(McTextCommand::kGet, kCmdRead | kCmdFlushQueue, kKeysFrom1, cmd_get),
    spec(McTextCommand::kGets, kCmdRead | kCmdFlushQueue, kKeysFrom1, cmd_get),
    spec(McTextCommand::kGat, kCmdWrite | kCmdFlushQueue, kKeysFrom2, cmd_get),
    spec(McTextCommand::kGats, kCmdWrite | kCmdFlushQueue, kKeysFrom2, cmd_get),
    spec(McTextCommand::kSet, kCmdWrite, kOneKey, cmd_store),
    spec(McTextCommand::kAdd, kCmdWrite, kOneKey, cmd_store),
    spec(McTextCommand::kReplace, kCmdWrite, kOneKey, cmd_store),
    spec(McTextCommand::kAppend, kCmdWrite, kOneKey, cmd_store),
    spec(McTextCommand::kPrepend, kCmdWrite, kOneKey, cmd_store),
    spec(McTextCommand::kCas, kCmdWrite, kOneKey, cmd_store),
    spec(McTextCommand::kDelete, kCmdWrite, kOneKey, cmd_delete),
    spec(McTextCommand::kIncr, kCmdWrite | kCmdRewritesNumber, kOneKey, cmd_arith),
    spec(McTextCommand::kDecr, kCmdWrite | kCmdRewritesNumber, kOneKey, cmd_arith),
    spec(McTextCommand::kTouch, kCmdWrite, kOneKey, cmd_touch),
    spec(McTextCommand::kFlushAll, kCmdWrite | kCmdAdmin | kCmdAllShards, kNoKeys, cmd_flush_all),
    spec(McTextCommand::kVerbosity, kCmdAdmin | kCmdNoKey, kNoKeys, cmd_verbosity),
    spec(McTextCommand::kVersion, kCmdRead | kCmdNoKey, kNoKeys, cmd_version),
    spec(McTextCommand::kQuit, kCmdNoKey | kCmdCloses, kNoKeys, cmd_quit),
    spec(McTextCommand::kStats, kCmdAdmin | kCmdNoKey, kNoKeys, cmd_stats),
    spec(McTextCommand::kRing, kCmdRead | kCmdNoKey, kNoKeys, cmd_ring),
}};

}  // namespace

std::span<const McTextSpec> mc_text_commands() {
    return kMcTextCommands;
}

const McTextSpec& mc_text_command(McTextCommand c) {
    FULMAR_ASSERT(c != McTextCommand::kNone);
    return kMcTextCommands[static_cast<size_t>(c) - 1];
}

store::KeyRef mc_text_key(const McTextRequest& req) {
    if (req.command == McTextCommand::kNone || !mc_text_command(req.command).keys.single())
        return {};
    return store::KeyRef(req.key);
}

void execute_classic(const McTextRequest& req, const store::KeyRef& key, EngineCtx& ctx,
                     ReplySink& out) {
    if (req.command == McTextCommand::kNone) return;
    const McTextSpec& cmd = mc_text_command(req.command);
    if (refused_on_replica(cmd, key.key, ctx, out)) return;
    cmd.execute(req, key, ctx, out);
}

void execute_classic(const McTextRequest& req, EngineCtx& ctx, ReplySink& out) {
    execute_classic(req, mc_text_key(req), ctx, out);
}

void execute_classic_error(McTextError error, const McTextRequest& req, EngineCtx& ctx,
                           ReplySink& out) {
    switch (error) {
        case McTextError::kObjectTooLarge:
            refuse_store(req, store::KeyRef(req.key), ctx, proto::kMcServerErrorTooLarge, out);
            return;
        case McTextError::kBadDataChunk:
            // memcached allocates the item (and so checks its size) before
            // it reads the data; only an item it could allocate counts as a
            // set whose data then turns out bad.
            if (!mc_item_fits_flags(req.key.size(), req.value_len, req.flags)) {
                refuse_store(req, store::KeyRef(req.key), ctx, proto::kMcServerErrorTooLarge, out);
                return;
            }
            ++ctx.stats->cmd_set;
            break;
        case McTextError::kBadFormat:
            // memcached meets a long key of a get only when it reaches it:
            // the keys before it have been fetched (and, by gat, touched).
            // Their replies are dropped with the rest of the queue.
            if (req.command != McTextCommand::kNone &&
                mc_text_command(req.command).execute == cmd_get) {
                DiscardSink discard;
                cmd_get_keys(req, ctx, discard);
            }
            break;
        case McTextError::kInvalidExptime:
            // memcached counts the flush before it reads the delay.
            if (req.command == McTextCommand::kFlushAll) ++ctx.stats->cmd_flush;
            break;
        default:
            break;
    }
    reply(out, req, proto::mc_text_error_reply(error));
}

}  // namespace fulmar::engine
