// Prometheus text exposition; see metrics_text.h.
#include "metrics_text.h"

#include <fmt/core.h>

#include <initializer_list>
#include <utility>

namespace fulmar::controlplane {
namespace {

using Label = std::pair<std::string_view, std::string_view>;

// One family at a time: its HELP and TYPE lines, then its samples (the
// format wants a family's samples together, after its TYPE line).
class Exposition {
  public:
    void family(std::string_view name, std::string_view type, std::string_view help) {
        name_ = name;
        out_ += "# HELP ";
        out_ += name;
        out_ += ' ';
        for (char c : help) {
            if (c == '\\')
                out_ += "\\\\";
            else if (c == '\n')
                out_ += "\\n";
            else
                out_ += c;
        }
        out_ += "\n# TYPE ";
        out_ += name;
        out_ += ' ';
        out_ += type;
        out_ += '\n';
    }

    void sample(std::initializer_list<Label> labels, uint64_t v) {
        sample_text(labels, std::to_string(v));
    }
    // A gauge that is no count (a ratio, a rate): Go's shortest float text.
    void sample_real(std::initializer_list<Label> labels, double v) {
        sample_text(labels, fmt::format("{}", v));
    }

    void sample_text(std::initializer_list<Label> labels, const std::string& v) {
        out_ += name_;
        if (labels.size() != 0) {
            out_ += '{';
            bool first = true;
            for (const auto& [k, value] : labels) {
                if (!first) out_ += ',';
                first = false;
                out_ += k;
                out_ += "=\"";
                for (char c : value) {
                    if (c == '\\' || c == '"') {
                        out_ += '\\';
                        out_ += c;
                    } else if (c == '\n') {
                        out_ += "\\n";
                    } else {
                        out_ += c;
                    }
                }
                out_ += '"';
            }
            out_ += '}';
        }
        out_ += ' ';
        out_ += v;
        out_ += '\n';
    }

    // A family with one unlabelled sample.
    void single(std::string_view name, std::string_view type, std::string_view help, uint64_t v) {
        family(name, type, help);
        sample({}, v);
    }

    std::string take() { return std::move(out_); }

