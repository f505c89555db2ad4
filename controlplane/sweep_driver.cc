// The sweep pacer's steps through the channel; see sweep_driver.h.
#include "sweep_driver.h"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace fulmar::controlplane {
namespace {

// Ticket: the bit, a sequence number, the shard in the low 16 bits; a
// step of budget 0 (evicted keys only) has one more bit.
constexpr unsigned kShardBits = 16;
// (60 is kRespTicketBit; the sequence stays far below bit 59.)
constexpr uint64_t kEventsOnlyBit = uint64_t{1} << 59;

}  // namespace

SweepDriver::SweepDriver(ShardChannel& channel, const SweepPacerConfig& cfg)
    : channel_(channel),
      pacer_(cfg, channel.n_shards()),
      budgets_(channel.n_shards(), 0),
      last_sent_(channel.n_shards(), 0),
      events_only_(channel.n_shards(), false) {}

uint32_t SweepDriver::want_flags() const {
    return (want_expired_ ? dataplane::kSweepWantExpired : 0u) |
           (want_evicted_ ? dataplane::kSweepWantEvicted : 0u);
}

double SweepDriver::clock_now() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

size_t SweepDriver::tick(double now) {
    size_t sent = 0;
    for (size_t s = 0; s < pacer_.n_shards(); ++s) {
        if (events_only_[s]) continue;
        const uint32_t budget = active_ ? pacer_.next_step(s, now) : 0;
        if (budget == 0) {
            // The evicted keys' own step, when the sweep sends none.
            if (!want_evicted_ || now - last_sent_[s] < kEventsInterval ||
                pacer_.shard(s).in_flight)
                continue;
            const uint64_t ticket =
                kSweepTicketBit | kEventsOnlyBit | (next_seq_++ << kShardBits) | s;
            dataplane::Message* msg = channel_.prepare_sweep(0, ticket, want_flags());
            if (msg == nullptr) continue;
            events_only_[s] = true;
            last_sent_[s] = now;
            channel_.send(s, msg);
            ++sent;
            continue;
        }
        const uint64_t ticket = kSweepTicketBit | (next_seq_++ << kShardBits) | s;
        dataplane::Message* msg = channel_.prepare_sweep(budget, ticket, want_flags());
        if (msg == nullptr) {
            pacer_.on_not_sent(s, budget);
            continue;
        }
        budgets_[s] = budget;
        last_sent_[s] = now;
        channel_.send(s, msg);
        ++sent;
    }
    return sent;
}

void SweepDriver::on_reply(const OwnerReply& r, double now) {
    if (r.sweep == nullptr) return;
    const size_t shard = r.ticket & ((uint64_t{1} << kShardBits) - 1);
    if (shard >= pacer_.n_shards()) return;
    if ((r.ticket & kEventsOnlyBit) != 0) {
        events_only_[shard] = false;  // no sweep: nothing for the pacer
        return;
    }
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
    // Evicted keys are fetched every kEventsInterval whatever the sweep does.
    const int events = want_evicted_ ? static_cast<int>(kEventsInterval * 1000) : 1000;
    if (!active_) return events;  // nothing else to send: no reason to wake early
    return std::min(events, static_cast<int>(std::ceil(pacer_.next_due(now) * 1000.0)));
}

void SweepDriver::full_pass(std::function<void()> done) {
    pass_waiters_.push_back(std::move(done));
    pacer_.start_full_pass();
}

}  // namespace fulmar::controlplane
