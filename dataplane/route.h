// Which worker runs a memcached UDP datagram: the one that received it, or
// the owner of the shard its writes touch.
//
// Called by every worker lcore on its own datagrams; pure function.
//
// Reads (classic get/gets, version, mn) run on the receiving worker: shards
// are read lock-free from any lcore. Anything that changes an item — every
// write, and the meta commands, which may touch TTL or flags — runs on the
// key's owner, so each shard keeps one writer. A datagram whose writes span
// two shards cannot run anywhere without breaking that rule and is refused
// (memcached clients send one command per datagram; multi-key reads are
// fine). Administrative commands are refused over UDP unless configured:
// their replies are large (reflection) and they concern the whole node.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace fulmar::dataplane {

enum class RouteKind : uint8_t {
    kLocal,        // run here
    kOwner,        // hand to the owner of `shard`
    kRefuseAdmin,  // stats/flush_all/verbosity over UDP, not enabled: drop silently
    kRefuseSpan,   // writes on more than one shard: reply an error
};

struct Route {
    RouteKind kind = RouteKind::kLocal;
    uint16_t shard = 0;
};

struct RoutePolicy {
    size_t n_shards = 1;
    bool admin_over_udp = false;
};

// `payload` is the datagram after its 8-byte frame header.
Route route_datagram(std::string_view payload, const RoutePolicy& policy);

inline constexpr std::string_view kSpanErrorReply =
    "SERVER_ERROR writes to keys of different shards in one datagram\r\n";

}  // namespace fulmar::dataplane
