// DUMP and RESTORE (Redis 7.0.15's payloads, rdb_payload.h), and the DEBUG
// subcommands built on them: OBJECT and RELOAD (resp_debug.h).
//
// DUMP is a read: the control plane serves it from the views. RESTORE is a
// write: it runs on the key's owner like every write (the shard's single
// writer), and validates the whole payload before anything is stored.
#include <fmt/core.h>
#include <fmt/format.h>

#include <algorithm>
#include <climits>
#include <string>

#include "engine/rdb_payload.h"
#include "engine/rdb_restore.h"
#include "engine/resp_debug.h"
#include "engine/resp_groups.h"
#include "engine/resp_object.h"
#include "engine/resp_util.h"

namespace fulmar::engine {
namespace {

using namespace resp;

// DUMP key: the payload, or a null bulk for a missing key.
void read_dump(const RespRequest& req, const RespReadCtx& ctx, ReplySink& out) {
    RespWriter w(out);
    store::ItemMeta meta;
    if (read_key(req.args[1], ctx, meta) != store::ReadStatus::kHit) return w.write_null();
    std::string payload;
    if (!rdb::dump(item_type(meta), std::string_view(ctx.scratch.data(), meta.value_len),
                   coll::list_fill(ctx.limits), payload))
        return w.write_error("DUMP: the key's value is malformed");
    w.write_bulk(payload);
}

// RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ f]:
// the options in restoreCommand's order and words (IDLETIME and FREQ
// exclude each other: the second is a syntax error). FREQ is checked and
// then has nothing to set: there is no LFU policy here, and Redis too
// ignores it without one.
struct RestoreArgs {
    bool replace = false;
    bool absttl = false;
    int64_t idle = -1;
    int64_t freq = -1;
};

bool parse_restore_args(const RespRequest& req, RestoreArgs& a, ReplySink& out) {
    RespWriter w(out);
    const auto& args = req.args;
    for (size_t j = 4; j < args.size(); ++j) {
        const bool more = j + 1 < args.size();
        if (iequals(args[j], "replace")) {
            a.replace = true;
        } else if (iequals(args[j], "absttl")) {
            a.absttl = true;
        } else if (iequals(args[j], "idletime") && more && a.freq == -1) {
            if (!resp_parse_int(args[++j], a.idle)) {
                w.write_error(kErrNotInteger);
                return false;
            }
            if (a.idle < 0) {
                w.write_error("Invalid IDLETIME value, must be >= 0");
                return false;
            }
        } else if (iequals(args[j], "freq") && more && a.idle == -1) {
            if (!resp_parse_int(args[++j], a.freq)) {
                w.write_error(kErrNotInteger);
                return false;
            }
            if (a.freq < 0 || a.freq > 255) {
                w.write_error("Invalid FREQ value, must be >= 0 and <= 255");
                return false;
            }
        } else {
            w.write_error(kErrSyntax);
            return false;
        }
    }
    return true;
}

bool parse_restore(const RespRequest& req, ReplySink& out) {
    RestoreArgs a;
    return parse_restore_args(req, a, out);
}

void op_restore(const RespRequest& req, const store::KeyRef& k, EngineCtx& ctx, ReplySink& out) {
    RestoreArgs o;
    if (!parse_restore_args(req, o, out)) return;
    RespWriter w(out);
    store::Shard& s = ctx.shard_for(k);
    const UnixTime now = ctx.now();
    const auto now_ms = static_cast<int64_t>(ctx.now_ms());
    store::Item* old = s.find(k, now);
    // Redis's order: the key, then the TTL, then the payload.
    if (!o.replace && old != nullptr)
        return w.write_error("-BUSYKEY Target key name already exists.");
    int64_t ttl = 0;
    if (!resp_parse_int(req.args[2], ttl)) return w.write_error(kErrNotInteger);
    if (ttl < 0) return w.write_error("Invalid TTL value, must be >= 0");
    rdb::Loaded obj;
    const rdb::LoadStatus st = rdb::load(req.args[3], obj);
    if (st != rdb::LoadStatus::kOk) return w.write_error(rdb::load_error(st, req.args[3]));
    int64_t at_ms = 0;
    if (ttl != 0) at_ms = o.absttl ? ttl : (ttl > INT64_MAX - now_ms ? INT64_MAX : now_ms + ttl);
    if (ttl != 0 && at_ms <= now_ms) {
        // Already expired: the old key goes (REPLACE), nothing is added.
        if (old != nullptr) s.unlink(old);
        return w.write_simple("OK");
    }
    const Expiry e = ttl != 0 ? expiry_from_ms(at_ms) : Expiry{};
    const rdb::ItemAttrs attrs{
        .exptime = e.seconds,
        .expire_ms = e.ms,
        .flags = 0,
        .time =
            o.idle >= 0 ? static_cast<UnixTime>(std::max<int64_t>(1, int64_t{now} - o.idle)) : 0};
    const coll::WriteStatus ws = rdb::store_loaded(s, k, obj, attrs, now, ctx.limits());
    if (ws == coll::WriteStatus::kStored) return w.write_simple("OK");
    if (obj.type == store::ItemType::kString && ws == coll::WriteStatus::kTooLarge)
        return w.write_error(kErrTooLarge);
    coll::write_error(ws, out);
}

constexpr std::string_view kDebugOwnerError =
    "unknown subcommand or wrong number of arguments for '{}'. Try DEBUG HELP.";

const RespCommand kDumpCommands[] = {
    RespCommand{Spec{"dump", exactly(2), kRead, kOneKey, nullptr, exec_read<read_dump>}, read_dump},
    RespCommand{Spec{"restore", at_least(4), kWrite, kOneKey, parse_restore, op_restore}},
};

}  // namespace

void debug_object(std::string_view key, const RespReadCtx& ctx, ReplySink& out) {
    RespWriter w(out);
    store::ItemMeta meta;
    if (read_key(key, ctx, meta) != store::ReadStatus::kHit) return w.write_error(kErrNoSuchKey);
    const store::ItemType t = item_type(meta);
    const std::string_view value(ctx.scratch.data(), meta.value_len);
    const coll::ListFill fill = coll::list_fill(ctx.limits);
    std::string extra;
    if (t == store::ItemType::kList) {
        // Redis's quicklist fields: nodes, entries a node, the fill the list
        // packs by, whether the list compresses nodes (Redis prints whether
        // its compress depth is not 0), and the nodes' bytes inflated.
        coll::QuicklistView v;
        if (!v.parse(value)) return w.write_error("DEBUG OBJECT: the key's value is malformed");
        size_t bytes = 0;
        for (uint32_t i = 0; i < v.nodes(); ++i)
            bytes += v.node_bytes(i).size();
        extra = fmt::format(
            " ql_nodes:{} ql_avg_node:{:.2f} ql_listpack_max:{} ql_compressed:{} "
            "ql_uncompressed_size:{}",
            v.nodes(), v.nodes() != 0 ? static_cast<double>(v.size()) / v.nodes() : 0.0, fill.fill,
            ctx.limits.list_compress_depth != 0 ? 1 : 0, bytes);
    }
    const int64_t serialized = rdb::serialized_length(t, value, fill);
    // Redis's LRU clock: Unix seconds modulo 2^24.
    constexpr uint32_t kLruClockMax = (1u << 24) - 1;
    w.write_simple(fmt::format(
        "Value at:{} refcount:{} encoding:{} serializedlength:{} lru:{} lru_seconds_idle:{}{}",
        fmt::ptr(meta.item), object_refcount(meta.type_bits, value),
        object_encoding(meta.type_bits, value), std::max<int64_t>(serialized, 0),
        meta.time & kLruClockMax, ctx.now > meta.time ? ctx.now - meta.time : 0, extra));
}

void op_debug(const RespRequest& req, const store::KeyRef&, EngineCtx& ctx, ReplySink& out) {
    RespWriter w(out);
    if (req.args.size() != 2 || !iequals(req.args[1], "reload"))
        return w.write_error(
            fmt::format(fmt::runtime(kDebugOwnerError), req.args[1].substr(0, 128)));
    const CollectionLimits limits = ctx.limits();
    uint64_t failed = 0;
    for (store::Shard* s : ctx.shards) {
        if (!ctx.owns(*s)) continue;
        s->set_now_ms(ctx.now_ms());
        failed += rdb::reload_shard(*s, ctx.now(), limits).failed;
    }
    if (failed != 0)
        return w.write_error(fmt::format(
            "DEBUG RELOAD: {} items could not be rewritten (no memory for their copy); they "
            "keep their old encoding",
            failed));
    w.write_simple("OK");
}

std::span<const RespCommand> resp_dump_commands() {
    return kDumpCommands;
}

}  // namespace fulmar::engine
