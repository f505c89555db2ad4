// The control plane's IPv4 sockets on the appliance's address: one way to
// make them, so every listener (memcached TCP and UDP, /metrics) binds the
// same way and says the same thing when it cannot.
//
// Loop thread only; plain POSIX, no DPDK.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace fulmar::controlplane {

struct BoundSocket {
    int fd = -1;
    uint16_t port = 0;  // the one bound (the kernel's pick for port 0)
};

// A non-blocking, close-on-exec IPv4 socket of `type` (SOCK_STREAM: with
// SO_REUSEADDR, listening with `backlog`; SOCK_DGRAM) bound to addr:port
// (host order). `what` names it in the error ("memcached TCP"); nothing is
// left open on failure.
Result<BoundSocket, std::string> bind_inet(int type, uint32_t addr, uint16_t port,
                                           std::string_view what, int backlog = 1024);

enum class SendStatus : uint8_t {
    kDone,     // `out` is empty: everything was sent
    kBlocked,  // the socket is full: wait for EPOLLOUT
    kFailed,   // the peer is gone (or the socket broke): close it
};

// Sends as much of `out` as the non-blocking socket takes, erasing what
// went (any stream socket: TCP or Unix).
SendStatus send_some(int fd, std::string& out);

}  // namespace fulmar::controlplane
