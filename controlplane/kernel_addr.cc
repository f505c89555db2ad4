// rtnetlink address changes; see kernel_addr.h.
#include "kernel_addr.h"

#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <fmt/core.h>

#include <cerrno>
#include <cstring>

namespace fulmar::controlplane {
namespace {

// A reply that does not come in this long is an error, never a hang of the
// loop thread (the kernel answers in microseconds).
constexpr int kReplyTimeoutMs = 1000;

struct AddrRequest {
    nlmsghdr nh;
    ifaddrmsg ifa;
    // IFA_LOCAL and IFA_ADDRESS, each a 4-byte rtattr then 4 bytes.
    char attrs[2 * RTA_SPACE(sizeof(uint32_t))];
};

void put_attr(AddrRequest& r, size_t& off, uint16_t type, uint32_t value) {
    auto* a = reinterpret_cast<rtattr*>(r.attrs + off);
    a->rta_type = type;
    a->rta_len = RTA_LENGTH(sizeof value);
    std::memcpy(RTA_DATA(a), &value, sizeof value);
    off += RTA_SPACE(sizeof value);
}

std::optional<std::string> change(bool add, const std::string& ifname, uint32_t addr_be) {
    const unsigned index = if_nametoindex(ifname.c_str());
    if (index == 0)
        return fmt::format("no interface {} in this network namespace ({})", ifname,
                           std::strerror(errno));
    AddrRequest r{};
    size_t off = 0;
    put_attr(r, off, IFA_LOCAL, addr_be);
    put_attr(r, off, IFA_ADDRESS, addr_be);
    r.nh.nlmsg_len = static_cast<uint32_t>(NLMSG_LENGTH(sizeof(ifaddrmsg)) + off);
    r.nh.nlmsg_type = add ? RTM_NEWADDR : RTM_DELADDR;
    r.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    if (add) r.nh.nlmsg_flags |= NLM_F_CREATE | NLM_F_EXCL;
    r.nh.nlmsg_seq = 1;
    r.ifa.ifa_family = AF_INET;
    r.ifa.ifa_prefixlen = 32;
    r.ifa.ifa_scope = RT_SCOPE_UNIVERSE;
    r.ifa.ifa_index = index;

    const int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) return fmt::format("netlink socket: {}", std::strerror(errno));
    const timeval tv{.tv_sec = kReplyTimeoutMs / 1000, .tv_usec = (kReplyTimeoutMs % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    std::optional<std::string> err;
    if (sendto(fd, &r, r.nh.nlmsg_len, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) <
        0) {
        err = fmt::format("netlink send: {}", std::strerror(errno));
    } else {
        alignas(nlmsghdr) char buf[4096];
        const ssize_t n = recv(fd, buf, sizeof buf, 0);
        const auto* h = reinterpret_cast<const nlmsghdr*>(buf);
        if (n < 0) {
            err = fmt::format("netlink reply: {}", std::strerror(errno));
        } else if (!NLMSG_OK(h, static_cast<size_t>(n)) || h->nlmsg_type != NLMSG_ERROR ||
                   h->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr))) {
            err = "netlink reply: not an acknowledgement";
        } else {
            const int code = -static_cast<const nlmsgerr*>(NLMSG_DATA(h))->error;
            // Already there / already gone: the state asked for holds.
            const bool holds = code == 0 || (add && code == EEXIST) ||
                               (!add && (code == EADDRNOTAVAIL || code == ENOENT));
            if (!holds)
                err = fmt::format("{} {}: {}", add ? "adding to" : "removing from", ifname,
                                  std::strerror(code));
        }
    }
    close(fd);
    return err;
}

}  // namespace

std::optional<std::string> kernel_addr_add(const std::string& ifname, uint32_t addr_be) {
    return change(true, ifname, addr_be);
}

std::optional<std::string> kernel_addr_remove(const std::string& ifname, uint32_t addr_be) {
    return change(false, ifname, addr_be);
}

}  // namespace fulmar::controlplane
