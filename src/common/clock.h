// Wall clock in whole Unix seconds (memcached's TTLs, the store's horizons)
// and in milliseconds (Redis's PX/PEXPIRE), injectable so TTL tests never
// sleep.
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
    // Milliseconds since the Unix epoch; now() is this / 1000.
    virtual uint64_t now_ms() const = 0;
};

class SystemClock final : public Clock {
  public:
    UnixTime now() const override { return static_cast<UnixTime>(::time(nullptr)); }
    uint64_t now_ms() const override {
        timespec ts{};
        ::clock_gettime(CLOCK_REALTIME, &ts);
        return static_cast<uint64_t>(ts.tv_sec) * 1000 +
               static_cast<uint64_t>(ts.tv_nsec) / 1000000;
    }
};

// Test clock: time moves only when the test says so.
class ManualClock final : public Clock {
  public:
    explicit ManualClock(UnixTime start = 1'700'000'000) : ms_(uint64_t{start} * 1000) {}
    UnixTime now() const override { return static_cast<UnixTime>(now_ms() / 1000); }
    uint64_t now_ms() const override { return ms_.load(std::memory_order_relaxed); }
    void set(UnixTime t) { ms_.store(uint64_t{t} * 1000, std::memory_order_relaxed); }
    void advance(uint32_t seconds) {
        ms_.fetch_add(uint64_t{seconds} * 1000, std::memory_order_relaxed);
    }
    void advance_ms(uint64_t ms) { ms_.fetch_add(ms, std::memory_order_relaxed); }

  private:
    std::atomic<uint64_t> ms_;
};

}  // namespace fulmar
