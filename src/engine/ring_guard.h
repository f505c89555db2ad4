// Requests for keys this node does not own under the cluster ring: a miss
// for a memcached read, an error naming the owner for a write, MOVED for
// RESP; and, during a move's flip, writes to the moving keys refused for
// a moment (TRYAGAIN / SERVER_ERROR ... retry).
//
// Runs wherever a request's key is first known: the owner lcore for
// writes (every protocol's writes end there, so the freeze at a flip is
// exact: docs/ring.md), the control plane's sessions and the owners'
// gets for reads. The table is shm::RingShm (shm/ring_table.h), written by
// the control plane; without a ring the check is one relaxed load.
#pragma once

#include <cstdint>
#include <string_view>

#include "engine/engine_ctx.h"
#include "proto/reply_sink.h"
#include "ring/ring_doc.h"
#include "shm/layout.h"

namespace fulmar::engine {

enum class RingVerdict : uint8_t {
    kServe,   // this node owns the key (or there is no ring)
    kMoved,   // another partition owns it
    kFrozen,  // ours, moving to `owner` of the pending ring: writes wait for the flip
};

struct RingAnswer {
    RingVerdict verdict = RingVerdict::kServe;
    uint32_t hash = 0;                    // the key's ketama hash
    const shm::RingSlot* slot = nullptr;  // the ring that names `owner`
    uint32_t owner = 0;                   // member index in `slot`
};

// The member index owning `hash` in a published slot (n_points > 0).
uint32_t ring_slot_owner(const shm::RingSlot& slot, uint32_t hash);

RingAnswer ring_check_slow(shm::RingShm& ring, uint32_t current, std::string_view key, bool write);

inline RingAnswer ring_check(const EngineCtx& ctx, std::string_view key, bool write) {
    if (ctx.shared == nullptr) return {};
    const uint32_t cur = ctx.shared->ring.current.load(std::memory_order_acquire);
    if (cur == 0) [[likely]]
        return {};
    return ring_check_slow(ctx.shared->ring, cur, key, write);
}

// Whether the published ring gives `key` to this node (true without a
// ring); counts nothing (for walks, not client requests).
bool ring_serves_key(const EngineCtx& ctx, std::string_view key);

// Whether the published rings move `key` from this node to member `to` of
// the pending ring (true when either ring is missing: the caller filters
// again with its own copy).
bool ring_moves_key_to(const EngineCtx& ctx, std::string_view key, uint32_t to);

inline bool ring_active(const EngineCtx& ctx) {
    return ctx.shared != nullptr && ctx.shared->ring.current.load(std::memory_order_relaxed) != 0;
}

// Fills `slot` with `doc`'s ring as this node (partition `me`, "" for
// none) serves it. Returns "" or why not (more members or points than a
// slot holds).
std::string fill_ring_slot(const ring::RingDoc& doc, const ring::Ketama& ketama,
                           std::string_view me, uint16_t resp_port, shm::RingSlot& slot);

// "-MOVED <hash> <host>:<resp port>" (Redis Cluster's shape; the number is
// the key's ketama hash, not a slot) or "-TRYAGAIN ...".
void write_resp_ring_error(const RingAnswer& a, proto::ReplySink& out);
// "SERVER_ERROR moved: ..." / "SERVER_ERROR moving: ...; retry".
void write_mc_ring_error(const RingAnswer& a, proto::ReplySink& out);

}  // namespace fulmar::engine
