// Samplers: range, determinism, and Zipf frequencies against the exact law.
#include "zipf.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace fulmar::pktgen {
namespace {

TEST(Rng, SameSeedSameSequence) {
    Rng a(42), b(42), c(43);
    bool differs = false;
    for (int i = 0; i < 100; i++) {
        const uint64_t x = a.next();
        EXPECT_EQ(x, b.next());
        differs |= x != c.next();
    }
    EXPECT_TRUE(differs);
}

TEST(Rng, BelowAndDoubleStayInRange) {
    Rng r(1);
    for (int i = 0; i < 100'000; i++) {
        EXPECT_LT(r.below(7), 7u);
        const double d = r.next_double();
        EXPECT_GE(d, 0.0);
        EXPECT_LT(d, 1.0);
    }
}

// Observed frequency of the top ranks against 1/k^theta / H(n, theta).
void expect_zipf_law(uint64_t n, double theta) {
    ZipfSampler z(n, theta);
    Rng r(3);
    constexpr int kSamples = 1'000'000;
    std::vector<uint64_t> count(n + 1, 0);
    for (int i = 0; i < kSamples; i++) {
        const uint64_t k = z.sample(r);
        ASSERT_GE(k, 1u);
        ASSERT_LE(k, n);
        count[k]++;
    }
    double h = 0;
    for (uint64_t k = 1; k <= n; k++)
        h += std::pow(static_cast<double>(k), -theta);
    for (uint64_t k : {1, 2, 3, 10, 100}) {
        if (k > n) continue;
        const double expected = std::pow(static_cast<double>(k), -theta) / h * kSamples;
        // 5 standard deviations of a binomial count, or 2% of it.
        const double tol = std::max(5 * std::sqrt(expected), 0.02 * expected);
        EXPECT_NEAR(static_cast<double>(count[k]), expected, tol)
            << "n " << n << " theta " << theta << " rank " << k;
    }
}

TEST(ZipfSampler, FollowsTheLawBelowOne) {
    expect_zipf_law(1000, 0.99);
    expect_zipf_law(100'000, 0.5);
}

TEST(ZipfSampler, FollowsTheLawAtAndAboveOne) {
    expect_zipf_law(1000, 1.0);
    expect_zipf_law(1000, 1.5);
}

TEST(ZipfSampler, OneElementAlwaysReturnsIt) {
    ZipfSampler z(1, 0.99);
    Rng r(1);
    for (int i = 0; i < 100; i++)
        EXPECT_EQ(z.sample(r), 1u);
}

TEST(KeyChooser, UniformCoversTheRange) {
    KeyChooser c(10, KeyDist::kUniform, 0);
    Rng r(5);
    std::vector<int> seen(10, 0);
    for (int i = 0; i < 10'000; i++) {
        const uint64_t k = c.next(r);
        ASSERT_LT(k, 10u);
        seen[k]++;
    }
    for (int s : seen)
        EXPECT_GT(s, 800);
}

TEST(KeyChooser, ZipfMakesKeyZeroTheHottest) {
    KeyChooser c(1000, KeyDist::kZipf, 0.99);
    Rng r(5);
    std::vector<int> seen(1000, 0);
    for (int i = 0; i < 100'000; i++)
        seen[c.next(r)]++;
    for (int k = 1; k < 1000; k++)
        EXPECT_GT(seen[0], seen[k]);
}

}  // namespace
}  // namespace fulmar::pktgen
