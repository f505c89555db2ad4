// Adding and removing one IPv4 address (/32) on a kernel interface of this
// process's network namespace, by rtnetlink: how a service address reaches
// the port's kernel side (service_address.h) so that TCP follows it.
//
// Called on the control plane's loop thread; one request and its ack per
// call, a socket of its own each time (an address moves on failover, not
// per request: nothing to keep open). Why netlink rather than the ioctls
// port.cc uses: SIOCSIFADDR replaces the interface's one address, and a
// second one needs an alias label ("fulmark0:1") that `ip` shows oddly;
// RTM_NEWADDR adds a secondary address as `ip addr add` does.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace fulmar::controlplane {

// nullopt when done; else why not ("no interface fulmark0 in this network
// namespace", the kernel's errno text). Adding an address the interface
// already holds, or removing one it does not, is done (idempotent: a
// control plane restarted mid-change can repeat it).
std::optional<std::string> kernel_addr_add(const std::string& ifname, uint32_t addr_be);
std::optional<std::string> kernel_addr_remove(const std::string& ifname, uint32_t addr_be);

}  // namespace fulmar::controlplane
