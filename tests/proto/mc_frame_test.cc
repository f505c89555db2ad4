#include "proto/mc_frame.h"

#include <gtest/gtest.h>

#include <array>

namespace fulmar::proto {
namespace {

std::array<std::byte, 8> bytes(std::initializer_list<int> v) {
    std::array<std::byte, 8> a{};
    size_t i = 0;
    for (int x : v)
        a[i++] = static_cast<std::byte>(x);
    return a;
}

TEST(McFrame, DecodesBigEndianFields) {
    auto d = bytes({0x12, 0x34, 0, 0, 0, 1, 0, 0});
    McFrame f;
    ASSERT_EQ(decode_request_frame(d, f), FrameStatus::kOk);
    EXPECT_EQ(f.request_id, 0x1234);
    EXPECT_EQ(f.seq, 0);
    EXPECT_EQ(f.total, 1);
}

TEST(McFrame, RejectsShortDatagrams) {
    auto d = bytes({0, 1, 0, 0, 0, 1, 0, 0});
    McFrame f;
    for (size_t n = 0; n < kMcFrameHeaderSize; ++n)
        EXPECT_EQ(decode_request_frame(std::span(d.data(), n), f), FrameStatus::kShort);
}

TEST(McFrame, DropsMultiDatagramRequestsLikeMemcached) {
    McFrame f;
    EXPECT_EQ(decode_request_frame(bytes({0, 1, 0, 0, 0, 2, 0, 0}), f), FrameStatus::kMultiPacket);
    EXPECT_EQ(decode_request_frame(bytes({0, 1, 0, 0, 0, 0, 0, 0}), f), FrameStatus::kMultiPacket);
    EXPECT_EQ(decode_request_frame(bytes({0, 1, 0, 0, 1, 1, 0, 0}), f), FrameStatus::kMultiPacket);
    // memcached looks at the total only: a nonzero sequence number is served.
    EXPECT_EQ(decode_request_frame(bytes({0, 1, 0, 3, 0, 1, 0, 0}), f), FrameStatus::kOk);
}

TEST(McFrame, EncodeThenDecodeRoundTrips) {
    McFrame in{.request_id = 0xbeef, .seq = 0, .total = 1, .reserved = 0};
    std::array<std::byte, 8> buf{};
    encode_frame(in, buf);
    McFrame out;
    ASSERT_EQ(decode_request_frame(buf, out), FrameStatus::kOk);
    EXPECT_EQ(out.request_id, 0xbeef);
    McFrame reply{.request_id = 7, .seq = 2, .total = 3, .reserved = 0};
    encode_frame(reply, buf);
    EXPECT_EQ(buf[3], std::byte{2});
    EXPECT_EQ(buf[5], std::byte{3});
}

TEST(McFrame, CountsReplyDatagramsBy1400BytePayloads) {
    EXPECT_EQ(reply_datagram_count(0), 1u);
    EXPECT_EQ(reply_datagram_count(1400), 1u);
    EXPECT_EQ(reply_datagram_count(1401), 2u);
    EXPECT_EQ(reply_datagram_count(20000), 15u);
}

}  // namespace
}  // namespace fulmar::proto
