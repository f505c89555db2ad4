// The control plane's channel to the owner workers: requests go into the
// owners' inboxes as typed messages (dataplane/handoff.h) with their bytes
// in the request arena; replies come back on the control plane's reply
// ring. Everything here was created by the primary and is found by name
// (shm/layout.h), so a restarted control plane finds it again.
//
// Owned by the control plane's event loop thread (the only producer of its
// requests and the only consumer of its ring).
//
//   connection -> submit(shard, bytes) -> arena copy -> Message
//     -> inbox of the owner (or, while the owner's inbox is full or too
//        much is in flight, a backlog kept in order per shard)
//   owner runs it -> Message rewritten into the reply -> fm_cp_replies
//   poll() -> on_reply(ticket, status, reply mbuf chain) -> arena span freed
//
// Backpressure: nothing is dropped and no worker waits. A full inbox or the
// in-flight limit keeps requests in the backlog; a long backlog or a full
// arena makes the connection wait (it stops reading its socket).
#pragma once

#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "engine/route.h"
#include "handoff.h"
#include "request_arena.h"
#include "shm/layout.h"

namespace fulmar::controlplane {

struct ChannelLimits {
    uint32_t max_inflight = 4096;  // messages at the owners at once
    // Requests waiting in the backlogs past which new requests wait in
    // their connections (which stop reading).
    size_t max_backlog = 4096;
};

// The owner's answer to one request.
struct OwnerReply {
    uint64_t ticket = 0;
    dataplane::ReplyStatus status = dataplane::ReplyStatus::kOk;
    const rte_mbuf* bytes = nullptr;  // chain of `len` bytes (null when none)
    uint32_t len = 0;
    // A sweep step's figures (kControlSweepDone); null for other replies.
    const dataplane::SweepStep* sweep = nullptr;
};

class ShardChannel {
  public:
    // Finds the pool, the inboxes, the reply ring and the arena of the
    // primary this process is attached to; waits (bounded) until no request
    // of a previous control plane is still at the owners.
    static Result<ShardChannel, std::string> attach(shm::DataplaneShm& shm, size_t n_shards,
                                                    const ChannelLimits& limits);

    ShardChannel(ShardChannel&&) = default;
    ShardChannel& operator=(ShardChannel&&) = default;
    ~ShardChannel();

    // A request of `bytes` for an owner, ready to send: the bytes copied into
    // the arena, a message taken from the pool. `parsed`, when valid, is the
    // classic request parsed from `bytes`: it is re-pointed at the arena copy,
    // so the owner does not parse it again. Null while there is no room (the
    // arena is full, no message is free, or the backlogs are long): the
    // connection waits and tries again after poll() freed some.
    dataplane::Message* prepare(std::string_view bytes, const engine::ParsedRequest* parsed,
                                uint64_t ticket);
    // A Redis request (one multibulk, engine::write_resp_request) for an
    // owner (dataplane::MessageKind::kControlResp); otherwise as prepare().
    // `flags`: dataplane::kRespFlag*.
    dataplane::Message* prepare_resp(std::string_view bytes, uint64_t ticket, uint8_t flags = 0);
    // Asks the owner to mark the item under `k` fetched if its CAS is still
    // `cas` (see dataplane::MessageKind::kControlMarkFetched).
    dataplane::Message* prepare_mark_fetched(const store::KeyRef& k, uint64_t cas, uint64_t ticket);
    // Asks the owner for one TTL sweep step of `budget` chunks (see
    // dataplane::MessageKind::kControlSweep); no bytes, no arena span. Null
    // while no message is free.
    // want_keys: the step sends back the keys it freed (expired events).
    // want_keys: dataplane::kSweepWantExpired | kSweepWantEvicted.
    dataplane::Message* prepare_sweep(uint32_t budget, uint64_t ticket, uint32_t want_keys = 0);
    // Sends a prepared request to `shard`'s owner, or queues it in order
    // behind that shard's backlog. Never fails.
    void send(size_t shard, dataplane::Message* msg);
    // Gives back a prepared request that will not be sent.
    void cancel(dataplane::Message* msg);
    // A request for every owner (flush_all now; scans, snapshots and
    // multi-key commands next): all of them sent, tickets[s] for shard s, or
    // none (false: no room now; try again after poll()).
    bool fan_out(std::string_view bytes, const engine::ParsedRequest* parsed,
                 std::span<const uint64_t> tickets,
                 dataplane::MessageKind kind = dataplane::MessageKind::kControlRequest);

    // Sends what the backlogs hold, as far as inboxes and limits allow, and
    // hands every reply on the ring to `on_reply`. Returns the replies seen.
    size_t poll(const std::function<void(const OwnerReply&)>& on_reply);

    size_t inflight() const { return inflight_; }
    size_t backlog() const { return backlog_size_; }
    const RequestArena& arena() const { return arena_; }
    size_t n_shards() const { return inboxes_.size(); }

  private:
    ShardChannel() = default;
    bool send_now(size_t shard, dataplane::Message* msg);
    bool has_room() const;
    void release_span(uint64_t ticket);
    void flush_backlogs();

    shm::DataplaneShm* shm_ = nullptr;
    rte_mempool* messages_ = nullptr;
    rte_ring* replies_ = nullptr;
    std::vector<rte_ring*> inboxes_;
    RequestArena arena_;
    ChannelLimits limits_;
    std::vector<std::deque<dataplane::Message*>> backlogs_;
    size_t backlog_size_ = 0;
    size_t prepared_ = 0;  // taken from the pool, not yet sent or given back
    size_t inflight_ = 0;
    // The arena span of each ticket at the owners.
    std::unordered_map<uint64_t, uint64_t> spans_;
    bool attached_ = false;
};

}  // namespace fulmar::controlplane
