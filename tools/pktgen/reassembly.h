// Reassembly of multi-datagram replies by (request id, sequence, total).
//
// Owned by the generator's lcore. A fixed pool of contexts, allocated at
// start-up, each big enough for the longest reply the workload can get; the
// per-packet path only copies payloads and flips counters.
//
// Datagram i of a reply is copied to offset i x 1,400 (memcached fills every
// datagram but the last); a shorter middle datagram (other servers) is
// closed up when the reply completes, so any split reassembles.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace fulmar::pktgen {

enum class AddResult : uint8_t {
    kMore,       // stored; datagrams still missing
    kComplete,   // all `total` datagrams in: bytes() is the reply
    kDuplicate,  // this sequence number was already in: ignored
    kBad,        // seq >= total, a total other than the first one, or too big
};

class Reassembler {
  public:
    static constexpr uint16_t kNone = UINT16_MAX;

    // `n_contexts` replies at a time, each up to `max_datagrams` datagrams of
    // at most `datagram_payload` bytes.
    Reassembler(uint32_t n_contexts, uint32_t max_datagrams, uint32_t datagram_payload);

    // A context for a reply of `total` datagrams; kNone when the pool is
    // empty or total is out of range.
    uint16_t acquire(uint16_t total);
    AddResult add(uint16_t ctx, uint16_t seq, uint16_t total, std::string_view data);
    // The reassembled reply, valid until release(ctx).
    std::string_view bytes(uint16_t ctx) const;
    void release(uint16_t ctx);

    uint32_t n_free() const { return static_cast<uint32_t>(free_.size()); }
    uint32_t max_datagrams() const { return max_datagrams_; }

  private:
    static constexpr uint16_t kMissing = UINT16_MAX;
    struct Ctx {
        uint32_t len = 0;  // set when complete
        uint16_t total = 0;
        uint16_t received = 0;
    };

    uint32_t max_datagrams_;
    uint32_t payload_;
    std::vector<Ctx> ctx_;
    std::vector<char> buf_;       // n_contexts x max_datagrams x payload
    std::vector<uint16_t> lens_;  // per datagram; kMissing until it arrives
    std::vector<uint16_t> free_;  // stack of free contexts (capacity fixed)
};

}  // namespace fulmar::pktgen
