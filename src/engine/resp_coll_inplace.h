// In-place writes of a set or a hash: the common SADD, SREM, HSET, HDEL
// and HINCRBY[FLOAT] changes made inside the key's own slab chunk, where a
// rebuild (coll::write) decodes the whole collection and encodes a new one.
//
// Owner worker only (the shard's single writer). A change is planned whole
// first (look-ups, the bytes it needs, the encoding rules of
// resp_collection.h's choose_encoding); it is made only when the chunk has
// room (size classes grow by 1.25x, so an item usually has some), the
// encoding would not change (an intset past set-max-intset-entries or
// meeting a non-integer, a listpack past hash-max-listpack-*, an index past
// its 3/4 load: those rebuild), and then all at once inside one
// begin_write/end_write, so a reader (a ShardView copy) sees the old or the
// new collection, never a part of a command. The item gets a new CAS and
// store time, as a rebuild gives it (WATCH sees the change); its TTL stays.
//
// Every function returns false, having changed nothing, when the caller
// must take the rebuild path instead.
//
// What an in-place write leaves decodes to what a rebuild would write for
// the same history: a new member or field is appended (a rebuild appends
// it too), a removal closes the gap keeping the order, an intset stays
// sorted. A hashed index may keep more slots than a rebuild would give
// (after removals) and its slots may sit elsewhere (a different insertion
// order); look-ups and decode do not depend on either.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "engine/engine_ctx.h"
#include "store/item.h"
#include "store/shard.h"

namespace fulmar::engine::coll {

// SADD: `members` (repeats allowed) added to the set `it` (a live kSet item
// of the shard). `added` gets how many were new; no write when none was.
bool set_add_in_place(store::Shard& s, store::Item& it, std::span<const std::string_view> members,
                      const CollectionLimits& limits, UnixTime now, size_t& added);
// SREM: `members` removed; false (rebuild) when none would be left.
bool set_remove_in_place(store::Shard& s, store::Item& it,
                         std::span<const std::string_view> members, UnixTime now, size_t& removed);
// HSET: `pairs` (field, value, field, value, ...; a field at most once)
// written into the hash `it`. `created` gets the fields that were new. Writes
// (a new CAS) even when nothing changed, as a rebuild does.
bool hash_set_in_place(store::Shard& s, store::Item& it, std::span<const std::string_view> pairs,
                       const CollectionLimits& limits, UnixTime now, int64_t& created);
// HDEL: `fields` removed; false (rebuild) when none would be left.
bool hash_del_in_place(store::Shard& s, store::Item& it, std::span<const std::string_view> fields,
                       UnixTime now, int64_t& removed);

}  // namespace fulmar::engine::coll
