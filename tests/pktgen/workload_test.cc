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

// format_key builds digits eight at a time: compare it with the plain
// "k" + zero-padded decimal over every key length and the digit-count edges.
TEST(Workload, KeysMatchZeroPaddedDecimalAtEveryLength) {
    const uint32_t keys[] = {0,          1,          9,          10,        99,
                             12345678,   99999999,   100000000,  100000001, 999999999,
                             1000000000, 1234567890, 4294967294u};
    for (uint32_t len = 2; len <= 40; len++) {
        WorkloadParams p;
        p.n_keys = 4294967295ull;
        p.key_len = len;
        auto w = Workload::create(p);
        if (len < 11) {
            EXPECT_FALSE(w.ok());  // 4,294,967,294 needs ten digits
            p.n_keys = 1;
            for (uint32_t d = 1; d < len; d++)
                p.n_keys *= 10;
            w = Workload::create(p);
        }
        ASSERT_TRUE(w.ok()) << len;
        for (uint32_t k : keys) {
            if (k >= w.value().n_keys()) continue;
            std::string want = std::to_string(k);
            want = "k" + std::string(len - 1 - want.size(), '0') + want;
            std::string got(len + 1, '#');
            w.value().format_key(k, got.data());
            EXPECT_EQ(got, want + "#") << "key " << k << " length " << len;
        }
    }
}

// Values as the table-driven generator made them before the eight-byte
// version (same run id, key and version): the bytes a run writes and the
// checker expects are unchanged.
TEST(Workload, ValuesMatchTheAlphabetTableBytes) {
    WorkloadParams p;
    p.value_min = 1;
    p.value_max = 40;
    p.run_id = 7;
    const Workload w = make(p);
    struct Golden {
        uint32_t key, version;
        std::string_view value;
    };
    const Golden golden[] = {
        {0, 1, "CiLZBJcScqDIU2WVZcjn"},
        {0, 2, "1c7cIZ9oVCW9A3d5"},
        {0, 1048575, "CQIbrNOle"},
        {1, 1, "s1knDMY5n74CTsR3"},
        {1, 2, "A42AI5ExzKIuG"},
        {1, 1048575, "bwGK8Jrh1CQc0A0zZkY5yLMCxczEU"},
        {12345, 1, "_I3piOGp0tbfCOcuy"},
        {12345, 2, "w-_"},
        {12345, 1048575, "FUyY5t_lprigEsF0eVjM"},
        {99999, 1, "dkQZH7TEqMhR7FvDVci1bzKnNIJiK2Js_9RycTA"},
        {99999, 2, "-GzeDn"},
        {99999, 1048575, "Ipjd554ZKUh"},
    };
    for (const Golden& g : golden) {
        ASSERT_EQ(w.value_len(g.key, g.version), g.value.size());
        std::string got(g.value.size() + 1, '#');
        w.fill_value(g.key, g.version, got.data());
        EXPECT_EQ(got, std::string(g.value) + "#");
        EXPECT_TRUE(w.value_equals(g.key, g.version, g.value));
        // Any one byte wrong, in a full word or in the tail, fails.
        for (size_t i = 0; i < g.value.size(); i++) {
            std::string bad(g.value);
            bad[i] = bad[i] == 'x' ? 'y' : 'x';
            EXPECT_FALSE(w.value_equals(g.key, g.version, bad)) << g.key << " byte " << i;
        }
    }
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
