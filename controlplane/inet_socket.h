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

}  // namespace fulmar::controlplane
