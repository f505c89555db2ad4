// Redis's commands over the whole keyspace: KEYS, SCAN, RANDOMKEY. Each runs
// on the owners (only an owner may walk its shard's index: the walk reads
// the table's buckets, which its writer moves): KEYS and RANDOMKEY on every
// owner, gathered by the control plane; SCAN on the one owner its cursor
// names.
//
// SCAN's cursor: position * n_shards + shard, where position is the
// index's own iteration order on that shard. A key keeps its position while
// it stays, so a key present for the whole scan is returned unless a
// cuckoo displacement (another key's insert into a full bucket pair) moved
// it behind the cursor; page moves and rewrites never move it.
#include <fmt/core.h>

#include <array>
#include <random>
#include <string>
#include <vector>

#include "common/glob_match.h"
#include "engine/resp_groups.h"
#include "engine/resp_util.h"
#include "store/item.h"
#include "store/shard.h"

namespace fulmar::engine {
namespace {

using namespace resp;

constexpr size_t kWholeShard = SIZE_MAX;

// The shards this context walks: its own (an owner), or all (tests).
template <typename F>
void for_owned(EngineCtx& ctx, F&& f) {
    for (size_t i = 0; i < ctx.shards.size(); ++i)
        if (ctx.owns(*ctx.shards[i])) f(i, *ctx.shards[i]);
}

// KEYS pattern
void op_keys(const RespRequest& req, const store::KeyRef&, EngineCtx& ctx, ReplySink& out) {
    const std::string_view pattern = req.args[1];
    const bool all = pattern == "*";
    const UnixTime now = ctx.now();
    std::vector<std::string_view> keys;
    for_owned(ctx, [&](size_t, store::Shard& s) {
        s.walk(0, kWholeShard, now, [&](const store::Item& it) {
            if (all || glob_match(pattern, it.key())) keys.push_back(it.key());
            return true;
        });
    });
    RespWriter w(out);
    w.write_array(keys.size());
    for (std::string_view k : keys)
        w.write_bulk(k);
}

// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]
struct ScanArgs {
    uint64_t cursor = 0;
    std::string_view match;
    bool has_match = false;
    int64_t count = 10;
    std::string_view type;
    bool has_type = false;
};

// Redis's parseScanCursorOrReply: an unsigned decimal, nothing else.
bool parse_cursor(std::string_view s, uint64_t& out) {
    if (s.empty() || s.size() > 20) return false;
    uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        const auto d = static_cast<uint64_t>(c - '0');
        if (v > (UINT64_MAX - d) / 10) return false;
        v = v * 10 + d;
    }
    out = v;
    return true;
}

bool parse_scan_args(const RespRequest& req, ScanArgs& a, ReplySink& out) {
    RespWriter w(out);
    if (!parse_cursor(req.args[1], a.cursor)) {
        w.write_error("invalid cursor");
        return false;
    }
    for (size_t i = 2; i < req.args.size(); i += 2) {
        const std::string_view opt = req.args[i];
        if (i + 1 >= req.args.size()) {
            w.write_error(kErrSyntax);
            return false;
        }
        const std::string_view val = req.args[i + 1];
        if (iequals(opt, "COUNT")) {
            if (!resp_parse_int(val, a.count)) {
                w.write_error(kErrNotInteger);
                return false;
            }
            if (a.count < 1) {
                w.write_error(kErrSyntax);
                return false;
            }
        } else if (iequals(opt, "MATCH")) {
            a.match = val;
            a.has_match = val != "*";
        } else if (iequals(opt, "TYPE")) {
            a.type = val;
            a.has_type = true;
        } else {
            w.write_error(kErrSyntax);
            return false;
        }
    }
    return true;
}

bool parse_scan(const RespRequest& req, ReplySink& out) {
    ScanArgs a;
    return parse_scan_args(req, a, out);
}

size_t route_scan(const RespRequest& req, size_t n_shards) {
    uint64_t cursor = 0;
    parse_cursor(req.args[1], cursor);
    return static_cast<size_t>(cursor % n_shards);
}

void op_scan(const RespRequest& req, const store::KeyRef&, EngineCtx& ctx, ReplySink& out) {
    ScanArgs a;
    if (!parse_scan_args(req, a, out)) return;
    const size_t n = ctx.shards.size();
    const size_t shard = static_cast<size_t>(a.cursor % n);
    const uint64_t pos64 = a.cursor / n;
    RespWriter w(out);
    store::Shard& s = *ctx.shards[shard];
    if (!ctx.owns(s) || pos64 > UINT32_MAX) {
        // A cursor this node never handed out: the scan is over.
        w.write_array(2);
        w.write_bulk("0");
        w.write_array(0);
        return;
    }
    std::vector<std::string_view> keys;
    const uint32_t next = s.walk(static_cast<uint32_t>(pos64), static_cast<size_t>(a.count),
                                 ctx.now(), [&](const store::Item& it) {
                                     if (a.has_match && !glob_match(a.match, it.key())) return true;
                                     if (a.has_type && !iequals(type_name(it.type()), a.type))
                                         return true;
                                     keys.push_back(it.key());
                                     return true;
                                 });
    uint64_t cursor = 0;
    if (next != 0)
        cursor = uint64_t{next} * n + shard;
    else if (shard + 1 < n)
        cursor = shard + 1;  // position 0 of the next shard
    w.write_array(2);
    w.write_bulk(fmt::format("{}", cursor));
    w.write_array(keys.size());
    for (std::string_view k : keys)
        w.write_bulk(k);
}

// RANDOMKEY: a live key from a random place in a random owned shard's
// index (the walk wraps around once).
void op_randomkey(const RespRequest&, const store::KeyRef&, EngineCtx& ctx, ReplySink& out) {
    static thread_local std::minstd_rand rng{std::random_device{}()};
    const UnixTime now = ctx.now();
    std::string_view found;
    bool have = false;
    // From a random shard on (an owner has one; a test context has all).
    const size_t n = ctx.shards.size();
    const size_t first = rng() % n;
    for (size_t j = 0; j < n && !have; ++j) {
        store::Shard& s = *ctx.shards[(first + j) % n];
        if (!ctx.owns(s) || s.n_items() == 0) continue;
        const uint32_t cap = s.index().capacity();
        const auto start = static_cast<uint32_t>(rng() % (cap + 1));
        const auto take = [&](const store::Item& it) {
            found = it.key();
            have = true;
            return false;
        };
        s.walk(start, kWholeShard, now, take);
        if (!have) s.walk(0, kWholeShard, now, take);
    }
    RespWriter w(out);
    if (have)
        w.write_bulk(found);
    else
        w.write_null();
}

constexpr uint16_t kEveryOwner = kCmdAllShards;

const std::array kTable = {
    // clang-format off
    RespCommand{Spec{"keys", exactly(2), kEveryOwner, {}, nullptr, op_keys}, nullptr,
                RespGather::kConcat, "keys"},
    RespCommand{Spec{"randomkey", exactly(1), kEveryOwner, {}, nullptr, op_randomkey}, nullptr,
                RespGather::kPickOne, "randomkey"},
    RespCommand{Spec{"scan", at_least(2), 0, {}, parse_scan, op_scan}, nullptr,
                RespGather::kNone, {}, route_scan},
    // clang-format on
};

}  // namespace

std::span<const RespCommand> resp_key_commands() {
    return kTable;
}

}  // namespace fulmar::engine
