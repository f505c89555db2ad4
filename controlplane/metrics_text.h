// Prometheus text exposition (format 0.0.4) of the appliance's counters:
// what the control plane's GET /metrics answers. Rendering only: it takes a
// MetricsSnapshot of plain structs (filled from shared memory by
// metrics_source.h), so it is tested without DPDK.
//
// Any thread; pure functions.
//
// Names: every family starts with `fulmar_`; counters end in `_total`; one
// family per counter of the shm/counters.h lists (so a counter added there
// is exported here too), with labels
//   worker="0"          per worker lcore (WorkerStats, EngineStats, drops);
//                       EngineStats also worker="controlplane" (its TCP gets),
//                       so sum() of an engine family is memcached's total
//   shard="0"           per shard (ShardStats, items, pages, memory)
//   shard="0",class="5" per slab class that holds a page or evicted
//   reason="..."        drop reasons (dataplane/net/classify.h names)
// Values are the counters since the dataplane started (`stats reset` moves
// only memcached's baseline; Prometheus handles resets by itself).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shm/counters.h"
#include "udp_counters.h"

namespace fulmar::controlplane {

struct MetricsWorker {
    uint32_t id = 0;
    shm::WorkerStats worker;
    shm::EngineStats engine;
    // (reason name, frames dropped); names are stable counter names.
    std::vector<std::pair<std::string_view, uint64_t>> drops;
    uint64_t inbox_depth = 0;  // messages waiting in the owner's inbox ring
};

struct MetricsSlabClass {
    uint32_t class_id = 0;
    uint32_t chunk_size = 0;
    uint32_t pages = 0;
    uint64_t live = 0;
    uint32_t free = 0;
    uint64_t evictions = 0;
};

struct MetricsShard {
    uint32_t id = 0;
    shm::ShardStats stats;
    uint64_t items = 0;
    uint32_t pages = 0;
    uint32_t free_pages = 0;
    uint64_t index_slots = 0;
    std::vector<MetricsSlabClass> classes;
};

// The control plane's memcached TCP listener (McServer::stats_snapshot()).
struct MetricsTcp {
    uint64_t curr_connections = 0;
    uint64_t total_connections = 0;
    uint64_t rejected_connections = 0;
    uint64_t slow_reader_closed = 0;
    uint64_t idle_closed = 0;
    uint64_t waits = 0;
};

// The control plane's channel to the owners (ShardChannel, RequestArena).
struct MetricsChannel {
    uint64_t inflight = 0;
    uint64_t backlog = 0;
    uint64_t arena_bytes_used = 0;
    uint64_t arena_bytes = 0;
};

// The TTL sweep pacer's view of one shard (sweep_pacer.h).
struct MetricsSweep {
    uint32_t shard = 0;
    uint64_t ttl_items = 0;       // items with a TTL
    double expired_estimate = 0;  // of those, expired but resident (estimate)
    double expired_ratio = 0;     // the estimate's share of ttl_items
    double rate = 0;              // chunks per second the pacer aims at
    double cpu_ratio = 0;         // of the owner's core, last second
};

struct MetricsSnapshot {
    uint64_t uptime_s = 0;
    uint64_t controlplane_restarts = 0;
    std::vector<MetricsWorker> workers;
    shm::EngineStats controlplane_engine;
    std::vector<MetricsShard> shards;
    MetricsChannel channel;
    std::optional<MetricsTcp> tcp;  // unset when memcached TCP is off
    // memcached UDP requests that came as IP fragments (mc_udp_server.h);
    // unset when the port has no kernel side.
    std::optional<UdpServerStats> udp;
    std::vector<MetricsSweep> sweep;  // empty when no pacer runs
    double sweep_goal_ratio = 0;
};

// The HTTP Content-Type of render_metrics()'s text.
inline constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

std::string render_metrics(const MetricsSnapshot& s);

}  // namespace fulmar::controlplane
