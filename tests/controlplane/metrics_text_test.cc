// The Prometheus text of /metrics: well-formed 0.0.4 exposition, one family
// per counter of every shm/counters.h list, labels, and values in place.
#include <gtest/gtest.h>

#include <map>
// GCC 12 under ASan at -O2 misreads std::regex's std::function members as
// maybe-uninitialized (a known false positive); this file only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "metrics_text.h"

namespace fulmar::controlplane {
namespace {

MetricsSnapshot two_workers() {
    MetricsSnapshot s;
    s.uptime_s = 42;
    for (uint32_t w = 0; w < 2; ++w) {
        MetricsWorker mw;
        mw.id = w;
        mw.worker.rx_packets = 100 + w;
        mw.engine.cmd_get = 10 * (w + 1);
        mw.drops = {{"not_ipv4", 3 + w}, {"bad_ihl", 0}};
        mw.inbox_depth = 7;
        s.workers.push_back(mw);
        MetricsShard sh;
        sh.id = w;
        sh.stats.evictions = 5;
        sh.items = 1000 + w;
        sh.pages = 32;
        sh.free_pages = 30;
        sh.classes.push_back(
            {.class_id = 3, .chunk_size = 240, .pages = 2, .live = 9, .free = 4, .evictions = 1});
        s.shards.push_back(sh);
    }
    s.controlplane_engine.cmd_get = 4;
    s.channel = {.inflight = 1, .backlog = 2, .arena_bytes_used = 64, .arena_bytes = 1 << 20};
    s.tcp = MetricsTcp{.curr_connections = 3, .total_connections = 9};
    s.sweep_goal_ratio = 0.01;
    s.sweep.push_back({.shard = 0,
                       .ttl_items = 2000,
                       .expired_estimate = 12.5,
                       .expired_ratio = 0.00625,
                       .rate = 2560,
                       .cpu_ratio = 1.5e-05});
    s.sweep.push_back({.shard = 1});
    return s;
}

std::map<std::string, std::string> samples(const std::string& text) {
    std::map<std::string, std::string> m;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        const size_t sp = line.rfind(' ');
        m[line.substr(0, sp)] = line.substr(sp + 1);
    }
    return m;
}

TEST(MetricsText, EveryLineIsWellFormedAndEachFamilyIsDeclaredOnceBeforeItsSamples) {
    const std::string text = render_metrics(two_workers());
    const std::regex help(R"(# HELP (fulmar_[a-z0-9_]+) .+)");
    const std::regex type(R"(# TYPE (fulmar_[a-z0-9_]+) (counter|gauge))");
    const std::regex sample(
        R"((fulmar_[a-z0-9_]+)(\{[a-z_]+="[^"\\]*"(,[a-z_]+="[^"\\]*")*\})? -?\d+(\.\d+)?(e[-+]\d+)?)");
    std::set<std::string> declared;
    std::string current, current_type;
    std::istringstream in(text);
    std::string line;
    std::smatch m;
    while (std::getline(in, line)) {
        if (std::regex_match(line, m, help)) {
            EXPECT_TRUE(declared.insert(m[1]).second) << "declared twice: " << m[1];
            current = m[1];
        } else if (std::regex_match(line, m, type)) {
            EXPECT_EQ(m[1], current);
            current_type = m[2];
            if (current_type == "counter") {
                EXPECT_TRUE(current.ends_with("_total")) << current;
            }
        } else {
            ASSERT_TRUE(std::regex_match(line, m, sample)) << "not a sample: " << line;
            EXPECT_EQ(m[1], current) << line;
        }
    }
    EXPECT_TRUE(text.ends_with("\n"));
}

TEST(MetricsText, ExportsEveryCounterOfEveryList) {
    const std::string text = render_metrics(two_workers());
    auto has_family = [&](const std::string& name) {
        return text.find("# TYPE " + name + " counter\n") != std::string::npos;
    };
    size_t n = 0;
    shm::for_each_counter(shm::WorkerStats{}, [&](std::string_view c, std::string_view, uint64_t) {
        EXPECT_TRUE(has_family("fulmar_worker_" + std::string(c) + "_total")) << c;
        ++n;
    });
    shm::for_each_counter(shm::EngineStats{}, [&](std::string_view c, std::string_view, uint64_t) {
        EXPECT_TRUE(has_family("fulmar_engine_" + std::string(c) + "_total")) << c;
        ++n;
    });
    shm::for_each_counter(shm::ShardStats{}, [&](std::string_view c, std::string_view, uint64_t) {
        EXPECT_TRUE(has_family("fulmar_shard_" + std::string(c) + "_total")) << c;
        ++n;
    });
    EXPECT_EQ(n, shm::kWorkerCounterCount + shm::kEngineCounterCount + shm::kShardCounterCount);
}

TEST(MetricsText, ValuesCarryTheirWorkerShardAndClassLabels) {
    const auto m = samples(render_metrics(two_workers()));
    EXPECT_EQ(m.at("fulmar_uptime_seconds"), "42");
    EXPECT_EQ(m.at(R"(fulmar_worker_rx_packets_total{worker="1"})"), "101");
    EXPECT_EQ(m.at(R"(fulmar_engine_cmd_get_total{worker="0"})"), "10");
    EXPECT_EQ(m.at(R"(fulmar_engine_cmd_get_total{worker="controlplane"})"), "4");
    EXPECT_EQ(m.at(R"(fulmar_worker_drops_total{worker="1",reason="not_ipv4"})"), "4");
    EXPECT_EQ(m.at(R"(fulmar_owner_inbox_depth{worker="0"})"), "7");
    EXPECT_EQ(m.at(R"(fulmar_shard_evictions_total{shard="1"})"), "5");
    EXPECT_EQ(m.at(R"(fulmar_shard_items{shard="1"})"), "1001");
    EXPECT_EQ(m.at(R"(fulmar_shard_memory_bytes{shard="0"})"), std::to_string(32u << 20));
    EXPECT_EQ(m.at(R"(fulmar_slab_chunk_size_bytes{shard="0",class="3"})"), "240");
    EXPECT_EQ(m.at(R"(fulmar_slab_evictions_total{shard="1",class="3"})"), "1");
    EXPECT_EQ(m.at("fulmar_controlplane_requests_backlog"), "2");
    EXPECT_EQ(m.at("fulmar_tcp_connections"), "3");
    EXPECT_EQ(m.at("fulmar_tcp_connections_total"), "9");
}

TEST(MetricsText, SweepGaugesCarryThePacersEstimateAndRatePerShard) {
    const auto m = samples(render_metrics(two_workers()));
    EXPECT_EQ(m.at("fulmar_sweep_goal_ratio"), "0.01");
    EXPECT_EQ(m.at(R"(fulmar_sweep_ttl_items{shard="0"})"), "2000");
    EXPECT_EQ(m.at(R"(fulmar_sweep_expired_estimate_items{shard="0"})"), "12.5");
    EXPECT_EQ(m.at(R"(fulmar_sweep_expired_ratio{shard="0"})"), "0.00625");
    EXPECT_EQ(m.at(R"(fulmar_sweep_rate_chunks_per_second{shard="0"})"), "2560");
    EXPECT_EQ(m.at(R"(fulmar_sweep_cpu_ratio{shard="0"})"), "1.5e-05");
    EXPECT_EQ(m.at(R"(fulmar_sweep_expired_ratio{shard="1"})"), "0");
    MetricsSnapshot none = two_workers();
    none.sweep.clear();
    EXPECT_EQ(render_metrics(none).find("fulmar_sweep_"), std::string::npos);
}

TEST(MetricsText, TcpFamiliesAreAbsentWhenMemcachedTcpIsOff) {
    MetricsSnapshot s = two_workers();
    s.tcp.reset();
    EXPECT_EQ(render_metrics(s).find("fulmar_tcp_"), std::string::npos);
}

}  // namespace
}  // namespace fulmar::controlplane
