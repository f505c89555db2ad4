// Telemetry commands and the exit summary; see telemetry.h.
#include "telemetry.h"

#include <rte_telemetry.h>

#include <fmt/core.h>

#include <vector>

namespace fulmar::dataplane {
namespace {

// The telemetry callbacks take no context pointer: the process has one
// dataplane, registered once before the workers start.
std::span<Worker* const> g_workers;
std::span<store::Shard* const> g_shards;

template <typename F>
void for_each_total(std::span<Worker* const> workers, F&& f) {
#define FULMAR_SUM(name, desc)          \
    {                                   \
        uint64_t v = 0;                 \
        for (const Worker* w : workers) \
            v += w->stats.name;         \
        f(#name, v);                    \
    }
    FULMAR_WORKER_COUNTERS(FULMAR_SUM)
#undef FULMAR_SUM
    for (size_t r = 0; r < net::kDropReasonCount; ++r) {
        uint64_t v = 0;
        for (const Worker* w : workers)
            v += w->drops[r];
        f(std::string("drop_") + net::drop_reason_name(static_cast<net::DropReason>(r)), v);
    }
#define FULMAR_ENGINE(name)              \
    {                                    \
        uint64_t v = 0;                  \
        for (const Worker* w : workers)  \
            v += w->engine_stats().name; \
        f(#name, v);                     \
    }
    FULMAR_ENGINE(cmd_get)
    FULMAR_ENGINE(cmd_set)
    FULMAR_ENGINE(cmd_touch)
    FULMAR_ENGINE(get_hits)
    FULMAR_ENGINE(get_misses)
    FULMAR_ENGINE(delete_hits)
    FULMAR_ENGINE(delete_misses)
    FULMAR_ENGINE(incr_hits)
    FULMAR_ENGINE(decr_hits)
    FULMAR_ENGINE(cas_hits)
    FULMAR_ENGINE(touch_hits)
#undef FULMAR_ENGINE
}

template <typename F>
void for_each_shard_stat(const store::Shard& s, F&& f) {
    const store::ShardStats& st = s.stats();
    f("items", s.n_items());
    f("sets", st.sets);
    f("evictions", st.evictions);
    f("expired_reclaimed", st.expired_reclaimed);
    f("flushed_reclaimed", st.flushed_reclaimed);
    f("sweep_reclaimed", st.sweep_reclaimed);
    f("page_moves", st.page_moves);
    f("index_full", st.index_full);
    f("pages", s.slab().n_pages());
    f("free_pages", s.slab().n_free_pages());
    f("index_slots", s.index().capacity());
}

int tel_stats(const char*, const char*, rte_tel_data* d) {
    rte_tel_data_start_dict(d);
    for_each_total(g_workers, [&](const std::string& k, uint64_t v) {
        rte_tel_data_add_dict_u64(d, k.c_str(), v);
    });
    return 0;
}

int tel_shards(const char*, const char*, rte_tel_data* d) {
    rte_tel_data_start_dict(d);
    for (size_t i = 0; i < g_shards.size(); ++i) {
        rte_tel_data* sd = rte_tel_data_alloc();
        if (sd == nullptr) return -1;
        rte_tel_data_start_dict(sd);
        for_each_shard_stat(
            *g_shards[i], [&](const char* k, uint64_t v) { rte_tel_data_add_dict_u64(sd, k, v); });
        // Memory by class: pages held by each class that holds any.
        const store::Slab& slab = g_shards[i]->slab();
        for (size_t c = 0; c < slab.n_classes(); ++c) {
            const auto& cls = slab.cls(static_cast<uint8_t>(c));
            if (cls.n_pages == 0) continue;
            rte_tel_data_add_dict_u64(sd, fmt::format("class_{}_pages", cls.chunk_size).c_str(),
                                      cls.n_pages);
        }
        rte_tel_data_add_dict_container(d, fmt::format("shard{}", i).c_str(), sd, 0);
    }
    return 0;
}

}  // namespace

void register_telemetry(std::span<Worker* const> workers, std::span<store::Shard* const> shards) {
    g_workers = workers;
    g_shards = shards;
    rte_telemetry_register_cmd("/fulmar/stats", tel_stats,
                               "Fulmar dataplane totals: packets, drops by reason, commands");
    rte_telemetry_register_cmd("/fulmar/shards", tel_shards,
                               "Fulmar shards: items, evictions, expirations, pages by class");
}

std::string stats_text(std::span<Worker* const> workers, std::span<store::Shard* const> shards) {
    std::string out;
    for_each_total(workers, [&](const std::string& k, uint64_t v) {
        if (v != 0) out += fmt::format("  {:28} {}\n", k, v);
    });
    for (size_t i = 0; i < shards.size(); ++i) {
        out += fmt::format("  shard {}:", i);
        for_each_shard_stat(*shards[i],
                            [&](const char* k, uint64_t v) { out += fmt::format(" {}={}", k, v); });
        out += "\n";
    }
    return out;
}

}  // namespace fulmar::dataplane
