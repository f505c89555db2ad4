// Cluster-wide PUBLISH to the ring's other members; see peer_publisher.h.
#include "peer_publisher.h"

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/core.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>

namespace fulmar::controlplane {
namespace {

constexpr uint64_t kFirstBackoffMs = 100;
constexpr uint64_t kLongestBackoffMs = 2000;
constexpr uint64_t kConnectTimeoutMs = 2000;

std::string_view text_of(const char* p, size_t max) {
    size_t n = 0;
    while (n < max && p[n] != '\0')
        ++n;
    return {p, n};
}

void log(std::string_view endpoint, std::string_view text) {
    fmt::print("fulmar-controlplane: pubsub peer {}: {}\n", endpoint, text);
    std::fflush(stdout);
}

}  // namespace

uint64_t PeerPublisher::now_ms() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::steady_clock::now().time_since_epoch())
                                     .count());
}

// One peer's connection, its buffer and its retries.
class PeerPublisher::Peer final : public EventHandler {
  public:
    Peer(PeerPublisher& owner, std::string endpoint, in_addr_t ip, uint16_t port)
        : owner_(owner), endpoint_(std::move(endpoint)), ip_(ip), port_(port) {}
    ~Peer() override { close_fd(); }
    Peer(const Peer&) = delete;
    Peer& operator=(const Peer&) = delete;

    bool connected() const { return state_ == State::kUp; }

    void send(std::string_view bytes) {
        PeerPublisherStats& st = owner_.stats_;
        if (state_ == State::kIdle) {
            ++st.dropped_down;
            return;
        }
        if (out_.size() - off_ + bytes.size() > kPeerBufferLimit) {
            ++st.dropped_full;
            return;
        }
        ++st.forwarded;
        if (off_ > (size_t{1} << 20) && off_ * 2 > out_.size()) {
            out_.erase(0, off_);
            for (size_t& end : ends_)
                end -= off_;
            off_ = 0;
        }
        out_.append(bytes);
        ends_.push_back(out_.size());
        if (state_ == State::kUp) flush();
    }

    void tick(uint64_t now) {
        if (state_ == State::kIdle && now >= next_try_) start(now);
        if (state_ == State::kConnecting && now - started_ >= kConnectTimeoutMs)
            fail("connect timed out");
    }

    void on_event(uint32_t events) override {
        if (state_ == State::kConnecting) {
            int err = 0;
            socklen_t len = sizeof err;
            if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
            if (err != 0) {
                fail(std::strerror(err));
                return;
            }
            state_ = State::kUp;
            ++owner_.stats_.connects;
            backoff_ = 0;
            if (down_logged_) log(endpoint_, "connected");
            down_logged_ = false;
            flush();
            return;
        }
        if (state_ != State::kUp) return;
        if ((events & EPOLLIN) != 0 && !read_replies()) return;
        if ((events & (EPOLLERR | EPOLLHUP)) != 0 && (events & EPOLLIN) == 0) {
            fail("connection error");
            return;
        }
        if ((events & EPOLLOUT) != 0) flush();
    }

  private:
    enum class State : uint8_t { kIdle, kConnecting, kUp };

