// The seqlock of shm::ServiceAddrs (layout.h): how its one writer (the
// control plane's loop thread, or a test) publishes a table of service
// addresses and how a worker lcore takes a consistent copy of it.
//
// Headers only, no DPDK: the control plane, the dataplane and the tests
// include it. Why a seqlock: the reader is a poll-mode worker that must
// never wait for another process (a writer killed mid-change leaves `seq`
// odd, and readers keep their last table rather than spin), and the writer
// is rare (an address moves on failover) while the reader looks often.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <span>

#include "shm/layout.h"

namespace fulmar::shm {

// A consistent copy of the table; `seq` is the (even) sequence it was at.
struct ServiceAddrSnapshot {
    uint32_t seq = 0;
    uint32_t n = 0;
    std::array<uint32_t, kMaxServiceAddrs> addrs{};
};

// The current sequence number: a reader compares it with the one of its
// copy before paying for read_service_addrs().
inline uint32_t service_addrs_seq(const ServiceAddrs& t) {
    return t.seq.load(std::memory_order_acquire);
}

// One try at a consistent copy: false while the writer is mid-change (the
// caller keeps its previous copy and looks again later; it never spins).
inline bool read_service_addrs(const ServiceAddrs& t, ServiceAddrSnapshot& out) {
    const uint32_t s1 = t.seq.load(std::memory_order_acquire);
    if ((s1 & 1) != 0) return false;
    ServiceAddrSnapshot copy;
    copy.n = t.n.load(std::memory_order_relaxed);
    if (copy.n > kMaxServiceAddrs) return false;  // torn: the recheck below fails too
    for (uint32_t i = 0; i < copy.n; ++i)
        copy.addrs[i] = t.addrs[i].load(std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (t.seq.load(std::memory_order_relaxed) != s1) return false;
    copy.seq = s1;
    out = copy;
    return true;
}

// Publishes `addrs` (network order, at most kMaxServiceAddrs) as the
// table. One writer at a time: the caller is the only one.
inline void write_service_addrs(ServiceAddrs& t, std::span<const uint32_t> addrs) {
    uint32_t s = t.seq.load(std::memory_order_relaxed);
    s += s & 1;  // a writer killed mid-change left it odd
    t.seq.store(s + 1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    const auto n =
        static_cast<uint32_t>(addrs.size() < kMaxServiceAddrs ? addrs.size() : kMaxServiceAddrs);
    for (uint32_t i = 0; i < n; ++i)
        t.addrs[i].store(addrs[i], std::memory_order_relaxed);
    t.n.store(n, std::memory_order_relaxed);
    t.seq.store(s + 2, std::memory_order_release);
}

}  // namespace fulmar::shm
