// DPDK telemetry commands of the dataplane, readable with dpdk-telemetry.py
// (/var/run/dpdk/<prefix>/dpdk_telemetry.v2):
//   /fulmar/stats    totals over workers: packets, drops by reason, commands
//   /fulmar/shards   per shard: items, evictions, expirations, memory by class
//
// Registered once by the main lcore; the callbacks run on DPDK's telemetry
// thread and read the workers' counters as snapshots.
#pragma once

#include <span>
#include <string>

#include "store/shard.h"
#include "worker.h"

namespace fulmar::dataplane {

void register_telemetry(std::span<Worker* const> workers, std::span<store::Shard* const> shards);

// The same numbers as text, for the log at exit.
std::string stats_text(std::span<Worker* const> workers, std::span<store::Shard* const> shards);

}  // namespace fulmar::dataplane
