// Redis's hash commands on the collection encodings (resp_collection.h: a
// hash's entries are its fields and values alternating; compact, Redis's
// listpack, within hash-max-listpack-entries/-value, hashed past them):
// Redis 7.0.15's replies and errors,
// argument checks in the order Redis makes them.
//
// Writes run on the key's owner worker; reads on any thread from ShardViews
// (the control plane's, lock-free). A hash keeps its fields in insertion
// order (an update keeps a field's place), as Redis's listpack does.
#include <algorithm>
#include <array>
#include <climits>
#include <cmath>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/glob_match.h"
#include "engine/resp_coll_inplace.h"
#include "engine/resp_coll_util.h"
#include "engine/resp_collection.h"
#include "engine/resp_groups.h"
#include "engine/resp_util.h"

namespace fulmar::engine {
namespace {

using namespace resp;
using store::ItemType;
using Views = std::vector<std::string_view>;

inline constexpr size_t kNone = SIZE_MAX;

// Where each field is in a hash's entries: a scan for a few look-ups, a
// map built once when many fields are looked up in a big hash (building it
// costs more than a scan for one look-up). Keys are views of the entries'
// bytes (the item's or the request's), so the entries vector may grow.
class Fields {
  public:
    Fields(const Views& e, size_t lookups)
        : e_(e), indexed_(lookups > kScanLookups && e.size() / 2 > kScanUpTo) {
        if (indexed_)
            for (size_t i = 0; i + 1 < e.size(); i += 2)
                map_.emplace(e[i], i);
    }
    // The index of `f`'s entry, or kNone.
    size_t find(std::string_view f) const {
        if (indexed_) {
            const auto it = map_.find(f);
            return it == map_.end() ? kNone : it->second;
        }
        for (size_t i = 0; i + 1 < e_.size(); i += 2)
            if (e_[i] == f) return i;
        return kNone;
    }
    // `f` was just appended at index i.
    void added(std::string_view f, size_t i) {
        if (indexed_) map_.emplace(f, i);
    }

