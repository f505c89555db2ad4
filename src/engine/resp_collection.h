// Redis's lists, sets and hashes inside one item: the compact encoding, and
// the reads and writes every collection command is built from.
//
// Any thread decodes (the control plane reads a collection from a ShardView
// copy); only the key's owner worker writes (the shard's single writer).
//
// Encoding (the item's value; the item's type says list, set or hash):
//
//   byte 0      1             5
//   +-----------+-------------+-------------------+-------------------+----
//   | kCompact  | n (u32 LE)  | len0 | bytes0     | len1 | bytes1     | ...
//   +-----------+-------------+-------------------+-------------------+----
//   len: LEB128 (1 byte below 128, 2 below 16384, ...)
//
// A list keeps its elements in order; a set its members (unordered); a
// hash its fields and values alternating (n counts both). Like Redis's
// listpack: one allocation, no pointers, a sequential scan; every write
// builds the new value once into a fresh chunk and publishes it (readers
// see the old or the new collection, never a mix: the item's seqlock).
// Lists use the quicklist encoding instead (resp_quicklist.h: these nodes
// behind a directory); decode() reads both.
// The whole collection is one item, so it is bounded by the item limit
// (1 MiB) and counts against, and is evicted and expired with, the shard
// like any item.
//
// A large set or hash (kHashedFrom members or fields: where the scan's
// cost passes the request's, docs/resp-progress.md) gets an index after
// the same entries, so a look-up of one member or field is a probe:
//
//   +---------+-----+--------------+-------------+---------+-----------+
//   | kHashed | n   | entries_len  | slots (2^k) | entries | slots x   |
//   | 0xC2    | u32 | u32          | u32         | (above) | u32 index |
//   +---------+-----+--------------+-------------+---------+-----------+
//   index: open addressing, linear probing on xxh3 of the member (a set)
//   or the field (a hash); a slot holds the entry's offset in the entries
//   + 1, 0 when empty; load <= 3/4. Rebuilt with the item on every write.
//   A collection whose index would not fit the item stays compact.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "engine/engine_ctx.h"
#include "engine/resp_commands.h"
#include "engine/resp_quicklist.h"
#include "store/item.h"
#include "store/shard.h"

namespace fulmar::engine::coll {

inline constexpr uint8_t kCompact = 0xC1;
inline constexpr size_t kHeaderSize = 5;
inline constexpr uint8_t kHashed = 0xC2;
inline constexpr size_t kHashedHeaderSize = 13;
// Sets of this many members and hashes of this many fields get the index.
inline constexpr size_t kHashedFrom = 128;

// `value` (either encoding) decoded into `out` (views into `value`); false
// when malformed.
bool decode(std::string_view value, std::vector<std::string_view>& out);
// Bytes the compact encoding of `entries` takes.
size_t encoded_size(std::span<const std::string_view> entries);
// Writes the compact encoding of `entries` to dst (encoded_size bytes).
void encode(std::span<const std::string_view> entries, char* dst);
// The same for a collection of `type`: hashed when it is a set or a hash
// of kHashedFrom keys or more and the index fits the item (key_len: the
// item's key, for that check).
size_t encoded_size(store::ItemType type, size_t key_len,
                    std::span<const std::string_view> entries);
void encode(store::ItemType type, size_t key_len, std::span<const std::string_view> entries,
            char* dst);

// The entry count of an encoded value (a hash's counts fields and values),
// or -1 when it is not one.
int64_t size(std::string_view value);

// A look-up of one member (a set: every entry is a key) or field (a hash:
// every other entry, `step` 2) in an encoded value, without decoding it: a
// probe of the index when there is one, a scan otherwise. `next` is the
// entry after the key (a hash's value).
struct Hit {
    bool found = false;
    std::string_view next;
};
Hit lookup(std::string_view value, std::string_view key, size_t step);

enum class Found : uint8_t {
    kMissing,    // no such key (or expired)
    kFound,      // entries hold the collection
    kWrongType,  // the key holds another type: answer WRONGTYPE
};

// A reader's look-up (any thread: the control plane from shared memory, an
// owner from its own shards): entries point into ctx.scratch, valid until
// the next read into it.
Found read(std::string_view key, store::ItemType type, const RespReadCtx& ctx,
           std::vector<std::string_view>& entries);
// The same without decoding: `value` is the encoded collection (in
// ctx.scratch), for size() and lookup().
Found read_value(std::string_view key, store::ItemType type, const RespReadCtx& ctx,
                 std::string_view& value);

// The owner's look-up: entries point into the item, valid until the next
// write to the shard (write() may use them: it keeps the old item alive
// until the new one is published). `exptime` gets the old item's.
Found find(store::Shard& s, const store::KeyRef& k, store::ItemType type, UnixTime now,
           std::vector<std::string_view>& entries, UnixTime* exptime = nullptr);

enum class WriteStatus : uint8_t {
    kStored,
    kDeleted,   // no entries left: Redis removes an empty collection's key
    kTooLarge,  // the encoding would not fit one item
    kNoMemory,
};

// The owner's write: `entries` become key's collection of `type`, with
// `exptime` (absolute, 0 never: a collection written over keeps its TTL,
// so pass the old one). Entries may point into the key's current item. A
// list is written as a quicklist of nodes bounded by `fill`.
WriteStatus write(store::Shard& s, const store::KeyRef& k, store::ItemType type,
                  std::span<const std::string_view> entries, UnixTime exptime, UnixTime now,
                  ListFill fill = {});

// The owner's write, of the list built in `b`: as write().
WriteStatus write_list(store::Shard& s, const store::KeyRef& k, const QuicklistBuilder& b,
                       UnixTime exptime, UnixTime now);

// A list's look-ups without decoding it: the quicklist's header and
// directory, for commands that touch a few nodes. As read() and find()
// (a list that is not a quicklist is malformed: kMissing).
Found read_list(std::string_view key, const RespReadCtx& ctx, QuicklistView& v);
Found find_list(store::Shard& s, const store::KeyRef& k, UnixTime now, QuicklistView& v,
                UnixTime* exptime = nullptr);

// Redis's reply to a failed write (the OOM or the item limit); nothing
// for kStored and kDeleted.
void write_error(WriteStatus st, proto::ReplySink& out);

}  // namespace fulmar::engine::coll
