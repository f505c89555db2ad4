// CRC-64/Jones against its published check value and a real DUMP payload's
// trailer, and continued across pieces.
#include "common/crc64.h"

#include <gtest/gtest.h>

namespace fulmar {
namespace {

TEST(Crc64Jones, MatchesTheCheckValue) {
    EXPECT_EQ(crc64_jones(0, "123456789"), 0xe9c6d914c4b8d9caULL);
}

// redis-server 7.0.15's DUMP of the string "hello": type 0, length 5, the
// bytes, RDB version 10; then this CRC, little endian (6372df766534200a).
TEST(Crc64Jones, MatchesRedisDumpTrailer) {
    EXPECT_EQ(crc64_jones(0, std::string_view("\x00\x05hello\x0a\x00", 9)), 0x0a20346576df7263ULL);
}

TEST(Crc64Jones, EmptyInputKeepsTheRegister) {
    EXPECT_EQ(crc64_jones(0, ""), 0u);
    EXPECT_EQ(crc64_jones(42, ""), 42u);
}

TEST(Crc64Jones, ContinuesAcrossPieces) {
    EXPECT_EQ(crc64_jones(crc64_jones(0, "1234"), "56789"), crc64_jones(0, "123456789"));
}

}  // namespace
}  // namespace fulmar
