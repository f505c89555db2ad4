// Outstanding-request ring; see request_table.h.
#include "request_table.h"

namespace fulmar::pktgen {

RequestTable::RequestTable(uint32_t keys_per_slot)
    : slots_(kIds),
      keys_(size_t{kIds} * keys_per_slot),
      min_versions_(size_t{kIds} * keys_per_slot),
      per_slot_(keys_per_slot) {}

bool RequestTable::make_room() {
    while (tail_ != head_ && slots_[static_cast<uint16_t>(tail_)].state != SlotState::kOutstanding)
        tail_++;
    return head_ - tail_ != kIds;
}

}  // namespace fulmar::pktgen
