// The request arena's ring allocator; see request_arena.h.
#include "request_arena.h"

namespace fulmar::controlplane {
namespace {

constexpr size_t kAlign = 64;  // a cache line: two requests never share one

size_t round_up(size_t n) {
    return (n + kAlign - 1) & ~(kAlign - 1);
}

}  // namespace

std::optional<ArenaSpan> RequestArena::allocate(size_t n) {
    const size_t want = round_up(n == 0 ? 1 : n);
    if (want > bytes_) return std::nullopt;
    if (live_.empty()) {
        head_ = 0;
        used_ = 0;
    }
    const size_t tail = live_.empty() ? 0 : live_.front().offset;
    size_t at = head_;
    size_t gap = 0;
    if (live_.empty() || head_ > tail || (head_ == tail && used_ == 0)) {
        // Free space: [head, end) and [0, tail).
        if (bytes_ - head_ < want) {
            if (want > tail) return std::nullopt;
            gap = bytes_ - head_;  // skipped: the span starts again at 0
            at = 0;
        }
    } else if (tail - head_ < want) {
        return std::nullopt;  // free space is [head, tail) only
    }
    if (gap != 0 && !live_.empty()) live_.back().size += gap;
    live_.push_back({at, want, false});
    head_ = at + want;
    if (head_ == bytes_) head_ = 0;
    used_ += want + gap;
    return ArenaSpan{base_ + at, n, front_seq_ + live_.size() - 1};
}

void RequestArena::release(uint64_t seq) {
    if (seq < front_seq_ || seq - front_seq_ >= live_.size()) return;
    live_[seq - front_seq_].freed = true;
    while (!live_.empty() && live_.front().freed) {
        used_ -= live_.front().size;
        live_.pop_front();
        ++front_seq_;
    }
}

}  // namespace fulmar::controlplane
