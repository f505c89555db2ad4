// Shard::drop_step: the walk that frees the keys a ring change gave to
// another partition (shard.h).
#include "store/shard.h"

namespace fulmar::store {

bool Shard::drop_step(SnapshotCursor& c, size_t budget, UnixTime now, KeyPredicate drop,
                      uint64_t& dropped) {
    const uint32_t n_pages = slab_.n_pages();
    size_t examined = 0;
    while (c.page < n_pages && examined < budget) {
        const uint8_t cls = slab_.page(c.page).class_id.load(std::memory_order_relaxed);
        const uint32_t per_page = cls == kNoClass ? 0 : slab_.cls(cls).chunks_per_page;
        while (c.chunk < per_page && examined < budget) {
            const Item* it = slab_.chunk(c.page, c.chunk);
            ++examined;
            // remove() frees the chunk in place: the walk's position stays valid.
            if (it->type() != ItemType::kFree && drop.fn(drop.arg, it->key()) &&
                remove(KeyRef(it->key()), now) == StoreStatus::kDeleted)
                ++dropped;
            ++c.chunk;
        }
        if (c.chunk >= per_page) {
            ++c.page;
            c.chunk = 0;
            ++examined;
        }
    }
    return c.page >= n_pages;
}

}  // namespace fulmar::store
