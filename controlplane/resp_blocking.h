// Redis clients blocked in BLPOP, BRPOP, BLMOVE or BRPOPLPUSH: who waits on
// which key, in arrival order, and until when.
//
// Owned by the Redis listener (McServer) on the control plane's loop thread,
// which must never block: a blocked client's session (resp_session.h) only
// stops running its requests, and this registry tells it when to try again.
//
//   BLPOP k 5   session: one try at k's owner (engine: Redis's MULTI answer,
//               a null when nothing is there); meanwhile and after that
//               null, the client is registered here under k
//   RPUSH k v   any session sends the write to k's owner, then signal(k):
//               every waiter of k, longest waiting first, sends its try
//               again; the owner's inbox is FIFO, so each try runs after
//               the push (the first waiter gets the element, the others
//               their null again and stay)
//   tick        expire(): a waiter past its deadline is answered with the
//               null array (the session does it once no try is in flight)
//
// A try that succeeds (or errs) takes the client out; so does its
// connection closing. A waiter's own successful BLMOVE signals its
// destination, from its reply (never from a try: two BLMOVEs between the
// same empty lists would wake each other forever).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace fulmar::controlplane {

// What the registry asks of a blocked client (RespSession).
class BlockedClient {
  public:
    virtual ~BlockedClient() = default;
    // A write went to one of its keys: try the pop again.
    virtual void wake() = 0;
    // Its timeout passed; it is no longer registered.
    virtual void time_out() = 0;
};

class RespBlocking {
  public:
    // Milliseconds on the monotonic clock the deadlines use.
    static int64_t now_ms();

    // `c` waits on `keys` until `deadline_ms` (0: forever). A client is
    // registered once; a second block() replaces the first.
    void block(BlockedClient& c, std::span<const std::string_view> keys, int64_t deadline_ms);
    // `c` is served, or gone.
    void unblock(BlockedClient& c);
    // A write to `key` was sent: its waiters try again, in arrival order.
    void signal(std::string_view key);
    // `c` could not send its try (the channel was full): woken at the tick.
    void wake_later(BlockedClient& c) { later_.push_back(&c); }
    // Answers the waiters whose deadline passed, wakes those that asked.
    void expire(int64_t now_ms);

    bool any() const { return !waiters_.empty(); }
    // Redis INFO's blocked_clients.
    size_t blocked_clients() const { return waiters_.size(); }

  private:
    struct Waiter {
        BlockedClient* client;
        int64_t deadline_ms;
        std::vector<std::string> keys;
    };
    uint64_t next_seq_ = 1;
    std::map<uint64_t, Waiter> waiters_;                          // by arrival
    std::unordered_map<BlockedClient*, uint64_t> seq_of_;         // client -> arrival
    std::unordered_map<std::string, std::set<uint64_t>> by_key_;  // key -> arrivals
    std::vector<BlockedClient*> later_;
};

}  // namespace fulmar::controlplane
