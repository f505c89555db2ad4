// Cluster-wide PUBLISH, the sending half: every message published on this
// node goes to the control plane of every other member of the cluster ring,
// which delivers it to its own subscribers (and forwards nothing).
//
// Owned by the Redis listener (McServer) on the control plane's loop
// thread, and driven by it: publish() from a PUBLISH, tick() from the
// loop (at most kWaitMs apart), on_event() from epoll. Nothing here blocks.
//
//   ring (shm::RingShm, written by RingState)      peers_
//   members[] - me  --(host, slot.resp_port)-->    "198.18.0.12:6379" -> Peer
//                                                  "198.18.0.13:6379" -> Peer
//
// One persistent TCP connection per peer keeps each publisher's messages
// in order at every peer (one loop thread appends them in PUBLISH order).
// The ring is looked at on every publish and tick (one load): peers come
// and go with members. Delivery is Redis's: at most once. While a peer is
// connecting (at once again when a working connection closes), messages
// wait in its buffer; while it is down (backing off between failed tries,
// 100 ms doubling to 2 s) they are dropped and counted, and
// what a broken connection had not sent is dropped too, so a node that
// comes back never gets minutes-old messages. A buffer holds at most
// kPeerBufferLimit bytes: past that a message is dropped and counted (a
// slow peer never makes this node block or grow).
//
// The wire form and who may send it: peer_publish_wire.h.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "event_loop.h"
#include "peer_publish_wire.h"
#include "shm/ring_table.h"

namespace fulmar::controlplane {

inline constexpr size_t kPeerBufferLimit = size_t{8} << 20;

struct PeerPublisherStats {
    uint64_t forwarded = 0;      // messages queued for a peer (one per peer)
    uint64_t dropped_full = 0;   // a peer's buffer was at its limit
    uint64_t dropped_down = 0;   // a peer was down, or its connection broke before they went
    uint64_t delivered = 0;      // the peers' receivers, as they answered
    uint64_t refused = 0;        // errors the peers answered
    uint64_t connects = 0;       // connections made
    uint64_t connect_fails = 0;  // tries that failed or timed out, and connections lost
};

class PeerPublisher {
  public:
    // `password`: this node's requirepass ("" none), sent as AUTH first.
    PeerPublisher(EventLoop& loop, const shm::RingShm& ring,
                  std::function<std::string()> password = {});
    ~PeerPublisher();
    PeerPublisher(const PeerPublisher&) = delete;
    PeerPublisher& operator=(const PeerPublisher&) = delete;

    // Sends PUBLISH `channel` `message` on to every peer.
    void publish(std::string_view channel, std::string_view message);
    // Follows the ring; connects, times out and retries.
    void tick();

    const PeerPublisherStats& stats() const { return stats_; }
    size_t n_peers() const { return peers_.size(); }
    size_t n_connected() const;
    // "host:port" of each peer, and whether it is connected (tests, INFO).
    std::map<std::string, bool> peers() const;

    // The loop's clock, in milliseconds (steady).
    static uint64_t now_ms();

  private:
    class Peer;
    void sync_ring();

    EventLoop& loop_;
    const shm::RingShm& ring_;
    std::function<std::string()> password_;
    uint32_t seen_ = 0;    // the ring slot (current) the peers follow
    in_addr_t my_ip_ = 0;  // this node's member address (network order), 0: none
    std::map<std::string, std::unique_ptr<Peer>> peers_;
    PeerPublisherStats stats_;
    std::string msg_;  // one message's bytes, reused
};

}  // namespace fulmar::controlplane
