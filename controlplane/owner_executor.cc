// The control plane's memcached executor and its ordered output; see
// owner_executor.h.
#include "owner_executor.h"

#include <rte_mbuf.h>

#include <fmt/core.h>

#include <algorithm>

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

std::string copy_chain(const rte_mbuf* m, uint32_t len) {
    std::string out;
    out.reserve(len);
    for (; m != nullptr && out.size() < len; m = m->next)
        out.append(rte_pktmbuf_mtod(m, const char*), m->data_len);
    return out;
}

}  // namespace

// ---- output ----------------------------------------------------------------

void OrderedOutput::append(std::string_view bytes) {
    if (bytes.empty()) return;
    if (parts.empty() || parts.back().ticket != 0) parts.push_back({});
    parts.back().bytes.append(bytes);
    ready_bytes += bytes.size();
}

void OrderedOutput::append_deferred(uint64_t ticket) {
    parts.push_back({std::string(), ticket});
}

bool OrderedOutput::fill(uint64_t ticket, std::string&& bytes) {
    for (Part& p : parts) {
        if (p.ticket != ticket) continue;
        p.ticket = 0;
        ready_bytes += bytes.size();
        p.bytes = std::move(bytes);
        return true;
    }
    return false;
}

bool OrderedOutput::complete() const {
    return std::none_of(parts.begin(), parts.end(), [](const Part& p) { return p.ticket != 0; });
}

// ---- the owner's replies -------------------------------------------------------

OwnerExecutor::OwnerExecutor(const OwnerExecutorDeps& deps, ExecutorClient& client)
    : deps_(deps), client_(client) {}

size_t OwnerExecutor::shard_of(const store::KeyDigest& d) const {
    return engine::shard_index(d, deps_.dp->shards.size());
}

std::string OwnerExecutor::copy_reply(const OwnerReply& r) {
    return copy_chain(r.bytes, r.len);
}

size_t OwnerExecutor::n_shards() const {
    return deps_.dp->shards.size();
}

std::string OwnerExecutor::reply_bytes(PostOp op, const OwnerReply& r) {
    if (pending_ > 0) --pending_;
    std::string bytes;
    const bool resp =
        op == PostOp::kResp || op == PostOp::kRespGather || op == PostOp::kRespBlocking;
    if (r.status == dataplane::ReplyStatus::kOverflow && resp) {
        // An owner builds a reply in a fixed buffer (the hot path never
        // allocates): KEYS over a big shard can pass it.
        bytes = "-ERR the reply passes the owner's 4 MiB reply buffer (KEYS: use SCAN)\r\n";
    } else if (r.status != dataplane::ReplyStatus::kOk && resp) {
        // Redis's words for a reply it has no memory for.
        bytes = "-OOM the owner could not send its reply (no buffers)\r\n";
    } else if (r.status != dataplane::ReplyStatus::kOk) {
        bytes = std::string(proto::kMcServerErrorOutOfMemory);
    } else {
        bytes = copy_chain(r.bytes, r.len);
    }
    const std::string_view end = proto::kMcEnd;
    switch (op) {
        case PostOp::kAsIs:
        case PostOp::kResp:
        case PostOp::kRespGather:
        case PostOp::kRespBlocking:
            break;
        case PostOp::kDiscard:
            bytes.clear();
            break;
        case PostOp::kStripEnd:
            if (bytes.ends_with(end)) bytes.resize(bytes.size() - end.size());
            break;
        case PostOp::kAddConnStats:
            if (bytes.ends_with(end)) {
                bytes.resize(bytes.size() - end.size());
                bytes += client_.conn_stat_lines();
                bytes += end;
            }
            break;
    }
    return bytes;
}

// ---- the executor ------------------------------------------------------------

bool OwnerExecutor::forward(size_t shard, std::string_view bytes,
                            const engine::ParsedRequest* parsed, PostOp op, proto::ReplySink* out) {
    // One client holds at most kMaxPending requests at the owners: their
    // replies (up to 1 MiB each) are memory it has not read yet.
    if (pending_ >= kMaxPending) return false;
    ShardChannel& ch = *deps_.channel;
    const uint64_t ticket = client_.new_ticket(op);
    dataplane::Message* msg = ch.prepare(bytes, parsed, ticket);
    if (msg == nullptr) {
        client_.forget_ticket(ticket);
        return false;
    }
    ch.send(shard, msg);
    ++pending_;
    if (out != nullptr) out->append_deferred(ticket);
    return true;
}

uint64_t OwnerExecutor::send_resp(size_t shard, std::string_view request, PostOp op,
                                  proto::ReplySink* out) {
    if (pending_ >= kMaxPending) return 0;
    ShardChannel& ch = *deps_.channel;
    const uint64_t ticket = client_.new_ticket(op);
    dataplane::Message* msg = ch.prepare_resp(request, ticket, resp_flags_);
    if (msg == nullptr) {
        client_.forget_ticket(ticket);
        return 0;
    }
    ch.send(shard, msg);
    ++pending_;
    if (out != nullptr) out->append_deferred(ticket);
    return ticket;
}

