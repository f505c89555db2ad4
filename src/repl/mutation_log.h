// A shard's mutation log: a single-producer, single-consumer ring of
// records (log_record.h) in hugepage memory shared by the dataplane and the
// control plane.
//
// Producer: the shard's owner lcore (LogWriter, called by store::Shard after
// every change it makes). Consumer: the control plane's loop thread
// (LogReader), which drains it every turn into its backlog and the replicas'
// streams. The owner never waits: a record that does not fit is dropped and
// counted, and its seq is used anyway, so the consumer sees the gap (its
// replicas of that shard resync) instead of the owner stalling or a UDP
// reply being late. Logging is off until the consumer turns it on (the
// first replica), so a node without replicas pays one predictable branch
// per write.
//
//   +-- LogShared (3 cache lines) --------------------------------------+
//   | producer: head (bytes published), last_seq, dropped, snap_dropped  |
//   | consumer: tail (bytes consumed), enabled                           |
//   | fixed:    capacity (a power of two), magic                         |
//   +-- data: capacity bytes --------------------------------------------+
//   | record | record | ... | pad (to the end) | wraps to 0              |
//   +--------------------------------------------------------------------+
//
// Positions are monotonic byte counts (position % capacity is the offset);
// a record never wraps: one that does not fit before the end is preceded
// by a kPad filler. Records are published by a release store of head, read
// after an acquire load of it; the consumer hands space back by a release
// store of tail.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <type_traits>

#include "repl/log_record.h"

namespace fulmar::repl {

inline constexpr uint64_t kLogMagic = 0x464d4c4f47763031ull;  // "FMLOGv01"

// LogShared::enabled.
inline constexpr uint32_t kLogOff = 0;
inline constexpr uint32_t kLogOwn = 1;
inline constexpr uint32_t kLogMirror = 2;

struct LogShared {
    alignas(64) std::atomic<uint64_t> head{0};  // producer writes
    std::atomic<uint64_t> last_seq{0};          // producer: last mutation seq given out
    std::atomic<uint64_t> dropped{0};           // producer: mutations that did not fit
    alignas(64) std::atomic<uint64_t> tail{0};  // consumer writes
    std::atomic<uint32_t> enabled{0};           // consumer: kLogOff | kLogOwn | kLogMirror
    alignas(64) uint64_t capacity = 0;          // fixed at creation
    uint64_t magic = 0;
};
static_assert(sizeof(LogShared) == 192);

// The bytes a log of `capacity` data bytes needs (header included).
inline size_t log_bytes(size_t capacity) {
    return sizeof(LogShared) + capacity;
}

// The largest power of two data capacity that fits in `bytes` with the
// header, or 0 when not even 4 KiB does.
size_t log_capacity_for(size_t bytes);

// Lays out a fresh log in `mem` (log_bytes(capacity) bytes, 64-aligned).
LogShared* init_log(std::span<std::byte> mem, size_t capacity);
// The log laid out in `mem` by init_log, or nullptr when it is not one.
LogShared* attach_log(std::span<std::byte> mem);

inline std::byte* log_data(LogShared* s) {
    return reinterpret_cast<std::byte*>(s) + sizeof(LogShared);
}

// Owner side. Not thread-safe: one owner lcore.
class LogWriter {
  public:
    LogWriter() = default;
    explicit LogWriter(LogShared* s) : s_(s), data_(log_data(s)), cap_(s->capacity) {
        seq_ = s->last_seq.load(std::memory_order_relaxed);
        head_ = s->head.load(std::memory_order_relaxed);
    }

    bool attached() const { return s_ != nullptr; }
    // One relaxed load of a line the consumer rarely writes.
    bool enabled() const {
        return s_ != nullptr && s_->enabled.load(std::memory_order_relaxed) != kLogOff;
    }
    // A primary's owner logs what it does.
    bool owns() const {
        return s_ != nullptr && s_->enabled.load(std::memory_order_relaxed) == kLogOwn;
    }
    // A replica's owner logs the records it applies.
    bool mirrors() const {
        return s_ != nullptr && s_->enabled.load(std::memory_order_relaxed) == kLogMirror;
    }
    uint64_t last_seq() const { return seq_; }

