// A burst of get/gets requests answered together: every key's digest, then
// one bulk index look-up per shard with the item headers prefetched (the
// store does 9 M bulk reads/s against 3 M single ones), then the replies
// written straight into the caller's buffers.
//
// Owned by one worker lcore (its EngineCtx); allocates once, at
// construction. The dataplane fills it from the plain get datagrams of one RX
// burst (proto/mc_get_line.h), looks them up, and writes each reply straight
// into its TX mbuf. A request whose reply cannot be made here (a value larger
// than a slot, or a reply longer than the room given: more than one
// datagram) is left to the full engine path, with nothing counted or changed
// for it here; every request whose reply was written is then settled, and
// counts and behaves exactly as the classic engine's get (mc_get.h holds the
// shared pieces).
//
//   add(line) x n -> lookup(ctx) -> per request: write_reply(i, dst, room)
//                                                 -> settle(ctx, i) if written
//                                   (or per request: write(i, dst, room),
//                                    then settle_written(ctx, mask) once)
//                 -> clear()
//
//   keys_[]   KeyRef (key view + digest) per key, requests' keys in order
//   reads_[]  Shard::BulkRead per key: value copied into values_[k * kValueSlot]
//   reqs_[]   first key, key count, gets?, reply length (0: full path)
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>
#include <type_traits>

#include "common/small_bytes.h"
#include "engine/engine_ctx.h"
#include "engine/mc_get.h"
#include "proto/mc_get_line.h"
#include "proto/mc_wire.h"
#include "store/shard.h"

namespace fulmar::engine {

class McGetBatch {
  public:
    // A whole RX burst of the largest size (config's kMaxBurstSize, 64) is
    // one batch, with room for multi-key lines.
    static constexpr size_t kMaxKeys = 128;
    static constexpr size_t kMaxRequests = 64;
    static_assert(proto::kMcGetLineMaxKeys <= kMaxKeys, "an empty batch takes any one line");
    // A value larger than this cannot share a one-datagram reply anyway.
    static constexpr size_t kValueSlot = 1408;

    McGetBatch();

    // Queues a request; false when it does not fit (run and clear first).
    // Inline: it runs for every datagram.
    bool add(const proto::McGetLine& line) {
        // Counts in locals: the byte stores into reqs_ may alias them.
        const size_t n_keys = n_keys_;
        const size_t n = line.n_keys;
        if (n_reqs_ == kMaxRequests || n_keys + n > kMaxKeys) return false;
        push_request(n_keys, n, line.with_cas);
        for (size_t i = 0; i < n; ++i)
            keys_[n_keys + i].key = line.keys[i];  // digested in lookup(), all at once
        n_keys_ = n_keys + n;
        return true;
    }

    // The transport's entry: a datagram body joins the batch only when it
    // is one plain get/gets line (proto/mc_get_line.h recognises the
    // canonical form; anything else takes the routed path). kFull: nothing
    // queued; answer and clear the batch, then add_pending() queues the line
    // already recognised (no second parse).
    enum class AddResult : uint8_t { kAdded, kFull, kNotPlainGet };
    // Inline: it runs for every datagram.
    [[gnu::always_inline]] AddResult add_datagram(std::string_view body) {
        const size_t n_keys = n_keys_;
        // The one-key get of a short key, recognised in one step: the slot
        // and request the general parse below would add.
        if (size_t len; proto::mc_one_short_get(body, len) && n_reqs_ != kMaxRequests &&
                        n_keys + proto::kMcGetLineMaxKeys <= kMaxKeys) [[likely]] {
            keys_[n_keys].key = std::string_view(body.data() + 4, len);
            push_request(n_keys, 1, false);
            n_keys_ = n_keys + 1;
            return AddResult::kAdded;
        }
        // Not a get at all (a set, ...): out before anything else is read.
        bool with_cas;
        size_t pos;
        if (!proto::mc_get_verb(body, with_cas, pos)) return AddResult::kNotPlainGet;
        if (n_reqs_ == kMaxRequests || n_keys + proto::kMcGetLineMaxKeys > kMaxKeys) [[unlikely]]
            return add_datagram_near_full(body);
        // Room for any line: its keys parsed straight into their slots (what
        // add() would copy them to), no McGetLine between.
        size_t n;
        store::KeyRef* const keys = keys_.data() + n_keys;
        if (!proto::parse_mc_get_keys(
                body, pos, n, [keys](size_t i, std::string_view key) { keys[i].key = key; }))
            return AddResult::kNotPlainGet;
        push_request(n_keys, n, with_cas);
        n_keys_ = n_keys + n;
        return AddResult::kAdded;
    }
    // add_datagram when a line might not fit: through line_, which
    // add_pending() queues after a kFull.
    AddResult add_datagram_near_full(std::string_view body);
    void add_pending();
    size_t size() const { return n_reqs_; }
    bool empty() const { return n_reqs_ == 0; }
    // Whether a pending request names `key` (byte for byte): a write of that
    // key must wait for the batch, a write of any other key need not.
    // At 90/10 a write meets ~60 pending keys of its own length: a filter
    // of their hashes (one bit each of 1,024, filled here, when the first
    // write of the batch asks, so a GET-only batch never pays for it)
    // answers most writes with one bit; the rest compare inline.
    bool asks_for(std::string_view key) {
        if (n_keys_ == 0) return false;
        for (; filtered_ < n_keys_; ++filtered_) {
            const unsigned b = filter_bit(keys_[filtered_].key);
            filter_[b / 64] |= uint64_t{1} << (b % 64);
        }
        const unsigned b = filter_bit(key);
        if ((filter_[b / 64] & uint64_t{1} << (b % 64)) == 0) return false;
        for (size_t k = 0; k < n_keys_; ++k)
            if (keys_[k].key.size() == key.size() &&
                equal_small(keys_[k].key.data(), key.data(), key.size()))
                return true;
        return false;
    }

