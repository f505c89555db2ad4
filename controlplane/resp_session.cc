// A Redis client's requests on the control plane; see resp_session.h.
#include "resp_session.h"

#include "common/ascii.h"

#include <fmt/core.h>

#include <algorithm>
#include <charconv>

#include "engine/resp_notify.h"
#include "proto/resp_writer.h"

namespace fulmar::controlplane {

using engine::ExecStatus;
using engine::RespCommand;
using engine::RespGather;
using engine::RespRequest;

RespSession::RespSession(const OwnerExecutorDeps& deps, OwnerExecutor& exec, ExecutorClient& client,
                         RespServerState* server, RespConn conn)
    : deps_(deps), exec_(exec), client_(client), server_(server), conn_(std::move(conn)) {
    for (const store::ShardView& v : deps.dp->shards)
        views_.push_back(&v);
    last_interaction_ = conn_.created;
    if (server_ != nullptr) {
        server_->add(this, conn_.id);
        registered_ = true;
        authenticated_ = server_->requirepass().empty();
    }
}

RespSession::~RespSession() {
    disconnect();
    closed();
}

void RespSession::closed() {
    if (registered_) {
        for (const uint64_t t : server_->drop_waits(this))
            client_.forget_ticket(t);
        server_->remove(conn_.id);
    }
    registered_ = false;
}

engine::McFeedResult RespSession::feed(std::string_view in, OrderedOutput& out) {
    engine::McFeedResult r;
    while (r.consumed < in.size()) {
        const proto::RespParseResult p = parser_.parse(in.substr(r.consumed));
        if (p.status == proto::ParseStatus::kNeedMore) break;
        if (p.status == proto::ParseStatus::kError) {
            proto::RespWriter(out).write_simple_error(parser_.error_message());
            r.status = engine::McSessionStatus::kClose;
            return r;
        }
        const RespRequest req{parser_.args()};
        const Step step = req.args.empty() ? Step::kNext : run(req, out);
        if (step == Step::kWait) {
            // Fed the same bytes again later: the parse starts over.
            parser_.reset();
            r.waiting = true;
            return r;
        }
        r.consumed += p.consumed;
        if (step == Step::kClose) {
            r.status = engine::McSessionStatus::kClose;
            return r;
        }
    }
    return r;
}

void RespSession::attach_pubsub(PubSubHub& hub, PubSubClient& client, PeerPublisher* peers) {
    pubsub_ = std::make_unique<RespPubSub>(
        hub, client,
        RespPubSubCluster{
            .ctx = deps_.ctx, .peers = peers, .peer_ip = std::string(peer_ip(conn_.addr))});
}

RespSession::Step RespSession::run(const RespRequest& req, OrderedOutput& out) {
    // A blocked client runs nothing else until it is answered.
    if (blocked_) return Step::kWait;
    // No more replies pile up while the client has not taken what it has.
    if (client_.output_full()) return Step::kWait;
    // CLIENT REPLY OFF / SKIP: the reply is made and dropped (an owner's
    // finds no place for it in `out` and goes).
    output_ = &out;
    const bool skip = reply_mode_ == ReplyMode::kSkipNext;
    const RespCommand* c = engine::find_resp_command(req.args[0]);
    // CLIENT REPLY ON answers +OK whatever the mode was.
    const bool reply_on = c != nullptr && c->spec.name == "client" && req.args.size() == 3 &&
                          ascii_iequals(req.args[1], "reply") && ascii_iequals(req.args[2], "on");
    OrderedOutput& dst = reply_mode_ == ReplyMode::kOn || reply_on ? out : discarded_;
    Step step = Step::kNext;
    if (c == nullptr) {
        if (in_multi_) multi_dirty_ = true;
        proto::RespWriter(dst).write_error(engine::resp_unknown_command_error(req.args));
    } else {
        step = dispatch(*c, req, dst);
    }
    if (step == Step::kWait) return step;
    if (server_ != nullptr) {
        ++server_->total_commands;
        last_interaction_ = deps_.ctx->now();
    }
    discarded_.parts.clear();
    discarded_.ready_bytes = 0;
    discarded_.written = 0;
    if (skip && reply_mode_ == ReplyMode::kSkipNext) reply_mode_ = ReplyMode::kOn;
    return step;
}

RespSession::Step RespSession::dispatch(const RespCommand& c, const RespRequest& req,
                                        OrderedOutput& out) {
    const std::string_view name = c.spec.name;
    last_cmd_ = name;
    if (c.spec.has(engine::kCmdSession) && req.args.size() >= 2 &&
        (name == "client" || name == "config")) {
        last_cmd_ += '|';
        for (char ch : req.args[1])
            last_cmd_ += static_cast<char>(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
    }
    // Redis checks the arity before the password, and the password before
    // anything else.
    const engine::CommandArity a = c.spec.arity;
    const size_t n = req.args.size();
    if (n < a.min || (a.max != engine::kAnyArity && n > a.max)) {
        if (in_multi_) multi_dirty_ = true;
        proto::RespWriter(out).write_error(engine::resp_arity_error(name));
        return Step::kNext;
    }
    if (!authenticated_ && name != "auth" && name != "hello" && name != "quit" && name != "reset") {
        if (in_multi_) multi_dirty_ = true;
        proto::RespWriter(out).write_error("-NOAUTH Authentication required.");
        return Step::kNext;
    }
    if (in_multi_ && name != "exec" && name != "discard" && name != "multi" && name != "watch" &&
        name != "quit" && name != "reset")
        return queue(c, req, out);
    if (pubsub_) {
        // Pub/sub's commands, and RESP2's subscribed mode (resp_pubsub.h).
        OrderedOutput& pushes = output_ != nullptr ? *output_ : out;
        switch (pubsub_->intercept(c, req, exec_.pending() != 0, out, pushes)) {
            case RespPubSub::Outcome::kNotMine:
                break;
            case RespPubSub::Outcome::kDone:
                return Step::kNext;
            case RespPubSub::Outcome::kWaitWrites:
                return Step::kWait;
        }
    }
    if (c.spec.has(engine::kCmdSession)) return run_session(c, req, out);
    if (!engine::resp_check(c, req, out)) return Step::kNext;
    engine::EngineCtx& ctx = *deps_.ctx;
    // Cluster mode: keys of other partitions get MOVED here, before any
    // read or hand-off (the owner checks writes again: the flip's freeze).
    if (!engine::ring_serves(c, req, ctx, out)) return Step::kNext;
    if (c.reads(req)) {
        // A read after this client's own writes must see them.
        if (exec_.pending() != 0) return Step::kWait;
        expired_.clear();
        c.read(req,
               engine::RespReadCtx{.views = views_,
                                   .now = ctx.now(),
                                   .now_ms = ctx.now_ms(),
                                   .scratch = ctx.scratch,
                                   .stats = ctx.stats,
                                   .expired = &expired_,
                                   .limits = ctx.limits()},
               out);
        if (!expired_.empty()) reclaim(expired_);
        return Step::kNext;
    }
    if (c.spec.has(engine::kCmdNoKey)) {
        c.spec.execute(req, store::KeyRef{}, ctx, out);
        return c.spec.has(engine::kCmdCloses) ? Step::kClose : Step::kNext;
    }
    request_.clear();
    begin_request(request_);
    engine::write_resp_request(req.args, request_);
    if (c.spec.has(engine::kCmdAllShards) && c.gather != RespGather::kNone)
        return every_shard(c, out);
    if (c.spec.has(engine::kCmdAllShards))
        return exec_.fan_out_resp(request_, out) == ExecStatus::kDone ? Step::kNext : Step::kWait;
    if (c.route != nullptr) {
        const size_t to = c.route(req, exec_.n_shards());
        return exec_.send_resp(to, request_, PostOp::kResp, &out) != 0 ? Step::kNext : Step::kWait;
    }
    const size_t n_keys =
        c.spec.keys.single() ? 1 : (req.args.size() - 1) / static_cast<size_t>(c.spec.keys.step);
    if (n_keys > 1 && c.gather != RespGather::kNone) return split(c, req, out);
    // LMPOP's and BLMPOP's keys come after a count (checked by the parse).
    const size_t first = c.spec.keys.numkeys != 0 ? static_cast<size_t>(c.spec.keys.first) : 1;
    const size_t shard = exec_.shard_of(store::KeyRef(req.args[first]).digest);
    if (n_keys > 1 && !keys_on_shard(c, req, shard)) {
        proto::RespWriter(out).write_error(engine::kRespCrossShardError);
        return Step::kNext;
    }
    if (c.spec.has(engine::kCmdBlocking) && blocking_ != nullptr) return block(c, req, shard, out);
    if (exec_.send_resp(shard, request_, PostOp::kResp, &out) == 0) return Step::kWait;
    signal_keys(c, req);
    return Step::kNext;
}

void RespSession::reclaim(const std::vector<std::string>& keys) {
    // EXISTS on an owner frees its expired keys first (engine::execute_resp);
    // the answer is dropped. This client's next read waits for it (pending),
    // so it never sees the key come back; if the channel is full the TTL
    // sweep frees them later.
    std::vector<std::vector<std::string_view>> per_shard(exec_.n_shards());
    for (const std::string& k : keys) {
        auto& req = per_shard[exec_.shard_of(store::KeyRef(k).digest)];
        if (req.empty()) req.emplace_back("exists");
        req.emplace_back(k);
    }
    std::string body;
    for (size_t s = 0; s < per_shard.size(); ++s) {
        if (per_shard[s].empty()) continue;
        body.clear();
        begin_request(body);  // the owner reports "expired" events when asked
        engine::write_resp_request(per_shard[s], body);
        (void)exec_.send_resp(s, body, PostOp::kDiscard, nullptr);
    }
}

RespSession::Step RespSession::every_shard(const RespCommand& c, OrderedOutput& out) {
    pieces_.clear();
    for (size_t s = 0; s < exec_.n_shards(); ++s)
        pieces_.push_back(OwnerExecutor::RespPiece{s, request_});
    return send_gathered(c, out);
}

void RespSession::begin_request(std::string& out) const {
    if (!pubsub_) return;
    const uint16_t flags = pubsub_->notify_flags();
    if (notify_enabled(flags)) engine::write_notify_request_prefix(flags, out);
}

bool RespSession::keys_on_shard(const RespCommand& c, const RespRequest& req, size_t shard) const {
    const engine::KeySpec k = c.spec.keys;
    const size_t last = k.last_key(req.args);
    for (size_t i = static_cast<size_t>(k.first); i <= last && i < req.args.size();
         i += static_cast<size_t>(k.step))
        if (exec_.shard_of(store::KeyRef(req.args[i]).digest) != shard) return false;
    return true;
}

RespSession::Step RespSession::split(const RespCommand& c, const RespRequest& req,
                                     OrderedOutput& out) {
    // One piece per shard holding its keys in request order (so a key named
    // twice keeps its last value), each a whole command for that owner:
    // at most n_shards messages whatever the key count.
    const size_t step = static_cast<size_t>(c.spec.keys.step);
    const size_t n = exec_.n_shards();
    std::vector<std::vector<std::string_view>> per_shard(n);
    for (size_t i = 1; i + step <= req.args.size(); i += step) {
        auto& piece = per_shard[exec_.shard_of(store::KeyRef(req.args[i]).digest)];
        if (piece.empty()) piece.push_back(c.split_as);
        for (size_t j = 0; j < step; ++j)
            piece.push_back(req.args[i + j]);
    }
    pieces_.clear();
    for (size_t s = 0; s < n; ++s) {
        if (per_shard[s].empty()) continue;
        OwnerExecutor::RespPiece p{s, {}};
        begin_request(p.request);
        engine::write_resp_request(per_shard[s], p.request);
        pieces_.push_back(std::move(p));
    }
    return send_gathered(c, out);
}

RespSession::Step RespSession::send_gathered(const RespCommand& c, OrderedOutput& out) {
    bool never = false;
    if (exec_.send_resp_pieces(pieces_, PostOp::kRespGather, tickets_, never) !=
        ExecStatus::kDone) {
        if (!never) return Step::kWait;
        proto::RespWriter(out).write_error("too many keys for the owners' channel at once");
        return Step::kNext;
    }
    const uint64_t placeholder = tickets_.front();
    groups_[placeholder] = Gather{.kind = c.gather, .left = tickets_.size()};
    for (uint64_t t : tickets_)
        piece_group_[t] = placeholder;
    out.append_deferred(placeholder);
    return Step::kNext;
}

void RespSession::gathered(uint64_t ticket, std::string_view bytes, OrderedOutput& out) {
    const auto p = piece_group_.find(ticket);
    if (p == piece_group_.end()) return;
    const uint64_t placeholder = p->second;
    piece_group_.erase(p);
    const auto g = groups_.find(placeholder);
    if (g == groups_.end()) return;
    Gather& gather = g->second;
    if (bytes.starts_with('-')) {
        if (gather.error.empty()) gather.error = std::string(bytes);
    } else if (gather.kind == RespGather::kConcat && bytes.starts_with('*')) {
        // "*<n>\r\n<elements>": the counts add, the elements follow.
        const size_t eol = bytes.find("\r\n");
        int64_t n = 0;
        std::from_chars(bytes.data() + 1, bytes.data() + std::min(eol, bytes.size()), n);
        gather.sum += n;
        if (eol != std::string_view::npos) gather.body.append(bytes.substr(eol + 2));
    } else if (gather.kind == RespGather::kPickOne && bytes.starts_with('$') &&
               !bytes.starts_with("$-1")) {
        // One answer kept, each shard's with an equal chance.
        ++gather.sum;
        if (pick_(gather.sum)) gather.body.assign(bytes);
    } else if (bytes.starts_with(':')) {
        int64_t n = 0;
        std::from_chars(bytes.data() + 1, bytes.data() + bytes.size(), n);
        gather.sum += n;
    }
    if (--gather.left != 0) return;
    std::string reply;
    if (!gather.error.empty()) {
        reply = std::move(gather.error);
    } else {
        proto::RespWriter w(reply);
        if (gather.kind == RespGather::kSum) {
            w.write_integer(gather.sum);
        } else if (gather.kind == RespGather::kConcat) {
            w.write_array(static_cast<size_t>(gather.sum));
            reply += gather.body;
        } else if (gather.kind == RespGather::kPickOne) {
            if (gather.body.empty())
                w.write_null();
            else
                reply = std::move(gather.body);
        } else {
            w.write_simple("OK");
        }
    }
    groups_.erase(g);
    out.fill(placeholder, std::move(reply));
}

}  // namespace fulmar::controlplane
