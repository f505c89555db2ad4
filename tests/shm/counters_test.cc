// Every counter declared in shm/counters.h reaches every exporter: DPDK
// telemetry (/fulmar/stats, /fulmar/shards), the exit summary and memcached
// `stats`; and `stats` run on one lcore reports every lcore's counters.
#include "shm/counters.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "engine/engine_ctx.h"
#include "engine/engine_stats.h"
#include "engine/mc_session.h"
#include "net/classify.h"
#include "proto/reply_sink.h"
#include "shm/layout.h"
#include "shm/totals.h"
#include "store/shard.h"
#include "telemetry.h"

namespace fulmar {
namespace {

std::map<std::string, uint64_t> totals(const shm::DataplaneShm& dp) {
    std::map<std::string, uint64_t> m;
    dataplane::for_each_total(dp, [&](std::string_view k, uint64_t v) {
        EXPECT_TRUE(m.emplace(std::string(k), v).second) << "exported twice: " << k;
    });
    return m;
}

// A slot whose every counter holds a distinct value, so a test can tell
// which one an exporter read.
void fill_distinct(shm::LcoreStats& s, uint64_t base) {
    uint64_t v = base;
#define FILL(name, desc) s.worker.name = ++v;
    FULMAR_WORKER_COUNTERS(FILL)
#undef FILL
#define FILL(name, desc) s.engine.name = ++v;
    FULMAR_ENGINE_COUNTERS(FILL)
#undef FILL
    for (auto& d : s.drops)
        d = ++v;
}

TEST(Counters, TelemetryExportsEveryWorkerEngineAndDropCounterSummedOverLcores) {
    auto dp = std::make_unique<shm::DataplaneShm>();
    dp->n_workers = 2;
    fill_distinct(dp->lcores[0], 0);
    fill_distinct(dp->lcores[1], 1000);
    const auto m = totals(*dp);
    EXPECT_EQ(m.size(),
              shm::kWorkerCounterCount + shm::kEngineCounterCount + net::kDropReasonCount);
#define CHECK_W(name, desc) \
    EXPECT_EQ(m.at(#name), dp->lcores[0].worker.name + dp->lcores[1].worker.name) << #name;
    FULMAR_WORKER_COUNTERS(CHECK_W)
#undef CHECK_W
#define CHECK_E(name, desc) \
    EXPECT_EQ(m.at(#name), dp->lcores[0].engine.name + dp->lcores[1].engine.name) << #name;
    FULMAR_ENGINE_COUNTERS(CHECK_E)
#undef CHECK_E
    for (size_t r = 0; r < net::kDropReasonCount; ++r) {
        const std::string name =
            std::string("drop_") + net::drop_reason_name(static_cast<net::DropReason>(r));
        EXPECT_EQ(m.at(name), dp->lcores[0].drops[r] + dp->lcores[1].drops[r]) << name;
    }
    // Lcores past n_workers are not counted.
    dp->lcores[2].worker.rx_packets = 1'000'000;
    EXPECT_EQ(totals(*dp).at("rx_packets"), m.at("rx_packets"));
}

TEST(Counters, ShardTelemetryExportsEveryShardCounter) {
    store::ShardConfig sc;
    sc.name = "counters_test_shard";
    sc.memory_bytes = 2 << 20;
    auto s = store::Shard::create(sc);
    ASSERT_TRUE(s.ok());
    auto& stats = const_cast<shm::ShardStats&>(s.value()->view().stats());
    uint64_t v = 100;
#define FILL(name, desc) stats.name = ++v;
    FULMAR_SHARD_COUNTERS(FILL)
#undef FILL
    std::map<std::string, uint64_t> m;
    dataplane::for_each_shard_figure(s.value()->view(), [&](std::string_view k, uint64_t x) {
        EXPECT_TRUE(m.emplace(std::string(k), x).second) << "exported twice: " << k;
    });
#define CHECK_S(name, desc) EXPECT_EQ(m.at(#name), stats.name) << #name;
    FULMAR_SHARD_COUNTERS(CHECK_S)
#undef CHECK_S
    EXPECT_EQ(m.at("pages"), 2u);
    EXPECT_EQ(m.at("free_pages"), 2u);
    EXPECT_EQ(m.at("items"), 0u);
    EXPECT_GT(m.at("index_slots"), 0u);
}

struct StatsFixture : ::testing::Test {
    void SetUp() override {
        store::ShardConfig sc;
        sc.name = "counters_stats_shard";
        sc.memory_bytes = 2 << 20;
        auto s = store::Shard::create(sc);
        ASSERT_TRUE(s.ok());
        shard = std::move(s.value());
        ptrs = {shard.get()};
        dp = std::make_unique<shm::DataplaneShm>();
        dp->n_workers = 2;
        scratch.resize(store::kMaxItemSize);
        ctx.shards = ptrs;
        ctx.clock = &clock;
        ctx.scratch = scratch;
        ctx.started = clock.now();
        ctx.own_shard = 0;
        ctx.stats = &dp->lcores[0].engine;
        ctx.shared = dp.get();
    }
    std::map<std::string, std::string> stats() {
        engine::McSession session(ctx);
        proto::StringSink sink;
        session.feed("stats\r\n", sink);
        std::map<std::string, std::string> m;
        size_t pos = 0;
        while (true) {
            const size_t eol = sink.out.find("\r\n", pos);
            if (eol == std::string::npos) break;
            const std::string line = sink.out.substr(pos, eol - pos);
            pos = eol + 2;
            if (line.rfind("STAT ", 0) != 0) continue;
            const size_t sp = line.find(' ', 5);
            m[line.substr(5, sp - 5)] = line.substr(sp + 1);
        }
        return m;
    }
    ManualClock clock{1'700'000'000};
    std::unique_ptr<store::Shard> shard;
    std::vector<store::Shard*> ptrs;
    std::unique_ptr<shm::DataplaneShm> dp;
    std::vector<char> scratch;
    engine::EngineCtx ctx;
};

TEST_F(StatsFixture, McStatsReportsEveryEngineCounterOverEveryLcore) {
    fill_distinct(dp->lcores[0], 0);
    fill_distinct(dp->lcores[1], 5000);
    const auto m = stats();
#define CHECK_E(name, desc)                                                                       \
    EXPECT_EQ(m.at(#name), std::to_string(dp->lcores[0].engine.name + dp->lcores[1].engine.name)) \
        << #name;
    FULMAR_ENGINE_COUNTERS(CHECK_E)
#undef CHECK_E
}

TEST_F(StatsFixture, StatsResetZeroesEveryLcoreWithoutWritingTheirCounters) {
    dp->lcores[1].engine.get_hits = 40;
    dp->lcores[0].engine.get_hits = 2;
    engine::McSession session(ctx);
    proto::StringSink sink;
    session.feed("stats reset\r\n", sink);
    EXPECT_EQ(sink.out, "RESET\r\n");
    EXPECT_EQ(dp->lcores[1].engine.get_hits, 40u);  // one writer per counter
    EXPECT_EQ(stats().at("get_hits"), "0");
    dp->lcores[1].engine.get_hits += 3;
    EXPECT_EQ(stats().at("get_hits"), "3");
}

}  // namespace
}  // namespace fulmar
