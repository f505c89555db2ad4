// Workload: validation, key formatting and parsing, derived values, request
// text, version arithmetic.
#include "workload.h"

#include <gtest/gtest.h>

#include <string>

namespace fulmar::pktgen {
namespace {

Workload make(WorkloadParams p) {
    auto w = Workload::create(p);
    EXPECT_TRUE(w.ok()) << (w.ok() ? "" : w.error());
    return std::move(w).value();
}

TEST(Workload, RejectsParametersThatCannotWork) {
    WorkloadParams p;
    p.n_keys = 0;
    EXPECT_FALSE(Workload::create(p).ok());
    p = {};
    p.n_keys = 100'000;
    p.key_len = 5;  // "k" + 5 digits needed
    EXPECT_FALSE(Workload::create(p).ok());
    p = {};
    p.value_min = 10;
    p.value_max = 5;
    EXPECT_FALSE(Workload::create(p).ok());
    p = {};
    p.value_max = 1500;  // does not fit one frame
    EXPECT_FALSE(Workload::create(p).ok());
    p = {};
    p.keys_per_get = 100;
    p.key_len = 20;  // 100 x 21 bytes > one datagram
    EXPECT_FALSE(Workload::create(p).ok());
    p = {};
    p.get_ratio = 1.5;
    EXPECT_FALSE(Workload::create(p).ok());
    p = {};
    p.value_min = 0;
    p.value_max = 1400;
    EXPECT_TRUE(Workload::create(p).ok());
}

TEST(Workload, KeysRoundTripAndAreZeroPadded) {
    const Workload w = make({});
    char buf[16];
    w.format_key(1234, buf);
    EXPECT_EQ(std::string(buf, 16), "k000000000001234");
    uint32_t k = 0;
    EXPECT_TRUE(w.parse_key(std::string_view(buf, 16), k));
    EXPECT_EQ(k, 1234u);
    EXPECT_FALSE(w.parse_key("k00000000000123", k));   // short
    EXPECT_FALSE(w.parse_key("x000000000001234", k));  // prefix
    EXPECT_FALSE(w.parse_key("k00000000000123a", k));  // digit
    EXPECT_FALSE(w.parse_key("k000000000100000", k));  // >= n_keys
}

TEST(Workload, ValuesAreDeterministicPerKeyVersionAndRun) {
    WorkloadParams p;
    p.value_min = 1;
    p.value_max = 100;
    const Workload w = make(p);
    std::string a(100, '\0'), b(100, '\0');
    for (uint32_t key = 0; key < 200; key++) {
        const uint32_t len = w.value_len(key, 1);
        ASSERT_GE(len, 1u);
        ASSERT_LE(len, 100u);
        w.fill_value(key, 1, a.data());
        EXPECT_TRUE(w.value_equals(key, 1, std::string_view(a.data(), len)));
        EXPECT_FALSE(w.value_equals(key, 1, std::string_view(a.data(), len - 1)));
        if (w.value_len(key, 2) == len) {
            w.fill_value(key, 2, b.data());
            EXPECT_NE(std::string_view(a.data(), len), std::string_view(b.data(), len));
        }
        std::string flipped(a.data(), len);
        flipped[len / 2] ^= 1;
        EXPECT_FALSE(w.value_equals(key, 1, flipped));
    }
    p.run_id = 2;
    const Workload other = make(p);
    w.fill_value(7, 1, a.data());
    EXPECT_FALSE(other.value_equals(7, 1, std::string_view(a.data(), w.value_len(7, 1))));
    EXPECT_TRUE(w.mine(w.flags_of(5)));
    EXPECT_FALSE(other.mine(w.flags_of(5)));
}

TEST(Workload, FormatsGetAndSetRequests) {
    WorkloadParams p;
    p.n_keys = 100;
    p.key_len = 4;
    p.value_min = p.value_max = 5;
    p.keys_per_get = 3;
    const Workload w = make(p);
    char buf[kMaxRequestBytes];
    const uint32_t keys[] = {1, 22, 99};
    EXPECT_EQ(std::string_view(buf, w.format_get(keys, buf)), "get k001 k022 k099\r\n");
    const size_t n = w.format_set(7, 3, buf);
    const std::string want_head = "set k007 " + std::to_string(w.flags_of(3)) + " 0 5\r\n";
    ASSERT_EQ(n, want_head.size() + 5 + 2);
    EXPECT_EQ(std::string_view(buf, want_head.size()), want_head);
    EXPECT_TRUE(w.value_equals(7, 3, std::string_view(buf + want_head.size(), 5)));
    EXPECT_EQ(std::string_view(buf + n - 2, 2), "\r\n");
    EXPECT_LE(n, w.max_set_request());
    EXPECT_LE(w.format_get(keys, buf), w.max_get_request());
}

TEST(Workload, OperationMixFollowsTheRatio) {
    WorkloadParams p;
    p.get_ratio = 0.9;
    const Workload w = make(p);
    Rng r(1);
    int gets = 0;
    for (int i = 0; i < 100'000; i++)
        gets += w.next_op(r) == Op::kGet;
    EXPECT_NEAR(gets, 90'000, 600);
}

TEST(KeyVersions, CountsUpSkippingZeroAndAcksTheNewest) {
    KeyVersions v(2);
    EXPECT_EQ(v.sent(0), 0u);
    EXPECT_EQ(v.next(0), 1u);
    EXPECT_EQ(v.next(0), 2u);
    v.ack(0, 2);
    v.ack(0, 1);  // a reordered older ack does not move it back
    EXPECT_EQ(v.acked(0), 2u);
    for (uint32_t i = 1; i < kVersionMask; i++)
        v.next(1);
    EXPECT_EQ(v.sent(1), kVersionMask - 1);
    EXPECT_EQ(v.next(1), kVersionMask);
    EXPECT_EQ(v.next(1), 1u);  // wraps past 0
    EXPECT_TRUE(version_after(1, kVersionMask));
    EXPECT_FALSE(version_after(kVersionMask, 1));
    EXPECT_FALSE(version_after(5, 5));
}

}  // namespace
}  // namespace fulmar::pktgen
