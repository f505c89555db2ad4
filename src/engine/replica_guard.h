// Writes on a read-only replica: refused where the owner runs them, with an
// error that names the primary.
//
// Runs on the owner lcore of the write (every protocol's writes end there:
// RESP and memcached TCP through the control plane's channel, memcached
// UDP straight from the NIC), so one check covers all of them. The flag is
// shm::ReplicaState, written by the control plane.
#pragma once

#include <fmt/format.h>

#include <atomic>
#include <string>
#include <string_view>

#include "engine/command.h"
#include "engine/engine_ctx.h"
#include "engine/ring_guard.h"
#include "proto/reply_sink.h"
#include "shm/layout.h"

namespace fulmar::engine {

inline bool is_read_only_replica(const EngineCtx& ctx) {
    return ctx.shared != nullptr &&
           ctx.shared->replica.read_only.load(std::memory_order_relaxed) != 0;
}

inline std::string_view replica_primary(const EngineCtx& ctx) {
    const char* p = ctx.shared->replica.primary;
    size_t n = 0;
    while (n < shm::kPrimaryTextMax && p[n] != '\0')
        ++n;
    return {p, n};
}

// shm::ReplicaState::read_only: 1 a replica, 2 a primary fenced (its lease
// in etcd could not be renewed: another node may be taking writes).
inline bool is_fenced(const EngineCtx& ctx) {
    return ctx.shared->replica.read_only.load(std::memory_order_relaxed) == 2;
}

// Redis's error (clients such as redis-py map the READONLY prefix to their
// read-only error), with the primary named.
inline void refuse_resp_write(const EngineCtx& ctx, proto::ReplySink& out) {
    if (is_fenced(ctx)) {
        out.append(
            "-READONLY You can't write against a read only replica (this primary is fenced: its "
            "lease lapsed; writes resume when it is renewed or another primary is elected).\r\n");
        return;
    }
    out.append(
        fmt::format("-READONLY You can't write against a read only replica (primary {}).\r\n",
                    replica_primary(ctx)));
}

// memcached has no replicas; SERVER_ERROR is what its clients treat as "this
// server could not do it" (not a client error: the same write succeeds on
// the primary).
inline void refuse_mc_write(const EngineCtx& ctx, proto::ReplySink& out) {
    if (is_fenced(ctx)) {
        out.append("SERVER_ERROR fenced primary: its lease lapsed; retry\r\n");
        return;
    }
    out.append(fmt::format("SERVER_ERROR read only replica; write to the primary {}\r\n",
                           replica_primary(ctx)));
}

// A classic memcached command (its CommandSpec flags) that changes items,
// refused here: true when `out` holds the error.
// In cluster mode also a write to a key of another partition, or to one
// moving at a flip (ring_guard.h); `key` is the command's single key, empty
// for the others.
template <typename Spec>
bool refused_on_replica(const Spec& cmd, std::string_view key, const EngineCtx& ctx,
                        proto::ReplySink& out) {
    if (!cmd.has(kCmdWrite) && !cmd.has(kCmdAllShards)) return false;
    if (is_read_only_replica(ctx)) {
        refuse_mc_write(ctx, out);
        return true;
    }
    if (!cmd.has(kCmdWrite) || key.empty()) return false;
    const RingAnswer a = ring_check(ctx, key, true);
    if (a.verdict == RingVerdict::kServe) return false;
    write_mc_ring_error(a, out);
    return true;
}

}  // namespace fulmar::engine
