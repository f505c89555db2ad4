// Drives the TTL sweep pacer (sweep_pacer.h) through the owners' inboxes:
// sends each shard the steps the pacer asks for (dataplane::MessageKind::
// kControlSweep), hands the owners' figures back to it, and runs SWEEP NOW
// passes for the admin socket.
//
// Owned by the control plane's loop thread; called from its loop (tick,
// replies whose ticket carries kSweepTicketBit) and from the admin server.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "shard_channel.h"
#include "sweep_pacer.h"

namespace fulmar::controlplane {

// Tickets of sweep steps carry this bit (the admin's carry kAdminTicketBit):
// the loop hands their replies to SweepDriver::on_reply.
inline constexpr uint64_t kSweepTicketBit = uint64_t{1} << 61;  // 63: admin, 62: UDP

class SweepDriver {
  public:
    SweepDriver(ShardChannel& channel, const SweepPacerConfig& cfg);

    // Sends the steps due at `now` (seconds, monotonic); returns how many.
    size_t tick(double now);
    void on_reply(const OwnerReply& r, double now);
    // DEBUG SET-ACTIVE-EXPIRE 0: tick() sends nothing until turned on again
    // (a SWEEP NOW pass waits for that too).
    void set_active(bool on) { active_ = on; }
    bool active() const { return active_; }
    // Milliseconds the loop may wait before tick() has something to send.
    int wait_ms(double now) const;

    // SWEEP NOW: a full pass over every shard; `done` runs once it is over
    // (on the loop thread, from on_reply).
    void full_pass(std::function<void()> done);

    // Whether the steps bring back the keys they free (Redis's expired
    // keyspace events) and the keys the owners evicted (evicted events): the
    // loop hands them to the Redis listener. While evicted keys are wanted,
    // a shard that got no step for kEventsInterval gets one of budget 0
    // (the keys only, no sweep): they never wait for the sweep's pace, nor
    // for DEBUG SET-ACTIVE-EXPIRE 1.
    void set_want_keys(bool expired, bool evicted) {
        want_expired_ = expired;
        want_evicted_ = evicted;
    }
    static constexpr double kEventsInterval = 0.05;

    const SweepPacer& pacer() const { return pacer_; }
    // Seconds on the loop's monotonic clock.
    static double clock_now();

  private:
    ShardChannel& channel_;
    SweepPacer pacer_;
    std::vector<uint32_t> budgets_;  // of the step in flight, per shard
    std::vector<double> last_sent_;  // when each shard last got a step (any)
    std::vector<bool> events_only_;  // a budget-0 step is in flight
    std::vector<std::function<void()>> pass_waiters_;
    uint64_t next_seq_ = 1;
    bool active_ = true;
    bool want_expired_ = false;
    bool want_evicted_ = false;

    uint32_t want_flags() const;
};

}  // namespace fulmar::controlplane
