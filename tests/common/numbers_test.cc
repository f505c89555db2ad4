#include "common/numbers.h"

#include <gtest/gtest.h>

#include <cstdio>

namespace fulmar {
namespace {

TEST(ParseU64, AcceptsDigitsAndPlusLikeStrtoull) {
    uint64_t v = 0;
    EXPECT_TRUE(parse_u64("0", v));
    EXPECT_EQ(v, 0u);
    EXPECT_TRUE(parse_u64("+42", v));
    EXPECT_EQ(v, 42u);
    EXPECT_TRUE(parse_u64("18446744073709551615", v));
    EXPECT_EQ(v, UINT64_MAX);
}

TEST(ParseU64, RejectsNegativeOverflowAndJunk) {
    uint64_t v = 7;
    EXPECT_FALSE(parse_u64("", v));
    EXPECT_FALSE(parse_u64("-1", v));
    EXPECT_FALSE(parse_u64("18446744073709551616", v));
    EXPECT_FALSE(parse_u64("12a", v));
    EXPECT_FALSE(parse_u64("+", v));
    EXPECT_FALSE(parse_u64(" 1", v));
    EXPECT_EQ(v, 7u);
}

TEST(ParseU32, RejectsValuesAbove32Bits) {
    uint32_t v = 0;
    EXPECT_TRUE(parse_u32("4294967295", v));
    EXPECT_EQ(v, UINT32_MAX);
    EXPECT_FALSE(parse_u32("4294967296", v));
}

TEST(ParseI32, AcceptsNegativeAndBounds) {
    int32_t v = 0;
    EXPECT_TRUE(parse_i32("-1", v));
    EXPECT_EQ(v, -1);
    EXPECT_TRUE(parse_i32("-2147483648", v));
    EXPECT_EQ(v, INT32_MIN);
    EXPECT_FALSE(parse_i32("2147483648", v));
    EXPECT_FALSE(parse_i32("--1", v));
}

TEST(ParseI64, HandlesExtremes) {
    int64_t v = 0;
    EXPECT_TRUE(parse_i64("-9223372036854775808", v));
    EXPECT_EQ(v, INT64_MIN);
    EXPECT_TRUE(parse_i64("9223372036854775807", v));
    EXPECT_EQ(v, INT64_MAX);
    EXPECT_FALSE(parse_i64("9223372036854775808", v));
}

TEST(FormatU64, RoundTrips) {
    char buf[24];
    for (uint64_t x : {0ull, 9ull, 10ull, 123456789ull, 18446744073709551615ull}) {
        size_t n = format_u64(x, buf);
        uint64_t back = 1;
        ASSERT_TRUE(parse_u64(std::string_view(buf, n), back));
        EXPECT_EQ(back, x);
    }
    // Every length, both sides of each power of ten, against snprintf.
    for (uint64_t p = 1, i = 0; i < 20; ++i, p *= 10) {
        for (uint64_t x : {p - 1, p, p + 1, p * 3 + 7}) {
            char want[24];
            const int len =
                std::snprintf(want, sizeof(want), "%llu", static_cast<unsigned long long>(x));
            ASSERT_EQ(std::string_view(buf, format_u64(x, buf)), std::string_view(want, len)) << x;
            ASSERT_EQ(decimal_digits(x), static_cast<size_t>(len)) << x;
        }
    }
    EXPECT_EQ(decimal_digits(UINT64_MAX), 20u);
    // Both sides of every bit width (the digit count starts from it).
    for (unsigned k = 1; k < 64; ++k) {
        for (uint64_t x : {(uint64_t{1} << k) - 1, uint64_t{1} << k, (uint64_t{1} << k) + 1}) {
            char want[24];
            const int len =
                std::snprintf(want, sizeof(want), "%llu", static_cast<unsigned long long>(x));
            ASSERT_EQ(std::string_view(buf, format_u64(x, buf)), std::string_view(want, len)) << x;
            ASSERT_EQ(decimal_digits(x), static_cast<size_t>(len)) << x;
        }
    }
    EXPECT_EQ(decimal_digits(0), 1u);
    EXPECT_EQ(std::string_view(buf, format_i64(-5, buf)), "-5");
    EXPECT_EQ(std::string_view(buf, format_i64(INT64_MIN, buf)), "-9223372036854775808");
}

}  // namespace
}  // namespace fulmar
