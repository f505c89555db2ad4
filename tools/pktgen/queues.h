// Splitting one run across --queues generator instances, and joining their
// results again.
//
// Instance q runs on its own lcore and owns port queue q. It gets:
//
//   keys      [n*q/N, n*(q+1)/N)   disjoint slices: one writer per key, so a
//                                   hit is still proven against the versions
//                                   that instance set (workload.h)
//   src port  --src-port + q       one UDP flow each: RSS on a NIC spreads them
//   rate      --rate / N           totals split (the window and the preload
//   window    --window / N (+1)    window: the remainder to the first queues)
//   seed      --seed + q           its own key and operation sequence
//
//   --keys 10 --queues 3:   q0: k0..k2   q1: k3..k5   q2: k6..k9
//
// With --dist zipf each instance draws Zipf ranks over its own slice: N hot
// spots of 1/N of the keys each, not one Zipf over all keys.
//
// Pure functions, start-up and shut-down only; allocate freely.
#pragma once

#include <cstdint>
#include <span>

#include "options.h"
#include "report.h"

namespace fulmar::pktgen {

struct KeySlice {
    uint32_t first = 0;
    uint32_t count = 0;
};

// Slice q of n keys over `queues` instances; sizes differ by at most one.
KeySlice key_slice(uint64_t n_keys, uint32_t queues, uint32_t q);

// Instance i's part of `total` over n: total / n, one more for the first
// total % n instances. The parts add up to total.
uint32_t share(uint32_t total, uint32_t n, uint32_t i);

struct QueuePlan {
    uint32_t queue = 0;
    KeySlice keys;
    uint16_t src_port = 0;
    double rate = 0;      // requests/s; 0: closed loop
    uint32_t window = 0;  // closed loop: in flight; open loop: a cap (0: none)
    uint32_t preload_window = 0;
    uint64_t seed = 0;
};

// Instance q's plan from validated options (parse_options checked that every
// instance gets a key, a request in flight and a port).
QueuePlan plan_queue(const Options& o, uint32_t q);

// One report from the instances' reports (parts[q] from instance q, planned
// by plans[q]): counts summed, histograms merged, the preload's wall time the
// longest, the measured time the mean (the instances measure the same
// window, started together), and one QueueReport per instance. The options
// are the run's, from parts[0].
Report merge_reports(std::span<const Report> parts, std::span<const QueuePlan> plans);

}  // namespace fulmar::pktgen
