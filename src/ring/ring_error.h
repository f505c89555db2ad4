// Errors of the ring layer: a status per kind of mistake and a printable message.
//
// Any thread; plain values.
#pragma once

#include <cstdint>
#include <string>

namespace fulmar::ring {

enum class RingStatus : uint8_t {
    kEmpty,          // no servers: a ring needs at least one node
    kBadServer,      // a server entry is not "host:port[:weight][ name]"
    kBadPort,        // port missing, not decimal, 0, above 65535 or with a leading zero
    kBadWeight,      // weight 0, not decimal, or the weights sum past 2^32-1
    kBadName,        // empty host or name, or a ketama label too long to hash as peers do
    kDuplicateNode,  // two nodes hash the same label: one would never own a key
    kTooManyNodes,   // more than kMaxNodes
};

struct RingError {
    RingStatus status = RingStatus::kBadServer;
    // Complete and printable, naming the entry: "server '10.0.0.1:0': port must be 1-65535".
    std::string message;
};

// Short name of a status ("bad-port") for logs and the C client's error strings.
const char* ring_status_name(RingStatus status);

}  // namespace fulmar::ring
