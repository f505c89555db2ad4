// The mutation log's record: one effect on one shard, as bytes.
//
// Written by the shard's owner lcore (store::Shard, through LogWriter) into
// its log ring; read by the control plane, which keeps the mutation records
// in its backlog and streams them to replicas unchanged, so the same bytes
// travel from the owner's ring to a replica's owner. A replica applies
// records in order (store::Shard::apply) and converges to the primary's
// items: records carry effects (the resulting item, or its deletion), never
// the command, so incr, append, list pops, expiry and eviction all look
// alike here.
//
//   byte 0      4    5    6    7    8                 16                24
//   +-----------+----+----+----+----+-----------------+-----------------+
//   | size      |kind|type|klen| 0  | seq             | time_us         |
//   +-----------+-----------+-----------------------+------+----+-------+
//   | flags     | exptime   | cas                   | vlen |ms  | 0     |
//   +-----------+-----------+-----------------------+------+----+-------+ 48
//   | item_time | snapshot  | key (klen) | value (vlen) | pad to 8      |
//   +-----------+-----------+------------+--------------+---------------+
//   56
//
// size: the whole record, header and padding included, a multiple of 8 (so
// a ring of records needs no unaligned access). seq: a mutation's number in
// its shard (1, 2, ...: a jump is a gap the consumer lost); a snapshot
// record carries the seq of the last mutation logged before it, which is
// where it belongs in the stream. kFlush keeps memcached's flush horizons
// (oldest_live in item_time, oldest_cas in cas), so a replica flushes the
// same items even with a delayed flush_all.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace fulmar::repl {

enum class RecordKind : uint8_t {
    kPad = 0,        // filler to the end of the ring (never leaves the ring)
    kStore = 1,      // the item as it now is
    kDelete = 2,     // the key is gone (del, expiry, eviction, collision)
    kFlush = 3,      // memcached flush_all: horizons in item_time / cas
    kClear = 4,      // every item freed (FLUSHALL)
    kSnapBegin = 5,  // a full sync of this shard starts: the replica clears it
    kSnapItem = 6,   // one live item of the snapshot walk
    kSnapEnd = 7,    // the walk is done: the replica now holds the shard
};

inline constexpr uint8_t kMaxRecordKind = 7;

struct RecordHeader {
    uint32_t size;
    RecordKind kind;
    uint8_t type_bits;  // store::Item::type_bits (type and the raw-string bit)
    uint8_t key_len;
    uint8_t reserved0;
    uint64_t seq;
    uint64_t time_us;  // the owner's wall clock when logged (replication lag)
    uint32_t flags;
    uint32_t exptime;
    uint64_t cas;
    uint32_t value_len;
    uint16_t expire_ms;
    uint16_t reserved1;
    uint32_t item_time;    // store::Item::time; kFlush: oldest_live
    uint32_t snapshot_id;  // kSnap*: which full sync asked for it
};
static_assert(sizeof(RecordHeader) == 56);

inline constexpr size_t kRecordAlign = 8;
inline constexpr size_t kRecordHeaderSize = sizeof(RecordHeader);

inline size_t record_size(size_t key_len, size_t value_len) {
    return (kRecordHeaderSize + key_len + value_len + kRecordAlign - 1) / kRecordAlign *
           kRecordAlign;
}

inline bool is_snapshot(RecordKind k) {
    return k == RecordKind::kSnapBegin || k == RecordKind::kSnapItem || k == RecordKind::kSnapEnd;
}
inline bool is_mutation(RecordKind k) {
    return k == RecordKind::kStore || k == RecordKind::kDelete || k == RecordKind::kFlush ||
           k == RecordKind::kClear;
}

// A record read from bytes that may come from the network: `parse` checks
// every length against the bytes at hand and the header's own fields.
struct RecordView {
    RecordHeader h;
    std::string_view key;
    std::string_view value;
};

enum class ParseStatus : uint8_t { kOk, kShort, kBad };

// The record at the start of `bytes`: kShort when `bytes` holds less than
// the record's size (wait for more), kBad for a record no writer makes.
inline ParseStatus parse_record(std::string_view bytes, RecordView& out) {
    if (bytes.size() < kRecordHeaderSize) return ParseStatus::kShort;
    std::memcpy(&out.h, bytes.data(), kRecordHeaderSize);
    const RecordHeader& h = out.h;
    if (h.size % kRecordAlign != 0 || static_cast<uint8_t>(h.kind) > kMaxRecordKind ||
        h.kind == RecordKind::kPad || h.value_len > (1u << 22) ||
        h.size != record_size(h.key_len, h.value_len))
        return ParseStatus::kBad;
    if (bytes.size() < h.size) return ParseStatus::kShort;
    out.key = bytes.substr(kRecordHeaderSize, h.key_len);
    out.value = bytes.substr(kRecordHeaderSize + h.key_len, h.value_len);
    return ParseStatus::kOk;
}

}  // namespace fulmar::repl
