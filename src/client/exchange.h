// Exchange: sends a batch of requests to their servers and collects whole
// replies, all servers in flight at once, from one thread.
//
// Owned by one fulmar_client; one thread. It knows datagrams, request ids,
// deadlines and the window, and of memcached commands only when a reply is
// whole (a reply may span several messages: reassembly.h); callers build the
// request text and read the replies (text_request.h, text_reply.h).
//
// At most kMaxInFlight requests are in flight in all (a quarter of the 16-bit
// id space, so ids never run out and one is reused only after ~65,000 sends,
// long after any late reply to it died), whatever window x servers allows.
//
// Per request: a fresh 16-bit request id per attempt (a late reply to an
// earlier attempt is then a stray, never mixed into the new one), a deadline
// of now + timeout, resent up to max_attempts times, then kTimedOut. Per
// server: at most `window` requests in flight; the rest wait in send order,
// resends first. Datagrams are matched by request id and sender; strays,
// duplicates and malformed headers are counted and dropped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>
#include <unordered_map>
#include <vector>

#include "client/reassembly.h"
#include "client/transport.h"

namespace fulmar::client {

// How to tell that a reply is whole.
enum class ReplyFraming : uint8_t {
    kOneMessage,     // writes: one line, one message
    kValuesThenEnd,  // get/gets: messages until the text ends with END (or an error)
};

struct Request {
    // in
    uint32_t node = 0;
    ReplyFraming framing = ReplyFraming::kOneMessage;
    uint32_t max_attempts = 1;
    std::vector<std::byte> datagram;  // 8 bytes of frame header (filled at send), then text
    // out
    int status = 0;           // 0: reply whole in `reply`; -ETIMEDOUT; -errno of the transport
    std::vector<char> reply;  // the reassembled reply text
    uint32_t attempts = 0;
    size_t scan_cursor = 0;  // kValuesThenEnd: how much of `reply` is known whole
};

inline constexpr uint32_t kMaxInFlight = 16'384;

struct ExchangeConf {
    uint64_t timeout_us = 250'000;
    uint32_t window = 8;
};

// Counts since the client was created; read by tests through test_transport.h.
struct ExchangeStats {
    uint64_t datagrams_sent = 0;
    uint64_t send_errors = 0;
    uint64_t datagrams_received = 0;
    uint64_t bad_headers = 0;  // shorter than 8 bytes, or sequence/total inconsistent
    uint64_t strays = 0;       // request id not in flight, or from another server
    uint64_t duplicates = 0;
    uint64_t resends = 0;
    uint64_t timeouts = 0;             // requests given up
    uint32_t max_in_flight = 0;        // most requests in flight to one server at once
    uint32_t max_total_in_flight = 0;  // most requests in flight at once
};

class Exchange {
  public:
    Exchange(Transport& transport, uint32_t n_nodes, ExchangeConf conf, uint16_t first_id);

    // Runs every request to completion (reply or timeout). Returns 0, or the
    // transport's negative errno when waiting failed: requests not finished
    // then carry that status.
    int run(std::span<Request> requests);

    const ExchangeStats& stats() const { return stats_; }

  private:
    struct Slot {
        uint32_t request = 0;
        uint16_t id = 0;
        bool in_use = false;
        Reassembly reassembly;
    };
    struct Deadline {
        uint64_t at_us;
        uint16_t id;
    };

    void send_ready(std::span<Request> requests);
    void send_one(std::span<Request> requests, uint32_t r);
    void expire(std::span<Request> requests, uint64_t now_us);
    void on_datagram(std::span<Request> requests, uint32_t node, std::span<const std::byte> d);
    void finish(std::span<Request> requests, uint32_t slot, int status);
    void release(uint32_t node);
    void mark(uint32_t node);
    uint16_t allocate_id();

    Transport& transport_;
    ExchangeConf conf_;
    uint16_t next_id_;
    ExchangeStats stats_;

    // Per server: requests waiting for room in the window, and how many are in flight.
    std::vector<std::deque<uint32_t>> waiting_;
    std::vector<uint32_t> in_flight_;
    std::vector<uint32_t> nodes_to_fill_;  // servers that may have room and waiting requests
    std::vector<uint8_t> node_marked_;     // 1 while in nodes_to_fill_
    // Servers with room in their window but none in the id space (kMaxInFlight).
    std::vector<uint32_t> nodes_blocked_;
    uint32_t total_in_flight_ = 0;

    std::vector<Slot> slots_;
    std::vector<uint32_t> free_slots_;
    std::unordered_map<uint16_t, uint32_t> slot_of_id_;
    // Attempts in send order. One timeout for all makes their deadlines
    // ascend, so the earliest is always at the front; entries of attempts that
    // already finished are skipped when they reach it.
    std::deque<Deadline> deadlines_;
    size_t n_unfinished_ = 0;
    std::vector<std::byte> rx_buf_;
};

}  // namespace fulmar::client
