// Transport: how the client's datagrams reach server i and how replies come back.
//
// Owned by one fulmar_client, used by its thread only. The UDP implementation
// holds one connected non-blocking socket per server and waits on all of them
// with one ppoll(); tests plug in a scripted one (test_transport.h) that can
// reorder, duplicate, drop or forge datagrams and moves time by hand, so no
// test sleeps through a timeout.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace fulmar::client {

class Transport {
  public:
    virtual ~Transport() = default;

    // Sends one datagram (frame header included) to server `node`. 0, or a
    // negative errno: the datagram is then lost and the caller's timeout covers it.
    virtual int send(uint32_t node, std::span<const std::byte> datagram) = 0;

    // Waits until now_us() reaches `deadline_us` for one datagram from any
    // server. Returns its length (copied into `buf`, truncated to its size) and
    // sets `node`; -ETIMEDOUT when the deadline passes first; another negative
    // errno when waiting itself failed (the transport is unusable).
    virtual long recv(uint64_t deadline_us, uint32_t& node, std::span<std::byte> buf) = 0;

    // Monotonic microseconds; the only clock the client reads.
    virtual uint64_t now_us() = 0;
};

// Where a server is, as the user wrote it.
struct Endpoint {
    std::string host;  // name or address; IPv6 without brackets
    uint16_t port = 0;
};

// Resolves every endpoint (getaddrinfo, first answer) and opens one connected
// UDP socket per endpoint. 0 and `out` set, or -EHOSTUNREACH (a name did not
// resolve) or the errno of socket(2)/connect(2), negated.
int make_udp_transport(std::span<const Endpoint> endpoints, std::unique_ptr<Transport>& out);

}  // namespace fulmar::client
