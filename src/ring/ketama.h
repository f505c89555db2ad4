// Ketama consistent hashing that places keys exactly where twemproxy/nutcracker or libmemcached
// place them for the same server list, so Fulmar's client, control plane and tools agree with
// the ketama clients already deployed.
//
// Threading: a Ketama is immutable after build(); any number of threads may call node_for()
// concurrently. Rebuild (and swap, e.g. behind RCU) to change the server list.
//
// The ring (libketama, 2007, as kept by both peers):
//
//   for each node i:   points_i = 4 * floor(float(w_i / W) * 160 / 4 * n)   W = sum of weights
//   for j in [0, points_i / 4):   d = MD5(label_i + "-" + j)
//                                 4 points: d[0..3], d[4..7], d[8..11], d[12..15] (little-endian)
//   sort points by (value, node index)
//   key -> h = MD5(key)[0..3] little-endian -> first point with value >= h, wrapping to point 0
//
//    0                                                                  2^32-1
//    |---a----b--a-------c----b-----a--c------b---------c----a-------b---|
//                 ^ h: owned by the next point clockwise (c)
//
// The share is computed in float and floored, so a node can get 4 points fewer than its exact
// share: 25 (or 47, 50, 55...) nodes of equal weight get 156 points each, not 160, and weights
// 1,1,1,10,12 get 28,28,28,320,380 instead of 32,32,32,320,384. We repeat the peers' float
// arithmetic step for step so the same rounding happens here (tests pin both cases).
//
// Where the peers differ (KetamaMode):
//   - labels: twemproxy accepts explicit names; libmemcached hashes host[:port] only;
//   - the empty key: twemproxy hashes it to 0 (-> the first point); libmemcached refuses empty
//     keys, we use MD5("") as for any key;
//   - twemproxy adds 1e-10 to the float share in double precision, libmemcached in float; it
//     changes the share only below 0.002 points, which floors to 0 either way, so the point
//     counts always agree.
// Ties between equal point values ((160 n)^2 / 2^33 expected per ring: 0.0003 for 10 nodes) go
// to the lower node index in both: libmemcached sorts by (value, index), twemproxy's qsort is
// glibc's stable merge sort over points inserted in node order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "ring/node.h"
#include "ring/ring_error.h"

namespace fulmar::ring {

// More nodes than any cache cluster has; bounds the ring at 10.5 M points (84 MB).
inline constexpr size_t kMaxNodes = 65536;
inline constexpr uint32_t kPointsPerNode = 160;  // of average weight
inline constexpr uint32_t kPointsPerDigest = 4;

// MD5(key), bytes 0-3 as a little-endian integer: the key hash of both peers (twemproxy
// `hash: md5`, libmemcached MEMCACHED_HASH_MD5).
uint32_t ketama_hash(std::string_view key);

class Ketama {
  public:
    // Builds the ring for `nodes` (copied as needed; the span may die afterwards). Errors:
    // kEmpty, kTooManyNodes, kBadWeight (weight 0 or sum above 2^32-1), kBadName (empty host,
    // label too long, a name in kLibmemcached mode), kDuplicateNode (two equal labels).
    static Result<Ketama, RingError> build(std::span<const Node> nodes, KetamaMode mode);

    // Index into the `nodes` given to build() of the node that owns `key`.
    uint32_t node_for(std::string_view key) const;
    // Same, from a hash already computed with ketama_hash().
    uint32_t node_for_hash(uint32_t hash) const;

    size_t n_points() const { return values_.size(); }
    // The points in ascending order and the node index of each (for tables
    // copied into shared memory: shm/ring_table.h).
    std::span<const uint32_t> point_values() const { return values_; }
    std::span<const uint32_t> point_owners() const { return owners_; }
    size_t n_nodes() const { return points_per_node_.size(); }
    // Points that node `node` holds; 0 when its weight share is below 1/(40 n).
    uint32_t points_of(uint32_t node) const { return points_per_node_[node]; }
    KetamaMode mode() const { return mode_; }

  private:
    Ketama() = default;

    // Point values and owners in separate arrays: lookup binary-searches 4-byte values, twice
    // as many per cache line as (value, owner) pairs, and touches owners_ once.
    std::vector<uint32_t> values_;
    std::vector<uint32_t> owners_;
    std::vector<uint32_t> points_per_node_;
    KetamaMode mode_ = KetamaMode::kTwemproxy;
};

}  // namespace fulmar::ring
