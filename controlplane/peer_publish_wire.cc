// The internal command of cluster-wide PUBLISH; see peer_publish_wire.h.
#include "peer_publish_wire.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <iterator>

namespace fulmar::controlplane {
namespace {

void bulk(std::string& out, std::string_view s) {
    fmt::format_to(std::back_inserter(out), "${}\r\n", s.size());
    out.append(s);
    out.append("\r\n");
}

std::string_view text_of(const char* p, size_t max) {
    size_t n = 0;
    while (n < max && p[n] != '\0')
        ++n;
    return {p, n};
}

}  // namespace

void write_peer_publish(std::string& out, std::string_view channel, std::string_view message) {
    out.append("*3\r\n");
    bulk(out, kPeerPublishCommand);
    bulk(out, channel);
    bulk(out, message);
}

void write_peer_auth(std::string& out, std::string_view password) {
    out.append("*2\r\n");
    bulk(out, "AUTH");
    bulk(out, password);
}

std::string_view member_host(std::string_view address) {
    if (address.starts_with('[')) {
        const size_t end = address.find(']');
        return end == std::string_view::npos ? address.substr(1) : address.substr(1, end - 1);
    }
    const size_t colon = address.rfind(':');
    return colon == std::string_view::npos ? address : address.substr(0, colon);
}

std::string_view peer_ip(std::string_view addr) {
    return member_host(addr);
}

bool ring_peer_host(const shm::RingShm& ring, std::string_view ip) {
    const uint32_t cur = ring.current.load(std::memory_order_acquire);
    if (cur == 0 || ip.empty()) return false;
    const shm::RingSlot& s = ring.slots[(cur - 1) % shm::kRingSlots];
    if (s.n_points == 0 || s.me < 0) return false;
    const uint32_t n = std::min(s.n_members, shm::kMaxRingMembers);
    for (uint32_t i = 0; i < n; ++i) {
        if (static_cast<int32_t>(i) == s.me) continue;
        if (member_host(text_of(s.members[i].address, shm::kRingAddressMax)) == ip) return true;
    }
    return false;
}

void PeerReplyScanner::feed(std::string_view bytes) {
    while (!bytes.empty()) {
        const size_t nl = bytes.find('\n');
        const std::string_view part = bytes.substr(0, nl);
        if (line_.size() < kMaxLine) line_.append(part.substr(0, kMaxLine - line_.size()));
        if (nl == std::string_view::npos) return;
        bytes.remove_prefix(nl + 1);
        std::string_view line = line_;
        if (line.ends_with('\r')) line.remove_suffix(1);
        ++replies_;
        if (line.starts_with('-')) {
            ++errors_;
            last_error_.assign(line.substr(1));
        } else if (line.starts_with(':')) {
            uint64_t n = 0;
            const auto r = std::from_chars(line.data() + 1, line.data() + line.size(), n);
            if (r.ec == std::errc()) delivered_ += n;
        }
        line_.clear();
    }
}

}  // namespace fulmar::controlplane
