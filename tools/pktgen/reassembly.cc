// Multi-datagram reply reassembly; see reassembly.h.
#include "reassembly.h"

#include <cstring>

namespace fulmar::pktgen {

Reassembler::Reassembler(uint32_t n_contexts, uint32_t max_datagrams, uint32_t datagram_payload)
    : max_datagrams_(max_datagrams),
      payload_(datagram_payload),
      ctx_(n_contexts),
      buf_(size_t{n_contexts} * max_datagrams * datagram_payload),
      lens_(size_t{n_contexts} * max_datagrams, kMissing) {
    free_.reserve(n_contexts);
    for (uint32_t i = n_contexts; i > 0; i--)
        free_.push_back(static_cast<uint16_t>(i - 1));
}

uint16_t Reassembler::acquire(uint16_t total) {
    if (free_.empty() || total == 0 || total > max_datagrams_) return kNone;
    const uint16_t c = free_.back();
    free_.pop_back();
    ctx_[c] = Ctx{.len = 0, .total = total, .received = 0};
    return c;
}

AddResult Reassembler::add(uint16_t c, uint16_t seq, uint16_t total, std::string_view data) {
    Ctx& x = ctx_[c];
    if (total != x.total || seq >= total || data.size() > payload_) return AddResult::kBad;
    uint16_t* lens = &lens_[size_t{c} * max_datagrams_];
    if (lens[seq] != kMissing) return AddResult::kDuplicate;
    char* base = &buf_[size_t{c} * max_datagrams_ * payload_];
    std::memcpy(base + size_t{seq} * payload_, data.data(), data.size());
    lens[seq] = static_cast<uint16_t>(data.size());
    if (++x.received < x.total) return AddResult::kMore;
    // Close up the gaps short datagrams left (none with memcached's splits).
    size_t len = 0;
    for (uint16_t i = 0; i < x.total; i++) {
        if (len != size_t{i} * payload_)
            std::memmove(base + len, base + size_t{i} * payload_, lens[i]);
        len += lens[i];
    }
    x.len = static_cast<uint32_t>(len);
    return AddResult::kComplete;
}

std::string_view Reassembler::bytes(uint16_t c) const {
    return {&buf_[size_t{c} * max_datagrams_ * payload_], ctx_[c].len};
}

void Reassembler::release(uint16_t c) {
    uint16_t* lens = &lens_[size_t{c} * max_datagrams_];
    for (uint16_t i = 0; i < ctx_[c].total; i++)
        lens[i] = kMissing;
    free_.push_back(c);
}

}  // namespace fulmar::pktgen