    // kLogMirror: a primary's mutation record, logged as it came, under its
    // own seq (which becomes this log's position).
    bool append_mirrored(const RecordView& r);
    // kLogMirror: a full sync starts at the primary's position `seq` (its
    // items are not logged: a replica resuming from this log held the state
    // at its own position already).
    void restart_at(uint64_t seq) {
        seq_ = seq;
        s_->last_seq.store(seq_, std::memory_order_release);
    }

    // A mutation: takes the next seq. False when it did not fit (counted in
    // `dropped`: the consumer sees the gap).
    bool append_mutation(RecordHeader h, std::string_view key, std::string_view value);
    // A snapshot record, placed after the last mutation (h.seq is set to
    // it). It is written only while at least `keep_free` bytes stay free
    // afterwards (the walk must never take the room mutations need); false
    // otherwise, and nothing is counted: the walk tries again later.
    bool append_snapshot(RecordHeader h, std::string_view key, std::string_view value,
                         size_t keep_free);
    // Bytes the consumer has not taken back yet.
    size_t used() const {
        return static_cast<size_t>(head_ - s_->tail.load(std::memory_order_acquire));
    }
    size_t capacity() const { return cap_; }

  private:
    bool write(RecordHeader& h, std::string_view key, std::string_view value, size_t keep_free);

    LogShared* s_ = nullptr;
    std::byte* data_ = nullptr;
    uint64_t cap_ = 0;
    uint64_t head_ = 0;
    uint64_t seq_ = 0;
    uint64_t tail_seen_ = 0;  // the consumer's tail as last read (refreshed when short)
};

// Consumer side: the control plane's loop thread.
class LogReader {
  public:
    LogReader() = default;
    explicit LogReader(LogShared* s) : s_(s), data_(log_data(s)), cap_(s->capacity) {}

    bool attached() const { return s_ != nullptr; }
    void enable(uint32_t mode = kLogOwn) { s_->enabled.store(mode, std::memory_order_release); }
    uint32_t mode() const { return s_->enabled.load(std::memory_order_relaxed); }
    // The owner stops logging (nobody will drain the log any more).
    void disable() { s_->enabled.store(kLogOff, std::memory_order_release); }
    bool enabled() const { return s_->enabled.load(std::memory_order_relaxed) != kLogOff; }
    uint64_t dropped() const { return s_->dropped.load(std::memory_order_relaxed); }
    uint64_t last_seq() const { return s_->last_seq.load(std::memory_order_acquire); }
    size_t pending_bytes() const {
        return static_cast<size_t>(s_->head.load(std::memory_order_acquire) -
                                   s_->tail.load(std::memory_order_relaxed));
    }

    // Hands each published record (up to about `max_bytes` of them) to
    // f(const RecordView&) or f(const RecordView&, std::string_view bytes)
    // (the whole record as written), in order, then gives their space back. A record
    // the owner could not have written (a corrupt ring) stops the drain and
    // returns false.
    template <typename F>
    bool drain(size_t max_bytes, F&& f) {
        const uint64_t head = s_->head.load(std::memory_order_acquire);
        uint64_t tail = s_->tail.load(std::memory_order_relaxed);
        const uint64_t start = tail;
        bool ok = true;
        while (tail != head && tail - start < max_bytes) {
            const size_t off = static_cast<size_t>(tail % cap_);
            const auto* p = reinterpret_cast<const char*>(data_ + off);
            uint32_t size = 0;
            __builtin_memcpy(&size, p, sizeof(size));
            if (static_cast<RecordKind>(p[4]) == RecordKind::kPad) {
                tail += cap_ - off;
                continue;
            }
            RecordView v;
            const std::string_view bytes(
                p, static_cast<size_t>(std::min<uint64_t>(cap_ - off, head - tail)));
            if (parse_record(bytes, v) != ParseStatus::kOk) {
                ok = false;
                break;
            }
            if constexpr (std::is_invocable_v<F, const RecordView&, std::string_view>)
                f(v, std::string_view(p, v.h.size));
            else
                f(v);
            tail += v.h.size;
        }
        s_->tail.store(tail, std::memory_order_release);
        return ok;
    }

  private:
    LogShared* s_ = nullptr;
    const std::byte* data_ = nullptr;
    uint64_t cap_ = 0;
};

}  // namespace fulmar::repl