    // Looks every key up: one bulk look-up per shard.
    void lookup(EngineCtx& ctx);
    // Writes request i's reply at `dst` when it fits `room` bytes and every
    // value was read whole; returns its length, or 0 when the full engine
    // path must answer instead (nothing is counted or changed for it).
    size_t write_reply(size_t i, char* dst, size_t room) const;
    // Counts request i's gets and does the owner's side effects (mc_get.h);
    // once, after its reply was written.
    void settle(EngineCtx& ctx, size_t i);
    // write_reply, inline: the dataplane's one call per GET, in its loop.
    [[gnu::always_inline]] size_t write(size_t i, char* dst, size_t room) const {
        return write_one(i, dst, room);
    }
    // settle() for every request whose bit is set in `written` (bit i:
    // request i), in request order: the dataplane's one call per burst,
    // after its replies are written. A pass of its own, not one settle per
    // reply in the reply loop: there the possible call to
    // settle_get_read_slow made every reply spill and reload the loop's
    // registers, and the counters were loaded and stored per key. What it
    // does is the same: the fetched bit set, an expired item found on a miss
    // reclaimed and counted once (by this or by a full-path get of the same
    // key in between, whichever meets it first), the same counts.
    static_assert(kMaxRequests <= 64, "one bit a request");
    void settle_written(EngineCtx& ctx, uint64_t written);
    void clear() {
        n_reqs_ = n_keys_ = 0;
        if (filtered_ != 0) {
            filter_ = {};
            filtered_ = 0;
        }
    }

  private:
    void look_up_all(EngineCtx& ctx);
    // write_reply and settle, inlined into answer (below the class).
    [[gnu::always_inline]] inline size_t write_one(size_t i, char* dst, size_t room) const;
    [[gnu::always_inline]] inline void settle_one(EngineCtx& ctx, size_t i);
    // settle_written's step for key k, counting it into hits or misses.
    [[gnu::always_inline]] inline void settle_key(EngineCtx& ctx, size_t k, uint64_t& hits,
                                                  uint64_t& misses) const;

    struct alignas(4) Request {
        uint8_t first_key;
        uint8_t n_keys;
        bool with_cas;
    };
    // reqs_[n_reqs_++] = {first, n, with_cas} as one four-byte store (the
    // aggregate was three byte stores and their address arithmetic).
    void push_request(size_t first, size_t n, bool with_cas) {
        static_assert(sizeof(Request) == 4 && std::is_trivially_copyable_v<Request>);
        const uint32_t v = static_cast<uint32_t>(first & 0xff) |
                           static_cast<uint32_t>(n & 0xff) << 8 | uint32_t{with_cas} << 16;
        std::memcpy(&reqs_[n_reqs_++], &v, sizeof(v));
    }

