// The request mix: which keys, which operation, what values, and how a reply
// value is proven to be one this run stored.
//
// Built once at start-up from WorkloadParams (validated); afterwards every
// method is const or touches only the per-key version arrays, is allocation-
// free, and runs on the generator's lcore (one owner, no locks).
//
// Keys are "k" + the key index in decimal, zero-padded to key_len bytes:
// "k000000000001234" is key 1234 at the default length 16, so a reply's key
// maps back to its index without a table.
//
// Values are derived, never stored: a set of key k at version v sends
// memcached flags = (run epoch << 20) | v and value bytes = F(run nonce, k, v)
// of length L(k, v) (within --value-len). A hit therefore carries its own
// proof: the flags give the version, the version gives the exact bytes. A hit
// is correct when the bytes match and the version lies between the newest
// version acknowledged before the get was sent and the newest version sent.
//
//   flags:  31        20 19                    0
//           +-----------+----------------------+
//           | run epoch | version (1..2^20-1)  |   version 0 = never set
//           +-----------+----------------------+
//
// Versions compare as 20-bit serial numbers (RFC 1982), so a hot key may be
// set more than 2^20 times as long as fewer than 2^19 of its sets are in
// flight at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "zipf.h"

namespace fulmar::pktgen {

inline constexpr uint32_t kVersionBits = 20;
inline constexpr uint32_t kVersionMask = (uint32_t{1} << kVersionBits) - 1;
inline constexpr size_t kMaxKeyLen = 250;  // memcached's KEY_MAX_LENGTH
inline constexpr size_t kMaxKeysPerGet = 100;
// A request is one datagram in one standard 1,500-byte Ethernet frame: 1500 -
// 20 (IPv4) - 8 (UDP) - 8 (memcached frame header). Bigger sets would need
// jumbo frames and multi-segment mbufs, which the dataplane drops.
inline constexpr size_t kMaxRequestBytes = 1464;

// True when serial number a is after b (both kVersionBits wide).
inline bool version_after(uint32_t a, uint32_t b) {
    const uint32_t d = (a - b) & kVersionMask;
    return d != 0 && d < (uint32_t{1} << (kVersionBits - 1));
}

struct WorkloadParams {
    uint64_t n_keys = 100'000;
    uint32_t key_len = 16;
    uint32_t value_min = 32;
    uint32_t value_max = 32;
    double get_ratio = 0.9;
    uint32_t keys_per_get = 1;
    KeyDist dist = KeyDist::kUniform;
    double zipf_theta = 0.99;
    uint64_t seed = 1;    // key and operation sequence: same seed, same requests
    uint64_t run_id = 1;  // value bytes and flags epoch: differ per run (main uses the clock)
};

enum class Op : uint8_t { kGet, kSet };

class Workload {
  public:
    // Checks every parameter against the others; the message names the flag.
    static Result<Workload, std::string> create(const WorkloadParams& p);

    const WorkloadParams& params() const { return p_; }
    uint32_t n_keys() const { return static_cast<uint32_t>(p_.n_keys); }

    // --- choosing requests ------------------------------------------------
    // next_double() < get_ratio, compared as integers: the same draws.
    Op next_op(Rng& rng) const { return (rng.next() >> 11) < get_below_ ? Op::kGet : Op::kSet; }
    uint32_t next_key(Rng& rng) const { return static_cast<uint32_t>(chooser_.next(rng)); }

    // --- keys -------------------------------------------------------------
    // Writes key_len bytes.
    void format_key(uint32_t key, char* out) const;
    // A 16-byte key (the default length) as the two little-endian words
    // format_key stores: compared or summed in registers, no reload.
    // Inline: GetFrame builds one a request.
    static void key16_words(uint32_t key, uint64_t& head, uint64_t& tail) {
        // "k" + five zeros + the top two of ten digits, then the other eight.
        if (key < 100'000'000) {
            // Every run under 10^8 keys: the top two are zeros.
            head = 0x3030'3030'3030'306bULL;
            tail = eight_digits(key);
            return;
        }
        const uint32_t hi = key / 100'000'000;
        head = 0x0000'3030'3030'306bULL | (uint64_t{'0' + hi / 10} << 48) |
               (uint64_t{'0' + hi % 10} << 56);
        tail = eight_digits(key % 100'000'000);
    }
    // The eight ASCII digits of v < 10^8, most significant first, as they
    // lie in memory (little-endian word): four digit pairs, then pairs split
    // in two, each step on all lanes with one multiply (Lemire's
    // "encode_ten_thousands").
    static uint64_t eight_digits(uint32_t v) {
        const uint64_t merged = uint64_t{v / 10000} | (uint64_t{v % 10000} << 32);
        const uint64_t top = ((merged * 10486ULL) >> 20) & ((0x7FULL << 32) | 0x7FULL);
        const uint64_t bot = merged - 100ULL * top;
        const uint64_t hundreds = (bot << 16) + top;
        uint64_t tens = (hundreds * 103ULL) >> 10;
        tens &= (0xFULL << 48) | (0xFULL << 32) | (0xFULL << 16) | 0xFULL;
        tens += (hundreds - 10ULL * tens) << 8;
        return tens + 0x3030303030303030ULL;
    }
    // The index of a key this workload formats; false for anything else.
    bool parse_key(std::string_view s, uint32_t& key) const;

