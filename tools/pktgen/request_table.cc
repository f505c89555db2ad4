// Outstanding-request ring; see request_table.h.
#include "request_table.h"

namespace fulmar::pktgen {

RequestTable::RequestTable(uint32_t keys_per_slot)
    : slots_(kIds),
      keys_(size_t{kIds} * keys_per_slot),
      min_versions_(size_t{kIds} * keys_per_slot),
      per_slot_(keys_per_slot) {}

bool RequestTable::acquire(uint64_t now, uint16_t& id) {
    if (head_ - tail_ == kIds) {
        // Full ring: skip answered slots at the tail; an outstanding one there
        // means 65,536 requests in flight.
        while (tail_ != head_ &&
               slots_[static_cast<uint16_t>(tail_)].state != SlotState::kOutstanding)
            tail_++;
        if (head_ - tail_ == kIds) return false;
    }
    id = static_cast<uint16_t>(head_++);
    Slot& s = slots_[id];
    s.sent_tsc = now;
    s.state = SlotState::kOutstanding;
    s.reasm = 0;
    s.n_keys = 0;
    n_outstanding_++;
    return true;
}

}  // namespace fulmar::pktgen