ExecStatus OwnerExecutor::send_resp_pieces(std::span<const RespPiece> pieces, PostOp op,
                                           std::vector<uint64_t>& tickets, bool& never) {
    never = false;
    tickets.clear();
    if (pending_ + pieces.size() > kMaxPending && pending_ != 0) return ExecStatus::kWait;
    ShardChannel& ch = *deps_.channel;
    pieces_.clear();
    for (const RespPiece& p : pieces) {
        const uint64_t ticket = client_.new_ticket(op);
        dataplane::Message* msg = ch.prepare_resp(p.request, ticket, resp_flags_);
        if (msg == nullptr) {
            client_.forget_ticket(ticket);
            for (const Piece& q : pieces_) {
                ch.cancel(q.msg);
                client_.forget_ticket(q.ticket);
            }
            pieces_.clear();
            never = ch.inflight() == 0 && ch.backlog() == 0;
            return ExecStatus::kWait;
        }
        pieces_.push_back({msg, p.shard, ticket});
    }
    for (const Piece& p : pieces_) {
        ch.send(p.shard, p.msg);
        ++pending_;
        tickets.push_back(p.ticket);
    }
    pieces_.clear();
    return ExecStatus::kDone;
}

ExecStatus OwnerExecutor::fan_out_resp(std::string_view request, proto::ReplySink& out) {
    // As flush_all: the client reads "+OK" only once every shard is flushed.
    return fan_out_all(request, nullptr, PostOp::kResp, dataplane::MessageKind::kControlResp, out);
}

ExecStatus OwnerExecutor::fan_out_all(std::string_view bytes, const engine::ParsedRequest* parsed,
                                      PostOp answer, dataplane::MessageKind kind,
                                      proto::ReplySink& out) {
    // Shard 0's reply (after `answer`) is the answer, placed after every
    // other owner's (those say nothing): the client reads it only once every
    // shard is done, so what it tells others after it holds for all of them.
    if (pending_ >= kMaxPending) return ExecStatus::kWait;
    ShardChannel& ch = *deps_.channel;
    std::vector<uint64_t> tickets(ch.n_shards());
    for (size_t s = 0; s < tickets.size(); ++s)
        tickets[s] = client_.new_ticket(s == 0 ? answer : PostOp::kDiscard);
    if (!ch.fan_out(bytes, parsed, tickets, kind)) {
        for (uint64_t t : tickets)
            client_.forget_ticket(t);
        return ExecStatus::kWait;
    }
    pending_ += tickets.size();
    for (size_t s = 1; s < tickets.size(); ++s)
        out.append_deferred(tickets[s]);
    out.append_deferred(tickets.front());
    return ExecStatus::kDone;
}

ExecStatus OwnerExecutor::get_local(const proto::McTextRequest& req, proto::ReplySink& out) {
    // A read after this client's own writes must see them.
    if (pending_ != 0) return ExecStatus::kWait;
    const bool with_cas = req.command == McTextCommand::kGets;
    engine::EngineCtx& ctx = *deps_.ctx;
    const UnixTime now = ctx.now();
    ShardChannel& ch = *deps_.channel;
    const auto& views = deps_.dp->shards;
    scratch_out_.clear();
    bool too_large = false;
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
        if (scratch_out_.size() + n + meta.value_len + 2 > kMaxGetReply) {
            // memcached references items in its reply; we copy them, so a
            // get of many large values is bounded (its own words when it
            // cannot build a reply).
            too_large = true;
            break;
        }
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
        const uint64_t ticket = client_.new_ticket(PostOp::kAsIs);
        dataplane::Message* msg = ch.prepare_mark_fetched(k, meta.cas, ticket);
        if (msg == nullptr) {
            client_.forget_ticket(ticket);
            continue;
        }
        ch.send(shard, msg);
        ++pending_;
    }
    marked_.clear();
    if (too_large) {
        out.append(proto::kMcServerErrorOutOfMemoryGet);
    } else {
        out.append(scratch_out_);
        out.append(proto::kMcEnd);
    }
    // A large reply's buffer is not kept for the client's life.
    scratch_out_.clear();
    if (scratch_out_.capacity() > kKeepScratch) scratch_out_.shrink_to_fit();
    engine::EngineStats& s = *ctx.stats;
    s.cmd_get += hits + misses;
    s.get_hits += hits;
    s.get_misses += misses;
    return ExecStatus::kDone;
}

