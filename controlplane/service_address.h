// Service addresses: adding and removing the IPv4 addresses a port answers
// for besides its own (the partition's address, which follows the primary
// on failover; dataplane/README.md, "Service addresses").
//
// Owned by the control plane's loop thread, the table's only writer: the
// admin socket's ADDRESS command calls these, and so will the failover
// logic. An address goes to two places, in this order on add and the
// reverse on remove:
//   1. the port's kernel side (the exception path's TAP interface, which
//      must be in this process's network namespace, as the control plane's
//      TCP sockets are): a /32 by netlink, so TCP (memcached text, Redis)
//      to the address reaches our listeners;
//   2. shm::ServiceAddrs, which every worker copies at housekeeping: ARP,
//      ICMP echo and memcached UDP are answered for it, and the port's
//      announcing worker sends gratuitous ARPs so neighbours move at once.
// So an address is only announced once TCP to it works, and on removal the
// dataplane stops answering before the kernel lets go of it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/dataplane_config.h"
#include "shm/layout.h"

namespace fulmar::controlplane {

enum class ServiceAddrStatus : uint8_t {
    kOk,
    kBadAddress,     // not a dotted-quad IPv4, or not a unicast host address
    kPortAddress,    // the port's own address: always served
    kAlreadyServed,  // add: it is in the table already
    kTableFull,      // add: shm::kMaxServiceAddrs are served
    kNotServed,      // remove: it is not in the table
    kKernel,         // the kernel side refused (the text says why)
};

struct ServiceAddrResult {
    ServiceAddrStatus status = ServiceAddrStatus::kOk;
    std::string error;  // the admin reply's error text (RespWriter adds "ERR "); "" when kOk

    bool ok() const { return status == ServiceAddrStatus::kOk; }
};

// `addr` in network order. The text forms parse a dotted quad first.
ServiceAddrResult add_service_address(shm::ServiceAddrs& t, uint32_t addr);
ServiceAddrResult remove_service_address(shm::ServiceAddrs& t, uint32_t addr);
ServiceAddrResult add_service_address(shm::ServiceAddrs& t, std::string_view text);
ServiceAddrResult remove_service_address(shm::ServiceAddrs& t, std::string_view text);

// Why TCP would not follow a service address with this configuration, or
// "" when it would: the TCP listeners must be bound to INADDR_ANY
// (controlplane.listen = "0.0.0.0"), as a socket bound to the port's address
// does not take connections to another one. The ADDRESS command refuses an
// add while this is not "" (and the failover logic should too): a partition
// address that moves for UDP but not for TCP is a half failover.
std::string tcp_follow_problem(const config::DataplaneConfig& cfg);

// The addresses served, dotted quads, in the order they were added.
std::vector<std::string> list_service_addresses(const shm::ServiceAddrs& t);

}  // namespace fulmar::controlplane
