// Totals over the per-lcore counter slots of shm::DataplaneShm: what
// telemetry, memcached `stats` and the control plane's INFO report.
//
// Any thread, any process attached to the dataplane; reads snapshots.
#pragma once

#include <cstddef>
#include <cstdint>

#include "shm/layout.h"

namespace fulmar::shm {

inline EngineStats sum_engine(const DataplaneShm& d) {
    EngineStats t;
    for (uint32_t i = 0; i < d.n_workers && i < kMaxWorkers; ++i)
        add_into(t, d.lcores[i].engine);
    add_into(t, d.cp.stats.engine);  // the control plane serves gets too
    return t;
}

inline WorkerStats sum_worker(const DataplaneShm& d) {
    WorkerStats t;
    for (uint32_t i = 0; i < d.n_workers && i < kMaxWorkers; ++i)
        add_into(t, d.lcores[i].worker);
    return t;
}

inline uint64_t sum_drops(const DataplaneShm& d, size_t reason) {
    uint64_t v = 0;
    for (uint32_t i = 0; i < d.n_workers && i < kMaxWorkers; ++i)
        v += d.lcores[i].drops[reason];
    return v;
}

}  // namespace fulmar::shm
