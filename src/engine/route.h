// Which lcore runs a memcached UDP datagram: the one that received it, or
// the owner of the shard its writes touch; and the datagram's request,
// parsed and digested once for whoever runs it.
//
// Called by every worker lcore on its own datagrams; pure function of the
// payload and the policy (no DPDK, no shard access).
//
// Reads (classic get/gets, version, mn) run on the receiving worker: shards
// are read lock-free from any lcore. Anything that changes an item — every
// write, and the meta commands, which may touch TTL or flags — runs on the
// key's owner, so each shard keeps one writer. A datagram whose writes span
// two shards cannot run anywhere without breaking that rule and is refused
// (memcached clients send one command per datagram; multi-key reads are
// fine). Administrative commands are refused over UDP unless configured:
// their replies are large (reflection) and they concern the whole node.
// What each command is (read, write, admin, its keys) comes from the
// command table (mc_commands.h).
//
// The parse handed on. A datagram that is exactly one complete classic
// request (the common case: one set, delete, incr...) comes back parsed,
// with its key's digest: the lcore that runs it executes that, without a
// second parse or digest. A datagram of several requests, a meta request
// or a refused one is parsed again by the session that runs it (a
// McMetaRequest is ~900 bytes, too much to carry for a rare path; several
// requests would need room for each).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "proto/mc_text.h"
#include "store/digest.h"

namespace fulmar::engine {

enum class RouteKind : uint8_t {
    kLocal,        // run here
    kOwner,        // hand to the owner of `shard`
    kRefuseAdmin,  // stats/flush_all/verbosity over UDP, not enabled: drop silently
    kRefuseSpan,   // writes on more than one shard: reply proto::kMcServerErrorSpan
};

struct Route {
    RouteKind kind = RouteKind::kLocal;
    uint16_t shard = 0;
};

struct RoutePolicy {
    size_t n_shards = 1;
    bool admin_over_udp = false;
};

// A datagram's only request, parsed, with the digest of its key: plain data
// (views into the datagram), so it can travel in a hand-off message.
struct ParsedRequest {
    proto::McTextRequest request;
    store::KeyDigest digest;  // of request.key, when its command has exactly one key
    bool valid = false;       // false: run the datagram's bytes through a session

    // request.key with its digest, as a command table entry's execute takes it.
    store::KeyRef key() const {
        store::KeyRef k;
        k.key = request.key;
        k.digest = digest;
        return k;
    }
};

// `payload` is the datagram after its 8-byte frame header. Fills `parsed`
// (valid or not) and says where the datagram runs.
Route route_datagram(std::string_view payload, const RoutePolicy& policy, ParsedRequest& parsed);

}  // namespace fulmar::engine
