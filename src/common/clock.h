// Wall clock in whole Unix seconds, injectable so TTL tests never sleep.
//
// A Clock is read by its owner (an lcore or the control plane loop) once per
// batch; the store itself never reads a clock, it takes `now` as an argument.
#pragma once

#include <atomic>
#include <cstdint>
#include <ctime>

namespace fulmar {

// Seconds since the Unix epoch. 32 bits last until 2106, the same horizon as
// memcached's rel_time_t plus its process start.
using UnixTime = uint32_t;

class Clock {
  public:
    virtual ~Clock() = default;
    virtual UnixTime now() const = 0;
};

class SystemClock final : public Clock {
  public:
    UnixTime now() const override { return static_cast<UnixTime>(::time(nullptr)); }
};

// Test clock: time moves only when the test says so.
class ManualClock final : public Clock {
  public:
    explicit ManualClock(UnixTime start = 1'700'000'000) : now_(start) {}
    UnixTime now() const override { return now_.load(std::memory_order_relaxed); }
    void set(UnixTime t) { now_.store(t, std::memory_order_relaxed); }
    void advance(uint32_t seconds) { now_.fetch_add(seconds, std::memory_order_relaxed); }

  private:
    std::atomic<UnixTime> now_;
};

}  // namespace fulmar
