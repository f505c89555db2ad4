// fulmarctl's admin socket client; see admin_client.h.
#include "admin_client.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <fmt/core.h>

#include <cerrno>
#include <cstring>

#include "proto/resp_writer.h"

namespace fulmar::fulmarctl {

Result<AdminClient, ClientError> AdminClient::connect(const std::string& path, int timeout_ms) {
    sockaddr_un sa{};
    if (path.size() >= sizeof sa.sun_path)
        return Err{ClientError{ClientErrorKind::kIo, fmt::format("{}: path too long", path)}};
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return Err{
            ClientError{ClientErrorKind::kIo, fmt::format("socket: {}", std::strerror(errno))}};
    AdminClient c(fd, path);
    timeval tv{.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sa.sun_family = AF_UNIX;
    std::memcpy(sa.sun_path, path.data(), path.size());
    if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
        const int e = errno;
        if (e == ENOENT || e == ECONNREFUSED)
            return Err{ClientError{
                ClientErrorKind::kNotRunning,
                fmt::format("no control plane at {}: is `tools/fulmar up` running?", path)}};
        return Err{ClientError{ClientErrorKind::kIo,
                               fmt::format("cannot connect to {}: {}", path, std::strerror(e))}};
    }
    return c;
}

AdminClient::AdminClient(AdminClient&& o) noexcept
    : fd_(o.fd_), path_(std::move(o.path_)), in_(std::move(o.in_)) {
    o.fd_ = -1;
}

AdminClient::~AdminClient() {
    if (fd_ >= 0) ::close(fd_);
}

Result<proto::RespValue, ClientError> AdminClient::call(const std::vector<std::string_view>& args) {
    std::string req;
    proto::RespWriter w(req);
    w.write_array(args.size());
    for (std::string_view a : args)
        w.write_bulk(a);
    for (size_t off = 0; off < req.size();) {
        const ssize_t n = ::send(fd_, req.data() + off, req.size() - off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            return Err{ClientError{ClientErrorKind::kIo,
                                   fmt::format("{}: send: {}", path_, std::strerror(errno))}};
        }
        off += static_cast<size_t>(n);
    }
    for (;;) {
        proto::RespValue v;
        std::string why;
        const proto::RespReplyResult r = proto::parse_resp_reply(in_, v, &why);
        if (r.status == proto::ParseStatus::kComplete) {
            in_.erase(0, r.consumed);
            return v;
        }
        if (r.status == proto::ParseStatus::kError)
            return Err{ClientError{ClientErrorKind::kProtocol,
                                   fmt::format("{}: not a RESP reply: {}", path_, why)}};
        char buf[16 * 1024];
        const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const std::string what = n == 0 ? std::string("the control plane closed the connection")
                                     : errno == EAGAIN ? std::string("no reply in time")
                                                       : std::string(std::strerror(errno));
            return Err{ClientError{ClientErrorKind::kIo, fmt::format("{}: {}", path_, what)}};
        }
        in_.append(buf, static_cast<size_t>(n));
    }
}

}  // namespace fulmar::fulmarctl
