// UDP transport: one connected, non-blocking socket per server, one ppoll().
//
// Connected sockets let the kernel drop datagrams from any other source
// address, and tell us which server a datagram came from without comparing
// addresses. A socket only ever reports our own sends' ICMP errors
// (ECONNREFUSED and the like); those are skipped: the request's timeout and
// retries decide, as they would for a silent loss.
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "client/transport.h"

namespace fulmar::client {
namespace {

// A multi-get fans out to every server at once and replies converge here; a
// larger receive buffer absorbs the burst the window allows (8 requests x up
// to ~100 datagrams of 1.4 KB per server). The kernel caps it at rmem_max.
constexpr int kReceiveBufferBytes = 4 << 20;

class UdpTransport final : public Transport {
  public:
    ~UdpTransport() override {
        for (const pollfd& p : fds_)
            ::close(p.fd);
    }

    int add(const Endpoint& e) {
        addrinfo hints{};
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_DGRAM;
        hints.ai_flags = AI_NUMERICSERV;
        addrinfo* res = nullptr;
        const std::string port = std::to_string(e.port);
        if (::getaddrinfo(e.host.c_str(), port.c_str(), &hints, &res) != 0 || res == nullptr)
            return -EHOSTUNREACH;
        const int fd = ::socket(res->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            const int err = errno;
            ::freeaddrinfo(res);
            return -err;
        }
        const int rcvbuf = kReceiveBufferBytes;
        // Best effort: a smaller buffer only means more retries under incast.
        (void)::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
        const int rc = ::connect(fd, res->ai_addr, res->ai_addrlen);
        const int err = errno;
        ::freeaddrinfo(res);
        if (rc != 0) {
            ::close(fd);
            return -err;
        }
        fds_.push_back(pollfd{fd, POLLIN, 0});
        return 0;
    }

    int send(uint32_t node, std::span<const std::byte> datagram) override {
        const ssize_t n = ::send(fds_[node].fd, datagram.data(), datagram.size(), MSG_DONTWAIT);
        return n < 0 ? -errno : 0;
    }

    long recv(uint64_t deadline_us, uint32_t& node, std::span<std::byte> buf) override {
        for (;;) {
            // Drain sockets poll() found readable before waiting again: one
            // ppoll() per burst, not per datagram.
            while (ready_pos_ < ready_.size()) {
                const uint32_t i = ready_[ready_pos_];
                const ssize_t n = ::recv(fds_[i].fd, buf.data(), buf.size(), MSG_DONTWAIT);
                if (n >= 0) {
                    node = i;
                    return static_cast<long>(n);
                }
                if (errno == EINTR) continue;
                ++ready_pos_;  // EAGAIN: drained; ECONNREFUSED etc.: see the file comment
            }
            const uint64_t now = now_us();
            const uint64_t wait_us = deadline_us > now ? deadline_us - now : 0;
            const timespec ts{static_cast<time_t>(wait_us / 1'000'000),
                              static_cast<long>(wait_us % 1'000'000) * 1000};
            const int n = ::ppoll(fds_.data(), fds_.size(), &ts, nullptr);
            if (n < 0) {
                if (errno == EINTR) continue;
                return -errno;
            }
            if (n == 0) return -ETIMEDOUT;
            ready_.clear();
            ready_pos_ = 0;
            for (uint32_t i = 0; i < fds_.size(); ++i)
                if (fds_[i].revents != 0) ready_.push_back(i);
        }
    }

    uint64_t now_us() override {
        timespec ts{};
        ::clock_gettime(CLOCK_MONOTONIC, &ts);
        return static_cast<uint64_t>(ts.tv_sec) * 1'000'000 +
               static_cast<uint64_t>(ts.tv_nsec) / 1000;
    }

  private:
    std::vector<pollfd> fds_;      // index = server index
    std::vector<uint32_t> ready_;  // servers the last ppoll() found readable
    size_t ready_pos_ = 0;
};

}  // namespace

int make_udp_transport(std::span<const Endpoint> endpoints, std::unique_ptr<Transport>& out) {
    auto t = std::make_unique<UdpTransport>();
    for (const Endpoint& e : endpoints) {
        const int rc = t->add(e);
        if (rc != 0) return rc;
    }
    out = std::move(t);
    return 0;
}

}  // namespace fulmar::client
