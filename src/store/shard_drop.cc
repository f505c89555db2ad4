// Shard::drop_step: the walk that frees the keys a ring change gave to
// another partition (shard.h).
#include "store/shard.h"

namespace fulmar::store {

bool Shard::drop_step(SnapshotCursor& c, size_t budget, UnixTime now, KeyPredicate drop,
                      uint64_t& dropped) {
    return walk_chunks(c, budget, [&](const Item* it) {
        // remove() frees the chunk in place: the walk's position stays valid.
        if (it->type() != ItemType::kFree && drop.fn(drop.arg, it->key()) &&
            remove(KeyRef(it->key()), now) == StoreStatus::kDeleted)
            ++dropped;
        return true;
    });
}

}  // namespace fulmar::store
