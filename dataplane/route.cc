// Datagram routing; see route.h for the rules and why.
#include "route.h"

#include "engine/engine_ctx.h"
#include "proto/mc_meta.h"
#include "proto/mc_text.h"
#include "store/digest.h"

namespace fulmar::dataplane {
namespace {

using proto::McTextCommand;

bool is_admin(McTextCommand c) {
    return c == McTextCommand::kStats || c == McTextCommand::kFlushAll ||
           c == McTextCommand::kVerbosity;
}

bool is_read(McTextCommand c) {
    return c == McTextCommand::kGet || c == McTextCommand::kGets || c == McTextCommand::kVersion ||
           c == McTextCommand::kQuit || c == McTextCommand::kNone;
}

// Adds a write on `key`; false when it lands on a second shard.
bool add_write(std::string_view key, const RoutePolicy& p, int& shard) {
    const auto s = static_cast<int>(engine::shard_index(store::digest_key(key), p.n_shards));
    if (shard < 0) shard = s;
    return shard == s;
}

}  // namespace

Route route_datagram(std::string_view payload, const RoutePolicy& policy) {
    // Fast path for the common datagram, one get/gets line: a read, run
    // here. Saves a full parse (~a fifth of a GET's instructions).
    if ((payload.starts_with("get ") || payload.starts_with("gets ")) &&
        payload.find('\n') == payload.size() - 1)
        return {RouteKind::kLocal, 0};
    proto::McTextParser text;
    int owner = -1;
    size_t off = 0;
    // A datagram is a handful of commands; parsing it twice (here and when
    // it runs) costs less than a cross-lcore hand-off of every datagram.
    while (off < payload.size()) {
        const std::string_view rest = payload.substr(off);
        proto::McTextRequest req;
        const proto::McTextResult r = text.parse(rest, req);
        if (r.status == proto::ParseStatus::kNeedMore) break;
        if (r.status == proto::ParseStatus::kError && r.error == proto::McTextError::kMetaCommand) {
            proto::McMetaRequest mreq;
            const proto::McMetaResult mr = proto::parse_mc_meta(rest, mreq);
            if (mr.status == proto::ParseStatus::kNeedMore) break;
            // A refused ms still writes: the engine unlinks its key, as
            // memcached does.
            const bool runs = mr.status == proto::ParseStatus::kComplete ||
                              (mr.status == proto::ParseStatus::kError &&
                               mr.error == proto::McMetaError::kTooLarge);
            if (runs && mreq.command != proto::McMetaCommand::kNoop) {
                if (!add_write(mreq.key(), policy, owner)) return {RouteKind::kRefuseSpan, 0};
            }
            if (mr.consumed == 0) break;
            // Skip the refused data block too, or it would read as commands.
            off += mr.consumed + mr.swallow;
            continue;
        }
        if (is_admin(req.command)) {
            if (!policy.admin_over_udp) return {RouteKind::kRefuseAdmin, 0};
            // flush_all writes every shard: only a one-shard node runs it here.
            if (req.command == McTextCommand::kFlushAll && policy.n_shards > 1)
                return {RouteKind::kRefuseSpan, 0};
        } else if (req.command == McTextCommand::kGat || req.command == McTextCommand::kGats) {
            // gat touches every key it names.
            proto::McTokenIter keys = req.key_iter();
            std::string_view k;
            while (keys.next(k))
                if (!add_write(k, policy, owner)) return {RouteKind::kRefuseSpan, 0};
        } else if (!is_read(req.command) && !req.key.empty()) {
            if (!add_write(req.key, policy, owner)) return {RouteKind::kRefuseSpan, 0};
        }
        if (r.consumed == 0) break;
        off += r.consumed;
    }
    if (owner < 0) return {RouteKind::kLocal, 0};
    return {RouteKind::kOwner, static_cast<uint16_t>(owner)};
}

}  // namespace fulmar::dataplane
