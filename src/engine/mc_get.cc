// Shared get pieces; see mc_get.h.
#include "engine/mc_get.h"

#include <cstring>

#include "common/numbers.h"
#include "common/small_bytes.h"
#include "proto/mc_wire.h"

namespace fulmar::engine {

size_t mc_value_line_len(std::string_view key, uint32_t flags, size_t bytes, const uint64_t* cas) {
    size_t n = proto::kMcValuePrefix.size() + key.size() + 1 + decimal_digits(flags) + 1 +
               decimal_digits(bytes) + proto::kMcCrlf.size();
    if (cas != nullptr) n += 1 + decimal_digits(*cas);
    return n;
}

void settle_get_read_slow(EngineCtx& ctx, store::Shard& shard, const store::KeyRef& k, bool hit,
                          const store::ItemMeta& meta, UnixTime now) {
    if (!ctx.owns(shard)) return;
    if (hit) {
        // The item is still the one read unless a look-up in between freed
        // it (a digest collision met by another request of a batch): check.
        store::Item* it = meta.item;
        if ((meta.type_bits & store::kItemFetched) == 0 && it != nullptr &&
            it->type() != store::ItemType::kFree && it->key() == k.key)
            mark_fetched(shard, it);
        return;
    }
    // The reader cannot tell an expired item from an absent one; the owner
    // can, and reclaims it now as memcached does.
    counting_expired(ctx, shard, [&] { return shard.find(k, now); });
}

}  // namespace fulmar::engine
