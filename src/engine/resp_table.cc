// The Redis command table: every group's entries (resp_groups.h), looked up
// by name, and what runs a request against it (checks, execution on an
// owner, the request's wire form); see resp_commands.h.
#include <fmt/core.h>

#include <climits>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/replica_guard.h"
#include "engine/resp_commands.h"
#include "engine/resp_groups.h"
#include "engine/resp_notify.h"
#include "engine/resp_util.h"
#include "engine/ring_guard.h"

namespace fulmar::engine {

using namespace resp;

namespace {

struct Table {
    Table() {
        for (const auto group :
             {resp_keyspace_commands(), resp_string_commands(), resp_key_commands(),
              resp_bit_commands(), resp_list_commands(), resp_object_commands(),
              resp_sort_commands(), resp_server_commands(), resp_set_commands(),
              resp_hash_commands(), resp_pubsub_commands(), resp_dump_commands()})
            all.insert(all.end(), group.begin(), group.end());
        for (const RespCommand& c : all)
            by_name.emplace(c.spec.name, &c);
    }
    std::vector<RespCommand> all;
    // Names in the table are lower case; a request's name is lowered into a
    // small buffer first (Redis's names are short).
    std::unordered_map<std::string_view, const RespCommand*> by_name;
};

const Table& table() {
    static const Table t;
    return t;
}

// A write runs only where every key it names is this context's to write:
// the control plane routes so (resp_session.cc), this keeps a bad route from
// ever breaking the one-writer-per-shard rule.
bool owns_every_key(const RespCommand& c, const RespRequest& req, const EngineCtx& ctx) {
    const KeySpec k = c.spec.keys;
    if (k.none()) return true;
    const size_t last = k.last_key(req.args);
    for (size_t i = static_cast<size_t>(k.first); i <= last && i < req.args.size();
         i += static_cast<size_t>(k.step))
        if (!ctx.owns(ctx.shard_for(store::KeyRef(req.args[i])))) return false;
    return true;
}

// Redis's lazy expiry on an owner: a read's expired keys are freed before
// it runs (Shard::find reclaims what it finds expired). The control plane
// sends an owner the keys its own lock-free reads found expired this way.
void reclaim_expired(const RespCommand& c, const RespRequest& req, EngineCtx& ctx) {
    const KeySpec k = c.spec.keys;
    if (k.none()) return;
    const UnixTime now = ctx.now();
    const size_t last = k.last_key(req.args);
    for (size_t i = static_cast<size_t>(k.first); i <= last && i < req.args.size();
         i += static_cast<size_t>(k.step)) {
        const store::KeyRef key(req.args[i]);
        store::Shard& s = ctx.shard_for(key);
        if (ctx.owns(s)) (void)s.find(key, now);
    }
}

}  // namespace

std::span<const RespCommand> resp_commands() {
    return table().all;
}

const RespCommand* find_resp_command(std::string_view name) {
    char buf[32];
    if (name.size() > sizeof buf) return nullptr;
    for (size_t i = 0; i < name.size(); ++i)
        buf[i] = ascii_lower(name[i]);
    const auto& m = table().by_name;
    const auto it = m.find(std::string_view(buf, name.size()));
    return it == m.end() ? nullptr : it->second;
}

std::string resp_unknown_command_error(std::span<const std::string_view> args) {
    // Redis 7.0's processCommand: up to 128 bytes of the arguments.
    std::string quoted;
    for (size_t i = 1; i < args.size() && quoted.size() < 128; ++i)
        quoted += fmt::format("'{}' ", args[i].substr(0, 128 - quoted.size()));
    return fmt::format("unknown command '{}', with args beginning with: {}", args[0].substr(0, 128),
                       quoted);
}

std::string resp_arity_error(std::string_view name) {
    return fmt::format("wrong number of arguments for '{}' command", lower(name));
}

bool resp_check(const RespCommand& c, const RespRequest& req, ReplySink& out) {
    const size_t n = req.args.size();
    const CommandArity a = c.spec.arity;
    if (n < a.min || (a.max != kAnyArity && n > a.max)) {
        RespWriter(out).write_error(resp_arity_error(c.spec.name));
        return false;
    }
    if (c.spec.has(kCmdWrite) && !c.spec.keys.none()) {
        const size_t last = c.spec.keys.last_key(req.args);
        for (size_t i = static_cast<size_t>(c.spec.keys.first); i <= last && i < n;
             i += static_cast<size_t>(c.spec.keys.step)) {
            if (req.args[i].size() > store::kMaxKeyLen) {
                RespWriter(out).write_error(kErrKeyTooLong);
                return false;
            }
        }
    }
    return c.spec.parse == nullptr || c.spec.parse(req, out);
}

bool ring_serves(const RespCommand& c, const RespRequest& req, const EngineCtx& ctx,
                 ReplySink& out) {
    if (!ring_active(ctx) || (c.spec.keys.none() && c.extra_keys == nullptr)) return true;
    const bool write = c.spec.has(kCmdWrite);
    for (const size_t i : resp_key_positions(c, req.args)) {
        const RingAnswer a = ring_check(ctx, req.args[i], write);
        if (a.verdict == RingVerdict::kServe) continue;
        write_resp_ring_error(a, out);
        return false;
    }
    return true;
}

void execute_resp(const RespRequest& req, EngineCtx& ctx, ReplySink& out) {
    if (req.args.empty()) return;
    const RespCommand* c = find_resp_command(req.args[0]);
    if (c == nullptr) {
        RespWriter(out).write_error(resp_unknown_command_error(req.args));
        return;
    }
    if (!resp_check(*c, req, out)) return;
    if (c->spec.execute == nullptr) {
        // A session command (kCmdSession) reached an owner: only the control
        // plane's session runs those.
        RespWriter(out).write_error(
            fmt::format("'{}' is answered by the connection, not by a shard", c->spec.name));
        return;
    }
    if (c->spec.has(kCmdWrite) && is_read_only_replica(ctx)) {
        refuse_resp_write(ctx, out);
        return;
    }
    if (!ring_serves(*c, req, ctx, out)) return;
    if (c->spec.has(kCmdWrite) && !owns_every_key(*c, req, ctx)) {
        RespWriter(out).write_error(kRespCrossShardError);
        return;
    }
    const uint64_t now_ms = ctx.now_ms();
    for (store::Shard* s : ctx.shards)
        if (ctx.owns(*s)) s->set_now_ms(now_ms);
    if (c->spec.has(kCmdRead) && ctx.own_shard >= 0) reclaim_expired(*c, req, ctx);
    const store::KeyRef key = c->spec.keys.single() ? store::KeyRef(req.args[1]) : store::KeyRef{};
    c->spec.execute(req, key, ctx, out);
}

void run_resp_request(proto::RespParser& parser, std::string_view body, EngineCtx& ctx,
                      ReplySink& out) {
    // The control plane asks for keyspace events (resp_notify.h).
    if (body.starts_with('>')) {
        run_resp_request_notifying(parser, body, ctx, out);
        return;
    }
    parser.reset();
    const proto::RespParseResult r = parser.parse(body);
    if (r.status == proto::ParseStatus::kComplete) {
        execute_resp(RespRequest{parser.args()}, ctx, out);
        return;
    }
    RespWriter w(out);
    if (r.status == proto::ParseStatus::kError)
        w.write_simple_error(parser.error_message());
    else
        w.write_error("Protocol error: the request is incomplete");
}

std::vector<size_t> resp_key_positions(const RespCommand& c,
                                       std::span<const std::string_view> args) {
    std::vector<size_t> keys;
    const KeySpec k = c.spec.keys;
    if (k.none() || args.size() <= static_cast<size_t>(k.first)) return keys;
    const size_t last = k.last_key(args);
    for (size_t i = static_cast<size_t>(k.first); i <= last && i < args.size();
         i += static_cast<size_t>(k.step))
        keys.push_back(i);
    if (c.extra_keys != nullptr) c.extra_keys(args, keys);
    return keys;
}

void write_resp_request(std::span<const std::string_view> args, std::string& out) {
    out += fmt::format("*{}\r\n", args.size());
    for (std::string_view a : args) {
        out += fmt::format("${}\r\n", a.size());
        out.append(a);
        out += "\r\n";
    }
}

bool resp_parse_int(std::string_view s, int64_t& out) {
    if (s.empty() || s.size() > 20) return false;
    if (s == "0") {
        out = 0;
        return true;
    }
    size_t i = 0;
    const bool negative = s[0] == '-';
    if (negative) ++i;
    if (i >= s.size() || s[i] < '1' || s[i] > '9') return false;
    uint64_t v = 0;
    for (; i < s.size(); ++i) {
        if (s[i] < '0' || s[i] > '9') return false;
        const uint64_t d = static_cast<uint64_t>(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) return false;
        v = v * 10 + d;
    }
    if (negative) {
        if (v > uint64_t{1} << 63) return false;
        out = v == uint64_t{1} << 63 ? INT64_MIN : -static_cast<int64_t>(v);
    } else {
        if (v > static_cast<uint64_t>(INT64_MAX)) return false;
        out = static_cast<int64_t>(v);
    }
    return true;
}

}  // namespace fulmar::engine
