// The item: a 32-byte header followed by the key and the value, in one chunk.
//
// Written only by the shard's owner lcore; read lock-free by any lcore under
// the seqlock in `version`, except `ref`, which any reader may set.
//
//   byte 0        4    5    6    7    8           12          16
//   +-------------+----+----+----+----+-----------+-----------+
//   | version     |type|ref |klen|cls | flags     | exptime   |
//   +-------------+----+----+----+----+-----------+-----------+
//   | cas (64)                        | len | ms  | time      |
//   +---------------------------------+-----------+-----------+ 32
//   | key (klen bytes) | value (value_len bytes) | unused tail of chunk
//
// len: value_len (22 bits: an item holds at most 1 MiB); ms: expire_ms
// (10 bits), the expiry's milliseconds for Redis's PX/PEXPIRE: 0 means the
// item expires at `exptime` exactly, 1..999 at (exptime - 1) s + ms. So
// `exptime` is always the expiry rounded up to a whole second: every
// second-based check (memcached, the sweep, flush_all) stays a bound, and
// the readers that know the time in milliseconds (Redis's) are exact.
//
// memcached spends 48 bytes plus 8 for CAS and stores "\r\n" after the value
// and a NUL after the key; we store neither (replies add the CRLF), so a
// 16-byte key with a 32-byte value takes 80 bytes here against 107 there.
//
// Seqlock protocol. Owner: begin_write() makes version odd, writes, then
// end_write() makes it even again; a freed chunk gets a new even version so a
// reader that still holds its pointer sees the change. Reader: take version
// (retry if odd), copy, check version is unchanged, then compare the key.
// Chunks of a class stay at the same offsets until a page moves to another
// class, and a page moves only after an RCU grace period, so a reader's
// pointer always lands on a real header.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "common/clock.h"

namespace fulmar::store {

enum class ItemType : uint8_t {
    kFree = 0,
    kString = 1,
    // Redis's collections (src/engine/resp_collection.h holds their
    // encoding). memcached sees only strings: to it a key of another type
    // reads as absent (engine/README.md, "One keyspace").
    kList = 2,
    kSet = 3,
    kHash = 4,
};

// Bits above the type in Item::type_bits (owner-written, seqlocked).
inline constexpr uint8_t kItemTypeMask = 0x07;
// Redis: APPEND, SETRANGE and SETBIT leave a string "raw" whatever its bytes
// (OBJECT ENCODING); any other store of the key forgets it.
inline constexpr uint8_t kItemRawString = 0x08;
inline constexpr uint8_t kItemStale = 0x10;    // meta: invalidated, serve as stale
inline constexpr uint8_t kItemWinSent = 0x20;  // meta: a W token was handed out
inline constexpr uint8_t kItemFetched = 0x40;  // meta: fetched since stored (owner reads)

struct Item {
    std::atomic<uint32_t> version;  // dp: owner writes, any lcore reads
    uint8_t type_bits;              // ItemType | kItem* bits
    std::atomic<uint8_t> ref;       // CLOCK bit: any lcore sets, owner's hand clears
    uint8_t key_len;                // <= 250
    uint8_t class_id;
    uint32_t client_flags;
    UnixTime exptime;  // absolute; 0 = never
    uint64_t cas;
    uint32_t value_len : 22;
    uint32_t expire_ms : 10;  // see above
    UnixTime time;            // last store or touch: memcached's flush_all compares it

    ItemType type() const { return static_cast<ItemType>(type_bits & kItemTypeMask); }
    bool is_string() const { return type() == ItemType::kString; }
    // Owner only, inside a write: a new expiry, whole seconds (memcached)
    // or with milliseconds (Redis); never one without the other.
    void set_expiry(UnixTime seconds, uint16_t ms = 0) {
        exptime = seconds;
        expire_ms = ms;
    }
    char* key_ptr() { return reinterpret_cast<char*>(this + 1); }
    const char* key_ptr() const { return reinterpret_cast<const char*>(this + 1); }
    std::string_view key() const { return {key_ptr(), key_len}; }
    char* value_ptr() { return key_ptr() + key_len; }
    const char* value_ptr() const { return key_ptr() + key_len; }
    std::string_view value() const { return {value_ptr(), value_len}; }
    size_t total_size() const { return sizeof(Item) + key_len + value_len; }

    // Owner only.
    void begin_write() {
        version.store(version.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        std::atomic_thread_fence(std::memory_order_release);
    }
    void end_write() {
        version.store(version.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    }

    // A hit marks the item as recently used; skip the store when already
    // set so hot items do not bounce their cache line between lcores.
    void touch_ref() {
        if (ref.load(std::memory_order_relaxed) == 0) ref.store(1, std::memory_order_relaxed);
    }
};
static_assert(sizeof(Item) == 32, "the item header must stay 32 bytes");
static_assert(std::atomic<uint32_t>::is_always_lock_free);

inline constexpr size_t kItemHeaderSize = sizeof(Item);
inline constexpr size_t kMaxKeyLen = 250;

// The expiry in Unix milliseconds (0: never) of an item's exptime and
// expire_ms.
inline uint64_t expiry_ms(UnixTime exptime, uint16_t ms) {
    if (exptime == 0) return 0;
    return ms == 0 ? uint64_t{exptime} * 1000 : (uint64_t{exptime} - 1) * 1000 + ms;
}
inline uint64_t expiry_ms(const Item& it) {
    return expiry_ms(it.exptime, static_cast<uint16_t>(it.expire_ms));
}

// An absolute expiry in milliseconds as the item keeps it: the second it
// falls in, rounded up, and the milliseconds past the second before. `ms`
// <= 0 is "already expired" (kExpiredAtOnce's second); the seconds clamp at
// 2^32 - 1.
inline void split_expiry_ms(int64_t abs_ms, UnixTime& exptime, uint16_t& ms) {
    if (abs_ms <= 0) {
        exptime = 1;  // exptime.h's kExpiredAtOnce
        ms = 0;
        return;
    }
    const uint64_t s = static_cast<uint64_t>(abs_ms) / 1000;
    const auto rem = static_cast<uint16_t>(static_cast<uint64_t>(abs_ms) % 1000);
    const uint64_t up = rem == 0 ? s : s + 1;
    if (up > UINT32_MAX) {
        exptime = UINT32_MAX;
        ms = 0;
        return;
    }
    exptime = static_cast<UnixTime>(up == 0 ? 1 : up);
    ms = rem;
}

inline size_t item_total_size(size_t key_len, size_t value_len) {
    return kItemHeaderSize + key_len + value_len;
}

}  // namespace fulmar::store
