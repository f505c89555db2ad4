// Exchange of request and reply datagrams: window, deadlines, retries and
// request-id matching over one Transport; see exchange.h.
#include "client/exchange.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "client/text_reply.h"
#include "common/assert.h"
#include "proto/mc_frame.h"

namespace fulmar::client {
namespace {

constexpr int kPending = 1;  // Request::status while the request is unfinished
// Largest UDP payload over IPv4; a reply datagram never exceeds it.
constexpr size_t kMaxDatagram = 65'507;

uint16_t load_be16(const std::byte* p) {
    return static_cast<uint16_t>((std::to_integer<uint16_t>(p[0]) << 8) |
                                 std::to_integer<uint16_t>(p[1]));
}

}  // namespace

Exchange::Exchange(Transport& transport, uint32_t n_nodes, ExchangeConf conf, uint16_t first_id)
    : transport_(transport),
      conf_(conf),
      next_id_(first_id),
      waiting_(n_nodes),
      in_flight_(n_nodes, 0),
      node_marked_(n_nodes, 0),
      rx_buf_(kMaxDatagram + 1) {}

int Exchange::run(std::span<Request> requests) {
    for (uint32_t r = 0; r < requests.size(); ++r) {
        Request& req = requests[r];
        FULMAR_ASSERT(req.node < waiting_.size() && req.datagram.size() >= 8);
        req.status = kPending;
        req.reply.clear();
        req.scan_cursor = 0;
        req.attempts = 0;
        waiting_[req.node].push_back(r);
        mark(req.node);
    }
    n_unfinished_ = requests.size();

    int rc = 0;
    while (n_unfinished_ > 0) {
        send_ready(requests);
        expire(requests, transport_.now_us());
        if (n_unfinished_ == 0) break;
        if (!nodes_to_fill_.empty()) continue;  // expiries queued resends: send them first
        // Something is in flight: a server with waiting requests has a full
        // window, and every unfinished request is waiting or in flight.
        FULMAR_ASSERT(!deadlines_.empty());
        uint32_t node = 0;
        const long n = transport_.recv(deadlines_.front().at_us, node, rx_buf_);
        if (n >= 0) {
            if (node < waiting_.size()) {
                const size_t len = std::min(static_cast<size_t>(n), rx_buf_.size());
                on_datagram(requests, node, std::span(rx_buf_.data(), len));
            } else {
                ++stats_.strays;
            }
        } else if (n != -ETIMEDOUT) {
            rc = static_cast<int>(n);
            break;
        }
    }

    if (rc != 0) {
        // Leave nothing behind for the next run: after a transport failure
        // some requests are still waiting or in flight.
        for (uint32_t s = 0; s < slots_.size(); ++s)
            if (slots_[s].in_use) finish(requests, s, rc);
        for (auto& q : waiting_) {
            for (uint32_t r : q)
                requests[r].status = rc;
            q.clear();
        }
        std::fill(node_marked_.begin(), node_marked_.end(), 0);
        nodes_to_fill_.clear();
        nodes_blocked_.clear();
    }
    // Deadlines of attempts answered in time may remain; they belong to no one now.
    deadlines_.clear();
    return rc;
}

void Exchange::send_ready(std::span<Request> requests) {
    while (!nodes_to_fill_.empty()) {
        const uint32_t node = nodes_to_fill_.back();
        nodes_to_fill_.pop_back();
        node_marked_[node] = 0;
        auto& q = waiting_[node];
        while (!q.empty() && in_flight_[node] < conf_.window) {
            if (total_in_flight_ >= kMaxInFlight) {
                nodes_blocked_.push_back(node);  // resumed by release()
                break;
            }
            const uint32_t r = q.front();
            q.pop_front();
            send_one(requests, r);
        }
    }
}

void Exchange::mark(uint32_t node) {
    if (node_marked_[node] != 0) return;
    node_marked_[node] = 1;
    nodes_to_fill_.push_back(node);
}

// One request of `node` left flight (answered, given up or to be resent).
void Exchange::release(uint32_t node) {
    --in_flight_[node];
    --total_in_flight_;
    if (!waiting_[node].empty()) mark(node);
    for (const uint32_t n : nodes_blocked_)
        mark(n);
    nodes_blocked_.clear();
}

void Exchange::send_one(std::span<Request> requests, uint32_t r) {
    Request& req = requests[r];
    uint32_t s;
    if (!free_slots_.empty()) {
        s = free_slots_.back();
        free_slots_.pop_back();
    } else {
        s = static_cast<uint32_t>(slots_.size());
        slots_.emplace_back();
    }
    Slot& slot = slots_[s];
    slot.request = r;
    slot.in_use = true;
    slot.id = allocate_id();
    slot.reassembly.reset();
    slot_of_id_.emplace(slot.id, s);
    // A resend starts the reply over: parts of the earlier attempt's reply
    // may differ from this one's (the item may have changed in between).
    req.reply.clear();
    req.scan_cursor = 0;

    proto::encode_frame(proto::McFrame{slot.id, 0, 1, 0},
                        std::span<std::byte, proto::kMcFrameHeaderSize>(req.datagram.data(),
                                                                        proto::kMcFrameHeaderSize));
    if (req.attempts > 0) ++stats_.resends;
    ++req.attempts;
    ++in_flight_[req.node];
    ++total_in_flight_;
    stats_.max_total_in_flight = std::max(stats_.max_total_in_flight, total_in_flight_);
    stats_.max_in_flight = std::max(stats_.max_in_flight, in_flight_[req.node]);
    deadlines_.push_back(Deadline{transport_.now_us() + conf_.timeout_us, slot.id});
    ++stats_.datagrams_sent;
    // A failed send is a lost datagram: the deadline resends it or gives up.
    if (transport_.send(req.node, req.datagram) != 0) ++stats_.send_errors;
}

uint16_t Exchange::allocate_id() {
    // At most window x servers ids are in use out of 65,536; skip those.
    while (slot_of_id_.contains(next_id_))
        ++next_id_;
    return next_id_++;
}

void Exchange::expire(std::span<Request> requests, uint64_t now_us) {
    while (!deadlines_.empty() && deadlines_.front().at_us <= now_us) {
        const uint16_t id = deadlines_.front().id;
        deadlines_.pop_front();
        const auto it = slot_of_id_.find(id);
        if (it == slot_of_id_.end()) continue;  // answered in time
        const uint32_t s = it->second;
        Request& req = requests[slots_[s].request];
        if (req.attempts < req.max_attempts) {
            const uint32_t r = slots_[s].request;
            // Back to the front of its server's queue: the oldest request goes first.
            slot_of_id_.erase(it);
            slots_[s].in_use = false;
            free_slots_.push_back(s);
            waiting_[req.node].push_front(r);
            release(req.node);
        } else {
            ++stats_.timeouts;
            finish(requests, s, -ETIMEDOUT);
        }
    }
}

void Exchange::on_datagram(std::span<Request> requests, uint32_t node,
                           std::span<const std::byte> d) {
    ++stats_.datagrams_received;
    if (d.size() < proto::kMcFrameHeaderSize) {
        ++stats_.bad_headers;
        return;
    }
    const uint16_t id = load_be16(d.data());
    const uint16_t seq = load_be16(d.data() + 2);
    const uint16_t total = load_be16(d.data() + 4);
    const auto it = slot_of_id_.find(id);
    if (it == slot_of_id_.end() || requests[slots_[it->second].request].node != node) {
        ++stats_.strays;
        return;
    }
    const uint32_t s = it->second;
    const auto payload = d.subspan(proto::kMcFrameHeaderSize);
    switch (slots_[s].reassembly.add(
        seq, total, std::span(reinterpret_cast<const char*>(payload.data()), payload.size()))) {
        case AddStatus::kIncomplete:
            return;
        case AddStatus::kDuplicate:
            ++stats_.duplicates;
            return;
        case AddStatus::kMismatch:
            ++stats_.bad_headers;
            return;
        case AddStatus::kMessageComplete: {
            Request& req = requests[slots_[s].request];
            slots_[s].reassembly.take_message(req.reply);
            if (req.framing == ReplyFraming::kValuesThenEnd &&
                scan_get_reply(std::string_view(req.reply.data(), req.reply.size()),
                               req.scan_cursor) == GetReplyStatus::kIncomplete) {
                return;  // memcached 1.6: more values, each its own message, then END
            }
            finish(requests, s, 0);
            return;
        }
    }
}

void Exchange::finish(std::span<Request> requests, uint32_t s, int status) {
    Slot& slot = slots_[s];
    Request& req = requests[slot.request];
    slot_of_id_.erase(slot.id);
    slot.in_use = false;
    free_slots_.push_back(s);
    req.status = status;
    --n_unfinished_;
    release(req.node);
}

}  // namespace fulmar::client
