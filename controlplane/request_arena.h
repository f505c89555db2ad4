// The control plane's allocator over the request arena (shm::kCpArenaZone):
// the bytes of a request on its way to an owner worker live here, so a
// value of up to 1 MiB crosses to the owner in one piece, copied once (from
// the connection's input), with no fixed-size slot.
//
// Owned by the control plane's event loop thread; the owners only read the
// bytes of requests they were handed and never free them: the control plane
// frees a request's span when its reply comes back.
//
//   arena (one memzone, contiguous, same address in both processes)
//   +------------+------------------+-------------------+--------------+
//   | free       | in flight (oldest ... newest)         | free         |
//   +------------+------------------+-------------------+--------------+
//                ^ tail (oldest live span)              ^ head (next)
//
// A ring of spans handed out in order and freed in any order: the tail moves
// past a freed span only when every older one is freed too. A span never
// wraps: one that does not fit before the end starts again at 0.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>

namespace fulmar::controlplane {

struct ArenaSpan {
    char* data = nullptr;
    size_t size = 0;
    uint64_t seq = 0;  // names the span for release()
};

class RequestArena {
  public:
    RequestArena() = default;
    RequestArena(char* base, size_t bytes) : base_(base), bytes_(bytes) {}

    // A span of `n` bytes, or nothing while the arena is too full (the
    // caller waits for replies to free some).
    std::optional<ArenaSpan> allocate(size_t n);
    void release(uint64_t seq);

    size_t capacity() const { return bytes_; }
    size_t in_use() const { return used_; }
    size_t spans() const { return live_.size(); }

  private:
    struct Live {
        size_t offset = 0;
        size_t size = 0;  // including the gap skipped at the end, if any
        bool freed = false;
    };
    char* base_ = nullptr;
    size_t bytes_ = 0;
    size_t head_ = 0;  // next offset to hand out
    size_t used_ = 0;  // bytes between tail and head, gaps included
    std::deque<Live> live_;
    uint64_t front_seq_ = 0;  // seq of live_.front()
};

}  // namespace fulmar::controlplane
