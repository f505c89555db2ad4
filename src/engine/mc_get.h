// What every path that answers a classic get shares: memcached's value line
// and the owner's side effects of a look-up. The classic engine
// (mc_classic.cc) and the dataplane's batched GET path (mc_get_batch.h) both
// use these, so a get means the same on either path.
//
// Runs on the thread that owns the EngineCtx; pure formatting apart from
// settle_get_read(), which writes only shards the context owns.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "common/numbers.h"
#include "common/small_bytes.h"
#include "engine/engine_ctx.h"
#include "proto/mc_text.h"
#include "proto/mc_wire.h"
#include "store/shard.h"

namespace fulmar::engine {

// "VALUE " + key (<= 250) + " " + flags (10) + " " + bytes (10) + " " +
// cas (20) + "\r\n": 301 bytes.
inline constexpr size_t kMcValueLineMax = 320;

// Length of "VALUE <key> <flags> <bytes>[ <cas>]\r\n".
size_t mc_value_line_len(std::string_view key, uint32_t flags, size_t bytes, const uint64_t* cas);
// Writes that line at `dst` (room for kMcValueLineMax); returns its length.
// Inline: every GET hit writes one.
inline size_t write_mc_value_line(char* dst, std::string_view key, uint32_t flags, size_t bytes,
                                  const uint64_t* cas);

namespace detail {
// "00" "01" ... "99".
inline constexpr std::array<char, 200> kTwoDigits = [] {
    std::array<char, 200> t{};
    for (int i = 0; i < 100; ++i) {
        t[static_cast<size_t>(2 * i)] = static_cast<char>('0' + i / 10);
        t[static_cast<size_t>(2 * i + 1)] = static_cast<char>('0' + i % 10);
    }
    return t;
}();
// Flags and lengths are mostly one or two digits: those inline.
inline char* put_u64(char* p, uint64_t v) {
    if (v < 10) {
        *p = static_cast<char>('0' + v);
        return p + 1;
    }
    if (v < 100) {
        std::memcpy(p, &kTwoDigits[2 * v], 2);
        return p + 2;
    }
    return p + format_u64(v, p);
}
}  // namespace detail

[[gnu::always_inline]] inline size_t write_mc_value_line(char* dst, std::string_view key,
                                                         uint32_t flags, size_t bytes,
                                                         const uint64_t* cas) {
    std::memcpy(dst, "VALUE ", 6);
    static_assert(proto::kMcValuePrefix == "VALUE ");
    copy_small(dst + 6, key.data(), key.size());
    char* p = dst + 6 + key.size();
    if (flags < 10 && bytes - 10 < 90 && cas == nullptr) {
        // The usual tail, " <flag> <two digits>\r\n", as one eight-byte
        // store: its eighth byte is within kMcValueLineMax (the line is at
        // most 6 + kMcMaxKeyLen + 7 bytes here), and where the batch writes
        // the line into the reply it is the value's first (10 bytes or more).
        static_assert(6 + proto::kMcMaxKeyLen + 8 <= kMcValueLineMax);
        uint16_t two;
        std::memcpy(&two, &detail::kTwoDigits[2 * bytes], 2);
        const uint64_t tail = uint64_t{' '} | uint64_t{'0' + flags} << 8 | uint64_t{' '} << 16 |
                              uint64_t{two} << 24 | uint64_t{'\r'} << 40 | uint64_t{'\n'} << 48;
        std::memcpy(p, &tail, sizeof(tail));
        return static_cast<size_t>(p - dst) + 7;
    }
    *p++ = ' ';
    p = detail::put_u64(p, flags);
    *p++ = ' ';
    p = detail::put_u64(p, bytes);
    if (cas != nullptr) {
        *p++ = ' ';
        p = detail::put_u64(p, *cas);
    }
    p[0] = '\r';
    p[1] = '\n';
    p += 2;
    return static_cast<size_t>(p - dst);
}

// After a lock-free read of `k` on `shard`, what memcached's get also does
// when this thread owns the shard: the first hit after a store marks the item
// fetched (meta's h flag reports it), and a miss looks again as the owner to
// tell an expired item from an absent one, reclaiming it and counting
// get_expired. Nothing on shards owned by other threads: they are only read.
// `meta` is the read's (on a hit, meta.item is the item read, unchanged since:
// no write ran in between).
// Inline: a hit on an item already marked fetched (every hit after a key's
// first) has nothing to do, and that is most GETs.
void settle_get_read_slow(EngineCtx& ctx, store::Shard& shard, const store::KeyRef& k, bool hit,
                          const store::ItemMeta& meta, UnixTime now);
inline void settle_get_read(EngineCtx& ctx, store::Shard& shard, const store::KeyRef& k, bool hit,
                            const store::ItemMeta& meta, UnixTime now) {
    if (hit && (meta.type_bits & store::kItemFetched) != 0) return;
    settle_get_read_slow(ctx, shard, k, hit, meta, now);
}

// memcached's do_item_get counts get_expired for any command that met an
// expired item on its look-up; `op` is an owner-side look-up on `shard`.
template <typename Op>
auto counting_expired(EngineCtx& ctx, store::Shard& shard, Op&& op) {
    const uint64_t before = shard.stats().expired_reclaimed;
    auto result = op();
    if (shard.stats().expired_reclaimed != before) ++ctx.stats->get_expired;
    return result;
}

// memcached marks an item fetched on its first hit by get, gat or touch.
// Only the owner may write it, and only the first hit after a store has to.
inline void mark_fetched(store::Shard& shard, store::Item* it) {
    if ((it->type_bits & store::kItemFetched) == 0)
        shard.modify_unlogged(it, [](store::Item& i) { i.type_bits |= store::kItemFetched; });
}

}  // namespace fulmar::engine
