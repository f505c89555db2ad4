// Fetching the ring from one node (ring_fetch.h).
#include "client/ring_fetch.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "client/tcp_exchange.h"

namespace fulmar::client {
namespace {

constexpr std::string_view kRingLine = "RING ";
constexpr std::string_view kNodeLine = "NODE ";
constexpr std::string_view kRequest = "ring\r\n";

uint64_t now_us() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
}

// Waits for `events` on fd until the deadline. 1 ready, 0 timed out, <0 errno.
int wait_for(int fd, short events, uint64_t deadline_us) {
    for (;;) {
        const uint64_t now = now_us();
        if (now >= deadline_us) return 0;
        pollfd p{fd, events, 0};
        const int ms = static_cast<int>((deadline_us - now + 999) / 1000);
        const int rc = ::poll(&p, 1, ms);
        if (rc > 0) return 1;
        if (rc < 0 && errno != EINTR) return -errno;
    }
}

class Fd {
  public:
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }

  private:
    int fd_;
};

}  // namespace

int parse_ring_reply(std::string_view text, ring::RingDoc& out) {
    // The document form (ring_doc.h) is the reply's lines without their
    // prefixes: its parser checks epochs, entries and names once for both.
    std::string doc;
    bool first = true;
    while (!text.empty()) {
        const size_t nl = text.find("\r\n");
        if (nl == std::string_view::npos) return -EAGAIN;
        const std::string_view line = text.substr(0, nl);
        text.remove_prefix(nl + 2);
        if (first) {
            if (line == "ERROR" || line.starts_with("CLIENT_ERROR") ||
                line.starts_with("SERVER_ERROR"))
                return -EIO;
            if (!line.starts_with(kRingLine)) return -EPROTO;
            doc = "epoch ";
            doc += line.substr(kRingLine.size());
            doc += '\n';
            first = false;
            continue;
        }
        if (line == "END") {
            if (!text.empty()) return -EPROTO;  // one request, one reply
            auto parsed = ring::parse_ring_doc(doc);
            if (!parsed) return -EPROTO;
            out = std::move(parsed.value());
            return 0;
        }
        if (!line.starts_with(kNodeLine)) return -EPROTO;
        doc += line.substr(kNodeLine.size());
        doc += '\n';
    }
    return -EAGAIN;
}

int fetch_ring(const Endpoint& node, uint64_t timeout_us, ring::RingDoc& out) {
    std::vector<TcpAddress> addr;
    if (const int rc = resolve_tcp(std::span(&node, 1), addr); rc != 0) return rc;
    const uint64_t deadline = now_us() + timeout_us;
    Fd fd(::socket(addr[0].addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) return -errno;
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr[0].addr), addr[0].len) != 0) {
        if (errno != EINPROGRESS) return -ETIMEDOUT;  // refused: unreachable, as TcpExchange says
        if (const int rc = wait_for(fd.get(), POLLOUT, deadline); rc <= 0)
            return rc == 0 ? -ETIMEDOUT : rc;
        int err = 0;
        socklen_t len = sizeof err;
        if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0)
            return -ETIMEDOUT;
    }
    size_t sent = 0;
    while (sent < kRequest.size()) {
        const ssize_t n =
            ::send(fd.get(), kRequest.data() + sent, kRequest.size() - sent, MSG_NOSIGNAL);
        if (n > 0) {
            sent += static_cast<size_t>(n);
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (const int rc = wait_for(fd.get(), POLLOUT, deadline); rc <= 0)
                return rc == 0 ? -ETIMEDOUT : rc;
            continue;
        }
        return -ETIMEDOUT;  // reset or closed
    }
    std::string reply;
    char buf[4096];
    for (;;) {
        const ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
        if (n > 0) {
            reply.append(buf, static_cast<size_t>(n));
            if (reply.size() > kMaxRingReply) return -EPROTO;
            const int rc = parse_ring_reply(reply, out);
            if (rc != -EAGAIN) return rc;
            continue;
        }
        if (n == 0) return -ETIMEDOUT;  // closed before the reply was whole
        if (errno == EINTR) continue;
        if (errno != EAGAIN) return -ETIMEDOUT;
        if (const int rc = wait_for(fd.get(), POLLIN, deadline); rc <= 0)
            return rc == 0 ? -ETIMEDOUT : rc;
    }
}

}  // namespace fulmar::client
