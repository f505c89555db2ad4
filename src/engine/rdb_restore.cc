// Storing loaded payloads and DEBUG RELOAD (rdb_restore.h).
#include "engine/rdb_restore.h"

#include <algorithm>
#include <climits>
#include <string>
#include <vector>

namespace fulmar::engine::rdb {

namespace {

coll::WriteStatus store_list(store::Shard& s, const store::KeyRef& k, const Loaded& obj,
                             UnixTime exptime, UnixTime now, const CollectionLimits& limits) {
    coll::QuicklistBuilder b(coll::list_fill(limits));
    if (obj.list_nodes.empty()) {
        b.pack(obj.entries);
        return coll::write_list(s, k, b, exptime, now);
    }
    // Each payload node becomes one node as it is: the entries in the
    // node's own encoding, built once into `bytes` (sized first, so the
    // views copy_node keeps stay valid).
    size_t total = 0;
    for (std::string_view e : obj.entries)
        total += coll::entry_size(e);
    if (total > store::kMaxItemSize) return coll::WriteStatus::kTooLarge;
    std::string bytes(total, '\0');
    char* p = bytes.data();
    size_t first = 0;
    for (const uint32_t n : obj.list_nodes) {
        char* const start = p;
        for (size_t i = first; i < first + n; ++i)
            p = coll::put_entry(p, obj.entries[i]);
        b.copy_node(std::string_view(start, static_cast<size_t>(p - start)), n);
        first += n;
    }
    return coll::write_list(s, k, b, exptime, now);
}

coll::WriteStatus store_value(store::Shard& s, const store::KeyRef& k, const Loaded& obj,
                              const ItemAttrs& a, UnixTime now, const CollectionLimits& limits) {
    switch (obj.type) {
        case store::ItemType::kString: {
            const std::string_view v = obj.entries.empty() ? std::string_view() : obj.entries[0];
            if (!mc_item_fits(k.key.size(), v.size())) return coll::WriteStatus::kTooLarge;
            const store::StoreStatus st = s.store(
                store::StoreMode::kSet, k, v,
                store::StoreArgs{.flags = a.flags, .exptime = a.exptime, .expire_ms = a.expire_ms},
                now);
            if (st == store::StoreStatus::kStored) return coll::WriteStatus::kStored;
            return st == store::StoreStatus::kTooLarge ? coll::WriteStatus::kTooLarge
                                                       : coll::WriteStatus::kNoMemory;
        }
        case store::ItemType::kList:
            return store_list(s, k, obj, a.exptime, now, limits);
        case store::ItemType::kSet:
        case store::ItemType::kHash: {
            coll::EncodePolicy p{limits, coll::Change::kFresh};
            // rdb.c: a hash loaded from a listpack or a ziplist converts
            // only for its count, never for a long field or value.
            if (obj.rdb_type == kTypeHashListpack || obj.rdb_type == kTypeHashZiplist)
                p.limits.hash_max_listpack_value = INT64_MAX;
            return coll::write(s, k, obj.type, obj.entries, a.exptime, now, p);
        }
        default:
            return coll::WriteStatus::kTooLarge;
    }
}

}  // namespace

coll::WriteStatus store_loaded(store::Shard& s, const store::KeyRef& k, const Loaded& obj,
                               const ItemAttrs& attrs, UnixTime now,
                               const CollectionLimits& limits) {
    // The fresh item replaces whatever was there, of any type, only once
    // it is built (Redis's dbDelete + dbAdd; kFresh: nothing of the old
    // item's encoding carries over); a failed write leaves the old one.
    const coll::WriteStatus st = store_value(s, k, obj, attrs, now, limits);
    if (st != coll::WriteStatus::kStored) return st;
    if (store::Item* it = s.find(k, now)) {
        s.modify(it, [&](store::Item& i) {
            i.set_expiry(attrs.exptime, attrs.expire_ms);
            i.client_flags = attrs.flags;
            i.time = attrs.time != 0 ? attrs.time : now;
            i.type_bits = static_cast<uint8_t>(i.type_bits | attrs.meta_bits);
        });
    }
    return st;
}

ReloadResult reload_shard(store::Shard& s, UnixTime now, const CollectionLimits& limits) {
    ReloadResult r;
    // The keys first: the index must not change under its own iteration.
    std::vector<std::string> keys;
    keys.reserve(s.index().count());
    uint32_t pos = 0;
    while (const store::Item* it = s.index().next(pos))
        keys.emplace_back(it->key());
    const coll::ListFill fill = coll::list_fill(limits);
    std::string payload;
    Loaded obj;
    for (const std::string& key : keys) {
        const store::KeyRef k(key);
        const store::Item* it = s.find(k, now);
        if (it == nullptr) continue;
        const store::ItemType t = it->type();
        if (t != store::ItemType::kString && t != store::ItemType::kList &&
            t != store::ItemType::kSet && t != store::ItemType::kHash)
            continue;
        const ItemAttrs attrs{
            .exptime = it->exptime,
            .expire_ms = static_cast<uint16_t>(it->expire_ms),
            .flags = it->client_flags,
            .time = it->time,
            .meta_bits = static_cast<uint8_t>(
                it->type_bits & (store::kItemStale | store::kItemWinSent | store::kItemFetched))};
        payload.clear();
        if (!dump(t, it->value(), fill, payload) || load(payload, obj) != LoadStatus::kOk) {
            ++r.failed;
            continue;
        }
        if (store_loaded(s, k, obj, attrs, now, limits) == coll::WriteStatus::kStored)
            ++r.items;
        else
            ++r.failed;
    }
    return r;
}

}  // namespace fulmar::engine::rdb
