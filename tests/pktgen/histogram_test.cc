// Log-linear histogram: bucket boundaries, quantiles against exact ranks,
// error bound, merge.
#include "histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "zipf.h"

namespace fulmar::pktgen {
namespace {

TEST(Histogram, SmallValuesAreExact) {
    for (uint64_t v = 0; v < 256; v++) {
        EXPECT_EQ(Histogram::bucket_of(v), v);
        EXPECT_EQ(Histogram::bucket_low(v), v);
        EXPECT_EQ(Histogram::bucket_high(v), v);
    }
}

TEST(Histogram, BucketsAreContiguousAndOrdered) {
    for (size_t b = 0; b + 1 < Histogram::kBuckets; b++) {
        ASSERT_LE(Histogram::bucket_low(b), Histogram::bucket_high(b)) << b;
        ASSERT_EQ(Histogram::bucket_high(b) + 1, Histogram::bucket_low(b + 1)) << b;
        ASSERT_EQ(Histogram::bucket_of(Histogram::bucket_low(b)), b);
        ASSERT_EQ(Histogram::bucket_of(Histogram::bucket_high(b)), b);
    }
    EXPECT_EQ(Histogram::bucket_of(UINT64_MAX), Histogram::kBuckets - 1);
}

TEST(Histogram, BucketWidthIsWithinOnePercentOfItsValues) {
    for (size_t b = 256; b < Histogram::kBuckets; b++) {
        const double low = static_cast<double>(Histogram::bucket_low(b));
        const double width = static_cast<double>(Histogram::bucket_high(b)) - low + 1;
        ASSERT_LE(width / low, 1.0 / 128 + 1e-12) << b;
    }
}

TEST(Histogram, QuantilesMatchExactRanksWithinTheBound) {
    Rng rng(7);
    std::vector<uint64_t> v;
    Histogram h;
    for (int i = 0; i < 100'000; i++) {
        // Latency-like: mostly ~20 us, a long tail to ~10 ms.
        uint64_t x = 15'000 + rng.below(10'000);
        if (rng.below(100) == 0) x += rng.below(10'000'000);
        v.push_back(x);
        h.record(x);
    }
    std::sort(v.begin(), v.end());
    for (double q : {0.0, 0.5, 0.9, 0.99, 0.999, 0.9999, 1.0}) {
        size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
        rank = std::clamp<size_t>(rank, 1, v.size());
        const uint64_t exact = v[rank - 1];
        const uint64_t got = h.quantile(q);
        EXPECT_GE(got, exact) << q;  // the bucket's top: never understates
        EXPECT_LE(static_cast<double>(got), static_cast<double>(exact) * (1 + 1.0 / 128)) << q;
    }
    EXPECT_EQ(h.quantile(1.0), v.back());
    EXPECT_EQ(h.max(), v.back());
    EXPECT_EQ(h.min(), v.front());
    EXPECT_EQ(h.count(), v.size());
}

TEST(Histogram, EmptyReportsZero) {
    Histogram h;
    EXPECT_EQ(h.quantile(0.99), 0u);
    EXPECT_EQ(h.max(), 0u);
    EXPECT_EQ(h.min(), 0u);
    EXPECT_EQ(h.mean(), 0.0);
}

TEST(Histogram, MergingPartsEqualsRecordingTheWhole) {
    // --queues: each lcore records its own; the report merges them.
    Rng rng(11);
    Histogram whole;
    std::vector<Histogram> parts(8);
    for (int i = 0; i < 80'000; i++) {
        const size_t p = rng.below(parts.size());
        // Each part a different spread, so no part alone looks like the whole.
        const uint64_t x = 1'000 * (p + 1) + rng.below(100'000 * (p + 1));
        parts[p].record(x);
        whole.record(x);
    }
    Histogram merged;
    merged.merge(Histogram{});  // an empty part changes nothing
    for (const Histogram& p : parts)
        merged.merge(p);
    EXPECT_EQ(merged.count(), whole.count());
    EXPECT_EQ(merged.min(), whole.min());
    EXPECT_EQ(merged.max(), whole.max());
    EXPECT_DOUBLE_EQ(merged.mean(), whole.mean());
    for (double q : {0.0, 0.25, 0.5, 0.9, 0.99, 0.999, 0.9999, 1.0})
        EXPECT_EQ(merged.quantile(q), whole.quantile(q)) << q;
}

TEST(Histogram, MergeAddsSamplesAndResetForgetsThem) {
    Histogram a, b;
    a.record(10);
    a.record(20);
    b.record(1'000'000);
    a.merge(b);
    EXPECT_EQ(a.count(), 3u);
    EXPECT_EQ(a.max(), 1'000'000u);
    EXPECT_EQ(a.min(), 10u);
    EXPECT_EQ(a.quantile(0.5), 20u);
    a.reset();
    EXPECT_EQ(a.count(), 0u);
    EXPECT_EQ(a.quantile(0.5), 0u);
}

}  // namespace
}  // namespace fulmar::pktgen
