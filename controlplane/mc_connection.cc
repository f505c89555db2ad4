// A memcached TCP client of the control plane; see mc_connection.h.
#include "mc_connection.h"

#include <arpa/inet.h>
#include <rte_mbuf.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/core.h>

#include <algorithm>
#include <cerrno>

#include "engine/mc_classic.h"
#include "engine/mc_commands.h"
#include "engine/mc_get.h"
#include "engine/mc_meta_exec.h"
#include "proto/mc_wire.h"
#include "store/item.h"

namespace fulmar::controlplane {
namespace {

using engine::ExecStatus;
using proto::McTextCommand;

constexpr size_t kReadChunk = 64 * 1024;
// Bytes read per readiness event before other connections get their turn.
constexpr size_t kReadPerEvent = 1024 * 1024;
// Consumed input is dropped from the front once this much has piled up.
constexpr size_t kCompactAfter = 64 * 1024;

std::string copy_chain(const rte_mbuf* m, uint32_t len) {
    std::string out;
    out.reserve(len);
    for (; m != nullptr && out.size() < len; m = m->next)
        out.append(rte_pktmbuf_mtod(m, const char*), m->data_len);
    return out;
}

}  // namespace

// ---- output ----------------------------------------------------------------

void McConnection::Output::append(std::string_view bytes) {
    if (bytes.empty()) return;
    if (parts.empty() || parts.back().ticket != 0) parts.push_back({});
    parts.back().bytes.append(bytes);
    ready_bytes += bytes.size();
}

void McConnection::Output::append_deferred(uint64_t ticket) {
    parts.push_back({std::string(), ticket});
}

bool McConnection::Output::fill(uint64_t ticket, std::string&& bytes) {
    for (Part& p : parts) {
        if (p.ticket != ticket) continue;
        p.ticket = 0;
        ready_bytes += bytes.size();
        p.bytes = std::move(bytes);
        return true;
    }
    return false;
}

// ---- the connection ----------------------------------------------------------

McConnection::McConnection(McServer& server, int fd, uint64_t id, const sockaddr_in& peer,
                           UnixTime now)
    : server_(server),
      fd_(fd),
      id_(id),
      peer_(peer),
      session_(server.ctx(), this),
      last_active_(now),
      last_progress_(now) {
    interest_ = EPOLLIN;
}

McConnection::~McConnection() {
    close_now();
}

std::string McConnection::peer_text() const {
    char ip[INET_ADDRSTRLEN] = {};
    ::inet_ntop(AF_INET, &peer_.sin_addr, ip, sizeof ip);
    return fmt::format("tcp:{}:{}", ip, ntohs(peer_.sin_port));
}

std::string_view McConnection::state_text() const {
    if (closing_) return "conn_closing";
    if (pending_ != 0 || waiting_) return "conn_waiting";
    if (!out_.parts.empty()) return "conn_mwrite";
    return "conn_parse_cmd";
}

size_t McConnection::shard_of(const store::KeyDigest& d) const {
    return engine::shard_index(d, server_.deps().dp->shards.size());
}

void McConnection::close_now() {
    if (closed_) return;
    closed_ = true;
    server_.deps().loop->remove(fd_);
    ::close(fd_);
    server_.retire(this);
}

void McConnection::on_event(uint32_t events) {
    if (closed_) return;
    if ((events & (EPOLLERR | EPOLLHUP)) != 0 && (events & EPOLLIN) == 0) {
        close_now();
        return;
    }
    if ((events & EPOLLOUT) != 0) write_out();
    if (!closed_ && (events & EPOLLIN) != 0) on_readable();
}

void McConnection::on_readable() {
    size_t got = 0;
    while (got < kReadPerEvent) {
        const size_t old = in_.size();
        in_.resize(old + kReadChunk);
        const ssize_t n = ::recv(fd_, in_.data() + old, kReadChunk, 0);
        in_.resize(old + (n > 0 ? static_cast<size_t>(n) : 0));
        if (n > 0) {
            got += static_cast<size_t>(n);
            if (static_cast<size_t>(n) < kReadChunk) break;
            continue;
        }
        if (n == 0) {
            // The client is gone: what it did not read dies with it.
            close_now();
            return;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        close_now();
        return;
    }
    last_active_ = server_.ctx().now();
    process();
}

void McConnection::retry() {
    if (closed_ || !waiting_) return;
    process();
}

void McConnection::process() {
    if (closed_) return;
    waiting_ = false;
    if (!closing_ && in_off_ < in_.size()) {
        const engine::McFeedResult r = session_.feed(std::string_view(in_).substr(in_off_), out_);
        in_off_ += r.consumed;
        if (r.status == engine::McSessionStatus::kClose) {
            closing_ = true;
        } else if (r.waiting) {
            waiting_ = true;
            ++server_.stats().waits;
            server_.wants_retry(*this);
        }
    }
    if (in_off_ == in_.size()) {
        in_.clear();
        in_off_ = 0;
    } else if (in_off_ >= kCompactAfter) {
        in_.erase(0, in_off_);
        in_off_ = 0;
    }
    write_out();
}

void McConnection::write_out() {
    if (closed_) return;
    while (!out_.parts.empty() && out_.parts.front().ticket == 0) {
        Output::Part& p = out_.parts.front();
        const size_t left = p.bytes.size() - out_.written;
        if (left != 0) {
            const ssize_t n =
                ::send(fd_, p.bytes.data() + out_.written, left, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n < 0) {
                if (errno == EINTR) continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK) break;
                close_now();
                return;
            }
            out_.written += static_cast<size_t>(n);
            out_.ready_bytes -= static_cast<size_t>(n);
            last_progress_ = server_.ctx().now();
            if (static_cast<size_t>(n) < left) break;
        }
        out_.parts.pop_front();
        out_.written = 0;
    }
    if (closing_ && out_.parts.empty()) {
        close_now();
        return;
    }
    if (waiting_ && out_.ready_bytes <= output_limit()) server_.wants_retry(*this);
    update_interest();
}

size_t McConnection::output_limit() const {
    return size_t{server_.deps().cfg->output_buffer_limit_mb} << 20;
}

bool McConnection::output_full() const {
    return out_.ready_bytes > output_limit();
}

bool McConnection::slow_reader(UnixTime now) const {
    // Over its limit, and not one byte taken for a while: a client that
    // does not read its replies may not hold our memory (Redis's
    // client-output-buffer-limit, with a grace time as its soft limit has).
    return output_full() && now - last_progress_ >= kSlowReaderGraceS;
}

void McConnection::update_interest() {
    uint32_t want = 0;
    // Not read while the session waits (backpressure reaches the client
    // through its TCP window) or while replies pile up unread.
    if (!closing_ && !waiting_ && out_.ready_bytes < output_limit() / 2) want |= EPOLLIN;
    if (!out_.parts.empty() && out_.parts.front().ticket == 0) want |= EPOLLOUT;
    if (want == interest_) return;
    interest_ = want;
    server_.deps().loop->modify(fd_, want, this);
}

void McConnection::on_reply(uint64_t ticket, PostOp op, const OwnerReply& r) {
    if (pending_ > 0) --pending_;
    if (closed_) return;
    std::string bytes;
    if (r.status != dataplane::ReplyStatus::kOk) {
        bytes = std::string(proto::kMcServerErrorOutOfMemory);
    } else {
        bytes = copy_chain(r.bytes, r.len);
    }
    const std::string_view end = proto::kMcEnd;
    switch (op) {
        case PostOp::kAsIs:
            break;
        case PostOp::kStripEnd:
            if (bytes.ends_with(end)) bytes.resize(bytes.size() - end.size());
            break;
        case PostOp::kAddConnStats:
            if (bytes.ends_with(end)) {
                bytes.resize(bytes.size() - end.size());
                const McServerStats& s = server_.stats();
                bytes += fmt::format(
                    "STAT curr_connections {}\r\nSTAT total_connections {}\r\n"
                    "STAT rejected_connections {}\r\n",
                    s.curr_connections, s.total_connections, s.rejected_connections);
                bytes += end;
            }
            break;
    }
    out_.fill(ticket, std::move(bytes));
    write_out();
    if (!closed_ && waiting_ && pending_ == 0) process();
}

// ---- the executor ------------------------------------------------------------

bool McConnection::forward(size_t shard, std::string_view bytes,
                           const engine::ParsedRequest* parsed, PostOp op, proto::ReplySink* out) {
    ShardChannel& ch = *server_.deps().channel;
    const uint64_t ticket = server_.new_ticket(*this, op);
    dataplane::Message* msg = ch.prepare(bytes, parsed, ticket);
    if (msg == nullptr) {
        server_.forget_ticket(ticket);
        return false;
    }
    ch.send(shard, msg);
    ++pending_;
    if (out != nullptr) out->append_deferred(ticket);
    return true;
}

ExecStatus McConnection::get_local(const proto::McTextRequest& req, proto::ReplySink& out) {
    // A read after this connection's own writes must see them; and no more
    // replies pile up while the client has not taken what it has.
    if (pending_ != 0 || output_full()) return ExecStatus::kWait;
    const bool with_cas = req.command == McTextCommand::kGets;
    engine::EngineCtx& ctx = server_.ctx();
    const UnixTime now = ctx.now();
    ShardChannel& ch = *server_.deps().channel;
    const auto& views = server_.deps().dp->shards;
    scratch_out_.clear();
    uint64_t hits = 0, misses = 0;
    proto::McTokenIter keys = req.key_iter();
    std::string_view key;
    while (keys.next(key) && key.size() <= proto::kMcMaxKeyLen) {
        const store::KeyRef k(key);
        const size_t shard = shard_of(k.digest);
        store::ItemMeta meta;
        const store::ReadStatus st = views[shard].read(k, now, ctx.scratch, meta);
        if (st == store::ReadStatus::kMiss) {
            ++misses;
            continue;
        }
        if (st != store::ReadStatus::kHit) {
            ++misses;  // a value larger than an item can be: none is
            continue;
        }
        char line[engine::kMcValueLineMax];
        const size_t n = engine::write_mc_value_line(line, key, meta.flags, meta.value_len,
                                                     with_cas ? &meta.cas : nullptr);
        scratch_out_.append(line, n);
        scratch_out_.append(ctx.scratch.data(), meta.value_len);
        scratch_out_.append(proto::kMcCrlf);
        ++hits;
        if ((meta.type_bits & store::kItemFetched) != 0) continue;
        // First hit since the item was stored: memcached marks it fetched
        // (mg's h flag reports it), and only the owner writes items. Asked
        // once per item per get; later reads of this connection wait for it.
        // Without room in the channel the mark is skipped, never waited for:
        // a get of many keys must not wait for room it can never have.
        if (std::find(marked_.begin(), marked_.end(), k.digest) != marked_.end()) continue;
        marked_.push_back(k.digest);
        const uint64_t ticket = server_.new_ticket(*this, PostOp::kAsIs);
        dataplane::Message* msg = ch.prepare_mark_fetched(k, meta.cas, ticket);
        if (msg == nullptr) {
            server_.forget_ticket(ticket);
            continue;
        }
        ch.send(shard, msg);
        ++pending_;
    }
    marked_.clear();
    out.append(scratch_out_);
    out.append(proto::kMcEnd);
    engine::EngineStats& s = *ctx.stats;
    s.cmd_get += hits + misses;
    s.get_hits += hits;
    s.get_misses += misses;
    return ExecStatus::kDone;
}

ExecStatus McConnection::gat(const proto::McTextRequest& req, std::string_view raw,
                             proto::ReplySink& out) {
    proto::McTokenIter keys = req.key_iter();
    std::string_view key;
    size_t first = SIZE_MAX;
    bool one_shard = true;
    size_t n_keys = 0;
    while (keys.next(key)) {
        const size_t s = shard_of(store::KeyRef(key).digest);
        if (first == SIZE_MAX) first = s;
        one_shard = one_shard && s == first;
        ++n_keys;
    }
    if (one_shard) {
        const engine::ParsedRequest p{.request = req, .digest = {}, .valid = true};
        return forward(first, raw, &p, PostOp::kAsIs, &out) ? ExecStatus::kDone : ExecStatus::kWait;
    }
    // Keys on several owners: each touches its own, in key order.
    ShardChannel& ch = *server_.deps().channel;
    const std::string_view verb = req.command == McTextCommand::kGats ? "gats" : "gat";
    pieces_.clear();
    keys = req.key_iter();
    while (keys.next(key)) {
        const store::KeyRef k(key);
        const std::string sub = fmt::format("{} {} {}\r\n", verb, req.exptime, key);
        const uint64_t ticket = server_.new_ticket(*this, PostOp::kStripEnd);
        dataplane::Message* msg = ch.prepare(sub, nullptr, ticket);
        if (msg == nullptr) {
            server_.forget_ticket(ticket);
            for (const Piece& p : pieces_) {
                ch.cancel(p.msg);
                server_.forget_ticket(p.ticket);
            }
            pieces_.clear();
            if (ch.inflight() == 0 && ch.backlog() == 0) {
                // More keys than the channel can ever hold at once: waiting
                // would never end.
                out.append(proto::kMcServerErrorOutOfMemory);
                return ExecStatus::kDone;
            }
            return ExecStatus::kWait;
        }
        pieces_.push_back({0, msg, shard_of(k.digest), ticket});
    }
    for (const Piece& p : pieces_) {
        ch.send(p.shard, p.msg);
        ++pending_;
        out.append_deferred(p.ticket);
    }
    pieces_.clear();
    out.append(proto::kMcEnd);
    return ExecStatus::kDone;
}

ExecStatus McConnection::classic(const proto::McTextRequest& req, const store::KeyRef& key,
                                 std::string_view raw, proto::ReplySink& out) {
    if (output_full()) return ExecStatus::kWait;
    switch (req.command) {
        case McTextCommand::kGet:
        case McTextCommand::kGets:
            return get_local(req, out);
        case McTextCommand::kGat:
        case McTextCommand::kGats:
            return gat(req, raw, out);
        case McTextCommand::kVersion:
        case McTextCommand::kVerbosity:
            engine::execute_classic(req, key, server_.ctx(), out);
            return ExecStatus::kDone;
        case McTextCommand::kStats: {
            proto::McTokenIter it(req.stats_args);
            std::string_view sub;
            const bool plain = !it.next(sub);
            if (sub == "conns") {
                server_.conn_stats(out);
                out.append(proto::kMcEnd);
                return ExecStatus::kDone;
            }
            // The owner of shard 0 reports every lcore's counters (and ours:
            // shm/totals.h) and every shard's memory.
            const engine::ParsedRequest p{.request = req, .digest = {}, .valid = true};
            return forward(0, raw, &p, plain ? PostOp::kAddConnStats : PostOp::kAsIs, &out)
                       ? ExecStatus::kDone
                       : ExecStatus::kWait;
        }
        case McTextCommand::kFlushAll: {
            // Every owner flushes its shard; shard 0's reply is the answer.
            ShardChannel& ch = *server_.deps().channel;
            const engine::ParsedRequest p{.request = req, .digest = {}, .valid = true};
            std::vector<uint64_t> tickets(ch.n_shards());
            for (uint64_t& t : tickets)
                t = server_.new_ticket(*this, PostOp::kAsIs);
            if (!ch.fan_out(raw, &p, tickets)) {
                for (uint64_t t : tickets)
                    server_.forget_ticket(t);
                return ExecStatus::kWait;
            }
            pending_ += tickets.size();
            out.append_deferred(tickets.front());
            return ExecStatus::kDone;
        }
        default: {
            // One key: its owner runs the request as parsed here.
            const engine::ParsedRequest p{.request = req, .digest = key.digest, .valid = true};
            return forward(shard_of(key.digest), raw, &p, PostOp::kAsIs, &out) ? ExecStatus::kDone
                                                                               : ExecStatus::kWait;
        }
    }
}

void McConnection::classic_error(proto::McTextError error, const proto::McTextRequest& req,
                                 std::string_view raw, proto::ReplySink& out) {
    proto::McTextRequest r = req;
    const bool storage_error =
        error == proto::McTextError::kObjectTooLarge || error == proto::McTextError::kBadDataChunk;
    if (storage_error && !req.key.empty() && req.key.size() <= proto::kMcMaxKeyLen) {
        // memcached unlinks the key (set) or counts the set: the owner runs
        // the same bytes and meets the same error.
        if (forward(shard_of(store::KeyRef(req.key).digest), raw, nullptr, PostOp::kAsIs, &out))
            return;
    }
    // Said here, with no side effect on any shard: a storage error the
    // channel had no room for, or a get whose long key stops it (memcached
    // would have marked the keys before it fetched).
    if (storage_error || (r.command != McTextCommand::kNone &&
                          engine::mc_text_command(r.command).has(engine::kCmdFlushQueue)))
        r.command = McTextCommand::kNone;
    engine::execute_classic_error(error, r, server_.ctx(), out);
}

ExecStatus McConnection::meta(const proto::McMetaRequest& req, std::string_view raw,
                              proto::ReplySink& out) {
    if (output_full()) return ExecStatus::kWait;
    const store::KeyRef k(req.key());
    // An mg that only reports is answered here when it would leave the item
    // as it is (fetched before, not stale); behind this connection's own
    // requests at the owners it goes to the owner too, which keeps the order.
    if (pending_ == 0 && engine::meta_get_reads_only(req)) {
        engine::EngineCtx& ctx = server_.ctx();
        const UnixTime now = ctx.now();
        store::ItemMeta meta;
        const store::ReadStatus st =
            server_.deps().dp->shards[shard_of(k.digest)].read(k, now, ctx.scratch, meta);
        const engine::MetaGetFields fields{.value_len = meta.value_len,
                                           .cas = meta.cas,
                                           .client_flags = meta.flags,
                                           .time = meta.time,
                                           .type_bits = meta.type_bits};
        if (st == store::ReadStatus::kMiss) {
            ++ctx.stats->cmd_get;
            ++ctx.stats->get_misses;
            engine::write_meta_get_miss(req, out);
            return ExecStatus::kDone;
        }
        if (st == store::ReadStatus::kHit && engine::meta_get_hit_changes_nothing(req, fields)) {
            ++ctx.stats->cmd_get;
            ++ctx.stats->get_hits;
            engine::write_meta_get_hit(req, fields, {ctx.scratch.data(), meta.value_len},
                                       meta.exptime, now, out);
            return ExecStatus::kDone;
        }
    }
    // Everything else may write the item (fetched bit, TTL, win tokens,
    // values): the owner runs it.
    return forward(shard_of(k.digest), raw, nullptr, PostOp::kAsIs, &out) ? ExecStatus::kDone
                                                                          : ExecStatus::kWait;
}

void McConnection::unlink(const proto::McMetaRequest& req) {
    const std::string md = fmt::format("md {}{} q\r\n", req.raw_key, req.key_binary ? " b" : "");
    // Without room the stale value stays (counted as a wait): the error
    // line is said either way.
    if (!forward(shard_of(store::KeyRef(req.key()).digest), md, nullptr, PostOp::kAsIs, nullptr))
        ++server_.stats().waits;
}

}  // namespace fulmar::controlplane
