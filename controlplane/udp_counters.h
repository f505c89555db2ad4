// The counters of the control plane's memcached UDP socket (mc_udp_server.h),
// declared once: the struct, the admin STATS names (cp_udp_<name>) and the
// Prometheus families (fulmar_cp_udp_<name>_total) come from this list.
//
// One writer (the control plane's loop thread); the admin socket and
// /metrics read it on the same thread. No DPDK: metrics_text renders it.
//
// X(name, description); names are exported: keep them stable.
#pragma once

#include <cstdint>
#include <string_view>

namespace fulmar::controlplane {

#define FULMAR_CP_UDP_COUNTERS(X)                                                             \
    X(requests, "memcached datagrams served (they came as IP fragments, kernel-reassembled)") \
    X(request_bytes, "payload bytes of those datagrams")                                      \
    X(reply_datagrams, "reply datagrams sent")                                                \
    X(reply_bytes, "reply payload bytes")                                                     \
    X(refused_client, "datagrams from outside allowed_clients (dropped)")                     \
    X(refused_admin, "stats/flush_all/verbosity, udp_admin_commands off (dropped)")           \
    X(bad_frame, "datagrams shorter than the frame header or with total != 1 (dropped)")      \
    X(busy_dropped, "datagrams dropped: too many requests in progress")                       \
    X(waits, "times a request waited for room in the channel to the owners")                  \
    X(timed_out, "requests whose owners did not answer in time (dropped)")                    \
    X(send_failed, "reply datagrams the socket did not take")

#define FULMAR_CP_UDP_FIELD(name, desc) uint64_t name = 0;
struct UdpServerStats {
    FULMAR_CP_UDP_COUNTERS(FULMAR_CP_UDP_FIELD)
};
#undef FULMAR_CP_UDP_FIELD

// f(name, description, value) for every counter, in list order.
template <typename F>
void for_each_counter(const UdpServerStats& s, F&& f) {
#define FULMAR_CP_UDP_VISIT(name, desc) f(std::string_view(#name), std::string_view(desc), s.name);
    FULMAR_CP_UDP_COUNTERS(FULMAR_CP_UDP_VISIT)
#undef FULMAR_CP_UDP_VISIT
}

}  // namespace fulmar::controlplane
