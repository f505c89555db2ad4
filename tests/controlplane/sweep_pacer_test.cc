// The TTL sweep pacer's control law (controlplane/sweep_pacer.h), driven by
// hand: time and cycles are given, and a simulated shard (a ring of chunks,
// every item with a TTL, each reclaimed item stored again with a new TTL)
// answers the steps as Shard::sweep would.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "sweep_pacer.h"

namespace fulmar::controlplane {
namespace {

constexpr uint64_t kTscHz = 1'000'000'000;
constexpr uint32_t kChunksPerPage = 1000;

SweepPacerConfig config(double goal = 0.01, double max_cpu = 0.05) {
    return SweepPacerConfig{.goal = goal, .max_cpu = max_cpu, .tsc_hz = kTscHz};
}

// A shard whose every chunk holds an item with a TTL: an item the sweep
// frees is stored again at once, expiring 5-10 s later (a steady expiry
// stream of size / 7.5 items per second).
struct SimShard {
    std::vector<double> exptime;
    size_t cursor = 0;
    double cycles_per_chunk;
    std::mt19937 rng{7};

    SimShard(size_t chunks, double cpc, double now) : exptime(chunks), cycles_per_chunk(cpc) {
        for (double& e : exptime)
            e = now + ttl();
    }
    double ttl() { return std::uniform_real_distribution<double>(5, 10)(rng); }