    proto::McGetLine line_;  // the last datagram recognised
    UnixTime now_ = 0;
    // asks_for's filter: the bit filter_bit() names for each of the first
    // `filtered_` keys (a key's bit from its length and first and last
    // bytes: equal keys share it, different ones mostly do not).
    static unsigned filter_bit(std::string_view key) {
        uint64_t a = key.size(), b = 0;
        if (key.size() >= 8) {
            std::memcpy(&b, key.data(), 8);
            uint64_t c;
            std::memcpy(&c, key.data() + key.size() - 8, 8);
            a ^= c * 0x9e3779b97f4a7c15ull;
        } else {
            for (size_t i = 0; i < key.size(); ++i)
                b = b << 8 | static_cast<uint8_t>(key[i]);
        }
        return static_cast<unsigned>(((a ^ b) * 0xff51afd7ed558ccdull) >> 54);
    }
    std::array<uint64_t, 16> filter_{};
    size_t filtered_ = 0;
    size_t n_keys_ = 0;
    size_t n_reqs_ = 0;
    std::array<store::KeyRef, kMaxKeys> keys_;
    std::array<store::Shard::BulkRead, kMaxKeys> reads_;
    std::array<uint16_t, kMaxKeys> shard_of_{};
    std::array<Request, kMaxRequests> reqs_{};
    // Reads regrouped by shard when a burst spans several.
    std::array<store::Shard::BulkRead, kMaxKeys> grouped_;
    std::array<uint8_t, kMaxKeys> group_src_{};
    std::unique_ptr<char[]> values_;
};

inline size_t McGetBatch::write_one(size_t i, char* dst, size_t room) const {
    const Request& r = reqs_[i];
    char* p = dst;
    const char* const end = dst + room;
    // Bounds and flag held in locals: the stores below are through char
    // pointers, which may alias reqs_ (bytes), so r.* would be read again
    // each time.
    const size_t first = r.first_key;
    const size_t n_keys = r.n_keys;
    const bool with_cas = r.with_cas;
    // Key k's part of the reply at p; false when the engine must answer.
    const auto put = [&](size_t k) __attribute__((always_inline)) {
        const store::Shard::BulkRead& rd = reads_[k];
        if (rd.status == store::ReadStatus::kBufferTooSmall) return false;
        if (rd.status != store::ReadStatus::kHit) return true;
        const uint64_t* cas = with_cas ? &rd.meta.cas : nullptr;
        // Locals too, for the same reason.
        const std::string_view key = keys_[k].key;
        const uint32_t flags = rd.meta.flags;
        const size_t value_len = rd.meta.value_len;
        const char* const value = rd.value_out.data();
        const size_t tail = value_len + proto::kMcCrlf.size() + proto::kMcEnd.size();
        // The exact line length only when the bound says it may not fit.
        const auto left = static_cast<size_t>(end - p);
        if (left < kMcValueLineMax + tail &&
            left < mc_value_line_len(key, flags, value_len, cas) + tail)
            return false;
        p += write_mc_value_line(p, key, flags, value_len, cas);
        copy_small(p, value, value_len);
        p += value_len;
        p[0] = '\r';
        p[1] = '\n';
        p += 2;
        return true;
    };
    if (n_keys == 1) {
        // One key (most gets): no loop to set up; a hit's value line, value
        // and "\r\nEND\r\n" written straight (its bound counted the seven
        // bytes after the value).
        if (reads_[first].status == store::ReadStatus::kHit) {
            if (!put(first)) return 0;
            p -= proto::kMcCrlf.size();
            std::memcpy(p, "\r\nEN", 4);
            std::memcpy(p + 3, "ND\r\n", 4);
            static_assert(proto::kMcCrlf.size() + proto::kMcEnd.size() == 7);
            return static_cast<size_t>(p - dst) + 7;
        }
        if (!put(first)) return 0;
    } else {
        for (size_t k = first; k < first + n_keys; ++k)
            if (!put(k)) return 0;
    }
    if (static_cast<size_t>(end - p) < proto::kMcEnd.size()) return 0;
    std::memcpy(p, proto::kMcEnd.data(), proto::kMcEnd.size());
    return static_cast<size_t>(p - dst) + proto::kMcEnd.size();
}

inline void McGetBatch::settle_one(EngineCtx& ctx, size_t i) {
    const Request& r = reqs_[i];
    const size_t first = r.first_key;
    const size_t last = first + r.n_keys;
    for (size_t k = first; k < last; ++k) {
        const store::Shard::BulkRead& rd = reads_[k];
        const bool hit = rd.status == store::ReadStatus::kHit;
        ++ctx.stats->cmd_get;
        ++(hit ? ctx.stats->get_hits : ctx.stats->get_misses);
        settle_get_read(ctx, *ctx.shards[shard_of_[k]], keys_[k], hit, rd.meta, now_);
    }
}

}  // namespace fulmar::engine
