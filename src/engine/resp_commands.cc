// The Redis string, key and expiry commands on memcached's items; see
// resp_commands.h. Each command: its syntax above it, a parse_ that checks
// the arguments, an op_ that runs on the shard's owner (or a read_ that
// any reader runs), and one line in the table at the end.
#include "engine/resp_commands.h"

#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstring>
#include <ctime>
#include <vector>

#include "engine/resp_groups.h"
#include "engine/resp_util.h"
#include "proto/resp_writer.h"
#include "store/exptime.h"
#include "store/item.h"
#include "store/shard.h"
#include "store/slab.h"

namespace fulmar::engine {
namespace {

using namespace resp;

// ---- expiry options ------------------------------------------------------

enum class ExpireUnit : uint8_t { kNone, kSeconds, kMillis, kUnixSeconds, kUnixMillis };

// An expire argument as Redis's getExpireMillisecondsOrReply reads it, as
// an absolute expiry; false after writing the error.
bool parse_expire(std::string_view arg, ExpireUnit unit, std::string_view command, uint64_t now_ms,
                  Expiry& abs, ReplySink& out) {
    RespWriter w(out);
    int64_t v = 0;
    if (!resp_parse_int(arg, v)) {
        w.write_error(kErrNotInteger);
        return false;
    }
    const bool seconds = unit == ExpireUnit::kSeconds || unit == ExpireUnit::kUnixSeconds;
    const bool relative = unit == ExpireUnit::kSeconds || unit == ExpireUnit::kMillis;
    if (v <= 0 || (seconds && v > LLONG_MAX / 1000)) {
        w.write_error(fmt::format("invalid expire time in '{}' command", command));
        return false;
    }
    int64_t ms = seconds ? v * 1000 : v;
    if (relative) {
        if (ms > LLONG_MAX - static_cast<int64_t>(now_ms)) {
            w.write_error(fmt::format("invalid expire time in '{}' command", command));
            return false;
        }
        ms += static_cast<int64_t>(now_ms);
    }
    abs = expiry_from_ms(ms);
    return true;
}

// ---- SET -------------------------------------------------------------------

struct SetOptions {
    bool nx = false, xx = false, get = false, keepttl = false;
    ExpireUnit unit = ExpireUnit::kNone;
    std::string_view expire;
};

// SET key value [NX | XX] [GET] [EX s | PX ms | EXAT t | PXAT t | KEEPTTL]
bool parse_set_options(const RespRequest& req, SetOptions& o, ReplySink& out) {
    const auto& a = req.args;
    for (size_t i = 3; i < a.size(); ++i) {
        const std::string_view opt = a[i];
        const bool has_next = i + 1 < a.size();
        const bool has_expire = o.unit != ExpireUnit::kNone;
        ExpireUnit unit = ExpireUnit::kNone;
        if (iequals(opt, "NX") && !o.xx) {
            o.nx = true;
        } else if (iequals(opt, "XX") && !o.nx) {
            o.xx = true;
        } else if (iequals(opt, "GET")) {
            o.get = true;
        } else if (iequals(opt, "KEEPTTL") && !has_expire) {
            o.keepttl = true;
        } else if (iequals(opt, "EX")) {
            unit = ExpireUnit::kSeconds;
        } else if (iequals(opt, "PX")) {
            unit = ExpireUnit::kMillis;
        } else if (iequals(opt, "EXAT")) {
            unit = ExpireUnit::kUnixSeconds;
        } else if (iequals(opt, "PXAT")) {
            unit = ExpireUnit::kUnixMillis;
        } else {
            RespWriter(out).write_error(kErrSyntax);
            return false;
        }
        if (unit == ExpireUnit::kNone) continue;
        if (o.keepttl || has_expire || !has_next) {
            RespWriter(out).write_error(kErrSyntax);
            return false;
        }
        o.unit = unit;
        o.expire = a[++i];
    }
    return true;
}

bool parse_set(const RespRequest& req, ReplySink& out) {
    SetOptions o;
    if (!parse_set_options(req, o, out)) return false;
    Expiry abs;
    return o.unit == ExpireUnit::kNone || parse_expire(o.expire, o.unit, "set", 0, abs, out);
}

// The one write every SET form makes. `exptime`: absolute, 0 never;
// keepttl keeps the old item's. Replies as SET with its options does.
void set_generic(const store::KeyRef& k, std::string_view value, Expiry exptime,
                 const SetOptions& o, EngineCtx& ctx, ReplySink& out, bool integer_reply) {
    RespWriter w(out);
    if (!mc_item_fits(k.key.size(), value.size())) {
        w.write_error(kErrTooLarge);
        return;
    }
    store::Shard& s = ctx.shard_for(k);
    const UnixTime now = ctx.now();
    store::Item* old = s.find(k, now);
    if (o.get && old != nullptr && !old->is_string()) {
        w.write_error(kErrWrongType);
        return;
    }
    std::string old_value;
    if (o.get && old != nullptr) old_value = std::string(old->value());
    const bool had = old != nullptr;
    const bool do_set = !(o.nx && had) && !(o.xx && !had);
    if (do_set) {
        const Expiry exp = o.keepttl && had ? expiry_of(*old) : exptime;
        const store::StoreStatus st =
            s.store(store::StoreMode::kSet, k, value,
                    store::StoreArgs{.exptime = exp.seconds, .expire_ms = exp.ms}, now);
        if (st != store::StoreStatus::kStored) {
            write_store_error(st, out);
            return;
        }
        ++ctx.stats->cmd_set;
    }
    if (integer_reply) {
        w.write_integer(do_set ? 1 : 0);
    } else if (o.get) {
        if (had)
            w.write_bulk(old_value);
        else
            w.write_null();
    } else if (do_set) {
        w.write_simple("OK");
    } else {
        w.write_null();
    }
}

void op_set(const RespRequest& req, const store::KeyRef& k, EngineCtx& ctx, ReplySink& out) {
    SetOptions o;
    if (!parse_set_options(req, o, out)) return;
    Expiry abs;
    if (o.unit != ExpireUnit::kNone &&
        !parse_expire(o.expire, o.unit, "set", ctx.now_ms(), abs, out))
        return;
    set_generic(k, req.args[2], abs, o, ctx, out, false);
}

// GETSET key value: SET key value GET (the TTL goes, as with SET).
void op_getset(const RespRequest& req, const store::KeyRef& k, EngineCtx& ctx, ReplySink& out) {
    set_generic(k, req.args[2], Expiry{}, SetOptions{.get = true}, ctx, out, false);
}

// SETNX key value
void op_setnx(const RespRequest& req, const store::KeyRef& k, EngineCtx& ctx, ReplySink& out) {
    set_generic(k, req.args[2], Expiry{}, SetOptions{.nx = true}, ctx, out, true);
}

// SETEX key seconds value / PSETEX key milliseconds value
bool parse_setex(const RespRequest& req, ReplySink& out) {
    Expiry abs;
    const bool ms = iequals(req.args[0], "psetex");
    return parse_expire(req.args[2], ms ? ExpireUnit::kMillis : ExpireUnit::kSeconds,
                        ms ? "psetex" : "setex", 0, abs, out);
}

void op_setex(const RespRequest& req, const store::KeyRef& k, EngineCtx& ctx, ReplySink& out) {
    const bool ms = iequals(req.args[0], "psetex");
    Expiry abs;
    if (!parse_expire(req.args[2], ms ? ExpireUnit::kMillis : ExpireUnit::kSeconds,
                      ms ? "psetex" : "setex", ctx.now_ms(), abs, out))
        return;
    set_generic(k, req.args[3], abs, SetOptions{}, ctx, out, false);
}

// ---- reads -------------------------------------------------------------------

// GET key
void read_get(const RespRequest& req, const RespReadCtx& ctx, ReplySink& out) {
    RespWriter w(out);
    store::ItemMeta meta;
    ++ctx.stats->cmd_get;
    if (read_key(req.args[1], ctx, meta) == store::ReadStatus::kHit) {
        if (item_type(meta) != store::ItemType::kString) {
            w.write_error(kErrWrongType);
            return;
        }
        ++ctx.stats->get_hits;
        w.write_bulk({ctx.scratch.data(), meta.value_len});
    } else {
        ++ctx.stats->get_misses;
        w.write_null();
    }
}

// MGET key [key ...]
void read_mget(const RespRequest& req, const RespReadCtx& ctx, ReplySink& out) {
    RespWriter w(out);
    w.write_array(req.args.size() - 1);
    for (size_t i = 1; i < req.args.size(); ++i) {
        store::ItemMeta meta;
        ++ctx.stats->cmd_get;
        // Redis's MGET answers nil for a key of another type.
        if (read_key(req.args[i], ctx, meta) == store::ReadStatus::kHit &&
            item_type(meta) == store::ItemType::kString) {
            ++ctx.stats->get_hits;
            w.write_bulk({ctx.scratch.data(), meta.value_len});
        } else {
            ++ctx.stats->get_misses;
            w.write_null();
        }
    }
}

// EXISTS key [key ...]: a key named twice counts twice, as in Redis.
void read_exists(const RespRequest& req, const RespReadCtx& ctx, ReplySink& out) {
    int64_t n = 0;
    for (size_t i = 1; i < req.args.size(); ++i) {
        store::ItemMeta meta;
        if (read_key(req.args[i], ctx, meta) == store::ReadStatus::kHit) ++n;
    }
    RespWriter(out).write_integer(n);
}

// STRLEN key
void read_strlen(const RespRequest& req, const RespReadCtx& ctx, ReplySink& out) {
    store::ItemMeta meta;
    const store::ReadStatus st = read_key(req.args[1], ctx, meta);
    if (st != store::ReadStatus::kMiss && item_type(meta) != store::ItemType::kString) {
        RespWriter(out).write_error(kErrWrongType);
        return;
    }
    RespWriter(out).write_integer(st == store::ReadStatus::kMiss ? 0 : meta.value_len);
}

// TTL key / PTTL key: -2 no key, -1 no expiry.
void read_ttl(const RespRequest& req, const RespReadCtx& ctx, ReplySink& out) {
    store::ItemMeta meta;
    int64_t ttl = -2;
    if (read_key(req.args[1], ctx, meta) != store::ReadStatus::kMiss) {
        // Redis: the milliseconds left, TTL rounds them to the nearest
        // second.
        const uint64_t now_ms = ctx.now_ms != 0 ? ctx.now_ms : uint64_t{ctx.now} * 1000;
        const uint64_t at = store::expiry_ms(meta.exptime, meta.expire_ms);
        if (at == 0) {
            ttl = -1;
        } else {
            const int64_t left = at > now_ms ? static_cast<int64_t>(at - now_ms) : 0;
            ttl = iequals(req.args[0], "pttl") ? left : (left + 500) / 1000;
        }
    }
    RespWriter(out).write_integer(ttl);
}

// EXPIRETIME key / PEXPIRETIME key: the absolute expiry, -1 none, -2 no key.
void read_expiretime(const RespRequest& req, const RespReadCtx& ctx, ReplySink& out) {
    store::ItemMeta meta;
    int64_t t = -2;
    if (read_key(req.args[1], ctx, meta) != store::ReadStatus::kMiss) {
        const uint64_t at = store::expiry_ms(meta.exptime, meta.expire_ms);
        t = at == 0 ? -1
                    : static_cast<int64_t>(iequals(req.args[0], "pexpiretime") ? at : at / 1000);
    }
    RespWriter(out).write_integer(t);
}

// TYPE key: "none" when absent.
void read_type(const RespRequest& req, const RespReadCtx& ctx, ReplySink& out) {
    store::ItemMeta meta;
    const bool found = read_key(req.args[1], ctx, meta) != store::ReadStatus::kMiss;
    RespWriter(out).write_simple(found ? type_name(item_type(meta)) : "none");
}

// DBSIZE: items resident in every shard (expired or flushed ones not yet
// reclaimed included; see docs/resp-progress.md).
void read_dbsize(const RespRequest&, const RespReadCtx& ctx, ReplySink& out) {
    uint64_t n = 0;
    for (const store::ShardView* v : ctx.views)
        n += v->n_items();
    RespWriter(out).write_integer(static_cast<int64_t>(n));
}

// ---- writes ------------------------------------------------------------------

// DEL key [key ...]
void op_del(const RespRequest& req, const store::KeyRef&, EngineCtx& ctx, ReplySink& out) {
    int64_t n = 0;
    const UnixTime now = ctx.now();
    for (size_t i = 1; i < req.args.size(); ++i) {
        const store::KeyRef k(req.args[i]);
        if (ctx.shard_for(k).remove(k, now) == store::StoreStatus::kDeleted) ++n;
    }
    RespWriter(out).write_integer(n);
}

// MSET key value [key value ...]
bool parse_mset(const RespRequest& req, ReplySink& out) {
    if (req.args.size() % 2 == 1) return true;
    RespWriter(out).write_error(resp_arity_error("mset"));
    return false;
}

void op_mset(const RespRequest& req, const store::KeyRef&, EngineCtx& ctx, ReplySink& out) {
    const UnixTime now = ctx.now();
    for (size_t i = 1; i + 1 < req.args.size(); i += 2) {
        const store::KeyRef k(req.args[i]);
        const std::string_view v = req.args[i + 1];
        const store::StoreStatus st =
            mc_item_fits(k.key.size(), v.size())
                ? ctx.shard_for(k).store(store::StoreMode::kSet, k, v, store::StoreArgs{}, now)
                : store::StoreStatus::kTooLarge;
        if (st != store::StoreStatus::kStored) {
            write_store_error(st, out);
            return;
        }
        ++ctx.stats->cmd_set;
    }
    RespWriter(out).write_simple("OK");
}

// INCR key / DECR key / INCRBY key n / DECRBY key n: a signed 64-bit number
// kept as its decimal text, the key's TTL and flags kept.
bool incr_delta(const RespRequest& req, int64_t& delta, ReplySink& out) {
    const std::string_view name = req.args[0];
    delta = iequals(name, "decr") ? -1 : 1;
    if (req.args.size() < 3) return true;
    int64_t n = 0;
    if (!resp_parse_int(req.args[2], n)) {
        RespWriter(out).write_error(kErrNotInteger);
        return false;
    }
    if (iequals(name, "decrby")) {
        if (n == LLONG_MIN) {
            RespWriter(out).write_error("decrement would overflow");
            return false;
        }
        n = -n;
    }
    delta = n;
    return true;
}

bool parse_incr(const RespRequest& req, ReplySink& out) {
    int64_t delta = 0;
    return incr_delta(req, delta, out);
}

void op_incr(const RespRequest& req, const store::KeyRef& k, EngineCtx& ctx, ReplySink& out) {
    RespWriter w(out);
    int64_t delta = 0;
    if (!incr_delta(req, delta, out)) return;
    store::Shard& s = ctx.shard_for(k);
    const UnixTime now = ctx.now();
    store::Item* it = s.find(k, now);
    int64_t cur = 0;
    store::StoreArgs args;
    if (it != nullptr) {
        if (!it->is_string()) {
            w.write_error(kErrWrongType);
            return;
        }
        if (!resp_parse_int(it->value(), cur)) {
            w.write_error(kErrNotInteger);
            return;
        }
        args = keep_args(*it);
    }
    if ((delta < 0 && cur < 0 && delta < LLONG_MIN - cur) ||
        (delta > 0 && cur > 0 && delta > LLONG_MAX - cur)) {
        w.write_error(kErrOverflow);
        return;
    }
    const int64_t next = cur + delta;
    const std::string text = fmt::format("{}", next);
    // Redis changes an int-encoded value in place; so do we when the new
    // number fits the item's chunk: same item, same address (DEBUG
    // OBJECT), no allocation; a new CAS and store time, as a store gives.
    if (it != nullptr &&
        s.slab().chunk_size_of(it) >= store::item_total_size(it->key_len, text.size())) {
        const uint64_t cas = s.next_cas();
        s.modify(it, [&](store::Item& i) {
            std::memcpy(i.value_ptr(), text.data(), text.size());
            i.value_len = static_cast<uint32_t>(text.size());
            i.cas = cas;
            i.time = now;
            // The result is a number Redis keeps int-encoded, whatever the
            // value was (an APPENDed "5" is raw until INCR replaces it).
            i.type_bits = static_cast<uint8_t>(i.type_bits & ~store::kItemRawString);
        });
        w.write_integer(next);
        return;
    }
    const store::StoreStatus st = s.store(store::StoreMode::kSet, k, text, args, now);
    if (st != store::StoreStatus::kStored) {
        write_store_error(st, out);
        return;
    }
    w.write_integer(next);
}

// APPEND key value: creates the key when there is none; the new length.
void op_append(const RespRequest& req, const store::KeyRef& k, EngineCtx& ctx, ReplySink& out) {
    const std::string_view value = req.args[2];
    store::Shard& s = ctx.shard_for(k);
    const UnixTime now = ctx.now();
    const store::Item* it = s.find(k, now);
    if (it != nullptr && !it->is_string()) {
        RespWriter(out).write_error(kErrWrongType);
        return;
    }
    const size_t old_len = it != nullptr ? it->value_len : 0;
    if (!mc_item_fits(k.key.size(), old_len + value.size())) {
        RespWriter(out).write_error(kErrTooLarge);
        return;
    }
    const store::StoreStatus st =
        it != nullptr ? s.store(store::StoreMode::kAppend, k, value,
                                store::StoreArgs{.raw_string = true}, now)
                      : s.store(store::StoreMode::kSet, k, value, store::StoreArgs{}, now);
    if (st != store::StoreStatus::kStored) {
        write_store_error(st, out);
        return;
    }
    RespWriter(out).write_integer(static_cast<int64_t>(old_len + value.size()));
}

// EXPIRE key seconds [NX | XX | GT | LT], and PEXPIRE, EXPIREAT, PEXPIREAT
struct ExpireOptions {
    bool nx = false, xx = false, gt = false, lt = false;
};

bool parse_expire_options(const RespRequest& req, ExpireOptions& o, ReplySink& out) {
    for (size_t i = 3; i < req.args.size(); ++i) {
        const std::string_view a = req.args[i];
        if (iequals(a, "NX")) {
            o.nx = true;
        } else if (iequals(a, "XX")) {
            o.xx = true;
        } else if (iequals(a, "GT")) {
            o.gt = true;
        } else if (iequals(a, "LT")) {
            o.lt = true;
        } else {
            RespWriter(out).write_error(fmt::format("Unsupported option {}", a));
            return false;
        }
    }
    if (o.nx && (o.xx || o.gt || o.lt)) {
        RespWriter(out).write_error(
            "NX and XX, GT or LT options at the same time are not compatible");
        return false;
    }
    if (o.gt && o.lt) {
        RespWriter(out).write_error("GT and LT options at the same time are not compatible");
        return false;
    }
    return true;
}

// The new absolute expiry in milliseconds (may be <= now: the key goes),
// as Redis's expireGenericCommand computes it, with its overflow checks:
// EXPIRE s, PEXPIRE ms (relative), EXPIREAT t, PEXPIREAT t_ms (absolute).
bool parse_expire_when(const RespRequest& req, uint64_t now_ms, int64_t& when, ReplySink& out) {
    const std::string_view name = req.args[0];
    const bool ms = iequals(name, "pexpire") || iequals(name, "pexpireat");
    const bool absolute = iequals(name, "expireat") || iequals(name, "pexpireat");
    int64_t v = 0;
    if (!resp_parse_int(req.args[2], v)) {
        RespWriter(out).write_error(kErrNotInteger);
        return false;
    }
    if (!ms && (v > LLONG_MAX / 1000 || v < LLONG_MIN / 1000)) {
        RespWriter(out).write_error(
            fmt::format("invalid expire time in '{}' command", lower(name)));
        return false;
    }
    int64_t when_ms = ms ? v : v * 1000;
    const int64_t base_ms = absolute ? 0 : static_cast<int64_t>(now_ms);
    if (when_ms > LLONG_MAX - base_ms) {
        RespWriter(out).write_error(
            fmt::format("invalid expire time in '{}' command", lower(name)));
        return false;
    }
    when = when_ms + base_ms;
    return true;
}

bool parse_expire_cmd(const RespRequest& req, ReplySink& out) {
    ExpireOptions o;
    int64_t when = 0;
    return parse_expire_options(req, o, out) && parse_expire_when(req, 0, when, out);
}

void op_expire(const RespRequest& req, const store::KeyRef& k, EngineCtx& ctx, ReplySink& out) {
    ExpireOptions o;
    const UnixTime now = ctx.now();
    const uint64_t now_ms = ctx.now_ms();
    int64_t when = 0;
    if (!parse_expire_options(req, o, out) || !parse_expire_when(req, now_ms, when, out)) return;
    RespWriter w(out);
    store::Shard& s = ctx.shard_for(k);
    store::Item* it = s.find(k, now);
    if (it == nullptr) {
        w.write_integer(0);
        return;
    }
    const bool volatile_key = it->exptime != 0;
    const auto cur = static_cast<int64_t>(store::expiry_ms(*it));
    if ((o.nx && volatile_key) || (o.xx && !volatile_key) ||
        (o.gt && (!volatile_key || when <= cur)) || (o.lt && volatile_key && when >= cur)) {
        w.write_integer(0);
        return;
    }
    if (when <= static_cast<int64_t>(now_ms)) {
        s.unlink(it);  // already expired: Redis deletes the key
    } else {
        const Expiry abs = expiry_from_ms(when);
        // A new CAS: the key changed for a WATCH (Redis's signalModifiedKey).
        const uint64_t cas = s.next_cas();
        s.modify(it, [abs, cas](store::Item& i) {
            i.set_expiry(abs.seconds, abs.ms);
            i.cas = cas;
        });
    }
    w.write_integer(1);
}

// PERSIST key
void op_persist(const RespRequest&, const store::KeyRef& k, EngineCtx& ctx, ReplySink& out) {
    store::Shard& s = ctx.shard_for(k);
    store::Item* it = s.find(k, ctx.now());
    if (it == nullptr || it->exptime == 0) {
        RespWriter(out).write_integer(0);
        return;
    }
    const uint64_t cas = s.next_cas();
    s.modify(it, [cas](store::Item& i) {
        i.set_expiry(0);
        i.cas = cas;
    });
    RespWriter(out).write_integer(1);
}

// FLUSHALL [ASYNC | SYNC]: every shard this context owns (the control plane
// sends it to every owner).
bool parse_flushall(const RespRequest& req, ReplySink& out) {
    if (req.args.size() == 1) return true;
    if (req.args.size() == 2 && (iequals(req.args[1], "ASYNC") || iequals(req.args[1], "SYNC")))
        return true;
    RespWriter(out).write_error(kErrSyntax);
    return false;
}

void op_flushall(const RespRequest&, const store::KeyRef&, EngineCtx& ctx, ReplySink& out) {
    for (store::Shard* s : ctx.shards) {
        if (!ctx.owns(*s)) continue;
        s->flush_all(0, ctx.now());
        s->clear_all();
    }
    RespWriter(out).write_simple("OK");
}

// ---- the connection's own --------------------------------------------------

// PING [message]
bool parse_ping(const RespRequest& req, ReplySink& out) {
    if (req.args.size() <= 2) return true;
    RespWriter(out).write_error(resp_arity_error("ping"));
    return false;
}

void op_ping(const RespRequest& req, const store::KeyRef&, EngineCtx&, ReplySink& out) {
    RespWriter w(out);
    if (req.args.size() == 2)
        w.write_bulk(req.args[1]);
    else
        w.write_simple("PONG");
}

// ECHO message
void op_echo(const RespRequest& req, const store::KeyRef&, EngineCtx&, ReplySink& out) {
    RespWriter(out).write_bulk(req.args[1]);
}

// TIME: the server's clock, seconds and microseconds.
void op_time(const RespRequest&, const store::KeyRef&, EngineCtx&, ReplySink& out) {
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    RespWriter w(out);
    w.write_array(2);
    w.write_bulk(fmt::format("{}", ts.tv_sec));
    w.write_bulk(fmt::format("{}", ts.tv_nsec / 1000));
}

// QUIT: +OK, then the connection closes (kCmdCloses).
void op_ok(const RespRequest&, const store::KeyRef&, EngineCtx&, ReplySink& out) {
    RespWriter(out).write_simple("OK");
}

// SELECT index: only database 0.
bool parse_select(const RespRequest& req, ReplySink& out) {
    int64_t db = 0;
    if (!resp_parse_int(req.args[1], db)) {
        RespWriter(out).write_error(kErrNotInteger);
        return false;
    }
    if (db != 0) {
        RespWriter(out).write_error("DB index is out of range");
        return false;
    }
    return true;
}

// ---- the table ---------------------------------------------------------------

const std::array kTable = {
    // clang-format off
    RespCommand{Spec{"get", exactly(2), kRead, kOneKey, nullptr, exec_read<read_get>}, read_get},
    RespCommand{Spec{"set", at_least(3), kWrite, kOneKey, parse_set, op_set}},
    RespCommand{Spec{"getset", exactly(3), kWrite, kOneKey, nullptr, op_getset}},
    RespCommand{Spec{"setnx", exactly(3), kWrite, kOneKey, nullptr, op_setnx}},
    RespCommand{Spec{"setex", exactly(4), kWrite, kOneKey, parse_setex, op_setex}},
    RespCommand{Spec{"psetex", exactly(4), kWrite, kOneKey, parse_setex, op_setex}},
    RespCommand{Spec{"mget", at_least(2), kRead, kEveryKey, nullptr, exec_read<read_mget>}, read_mget},
    RespCommand{Spec{"mset", at_least(3), kWrite, kKeyValuePairs, parse_mset, op_mset}, nullptr,
                RespGather::kOk, "mset"},
    RespCommand{Spec{"del", at_least(2), kWrite, kEveryKey, nullptr, op_del}, nullptr,
                RespGather::kSum, "del"},
    // UNLINK frees at once like DEL: an item's memory is one chunk, there is
    // nothing to hand to a background thread.
    RespCommand{Spec{"unlink", at_least(2), kWrite, kEveryKey, nullptr, op_del}, nullptr,
                RespGather::kSum, "unlink"},
    RespCommand{Spec{"exists", at_least(2), kRead, kEveryKey, nullptr, exec_read<read_exists>},
                read_exists},
    RespCommand{Spec{"incr", exactly(2), kWrite, kOneKey, parse_incr, op_incr}},
    RespCommand{Spec{"decr", exactly(2), kWrite, kOneKey, parse_incr, op_incr}},
    RespCommand{Spec{"incrby", exactly(3), kWrite, kOneKey, parse_incr, op_incr}},
    RespCommand{Spec{"decrby", exactly(3), kWrite, kOneKey, parse_incr, op_incr}},
    RespCommand{Spec{"append", exactly(3), kWrite, kOneKey, nullptr, op_append}},
    RespCommand{Spec{"strlen", exactly(2), kRead, kOneKey, nullptr, exec_read<read_strlen>},
                read_strlen},
    RespCommand{Spec{"type", exactly(2), kRead, kOneKey, nullptr, exec_read<read_type>}, read_type},
    RespCommand{Spec{"ttl", exactly(2), kRead, kOneKey, nullptr, exec_read<read_ttl>}, read_ttl},
    RespCommand{Spec{"pttl", exactly(2), kRead, kOneKey, nullptr, exec_read<read_ttl>}, read_ttl},
    RespCommand{Spec{"expire", at_least(3), kWrite, kOneKey, parse_expire_cmd, op_expire}},
    RespCommand{Spec{"pexpire", at_least(3), kWrite, kOneKey, parse_expire_cmd, op_expire}},
    RespCommand{Spec{"expireat", at_least(3), kWrite, kOneKey, parse_expire_cmd, op_expire}},
    RespCommand{Spec{"pexpireat", at_least(3), kWrite, kOneKey, parse_expire_cmd, op_expire}},
    RespCommand{Spec{"expiretime", exactly(2), kRead, kOneKey, nullptr, exec_read<read_expiretime>},
                read_expiretime},
    RespCommand{Spec{"pexpiretime", exactly(2), kRead, kOneKey, nullptr,
                     exec_read<read_expiretime>}, read_expiretime},
    RespCommand{Spec{"touch", at_least(2), kRead, kEveryKey, nullptr, exec_read<read_exists>},
                read_exists},
    RespCommand{Spec{"persist", exactly(2), kWrite, kOneKey, nullptr, op_persist}},
    RespCommand{Spec{"dbsize", exactly(1), kRead, {}, nullptr, exec_read<read_dbsize>},
                read_dbsize},
    RespCommand{Spec{"flushall", at_least(1), kWrite | kCmdAllShards, {}, parse_flushall,
                     op_flushall}},
    // One database: FLUSHDB is FLUSHALL.
    RespCommand{Spec{"flushdb", at_least(1), kWrite | kCmdAllShards, {}, parse_flushall,
                     op_flushall}},
    RespCommand{Spec{"ping", at_least(1), kLocal, {}, parse_ping, op_ping}},
    RespCommand{Spec{"echo", exactly(2), kLocal, {}, nullptr, op_echo}},
    RespCommand{Spec{"time", exactly(1), kLocal, {}, nullptr, op_time}},
    RespCommand{Spec{"quit", at_least(1), kLocal | kCmdCloses, {}, nullptr, op_ok}},
    RespCommand{Spec{"select", exactly(2), kLocal, {}, parse_select, op_ok}},
    // clang-format on
};

}  // namespace

std::span<const RespCommand> resp_keyspace_commands() {
    return kTable;
}

}  // namespace fulmar::engine