  private:
    static constexpr size_t kScanLookups = 4;
    static constexpr size_t kScanUpTo = 16;
    const Views& e_;
    bool indexed_;
    std::unordered_map<std::string_view, size_t> map_;
};

// Up to this many fields are looked up one by one in the encoded value (a
// probe of a hashed hash, a scan of a compact one); more decode it once.
inline constexpr size_t kProbesUpTo = 4;

void write_wrongtype(ReplySink& out) {
    RespWriter(out).write_error(kErrWrongType);
}

// Stores the owner's result: a listpack while it is within
// hash-max-listpack-entries/-value, hashed once past them (for good: a
// removal keeps the encoding, as 7.0.15's t_hash.c).
bool store_hash(store::Shard& s, const store::KeyRef& k, std::span<const std::string_view> e,
                UnixTime exptime, UnixTime now, const EngineCtx& ctx, coll::Change change,
                ReplySink& out) {
    const coll::WriteStatus st = coll::write(s, k, ItemType::kHash, e, exptime, now,
                                             coll::EncodePolicy{ctx.limits(), change});
    if (st == coll::WriteStatus::kStored || st == coll::WriteStatus::kDeleted) return true;
    coll::write_error(st, out);
    return false;
}

// The owner's look-up of a hash to change: kWrongType written.
struct Owned {
    store::Shard& s;
    Views e;
    UnixTime exp = 0;
    coll::Found found = coll::Found::kMissing;
};
Owned find_owned(const store::KeyRef& k, EngineCtx& ctx, UnixTime now) {
    Owned o{ctx.shard_for(k), {}, 0, coll::Found::kMissing};
    o.found = coll::find(o.s, k, ItemType::kHash, now, o.e, &o.exp);
    return o;
}

// The hash `k` holds, for an in-place write (resp_coll_inplace.h), or
// nullptr (no key, or another type: the rebuild path answers those).
store::Item* owned_hash(const store::KeyRef& k, EngineCtx& ctx, UnixTime now) {
    store::Item* it = ctx.shard_for(k).find(k, now);
    return it != nullptr && it->type() == ItemType::kHash ? it : nullptr;
}

// ---- writes ------------------------------------------------------------------

// HSET key field value [field value ...] / HMSET (the same, +OK)
bool parse_hset(const RespRequest& req, ReplySink& out) {
    if (req.args.size() % 2 == 0) return true;
    RespWriter(out).write_error(resp_arity_error(req.args[0]));
    return false;
}

void op_hset(const RespRequest& req, const store::KeyRef& k, EngineCtx& ctx, ReplySink& out) {
    const UnixTime now = ctx.now();
    int64_t created = 0;
    const auto reply = [&] {
        RespWriter w(out);
        if (iequals(req.args[0], "hmset"))
            w.write_simple("OK");
        else
            w.write_integer(created);
    };
    if (store::Item* it = owned_hash(k, ctx, now);
        it != nullptr && coll::hash_set_in_place(ctx.shard_for(k), *it, req.args.subspan(2),
                                                 ctx.limits(), now, created))
        return reply();
    created = 0;
    Owned o = find_owned(k, ctx, now);
    if (o.found == coll::Found::kWrongType) return write_wrongtype(out);
    {
        Fields fields(o.e, (req.args.size() - 2) / 2);
        for (size_t i = 2; i + 1 < req.args.size(); i += 2) {
            const size_t at = fields.find(req.args[i]);
            if (at != kNone) {
                o.e[at + 1] = req.args[i + 1];
                continue;
            }
            o.e.push_back(req.args[i]);
            o.e.push_back(req.args[i + 1]);
            fields.added(req.args[i], o.e.size() - 2);
            ++created;
        }
    }
    if (!store_hash(o.s, k, o.e, o.exp, now, ctx, coll::Change::kGrow, out)) return;
    reply();
}

// HSETNX key field value
void op_hsetnx(const RespRequest& req, const store::KeyRef& k, EngineCtx& ctx, ReplySink& out) {
    const UnixTime now = ctx.now();
    if (store::Item* it = owned_hash(k, ctx, now); it != nullptr) {
        if (coll::lookup(it->value(), req.args[2], 2).found)
            return RespWriter(out).write_integer(0);
        int64_t created = 0;
        if (coll::hash_set_in_place(ctx.shard_for(k), *it, req.args.subspan(2, 2), ctx.limits(),
                                    now, created))
            return RespWriter(out).write_integer(1);
    }
    Owned o = find_owned(k, ctx, now);
    if (o.found == coll::Found::kWrongType) return write_wrongtype(out);
    if (Fields(o.e, 1).find(req.args[2]) != kNone) return RespWriter(out).write_integer(0);
    o.e.push_back(req.args[2]);
    o.e.push_back(req.args[3]);
    if (!store_hash(o.s, k, o.e, o.exp, now, ctx, coll::Change::kGrow, out)) return;
    RespWriter(out).write_integer(1);
}

// HDEL key field [field ...]
void op_hdel(const RespRequest& req, const store::KeyRef& k, EngineCtx& ctx, ReplySink& out) {
    const UnixTime now = ctx.now();
    if (store::Item* it = owned_hash(k, ctx, now); it != nullptr) {
        int64_t removed = 0;
        if (coll::hash_del_in_place(ctx.shard_for(k), *it, req.args.subspan(2), now, removed))
            return RespWriter(out).write_integer(removed);
    }
    Owned o = find_owned(k, ctx, now);
    if (o.found == coll::Found::kWrongType) return write_wrongtype(out);
    const std::unordered_set<std::string_view> gone(req.args.begin() + 2, req.args.end());
    size_t j = 0;
    for (size_t i = 0; i + 1 < o.e.size(); i += 2) {
        if (gone.contains(o.e[i])) continue;
        o.e[j++] = o.e[i];
        o.e[j++] = o.e[i + 1];
    }
    const size_t removed = (o.e.size() - j) / 2;
    o.e.resize(j);
    if (removed != 0 && !store_hash(o.s, k, o.e, o.exp, now, ctx, coll::Change::kShrink, out))
        return;
    RespWriter(out).write_integer(static_cast<int64_t>(removed));
}

// HINCRBY key field increment
bool parse_hincrby(const RespRequest& req, ReplySink& out) {
    int64_t incr = 0;
    if (resp_parse_int(req.args[3], incr)) return true;
    RespWriter(out).write_error(kErrNotInteger);
    return false;
}

void op_hincrby(const RespRequest& req, const store::KeyRef& k, EngineCtx& ctx, ReplySink& out) {
    RespWriter w(out);
    int64_t incr = 0;
    if (!parse_hincrby(req, out)) return;
    resp_parse_int(req.args[3], incr);
    const UnixTime now = ctx.now();
    // In place when the field's value (or its absence) gives a number and
    // the item has room: every error and the rest take the path below.
    if (store::Item* it = owned_hash(k, ctx, now); it != nullptr) {
        const coll::Hit hit = coll::lookup(it->value(), req.args[2], 2);
        int64_t cur = 0;
        if ((!hit.found || resp_parse_int(hit.next, cur)) &&
            !((incr < 0 && cur < 0 && incr < LLONG_MIN - cur) ||
              (incr > 0 && cur > 0 && incr > LLONG_MAX - cur))) {
            const int64_t next = cur + incr;
            const std::string text = std::to_string(next);
            const std::array<std::string_view, 2> pair = {req.args[2], text};
            int64_t created = 0;
            if (coll::hash_set_in_place(ctx.shard_for(k), *it, pair, ctx.limits(), now, created))
                return w.write_integer(next);
        }
    }
    Owned o = find_owned(k, ctx, now);
    if (o.found == coll::Found::kWrongType) return write_wrongtype(out);
    const size_t at = Fields(o.e, 1).find(req.args[2]);
    int64_t cur = 0;
    if (at != kNone && !resp_parse_int(o.e[at + 1], cur))
        return w.write_error("hash value is not an integer");
    if ((incr < 0 && cur < 0 && incr < LLONG_MIN - cur) ||
        (incr > 0 && cur > 0 && incr > LLONG_MAX - cur))
        return w.write_error(kErrOverflow);
    const int64_t next = cur + incr;
    const std::string text = std::to_string(next);
    if (at != kNone) {
        o.e[at + 1] = text;
    } else {
        o.e.push_back(req.args[2]);
        o.e.push_back(text);
    }
    if (!store_hash(o.s, k, o.e, o.exp, now, ctx, coll::Change::kGrow, out)) return;
    w.write_integer(next);
}

// HINCRBYFLOAT key field increment
bool parse_hincrbyfloat(const RespRequest& req, ReplySink& out) {
    long double incr = 0;
    if (!parse_long_double(req.args[3], incr)) {
        RespWriter(out).write_error(kErrNotFloat);
        return false;
    }
    if (std::isnan(incr) || std::isinf(incr)) {
        RespWriter(out).write_error("value is NaN or Infinity");
        return false;
    }
    return true;
}

void op_hincrbyfloat(const RespRequest& req, const store::KeyRef& k, EngineCtx& ctx,
                     ReplySink& out) {
    RespWriter w(out);
    if (!parse_hincrbyfloat(req, out)) return;
    long double incr = 0;
    parse_long_double(req.args[3], incr);
    const UnixTime now = ctx.now();
    if (store::Item* it = owned_hash(k, ctx, now); it != nullptr) {
        const coll::Hit hit = coll::lookup(it->value(), req.args[2], 2);
        long double cur = 0;
        if (!hit.found || parse_long_double(hit.next, cur)) {
            const long double next = cur + incr;
            if (!std::isnan(next) && !std::isinf(next)) {
                const std::string text = format_long_double(next);
                const std::array<std::string_view, 2> pair = {req.args[2], text};
                int64_t created = 0;
                if (coll::hash_set_in_place(ctx.shard_for(k), *it, pair, ctx.limits(), now,
                                            created))
                    return w.write_bulk(text);
            }
        }
    }
    Owned o = find_owned(k, ctx, now);
    if (o.found == coll::Found::kWrongType) return write_wrongtype(out);
    const size_t at = Fields(o.e, 1).find(req.args[2]);
    long double cur = 0;
    if (at != kNone && !parse_long_double(o.e[at + 1], cur))
        return w.write_error("hash value is not a float");
    const long double next = cur + incr;
    if (std::isnan(next) || std::isinf(next))
        return w.write_error("increment would produce NaN or Infinity");
    const std::string text = format_long_double(next);
    if (at != kNone) {
        o.e[at + 1] = text;
    } else {
        o.e.push_back(req.args[2]);
        o.e.push_back(text);
    }
    if (!store_hash(o.s, k, o.e, o.exp, now, ctx, coll::Change::kGrow, out)) return;
    w.write_bulk(text);
}

// ---- reads -------------------------------------------------------------------

// The hash at args[1] for a reader; kWrongType already answered.
coll::Found read_hash(const RespRequest& req, const RespReadCtx& ctx, Views& e, ReplySink& out) {
    const coll::Found f = coll::read(req.args[1], ItemType::kHash, ctx, e);
    if (f == coll::Found::kWrongType) write_wrongtype(out);
    return f;
}

// HGET key field
void read_hget(const RespRequest& req, const RespReadCtx& ctx, ReplySink& out) {
    std::string_view v;
    const coll::Found f = coll::read_value(req.args[1], ItemType::kHash, ctx, v);
    if (f == coll::Found::kWrongType) return write_wrongtype(out);
    const coll::Hit hit = f == coll::Found::kFound ? coll::lookup(v, req.args[2], 2) : coll::Hit{};
    RespWriter w(out);
    if (hit.found)
        w.write_bulk(hit.next);
    else
        w.write_null();
}

// HMGET key field [field ...]: nulls for a missing key.
void read_hmget(const RespRequest& req, const RespReadCtx& ctx, ReplySink& out) {
    const size_t n = req.args.size() - 2;
    RespWriter w(out);
    if (n <= kProbesUpTo) {
        // A probe (or a scan of a small hash) each: no decode.
        std::string_view v;
        const coll::Found f = coll::read_value(req.args[1], ItemType::kHash, ctx, v);
        if (f == coll::Found::kWrongType) return write_wrongtype(out);
        w.write_array(n);
        for (size_t i = 2; i < req.args.size(); ++i) {
            const coll::Hit hit =
                f == coll::Found::kFound ? coll::lookup(v, req.args[i], 2) : coll::Hit{};
            if (hit.found)
                w.write_bulk(hit.next);
            else
                w.write_null();
        }
        return;
    }
    Views e;
    if (read_hash(req, ctx, e, out) == coll::Found::kWrongType) return;
    const Fields fields(e, n);
    w.write_array(n);
    for (size_t i = 2; i < req.args.size(); ++i) {
        const size_t at = fields.find(req.args[i]);
        if (at == kNone)
            w.write_null();
        else
            w.write_bulk(e[at + 1]);
    }
}

// HLEN key: the count in the header.
void read_hlen(const RespRequest& req, const RespReadCtx& ctx, ReplySink& out) {
    std::string_view v;
    const coll::Found f = coll::read_value(req.args[1], ItemType::kHash, ctx, v);
    if (f == coll::Found::kWrongType) return write_wrongtype(out);
    RespWriter(out).write_integer(f == coll::Found::kFound ? coll::size(v) / 2 : 0);
}

// HSTRLEN key field
void read_hstrlen(const RespRequest& req, const RespReadCtx& ctx, ReplySink& out) {
    std::string_view v;
    const coll::Found f = coll::read_value(req.args[1], ItemType::kHash, ctx, v);
    if (f == coll::Found::kWrongType) return write_wrongtype(out);
    const coll::Hit hit = f == coll::Found::kFound ? coll::lookup(v, req.args[2], 2) : coll::Hit{};
    RespWriter(out).write_integer(hit.found ? static_cast<int64_t>(hit.next.size()) : 0);
}

// HEXISTS key field
void read_hexists(const RespRequest& req, const RespReadCtx& ctx, ReplySink& out) {
    std::string_view v;
    const coll::Found f = coll::read_value(req.args[1], ItemType::kHash, ctx, v);
    if (f == coll::Found::kWrongType) return write_wrongtype(out);
    const bool in = f == coll::Found::kFound && coll::lookup(v, req.args[2], 2).found;
    RespWriter(out).write_integer(in ? 1 : 0);
}

// HGETALL key (a map) / HKEYS key / HVALS key (arrays)
void read_hgetall(const RespRequest& req, const RespReadCtx& ctx, ReplySink& out) {
    Views e;
    if (read_hash(req, ctx, e, out) == coll::Found::kWrongType) return;
    RespWriter w(out);
    const bool keys = !iequals(req.args[0], "hvals");
    const bool values = !iequals(req.args[0], "hkeys");
    if (keys && values)
        w.write_map(e.size() / 2);
    else
        w.write_array(e.size() / 2);
    for (size_t i = 0; i + 1 < e.size(); i += 2) {
        if (keys) w.write_bulk(e[i]);
        if (values) w.write_bulk(e[i + 1]);
    }
}

// HRANDFIELD key [count [WITHVALUES]]: a negative count may repeat fields.
bool parse_hrandfield(const RespRequest& req, ReplySink& out) {
    if (req.args.size() < 3) return true;
    RespWriter w(out);
    int64_t count = 0;
    if (!resp_parse_int(req.args[2], count)) {
        w.write_error(kErrNotInteger);
        return false;
    }
    if (count == LLONG_MIN) {
        w.write_error(
            "value is out of range, value must between -9223372036854775807 and "
            "9223372036854775807");
        return false;
    }
    if (req.args.size() > 4 || (req.args.size() == 4 && !iequals(req.args[3], "withvalues"))) {
        w.write_error(kErrSyntax);
        return false;
    }
    if (req.args.size() == 4 && (count < -(LLONG_MAX / 2) || count > LLONG_MAX / 2)) {
        w.write_error("value is out of range");
        return false;
    }
    return true;
}

void read_hrandfield(const RespRequest& req, const RespReadCtx& ctx, ReplySink& out) {
    if (!parse_hrandfield(req, out)) return;
    Views e;
    const coll::Found f = read_hash(req, ctx, e, out);
    if (f == coll::Found::kWrongType) return;
    RespWriter w(out);
    if (req.args.size() == 2) {
        if (f == coll::Found::kMissing)
            w.write_null();
        else
            w.write_bulk(e[2 * random_below(e.size() / 2)]);
        return;
    }
    int64_t count = 0;
    resp_parse_int(req.args[2], count);
    const bool with_values = req.args.size() == 4;
    const size_t pairs = e.size() / 2;
    if (f == coll::Found::kMissing || count == 0) {
        w.write_array(0);
        return;
    }
    const bool resp3 = w.version() == proto::RespVersion::kResp3;
    // RESP2 flattens field and value; RESP3 nests each pair.
    auto header = [&](uint64_t n) { w.write_array(with_values && !resp3 ? 2 * n : n); };
    auto pick = [&](size_t pair) {
        if (with_values && resp3) w.write_array(2);
        w.write_bulk(e[2 * pair]);
        if (with_values) w.write_bulk(e[2 * pair + 1]);
    };
    if (count < 0 || count == 1) {
        const uint64_t n = count < 0 ? 0 - static_cast<uint64_t>(count) : 1;
        size_t longest = 0;
        for (std::string_view x : e)
            longest = std::max(longest, x.size());
        if (!random_reply_fits(n, longest, with_values ? 2 : 1)) return write_random_too_large(out);
        header(n);
        for (uint64_t i = 0; i < n; ++i)
            pick(random_below(pairs));
        return;
    }
    if (static_cast<uint64_t>(count) >= pairs) {
        header(pairs);
        for (size_t i = 0; i < pairs; ++i)
            pick(i);
        return;
    }
    const std::vector<size_t> chosen = random_distinct(pairs, static_cast<size_t>(count));
    header(chosen.size());
    for (size_t i : chosen)
        pick(i);
}

// HSCAN key cursor [MATCH pattern] [COUNT count]: MATCH on the fields.
bool parse_hscan(const RespRequest& req, ReplySink& out) {
    uint64_t cursor = 0;
    return parse_scan_cursor(req.args[2], cursor, out);
}

void read_hscan(const RespRequest& req, const RespReadCtx& ctx, ReplySink& out) {
    uint64_t cursor = 0;
    if (!parse_scan_cursor(req.args[2], cursor, out)) return;
    Views e;
    uint8_t tag = 0;
    const coll::Found f = coll::read(req.args[1], ItemType::kHash, ctx, e, &tag);
    if (f == coll::Found::kWrongType) return write_wrongtype(out);
    ScanOptions o;
    // Redis parses the options only once the key is found (and a hash).
    if (f == coll::Found::kFound && !parse_scan_options(req.args, 3, o, out)) return;
    // A listpack is answered whole, at any size, as Redis's.
    const ScanSlice sl = tag == coll::kCompact ? ScanSlice{0, e.size() / 2, 0}
                                               : scan_slice(e.size() / 2, cursor, o.count);
    Views hits;
    for (size_t i = sl.lo; i < sl.hi; ++i) {
        if (o.use_pattern && !glob_match(o.pattern, e[2 * i])) continue;
        hits.push_back(e[2 * i]);
        hits.push_back(e[2 * i + 1]);
    }
    RespWriter w(out);
    w.write_array(2);
    w.write_bulk(std::to_string(sl.next));
    w.write_array(hits.size());
    for (std::string_view x : hits)
        w.write_bulk(x);
}

const std::array kTable = {
    // clang-format off
    RespCommand{Spec{"hset", at_least(4), kWrite, kOneKey, parse_hset, op_hset}},
    RespCommand{Spec{"hmset", at_least(4), kWrite, kOneKey, parse_hset, op_hset}},
    RespCommand{Spec{"hsetnx", exactly(4), kWrite, kOneKey, nullptr, op_hsetnx}},
    RespCommand{Spec{"hdel", at_least(3), kWrite, kOneKey, nullptr, op_hdel}},
    RespCommand{Spec{"hincrby", exactly(4), kWrite, kOneKey, parse_hincrby, op_hincrby}},
    RespCommand{Spec{"hincrbyfloat", exactly(4), kWrite, kOneKey, parse_hincrbyfloat,
                     op_hincrbyfloat}},
    RespCommand{Spec{"hget", exactly(3), kRead, kOneKey, nullptr, exec_read<read_hget>}, read_hget},
    RespCommand{Spec{"hmget", at_least(3), kRead, kOneKey, nullptr, exec_read<read_hmget>},
                read_hmget},
    RespCommand{Spec{"hlen", exactly(2), kRead, kOneKey, nullptr, exec_read<read_hlen>}, read_hlen},
    RespCommand{Spec{"hstrlen", exactly(3), kRead, kOneKey, nullptr, exec_read<read_hstrlen>},
                read_hstrlen},
    RespCommand{Spec{"hexists", exactly(3), kRead, kOneKey, nullptr, exec_read<read_hexists>},
                read_hexists},
    RespCommand{Spec{"hgetall", exactly(2), kRead, kOneKey, nullptr, exec_read<read_hgetall>},
                read_hgetall},
    RespCommand{Spec{"hkeys", exactly(2), kRead, kOneKey, nullptr, exec_read<read_hgetall>},
                read_hgetall},
    RespCommand{Spec{"hvals", exactly(2), kRead, kOneKey, nullptr, exec_read<read_hgetall>},
                read_hgetall},
    RespCommand{Spec{"hrandfield", at_least(2), kRead, kOneKey, parse_hrandfield,
                     exec_read<read_hrandfield>}, read_hrandfield},
    RespCommand{Spec{"hscan", at_least(3), kRead, kOneKey, parse_hscan, exec_read<read_hscan>},
                read_hscan},
    // clang-format on
};

}  // namespace

std::span<const RespCommand> resp_hash_commands() {
    return kTable;
}

}  // namespace fulmar::engine
