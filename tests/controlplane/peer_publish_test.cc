// Cluster-wide PUBLISH (controlplane/peer_publish_wire.h, peer_publisher.h):
// the internal command's bytes, member addresses, who may forward, the
// reply scan at every cut; then a PeerPublisher on a real EventLoop with a
// loopback "peer" (127.0.0.2): messages in order, AUTH first, replies
// counted, reconnection after the peer drops it, a bounded buffer, and
// peers that follow the ring.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <string>

#include "event_loop.h"
#include "peer_publish_wire.h"
#include "peer_publisher.h"

namespace fulmar::controlplane {
namespace {

// A ring in `slot` (1-based `current`): members "host:11211", `me` among them.
void set_ring(shm::RingShm& ring, uint32_t current, std::initializer_list<const char*> hosts,
              int32_t me, uint16_t resp_port) {
    shm::RingSlot& s = ring.slots[current - 1];
    s.n_points = 1;
    s.n_members = static_cast<uint32_t>(hosts.size());
    s.me = me;
    s.resp_port = resp_port;
    size_t i = 0;
    for (const char* h : hosts) {
        std::memset(&s.members[i], 0, sizeof s.members[i]);
        const std::string a = std::string(h) + ":11211";
        std::memcpy(s.members[i].address, a.data(), a.size());
        ++i;
    }
    ring.current.store(current);
}

TEST(PeerPublishWire, CommandBytes) {
    std::string out;
    write_peer_publish(out, "news", "hello world");
    EXPECT_EQ(out, "*3\r\n$18\r\nfulmar.peerpublish\r\n$4\r\nnews\r\n$11\r\nhello world\r\n");
    out.clear();
    write_peer_publish(out, "", std::string("a\r\nb\0", 5));
    EXPECT_EQ(out,
              std::string("*3\r\n$18\r\nfulmar.peerpublish\r\n$0\r\n\r\n$5\r\na\r\nb\0\r\n", 46));
    out.clear();
    write_peer_auth(out, "pw");
    EXPECT_EQ(out, "*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n");
}

TEST(PeerPublishWire, HostsOfAddresses) {
    EXPECT_EQ(member_host("198.18.0.11:11211"), "198.18.0.11");
    EXPECT_EQ(member_host("[fd00::1]:11211"), "fd00::1");
    EXPECT_EQ(member_host("cache-a"), "cache-a");
    EXPECT_EQ(peer_ip("10.0.0.1:53422"), "10.0.0.1");
}

TEST(PeerPublishWire, OnlyOtherMembersMayForward) {
    auto ring = std::make_unique<shm::RingShm>();
    EXPECT_FALSE(ring_peer_host(*ring, "10.0.0.2"));  // no ring
    set_ring(*ring, 1, {"10.0.0.1", "10.0.0.2", "10.0.0.3"}, 0, 6379);
    EXPECT_TRUE(ring_peer_host(*ring, "10.0.0.2"));
    EXPECT_TRUE(ring_peer_host(*ring, "10.0.0.3"));
    EXPECT_FALSE(ring_peer_host(*ring, "10.0.0.1"));  // itself
    EXPECT_FALSE(ring_peer_host(*ring, "10.0.0.4"));
    EXPECT_FALSE(ring_peer_host(*ring, "10.0.0.22"));
    EXPECT_FALSE(ring_peer_host(*ring, ""));
    // Not a member itself: takes no one's.
    set_ring(*ring, 2, {"10.0.0.1", "10.0.0.2"}, -1, 6379);
    EXPECT_FALSE(ring_peer_host(*ring, "10.0.0.2"));
}

TEST(PeerReplyScanner, CountsAtEveryCut) {
    const std::string in = ":3\r\n+OK\r\n-ERR not from you\r\n:0\r\n:12\r\n";
    for (size_t cut = 0; cut <= in.size(); ++cut) {
        PeerReplyScanner s;
        s.feed(std::string_view(in).substr(0, cut));
        s.feed(std::string_view(in).substr(cut));
        EXPECT_EQ(s.replies(), 5u) << cut;
        EXPECT_EQ(s.delivered(), 15u) << cut;
        EXPECT_EQ(s.errors(), 1u) << cut;
        EXPECT_EQ(s.last_error(), "ERR not from you") << cut;
    }
    // A long error line is cut, not grown without bound.
    PeerReplyScanner s;
    s.feed("-" + std::string(100000, 'x') + "\r\n:1\r\n");
    EXPECT_EQ(s.errors(), 1u);
    EXPECT_LE(s.last_error().size(), 512u);
    EXPECT_EQ(s.delivered(), 1u);
}

// A listening "peer" on 127.0.0.2 (any port) and the publisher's loop.
class PeerPublisherTest : public ::testing::Test {
  protected:
    void SetUp() override {
        ring_ = std::make_unique<shm::RingShm>();
        lfd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        ASSERT_GE(lfd_, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(0x7f000002);
        ASSERT_EQ(::bind(lfd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        ASSERT_EQ(::listen(lfd_, 8), 0);
        socklen_t len = sizeof a;
        ::getsockname(lfd_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
    }
    void TearDown() override {
        if (cfd_ >= 0) ::close(cfd_);
        ::close(lfd_);
    }

    // Runs the loop and ticks until `done` or ~3 s.
    template <class F>
    bool spin(PeerPublisher& p, F done) {
        const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(3);
        while (std::chrono::steady_clock::now() < end) {
            loop_.run_once(5);
            p.tick();
            if (done()) return true;
        }
        return false;
    }
    void accept_peer(PeerPublisher& p) {
        if (cfd_ >= 0) ::close(cfd_);
        cfd_ = -1;
        ASSERT_TRUE(spin(p, [&] {
            cfd_ = ::accept4(lfd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
            return cfd_ >= 0;
        }));
        sockaddr_in from{};
        socklen_t len = sizeof from;
        ::getpeername(cfd_, reinterpret_cast<sockaddr*>(&from), &len);
        // From this node's member address.
        EXPECT_EQ(ntohl(from.sin_addr.s_addr), 0x7f000001u);
    }
    // Reads from the accepted socket until `n` bytes came.
    std::string read_peer(PeerPublisher& p, size_t n) {
        std::string got;
        spin(p, [&] {
            char buf[65536];
            const ssize_t r = ::recv(cfd_, buf, sizeof buf, MSG_DONTWAIT);
            if (r > 0) got.append(buf, static_cast<size_t>(r));
            return got.size() >= n;
        });
        return got;
    }

    EventLoop loop_;
    std::unique_ptr<shm::RingShm> ring_;
    int lfd_ = -1, cfd_ = -1;
    uint16_t port_ = 0;
};

TEST_F(PeerPublisherTest, SendsInOrderAuthFirstAndCountsReplies) {
    PeerPublisher p(loop_, *ring_, [] { return std::string("secret"); });
    p.publish("ch", "before any ring");  // no ring: nowhere to go
    EXPECT_EQ(p.n_peers(), 0u);
    set_ring(*ring_, 1, {"127.0.0.1", "127.0.0.2"}, 0, port_);
    p.tick();
    ASSERT_EQ(p.n_peers(), 1u);
    EXPECT_EQ(p.peers().begin()->first, "127.0.0.2:" + std::to_string(port_));
    // Published while connecting: waits in the buffer, in order.
    p.publish("ch", "one");
    p.publish("other", "two");
    accept_peer(p);
    std::string want;
    write_peer_auth(want, "secret");
    write_peer_publish(want, "ch", "one");
    write_peer_publish(want, "other", "two");
    EXPECT_EQ(read_peer(p, want.size()), want);
    EXPECT_EQ(p.n_connected(), 1u);
    const std::string replies = "+OK\r\n:2\r\n-ERR no\r\n";
    ASSERT_EQ(::send(cfd_, replies.data(), replies.size(), 0),
              static_cast<ssize_t>(replies.size()));
    EXPECT_TRUE(spin(p, [&] { return p.stats().refused == 1; }));
    EXPECT_EQ(p.stats().delivered, 2u);
    EXPECT_EQ(p.stats().forwarded, 2u);
    EXPECT_EQ(p.stats().connects, 1u);
}

TEST_F(PeerPublisherTest, ReconnectsAfterThePeerDropsIt) {
    PeerPublisher p(loop_, *ring_);
    set_ring(*ring_, 1, {"127.0.0.1", "127.0.0.2"}, 0, port_);
    p.tick();
    accept_peer(p);
    EXPECT_TRUE(spin(p, [&] { return p.n_connected() == 1; }));
    ::close(cfd_);
    cfd_ = -1;
    EXPECT_TRUE(spin(p, [&] { return p.n_connected() == 0; }));
    // A working connection closed: connecting again at once, so this waits
    // for the new connection.
    p.publish("ch", "meanwhile");
    accept_peer(p);
    EXPECT_TRUE(spin(p, [&] { return p.n_connected() == 1; }));
    EXPECT_EQ(p.stats().connects, 2u);
    EXPECT_EQ(p.stats().dropped_down, 0u);
    p.publish("ch", "after");
    std::string want;
    write_peer_publish(want, "ch", "meanwhile");
    write_peer_publish(want, "ch", "after");
    EXPECT_EQ(read_peer(p, want.size()), want);
    // The peer goes away altogether: the try at once fails, then messages
    // are dropped (counted) while it backs off.
    ::close(cfd_);
    cfd_ = -1;
    ::close(lfd_);
    lfd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    // The close, then the try at once, refused.
    EXPECT_TRUE(spin(p, [&] { return p.stats().connect_fails >= 3; }));
    p.publish("ch", "lost");
    EXPECT_EQ(p.stats().dropped_down, 1u);
}

TEST_F(PeerPublisherTest, ASlowPeerFillsABoundedBuffer) {
    PeerPublisher p(loop_, *ring_);
    set_ring(*ring_, 1, {"127.0.0.1", "127.0.0.2"}, 0, port_);
    p.tick();
    accept_peer(p);
    EXPECT_TRUE(spin(p, [&] { return p.n_connected() == 1; }));
    // The peer reads nothing: the kernel's buffers fill, then ours, then
    // messages are dropped (counted), never blocking.
    const std::string big(1 << 20, 'x');
    for (int i = 0; i < 64; ++i)
        p.publish("ch", big);
    EXPECT_GT(p.stats().dropped_full, 0u);
    EXPECT_GT(p.stats().forwarded, 8u);
    EXPECT_EQ(p.stats().forwarded + p.stats().dropped_full, 64u);
}

TEST_F(PeerPublisherTest, MessagesWaitingForAFailedConnectAreCountedDropped) {
    PeerPublisher p(loop_, *ring_);
    ::close(lfd_);  // nobody listens: the connect is refused
    lfd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    set_ring(*ring_, 1, {"127.0.0.1", "127.0.0.2"}, 0, port_);
    p.tick();
    for (int i = 0; i < 5; ++i)
        p.publish("ch", "m");
    EXPECT_TRUE(spin(p, [&] { return p.stats().connect_fails != 0; }));
    EXPECT_EQ(p.stats().forwarded, 5u);
    EXPECT_EQ(p.stats().dropped_down, 5u);
    p.publish("ch", "while down");
    EXPECT_EQ(p.stats().dropped_down, 6u);
    EXPECT_EQ(p.n_connected(), 0u);
}

TEST_F(PeerPublisherTest, PeersFollowTheRing) {
    PeerPublisher p(loop_, *ring_);
    set_ring(*ring_, 1, {"127.0.0.1", "127.0.0.2", "127.0.0.3"}, 0, port_);
    p.tick();
    EXPECT_EQ(p.n_peers(), 2u);
    // 127.0.0.3 leaves.
    set_ring(*ring_, 2, {"127.0.0.1", "127.0.0.2"}, 0, port_);
    p.tick();
    ASSERT_EQ(p.n_peers(), 1u);
    EXPECT_EQ(p.peers().begin()->first, "127.0.0.2:" + std::to_string(port_));
    // This node leaves the ring: it forwards to no one.
    set_ring(*ring_, 3, {"127.0.0.2"}, -1, port_);
    p.tick();
    EXPECT_EQ(p.n_peers(), 0u);
    ring_->current.store(0);
    p.tick();
    EXPECT_EQ(p.n_peers(), 0u);
}

}  // namespace
}  // namespace fulmar::controlplane