  private:
    std::string out_;
    std::string name_;
};

// A counter list's (name, description) pairs in list order.
template <typename Struct>
std::vector<std::pair<std::string_view, std::string_view>> counter_names() {
    std::vector<std::pair<std::string_view, std::string_view>> names;
    shm::for_each_counter(Struct{}, [&](std::string_view n, std::string_view d, uint64_t) {
        names.emplace_back(n, d);
    });
    return names;
}

template <typename Struct>
std::vector<uint64_t> counter_values(const Struct& s) {
    std::vector<uint64_t> v;
    shm::for_each_counter(s,
                          [&](std::string_view, std::string_view, uint64_t x) { v.push_back(x); });
    return v;
}

// One family per counter of Struct's list, `prefix<name>_total`, one sample
// per row labelled `label="<row id>"`.
template <typename Struct>
void counter_families(Exposition& e, std::string_view prefix, std::string_view label,
                      const std::vector<std::pair<std::string, Struct>>& rows) {
    std::vector<std::vector<uint64_t>> values;
    for (const auto& [id, s] : rows)
        values.push_back(counter_values(s));
    const auto names = counter_names<Struct>();
    for (size_t i = 0; i < names.size(); ++i) {
        e.family(fmt::format("{}{}_total", prefix, names[i].first), "counter", names[i].second);
        for (size_t r = 0; r < rows.size(); ++r)
            e.sample({{label, rows[r].first}}, values[r][i]);
    }
}

}  // namespace

std::string render_metrics(const MetricsSnapshot& s) {
    Exposition e;
    e.single("fulmar_uptime_seconds", "gauge", "seconds since the dataplane started", s.uptime_s);
    e.single("fulmar_controlplane_restarts_total", "counter",
             "dead control planes the dataplane cleaned up after", s.controlplane_restarts);

    // ---- per worker ----
    std::vector<std::string> worker_ids;
    for (const MetricsWorker& w : s.workers)
        worker_ids.push_back(std::to_string(w.id));
    {
        std::vector<std::pair<std::string, shm::WorkerStats>> rows;
        for (size_t i = 0; i < s.workers.size(); ++i)
            rows.emplace_back(worker_ids[i], s.workers[i].worker);
        counter_families(e, "fulmar_worker_", "worker", rows);
    }
    {
        std::vector<std::pair<std::string, shm::EngineStats>> rows;
        for (size_t i = 0; i < s.workers.size(); ++i)
            rows.emplace_back(worker_ids[i], s.workers[i].engine);
        rows.emplace_back("controlplane", s.controlplane_engine);
        counter_families(e, "fulmar_engine_", "worker", rows);
    }
    e.family("fulmar_worker_drops_total", "counter",
             "frames not answered, by reason (dataplane/net/classify.h)");
    for (size_t i = 0; i < s.workers.size(); ++i)
        for (const auto& [reason, v] : s.workers[i].drops)
            e.sample({{"worker", worker_ids[i]}, {"reason", reason}}, v);
    e.family("fulmar_owner_inbox_depth", "gauge",
             "messages waiting in the owner worker's inbox ring (fm_inbox<worker>)");
    for (size_t i = 0; i < s.workers.size(); ++i)
        e.sample({{"worker", worker_ids[i]}}, s.workers[i].inbox_depth);

    // ---- per shard ----
    std::vector<std::string> shard_ids;
    for (const MetricsShard& sh : s.shards)
        shard_ids.push_back(std::to_string(sh.id));
    {
        std::vector<std::pair<std::string, shm::ShardStats>> rows;
        for (size_t i = 0; i < s.shards.size(); ++i)
            rows.emplace_back(shard_ids[i], s.shards[i].stats);
        counter_families(e, "fulmar_shard_", "shard", rows);
    }
    struct ShardGauge {
        std::string_view name;
        std::string_view help;
        uint64_t (*get)(const MetricsShard&);
    };
    static constexpr ShardGauge kShardGauges[] = {
        {"fulmar_shard_items", "items in the shard's index",
         [](const MetricsShard& x) { return x.items; }},
        {"fulmar_shard_pages", "1 MiB item pages of the shard",
         [](const MetricsShard& x) -> uint64_t { return x.pages; }},
        {"fulmar_shard_free_pages", "pages no slab class holds yet",
         [](const MetricsShard& x) -> uint64_t { return x.free_pages; }},
        {"fulmar_shard_memory_bytes", "item memory of the shard",
         [](const MetricsShard& x) -> uint64_t { return uint64_t{x.pages} << 20; }},
        {"fulmar_shard_index_slots", "slots of the shard's rte_hash index",
         [](const MetricsShard& x) { return x.index_slots; }},
    };
    for (const ShardGauge& g : kShardGauges) {
        e.family(g.name, "gauge", g.help);
        for (size_t i = 0; i < s.shards.size(); ++i)
            e.sample({{"shard", shard_ids[i]}}, g.get(s.shards[i]));
    }

    // ---- slab classes (those that hold a page or evicted) ----
    struct SlabFamily {
        std::string_view name;
        std::string_view type;
        std::string_view help;
        uint64_t (*get)(const MetricsSlabClass&);
    };
    static constexpr SlabFamily kSlabFamilies[] = {
        {"fulmar_slab_chunk_size_bytes", "gauge", "chunk size of the slab class",
         [](const MetricsSlabClass& c) -> uint64_t { return c.chunk_size; }},
        {"fulmar_slab_pages", "gauge", "1 MiB pages the class holds",
         [](const MetricsSlabClass& c) -> uint64_t { return c.pages; }},
        {"fulmar_slab_live_items", "gauge", "chunks holding an item",
         [](const MetricsSlabClass& c) { return c.live; }},
        {"fulmar_slab_free_chunks", "gauge", "chunks on the class's free list",
         [](const MetricsSlabClass& c) -> uint64_t { return c.free; }},
        {"fulmar_slab_evictions_total", "counter", "live items the class evicted for memory",
         [](const MetricsSlabClass& c) { return c.evictions; }},
    };
    for (const SlabFamily& f : kSlabFamilies) {
        e.family(f.name, f.type, f.help);
        for (size_t i = 0; i < s.shards.size(); ++i) {
            for (const MetricsSlabClass& c : s.shards[i].classes) {
                const std::string cls = std::to_string(c.class_id);
                e.sample({{"shard", shard_ids[i]}, {"class", cls}}, f.get(c));
            }
        }
    }

    // ---- the control plane's channel to the owners ----
    e.single("fulmar_controlplane_requests_inflight", "gauge",
             "control-plane requests at the owner workers", s.channel.inflight);
    e.single("fulmar_controlplane_requests_backlog", "gauge",
             "control-plane requests waiting for room in an inbox or under max_inflight",
             s.channel.backlog);
    e.single("fulmar_controlplane_arena_used_bytes", "gauge",
             "request arena bytes held by requests at the owners", s.channel.arena_bytes_used);
    e.single("fulmar_controlplane_arena_size_bytes", "gauge", "request arena size",
             s.channel.arena_bytes);

    // ---- the TTL sweep pacer (counters: fulmar_shard_sweep_*_total) ----
    if (!s.sweep.empty()) {
        e.family("fulmar_sweep_goal_ratio", "gauge",
                 "share of TTL'd items the pacer allows expired but resident");
        e.sample_real({}, s.sweep_goal_ratio);
        struct SweepGauge {
            std::string_view name;
            std::string_view help;
            double (*get)(const MetricsSweep&);
        };
        static constexpr SweepGauge kSweepGauges[] = {
            {"fulmar_sweep_ttl_items", "items with a TTL in the shard",
             [](const MetricsSweep& x) { return static_cast<double>(x.ttl_items); }},
            {"fulmar_sweep_expired_estimate_items",
             "items with a TTL expired but still resident, as the pacer estimates",
             [](const MetricsSweep& x) { return x.expired_estimate; }},
            {"fulmar_sweep_expired_ratio", "the estimate's share of the items with a TTL",
             [](const MetricsSweep& x) { return x.expired_ratio; }},
            {"fulmar_sweep_rate_chunks_per_second", "chunks per second the pacer has swept",
             [](const MetricsSweep& x) { return x.rate; }},
            {"fulmar_sweep_cpu_ratio", "share of the owner's core its sweep steps took (last s)",
             [](const MetricsSweep& x) { return x.cpu_ratio; }},
        };
        for (const SweepGauge& g : kSweepGauges) {
            e.family(g.name, "gauge", g.help);
            for (const MetricsSweep& w : s.sweep)
                e.sample_real({{"shard", std::to_string(w.shard)}}, g.get(w));
        }
    }

    // ---- memcached over TCP ----
    if (s.tcp) {
        const MetricsTcp& t = *s.tcp;
        e.single("fulmar_tcp_connections", "gauge", "open memcached TCP connections",
                 t.curr_connections);
        e.single("fulmar_tcp_connections_total", "counter", "memcached TCP connections accepted",
                 t.total_connections);
        e.single("fulmar_tcp_rejected_connections_total", "counter",
                 "connections closed at once: max_connections reached", t.rejected_connections);
        e.single("fulmar_tcp_slow_reader_closed_total", "counter",
                 "connections closed past output_buffer_limit_mb", t.slow_reader_closed);
        e.single("fulmar_tcp_idle_closed_total", "counter",
                 "connections closed past idle_timeout_s", t.idle_closed);
        e.single("fulmar_tcp_backpressure_waits_total", "counter",
                 "times a connection stopped reading (owners busy)", t.waits);
    }

    // ---- memcached over UDP, requests that came as IP fragments ----
    if (s.udp) {
        for_each_counter(*s.udp, [&](std::string_view name, std::string_view help, uint64_t v) {
            e.single(fmt::format("fulmar_cp_udp_{}_total", name), "counter", help, v);
        });
    }
    return e.take();
}

}  // namespace fulmar::controlplane
