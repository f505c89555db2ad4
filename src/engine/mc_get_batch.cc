// Batched gets; see mc_get_batch.h.
#include "engine/mc_get_batch.h"

#include "engine/ring_guard.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include "common/assert.h"
#include "common/small_bytes.h"
#include "engine/mc_get.h"
#include "proto/mc_wire.h"

namespace fulmar::engine {

McGetBatch::McGetBatch() : values_(new char[kMaxKeys * kValueSlot]) {
    for (size_t k = 0; k < kMaxKeys; ++k) {
        reads_[k].key = &keys_[k];
        reads_[k].value_out = {values_.get() + k * kValueSlot, kValueSlot};
    }
}

McGetBatch::AddResult McGetBatch::add_datagram_near_full(std::string_view body) {
    if (!proto::parse_mc_get_line(body, line_)) return AddResult::kNotPlainGet;
    return add(line_) ? AddResult::kAdded : AddResult::kFull;
}

void McGetBatch::add_pending() {
    const bool added = add(line_);
    FULMAR_ASSERT(added);  // an empty batch takes any one line
    (void)added;
}

void McGetBatch::lookup(EngineCtx& ctx) {
    look_up_all(ctx);
    // Cluster mode: a key another partition owns is a miss, whatever this
    // node still holds of it (ring_guard.h). One relaxed load a burst
    // without a ring.
    if (ring_active(ctx)) [[unlikely]]
        for (size_t k = 0; k < n_keys_; ++k)
            if (ring_check(ctx, keys_[k].key, false).verdict == RingVerdict::kMoved)
                reads_[k].status = store::ReadStatus::kMiss;
}

void McGetBatch::look_up_all(EngineCtx& ctx) {
    now_ = ctx.now();
    store::digest_keys(keys_.data(), n_keys_);
    const size_t n_shards = ctx.shards.size();
    if (n_shards == 1) {
        // One shard (one worker): no shard to pick per key.
        std::fill_n(shard_of_.begin(), n_keys_, uint16_t{0});
        if (n_keys_ != 0) ctx.shards[0]->read_bulk({reads_.data(), n_keys_}, now_);
        return;
    }
    bool one_shard = true;
    for (size_t k = 0; k < n_keys_; ++k) {
        shard_of_[k] = static_cast<uint16_t>(shard_index(keys_[k].digest, n_shards));
        one_shard = one_shard && shard_of_[k] == shard_of_[0];
    }
    if (one_shard) {
        if (n_keys_ != 0) ctx.shards[shard_of_[0]]->read_bulk({reads_.data(), n_keys_}, now_);
        return;
    }
    // Regrouped by shard (one pass per shard: a node has a handful), so each
    // shard gets one bulk look-up; the results go back in request order.
    size_t at = 0;
    for (size_t s = 0; s < n_shards; ++s) {
        const size_t first = at;
        for (size_t k = 0; k < n_keys_; ++k) {
            if (shard_of_[k] != s) continue;
            grouped_[at] = reads_[k];
            group_src_[at++] = static_cast<uint8_t>(k);
        }
        if (at > first) ctx.shards[s]->read_bulk({grouped_.data() + first, at - first}, now_);
    }
    for (size_t g = 0; g < n_keys_; ++g)
        reads_[group_src_[g]] = grouped_[g];
}

size_t McGetBatch::write_reply(size_t i, char* dst, size_t room) const {
    return write_one(i, dst, room);
}

void McGetBatch::settle(EngineCtx& ctx, size_t i) {
    settle_one(ctx, i);
}

void McGetBatch::settle_key(EngineCtx& ctx, size_t k, uint64_t& hits, uint64_t& misses) const {
    const store::Shard::BulkRead& rd = reads_[k];
    const bool hit = rd.status == store::ReadStatus::kHit;
    ++(hit ? hits : misses);
    // A hit on an item already marked fetched (most) has nothing more to do:
    // checked before the shard is even looked up.
    if (hit && (rd.meta.type_bits & store::kItemFetched) != 0) return;
    settle_get_read_slow(ctx, *ctx.shards[shard_of_[k]], keys_[k], hit, rd.meta, now_);
}

void McGetBatch::settle_written(EngineCtx& ctx, uint64_t written) {
    uint64_t hits = 0;
    uint64_t misses = 0;
    if (n_reqs_ != 0 && written == (~uint64_t{0} >> (64 - n_reqs_))) {
        // Every request answered here (the usual burst): their keys are
        // keys_[0, n_keys_), in order; one flat pass.
        for (size_t k = 0; k < n_keys_; ++k)
            settle_key(ctx, k, hits, misses);
    } else {
        for (; written != 0; written &= written - 1) {
            const Request& r = reqs_[static_cast<size_t>(std::countr_zero(written))];
            const size_t last = size_t{r.first_key} + r.n_keys;
            for (size_t k = r.first_key; k < last; ++k)
                settle_key(ctx, k, hits, misses);
        }
    }
    ctx.stats->cmd_get += hits + misses;
    ctx.stats->get_hits += hits;
    ctx.stats->get_misses += misses;
}

}  // namespace fulmar::engine
