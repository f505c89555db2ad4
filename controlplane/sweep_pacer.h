// The TTL sweep pacer: how often, and how far, each shard's owner sweeps for
// expired items (store::Shard::sweep), decided by the control plane from
// what the steps find. Like Redis's active expire cycle, with a stated goal:
// at most `goal` of the items with a TTL expired but still resident, for at
// most `max_cpu` of each owner's core.
//
// Plain state and arithmetic, no DPDK: time and cycles are given by the
// caller (tests drive them by hand). SweepDriver (sweep_driver.h) sends the
// steps through the owners' inboxes and feeds the replies back here.
// Owned by the control plane's loop thread.
//
// Per shard:
//   estimate    expired share = EWMA(reclaimed) / EWMA(TTL'd items seen on
//               the due pages scanned), 1 s time constant; 0 after a step
//               that went round the whole shard (nothing expired is left
//               behind it). Expired-but-resident items ~ share x the shard's
//               TTL'd items. Both biases lean high: pages passed over (their
//               earliest exptime is ahead, nothing on them expired) are left
//               out, and the cursor finds the region swept longest ago (about
//               2x the shard's share for a steady expiry rate).
//   rate        chunks per second to visit; every kControlPeriod: x2 while
//               the share is above the goal, x1.25 above goal/2, x0.85 under
//               goal/8, held between (a dead band, so it settles instead of
//               oscillating around the goal); x2 too while the steps have
//               stayed on one due page for kStuckPage (a due page holds an
//               expired item; a large page of small chunks with a few TTL'd
//               items among live ones shows no expired share until the sweep
//               reaches them, and would take seconds at kMinRate: Redis
//               frees such keys within about a second); within [kMinRate,
//               the CPU cap].
//   CPU cap     a bucket of cycles filled at max_cpu x tsc_hz per second
//               (holding at most kBucketSeconds of it): a step is sent only
//               while the bucket is positive, its budget fits what is left
//               at the measured cycles per chunk, and the cycles the owner
//               reports (rte_rdtsc around the step) are taken out.
//   steps       one in flight per shard; sent when kMinStepChunks of credit
//               (rate x time) built up, or every kMaxStepInterval at least,
//               which keeps the owners' fallback sweep off (it starts after
//               1 s without a paced step); at most kMaxStepChunks each, so a
//               step holds the owner's loop for tens of microseconds.
//   full pass   `SWEEP NOW`: steps of kMaxStepChunks back to back, outside
//               the cap (an operator asked), until every page was looked at.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace fulmar::controlplane {

struct SweepPacerConfig {
    double goal = 0.01;     // share of TTL'd items expired but resident (sweep_goal_percent)
    double max_cpu = 0.05;  // share of an owner's core (sweep_max_cpu_percent)
    uint64_t tsc_hz = 0;    // the owners' TSC rate (cycles the steps report)
};

// What one step found, as the owner reported it (dataplane::SweepStep).
struct SweepReport {
    uint32_t chunks = 0;
    uint32_t pages_skipped = 0;
    uint32_t pages_done = 0;
    uint32_t ttl_seen = 0;
    uint32_t reclaimed = 0;
    uint32_t pages_used = 0;
    uint32_t n_pages = 0;
    uint64_t cycles = 0;
    uint64_t ttl_items = 0;
    bool mid_page = false;  // the step ended partway through a due page
};

// One shard's pacing state: what SWEEP, STATS and /metrics show.
struct ShardPace {
    double rate = 0;              // chunks per second the pacer aims to visit
    double expired_share = 0;     // estimated expired share of the TTL'd items
    uint64_t ttl_items = 0;       // the shard's items with a TTL (last reply)
    double cycles_per_chunk = 0;  // measured on the owner (EWMA)
    double cpu_share = 0;         // of the owner's core, over the last second
    uint64_t steps = 0;           // replies received
    uint64_t chunks = 0;          // chunks the steps visited
    uint64_t reclaimed = 0;       // expired items they freed
    uint64_t cycles = 0;          // cycles they took
    uint64_t pass_steps = 0;      // steps of the current (or last) full pass
    uint64_t pass_reclaimed = 0;  // expired items that pass freed
    bool in_flight = false;
    bool in_pass = false;  // a SWEEP NOW pass is running on this shard

    double expired_estimate() const { return expired_share * static_cast<double>(ttl_items); }

    // Internal: the law's memory.
    double credit = 0;   // chunks owed at `rate`
    double tokens = 0;   // cycles the cap still allows
    double seen_w = 0;   // EWMA of TTL'd items seen
    double found_w = 0;  // EWMA of expired items found
    double last_advance = -1;
    double last_control = 0;
    double last_estimate = 0;
    double last_sent = -1;
    double window_start = 0;
    uint64_t window_cycles = 0;
    int64_t pass_pages_left = 0;  // -1: a pass started, n_pages not known yet
    double stuck_since = -1;      // steps have ended on the same due page since then
};

class SweepPacer {
  public:
    static constexpr double kControlPeriod = 0.1;      // s between rate decisions
    static constexpr double kEstimateTau = 1.0;        // s, the estimate's memory
    static constexpr double kMaxStepInterval = 0.1;    // s: a step at least this often
    static constexpr double kBucketSeconds = 0.05;     // s of cap the bucket may hold
    static constexpr uint32_t kMinStepChunks = 256;    // the old fixed budget
    static constexpr uint32_t kMaxStepChunks = 16384;  // ~10-80 us on the owner
    static constexpr double kMinRate = kMinStepChunks / kMaxStepInterval;
    static constexpr double kInitialCyclesPerChunk = 50;
    static constexpr double kStuckPage = 0.25;  // s on one due page before the rate doubles

    SweepPacer(const SweepPacerConfig& cfg, size_t n_shards);

    // The budget (chunks) of the step to send to `shard` now, or 0 for
    // none; a nonzero answer counts the step in flight until on_reply or
    // on_not_sent. `now` in seconds, monotonic.
    uint32_t next_step(size_t shard, double now);
    // The step next_step() asked for could not be sent (no message free).
    void on_not_sent(size_t shard, uint32_t budget);
    void on_reply(size_t shard, const SweepReport& r, double now);

    // SWEEP NOW: a full pass over every shard, outside the cap.
    void start_full_pass();
    bool full_pass_running() const;

    // Seconds until some shard may want a step (the loop's epoll timeout).
    double next_due(double now) const;

    const ShardPace& shard(size_t i) const { return shards_[i]; }
    size_t n_shards() const { return shards_.size(); }
    const SweepPacerConfig& config() const { return cfg_; }
    // Cycles per second the cap allows each owner.
    double cap_cycles_per_second() const;

  private:
    void advance(ShardPace& s, double now);
    void control(ShardPace& s, double now);

    SweepPacerConfig cfg_;
    std::vector<ShardPace> shards_;
};

}  // namespace fulmar::controlplane
