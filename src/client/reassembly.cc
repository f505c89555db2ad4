// Reassembly of memcached UDP reply messages; see reassembly.h.
#include "client/reassembly.h"

namespace fulmar::client {

void Reassembly::reset() {
    total_ = 0;
    n_received_ = 0;
}

AddStatus Reassembly::add(uint16_t seq, uint16_t total, std::span<const char> payload) {
    if (total == 0 || seq >= total) return AddStatus::kMismatch;
    if (total_ == 0) {
        total_ = total;
        n_received_ = 0;
        if (parts_.size() < total) parts_.resize(total);
        have_.assign(total, 0);
    } else if (total != total_) {
        return AddStatus::kMismatch;
    }
    if (have_[seq] != 0) return AddStatus::kDuplicate;
    have_[seq] = 1;
    parts_[seq].assign(payload.begin(), payload.end());
    ++n_received_;
    return n_received_ == total_ ? AddStatus::kMessageComplete : AddStatus::kIncomplete;
}

void Reassembly::take_message(std::vector<char>& out) {
    for (uint16_t i = 0; i < total_; ++i)
        out.insert(out.end(), parts_[i].begin(), parts_[i].end());
    total_ = 0;
    n_received_ = 0;
}

}  // namespace fulmar::client