ExecStatus OwnerExecutor::gat(const proto::McTextRequest& req, std::string_view raw,
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
    ShardChannel& ch = *deps_.channel;
    const std::string_view verb = req.command == McTextCommand::kGats ? "gats" : "gat";
    pieces_.clear();
    keys = req.key_iter();
    while (keys.next(key)) {
        const store::KeyRef k(key);
        const std::string sub = fmt::format("{} {} {}\r\n", verb, req.exptime, key);
        const uint64_t ticket = client_.new_ticket(PostOp::kStripEnd);
        dataplane::Message* msg = ch.prepare(sub, nullptr, ticket);
        if (msg == nullptr) {
            client_.forget_ticket(ticket);
            for (const Piece& p : pieces_) {
                ch.cancel(p.msg);
                client_.forget_ticket(p.ticket);
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
        pieces_.push_back({msg, shard_of(k.digest), ticket});
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

ExecStatus OwnerExecutor::classic(const proto::McTextRequest& req, const store::KeyRef& key,
                                  std::string_view raw, proto::ReplySink& out) {
    // No more replies pile up while the client has not taken what it has.
    if (client_.output_full()) return ExecStatus::kWait;
    switch (req.command) {
        case McTextCommand::kGet:
        case McTextCommand::kGets:
            return get_local(req, out);
        case McTextCommand::kGat:
        case McTextCommand::kGats:
            return gat(req, raw, out);
        case McTextCommand::kVersion:
        case McTextCommand::kVerbosity:
        case McTextCommand::kRing:  // the ring in shared memory: no owner needed
            engine::execute_classic(req, key, *deps_.ctx, out);
            return ExecStatus::kDone;
        case McTextCommand::kStats: {
            proto::McTokenIter it(req.stats_args);
            std::string_view sub;
            const bool plain = !it.next(sub);
            if (sub == "conns") {
                client_.conn_stats(out);
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
            // Every owner flushes its shard; "OK" once all are done.
            const engine::ParsedRequest p{.request = req, .digest = {}, .valid = true};
            return fan_out_all(raw, &p, PostOp::kAsIs, dataplane::MessageKind::kControlRequest,
                               out);
        }
        default: {
            // One key: its owner runs the request as parsed here.
            const engine::ParsedRequest p{.request = req, .digest = key.digest, .valid = true};
            return forward(shard_of(key.digest), raw, &p, PostOp::kAsIs, &out) ? ExecStatus::kDone
                                                                               : ExecStatus::kWait;
        }
    }
}

void OwnerExecutor::classic_error(proto::McTextError error, const proto::McTextRequest& req,
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
    const bool get_family = r.command != McTextCommand::kNone &&
                            engine::mc_text_command(r.command).has(engine::kCmdFlushQueue);
    if (error == proto::McTextError::kBadFormat && get_family) {
        // memcached meets the long key only when it reaches it: the keys
        // before it were fetched (gat: touched) and counted. Their owners
        // do that here; the replies go (memcached drops them with its queue).
        const std::string_view verb = engine::mc_text_command(r.command).name;
        const std::string exptime =
            r.command == McTextCommand::kGat || r.command == McTextCommand::kGats
                ? fmt::format(" {}", r.exptime)
                : std::string();
        proto::McTokenIter keys = r.key_iter();
        std::string_view key;
        while (keys.next(key) && key.size() <= proto::kMcMaxKeyLen) {
            const std::string one = fmt::format("{}{} {}\r\n", verb, exptime, key);
            if (!forward(shard_of(store::KeyRef(key).digest), one, nullptr, PostOp::kDiscard,
                         nullptr))
                client_.count_wait();  // no room: that key is not fetched
        }
    }
    // The error line is said here, with no side effect on any shard (a
    // storage error the channel had no room for is said without its unlink).
    if (storage_error || get_family) r.command = McTextCommand::kNone;
    engine::execute_classic_error(error, r, *deps_.ctx, out);
}

ExecStatus OwnerExecutor::meta(const proto::McMetaRequest& req, std::string_view raw,
                               proto::ReplySink& out) {
    if (client_.output_full()) return ExecStatus::kWait;
    const store::KeyRef k(req.key());
    // An mg that only reports is answered here when it would leave the item
    // as it is (fetched before, not stale); behind this client's own
    // requests at the owners it goes to the owner too, which keeps the order.
    if (pending_ == 0 && engine::meta_get_reads_only(req)) {
        engine::EngineCtx& ctx = *deps_.ctx;
        const UnixTime now = ctx.now();
        store::ItemMeta meta;
        const store::ReadStatus st =
            deps_.dp->shards[shard_of(k.digest)].read(k, now, ctx.scratch, meta);
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

void OwnerExecutor::unlink(const proto::McMetaRequest& req) {
    const std::string md = fmt::format("md {}{} q\r\n", req.raw_key, req.key_binary ? " b" : "");
    // Without room the stale value stays (counted as a wait): the error
    // line is said either way.
    if (!forward(shard_of(store::KeyRef(req.key()).digest), md, nullptr, PostOp::kAsIs, nullptr))
        client_.count_wait();
}

}  // namespace fulmar::controlplane
