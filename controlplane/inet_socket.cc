// IPv4 sockets of the control plane; see inet_socket.h.
#include "inet_socket.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/core.h>

#include <cerrno>
#include <cstring>

namespace fulmar::controlplane {

Result<BoundSocket, std::string> bind_inet(int type, uint32_t addr, uint16_t port,
                                           std::string_view what, int backlog) {
    const int fd = ::socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return Err{fmt::format("{}: socket: {}", what, std::strerror(errno))};
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(addr);
    char ip[INET_ADDRSTRLEN] = {};
    ::inet_ntop(AF_INET, &sa.sin_addr, ip, sizeof ip);
    const auto fail = [&](std::string_view step) {
        const int e = errno;
        ::close(fd);
        return Err{fmt::format(
            "cannot {} {} on {}:{}: {}{}", step, what, ip, port, std::strerror(e),
            e == EADDRNOTAVAIL ? " (no interface holds that address: is the dataplane's "
                                 "kernel interface up?)"
                               : "")};
    };
    if (type == SOCK_STREAM) {
        const int one = 1;
        ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    }
    if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) return fail("bind");
    if (type == SOCK_STREAM && ::listen(fd, backlog) != 0) return fail("listen");
    socklen_t len = sizeof sa;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
    return BoundSocket{fd, ntohs(sa.sin_port)};
}

SendStatus send_some(int fd, std::string& out) {
    while (!out.empty()) {
        const ssize_t n = ::send(fd, out.data(), out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno == EAGAIN || errno == EWOULDBLOCK ? SendStatus::kBlocked
                                                           : SendStatus::kFailed;
        }
        out.erase(0, static_cast<size_t>(n));
    }
    return SendStatus::kDone;
}

}  // namespace fulmar::controlplane
