// A memcached text session: framing, routing between the classic and meta
// executors, swallowing and the reply queue; see mc_session.h.
#include "engine/mc_session.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "engine/mc_classic.h"
#include "engine/mc_commands.h"
#include "engine/mc_meta_exec.h"
#include "engine/replica_guard.h"
#include "proto/mc_meta.h"
#include "store/digest.h"

namespace fulmar::engine {
namespace {

using proto::McTextCommand;
using proto::McTextError;
using proto::ParseStatus;

// memcached's reqs_per_event is 20, and its loop counts so that the first
// write comes after the 21st request of a read, then every 20th.
constexpr size_t kRequestsFirstWrite = 21;
constexpr size_t kRequestsPerWrite = 20;
// Enough for the replies of a deep pipeline of small requests; the queue
// grows past it when it must.
constexpr size_t kQueueReserve = 16 * 1024;
constexpr size_t kHeldReserve = 64;
// Digits of the largest 64-bit number.
constexpr size_t kMaxDigits = 20;

bool has_flag(McTextCommand c, CommandFlag f) {
    return c != McTextCommand::kNone && mc_text_command(c).has(f);
}

}  // namespace

void McSession::Queue::flush_to(proto::ReplySink& out) {
    held_.clear();
    size_t from = 0;
    for (const Deferred& d : deferred_) {
        if (d.at > from) out.append(std::string_view(bytes_).substr(from, d.at - from));
        out.append_deferred(d.ticket);
        from = d.at;
    }
    deferred_.clear();
    if (from < bytes_.size()) out.append(std::string_view(bytes_).substr(from));
    bytes_.clear();
}

void McSession::Queue::drop() {
    held_.clear();
    bytes_.clear();
    // A dropped deferred reply is never awaited: its owner discards it.
    deferred_.clear();
}

bool McSession::Queue::holds(EngineCtx& ctx, const store::KeyRef& k, uint64_t& cas) const {
    const store::Item* it = ctx.shard_for(k).find(k, ctx.now());
    cas = it != nullptr ? it->cas : 0;
    if (it == nullptr) return false;
    for (const Held& h : held_)
        if (h.digest == k.digest && h.cas == cas) return true;
    return false;
}

void McSession::Queue::hold(EngineCtx& ctx, const store::KeyRef& k) {
    if (const store::Item* it = ctx.shard_for(k).find(k, ctx.now()))
        held_.push_back({k.digest, it->cas});
}

template <typename Op>
void McSession::arith_on_held(std::string_view key, Op&& op) {
    // Through an executor the session holds no items (the owner runs each
    // request on its own): memcached's in-place quirk is left to pipelines
    // on one shard's owner.
    if (queue_.held_.empty() || exec_ != nullptr) {
        op();
        return;
    }
    const store::KeyRef k(key);
    uint64_t cas_before = 0;
    if (!queue_.holds(ctx_, k, cas_before)) {
        op();
        return;
    }
    op();
    store::Shard& shard = ctx_.shard_for(k);
    const UnixTime now = ctx_.now();
    const store::Item* it = shard.find(k, now);
    // Unchanged (miss, non-numeric value, CAS mismatch): nothing to undo.
    if (it == nullptr || it->cas == cas_before) return;
    const std::string_view v = it->value();
    const size_t digits = v.find(' ');
    if (digits == 0 || digits == std::string_view::npos || digits > kMaxDigits ||
        v.find_first_not_of(' ', digits) != std::string_view::npos ||
        v.substr(0, digits).find_first_not_of("0123456789") != std::string_view::npos)
        return;
    std::array<char, kMaxDigits> number;
    std::memcpy(number.data(), v.data(), digits);
    // The new item keeps the CAS the command may have reported (ma c).
    const store::StoreArgs args{.flags = it->client_flags,
                                .exptime = it->exptime,
                                .cas_set = it->cas,
                                .expire_ms = static_cast<uint16_t>(it->expire_ms)};
    (void)shard.store(store::StoreMode::kSet, k, {number.data(), digits}, args, now);
}

McSession::McSession(EngineCtx& ctx, McExecutor* exec)
    : ctx_(ctx), exec_(exec), text_(proto::McTextConf{.max_value_len = kMcMaxStorableValueLen}) {
    queue_.bytes_.reserve(kQueueReserve);
    queue_.held_.reserve(kHeldReserve);
}

void McSession::reset() {
    text_ = proto::McTextParser(proto::McTextConf{.max_value_len = kMcMaxStorableValueLen});
    meta_swallow_ = 0;
    needed_ = 0;
    requests_left_ = 0;
    queue_.drop();
}

void McSession::count_request(proto::ReplySink& out) {
    if (--requests_left_ > 0) return;
    queue_.flush_to(out);
    requests_left_ = kRequestsPerWrite;
}

McSession::Step McSession::feed_meta(std::string_view in, proto::ReplySink& out, McFeedResult& r) {
    proto::McMetaRequest req;
    const proto::McMetaResult res = proto::parse_mc_meta(in, req, kMcMaxStorableValueLen);
    switch (res.status) {
        case ParseStatus::kNeedMore:
            return Step::kNeedMore;
        case ParseStatus::kComplete: {
            if (exec_ != nullptr && req.command != proto::McMetaCommand::kNoop) {
                if (exec_->meta(req, in.substr(0, res.consumed), queue_) == ExecStatus::kWait)
                    return Step::kWait;
                r.consumed += res.consumed;
                count_request(out);
                return Step::kNext;
            }
            r.consumed += res.consumed;
            const size_t before = queue_.bytes_.size();
            if (req.command == proto::McMetaCommand::kArithmetic) {
                arith_on_held(req.key(), [&] { execute_meta(req, ctx_, queue_); });
            } else {
                execute_meta(req, ctx_, queue_);
            }
            if (req.command == proto::McMetaCommand::kGet) {
                // A hit ("VA", "HD") holds its item until the reply is
                // written; a miss is "EN" (or nothing, under q).
                const std::string_view reply = std::string_view(queue_.bytes_).substr(before);
                if (reply.starts_with(proto::kMcMetaVa) || reply.starts_with(proto::kMcMetaHd))
                    queue_.hold(ctx_, store::KeyRef(req.key()));
            }
            // memcached writes its queue right after "MN": that is what a
            // client pipelining quiet commands waits for.
            if (req.command == proto::McMetaCommand::kNoop) queue_.flush_to(out);
            count_request(out);
            return Step::kNext;
        }
        case ParseStatus::kError:
            break;
    }
    if (res.error == proto::McMetaError::kLineTooLong) return Step::kClose;
    r.consumed += res.consumed;
    meta_swallow_ = res.swallow;
    if (res.error == proto::McMetaError::kTooLarge) {
        // As for set, memcached unlinks the key of an ms it cannot store.
        if (exec_ != nullptr) {
            exec_->unlink(req);
        } else {
            const store::KeyRef k(req.key());
            ctx_.shard_for(k).remove(k, ctx_.now());
        }
    }
    queue_.append(proto::mc_meta_error_line(res.error));
    count_request(out);
    return Step::kNext;
}

McSession::Step McSession::step(std::string_view in, proto::ReplySink& out, McFeedResult& r) {
    if (meta_swallow_ > 0) {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(meta_swallow_, in.size()));
        meta_swallow_ -= n;
        r.consumed += n;
        return Step::kNext;
    }

