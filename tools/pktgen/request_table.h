// Outstanding requests, indexed by the memcached UDP request id.
//
// Owned by the generator's lcore; allocation only in the constructor. Every
// operation is O(1) (expiry amortised O(1)): it sits on the per-packet path.
//
// The 16-bit id space is a ring. Ids are handed out in order (head); the
// oldest id that may still be outstanding is the tail. Requests are stamped
// in id order, so the oldest outstanding request is always the first
// outstanding slot from the tail, and timeouts are found without scanning:
//
//        tail                                head
//         v                                   v
//   ... | done | OUT | done | OUT | OUT | ... |  free ...   (mod 65536)
//
// A slot is reused only after 65,535 later requests, so a reply that comes
// back after its timeout is recognised as late (the slot says kTimedOut)
// unless the id has come round again; the reply checker then still sees the
// wrong keys and counts an error rather than a false hit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "workload.h"

namespace fulmar::pktgen {

enum class SlotState : uint8_t { kFree, kOutstanding, kTimedOut };

// What part of the run a request belongs to. Outcomes are counted for the
// phase the request was sent in, so a warm-up request answered after the
// measurement began never counts in it.
enum class Phase : uint8_t { kPreload, kWarmup, kMeasure };

struct Slot {
    uint64_t sent_tsc = 0;  // send stamp (open loop: the intended send time)
    uint32_t key = 0;       // a set's key (a get's keys are in keys())
    uint32_t version = 0;   // a set's version
    uint16_t n_keys = 0;
    uint16_t reasm = 0;  // reassembly context + 1; 0: none yet
    Op op = Op::kGet;
    Phase phase = Phase::kMeasure;
    SlotState state = SlotState::kFree;
};

class RequestTable {
  public:
    static constexpr uint32_t kIds = 65536;

    // Room for `keys_per_slot` keys (and their min versions) per request.
    explicit RequestTable(uint32_t keys_per_slot);

    // The next id in sequence, marked outstanding and stamped `now`; false
    // when all 65,536 ids are outstanding.
    bool acquire(uint64_t now, uint16_t& id) {
        if (head_ - tail_ == kIds && !make_room()) return false;
        id = static_cast<uint16_t>(head_++);
        Slot& s = slots_[id];
        s.sent_tsc = now;
        s.state = SlotState::kOutstanding;
        s.reasm = 0;
        s.n_keys = 0;
        n_outstanding_++;
        return true;
    }
    Slot& slot(uint16_t id) { return slots_[id]; }
    const Slot& slot(uint16_t id) const { return slots_[id]; }
    std::span<uint32_t> keys(uint16_t id) { return {&keys_[size_t{id} * per_slot_], per_slot_}; }
    std::span<uint32_t> min_versions(uint16_t id) {
        return {&min_versions_[size_t{id} * per_slot_], per_slot_};
    }
    // The request was answered (or never sent): the id is free.
    void release(uint16_t id) {
        slots_[id].state = SlotState::kFree;
        n_outstanding_--;
    }
    // Marks timed out, oldest first, every outstanding request stamped at or
    // before `deadline`, calling on_expire(id, slot) for each.
    template <typename F>
    void expire(uint64_t deadline, F&& on_expire) {
        while (tail_ != head_) {
            const uint16_t id = static_cast<uint16_t>(tail_);
            Slot& s = slots_[id];
            if (s.state == SlotState::kOutstanding) {
                if (s.sent_tsc > deadline) return;
                s.state = SlotState::kTimedOut;
                n_outstanding_--;
                on_expire(id, s);
            }
            tail_++;
        }
    }
    uint32_t outstanding() const { return n_outstanding_; }

  private:
    // Full ring: skips answered slots at the tail; false when an outstanding
    // one is there (65,536 requests in flight).
    bool make_room();

    std::vector<Slot> slots_;
    std::vector<uint32_t> keys_;
    std::vector<uint32_t> min_versions_;
    uint32_t per_slot_;
    uint32_t head_ = 0;  // next id to hand out (mod 2^16); counts up forever
    uint32_t tail_ = 0;  // no id before it is outstanding
    uint32_t n_outstanding_ = 0;
};

}  // namespace fulmar::pktgen
