// Batched gets; see mc_get_batch.h.
#include "engine/mc_get_batch.h"

#include <bit>
#include <cstring>

#include "engine/mc_get.h"
#include "proto/mc_wire.h"

namespace fulmar::engine {

McGetBatch::McGetBatch(size_t max_reply)
    : max_reply_(max_reply), values_(new char[kMaxKeys * kValueSlot]) {
    for (size_t k = 0; k < kMaxKeys; ++k) {
        reads_[k].key = &keys_[k];
        reads_[k].value_out = {values_.get() + k * kValueSlot, kValueSlot};
    }
}

bool McGetBatch::add(const proto::McGetLine& line) {
    if (n_reqs_ == kMaxRequests || n_keys_ + line.n_keys > kMaxKeys) return false;
    reqs_[n_reqs_++] = {static_cast<uint8_t>(n_keys_), static_cast<uint8_t>(line.n_keys),
                        line.with_cas, 0};
    for (size_t i = 0; i < line.n_keys; ++i)
        keys_[n_keys_++] = store::KeyRef(line.keys[i]);
    return true;
}

void McGetBatch::read_all(EngineCtx& ctx, UnixTime now) {
    const size_t n_shards = ctx.shards.size();
    if (n_shards == 1) {
        ctx.shards[0]->read_bulk({reads_.data(), n_keys_}, now);
        return;
    }
    // Counting sort by shard, so each shard gets one bulk look-up.
    uint64_t present = 0;
    for (size_t k = 0; k < n_keys_; ++k) {
        shard_of_[k] = static_cast<uint16_t>(shard_index(keys_[k].digest, n_shards));
        present |= uint64_t{1} << (shard_of_[k] % 64);
    }
    if (std::popcount(present) == 1 && n_shards <= 64) {
        ctx.shards[shard_of_[0]]->read_bulk({reads_.data(), n_keys_}, now);
        return;
    }
    size_t at = 0;
    for (size_t s = 0; s < n_shards; ++s) {
        const size_t first = at;
        for (size_t k = 0; k < n_keys_; ++k) {
            if (shard_of_[k] != s) continue;
            grouped_[at] = reads_[k];
            group_src_[at++] = static_cast<uint8_t>(k);
        }
        if (at > first) ctx.shards[s]->read_bulk({grouped_.data() + first, at - first}, now);
    }
    for (size_t g = 0; g < n_keys_; ++g)
        reads_[group_src_[g]] = grouped_[g];
}

void McGetBatch::settle(EngineCtx& ctx, Request& r, UnixTime now) {
    size_t len = proto::kMcEnd.size();
    for (size_t k = r.first_key; k < r.first_key + r.n_keys; ++k) {
        const store::Shard::BulkRead& rd = reads_[k];
        if (rd.status == store::ReadStatus::kBufferTooSmall) return;  // the full path
        if (rd.status == store::ReadStatus::kHit)
            len += mc_value_line_len(keys_[k].key, rd.meta.flags, rd.meta.value_len,
                                     r.with_cas ? &rd.meta.cas : nullptr) +
                   rd.meta.value_len + proto::kMcCrlf.size();
    }
    if (len > max_reply_) return;  // more than one datagram: the full path
    r.reply_len = static_cast<uint32_t>(len);
    for (size_t k = r.first_key; k < r.first_key + r.n_keys; ++k) {
        const store::Shard::BulkRead& rd = reads_[k];
        const bool hit = rd.status == store::ReadStatus::kHit;
        ++ctx.stats.cmd_get;
        ++(hit ? ctx.stats.get_hits : ctx.stats.get_misses);
        settle_get_read(ctx, ctx.shard_for(keys_[k]), keys_[k], hit, rd.meta.type_bits, now);
    }
}

void McGetBatch::run(EngineCtx& ctx) {
    const UnixTime now = ctx.now();
    read_all(ctx, now);
    for (size_t i = 0; i < n_reqs_; ++i)
        settle(ctx, reqs_[i], now);
}

void McGetBatch::write_reply(size_t i, char* dst) const {
    const Request& r = reqs_[i];
    char* p = dst;
    for (size_t k = r.first_key; k < r.first_key + r.n_keys; ++k) {
        const store::Shard::BulkRead& rd = reads_[k];
        if (rd.status != store::ReadStatus::kHit) continue;
        p += write_mc_value_line(p, keys_[k].key, rd.meta.flags, rd.meta.value_len,
                                 r.with_cas ? &rd.meta.cas : nullptr);
        std::memcpy(p, rd.value_out.data(), rd.meta.value_len);
        p += rd.meta.value_len;
        std::memcpy(p, proto::kMcCrlf.data(), proto::kMcCrlf.size());
        p += proto::kMcCrlf.size();
    }
    std::memcpy(p, proto::kMcEnd.data(), proto::kMcEnd.size());
}

}  // namespace fulmar::engine
