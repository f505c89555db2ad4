// Telemetry commands and the exit summary; see telemetry.h.
#include "telemetry.h"

#include <rte_telemetry.h>

#include <fmt/core.h>

#include <functional>
#include <string>

#include "net/classify.h"
#include "shm/totals.h"

namespace fulmar::dataplane {
namespace {

// The telemetry callbacks take no context pointer: the process has one
// dataplane, registered once before the workers start.
const shm::DataplaneShm* g_dp = nullptr;
std::span<const store::ShardView> g_shards;

int tel_stats(const char*, const char*, rte_tel_data* d) {
    rte_tel_data_start_dict(d);
    for_each_total(*g_dp, [&](std::string_view k, uint64_t v) {
        rte_tel_data_add_dict_u64(d, std::string(k).c_str(), v);
    });
    return 0;
}

int tel_shards(const char*, const char*, rte_tel_data* d) {
    rte_tel_data_start_dict(d);
    for (size_t i = 0; i < g_shards.size(); ++i) {
        rte_tel_data* sd = rte_tel_data_alloc();
        if (sd == nullptr) return -1;
        rte_tel_data_start_dict(sd);
        for_each_shard_figure(g_shards[i], [&](std::string_view k, uint64_t v) {
            rte_tel_data_add_dict_u64(sd, std::string(k).c_str(), v);
        });
        // Memory by class: pages held by each class that holds any.
        const shm::ShardMeta& m = g_shards[i].meta();
        for (size_t c = 0; c < m.n_classes; ++c) {
            const shm::SlabClass& cls = m.classes[c];
            if (cls.n_pages == 0) continue;
            rte_tel_data_add_dict_u64(sd, fmt::format("class_{}_pages", cls.chunk_size).c_str(),
                                      cls.n_pages);
        }
        rte_tel_data_add_dict_container(d, fmt::format("shard{}", i).c_str(), sd, 0);
    }
    return 0;
}

}  // namespace

void for_each_total(const shm::DataplaneShm& dp,
                    const std::function<void(std::string_view, uint64_t)>& f) {
    const shm::WorkerStats w = shm::sum_worker(dp);
    shm::for_each_counter(w,
                          [&](std::string_view name, std::string_view, uint64_t v) { f(name, v); });
    for (size_t r = 0; r < net::kDropReasonCount; ++r)
        f(std::string("drop_") + net::drop_reason_name(static_cast<net::DropReason>(r)),
          shm::sum_drops(dp, r));
    // Telemetry shows the counters since start; `stats reset` only moves
    // the baseline memcached `stats` subtracts.
    const shm::EngineStats e = shm::sum_engine(dp);
    shm::for_each_counter(e,
                          [&](std::string_view name, std::string_view, uint64_t v) { f(name, v); });
}

void for_each_shard_figure(const store::ShardView& s,
                           const std::function<void(std::string_view, uint64_t)>& f) {
    const shm::ShardMeta& m = s.meta();
    f("items", s.n_items());
    shm::for_each_counter(m.stats,
                          [&](std::string_view name, std::string_view, uint64_t v) { f(name, v); });
    uint32_t free_pages = m.n_pages;
    for (size_t c = 0; c < m.n_classes; ++c)
        free_pages -= m.classes[c].n_pages;
    f("pages", m.n_pages);
    f("free_pages", free_pages);
    f("index_slots", s.index_capacity());
}

void register_telemetry(const shm::DataplaneShm& dp, std::span<const store::ShardView> shards) {
    g_dp = &dp;
    g_shards = shards;
    rte_telemetry_register_cmd("/fulmar/stats", tel_stats,
                               "Fulmar dataplane totals: packets, drops by reason, commands");
    rte_telemetry_register_cmd("/fulmar/shards", tel_shards,
                               "Fulmar shards: items, evictions, expirations, pages by class");
}

std::string stats_text(const shm::DataplaneShm& dp, std::span<const store::ShardView> shards) {
    std::string out;
    for_each_total(dp, [&](std::string_view k, uint64_t v) {
        if (v != 0) out += fmt::format("  {:28} {}\n", k, v);
    });
    for (size_t i = 0; i < shards.size(); ++i) {
        out += fmt::format("  shard {}:", i);
        for_each_shard_figure(
            shards[i], [&](std::string_view k, uint64_t v) { out += fmt::format(" {}={}", k, v); });
        out += "\n";
    }
    return out;
}

}  // namespace fulmar::dataplane
