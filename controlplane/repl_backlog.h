// The primary's replication backlog: the last seconds of one shard's
// mutation records, kept so a replica that reconnects gets only what it
// missed (partial resync) instead of every item again.
//
// Owned by the control plane's loop thread (ReplPrimary): filled from the
// shard's mutation log as it is drained, read when a replica asks to resume.
//
//   chunks (each up to kChunkBytes of whole records, oldest first)
//   +----------------+----------------+-----------+
//   | seq 101..2040  | seq 2041..3990 | 3991..    |  <- append
//   +----------------+----------------+-----------+
//   trim: whole chunks go from the front once older than `seconds`
//   (their newest record) or past `max_bytes`.
//
// Positions are mutation seqs (repl/log_record.h): the backlog holds every
// record from first_seq() to last_seq() with no gap; a gap in the log (the
// owner dropped records) empties it, so nobody resumes across lost changes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

#include "repl/log_record.h"

namespace fulmar::controlplane {

class ReplBacklog {
  public:
    static constexpr size_t kChunkBytes = 256 * 1024;

    // A mutation record as drained from the log (r.h.seq is its position).
    // A seq that does not follow last_seq() starts the backlog afresh at it.
    void append(const repl::RecordView& r, std::string_view bytes);
    // Positions from which nothing is held yet but nothing was lost either:
    // the log was enabled when the owner had given out `seq`.
    void start_at(uint64_t seq);

    // Whether a replica that applied everything up to `seq` can be given
    // the rest from here.
    bool covers(uint64_t seq) const;
    // Appends to `out` every record after `seq` (covers(seq) must hold), as
    // the bytes that were appended.
    template <typename F>
    void for_each_after(uint64_t seq, F&& f) const {
        for (const Chunk& c : chunks_) {
            if (c.last_seq <= seq) continue;
            std::string_view b = c.bytes;
            while (!b.empty()) {
                repl::RecordView v;
                if (repl::parse_record(b, v) != repl::ParseStatus::kOk) return;
                if (v.h.seq > seq) f(v, b.substr(0, v.h.size));
                b.remove_prefix(v.h.size);
            }
        }
    }

    // Drops whole chunks older than `oldest_us` (their newest record's
    // time) or past `max_bytes`, the oldest first; never the newest chunk.
    void trim(uint64_t oldest_us, size_t max_bytes);

    uint64_t first_seq() const { return first_seq_; }  // the oldest held (last_seq + 1: none)
    uint64_t last_seq() const { return last_seq_; }
    size_t bytes() const { return bytes_; }
    // How many seconds of changes the backlog holds now (for INFO).
    double seconds_held(uint64_t now_us) const;
    uint64_t gaps() const { return gaps_; }

  private:
    struct Chunk {
        std::string bytes;
        uint64_t first_seq = 0;
        uint64_t last_seq = 0;
        uint64_t first_us = 0;
        uint64_t last_us = 0;
    };
    std::deque<Chunk> chunks_;
    uint64_t first_seq_ = 1;
    uint64_t last_seq_ = 0;
    bool started_ = false;
    size_t bytes_ = 0;
    uint64_t gaps_ = 0;
};

}  // namespace fulmar::controlplane