    // --- values -----------------------------------------------------------
    uint32_t flags_of(uint32_t version) const { return (epoch_ << kVersionBits) | version; }
    // The run epoch in a flags word; mine() is false for other runs' values.
    bool mine(uint32_t flags) const { return (flags >> kVersionBits) == epoch_; }
    uint32_t value_len(uint32_t key, uint32_t version) const {
        if (p_.value_min == p_.value_max) return p_.value_min;
        const uint64_t span = uint64_t{p_.value_max} - p_.value_min + 1;
        return p_.value_min + static_cast<uint32_t>(mix64(value_seed(key, version) ^ 1) % span);
    }
    void fill_value(uint32_t key, uint32_t version, char* out) const;
    bool value_equals(uint32_t key, uint32_t version, std::string_view got) const;

    // --- requests (memcached text, without the UDP frame header) -----------
    // "get k1 k2 ...\r\n"; returns the length. `out` holds max_get_request().
    size_t format_get(std::span<const uint32_t> keys, char* out) const;
    // "set k flags 0 len\r\n<value>\r\n"; `out` holds max_set_request().
    size_t format_set(uint32_t key, uint32_t version, char* out) const;
    size_t max_get_request() const;
    size_t max_set_request() const;
    // Longest reply to one of our gets (every key a hit at value_max).
    size_t max_get_reply() const;

  private:
    explicit Workload(const WorkloadParams& p);
    uint64_t value_seed(uint32_t key, uint32_t version) const {
        return mix64(nonce_ ^ ((uint64_t{key} << kVersionBits) | version));
    }

    WorkloadParams p_;
    KeyChooser chooser_;
    uint64_t nonce_;  // seeds value bytes: differs per run
    uint32_t epoch_;  // 12 bits, never 0: marks this run's flags
    // ceil(get_ratio * 2^53): a 53-bit draw k is a get when k < it (k is
    // an integer, so k < x and k < ceil(x) agree).
    uint64_t get_below_;
};

// Newest version sent and acknowledged per key of [first, first + count):
// 8 bytes a key, allocated at start-up. Owned by the generator's lcore; with
// --queues each instance holds its own slice (queues.h), so a key has one
// writer and "a hit returns a value we set" stays provable per instance.
// Callers pass only keys of the slice (the reply checker looks a key up only
// after matching it to one the request asked for).
class KeyVersions {
  public:
    explicit KeyVersions(uint32_t n_keys) : KeyVersions(0, n_keys) {}
    KeyVersions(uint32_t first, uint32_t count);
    // The version of a new set of `key` (1..2^20-1, wrapping past 0).
    uint32_t next(uint32_t key) {
        uint32_t& s = v_[key - first_].sent;
        uint32_t v = (s + 1) & kVersionMask;
        if (v == 0) v = 1;
        s = v;
        return v;
    }
    void ack(uint32_t key, uint32_t v) {
        uint32_t& a = v_[key - first_].acked;
        if (a == 0 || version_after(v, a)) a = v;
    }
    uint32_t sent(uint32_t key) const { return v_[key - first_].sent; }
    uint32_t acked(uint32_t key) const { return v_[key - first_].acked; }
    // Starts loading `key`'s entry: with a million keys it is a DRAM miss,
    // paid requests ahead instead of when the request is built. Both
    // versions share the entry: one line a key, not two.
    void prefetch(uint32_t key) const { __builtin_prefetch(&v_[key - first_], 1); }

  private:
    struct Entry {
        uint32_t sent = 0;
        uint32_t acked = 0;
    };
    struct Free {
        void operator()(Entry* p) const;
    };
    uint32_t first_;
    // 8 MB for a million keys, read at random: in 2 MB pages where the
    // kernel gives them (transparent huge pages, madvise), so the look-ups
    // and prefetches miss the TLB far less than with 4 KB pages.
    std::unique_ptr<Entry[], Free> v_;
};

}  // namespace fulmar::pktgen
