// The TTL sweep pacer's control law; see sweep_pacer.h.
#include "sweep_pacer.h"

#include <algorithm>
#include <cmath>

namespace fulmar::controlplane {

SweepPacer::SweepPacer(const SweepPacerConfig& cfg, size_t n_shards)
    : cfg_(cfg), shards_(n_shards) {
    for (ShardPace& s : shards_) {
        s.rate = kMinRate;
        s.cycles_per_chunk = kInitialCyclesPerChunk;
        s.tokens = cap_cycles_per_second() * kBucketSeconds;
    }
}

double SweepPacer::cap_cycles_per_second() const {
    return cfg_.max_cpu * static_cast<double>(cfg_.tsc_hz);
}

void SweepPacer::advance(ShardPace& s, double now) {
    if (s.last_advance < 0) {
        s.last_advance = s.last_control = s.last_estimate = s.window_start = now;
        return;
    }
    const double dt = std::max(0.0, now - s.last_advance);
    s.last_advance = now;
    const double cap = cap_cycles_per_second();
    s.tokens = std::min(s.tokens + cap * dt, cap * kBucketSeconds);
    // Credit beyond one step is not kept: a shard held back by the cap
    // does not owe a burst afterwards.
    s.credit = std::min(s.credit + s.rate * dt, static_cast<double>(kMaxStepChunks));
    if (now - s.window_start >= 1.0) {
        s.cpu_share = static_cast<double>(s.window_cycles) /
                      (static_cast<double>(cfg_.tsc_hz) * (now - s.window_start));
        s.window_cycles = 0;
        s.window_start = now;
    }
    if (now - s.last_control >= kControlPeriod) {
        s.last_control = now;
        control(s, now);
    }
}

void SweepPacer::control(ShardPace& s, double now) {
    const double share = s.expired_share;
    const bool stuck = s.stuck_since >= 0 && now - s.stuck_since >= kStuckPage;
    if (share > cfg_.goal || stuck)
        s.rate *= 2.0;
    else if (share > cfg_.goal / 2)
        s.rate *= 1.25;
    else if (share <= cfg_.goal / 8)
        s.rate *= 0.85;
    // The cap in chunks per second, at the cost measured on the owner.
    const double max_rate = std::max(kMinRate, cap_cycles_per_second() / s.cycles_per_chunk);
    s.rate = std::clamp(s.rate, kMinRate, max_rate);
}

uint32_t SweepPacer::next_step(size_t shard, double now) {
    ShardPace& s = shards_[shard];
    advance(s, now);
    if (s.in_flight) return 0;
    if (s.in_pass) {
        s.in_flight = true;
        s.last_sent = now;
        return kMaxStepChunks;
    }
    if (cfg_.max_cpu <= 0 || s.tokens <= 0) return 0;
    const bool overdue = s.last_sent < 0 || now - s.last_sent >= kMaxStepInterval;
    if (s.credit < kMinStepChunks && !overdue) return 0;
    double budget = std::max(s.credit, static_cast<double>(kMinStepChunks));
    budget = std::min({budget, static_cast<double>(kMaxStepChunks), s.tokens / s.cycles_per_chunk});
    const auto chunks = static_cast<uint32_t>(std::max(1.0, budget));
    s.credit = std::max(0.0, s.credit - chunks);
    s.in_flight = true;
    s.last_sent = now;
    return chunks;
}

void SweepPacer::on_not_sent(size_t shard, uint32_t budget) {
    ShardPace& s = shards_[shard];
    s.in_flight = false;
    s.credit = std::min(s.credit + budget, static_cast<double>(kMaxStepChunks));
}

void SweepPacer::on_reply(size_t shard, const SweepReport& r, double now) {
    ShardPace& s = shards_[shard];
    s.in_flight = false;
    s.steps++;
    s.chunks += r.chunks;
    s.reclaimed += r.reclaimed;
    s.cycles += r.cycles;
    s.window_cycles += r.cycles;
    s.ttl_items = r.ttl_items;
    // A step that finished no page and stopped inside one: it spent its
    // whole budget on that due page (it may have started partway).
    if (r.mid_page && r.pages_done == 0) {
        if (s.stuck_since < 0) s.stuck_since = now;
    } else {
        s.stuck_since = -1;
    }
    if (!s.in_pass) s.tokens -= static_cast<double>(r.cycles);
    // Cost per unit of budget (a skipped page's descriptor is one).
    const uint32_t work = r.chunks + r.pages_skipped;
    if (work >= 64) {
        const double c = static_cast<double>(r.cycles) / work;
        s.cycles_per_chunk = 0.8 * s.cycles_per_chunk + 0.2 * c;
    }
    // The estimate: decay what was seen, add this step's sample: the TTL'd
    // items on the due pages it scanned. Pages passed over are not in it
    // (counting them at the shard's average density swamped the samples
    // whenever the cursor wrapped: measured, tools/bench/sweep_bench.py),
    // so the share leans high, never low.
    const double w = std::exp(-std::max(0.0, now - s.last_estimate) / kEstimateTau);
    s.last_estimate = now;
    s.seen_w = s.seen_w * w + r.ttl_seen;
    s.found_w = s.found_w * w + r.reclaimed;
    // A step that went once round the whole shard left nothing expired
    // behind it: what it found is gone.
    if (r.n_pages != 0 && r.pages_done >= r.n_pages) s.found_w = 0;
    if (r.ttl_items == 0)
        s.expired_share = 0;  // nothing left that can expire
    else
        s.expired_share = s.seen_w > 0 ? std::min(1.0, s.found_w / s.seen_w) : 0;
    if (s.in_pass) {
        s.pass_steps++;
        s.pass_reclaimed += r.reclaimed;
        // The cursor may be partway through a page: one page more.
        if (s.pass_pages_left < 0) s.pass_pages_left = int64_t{r.n_pages} + 1;
        s.pass_pages_left -= r.pages_done;
        // A pass is over once every page was finished or passed over (an
        // empty shard finishes none: over at once).
        if (s.pass_pages_left <= 0 || r.n_pages == 0) s.in_pass = false;
    }
}

void SweepPacer::start_full_pass() {
    for (ShardPace& s : shards_) {
        if (s.in_pass) continue;
        s.in_pass = true;
        s.pass_steps = 0;
        s.pass_reclaimed = 0;
        s.pass_pages_left = -1;  // known at the first reply (n_pages)
    }
}

bool SweepPacer::full_pass_running() const {
    return std::any_of(shards_.begin(), shards_.end(),
                       [](const ShardPace& s) { return s.in_pass; });
}

double SweepPacer::next_due(double now) const {
    double due = kMaxStepInterval;
    for (const ShardPace& s : shards_) {
        if (s.in_flight) continue;
        if (s.in_pass) return 0;
        if (cfg_.max_cpu <= 0) continue;
        double wait = s.last_sent < 0 ? 0 : s.last_sent + kMaxStepInterval - now;
        if (s.rate > 0) wait = std::min(wait, (kMinStepChunks - s.credit) / s.rate);
        if (s.tokens <= 0) wait = std::max(wait, -s.tokens / cap_cycles_per_second());
        due = std::min(due, std::max(0.0, wait));
    }
    return due;
}

}  // namespace fulmar::controlplane
