// Blocked Redis clients by key; see resp_blocking.h.
#include "resp_blocking.h"

#include <algorithm>
#include <chrono>

namespace fulmar::controlplane {

int64_t RespBlocking::now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

void RespBlocking::block(BlockedClient& c, std::span<const std::string_view> keys,
                         int64_t deadline_ms) {
    unblock(c);
    const uint64_t seq = next_seq_++;
    Waiter w{&c, deadline_ms, {}};
    for (std::string_view k : keys) {
        w.keys.emplace_back(k);
        by_key_[w.keys.back()].insert(seq);
    }
    waiters_.emplace(seq, std::move(w));
    seq_of_.emplace(&c, seq);
}

void RespBlocking::unblock(BlockedClient& c) {
    std::erase(later_, &c);
    const auto s = seq_of_.find(&c);
    if (s == seq_of_.end()) return;
    const uint64_t seq = s->second;
    seq_of_.erase(s);
    const auto w = waiters_.find(seq);
    if (w == waiters_.end()) return;
    for (const std::string& k : w->second.keys) {
        const auto b = by_key_.find(k);
        if (b == by_key_.end()) continue;
        b->second.erase(seq);
        if (b->second.empty()) by_key_.erase(b);
    }
    waiters_.erase(w);
}

void RespBlocking::signal(std::string_view key) {
    if (waiters_.empty()) return;
    const auto b = by_key_.find(std::string(key));
    if (b == by_key_.end()) return;
    // Copied first: a wake may take its client out (a send that answers at
    // once is still a reply later, but stay safe against any change).
    std::vector<BlockedClient*> wake;
    for (uint64_t seq : b->second)
        if (const auto w = waiters_.find(seq); w != waiters_.end())
            wake.push_back(w->second.client);
    for (BlockedClient* c : wake)
        if (seq_of_.contains(c)) c->wake();
}

void RespBlocking::expire(int64_t now_ms) {
    if (!later_.empty()) {
        std::vector<BlockedClient*> again;
        again.swap(later_);
        for (BlockedClient* c : again)
            if (seq_of_.contains(c)) c->wake();
    }
    std::vector<BlockedClient*> done;
    for (const auto& [seq, w] : waiters_)
        if (w.deadline_ms != 0 && w.deadline_ms <= now_ms) done.push_back(w.client);
    for (BlockedClient* c : done) {
        unblock(*c);
        c->time_out();
    }
}

}  // namespace fulmar::controlplane
