// Keyspace notifications: flags, the owner's events, their wire form; see
// resp_notify.h.
#include "engine/resp_notify.h"

#include <fmt/core.h>

#include <charconv>

#include "engine/resp_groups.h"
#include "engine/resp_util.h"

namespace fulmar::engine {

using namespace resp;

namespace {

constexpr std::string_view kRequestHead = ">2\r\n$6\r\nnotify\r\n:";

// A decimal number ended by CRLF at `at`; the position after the CRLF, or
// npos.
size_t read_number(std::string_view s, size_t at, uint64_t& n) {
    const size_t end = s.find("\r\n", at);
    if (end == std::string_view::npos || end == at) return std::string_view::npos;
    const auto r = std::from_chars(s.data() + at, s.data() + end, n);
    if (r.ec != std::errc() || r.ptr != s.data() + end) return std::string_view::npos;
    return end + 2;
}

// One "$<len>\r\n<bytes>\r\n" at `at`.
size_t read_bulk(std::string_view s, size_t at, std::string& out) {
    if (at >= s.size() || s[at] != '$') return std::string_view::npos;
    uint64_t len = 0;
    const size_t p = read_number(s, at + 1, len);
    if (p == std::string_view::npos || len > s.size() - p || s.size() - p - len < 2)
        return std::string_view::npos;
    out.assign(s.substr(p, len));
    if (s.substr(p + len, 2) != "\r\n") return std::string_view::npos;
    return p + len + 2;
}

void write_event(const KeyEvent& e, std::string& out) {
    out += fmt::format(":{}\r\n${}\r\n", e.cls, e.event.size());
    out += e.event;
    out += fmt::format("\r\n${}\r\n", e.key.size());
    out += e.key;
    out += "\r\n";
}

// Redis's expireIfNeeded before a command: the keys it names that have
// expired but are still resident are freed now, each an "expired" event.
// (The control plane's lazy expiry sends an owner EXISTS for keys its own
// reads found expired; that lands here too.)
void expire_due_keys(const RespCommand& c, const RespRequest& req, uint16_t flags, EngineCtx& ctx,
                     std::vector<KeyEvent>& events) {
    const KeySpec k = c.spec.keys;
    const UnixTime now = ctx.now();
    const uint64_t now_ms = ctx.now_ms();
    const size_t last = k.last_key(req.args);
    for (size_t i = static_cast<size_t>(k.first); i <= last && i < req.args.size();
         i += static_cast<size_t>(k.step)) {
        const std::string_view key = req.args[i];
        if (key.size() > store::kMaxKeyLen) continue;
        const store::KeyRef ref(key);
        store::Shard& s = ctx.shard_for(ref);
        if (!ctx.owns(s)) continue;
        const store::Item* it = s.index().find(ref.digest);
        if (it == nullptr || it->key() != key) continue;
        const uint64_t at = store::expiry_ms(*it);
        if (at == 0 || at > now_ms) continue;
        s.set_now_ms(now_ms);
        if (s.find(ref, now) != nullptr) continue;  // not expired after all (clock skew)
        if ((flags & kNotifyExpired) != 0)
            events.push_back({kNotifyExpired, "expired", std::string(key)});
    }
}

bool key_exists(EngineCtx& ctx, std::string_view key) {
    const store::KeyRef k(key);
    // A key of another shard (SORT's STORE destination, which the owner
    // then refuses) is never looked at: find() may free what it meets.
    store::Shard& s = ctx.shard_for(k);
    return ctx.owns(s) && s.find(k, ctx.now()) != nullptr;
}

// What the write did, as Redis's notifyKeyspaceEvent calls in its commands
// (t_string.c, db.c, expire.c): `had[i]`, whether the i-th key existed
// before; the reply the command gave.
void derive_events(const RespRequest& req, const std::vector<bool>& had, bool had_ttl,
                   std::string_view reply, uint16_t flags, EngineCtx& ctx,
                   std::vector<KeyEvent>& events) {
    if (reply.starts_with('-')) return;
    const auto event = [&](uint16_t cls, std::string_view name, std::string_view key) {
        if ((flags & cls) != 0) events.push_back({cls, std::string(name), std::string(key)});
    };
    const auto set_key = [&](size_t i, std::string_view key) {
        // dbAdd announces a key it creates before the command's own event.
        if (!had[i]) event(kNotifyNew, "new", key);
        event(kNotifyString, "set", key);
    };
    // A list left empty is deleted: "del" after the command's own event.
    const auto emptied = [&](std::string_view key) {
        if (!key_exists(ctx, key)) event(kNotifyGeneric, "del", key);
    };
    const std::string name = lower(req.args[0]);
    const auto& a = req.args;
    if (name == "set") {
        bool nx = false, xx = false, expire = false;
        for (size_t i = 3; i < a.size(); ++i) {
            nx = nx || iequals(a[i], "nx");
            xx = xx || iequals(a[i], "xx");
            expire = expire || iequals(a[i], "ex") || iequals(a[i], "px") ||
                     iequals(a[i], "exat") || iequals(a[i], "pxat");
        }
        if ((nx && had[0]) || (xx && !had[0])) return;
        set_key(0, a[1]);
        if (expire) event(kNotifyGeneric, "expire", a[1]);
    } else if (name == "setnx") {
        if (reply == ":1\r\n") set_key(0, a[1]);
    } else if (name == "setex" || name == "psetex") {
        set_key(0, a[1]);
        event(kNotifyGeneric, "expire", a[1]);
    } else if (name == "mset") {
        for (size_t i = 1; i + 1 < a.size(); i += 2)
            set_key(i / 2, a[i]);
    } else if (name == "msetnx") {
        if (reply == ":1\r\n")
            for (size_t i = 1; i + 1 < a.size(); i += 2)
                set_key(i / 2, a[i]);
    } else if (name == "getset") {
        set_key(0, a[1]);
    } else if (name == "del" || name == "unlink") {
        for (size_t i = 1; i < a.size(); ++i)
            if (had[i - 1]) event(kNotifyGeneric, "del", a[i]);
    } else if (name == "getdel") {
        if (had[0]) event(kNotifyGeneric, "del", a[1]);
    } else if (name == "incr" || name == "decr" || name == "incrby" || name == "decrby" ||
               name == "incrbyfloat" || name == "append") {
        // INCR and friends all say "incrby".
        if (!had[0]) event(kNotifyNew, "new", a[1]);
        const bool by = name != "incrbyfloat" && name != "append";
        event(kNotifyString, by ? std::string_view("incrby") : std::string_view(name), a[1]);
    } else if (name == "restore") {
        // restoreCommand: dbAdd's "new" (REPLACE deleted the old key
        // first), then "restore"; a TTL already past stores nothing, and
        // deletes a key REPLACE named ("del").
        if (key_exists(ctx, a[1])) {
            event(kNotifyNew, "new", a[1]);
            event(kNotifyGeneric, "restore", a[1]);
        } else if (had[0]) {
            event(kNotifyGeneric, "del", a[1]);
        }
    } else if (name == "setrange") {
        // An empty value changes nothing (and creates nothing).
        if (a[3].empty()) return;
        if (!had[0]) event(kNotifyNew, "new", a[1]);
        event(kNotifyString, "setrange", a[1]);
    } else if (name == "expire" || name == "pexpire" || name == "expireat" || name == "pexpireat") {
        // A time already past deletes the key (expireGenericCommand).
        if (reply == ":1\r\n")
            event(kNotifyGeneric, key_exists(ctx, a[1]) ? "expire" : "del", a[1]);
    } else if (name == "getex") {
        if (!had[0] || a.size() < 3) return;
        if (iequals(a[2], "persist")) {
            if (had_ttl) event(kNotifyGeneric, "persist", a[1]);
        } else {
            // An expiry time already past deletes the key, as EXPIRE does.
            event(kNotifyGeneric, key_exists(ctx, a[1]) ? "expire" : "del", a[1]);
        }
    } else if (name == "rename" || name == "renamenx") {
        // renameGenericCommand: the same key twice changes nothing; else the
        // target is (re)created, then the two renames.
        if (a[1] == a[2] || !had[0] || reply == ":0\r\n") return;
        event(kNotifyNew, "new", a[2]);
        event(kNotifyGeneric, "rename_from", a[1]);
        event(kNotifyGeneric, "rename_to", a[2]);
    } else if (name == "lpush" || name == "rpush" || name == "lpushx" || name == "rpushx") {
        // The X forms push nothing onto a missing key (":0").
        if (reply == ":0\r\n") return;
        if (!had[0]) event(kNotifyNew, "new", a[1]);
        event(kNotifyList, name[0] == 'l' ? "lpush" : "rpush", a[1]);
    } else if (name == "lpop" || name == "rpop") {
        if (reply == "$-1\r\n" || reply == "*-1\r\n" || reply == "*0\r\n") return;
        event(kNotifyList, name, a[1]);
        emptied(a[1]);
    } else if (name == "blpop" || name == "brpop" || name == "lmpop" || name == "blmpop") {
        // The reply names the key popped: *2 $n key ... (a null: none).
        if (!reply.starts_with("*2\r\n$")) return;
        const size_t len_end = reply.find("\r\n", 5);
        size_t n = 0;
        for (size_t i = 5; i < len_end && len_end != std::string_view::npos; ++i)
            n = n * 10 + static_cast<size_t>(reply[i] - '0');
        if (len_end == std::string_view::npos || len_end + 2 + n > reply.size()) return;
        const std::string_view key = reply.substr(len_end + 2, n);
        bool left = name == "blpop";
        if (name == "lmpop" || name == "blmpop") {
            // The end follows the keys: numkeys is checked by the parse.
            const size_t at = name == "lmpop" ? 1 : 2;
            int64_t numkeys = 0;
            if (!resp_parse_int(a[at], numkeys) || numkeys < 1) return;
            const auto where = static_cast<uint64_t>(at) + 1 + static_cast<uint64_t>(numkeys);
            left = where < a.size() && iequals(a[where], "left");
        }
        event(kNotifyList, left ? "lpop" : "rpop", key);
        emptied(key);
    } else if (name == "lset") {
        event(kNotifyList, "lset", a[1]);
    } else if (name == "lrem") {
        if (reply == ":0\r\n") return;
        event(kNotifyList, "lrem", a[1]);
        emptied(a[1]);
    } else if (name == "ltrim") {
        if (!had[0]) return;
        event(kNotifyList, "ltrim", a[1]);
        emptied(a[1]);
    } else if (name == "linsert") {
        if (reply == ":-1\r\n" || reply == ":0\r\n") return;
        event(kNotifyList, "linsert", a[1]);
    } else if (name == "lmove" || name == "rpoplpush" || name == "blmove" || name == "brpoplpush") {
        // lmoveGenericCommand: the push onto the destination (a new key
        // first), then the pop from the source, then its deletion.
        if (reply == "$-1\r\n") return;
        const bool rpoplpush = name.ends_with("rpoplpush");
        const bool from_left = !rpoplpush && iequals(a[3], "left");
        const bool to_left = rpoplpush || iequals(a[4], "left");
        if (!had[1]) event(kNotifyNew, "new", a[2]);
        event(kNotifyList, to_left ? "lpush" : "rpush", a[2]);
        event(kNotifyList, from_left ? "lpop" : "rpop", a[1]);
        emptied(a[1]);
    } else if (name == "sadd") {
        if (reply == ":0\r\n") return;
        if (!had[0]) event(kNotifyNew, "new", a[1]);
        event(kNotifySet, "sadd", a[1]);
    } else if (name == "srem" || name == "spop") {
        if (reply == ":0\r\n" || reply == "$-1\r\n" || reply == "*0\r\n" || reply == "*-1\r\n" ||
            !had[0])
            return;
        event(kNotifySet, name, a[1]);
        emptied(a[1]);
    } else if (name == "hset" || name == "hmset" || name == "hsetnx") {
        // HSET announces even fields that only changed value; HSETNX only
        // a field it set.
        if (name == "hsetnx" && reply != ":1\r\n") return;
        if (!had[0]) event(kNotifyNew, "new", a[1]);
        event(kNotifyHash, "hset", a[1]);
    } else if (name == "hdel") {
        if (reply == ":0\r\n") return;
        event(kNotifyHash, "hdel", a[1]);
        emptied(a[1]);
    } else if (name == "hincrby" || name == "hincrbyfloat") {
        if (!had[0]) event(kNotifyNew, "new", a[1]);
        event(kNotifyHash, name, a[1]);
    } else if (name == "sort") {
        // sortCommandGeneric's STORE: the destination set (a new key
        // first) or, with nothing to store, deleted.
        std::vector<size_t> dest;
        sort_store_key(a, dest);
        if (dest.empty() || had.size() < 2) return;
        const std::string_view key = a[dest.front()];
        if (reply == ":0\r\n") {
            if (had.back()) event(kNotifyGeneric, "del", key);
            return;
        }
        if (!had.back()) event(kNotifyNew, "new", key);
        event(kNotifyList, "sortstore", key);
    } else if (name == "persist") {
        if (reply == ":1\r\n") event(kNotifyGeneric, "persist", a[1]);
    }
}

}  // namespace

void write_notify_request_prefix(uint16_t flags, std::string& out) {
    out += kRequestHead;
    out += fmt::format("{}\r\n", flags);
}

bool take_reply_events(std::string& reply, std::vector<KeyEvent>& events) {
    if (!reply.starts_with('>')) return true;
    const std::string_view s = reply;
    uint64_t n = 0;
    size_t p = read_number(s, 1, n);
    if (p == std::string_view::npos || n > s.size()) return false;
    std::vector<KeyEvent> got;
    for (uint64_t i = 0; i < n; ++i) {
        if (p >= s.size() || s[p] != ':') return false;
        uint64_t cls = 0;
        p = read_number(s, p + 1, cls);
        if (p == std::string_view::npos || cls > UINT16_MAX) return false;
        KeyEvent e;
        e.cls = static_cast<uint16_t>(cls);
        p = read_bulk(s, p, e.event);
        if (p == std::string_view::npos) return false;
        p = read_bulk(s, p, e.key);
        if (p == std::string_view::npos) return false;
        got.push_back(std::move(e));
    }
    reply.erase(0, p);
    for (KeyEvent& e : got)
        events.push_back(std::move(e));
    return true;
}

namespace {

// The reply with its events (if any) in front, as the prefix says.
void write_with_events(const std::vector<KeyEvent>& events, std::string_view reply,
                       proto::ReplySink& out) {
    if (!events.empty()) {
        std::string prefix = fmt::format(">{}\r\n", events.size());
        for (const KeyEvent& e : events)
            write_event(e, prefix);
        out.append(prefix);
    }
    out.append(reply);
}

}  // namespace

void run_resp_request_notifying(proto::RespParser& parser, std::string_view body, EngineCtx& ctx,
                                proto::ReplySink& out) {
    uint64_t flags = 0;
    const size_t p = body.starts_with(kRequestHead) ? read_number(body, kRequestHead.size(), flags)
                                                    : std::string_view::npos;
    if (p == std::string_view::npos || flags > UINT16_MAX) {
        RespWriter(out).write_error("Protocol error: a malformed notification prefix");
        return;
    }
    const std::string_view rest = body.substr(p);
    parser.reset();
    const proto::RespParseResult r = parser.parse(rest);
    const RespCommand* c = r.status == proto::ParseStatus::kComplete && !parser.args().empty()
                               ? find_resp_command(parser.args()[0])
                               : nullptr;
    if (c == nullptr || c->spec.keys.none() ||
        (!c->spec.has(kCmdWrite) && !c->spec.has(kCmdRead))) {
        // Nothing that notifies: the request as it would run without.
        run_resp_request(parser, rest, ctx, out);
        return;
    }
    const RespRequest req{parser.args()};
    std::vector<KeyEvent> events;
    expire_due_keys(*c, req, static_cast<uint16_t>(flags), ctx, events);
    if (!c->spec.has(kCmdWrite)) {
        // A read only expires what it names (lazy expiry), then runs.
        proto::StringSink reply;
        execute_resp(req, ctx, reply);
        write_with_events(events, reply.out, out);
        return;
    }
    // Which keys existed before (events "new" and "del" depend on it).
    // In key order, extra keys (SORT's STORE) last.
    std::vector<bool> had;
    for (size_t i : resp_key_positions(*c, req.args))
        had.push_back(req.args[i].size() <= store::kMaxKeyLen && key_exists(ctx, req.args[i]));
    // GETEX PERSIST announces only a TTL it removed.
    bool had_ttl = false;
    if (!had.empty() && had[0]) {
        const store::KeyRef k(req.args[1]);
        const store::Item* it = ctx.shard_for(k).find(k, ctx.now());
        had_ttl = it != nullptr && it->exptime != 0;
    }
    proto::StringSink reply;
    execute_resp(req, ctx, reply);
    if (!had.empty())
        derive_events(req, had, had_ttl, reply.out, static_cast<uint16_t>(flags), ctx, events);
    write_with_events(events, reply.out, out);
}

}  // namespace fulmar::engine
