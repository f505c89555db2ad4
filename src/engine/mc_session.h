// One memcached text session: the bytes of a TCP connection (or of one UDP
// datagram) in, memcached 1.6.18's replies out, classic and meta commands
// mixed as memcached accepts them on one socket.
//
// Threading: owned by the connection's thread, which also owns the
// EngineCtx it runs on (and so every shard: see src/engine/README.md). A
// session holds the parser state that spans reads (the rest of a refused
// value still to be swallowed) and memcached's reply queue; it keeps no
// request bytes: the caller buffers what feed() did not consume.
//
// The reply queue. memcached does not write each reply at once: it queues
// them and writes the queue when a get family command has answered, after
// "mn", "quit" and every 20 requests or so (reqs_per_event), and when it runs
// out of input. Three effects of the queue show, and we reproduce them:
//   - a get refused for a key over 250 bytes drops every reply queued since
//     the last write ("set ..\r\nget <long key>\r\n" answers only the error);
//   - a connection closed for a line over 2048 bytes or an HTTP request
//     line drops its queue unsent;
//   - a queued mg reply holds the item it hit, and incr/decr/ma rewrite an
//     item in place only when nobody else holds it: on a held item they make
//     a new one, exactly as long as the number ("100" decremented reads back
//     "99", not "99 "). We note the items queued mg hits hold and undo the
//     shard's in-place padding on them.
// What we skip: replies leave the session at the end of every feed(), but
// memcached keeps them queued while it waits for the rest of a storage
// command's data or of a swallowed value, so a reply queued before such a
// split can be dropped there and not here. memcached also reads at most
// 16 KiB at a time, which moves its write points on a longer pipeline; we
// count requests from the start of each feed().
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/engine_ctx.h"
#include "engine/mc_executor.h"
#include "proto/mc_text.h"
#include "proto/reply_sink.h"

namespace fulmar::engine {

enum class McSessionStatus : uint8_t {
    kOpen,
    kClose,  // close the connection once the replies written are sent
};

struct McFeedResult {
    size_t consumed = 0;  // bytes to drop from the front of the input
    McSessionStatus status = McSessionStatus::kOpen;
    // The executor asked to wait: feed the unconsumed bytes again once it
    // can go on (they hold at least one complete request).
    bool waiting = false;
};

class McSession {
  public:
    // Runs requests on `ctx`'s shards, or through `exec` when given (the
    // control plane: see mc_executor.h; `ctx` then serves only what touches
    // no shard, such as version and verbosity).
    explicit McSession(EngineCtx& ctx, McExecutor* exec = nullptr);
    McSession(const McSession&) = delete;
    McSession& operator=(const McSession&) = delete;

    // Executes every complete request at the front of `in` (the bytes
    // received and not yet consumed) and appends their replies to `out`.
    // Call again with the unconsumed bytes and whatever arrived since. After
    // kClose, feed nothing more.
    McFeedResult feed(std::string_view in, proto::ReplySink& out);

    // Forgets any partial request, refused value or queued reply, keeping
    // buffer capacity: a UDP transport reuses one session for every
    // datagram (each is a request of its own) without allocating.
    void reset();

    // Bytes the first unconsumed request needs in all, when feed() stopped
    // inside a storage request whose size is known; else 0. A transport
    // may size its buffer from it.
    size_t needed() const { return needed_; }

  private:
    // The replies memcached would still hold; its capacity is kept across
    // requests, so queuing allocates only while a connection warms up.
    class Queue final : public proto::ReplySink {
      public:
        void append(std::string_view bytes) override { bytes_.append(bytes); }
        void append_deferred(uint64_t ticket) override {
            deferred_.push_back({bytes_.size(), ticket});
        }
        void flush_to(proto::ReplySink& out);
        void drop();
        // Whether a queued reply holds the item now stored under `k`; its
        // CAS in `cas` either way (0 when there is no item).
        bool holds(EngineCtx& ctx, const store::KeyRef& k, uint64_t& cas) const;
        void hold(EngineCtx& ctx, const store::KeyRef& k);

        std::string bytes_;
        // Items the queued replies hold, by key digest and CAS (an item's
        // CAS changes whenever it is rewritten, in place or not).
        struct Held {
            store::KeyDigest digest;
            uint64_t cas = 0;
        };
        std::vector<Held> held_;
        // Replies still at the owners (executor sessions), by their place in
        // bytes_.
        struct Deferred {
            size_t at = 0;
            uint64_t ticket = 0;
        };
        std::vector<Deferred> deferred_;
    };

    enum class Step : uint8_t { kNext, kNeedMore, kClose, kWait };

    // Handles the request (or swallowed bytes) at the front of `in`.
    Step step(std::string_view in, proto::ReplySink& out, McFeedResult& r);
    // A meta command at the front of `in`.
    Step feed_meta(std::string_view in, proto::ReplySink& out, McFeedResult& r);
    // After each request: memcached writes its queue every reqs_per_event.
    void count_request(proto::ReplySink& out);
    // Runs an incr/decr/ma (`op`) on `k` as memcached would when a queued
    // reply holds the item: a changed number is stored without padding.
    template <typename Op>
    void arith_on_held(std::string_view key, Op&& op);

    EngineCtx& ctx_;
    McExecutor* exec_;
    proto::McTextParser text_;
    uint64_t meta_swallow_ = 0;  // bytes of a refused ms data block still to drop
    size_t needed_ = 0;
    size_t requests_left_ = 0;  // before the next reqs_per_event write
    Queue queue_;
};

}  // namespace fulmar::engine
