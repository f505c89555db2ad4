// The cluster ring as etcd keeps it: an epoch and the partitions, each a
// named ketama node ("host:port:weight name", nutcracker's syntax), so the
// ring is ketama over partition names and a partition keeps its keys when
// its primary moves to another address.
//
// Any thread; plain values. Text form (etcd values, `fulmarctl ring`,
// the memcached `ring` command's body):
//
//   epoch 7
//   198.18.150.11:11211:1 alpha
//   198.18.150.12:11211:1 beta
//
// One member per line, in the ring's order (ketama breaks ties between
// equal points by member index, so the order is part of the placement).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "ring/ketama.h"
#include "ring/node.h"

namespace fulmar::ring {

struct RingDoc {
    uint64_t epoch = 0;
    std::vector<Node> members;  // every one named

    // The index of the member called `name`, or -1.
    int find(std::string_view name) const;
    bool operator==(const RingDoc&) const = default;
};

std::string format_ring_doc(const RingDoc& doc);
// Errors name the line: a member without a name, two with the same name,
// no epoch line, a bad entry.
Result<RingDoc, std::string> parse_ring_doc(std::string_view text);

// The ketama ring of a document (twemproxy mode: labels are the names).
Result<Ketama, RingError> build_ring(const RingDoc& doc);

// A partition name is usable in etcd keys, the text form and logs.
bool valid_partition_name(std::string_view name);

}  // namespace fulmar::ring
