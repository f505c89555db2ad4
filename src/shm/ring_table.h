// The cluster ring as the dataplane's owners and the control plane's
// readers see it: which partition owns a key (ketama over partition
// names, src/ring), and, while a move is under way, which keys are frozen
// for the flip.
//
// Writer: the control plane's loop thread (controlplane/ring_state.h), the
// only one. Readers: every worker lcore and the control plane's sessions,
// once per client request that names a key, in cluster mode only (a node
// with no ring in etcd publishes none, and the check is one relaxed load).
//
//   RingShm (inside DataplaneShm)
//   +-------------------------------------------------------------+
//   | current: slot + 1 (0: no ring, serve every key)              |  cp: wo; any: ro
//   | pending: slot + 1 of the ring a move goes to (0: none)       |  cp: wo; any: ro
//   | frozen:  1 while writes to moving keys wait for the flip     |  cp: wo; owners: ro
//   | counters (moved reads/writes, frozen writes)                 |  any: add
//   +-------------------------------------------------------------+
//   | slots[kRingSlots]: RingSlot                                  |
//   |   epoch, n_points, n_members, me (member index or -1)        |
//   |   members[]: name, "host:port"                               |
//   |   values[n_points] (sorted), owners[n_points] (member index) |
//   +-------------------------------------------------------------+
//
// Slots instead of a lock: the writer fills a slot nobody has been told
// about, then publishes its number (release); a reader loads the number
// (acquire) and reads the slot. A slot is written again only after it has
// been out of use for kRingSlotGraceMs (RingState keeps the times): a
// lookup takes well under a microsecond, so a reader that started on it
// has long finished (an lcore is not preempted; a control plane reader is
// the writer's own thread).
#pragma once

#include <atomic>
#include <cstdint>

namespace fulmar::shm {

inline constexpr uint32_t kMaxRingMembers = 64;
// ketama gives each node at most 160 * n * w / W points (rounded down to
// 4): 160 per member plus slack.
inline constexpr uint32_t kMaxRingPoints = 160 * kMaxRingMembers + 4 * kMaxRingMembers;
inline constexpr uint32_t kRingSlots = 8;
inline constexpr uint64_t kRingSlotGraceMs = 1000;
inline constexpr size_t kRingNameMax = 48;
inline constexpr size_t kRingAddressMax = 64;

struct RingMember {
    char name[kRingNameMax];        // NUL-terminated partition name
    char address[kRingAddressMax];  // NUL-terminated "host:port" (memcached)
    uint32_t weight;
    uint32_t reserved;
};

struct alignas(64) RingSlot {
    uint64_t epoch;
    uint32_t n_points;
    uint32_t n_members;
    int32_t me;          // this node's partition among members, -1 when it has none
    uint16_t resp_port;  // the cluster's RESP port (MOVED names host:resp_port)
    uint16_t reserved;
    RingMember members[kMaxRingMembers];
    uint32_t values[kMaxRingPoints];  // point values, ascending
    uint8_t owners[kMaxRingPoints];   // member index of each point
};

struct alignas(64) RingShm {
    std::atomic<uint32_t> current{0};  // slot + 1; 0: no ring
    std::atomic<uint32_t> pending{0};  // slot + 1; 0: no move
    std::atomic<uint32_t> frozen{0};   // 1: refuse writes to keys current and pending disagree on
    uint32_t reserved = 0;
    // Client requests answered "not here" (a miss, MOVED, SERVER_ERROR) and
    // writes refused during a flip; relaxed adds, rare by construction.
    std::atomic<uint64_t> moved_reads{0};
    std::atomic<uint64_t> moved_writes{0};
    std::atomic<uint64_t> frozen_writes{0};
    RingSlot slots[kRingSlots];
};
static_assert(std::atomic<uint64_t>::is_always_lock_free);

}  // namespace fulmar::shm
