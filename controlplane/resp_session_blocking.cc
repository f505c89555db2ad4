// The blocking half of a Redis client's session (BLPOP BRPOP BLMOVE
// BRPOPLPUSH BLMPOP): the client's try at the owner, its place in RespBlocking, and
// the answer at the end; see resp_session.h and resp_blocking.h. A file of
// its own so the session's request path stays one screen.
//
// On the control plane's loop thread, as the session.
#include <climits>
#include <cstdint>

#include "engine/resp_list.h"
#include "proto/resp_writer.h"
#include "resp_session.h"

namespace fulmar::controlplane {

using engine::RespCommand;
using engine::RespRequest;

RespSession::Step RespSession::block(const RespCommand& c, const RespRequest& req, size_t shard,
                                     OrderedOutput& out) {
    int64_t ms = 0;
    std::string_view error;
    const engine::KeySpec k = c.spec.keys;
    // BLMPOP's timeout comes before its key count; the others' is last.
    const std::string_view timeout =
        k.numkeys != 0 ? req.args[static_cast<size_t>(k.numkeys) - 1] : req.args.back();
    engine::resp_block_timeout_ms(timeout, ms, error);  // checked by the table's parse
    const uint64_t ticket = exec_.send_resp(shard, request_, PostOp::kRespBlocking, &out);
    if (ticket == 0) return Step::kWait;
    blocked_ = Blocked{.request = request_,
                       .shard = shard,
                       .placeholder = ticket,
                       .in_flight = ticket,
                       .out = &out};
    // BLMOVE and BRPOPLPUSH: source and destination; BLPOP, BLMPOP: every key.
    if (k.last == 2) blocked_->destination = std::string(req.args[2]);
    const size_t last = k.last == 2 ? 1 : k.last_key(req.args);
    std::vector<std::string_view> keys(req.args.begin() + k.first, req.args.begin() + last + 1);
    // Registered before the first try answers: a write that goes out
    // meanwhile sends another try after it.
    // A deadline past int64 (Redis's wraps) waits forever, as Redis's does.
    const int64_t now = RespBlocking::now_ms();
    blocking_->block(*this, keys, ms == 0 || ms > INT64_MAX - now ? 0 : now + ms);
    return Step::kNext;
}

void RespSession::send_try() {
    blocked_->retried = true;
    const uint64_t ticket =
        exec_.send_resp(blocked_->shard, blocked_->request, PostOp::kRespBlocking, nullptr);
    if (ticket == 0)
        blocking_->wake_later(*this);
    else
        blocked_->in_flight = ticket;
}

void RespSession::blocking_reply(uint64_t ticket, std::string_view bytes, OrderedOutput&) {
    if (!blocked_ || blocked_->in_flight != ticket) return;
    blocked_->in_flight = 0;
    // The owner's "nothing there" (Redis's answer inside MULTI). Once
    // blocked, a key of another type keeps the client waiting, as Redis
    // serves a blocked client only from a list (a transaction that leaves
    // a string there wakes no one); only the first try answers WRONGTYPE.
    // BLMOVE and BRPOPLPUSH answer it at any try: Redis answers a
    // destination of another type, and the owner's reply does not say
    // which key it was (a source turned string answers too: Redis would
    // wait; docs/resp-progress.md).
    const bool wrongtype =
        blocked_->retried && bytes.starts_with("-WRONGTYPE") && blocked_->destination.empty();
    const bool nothing = bytes == "*-1\r\n" || bytes == "$-1\r\n" || bytes == "_\r\n" || wrongtype;
    if (!nothing) {
        // An element, or an error (WRONGTYPE): the client is answered.
        std::string moved_to;
        if (bytes.starts_with('$')) moved_to = blocked_->destination;
        finish(std::string(bytes));
        if (!moved_to.empty()) blocking_->signal(moved_to);
        return;
    }
    if (blocked_->timed_out) {
        finish(timeout_reply());
        return;
    }
    if (blocked_->again) {
        blocked_->again = false;
        send_try();
    }
}

void RespSession::finish(std::string reply) {
    blocking_->unblock(*this);
    blocked_->out->fill(blocked_->placeholder, std::move(reply));
    blocked_.reset();
}

void RespSession::wake() {
    if (!blocked_ || blocked_->timed_out) return;
    if (blocked_->in_flight != 0) {
        blocked_->again = true;
        return;
    }
    send_try();
}

void RespSession::time_out() {
    if (!blocked_) return;
    blocked_->timed_out = true;
    if (blocked_->in_flight != 0) return;  // answered when the try comes back
    finish(timeout_reply());
    client_.output_ready();
}

std::string RespSession::timeout_reply() const {
    if (!blocked_->forced.empty()) return blocked_->forced;
    std::string null_array;
    proto::RespWriter(null_array).write_null_array();
    return null_array;
}

bool RespSession::unblock_by_client(bool error) {
    if (!blocked_ || blocked_->timed_out) return false;
    // Answered as at its timeout, or with Redis's error. A try already at
    // the owner answers first: an element it took goes to the client.
    if (error) blocked_->forced = "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n";
    blocking_->unblock(*this);
    time_out();
    return true;
}

void RespSession::disconnect() {
    if (blocking_ != nullptr) blocking_->unblock(*this);
    blocked_.reset();
}

void RespSession::signal_exec() {
    if (blocking_ != nullptr)
        for (const std::string& key : exec_writes_)
            blocking_->signal(key);
    exec_writes_.clear();
}

void RespSession::signal_keys(const RespCommand& c, const RespRequest& req) {
    if (blocking_ == nullptr || !blocking_->any() || !c.spec.has(engine::kCmdWrite) ||
        c.spec.keys.none())
        return;
    // Every key it may write, SORT's STORE destination included.
    for (size_t i : engine::resp_key_positions(c, req.args))
        blocking_->signal(req.args[i]);
}

}  // namespace fulmar::controlplane