    void start(uint64_t now) {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            fail(std::strerror(errno));
            return;
        }
        fd_ = fd;
        const int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (owner_.my_ip_ != 0) {
            // From this node's member address: the one the receiver checks
            // (ring_peer_host). Where it is not local (NAT), the kernel's
            // choice; the receiver may refuse, and says so.
            sockaddr_in me{};
            me.sin_family = AF_INET;
            me.sin_addr.s_addr = owner_.my_ip_;
            (void)::bind(fd, reinterpret_cast<sockaddr*>(&me), sizeof me);
        }
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_addr.s_addr = ip_;
        to.sin_port = htons(port_);
        if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0 &&
            errno != EINPROGRESS) {
            fail(std::strerror(errno));
            return;
        }
        if (!owner_.loop_.add(fd, EPOLLOUT, this)) {
            fail(std::strerror(errno));
            return;
        }
        interest_ = EPOLLOUT;
        state_ = State::kConnecting;
        started_ = now;
        replies_.reset();
        if (owner_.password_) {
            const std::string pass = owner_.password_();
            if (!pass.empty()) write_peer_auth(out_, pass);
        }
    }

    // Writes what the kernel takes; EPOLLOUT while some is left.
    void flush() {
        while (off_ < out_.size()) {
            const ssize_t n =
                ::send(fd_, out_.data() + off_, out_.size() - off_, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n > 0) {
                off_ += static_cast<size_t>(n);
                while (!ends_.empty() && ends_.front() <= off_)
                    ends_.pop_front();
                continue;
            }
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
            fail(n == 0 ? "connection closed" : std::strerror(errno));
            return;
        }
        if (off_ == out_.size()) {
            out_.clear();
            ends_.clear();
            off_ = 0;
        }
        want(EPOLLIN | (off_ < out_.size() ? EPOLLOUT : 0u));
    }

    // The peer's answers: counted, never waited for. False when the
    // connection is gone.
    bool read_replies() {
        char buf[4096];
        for (;;) {
            const ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
            if (n > 0) {
                const uint64_t errors = replies_.errors();
                const uint64_t delivered = replies_.delivered();
                replies_.feed({buf, static_cast<size_t>(n)});
                owner_.stats_.refused += replies_.errors() - errors;
                owner_.stats_.delivered += replies_.delivered() - delivered;
                if (replies_.errors() != errors && !refusal_logged_) {
                    refusal_logged_ = true;
                    log(endpoint_, fmt::format("refused: {}", replies_.last_error()));
                }
                continue;
            }
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
            fail(n == 0 ? "closed by the peer" : std::strerror(errno));
            return false;
        }
    }

    void want(uint32_t events) {
        if (events == interest_ || fd_ < 0) return;
        if (owner_.loop_.modify(fd_, events, this)) interest_ = events;
    }

    // Down: what was not sent goes (at most once), a try later.
    void fail(std::string_view why) {
        PeerPublisherStats& st = owner_.stats_;
        ++st.connect_fails;
        const bool was_up = state_ == State::kUp;
        if (was_up || !down_logged_) {
            log(endpoint_, fmt::format("down ({}); retrying", why));
            down_logged_ = true;
        }
        // Messages not wholly handed to the kernel (what it took and lost
        // with the connection, no one can count).
        st.dropped_down += ends_.size();
        out_.clear();
        ends_.clear();
        off_ = 0;
        close_fd();
        state_ = State::kIdle;
        if (was_up) {
            // A working connection closed (the peer restarted, or its idle
            // timeout): try again at once, so what is published meanwhile
            // waits for the new one instead of being dropped.
            backoff_ = 0;
            start(PeerPublisher::now_ms());
            return;
        }
        backoff_ = backoff_ == 0 ? kFirstBackoffMs : std::min(backoff_ * 2, kLongestBackoffMs);
        next_try_ = PeerPublisher::now_ms() + backoff_;
    }

    void close_fd() {
        if (fd_ < 0) return;
        owner_.loop_.remove(fd_);
        ::close(fd_);
        fd_ = -1;
        interest_ = 0;
    }

    PeerPublisher& owner_;
    std::string endpoint_;
    in_addr_t ip_;
    uint16_t port_;
    int fd_ = -1;
    State state_ = State::kIdle;
    uint32_t interest_ = 0;
    std::string out_;
    size_t off_ = 0;
    std::deque<size_t> ends_;  // where each message not yet sent whole ends in out_
    uint64_t started_ = 0, next_try_ = 0, backoff_ = 0;
    bool down_logged_ = false, refusal_logged_ = false;
    PeerReplyScanner replies_;
};

PeerPublisher::PeerPublisher(EventLoop& loop, const shm::RingShm& ring,
                             std::function<std::string()> password)
    : loop_(loop), ring_(ring), password_(std::move(password)) {}

PeerPublisher::~PeerPublisher() = default;

size_t PeerPublisher::n_connected() const {
    size_t n = 0;
    for (const auto& [ep, p] : peers_)
        n += p->connected() ? 1 : 0;
    return n;
}

std::map<std::string, bool> PeerPublisher::peers() const {
    std::map<std::string, bool> out;
    for (const auto& [ep, p] : peers_)
        out.emplace(ep, p->connected());
    return out;
}

void PeerPublisher::sync_ring() {
    const uint32_t cur = ring_.current.load(std::memory_order_acquire);
    if (cur == seen_) return;
    seen_ = cur;
    // The wanted peers: every other member at the cluster's RESP port.
    std::map<std::string, std::pair<in_addr_t, uint16_t>> want;
    my_ip_ = 0;
    if (cur != 0) {
        const shm::RingSlot& s = ring_.slots[(cur - 1) % shm::kRingSlots];
        const uint32_t n = std::min(s.n_members, shm::kMaxRingMembers);
        // A node outside the ring (joining, not yet flipped) forwards
        // nothing: the members would not take it from its address.
        if (s.n_points != 0 && s.me >= 0 && static_cast<uint32_t>(s.me) < n) {
            const std::string mine(
                member_host(text_of(s.members[s.me].address, shm::kRingAddressMax)));
            in_addr a{};
            if (::inet_pton(AF_INET, mine.c_str(), &a) == 1) my_ip_ = a.s_addr;
            for (uint32_t i = 0; i < n; ++i) {
                if (static_cast<int32_t>(i) == s.me) continue;
                const std::string host(
                    member_host(text_of(s.members[i].address, shm::kRingAddressMax)));
                if (::inet_pton(AF_INET, host.c_str(), &a) != 1) {
                    log(host, "not an IPv4 address: no cluster-wide PUBLISH to it");
                    continue;
                }
                if (a.s_addr == my_ip_) continue;
                want.emplace(fmt::format("{}:{}", host, s.resp_port),
                             std::pair{a.s_addr, s.resp_port});
            }
        }
    }
    for (auto it = peers_.begin(); it != peers_.end();)
        it = want.contains(it->first) ? std::next(it) : peers_.erase(it);
    for (const auto& [ep, where] : want)
        if (!peers_.contains(ep))
            peers_.emplace(ep, std::make_unique<Peer>(*this, ep, where.first, where.second));
    tick();
}

void PeerPublisher::publish(std::string_view channel, std::string_view message) {
    sync_ring();
    if (peers_.empty()) return;
    msg_.clear();
    write_peer_publish(msg_, channel, message);
    for (auto& [ep, p] : peers_)
        p->send(msg_);
}

void PeerPublisher::tick() {
    sync_ring();
    if (peers_.empty()) return;
    const uint64_t now = now_ms();
    for (auto& [ep, p] : peers_)
        p->tick(now);
}

}  // namespace fulmar::controlplane
