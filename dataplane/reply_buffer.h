// The reply of one memcached datagram, gathered before it is cut into
// 1400-byte datagrams. Fixed capacity, allocated once per worker: the hot
// path never allocates. A reply that does not fit is replaced by memcached's
// own out-of-memory error for a get (the request is still answered).
//
// Owned by one worker lcore.
#pragma once

#include <cstring>
#include <memory>
#include <span>
#include <string_view>

#include "proto/reply_sink.h"

namespace fulmar::dataplane {

class ReplyBuffer final : public proto::ReplySink {
  public:
    explicit ReplyBuffer(size_t capacity)
        : buf_(std::make_unique<char[]>(capacity)), cap_(capacity) {}

    void append(std::string_view bytes) override {
        if (overflow_ || bytes.size() > cap_ - len_) {
            overflow_ = true;
            return;
        }
        std::memcpy(buf_.get() + len_, bytes.data(), bytes.size());
        len_ += bytes.size();
    }
    void clear() {
        len_ = 0;
        overflow_ = false;
    }
    bool overflow() const { return overflow_; }
    std::span<const char> bytes() const { return {buf_.get(), len_}; }

  private:
    std::unique_ptr<char[]> buf_;
    size_t cap_;
    size_t len_ = 0;
    bool overflow_ = false;
};

}  // namespace fulmar::dataplane
