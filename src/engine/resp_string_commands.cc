// The rest of Redis's string commands (GETDEL GETEX GETRANGE SETRANGE
// INCRBYFLOAT MSETNX) and the renames, on memcached's items like the first
// slice (resp_commands.cc): a Redis string is an item's value.
#include <fmt/core.h>

#include <array>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "engine/resp_groups.h"
#include "engine/resp_util.h"
#include "store/exptime.h"
#include "store/item.h"
#include "store/shard.h"

namespace fulmar::engine {
namespace {

using namespace resp;

// The owner's string under `k`: nullptr after answering WRONGTYPE, or with
// *missing set when there is no key.
const store::Item* find_string(store::Shard& s, const store::KeyRef& k, UnixTime now, bool& missing,
                               ReplySink& out) {
    const store::Item* it = s.find(k, now);
    missing = it == nullptr;
    if (it != nullptr && !it->is_string()) {
        RespWriter(out).write_error(kErrWrongType);
        return nullptr;
    }
    return it;
}

// GETDEL key
void op_getdel(const RespRequest&, const store::KeyRef& k, EngineCtx& ctx, ReplySink& out) {
    store::Shard& s = ctx.shard_for(k);
    bool missing = false;
    const store::Item* it = find_string(s, k, ctx.now(), missing, out);
    if (it == nullptr) {
        if (missing) RespWriter(out).write_null();
        return;
    }
    RespWriter(out).write_bulk(it->value());
    s.unlink(const_cast<store::Item*>(it));
}

// GETEX key [EX s | PX ms | EXAT t | PXAT t_ms | PERSIST]
struct GetexOptions {
    bool persist = false;
    int64_t abs_ms = 0;
    bool expire = false;
};

bool parse_getex_options(const RespRequest& req, uint64_t now_ms, GetexOptions& o, ReplySink& out) {
    const auto& a = req.args;
    for (size_t i = 2; i < a.size(); ++i) {
        const std::string_view opt = a[i];
        const bool has_next = i + 1 < a.size();
        int unit = 0;  // 1 EX, 2 PX, 3 EXAT, 4 PXAT
        if (iequals(opt, "PERSIST") && !o.expire && !o.persist) {
            o.persist = true;
            continue;
        }
        if (iequals(opt, "EX")) unit = 1;
        if (iequals(opt, "PX")) unit = 2;
        if (iequals(opt, "EXAT")) unit = 3;
        if (iequals(opt, "PXAT")) unit = 4;
        if (unit == 0 || o.expire || o.persist || !has_next) {
            RespWriter(out).write_error(kErrSyntax);
            return false;
        }
        int64_t v = 0;
        if (!resp_parse_int(a[++i], v)) {
            RespWriter(out).write_error(kErrNotInteger);
            return false;
        }
        const bool seconds = unit == 1 || unit == 3;
        if (v <= 0 || (seconds && v > INT64_MAX / 1000)) {
            RespWriter(out).write_error("invalid expire time in 'getex' command");
            return false;
        }
        int64_t ms = seconds ? v * 1000 : v;
        if (unit <= 2) {
            if (ms > INT64_MAX - static_cast<int64_t>(now_ms)) {
                RespWriter(out).write_error("invalid expire time in 'getex' command");
                return false;
            }
            ms += static_cast<int64_t>(now_ms);
        }
        o.abs_ms = ms;
        o.expire = true;
    }
    return true;
}

bool parse_getex(const RespRequest& req, ReplySink& out) {
    GetexOptions o;
    return parse_getex_options(req, 0, o, out);
}

void op_getex(const RespRequest& req, const store::KeyRef& k, EngineCtx& ctx, ReplySink& out) {
    const UnixTime now = ctx.now();
    const uint64_t now_ms = ctx.now_ms();
    GetexOptions o;
    if (!parse_getex_options(req, now_ms, o, out)) return;
    store::Shard& s = ctx.shard_for(k);
    bool missing = false;
    const store::Item* found = find_string(s, k, now, missing, out);
    if (found == nullptr) {
        if (missing) RespWriter(out).write_null();
        return;
    }
    auto* it = const_cast<store::Item*>(found);
    RespWriter(out).write_bulk(it->value());
    if (o.expire && o.abs_ms <= static_cast<int64_t>(now_ms)) {
        s.unlink(it);  // an expiry already past deletes the key, as Redis does
    } else if (o.expire) {
        const Expiry e = expiry_from_ms(o.abs_ms);
        s.modify(it, [&](store::Item& i) { i.set_expiry(e.seconds, e.ms); });
    } else if (o.persist && it->exptime != 0) {
        s.modify(it, [](store::Item& i) { i.set_expiry(0); });
    }
}

// GETRANGE key start end: Redis's clamping, "" when out of range.
bool parse_range(const RespRequest& req, int64_t& start, int64_t& end, ReplySink& out) {
    if (!resp_parse_int(req.args[2], start) || !resp_parse_int(req.args[3], end)) {
        RespWriter(out).write_error(kErrNotInteger);
        return false;
    }
    return true;
}

bool parse_getrange(const RespRequest& req, ReplySink& out) {
    int64_t start = 0, end = 0;
    return parse_range(req, start, end, out);
}

void read_getrange(const RespRequest& req, const RespReadCtx& ctx, ReplySink& out) {
    int64_t start = 0, end = 0;
    if (!parse_range(req, start, end, out)) return;
    RespWriter w(out);
    store::ItemMeta meta;
    std::string_view v;
    if (read_key(req.args[1], ctx, meta) == store::ReadStatus::kHit) {
        if (item_type(meta) != store::ItemType::kString) {
            w.write_error(kErrWrongType);
            return;
        }
        v = {ctx.scratch.data(), meta.value_len};
    }
    const auto len = static_cast<int64_t>(v.size());
    if (start < 0 && end < 0 && start > end) {
        w.write_bulk("");
        return;
    }
    if (start < 0) start += len;
    if (end < 0) end += len;
    if (start < 0) start = 0;
    if (end < 0) end = 0;
    if (end >= len) end = len - 1;
    if (len == 0 || start > end) {
        w.write_bulk("");
        return;
    }
    w.write_bulk(v.substr(static_cast<size_t>(start), static_cast<size_t>(end - start + 1)));
}

// SETRANGE key offset value: zero-padded, the new length.
bool parse_setrange(const RespRequest& req, ReplySink& out) {
    int64_t offset = 0;
    if (!resp_parse_int(req.args[2], offset)) {
        RespWriter(out).write_error(kErrNotInteger);
        return false;
    }
    if (offset < 0) {
        RespWriter(out).write_error("offset is out of range");
        return false;
    }
    return true;
}

void op_setrange(const RespRequest& req, const store::KeyRef& k, EngineCtx& ctx, ReplySink& out) {
    if (!parse_setrange(req, out)) return;
    int64_t offset = 0;
    resp_parse_int(req.args[2], offset);
    const std::string_view value = req.args[3];
    store::Shard& s = ctx.shard_for(k);
    const UnixTime now = ctx.now();
    bool missing = false;
    const store::Item* it = find_string(s, k, now, missing, out);
    if (it == nullptr && !missing) return;
    RespWriter w(out);
    const size_t old_len = it != nullptr ? it->value_len : 0;
    if (value.empty()) {
        w.write_integer(static_cast<int64_t>(old_len));
        return;
    }
    const auto off = static_cast<uint64_t>(offset);
    if (off > store::kMaxItemSize || !mc_item_fits(k.key.size(), off + value.size())) {
        w.write_error(kErrTooLarge);
        return;
    }
    const size_t new_len = std::max<size_t>(old_len, off + value.size());
    char* buf = ctx.scratch.data();
    if (it != nullptr) std::memcpy(buf, it->value_ptr(), old_len);
    if (off > old_len) std::memset(buf + old_len, 0, off - old_len);
    std::memcpy(buf + off, value.data(), value.size());
    store::StoreArgs args;
    if (it != nullptr) {
        args = keep_args(*it);
    }
    args.raw_string = true;
    const store::StoreStatus st =
        s.store(store::StoreMode::kSet, k, std::string_view(buf, new_len), args, now);
    if (st != store::StoreStatus::kStored) {
        write_store_error(st, out);
        return;
    }
    w.write_integer(static_cast<int64_t>(new_len));
}

// INCRBYFLOAT key increment
bool parse_incrbyfloat(const RespRequest& req, ReplySink& out) {
    long double incr = 0;
    if (!parse_long_double(req.args[2], incr)) {
        RespWriter(out).write_error(kErrNotFloat);
        return false;
    }
    return true;
}

void op_incrbyfloat(const RespRequest& req, const store::KeyRef& k, EngineCtx& ctx,
                    ReplySink& out) {
    long double incr = 0;
    if (!parse_long_double(req.args[2], incr)) {
        RespWriter(out).write_error(kErrNotFloat);
        return;
    }
    store::Shard& s = ctx.shard_for(k);
    const UnixTime now = ctx.now();
    bool missing = false;
    const store::Item* it = find_string(s, k, now, missing, out);
    if (it == nullptr && !missing) return;
    long double cur = 0;
    store::StoreArgs args;
    if (it != nullptr) {
        if (!parse_long_double(it->value(), cur)) {
            RespWriter(out).write_error(kErrNotFloat);
            return;
        }
        args = keep_args(*it);
    }
    const long double next = cur + incr;
    if (std::isnan(next) || std::isinf(next)) {
        RespWriter(out).write_error("increment would produce NaN or Infinity");
        return;
    }
    const std::string text = format_long_double(next);
    const store::StoreStatus st = s.store(store::StoreMode::kSet, k, text, args, now);
    if (st != store::StoreStatus::kStored) {
        write_store_error(st, out);
        return;
    }
    RespWriter(out).write_bulk(text);
}

// MSETNX key value [key value ...]: all or nothing; the keys share an owner
// (the control plane answers CROSSSLOT otherwise), so it is atomic.
bool parse_msetnx(const RespRequest& req, ReplySink& out) {
    if (req.args.size() % 2 == 1) return true;
    RespWriter(out).write_error(resp_arity_error("msetnx"));
    return false;
}

void op_msetnx(const RespRequest& req, const store::KeyRef&, EngineCtx& ctx, ReplySink& out) {
    const UnixTime now = ctx.now();
    for (size_t i = 1; i + 1 < req.args.size(); i += 2) {
        const store::KeyRef k(req.args[i]);
        if (ctx.shard_for(k).find(k, now) != nullptr) {
            RespWriter(out).write_integer(0);
            return;
        }
        if (!mc_item_fits(k.key.size(), req.args[i + 1].size())) {
            RespWriter(out).write_error(kErrTooLarge);
            return;
        }
    }
    for (size_t i = 1; i + 1 < req.args.size(); i += 2) {
        const store::KeyRef k(req.args[i]);
        const store::StoreStatus st = ctx.shard_for(k).store(
            store::StoreMode::kSet, k, req.args[i + 1], store::StoreArgs{}, now);
        if (st != store::StoreStatus::kStored) {
            write_store_error(st, out);
            return;
        }
        ++ctx.stats->cmd_set;
    }
    RespWriter(out).write_integer(1);
}

// RENAME's and COPY's store: `it`'s value, type, flags and TTL under `to`;
// false after writing the error. The value goes through the scratch:
// storing may evict, and `it` must not be read after that.
bool store_copy(store::Shard& s, const store::Item& it, const store::KeyRef& to, UnixTime now,
                EngineCtx& ctx, ReplySink& out) {
    const size_t len = it.value_len;
    std::memcpy(ctx.scratch.data(), it.value_ptr(), len);
    store::StoreArgs args = keep_args(it);
    args.type = it.type();
    const store::StoreStatus st =
        s.store(store::StoreMode::kSet, to, std::string_view(ctx.scratch.data(), len), args, now);
    if (st == store::StoreStatus::kStored) return true;
    write_store_error(st, out);
    return false;
}

// RENAME key newkey / RENAMENX key newkey: the item (any type, its TTL and
// flags) under the new name; both keys share an owner (CROSSSLOT otherwise).
void op_rename(const RespRequest& req, const store::KeyRef&, EngineCtx& ctx, ReplySink& out) {
    const bool nx = iequals(req.args[0], "renamenx");
    const store::KeyRef from(req.args[1]);
    const store::KeyRef to(req.args[2]);
    store::Shard& s = ctx.shard_for(from);
    const UnixTime now = ctx.now();
    RespWriter w(out);
    const store::Item* it = s.find(from, now);
    if (it == nullptr) {
        w.write_error(kErrNoSuchKey);
        return;
    }
    if (from.key == to.key) {
        if (nx)
            w.write_integer(0);
        else
            w.write_simple("OK");
        return;
    }
    if (nx && s.find(to, now) != nullptr) {
        w.write_integer(0);
        return;
    }
    if (!store_copy(s, *it, to, now, ctx, out)) return;
    if (store::Item* old = s.find(from, now)) s.unlink(old);
    if (nx)
        w.write_integer(1);
    else
        w.write_simple("OK");
}

// COPY source destination [DB destination-db] [REPLACE]: one database, so
// DB must be 0; the copy keeps the type, flags and TTL; both keys share an
// owner (CROSSSLOT otherwise).
struct CopyArgs {
    bool replace = false;
};

bool parse_copy_args(const RespRequest& req, CopyArgs& a, ReplySink& out) {
    for (size_t i = 3; i < req.args.size(); ++i) {
        if (iequals(req.args[i], "REPLACE")) {
            a.replace = true;
        } else if (iequals(req.args[i], "DB") && i + 1 < req.args.size()) {
            int64_t db = 0;
            if (!resp_parse_int(req.args[++i], db)) {
                RespWriter(out).write_error(kErrNotInteger);
                return false;
            }
            if (db != 0) {
                RespWriter(out).write_error("DB index is out of range");
                return false;
            }
        } else {
            RespWriter(out).write_error(kErrSyntax);
            return false;
        }
    }
    return true;
}

bool parse_copy(const RespRequest& req, ReplySink& out) {
    CopyArgs a;
    return parse_copy_args(req, a, out);
}

void op_copy(const RespRequest& req, const store::KeyRef&, EngineCtx& ctx, ReplySink& out) {
    CopyArgs o;
    if (!parse_copy_args(req, o, out)) return;
    const store::KeyRef from(req.args[1]);
    const store::KeyRef to(req.args[2]);
    RespWriter w(out);
    if (from.key == to.key) {
        w.write_error("source and destination objects are the same");
        return;
    }
    store::Shard& s = ctx.shard_for(from);
    const UnixTime now = ctx.now();
    const store::Item* it = s.find(from, now);
    if (it == nullptr || (!o.replace && s.find(to, now) != nullptr)) {
        w.write_integer(0);
        return;
    }
    if (!store_copy(s, *it, to, now, ctx, out)) return;
    w.write_integer(1);
}

constexpr KeySpec kTwoKeys{1, 2, 1};

const std::array kTable = {
    // clang-format off
    RespCommand{Spec{"getdel", exactly(2), kWrite, kOneKey, nullptr, op_getdel}},
    RespCommand{Spec{"getex", at_least(2), kWrite, kOneKey, parse_getex, op_getex}},
    RespCommand{Spec{"getrange", exactly(4), kRead, kOneKey, parse_getrange,
                     exec_read<read_getrange>}, read_getrange},
    // SUBSTR is GETRANGE's old name, still served by Redis 7.0.
    RespCommand{Spec{"substr", exactly(4), kRead, kOneKey, parse_getrange,
                     exec_read<read_getrange>}, read_getrange},
    RespCommand{Spec{"setrange", exactly(4), kWrite, kOneKey, parse_setrange, op_setrange}},
    RespCommand{Spec{"incrbyfloat", exactly(3), kWrite, kOneKey, parse_incrbyfloat,
                     op_incrbyfloat}},
    RespCommand{Spec{"msetnx", at_least(3), kWrite, kKeyValuePairs, parse_msetnx, op_msetnx}},
    RespCommand{Spec{"rename", exactly(3), kWrite, kTwoKeys, nullptr, op_rename}},
    RespCommand{Spec{"renamenx", exactly(3), kWrite, kTwoKeys, nullptr, op_rename}},
    RespCommand{Spec{"copy", at_least(3), kWrite, kTwoKeys, parse_copy, op_copy}},
    // clang-format on
};

}  // namespace

std::span<const RespCommand> resp_string_commands() {
    return kTable;
}

}  // namespace fulmar::engine
