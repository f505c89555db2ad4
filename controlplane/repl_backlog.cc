#include "repl_backlog.h"

namespace fulmar::controlplane {

void ReplBacklog::start_at(uint64_t seq) {
    chunks_.clear();
    bytes_ = 0;
    first_seq_ = seq + 1;
    last_seq_ = seq;
    started_ = true;
}

void ReplBacklog::append(const repl::RecordView& r, std::string_view bytes) {
    if (!started_ || r.h.seq != last_seq_ + 1) {
        if (started_) ++gaps_;
        start_at(r.h.seq - 1);
    }
    if (chunks_.empty() || chunks_.back().bytes.size() + bytes.size() > kChunkBytes) {
        chunks_.emplace_back();
        chunks_.back().bytes.reserve(kChunkBytes);
        chunks_.back().first_seq = r.h.seq;
        chunks_.back().first_us = r.h.time_us;
    }
    Chunk& c = chunks_.back();
    c.bytes.append(bytes);
    c.last_seq = r.h.seq;
    c.last_us = r.h.time_us;
    bytes_ += bytes.size();
    last_seq_ = r.h.seq;
}

bool ReplBacklog::covers(uint64_t seq) const {
    return started_ && seq + 1 >= first_seq_ && seq <= last_seq_;
}

void ReplBacklog::trim(uint64_t oldest_us, size_t max_bytes) {
    while (chunks_.size() > 1 && (chunks_.front().last_us < oldest_us || bytes_ > max_bytes)) {
        bytes_ -= chunks_.front().bytes.size();
        first_seq_ = chunks_.front().last_seq + 1;
        chunks_.pop_front();
    }
}

double ReplBacklog::seconds_held(uint64_t now_us) const {
    if (chunks_.empty() || now_us < chunks_.front().first_us) return 0;
    return static_cast<double>(now_us - chunks_.front().first_us) / 1e6;
}

}  // namespace fulmar::controlplane
