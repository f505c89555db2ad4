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
// listpack: one allocation, no pointers, a sequential scan; a write builds
// the new value once into a fresh chunk and publishes it (readers see the
// old or the new collection, never a mix: the item's seqlock), except the
// common set and hash writes, made inside the item's own chunk under the
// same seqlock when it has room (resp_coll_inplace.h).
// Lists use the quicklist encoding instead (resp_quicklist.h: these nodes
// behind a directory); decode() reads both.
// The whole collection is one item, so it is bounded by the item limit
// (1 MiB) and counts against, and is evicted and expired with, the shard
// like any item.
//
// A set or a hash past Redis's small-encoding limits (the CONFIG settings
// set-max-intset-entries, hash-max-listpack-entries/-value, as 7.0.15's
// t_set.c and t_hash.c apply them: EncodePolicy) gets an index after the
// same entries, so a look-up of one member or field is a probe:
//
//   +---------+-----+--------------+-------------+-----------+---------+
//   | kHashed | n   | entries_len  | slots (2^k) | slots x   | entries |
//   | 0xC2    | u32 | u32          | u32         | u32 index | (above) |
//   +---------+-----+--------------+-------------+-----------+---------+
//   index: open addressing, linear probing on xxh3 of the member (a set)
//   or the field (a hash); a slot holds the entry's offset in the entries
//   + 1, 0 when empty; load <= 3/4. The index comes first so that an
//   entry appended in place (resp_coll_inplace.h) moves nothing; a write
//   that needs more slots rebuilds the item.
//   A collection whose index would not fit the item stays compact.
//
// A set whose members are all integers (Redis's string2ll), and few, is an
// intset as in Redis: the members as int64s, ascending, binary-searched;
// they read back as their decimal text (Entries keeps that text):
//
//   +---------+-----+-----------------------------+
//   | kIntset | n   | n x int64 LE, ascending      |
//   | 0xC4    | u32 |                             |
//   +---------+-----+-----------------------------+
//
// OBJECT ENCODING answers from the tag: a hash kCompact "listpack", kHashed
// "hashtable"; a set kIntset "intset", otherwise "hashtable" (every other
// set is hashed, small ones too, as Redis's are).
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
inline constexpr uint8_t kIntset = 0xC4;  // kQuicklist is 0xC3 (resp_quicklist.h)
inline constexpr size_t kIntsetHeaderSize = 5;
// Redis caps an intset at 2^30 entries whatever the setting (t_set.c).
inline constexpr int64_t kMaxIntsetEntries = int64_t{1} << 30;

// A decoded collection: views into the item (or the read buffer), or, for
// an intset, into `text`, its members' decimal text. Moving keeps the views
// valid (the text is on the heap); a copy's views point into the original.
struct Entries : std::vector<std::string_view> {
    using std::vector<std::string_view>::vector;
    std::vector<char> text;
};

// How a write changes the collection, which decides its encoding as
// Redis's one-way conversions do:
enum class Change : uint8_t {
    kFresh,   // a new collection replaces whatever was there (the STORE
              // forms, SPOP's rebuild, a new key): the rule on the entries
    kGrow,    // members/fields added or values changed: a hashed one stays
              // hashed; a small one is checked against the limits
    kShrink,  // members/fields only removed: the encoding stays
};

// The encoding rules for sets and hashes, from the live CONFIG settings.
struct EncodePolicy {
    CollectionLimits limits;
    Change change = Change::kGrow;
};

// The tag a write of `entries` gets (kIntset, kCompact or kHashed, before
// the item-size fallback), given the key's current encoding tag `old` (0
// for none).
uint8_t choose_encoding(store::ItemType type, std::span<const std::string_view> entries,
                        const EncodePolicy& p, uint8_t old);
// A hashed collection's index: slots for `keys` members or fields (load <=
// 3/4), and the hash a member or field is probed by.
uint32_t hashed_slots_for(size_t keys);
uint64_t member_hash(std::string_view member);
// The encoding tag of an encoded value (0 when empty).
uint8_t encoding_tag(std::string_view value);

// `value` (any encoding) decoded into `out` (views into `value`); false
// when malformed. An intset needs Entries (its text is made here).
bool decode(std::string_view value, std::vector<std::string_view>& out);
bool decode(std::string_view value, Entries& out);
// Bytes the compact encoding of `entries` takes.
size_t encoded_size(std::span<const std::string_view> entries);
// Writes the compact encoding of `entries` to dst (encoded_size bytes).
void encode(std::span<const std::string_view> entries, char* dst);
// The same in encoding `tag` (from choose_encoding): kHashed falls back to
// compact when the index would not fit the item (key_len: the item's key,
// for that check); kIntset needs every entry an integer.
size_t encoded_size(uint8_t tag, store::ItemType type, size_t key_len,
                    std::span<const std::string_view> entries);
void encode(uint8_t tag, store::ItemType type, size_t key_len,
            std::span<const std::string_view> entries, char* dst);

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
// owner from its own shards): entries point into ctx.scratch (an intset's
// into entries.text), valid until the next read into it; `tag`, when
// given, gets the encoding's tag.
Found read(std::string_view key, store::ItemType type, const RespReadCtx& ctx,
           std::vector<std::string_view>& entries, uint8_t* tag = nullptr);
Found read(std::string_view key, store::ItemType type, const RespReadCtx& ctx, Entries& entries,
           uint8_t* tag = nullptr);
// The same without decoding: `value` is the encoded collection (in
// ctx.scratch), for size() and lookup().
Found read_value(std::string_view key, store::ItemType type, const RespReadCtx& ctx,
                 std::string_view& value);

// The owner's look-up: entries point into the item, valid until the next
// write to the shard (write() may use them: it keeps the old item alive
// until the new one is published). `exptime` gets the old item's.
Found find(store::Shard& s, const store::KeyRef& k, store::ItemType type, UnixTime now,
           std::vector<std::string_view>& entries, UnixTime* exptime = nullptr);
Found find(store::Shard& s, const store::KeyRef& k, store::ItemType type, UnixTime now,
           Entries& entries, UnixTime* exptime = nullptr);

enum class WriteStatus : uint8_t {
    kStored,
    kDeleted,   // no entries left: Redis removes an empty collection's key
    kTooLarge,  // the encoding would not fit one item
    kNoMemory,
};

// The owner's write: `entries` become key's collection of `type`, with
// `exptime` (absolute, 0 never: a collection written over keeps its TTL,
// so pass the old one). Entries may point into the key's current item. A
// list is written as a quicklist of nodes bounded by `fill`; a set or a
// hash in the encoding `policy` picks (the first form: the defaults, kGrow).
WriteStatus write(store::Shard& s, const store::KeyRef& k, store::ItemType type,
                  std::span<const std::string_view> entries, UnixTime exptime, UnixTime now,
                  ListFill fill = {});
WriteStatus write(store::Shard& s, const store::KeyRef& k, store::ItemType type,
                  std::span<const std::string_view> entries, UnixTime exptime, UnixTime now,
                  const EncodePolicy& policy);
// Bytes write() would store for `entries` (the item-limit check before a
// two-key write).
size_t write_size(store::Shard& s, const store::KeyRef& k, store::ItemType type,
                  std::span<const std::string_view> entries, UnixTime now,
                  const EncodePolicy& policy);

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
