// memcached UDP frame header: the 8 bytes in front of every datagram.
//
// Any thread; pure functions.
//
//   0      2      4      6      8
//   +------+------+------+------+------------------------
//   | req  | seq  | total| rsvd | ASCII request or reply ...
//   | id   | no.  | dgrams (0)  |
//   +------+------+------+------+------------------------
//   all fields big-endian 16-bit
//
// memcached serves a request only when it is a single datagram
// (total 1); a reply larger than one datagram is cut into numbered datagrams
// that all repeat the request id and the total.
#pragma once

#include "fulmar/protocol.h"

#include <cstddef>
#include <cstdint>
#include <span>

namespace fulmar::proto {

inline constexpr size_t kMcFrameHeaderSize = FULMAR_MC_UDP_HEADER_SIZE;
// memcached's UDP_MAX_PAYLOAD_SIZE: reply payload per datagram, header aside.
inline constexpr size_t kMcUdpMaxPayload = FULMAR_MC_UDP_MAX_PAYLOAD;

struct McFrame {
    uint16_t request_id = 0;
    uint16_t seq = 0;
    uint16_t total = 0;
    uint16_t reserved = 0;
};

enum class FrameStatus : uint8_t {
    kOk,
    kShort,        // fewer than 8 bytes
    kMultiPacket,  // total != 1: memcached drops these requests
};

// Decodes the header of a request datagram. On kOk the command starts at
// byte kMcFrameHeaderSize.
FrameStatus decode_request_frame(std::span<const std::byte> datagram, McFrame& out);

// Writes the 8-byte header; `out` must hold kMcFrameHeaderSize bytes.
void encode_frame(const McFrame& f, std::span<std::byte, kMcFrameHeaderSize> out);

// Number of datagrams a reply of `payload_len` bytes needs (at least 1).
size_t reply_datagram_count(size_t payload_len);

}  // namespace fulmar::proto
