// Request table: ids in sequence, completion in any order, timeouts oldest
// first, the 65,536-id limit.
#include "request_table.h"

#include <gtest/gtest.h>

#include <vector>

namespace fulmar::pktgen {
namespace {

TEST(RequestTable, HandsOutIdsInSequenceAndWraps) {
    RequestTable t(1);
    uint16_t id = 0;
    for (uint32_t i = 0; i < 70'000; i++) {
        ASSERT_TRUE(t.acquire(i, id));
        ASSERT_EQ(id, static_cast<uint16_t>(i));
        t.release(id);
    }
    EXPECT_EQ(t.outstanding(), 0u);
}

TEST(RequestTable, RefusesThe65537thOutstandingRequest) {
    RequestTable t(1);
    uint16_t id = 0;
    for (uint32_t i = 0; i < RequestTable::kIds; i++)
        ASSERT_TRUE(t.acquire(i, id));
    EXPECT_FALSE(t.acquire(0, id));
    // Freeing any id in the middle does not free the sequence: ids are
    // reused in order, and id 0 is still outstanding.
    t.release(5);
    EXPECT_FALSE(t.acquire(0, id));
    t.release(0);
    ASSERT_TRUE(t.acquire(0, id));
    EXPECT_EQ(id, 0u);
}

TEST(RequestTable, ExpiresOldestFirstAndSkipsAnswered) {
    RequestTable t(1);
    uint16_t id = 0;
    for (uint64_t stamp = 10; stamp <= 50; stamp += 10)
        ASSERT_TRUE(t.acquire(stamp, id));  // ids 0..4 stamped 10..50
    t.release(1);                           // answered
    std::vector<uint16_t> expired;
    t.expire(35, [&](uint16_t i, Slot& s) {
        expired.push_back(i);
        EXPECT_EQ(s.state, SlotState::kTimedOut);
    });
    EXPECT_EQ(expired, (std::vector<uint16_t>{0, 2}));
    EXPECT_EQ(t.outstanding(), 2u);
    EXPECT_EQ(t.slot(0).state, SlotState::kTimedOut);  // a late reply is recognised
    EXPECT_EQ(t.slot(1).state, SlotState::kFree);
    expired.clear();
    t.expire(1000, [&](uint16_t i, Slot&) { expired.push_back(i); });
    EXPECT_EQ(expired, (std::vector<uint16_t>{3, 4}));
    EXPECT_EQ(t.outstanding(), 0u);
}

TEST(RequestTable, KeysPerSlotAreSeparate) {
    RequestTable t(3);
    uint16_t a = 0, b = 0;
    ASSERT_TRUE(t.acquire(0, a));
    ASSERT_TRUE(t.acquire(0, b));
    t.keys(a)[2] = 7;
    t.keys(b)[0] = 9;
    t.min_versions(a)[0] = 4;
    EXPECT_EQ(t.keys(a).size(), 3u);
    EXPECT_EQ(t.keys(a)[2], 7u);
    EXPECT_EQ(t.keys(b)[0], 9u);
    EXPECT_EQ(t.min_versions(a)[0], 4u);
}

}  // namespace
}  // namespace fulmar::pktgen
