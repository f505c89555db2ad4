#include "repl/mutation_log.h"

#include <algorithm>
#include <cstring>
#include <new>

namespace fulmar::repl {

size_t log_capacity_for(size_t bytes) {
    if (bytes < sizeof(LogShared) + 4096) return 0;
    size_t cap = 4096;
    while (cap * 2 + sizeof(LogShared) <= bytes)
        cap *= 2;
    return cap;
}

LogShared* init_log(std::span<std::byte> mem, size_t capacity) {
    if (capacity == 0 || (capacity & (capacity - 1)) != 0 || mem.size() < log_bytes(capacity))
        return nullptr;
    auto* s = new (mem.data()) LogShared();
    s->capacity = capacity;
    s->magic = kLogMagic;
    return s;
}

LogShared* attach_log(std::span<std::byte> mem) {
    if (mem.size() < sizeof(LogShared)) return nullptr;
    auto* s = reinterpret_cast<LogShared*>(mem.data());
    if (s->magic != kLogMagic || mem.size() < log_bytes(s->capacity)) return nullptr;
    return s;
}

bool LogWriter::write(RecordHeader& h, std::string_view key, std::string_view value,
                      size_t keep_free) {
    const size_t size = record_size(key.size(), value.size());
    const size_t off = static_cast<size_t>(head_ % cap_);
    // A record never wraps: the rest of the ring becomes a filler first.
    const size_t pad = cap_ - off < size ? cap_ - off : 0;
    const uint64_t need = pad + size + keep_free;
    if (head_ + need - tail_seen_ > cap_) {
        tail_seen_ = s_->tail.load(std::memory_order_acquire);
        if (head_ + need - tail_seen_ > cap_) return false;
    }
    if (pad != 0) {
        const uint32_t pad_size = static_cast<uint32_t>(pad);
        std::memcpy(data_ + off, &pad_size, sizeof(pad_size));
        data_[off + 4] = static_cast<std::byte>(RecordKind::kPad);
        head_ += pad;
    }
    std::byte* p = data_ + static_cast<size_t>(head_ % cap_);
    h.size = static_cast<uint32_t>(size);
    h.key_len = static_cast<uint8_t>(key.size());
    h.value_len = static_cast<uint32_t>(value.size());
    h.reserved0 = 0;
    h.reserved1 = 0;
    std::memcpy(p, &h, kRecordHeaderSize);
    if (!key.empty()) std::memcpy(p + kRecordHeaderSize, key.data(), key.size());
    if (!value.empty()) std::memcpy(p + kRecordHeaderSize + key.size(), value.data(), value.size());
    const size_t used = kRecordHeaderSize + key.size() + value.size();
    if (used != size) std::memset(p + used, 0, size - used);
    head_ += size;
    s_->head.store(head_, std::memory_order_release);
    return true;
}

bool LogWriter::append_mutation(RecordHeader h, std::string_view key, std::string_view value) {
    h.seq = ++seq_;
    s_->last_seq.store(seq_, std::memory_order_release);
    if (write(h, key, value, 0)) return true;
    s_->dropped.fetch_add(1, std::memory_order_relaxed);
    return false;
}

bool LogWriter::append_mirrored(const RecordView& r) {
    seq_ = r.h.seq;
    s_->last_seq.store(seq_, std::memory_order_release);
    RecordHeader h = r.h;
    if (write(h, r.key, r.value, 0)) return true;
    s_->dropped.fetch_add(1, std::memory_order_relaxed);
    return false;
}

bool LogWriter::append_snapshot(RecordHeader h, std::string_view key, std::string_view value,
                                size_t keep_free) {
    h.seq = seq_;
    return write(h, key, value, keep_free);
}

}  // namespace fulmar::repl
