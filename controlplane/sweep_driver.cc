// The sweep pacer's steps through the channel; see sweep_driver.h.
#include "sweep_driver.h"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace fulmar::controlplane {
namespace {

// Ticket: the bit, a sequence number, the shard in the low 16 bits.
constexpr unsigned kShardBits = 16;

}  // namespace

SweepDriver::SweepDriver(ShardChannel& channel, const SweepPacerConfig& cfg)
    : channel_(channel), pacer_(cfg, channel.n_shards()), budgets_(channel.n_shards(), 0) {}

double SweepDriver::clock_now() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

size_t SweepDriver::tick(double now) {
    size_t sent = 0;
    if (!active_) return 0;
    for (size_t s = 0; s < pacer_.n_shards(); ++s) {
        const uint32_t budget = pacer_.next_step(s, now);
        if (budget == 0) continue;
        const uint64_t ticket = kSweepTicketBit | (next_seq_++ << kShardBits) | s;
        dataplane::Message* msg = channel_.prepare_sweep(budget, ticket, want_keys_);
        if (msg == nullptr) {
            pacer_.on_not_sent(s, budget);
            continue;
        }
        budgets_[s] = budget;
        channel_.send(s, msg);
        ++sent;
    }
    return sent;
}

void SweepDriver::on_reply(const OwnerReply& r, double now) {
    if (r.sweep == nullptr) return;
    const size_t shard = r.ticket & ((uint64_t{1} << kShardBits) - 1);
    if (shard >= pacer_.n_shards()) return;
    const dataplane::SweepStep& st = *r.sweep;
    const bool was_running = pacer_.full_pass_running();
    pacer_.on_reply(shard,
                    SweepReport{.chunks = st.chunks,
                                .pages_skipped = st.pages_skipped,
                                .pages_done = st.pages_done,
                                .ttl_seen = st.ttl_seen,
                                .reclaimed = st.reclaimed,
                                .pages_used = st.pages_used,
                                .n_pages = st.n_pages,
                                .cycles = st.cycles,
                                .ttl_items = st.ttl_items,
                                .mid_page = st.mid_page != 0},
                    now);
    if (was_running && !pacer_.full_pass_running()) {
        auto waiters = std::move(pass_waiters_);
        pass_waiters_.clear();
        for (auto& w : waiters)
            w();
    }
}

int SweepDriver::wait_ms(double now) const {
    if (!active_) return 1000;  // nothing to send: no reason to wake early
    return static_cast<int>(std::ceil(pacer_.next_due(now) * 1000.0));
}

void SweepDriver::full_pass(std::function<void()> done) {
    pass_waiters_.push_back(std::move(done));
    pacer_.start_full_pass();
}

}  // namespace fulmar::controlplane
