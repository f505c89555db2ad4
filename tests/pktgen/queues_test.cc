// --queues: key slices, shares of the totals, per-queue plans, per-slice key
// versions, and the merged report of several instances.
#include "queues.h"

#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <vector>

#include "workload.h"
#include "zipf.h"

namespace fulmar::pktgen {
namespace {

TEST(Queues, KeySlicesAreDisjointAndCoverEveryKey) {
    for (uint64_t n : {1ull, 7ull, 10ull, 1000ull, 1'000'000ull, 4'294'967'295ull}) {
        for (uint32_t queues : {1u, 2u, 3u, 4u, 7u, 8u, 16u, 64u}) {
            if (n < queues) continue;
            uint64_t next = 0;
            uint32_t lo = UINT32_MAX, hi = 0;
            for (uint32_t q = 0; q < queues; q++) {
                const KeySlice s = key_slice(n, queues, q);
                ASSERT_EQ(s.first, next) << n << " keys, queue " << q << "/" << queues;
                ASSERT_GE(s.count, 1u);
                next += s.count;
                lo = std::min(lo, s.count);
                hi = std::max(hi, s.count);
            }
            EXPECT_EQ(next, n) << n << " keys over " << queues;
            EXPECT_LE(hi - lo, 1u) << n << " keys over " << queues;
        }
    }
}

TEST(Queues, TenKeysOverThree) {
    EXPECT_EQ(key_slice(10, 3, 0).first, 0u);
    EXPECT_EQ(key_slice(10, 3, 0).count, 3u);
    EXPECT_EQ(key_slice(10, 3, 1).first, 3u);
    EXPECT_EQ(key_slice(10, 3, 1).count, 3u);
    EXPECT_EQ(key_slice(10, 3, 2).first, 6u);
    EXPECT_EQ(key_slice(10, 3, 2).count, 4u);
}

TEST(Queues, SharesAddUpToTheTotal) {
    for (uint32_t total : {0u, 1u, 7u, 64u, 256u, 1000u, 65535u}) {
        for (uint32_t n : {1u, 2u, 3u, 8u, 16u}) {
            uint32_t sum = 0;
            for (uint32_t i = 0; i < n; i++) {
                const uint32_t s = share(total, n, i);
                EXPECT_TRUE(s == total / n || s == total / n + 1);
                sum += s;
            }
            EXPECT_EQ(sum, total) << total << " over " << n;
        }
    }
    EXPECT_EQ(share(10, 4, 0), 3u);  // the remainder goes to the first
    EXPECT_EQ(share(10, 4, 1), 3u);
    EXPECT_EQ(share(10, 4, 2), 2u);
}

TEST(Queues, PlansSplitTheTotals) {
    Options o;
    o.queues = 4;
    o.workload.n_keys = 1'000'000;
    o.workload.seed = 7;
    o.src_port = 40000;
    o.rate = 2e6;
    o.window = 258;
    o.preload_window = 1024;
    double rate = 0;
    uint32_t window = 0, preload_window = 0;
    std::set<uint64_t> seeds;
    for (uint32_t q = 0; q < o.queues; q++) {
        const QueuePlan p = plan_queue(o, q);
        EXPECT_EQ(p.queue, q);
        EXPECT_EQ(p.src_port, 40000 + q);
        EXPECT_EQ(p.keys.first, 250'000 * q);
        EXPECT_EQ(p.keys.count, 250'000u);
        rate += p.rate;
        window += p.window;
        preload_window += p.preload_window;
        seeds.insert(p.seed);
    }
    EXPECT_DOUBLE_EQ(rate, 2e6);
    EXPECT_EQ(window, 258u);
    EXPECT_EQ(preload_window, 1024u);
    EXPECT_EQ(seeds.size(), 4u);
    // One queue: exactly the options, as before --queues existed.
    o.queues = 1;
    const QueuePlan one = plan_queue(o, 0);
    EXPECT_EQ(one.keys.first, 0u);
    EXPECT_EQ(one.keys.count, 1'000'000u);
    EXPECT_EQ(one.src_port, 40000);
    EXPECT_DOUBLE_EQ(one.rate, 2e6);
    EXPECT_EQ(one.window, 258u);
    EXPECT_EQ(one.seed, 7u);
}

TEST(Queues, OpenLoopWithoutACapStaysUncapped) {
    Options o;
    o.queues = 3;
    o.rate = 3e6;
    o.window = 0;
    for (uint32_t q = 0; q < 3; q++) {
        EXPECT_EQ(plan_queue(o, q).window, 0u);
        EXPECT_DOUBLE_EQ(plan_queue(o, q).rate, 1e6);
    }
}

TEST(Queues, KeyVersionsOfASliceIndexByTheGlobalKey) {
    KeyVersions v(1000, 10);  // keys 1000..1009
    EXPECT_EQ(v.sent(1000), 0u);
    EXPECT_EQ(v.next(1000), 1u);
    EXPECT_EQ(v.next(1009), 1u);
    EXPECT_EQ(v.next(1009), 2u);
    v.ack(1009, 2);
    v.ack(1009, 1);  // older: ignored
    EXPECT_EQ(v.sent(1009), 2u);
    EXPECT_EQ(v.acked(1009), 2u);
    EXPECT_EQ(v.acked(1000), 0u);
    EXPECT_EQ(v.sent(1005), 0u);
}

TEST(Queues, MergedReportSumsCountsAndMergesHistograms) {
    Options o;
    o.queues = 3;
    o.workload.n_keys = 30;
    std::vector<QueuePlan> plans;
    auto parts = std::make_unique<std::vector<Report>>(3);
    auto all = std::make_unique<Histogram>();
    Rng rng(3);
    for (uint32_t q = 0; q < 3; q++) {
        plans.push_back(plan_queue(o, q));
        Report& r = (*parts)[q];
        r.options = o;
        r.preload_s = 1.0 + q;
        r.measured_s = 10.0 + 0.001 * q;
        r.measure.sent = 1000 * (q + 1);
        r.measure.replies = 1000 * (q + 1) - q;
        r.measure.timeouts = q;
        r.measure.hits = 900;
        r.measure.misses = 0;
        r.measure.error_kinds[1] = q;
        r.link.rx_packets = 10;
        r.link.rx_handed_over = q;
        for (int i = 0; i < 10'000; i++) {
            // Each queue its own latency range: the merge must see all.
            const uint64_t x = 10'000 * (q + 1) + rng.below(5'000);
            r.latency_ns.record(x);
            all->record(x);
        }
    }
    const auto m = std::make_unique<Report>(merge_reports(*parts, plans));
    EXPECT_EQ(m->options.queues, 3u);
    EXPECT_EQ(m->measure.sent, 6000u);
    EXPECT_EQ(m->measure.replies, 5997u);
    EXPECT_EQ(m->measure.timeouts, 3u);
    EXPECT_EQ(m->measure.hits, 2700u);
    EXPECT_EQ(m->measure.error_kinds[1], 3u);
    EXPECT_EQ(m->link.rx_packets, 30u);
    EXPECT_EQ(m->link.rx_handed_over, 3u);
    EXPECT_DOUBLE_EQ(m->preload_s, 3.0);       // the longest
    EXPECT_NEAR(m->measured_s, 10.001, 1e-9);  // the mean
    EXPECT_NEAR(reply_rate(*m), 5997 / 10.001, 1e-6);
    EXPECT_EQ(m->latency_ns.count(), 30'000u);
    for (double q : {0.0, 0.1, 0.5, 0.9, 0.99, 0.999, 1.0})
        EXPECT_EQ(m->latency_ns.quantile(q), all->quantile(q)) << q;
    EXPECT_EQ(m->latency_ns.min(), all->min());
    EXPECT_EQ(m->latency_ns.max(), all->max());
    ASSERT_EQ(m->queues.size(), 3u);
    for (uint32_t q = 0; q < 3; q++) {
        const QueueReport& r = m->queues[q];
        EXPECT_EQ(r.queue, q);
        EXPECT_EQ(r.src_port, o.src_port + q);
        EXPECT_EQ(r.key_first, 10 * q);
        EXPECT_EQ(r.key_count, 10u);
        EXPECT_EQ(r.measure.sent, 1000 * (q + 1));
        EXPECT_NEAR(reply_rate(r), (1000.0 * (q + 1) - q) / (10.0 + 0.001 * q), 1e-6);
        // Each queue's own percentiles, from its own range.
        EXPECT_GE(r.p50_ns, 10'000u * (q + 1));
        EXPECT_LT(r.p99_9_ns, 10'000u * (q + 1) + 5'100);
    }
    const std::string json = json_text(*m);
    for (const char* key : {"\"requests_per_s\"", "\"latency_us\"", "\"p99_9\"", "\"hit_ratio\"",
                            "\"loss_ratio\"", "\"per_queue\"", "\"queues\": 3"})
        EXPECT_NE(json.find(key), std::string::npos) << key;
    EXPECT_NE(summary_text(*m).find("queue 2"), std::string::npos);
}

TEST(Queues, OneQueueMergesToItself) {
    Options o;
    std::vector<QueuePlan> plans = {plan_queue(o, 0)};
    auto parts = std::make_unique<std::vector<Report>>(1);
    (*parts)[0].options = o;
    (*parts)[0].measured_s = 2;
    (*parts)[0].measure.replies = 100;
    (*parts)[0].latency_ns.record(5);
    const auto m = std::make_unique<Report>(merge_reports(*parts, plans));
    EXPECT_DOUBLE_EQ(reply_rate(*m), 50);
    EXPECT_EQ(m->latency_ns.count(), 1u);
    EXPECT_EQ(m->queues.size(), 1u);
}

}  // namespace
}  // namespace fulmar::pktgen
