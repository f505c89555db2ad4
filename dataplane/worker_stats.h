// Per-worker packet counters, declared in shm/counters.h (one list for
// every exporter). One writer (the worker lcore); everyone else reads
// snapshots.
#pragma once

#include "shm/counters.h"

namespace fulmar::dataplane {

using WorkerStats = shm::WorkerStats;

}  // namespace fulmar::dataplane
