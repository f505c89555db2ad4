// The bytes of cluster-wide PUBLISH between the control planes of a ring:
// the internal command one node sends another, who may send it, and the
// scan of the replies that come back.
//
// Used on the control plane's loop thread by PeerPublisher (the sending
// side, peer_publisher.h) and RespPubSub (the receiving side). No sockets
// here: unit-tested on its own (tests/controlplane).
//
// The wire form is an ordinary RESP multibulk on the cluster's RESP port,
//
//   *3\r\n$18\r\nfulmar.peerpublish\r\n$<n>\r\n<channel>\r\n$<n>\r\n<message>\r\n
//
// answered `:<local receivers>` (or an error). Why a RESP command on the
// client port, not a port or protocol of its own: every node already
// listens there (slot.resp_port, the port MOVED names), its parser, limits
// and requirepass apply unchanged, and no new port has to be opened or
// configured. The name has a dot, like a module's command, so no Redis
// client names it by chance. A receiver accepts it only from a peer
// address that is the host of another member of its current ring (the
// sender binds its end to its own member address) and never forwards it
// again; anyone else gets an error, so a client cannot make a node deliver
// a message it did not publish locally, short of sending from a member's
// address (the same trust the ring puts in those hosts; requirepass, when
// the cluster sets one, is checked first, as for every command).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "shm/ring_table.h"

namespace fulmar::controlplane {

inline constexpr std::string_view kPeerPublishCommand = "fulmar.peerpublish";

// Appends the internal command for `channel` and `message` to `out`.
void write_peer_publish(std::string& out, std::string_view channel, std::string_view message);
// Appends AUTH <password> (the first request on a connection to a peer,
// when this node has a requirepass: the nodes of a cluster share one).
void write_peer_auth(std::string& out, std::string_view password);

// The host of a ring member's "host:port" or "[v6]:port" address.
std::string_view member_host(std::string_view address);
// The IP of a connection's "ip:port" peer text.
std::string_view peer_ip(std::string_view addr);

// Whether `ip` is the host of a member of `ring`'s current ring other than
// this node (me). False without a ring or when this node is not a member.
bool ring_peer_host(const shm::RingShm& ring, std::string_view ip);

// A peer's replies, one line each (`:n`, `+OK` for AUTH, `-ERR ...`),
// scanned as they arrive in pieces of any size.
class PeerReplyScanner {
  public:
    void feed(std::string_view bytes);
    uint64_t replies() const { return replies_; }
    uint64_t delivered() const { return delivered_; }  // the sum of `:n`
    uint64_t errors() const { return errors_; }
    // The last error, without '-' and CRLF.
    const std::string& last_error() const { return last_error_; }
    void reset() { line_.clear(); }

  private:
    static constexpr size_t kMaxLine = 512;  // longer lines are cut (errors only)
    std::string line_;
    uint64_t replies_ = 0, delivered_ = 0, errors_ = 0;
    std::string last_error_;
};

}  // namespace fulmar::controlplane