    proto::McTextRequest req;
    const proto::McTextResult res = text_.parse(in, req);
    if (res.status == ParseStatus::kNeedMore) {
        needed_ = res.needed;
        return Step::kNeedMore;
    }
    if (res.status == ParseStatus::kComplete) {
        const McTextSpec& cmd = mc_text_command(req.command);
        if (cmd.has(kCmdCloses)) {
            r.consumed += res.consumed;
            // memcached writes the queue, then closes.
            queue_.flush_to(out);
            return Step::kClose;
        }
        const store::KeyRef key = mc_text_key(req);
        if (exec_ != nullptr) {
            proto::ReplySink& sink = cmd.has(kCmdFlushQueue) ? out : queue_;
            if (cmd.has(kCmdFlushQueue)) queue_.flush_to(out);
            if (exec_->classic(req, key, in.substr(0, res.consumed), sink) == ExecStatus::kWait)
                return Step::kWait;
            r.consumed += res.consumed;
            count_request(out);
            return Step::kNext;
        }
        r.consumed += res.consumed;
        if (refused_on_replica(cmd, key.key, ctx_, queue_)) {
            count_request(out);
            return Step::kNext;
        }
        if (cmd.has(kCmdFlushQueue)) {
            // memcached writes the queue once a get has answered; the get's
            // own reply can go straight out behind it.
            queue_.flush_to(out);
            cmd.execute(req, key, ctx_, out);
        } else if (cmd.has(kCmdRewritesNumber)) {
            arith_on_held(req.key, [&] { cmd.execute(req, key, ctx_, queue_); });
        } else {
            cmd.execute(req, key, ctx_, queue_);
        }
        count_request(out);
        return Step::kNext;
    }

    switch (res.error) {
        case McTextError::kSwallowed:
            r.consumed += res.consumed;
            return Step::kNext;
        case McTextError::kMetaCommand:
            return feed_meta(in, out, r);
        case McTextError::kLineTooLong:
        case McTextError::kHttpRequest:
            return Step::kClose;
        case McTextError::kBadFormat:
            // memcached meets the long key while building the get's reply
            // and releases every queued reply with it.
            if (has_flag(req.command, kCmdFlushQueue)) queue_.drop();
            break;
        default:
            break;
    }
    r.consumed += res.consumed;
    if (exec_ != nullptr) {
        exec_->classic_error(res.error, req, in.substr(0, res.consumed), queue_);
    } else {
        execute_classic_error(res.error, req, ctx_, queue_);
    }
    count_request(out);
    return Step::kNext;
}

McFeedResult McSession::feed(std::string_view in, proto::ReplySink& out) {
    McFeedResult r;
    needed_ = 0;
    requests_left_ = kRequestsFirstWrite;
    while (r.consumed < in.size()) {
        const Step s = step(in.substr(r.consumed), out, r);
        if (s == Step::kNeedMore) break;
        if (s == Step::kWait) {
            r.waiting = true;
            break;
        }
        if (s == Step::kClose) {
            // Whatever is still queued dies with the connection (quit has
            // written its queue already).
            queue_.drop();
            r.status = McSessionStatus::kClose;
            return r;
        }
    }
    queue_.flush_to(out);
    return r;
}

}  // namespace fulmar::engine
