// A burst of get/gets requests answered together: every key's digest, then
// one bulk index look-up per shard with the item headers prefetched (the
// store does 9 M bulk reads/s against 3 M single ones), then the replies
// written straight into the caller's buffers.
//
// Owned by one worker lcore (its EngineCtx); allocates once, at
// construction. The dataplane fills it from the plain get datagrams of one RX
// burst (proto/mc_get_line.h), runs it, and writes each reply into its TX
// mbuf. A request whose reply cannot be made here (a value larger than a
// slot, or a reply longer than `max_reply` bytes, i.e. more than one
// datagram) is left to the full engine path, with nothing counted or changed
// for it here; every other request counts and behaves exactly as the classic
// engine's get (mc_get.h holds the shared pieces).
//
//   add(line) x n  ->  run(ctx)  ->  reply_len(i) / write_reply(i, dst)  ->  clear()
//
//   keys_[]   KeyRef (key view + digest) per key, requests' keys in order
//   reads_[]  Shard::BulkRead per key: value copied into values_[k * kValueSlot]
//   reqs_[]   first key, key count, gets?, reply length (0: full path)
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "engine/engine_ctx.h"
#include "proto/mc_get_line.h"
#include "store/shard.h"

namespace fulmar::engine {

class McGetBatch {
  public:
    static constexpr size_t kMaxKeys = 64;
    static constexpr size_t kMaxRequests = 32;
    // A value larger than this cannot share a one-datagram reply anyway.
    static constexpr size_t kValueSlot = 1408;

    // `max_reply`: the longest reply text served here (one datagram's worth).
    explicit McGetBatch(size_t max_reply);

    // Queues a request; false when it does not fit (run and clear first).
    bool add(const proto::McGetLine& line);
    size_t size() const { return n_reqs_; }
    bool empty() const { return n_reqs_ == 0; }

    // Looks every key up and settles each request served here.
    void run(EngineCtx& ctx);
    // After run(): the length of request i's reply, or 0 when the full
    // engine path must answer it instead.
    size_t reply_len(size_t i) const { return reqs_[i].reply_len; }
    // Writes request i's reply (reply_len(i) bytes) at `dst`.
    void write_reply(size_t i, char* dst) const;
    void clear() { n_reqs_ = n_keys_ = 0; }

  private:
    struct Request {
        uint8_t first_key;
        uint8_t n_keys;
        bool with_cas;
        uint32_t reply_len;
    };

    void read_all(EngineCtx& ctx, UnixTime now);
    void settle(EngineCtx& ctx, Request& r, UnixTime now);

    size_t max_reply_;
    size_t n_keys_ = 0;
    size_t n_reqs_ = 0;
    std::array<store::KeyRef, kMaxKeys> keys_;
    std::array<store::Shard::BulkRead, kMaxKeys> reads_;
    std::array<uint16_t, kMaxKeys> shard_of_{};
    std::array<Request, kMaxRequests> reqs_{};
    // Reads regrouped by shard when a burst spans several.
    std::array<store::Shard::BulkRead, kMaxKeys> grouped_;
    std::array<uint8_t, kMaxKeys> group_src_{};
    std::unique_ptr<char[]> values_;
};

}  // namespace fulmar::engine
