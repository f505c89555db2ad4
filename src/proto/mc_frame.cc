// memcached UDP frame header codec; see mc_frame.h for the layout.
#include "proto/mc_frame.h"

namespace fulmar::proto {
namespace {

uint16_t load_be16(const std::byte* p) {
    return static_cast<uint16_t>((std::to_integer<uint16_t>(p[0]) << 8) |
                                 std::to_integer<uint16_t>(p[1]));
}

void store_be16(std::byte* p, uint16_t v) {
    p[0] = static_cast<std::byte>(v >> 8);
    p[1] = static_cast<std::byte>(v & 0xff);
}

}  // namespace

FrameStatus decode_request_frame(std::span<const std::byte> datagram, McFrame& out) {
    if (datagram.size() < kMcFrameHeaderSize) return FrameStatus::kShort;
    const std::byte* p = datagram.data();
    out.request_id = load_be16(p);
    out.seq = load_be16(p + 2);
    out.total = load_be16(p + 4);
    out.reserved = load_be16(p + 6);
    // memcached's try_read_udp drops a request unless its total is exactly 1;
    // it ignores the sequence number, and so do we.
    if (out.total != 1) return FrameStatus::kMultiPacket;
    return FrameStatus::kOk;
}

void encode_frame(const McFrame& f, std::span<std::byte, kMcFrameHeaderSize> out) {
    store_be16(out.data(), f.request_id);
    store_be16(out.data() + 2, f.seq);
    store_be16(out.data() + 4, f.total);
    store_be16(out.data() + 6, f.reserved);
}

size_t reply_datagram_count(size_t payload_len) {
    if (payload_len == 0) return 1;
    return (payload_len + kMcUdpMaxPayload - 1) / kMcUdpMaxPayload;
}

}  // namespace fulmar::proto
