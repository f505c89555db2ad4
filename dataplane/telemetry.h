// DPDK telemetry commands of the dataplane, readable with dpdk-telemetry.py
// (/var/run/dpdk/<prefix>/dpdk_telemetry.v2):
//   /fulmar/stats    totals over workers: every worker and engine counter,
//                    drops by reason (shm/counters.h declares them all)
//   /fulmar/shards   per shard: every shard counter, items, pages by class
//
// Registered once by the main lcore; the callbacks run on DPDK's telemetry
// thread. They read only shared memory (the lcore slots of DataplaneShm and
// the shards' ShardMeta), the same snapshots memcached `stats` and the
// control plane read.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "shm/layout.h"
#include "store/shard_view.h"

namespace fulmar::dataplane {

void register_telemetry(const shm::DataplaneShm& dp, std::span<const store::ShardView> shards);

// Calls f(name, value) for every total of /fulmar/stats, in order.
void for_each_total(const shm::DataplaneShm& dp,
                    const std::function<void(std::string_view, uint64_t)>& f);
// Calls f(name, value) for every per-shard figure of /fulmar/shards
// (without the per-class pages).
void for_each_shard_figure(const store::ShardView& s,
                           const std::function<void(std::string_view, uint64_t)>& f);

// The same numbers as text, for the log at exit.
std::string stats_text(const shm::DataplaneShm& dp, std::span<const store::ShardView> shards);

}  // namespace fulmar::dataplane
