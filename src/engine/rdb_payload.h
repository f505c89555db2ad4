// Redis 7.0.15's DUMP payload: what DUMP writes and RESTORE (and DEBUG
// RELOAD) reads, for the types Fulmar has (strings, lists, sets, hashes).
//
// Any thread; no state. The control plane writes payloads from ShardView
// copies (DUMP is a read); an owner worker reads them (RESTORE is a write).
// Why Redis's format and not our own: a payload must restore in
// redis-server and the reverse (MIGRATE-style tooling and the suite pass
// payloads between servers), so the bytes are Redis's RDB object encoding.
//
//   +------+--------------------+--------------+-----------------+
//   | type | RDB object         | RDB version  | CRC-64/Jones    |
//   | 1 B  | (rdb.c's encoding) | u16 LE (10)  | u64 LE of all   |
//   +------+--------------------+--------------+-----------------+  before it
//
// Written: strings as RDB strings (int-encoded when Redis would, LZF past
// 20 bytes when it shrinks them), lists as QUICKLIST_2 (one listpack per
// node, a PLAIN node for an entry at or past the packed threshold), sets
// as SET_INTSET or SET, hashes as HASH_LISTPACK or HASH, as Redis 7.0.15
// writes the same encodings.
// Read: all of those, and the older forms Redis still loads (LIST,
// LIST_ZIPLIST, LIST_QUICKLIST, HASH_ZIPLIST); every byte is checked
// before anything is stored (Redis's sanitize-dump-payload "yes", always):
// lengths against the bytes present, listpacks and ziplists walked whole,
// intsets ascending, no duplicate members or fields, no empty collection.
// What a load decodes is bounded by the item limit (1 MiB): a payload that
// would decode past it is refused before it is decoded further.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/resp_quicklist.h"
#include "store/item.h"

namespace fulmar::engine::rdb {

inline constexpr uint16_t kRdbVersion = 10;  // Redis 7.0's RDB_VERSION

// RDB object types (rdb.h).
enum RdbType : uint8_t {
    kTypeString = 0,
    kTypeList = 1,
    kTypeSet = 2,
    kTypeZset = 3,
    kTypeHash = 4,
    kTypeZset2 = 5,
    kTypeModule = 6,
    kTypeModule2 = 7,
    kTypeHashZipmap = 9,
    kTypeListZiplist = 10,
    kTypeSetIntset = 11,
    kTypeZsetZiplist = 12,
    kTypeHashZiplist = 13,
    kTypeListQuicklist = 14,
    kTypeStreamListpacks = 15,
    kTypeHashListpack = 16,
    kTypeZsetListpack = 17,
    kTypeListQuicklist2 = 18,
    kTypeStreamListpacks2 = 19,
};

// A value as the item keeps it, serialized: the whole payload appended to
// `out`. `fill` says which list entries Redis keeps in PLAIN nodes. False
// when the value is malformed (nothing appended then).
bool dump(store::ItemType type, std::string_view value, const coll::ListFill& fill,
          std::string& out);
// The RDB object's bytes alone (no type, version or CRC): DEBUG OBJECT's
// serializedlength. -1 when the value is malformed.
int64_t serialized_length(store::ItemType type, std::string_view value, const coll::ListFill& fill);

enum class LoadStatus : uint8_t {
    kOk,
    kBadTrailer,   // too short, a newer RDB version, or the CRC differs
    kBadFormat,    // the object does not parse, or breaks a rule above
    kUnsupported,  // a type Fulmar lacks (sorted sets, streams, modules)
    kTooLarge,     // would decode past the item limit
};

// A payload loaded: its type and entries (a hash's fields and values
// alternating), views into `arena_`. For lists, `list_nodes` holds each
// node's entry count when the payload kept nodes (QUICKLIST forms: Redis
// keeps them as they come), empty when the entries are to be packed under
// the live fill (the plain LIST form).
class Loaded {
  public:
    store::ItemType type = store::ItemType::kString;
    uint8_t rdb_type = 0;
    std::vector<std::string_view> entries;
    std::vector<uint32_t> list_nodes;

    // Appends `len` bytes of room for one entry; the caller fills them.
    char* add_entry(size_t len);
    void add_entry(std::string_view bytes);
    // Makes `entries` point into the arena (after the last add_entry).
    void finish();
    void clear();
    size_t decoded_bytes() const { return arena_.size() + spans_.size(); }

  private:
    std::string arena_;
    std::vector<std::pair<uint32_t, uint32_t>> spans_;  // offset, length
};

// Checks the trailer (version and CRC), then loads the object into `out`.
LoadStatus load(std::string_view payload, Loaded& out);

// The error RESTORE answers for a failed load (without "-" and CRLF when
// Redis's; ours for kUnsupported and kTooLarge), given the payload's type.
std::string load_error(LoadStatus st, std::string_view payload);

}  // namespace fulmar::engine::rdb