    SweepReport step(uint32_t budget, double now) {
        SweepReport r;
        r.n_pages = static_cast<uint32_t>(exptime.size() / kChunksPerPage);
        r.pages_used = r.n_pages;
        for (uint32_t i = 0; i < budget; ++i) {
            ++r.chunks;
            ++r.ttl_seen;
            if (exptime[cursor] <= now) {
                ++r.reclaimed;
                exptime[cursor] = now + ttl();
            }
            if (++cursor == exptime.size()) cursor = 0;
            if (cursor % kChunksPerPage == 0) ++r.pages_done;
        }
        r.ttl_items = exptime.size();
        r.cycles = static_cast<uint64_t>(r.chunks * cycles_per_chunk);
        // Partway through a page that is due (one of its items expired).
        const size_t page = cursor / kChunksPerPage * kChunksPerPage;
        r.mid_page = cursor != page &&
                     std::any_of(exptime.begin() + static_cast<ptrdiff_t>(page),
                                 exptime.begin() + static_cast<ptrdiff_t>(page + kChunksPerPage),
                                 [&](double e) { return e <= now; });
        return r;
    }
    double expired_share(double now) const {
        const auto n =
            std::count_if(exptime.begin(), exptime.end(), [&](double e) { return e <= now; });
        return static_cast<double>(n) / static_cast<double>(exptime.size());
    }
};

// Runs the pacer against `shard` from `from` to `to` seconds in 1 ms ticks
// (a step is answered in the tick it is sent); calls `each_100ms(now)`.
template <typename F>
void run(SweepPacer& p, SimShard& shard, double from, double to, F&& each_100ms) {
    int tick = 0;
    for (double now = from; now < to; now += 0.001, ++tick) {
        if (const uint32_t budget = p.next_step(0, now))
            p.on_reply(0, shard.step(budget, now), now);
        if (tick % 100 == 0) each_100ms(now);
    }
}

TEST(SweepPacer, StepsAtLeastEveryHundredMillisecondsAtTheMinimumRate) {
    SweepPacer p(config(), 1);
    SimShard shard(100'000, 20, 0);  // nothing expires in the first 5 s
    int steps = 0;
    for (double now = 0; now < 2.0; now += 0.001) {
        if (const uint32_t budget = p.next_step(0, now)) {
            EXPECT_GE(budget, SweepPacer::kMinStepChunks);
            p.on_reply(0, shard.step(budget, now), now);
            ++steps;
        }
    }
    // kMinRate is one kMinStepChunks step per kMaxStepInterval: the owners'
    // fallback (after 1 s without a step) never starts.
    EXPECT_GE(steps, 19);
    EXPECT_LE(steps, 22);
    EXPECT_DOUBLE_EQ(p.shard(0).rate, SweepPacer::kMinRate);
    EXPECT_EQ(p.shard(0).expired_share, 0);
}

TEST(SweepPacer, OneStepInFlightPerShard) {
    SweepPacer p(config(), 2);
    const uint32_t a = p.next_step(0, 0);
    ASSERT_NE(a, 0u);
    EXPECT_EQ(p.next_step(0, 0.5), 0u);  // still waiting for the owner
    EXPECT_NE(p.next_step(1, 0.5), 0u);  // another shard is not held up
    p.on_not_sent(0, a);
    EXPECT_NE(p.next_step(0, 0.5), 0u);
}

TEST(SweepPacer, RateRisesWhileAboveTheGoalAndFallsBelowIt) {
    SweepPacer p(config(), 1);
    double now = 0;
    // A step every control period (a little over, so that floating point
    // never makes one come early).
    auto answer = [&](uint32_t reclaimed, uint32_t seen) {
        for (int i = 0; i < 3; ++i, now += SweepPacer::kControlPeriod * 1.01) {
            const uint32_t budget = p.next_step(0, now);
            if (budget == 0) continue;
            p.on_reply(0,
                       SweepReport{.chunks = budget,
                                   .pages_done = 1,
                                   .ttl_seen = seen,
                                   .reclaimed = reclaimed,
                                   .n_pages = 64,
                                   .cycles = budget * 10ull,
                                   .ttl_items = 100'000},
                       now);
        }
    };
    answer(0, 1000);
    const double low = p.shard(0).rate;
    EXPECT_DOUBLE_EQ(low, SweepPacer::kMinRate);
    answer(100, 1000);                    // 10% expired: far above the goal
    EXPECT_GE(p.shard(0).rate, 4 * low);  // x2 per control period
    EXPECT_GT(p.shard(0).expired_share, 0.01);
    EXPECT_NEAR(p.shard(0).expired_estimate(), p.shard(0).expired_share * 100'000, 1e-6);
    // Nothing found from now on: the rate goes on rising while the estimate
    // (1 s memory) stays above the goal, then falls back to the minimum.
    double high = 0;
    for (int i = 0; i < 60; ++i) {
        answer(0, 1000);
        high = std::max(high, p.shard(0).rate);
    }
    EXPECT_GT(high, 100 * low);
    EXPECT_LT(p.shard(0).expired_share, 0.01 / 8);
    EXPECT_DOUBLE_EQ(p.shard(0).rate, SweepPacer::kMinRate);
}

TEST(SweepPacer, TheShareIsAmongTheItemsOnDuePagesAndZeroAfterAWholeRound) {
    SweepPacer p(config(), 1);
    uint32_t budget = p.next_step(0, 0);
    // 10 expired among 100 TTL'd items on the due page scanned; the 99
    // pages passed over are not in the sample.
    p.on_reply(0,
               SweepReport{.chunks = budget,
                           .pages_skipped = 99,
                           .pages_done = 60,
                           .ttl_seen = 100,
                           .reclaimed = 10,
                           .pages_used = 100,
                           .n_pages = 128,
                           .cycles = 1000,
                           .ttl_items = 9'990},
               0);
    EXPECT_NEAR(p.shard(0).expired_share, 0.1, 1e-9);
    EXPECT_NEAR(p.shard(0).expired_estimate(), 999, 1e-6);
    // The next step went round every page: nothing expired is left.
    budget = p.next_step(0, 0.2);
    ASSERT_NE(budget, 0u);
    p.on_reply(0,
               SweepReport{.chunks = budget,
                           .pages_done = 128,
                           .ttl_seen = 50,
                           .reclaimed = 5,
                           .pages_used = 100,
                           .n_pages = 128,
                           .ttl_items = 9'985},
               0.2);
    EXPECT_EQ(p.shard(0).expired_share, 0);
}

TEST(SweepPacer, NoTtlItemsMeansNothingExpired) {
    SweepPacer p(config(), 1);
    const uint32_t budget = p.next_step(0, 0);
    p.on_reply(0, SweepReport{.chunks = budget, .ttl_seen = 50, .reclaimed = 50, .n_pages = 4}, 0);
    EXPECT_EQ(p.shard(0).expired_share, 0);
    EXPECT_EQ(p.shard(0).expired_estimate(), 0);
}

TEST(SweepPacer, HoldsTheExpiredShareUnderTheGoalOnASteadyExpiryStream) {
    SweepPacer p(config(), 1);
    SimShard shard(100'000, 20, 0);  // 13,300 expiries per second from t = 5 s
    double worst = 0, worst_estimate = 0;
    run(p, shard, 0, 20, [&](double now) {
        if (now < 8) return;  // expiries start at 5 s; the rate climbs in < 1 s
        worst = std::max(worst, shard.expired_share(now));
        worst_estimate = std::max(worst_estimate, p.shard(0).expired_share);
    });
    EXPECT_LT(worst, 0.01);
    EXPECT_LT(worst_estimate, 0.02);
    EXPECT_LT(p.shard(0).cpu_share, 0.05);
    EXPECT_GT(p.shard(0).rate, 100'000);  // well above the minimum
}

// Redis's "actively expire keys incrementally": three keys among thousands
// of free chunks of one large due page. The expired share reads 0 until the
// sweep reaches them, so only the time spent on the page raises the rate:
// the page (64 steps of the minimum rate, 6.4 s) is done within a second.
TEST(SweepPacer, ALargeDuePageIsFinishedWithinASecond) {
    SweepPacer p(config(), 1);
    constexpr uint32_t kPage = 16384;
    uint32_t at = 0;
    double done = -1;
    for (double now = 0; now < 10 && done < 0; now += 0.001) {
        const uint32_t budget = p.next_step(0, now);
        if (budget == 0) continue;
        SweepReport r;
        r.n_pages = 64;
        r.pages_used = 1;
        r.ttl_items = 3;
        const uint32_t n = std::min(budget, kPage - at);
        r.chunks = n;
        at += n;
        r.cycles = n * 20ull;
        if (at == kPage) {
            r.ttl_seen = r.reclaimed = 3;
            r.pages_done = 1;
            done = now;
        } else {
            r.mid_page = true;
        }
        p.on_reply(0, r, now);
    }
    ASSERT_GE(done, 0);
    EXPECT_LT(done, 1.0);
    // Once off the page nothing holds the rate up: it falls back.
    for (double now = done; now < done + 30; now += 0.001)
        if (const uint32_t budget = p.next_step(0, now)) {
            SweepReport r;
            r.n_pages = 64;
            r.pages_done = std::min<uint32_t>(budget, 64);
            r.pages_skipped = r.pages_done;
            p.on_reply(0, r, now);
        }
    EXPECT_DOUBLE_EQ(p.shard(0).rate, SweepPacer::kMinRate);
}

TEST(SweepPacer, NeverTakesMoreThanTheCpuCap) {
    // Steps ten times as costly: the cap (5% of 1 GHz = 50 M cycles/s at
    // 200 cycles a chunk = 250 k chunks/s) binds before the goal is met.
    SweepPacer p(config(), 1);
    SimShard shard(100'000, 200, 0);
    uint64_t cycles_before = 0;
    double worst_cpu = 0;
    run(p, shard, 0, 20, [&](double now) {
        if (now < 6 || static_cast<int>(now * 10 + 0.5) % 10 != 0) return;
        // Cycles the owner spent over the last second.
        const uint64_t c = p.shard(0).cycles;
        worst_cpu = std::max(worst_cpu, static_cast<double>(c - cycles_before) / kTscHz);
        cycles_before = c;
    });
    EXPECT_LE(worst_cpu, 0.05 * (1 + SweepPacer::kBucketSeconds) + 0.001);
    EXPECT_GT(worst_cpu, 0.04);                 // and it does use what it may
    EXPECT_GT(p.shard(0).expired_share, 0.01);  // it says the goal is missed
}

TEST(SweepPacer, AFullPassRunsBackToBackStepsOutsideTheCap) {
    SweepPacer p(config(0.01, 0.0), 1);  // no pacing: only the pass steps
    SimShard shard(100'000, 20, 0);      // 100 pages
    EXPECT_EQ(p.next_step(0, 0), 0u);
    p.start_full_pass();
    EXPECT_TRUE(p.full_pass_running());
    int steps = 0;
    while (p.full_pass_running() && steps < 100) {
        const uint32_t budget = p.next_step(0, 0);
        ASSERT_EQ(budget, SweepPacer::kMaxStepChunks);
        p.on_reply(0, shard.step(budget, 10), 0);  // at t = 10 s every item has expired
        ++steps;
    }
    EXPECT_FALSE(p.full_pass_running());
    // 101 pages (the one under the cursor may be partway) of 1,000 chunks.
    EXPECT_EQ(steps, 7);
    EXPECT_GE(p.shard(0).pass_reclaimed, 100'000u);
    EXPECT_EQ(p.shard(0).pass_steps, 7u);
}

}  // namespace
}  // namespace fulmar::controlplane
