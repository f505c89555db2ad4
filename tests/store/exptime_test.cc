#include "store/exptime.h"

#include <gtest/gtest.h>

namespace fulmar::store {
namespace {

constexpr UnixTime kNow = 1'700'000'000;

TEST(Exptime, ZeroMeansNever) {
    EXPECT_EQ(exptime_to_abs(0, kNow), 0u);
}

TEST(Exptime, UpToThirtyDaysIsRelative) {
    EXPECT_EQ(exptime_to_abs(1, kNow), kNow + 1);
    EXPECT_EQ(exptime_to_abs(kMaxRelativeExptime, kNow), kNow + kMaxRelativeExptime);
}

TEST(Exptime, AboveThirtyDaysIsAbsolute) {
    EXPECT_EQ(exptime_to_abs(kNow + 100, kNow), kNow + 100);
    EXPECT_TRUE(is_expired(exptime_to_abs(kNow - 5, kNow), kNow));
    EXPECT_TRUE(is_expired(exptime_to_abs(kMaxRelativeExptime + 1, kNow), kNow));
}

TEST(Exptime, NegativeExpiresAtOnce) {
    EXPECT_TRUE(is_expired(exptime_to_abs(-1, kNow), kNow));
    EXPECT_TRUE(is_expired(exptime_to_abs(INT32_MIN, kNow), kNow));
}

TEST(Exptime, ExpiresWhenTimeReachesIt) {
    EXPECT_FALSE(is_expired(kNow + 1, kNow));
    EXPECT_TRUE(is_expired(kNow, kNow));
    EXPECT_FALSE(is_expired(0, kNow));
}

}  // namespace
}  // namespace fulmar::store
