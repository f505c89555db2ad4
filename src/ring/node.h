// A cache node of a ketama ring and the parser for "host:port[:weight][ name]" server entries.
//
// Any thread; pure functions over values. The entry syntax is twemproxy's `servers:` syntax,
// which libmemcached's "host:port:weight" lists are a subset of, so one server list configures
// Fulmar's client, nutcracker and libmemcached alike.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "ring/ring_error.h"

namespace fulmar::ring {

// Which peer's ring a Ketama reproduces. Both hash "label-i" with MD5, four points a digest, 160
// points per node of average weight, and look keys up with MD5(key)[0..3] little-endian; they
// differ in what the label may be and in corner cases listed in ketama.h.
enum class KetamaMode : uint8_t {
    kTwemproxy,     // twemproxy/nutcracker 0.5 `distribution: ketama`, `hash: md5`
    kLibmemcached,  // libmemcached MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED (pylibmc "ketama_weighted")
};

struct Node {
    // Explicit ketama label: twemproxy's optional name in "host:port:weight name". Empty: the
    // label is derived from host and port (ketama_label), which is what nearly every deployment
    // uses. Giving a name lets a node move to a new address and keep its keys.
    std::string name;
    std::string host;  // hostname or address as written; IPv6 without its brackets
    uint16_t port = 0;
    uint32_t weight = 1;  // share of the ring relative to the other nodes' weights; >= 1

    bool operator==(const Node&) const = default;
};

inline constexpr uint16_t kDefaultPort = 11211;
// A hostname is at most 255 bytes; twemproxy silently truncates longer "label-i" strings at 272
// bytes and libmemcached refuses them, so we refuse labels past this length.
inline constexpr size_t kMaxLabelLength = 255;

// The string whose "-0", "-1"... suffixes are hashed into a node's points:
//   explicit name                 twemproxy only (libmemcached has no names)
//   "host"                        when port is 11211 (both peers, for compatibility with the
//                                 original libketama, which hashed addresses without a port)
//   "host:port"                   otherwise; "[v6]:port" in twemproxy, "v6:port" in libmemcached
std::string ketama_label(const Node& node, KetamaMode mode);

// Parses one server entry, "host:port[:weight][ name]":
//   10.0.0.1:11211           weight 1, label "10.0.0.1"
//   cache-a.local:11212:3    weight 3, label "cache-a.local:11212"
//   10.0.0.2:11211:1 alpha   label "alpha" (twemproxy)
//   [fd00::1]:11211:2        IPv6 in brackets
// Port 1-65535 in plain decimal (no sign, no leading zero: the label hashes the port as
// written); weight 1-4294967295. Errors name the entry: kBadServer, kBadPort, kBadWeight,
// kBadName.
Result<Node, RingError> parse_node(std::string_view entry);

// Parses a comma-separated list of entries ("a:11211, b:11211:2"); blanks around entries are
// ignored. The first bad entry's error, or kEmpty for a list without entries.
Result<std::vector<Node>, RingError> parse_node_list(std::string_view list);

}  // namespace fulmar::ring
