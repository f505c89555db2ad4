// Creation and teardown of the message pool and the inboxes; see channels.h.
#include "channels.h"

#include <rte_errno.h>

#include <algorithm>

#include "handoff.h"
#include "shm/layout.h"

namespace fulmar::dataplane {
namespace {

// Per-lcore cache of the message pool: a burst of hand-offs takes no lock
// on the pool's ring (the control plane, not an EAL lcore, goes uncached).
constexpr unsigned kMessageCache = 256;

}  // namespace

Result<Channels, std::string> create_channels(const ChannelsConfig& cfg) {
    Channels c;
    const unsigned n_messages = cfg.n_messages != 0
                                    ? cfg.n_messages
                                    : static_cast<unsigned>(cfg.n_workers) * cfg.inbox_size - 1;
    const std::string pool_name = cfg.name_prefix + std::string(shm::kMessagePool);
    c.messages = rte_mempool_create(pool_name.c_str(), n_messages, kMessageSize,
                                    std::min(kMessageCache, n_messages / 2), 0, nullptr, nullptr,
                                    nullptr, nullptr, cfg.socket_id, 0);
    if (c.messages == nullptr)
        return Err{"cannot create the message pool " + pool_name + ": " + rte_strerror(rte_errno)};
    for (size_t i = 0; i < cfg.n_workers; ++i) {
        const std::string name = cfg.name_prefix + shm::inbox_ring_name(i);
        rte_ring* r = rte_ring_create(name.c_str(), cfg.inbox_size, cfg.socket_id, RING_F_SC_DEQ);
        if (r == nullptr) {
            free_channels(c);
            return Err{"worker " + std::to_string(i) + ": cannot create its inbox ring " + name +
                       ": " + rte_strerror(rte_errno)};
        }
        c.inboxes.push_back(r);
    }
    return c;
}

void free_channels(Channels& c) {
    for (rte_ring* r : c.inboxes)
        rte_ring_free(r);
    c.inboxes.clear();
    rte_mempool_free(c.messages);
    c.messages = nullptr;
}

}  // namespace fulmar::dataplane
