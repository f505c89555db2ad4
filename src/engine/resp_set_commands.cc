// Redis's set commands on the collection encodings (resp_collection.h: an
// intset while every member is an integer and they are at most
// set-max-intset-entries, hashed otherwise, one way as 7.0.15's t_set.c):
// Redis 7.0.15's replies and errors, argument checks in the order Redis
// makes them.
//
// Writes run on the key's owner worker (multi-key writes whole, on the one
// owner of all their keys: the control plane answers CROSSSLOT otherwise);
// reads run on any thread from ShardViews (the control plane's, lock-free),
// so SINTER/SUNION/SDIFF/SINTERCARD read keys of every shard. An intset reads
// back ascending, as Redis's; a hashed set keeps its members in insertion
// order where Redis's order is its hash table's, so clients must not rely
// on that one.
#include <algorithm>
#include <array>
#include <climits>
#include <string>
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
using Views = coll::Entries;  // an intset's members are text made on decode

// Membership tests against a collection's entries: a scan for a few
// look-ups, a hash set built once when many members are looked up in a big
// set (building it costs more than a scan for one look-up).
class Members {
  public:
    Members(std::span<const std::string_view> entries, size_t lookups)
        : entries_(entries), indexed_(lookups > kScanLookups && entries.size() > kScanUpTo) {
        if (indexed_) index_.insert(entries.begin(), entries.end());
    }
    bool contains(std::string_view m) const {
        if (added_.contains(m)) return true;
        if (indexed_) return index_.contains(m);
        return std::find(entries_.begin(), entries_.end(), m) != entries_.end();
    }
    void add(std::string_view m) { added_.insert(m); }

  private:
    static constexpr size_t kScanLookups = 4;
    static constexpr size_t kScanUpTo = 16;
    std::span<const std::string_view> entries_;
    bool indexed_;
    std::unordered_set<std::string_view> index_;
    std::unordered_set<std::string_view> added_;
};

// Up to this many names are looked up one by one in the encoded value (a
// probe of a hashed set, a scan of a compact one); more decode it once.
inline constexpr size_t kProbesUpTo = 4;

void write_wrongtype(ReplySink& out) {
    RespWriter(out).write_error(kErrWrongType);
}

coll::EncodePolicy policy(const EngineCtx& ctx, coll::Change change) {
    return coll::EncodePolicy{ctx.limits(), change};
}

// Stores the owner's result, encoded as `p` says; false after writing the
// error.
bool store_set(store::Shard& s, const store::KeyRef& k, std::span<const std::string_view> e,
               UnixTime exptime, UnixTime now, const coll::EncodePolicy& p, ReplySink& out) {
    const coll::WriteStatus st = coll::write(s, k, ItemType::kSet, e, exptime, now, p);
    if (st == coll::WriteStatus::kStored || st == coll::WriteStatus::kDeleted) return true;
    coll::write_error(st, out);
    return false;
}

void write_members(RespWriter& w, std::span<const std::string_view> e) {
    w.write_set(e.size());
    for (std::string_view m : e)
        w.write_bulk(m);
}

// ---- one-key writes ----------------------------------------------------------

// SADD key member [member ...]
void op_sadd(const RespRequest& req, const store::KeyRef& k, EngineCtx& ctx, ReplySink& out) {
    store::Shard& s = ctx.shard_for(k);
    const UnixTime now = ctx.now();
    // Inside the item's chunk when it has room and the encoding stays
    // (resp_coll_inplace.h); a rebuild otherwise.
    if (store::Item* it = s.find(k, now); it != nullptr && it->type() == ItemType::kSet) {
        size_t added = 0;
        if (coll::set_add_in_place(s, *it, req.args.subspan(2), ctx.limits(), now, added))
            return RespWriter(out).write_integer(static_cast<int64_t>(added));
    }
    Views e;
    UnixTime exp = 0;
    if (coll::find(s, k, ItemType::kSet, now, e, &exp) == coll::Found::kWrongType)
        return write_wrongtype(out);
    const size_t before = e.size();
    {
        const Views old = e;  // e grows below: Members keeps a view of old
        Members have(old, req.args.size() - 2);
        for (size_t i = 2; i < req.args.size(); ++i) {
            if (have.contains(req.args[i])) continue;
            have.add(req.args[i]);
            e.push_back(req.args[i]);
        }
    }
    const size_t added = e.size() - before;
    if (added != 0 && !store_set(s, k, e, exp, now, policy(ctx, coll::Change::kGrow), out)) return;
    RespWriter(out).write_integer(static_cast<int64_t>(added));
}

// SREM key member [member ...]
void op_srem(const RespRequest& req, const store::KeyRef& k, EngineCtx& ctx, ReplySink& out) {
    store::Shard& s = ctx.shard_for(k);
    const UnixTime now = ctx.now();
    if (store::Item* it = s.find(k, now); it != nullptr && it->type() == ItemType::kSet) {
        size_t removed = 0;
        if (coll::set_remove_in_place(s, *it, req.args.subspan(2), now, removed))
            return RespWriter(out).write_integer(static_cast<int64_t>(removed));
    }
    Views e;
    UnixTime exp = 0;
    const coll::Found f = coll::find(s, k, ItemType::kSet, now, e, &exp);
    if (f == coll::Found::kWrongType) return write_wrongtype(out);
    const std::unordered_set<std::string_view> gone(req.args.begin() + 2, req.args.end());
    const size_t before = e.size();
    std::erase_if(e, [&](std::string_view m) { return gone.contains(m); });
    const size_t removed = before - e.size();
    if (removed != 0 && !store_set(s, k, e, exp, now, policy(ctx, coll::Change::kShrink), out))
        return;
    RespWriter(out).write_integer(static_cast<int64_t>(removed));
}

// SPOP key [count]
bool parse_spop(const RespRequest& req, ReplySink& out) {
    if (req.args.size() > 3) {
        RespWriter(out).write_error(kErrSyntax);
        return false;
    }
    int64_t count = 0;
    if (req.args.size() == 3 && (!resp_parse_int(req.args[2], count) || count < 0)) {
        // getPositiveLongFromObjectOrReply: one message for both.
        RespWriter(out).write_error("value is out of range, must be positive");
        return false;
    }
    return true;
}

void op_spop(const RespRequest& req, const store::KeyRef& k, EngineCtx& ctx, ReplySink& out) {
    RespWriter w(out);
    const bool with_count = req.args.size() == 3;
    int64_t count = 1;
    if (with_count) resp_parse_int(req.args[2], count);
    store::Shard& s = ctx.shard_for(k);
    const UnixTime now = ctx.now();
    Views e;
    UnixTime exp = 0;
    const coll::Found f = coll::find(s, k, ItemType::kSet, now, e, &exp);
    if (f == coll::Found::kWrongType) return write_wrongtype(out);
    if (f == coll::Found::kMissing || count == 0) {
        if (with_count)
            w.write_set(0);
        else
            w.write_null();
        return;
    }
    // Redis pops a few members out of the set (it keeps its encoding), or,
    // when few remain (SPOP_MOVE_STRATEGY_MUL), builds a new set of them.
    const uint64_t remaining = static_cast<uint64_t>(count) >= e.size() ? 0 : e.size() - count;
    const coll::Change change = !with_count || remaining * 5 > static_cast<uint64_t>(count)
                                    ? coll::Change::kShrink
                                    : coll::Change::kFresh;
    // The reply is copied out first: the write frees the item e points into.
    std::vector<std::string> popped;
    if (static_cast<uint64_t>(count) >= e.size()) {
        popped.assign(e.begin(), e.end());
        e.clear();
    } else {
        std::vector<size_t> pick = random_distinct(e.size(), static_cast<size_t>(count));
        std::vector<bool> gone(e.size(), false);
        for (size_t i : pick) {
            popped.emplace_back(e[i]);
            gone[i] = true;
        }
        size_t j = 0;
        for (size_t i = 0; i < e.size(); ++i)
            if (!gone[i]) e[j++] = e[i];
        e.resize(j);
    }
    if (!store_set(s, k, e, exp, now, policy(ctx, change), out)) return;
    if (!with_count) {
        w.write_bulk(popped.front());
        return;
    }
    w.write_set(popped.size());
    for (const std::string& m : popped)
        w.write_bulk(m);
}

// ---- reads -------------------------------------------------------------------

// SMEMBERS key
void read_smembers(const RespRequest& req, const RespReadCtx& ctx, ReplySink& out) {
    RespWriter w(out);
    Views e;
    if (coll::read(req.args[1], ItemType::kSet, ctx, e) == coll::Found::kWrongType)
        return write_wrongtype(out);
    write_members(w, e);
}

// SISMEMBER key member
void read_sismember(const RespRequest& req, const RespReadCtx& ctx, ReplySink& out) {
    std::string_view v;
    const coll::Found f = coll::read_value(req.args[1], ItemType::kSet, ctx, v);
    if (f == coll::Found::kWrongType) return write_wrongtype(out);
    const bool in = f == coll::Found::kFound && coll::lookup(v, req.args[2], 1).found;
    RespWriter(out).write_integer(in ? 1 : 0);
}

// SMISMEMBER key member [member ...]
void read_smismember(const RespRequest& req, const RespReadCtx& ctx, ReplySink& out) {
    const size_t n = req.args.size() - 2;
    RespWriter w(out);
    if (n <= kProbesUpTo) {
        // A probe (or a scan of a small set) each: no decode.
        std::string_view v;
        const coll::Found f = coll::read_value(req.args[1], ItemType::kSet, ctx, v);
        if (f == coll::Found::kWrongType) return write_wrongtype(out);
        w.write_array(n);
        for (size_t i = 2; i < req.args.size(); ++i)
            w.write_integer(f == coll::Found::kFound && coll::lookup(v, req.args[i], 1).found ? 1
                                                                                              : 0);
        return;
    }
    Views e;
    if (coll::read(req.args[1], ItemType::kSet, ctx, e) == coll::Found::kWrongType)
        return write_wrongtype(out);
    const Members have(e, n);
    w.write_array(n);
    for (size_t i = 2; i < req.args.size(); ++i)
        w.write_integer(have.contains(req.args[i]) ? 1 : 0);
}

// SCARD key: the count in the header.
void read_scard(const RespRequest& req, const RespReadCtx& ctx, ReplySink& out) {
    std::string_view v;
    const coll::Found f = coll::read_value(req.args[1], ItemType::kSet, ctx, v);
    if (f == coll::Found::kWrongType) return write_wrongtype(out);
    RespWriter(out).write_integer(f == coll::Found::kFound ? coll::size(v) : 0);
}

// SRANDMEMBER key [count]: a negative count may repeat members.
bool parse_srandmember(const RespRequest& req, ReplySink& out) {
    if (req.args.size() > 3) {
        RespWriter(out).write_error(kErrSyntax);
        return false;
    }
    int64_t count = 0;
    if (req.args.size() == 3) {
        if (!resp_parse_int(req.args[2], count)) {
            RespWriter(out).write_error(kErrNotInteger);
            return false;
        }
        if (count == LLONG_MIN) {
            RespWriter(out).write_error(
                "value is out of range, value must between -9223372036854775807 and "
                "9223372036854775807");
            return false;
        }
    }
    return true;
}

void read_srandmember(const RespRequest& req, const RespReadCtx& ctx, ReplySink& out) {
    if (!parse_srandmember(req, out)) return;
    RespWriter w(out);
    Views e;
    const coll::Found f = coll::read(req.args[1], ItemType::kSet, ctx, e);
    if (f == coll::Found::kWrongType) return write_wrongtype(out);
    if (req.args.size() == 2) {
        if (f == coll::Found::kMissing)
            w.write_null();
        else
            w.write_bulk(e[random_below(e.size())]);
        return;
    }
    int64_t count = 0;
    resp_parse_int(req.args[2], count);
    if (f == coll::Found::kMissing || count == 0) {
        w.write_array(0);
        return;
    }
    if (count < 0 || count == 1) {
        const uint64_t n = count < 0 ? 0 - static_cast<uint64_t>(count) : 1;
        size_t longest = 0;
        for (std::string_view m : e)
            longest = std::max(longest, m.size());
        if (!random_reply_fits(n, longest, 1)) return write_random_too_large(out);
        w.write_array(n);
        for (uint64_t i = 0; i < n; ++i)
            w.write_bulk(e[random_below(e.size())]);
        return;
    }
    if (static_cast<uint64_t>(count) >= e.size()) {
        w.write_array(e.size());
        for (std::string_view m : e)
            w.write_bulk(m);
        return;
    }
    const std::vector<size_t> pick = random_distinct(e.size(), static_cast<size_t>(count));
    w.write_array(pick.size());
    for (size_t i : pick)
        w.write_bulk(e[i]);
}

// SSCAN key cursor [MATCH pattern] [COUNT count]
bool parse_sscan(const RespRequest& req, ReplySink& out) {
    uint64_t cursor = 0;
    return parse_scan_cursor(req.args[2], cursor, out);
}

void read_sscan(const RespRequest& req, const RespReadCtx& ctx, ReplySink& out) {
    uint64_t cursor = 0;
    if (!parse_scan_cursor(req.args[2], cursor, out)) return;
    RespWriter w(out);
    Views e;
    uint8_t tag = 0;
    const coll::Found f = coll::read(req.args[1], ItemType::kSet, ctx, e, &tag);
    if (f == coll::Found::kWrongType) return write_wrongtype(out);
    ScanOptions o;
    // Redis parses the options only once the key is found (and a set).
    if (f == coll::Found::kFound && !parse_scan_options(req.args, 3, o, out)) return;
    // An intset is answered whole, at any size, as Redis's.
    const ScanSlice sl =
        tag == coll::kIntset ? ScanSlice{0, e.size(), 0} : scan_slice(e.size(), cursor, o.count);
    Views hits;
    for (size_t i = sl.lo; i < sl.hi; ++i)
        if (!o.use_pattern || glob_match(o.pattern, e[i])) hits.push_back(e[i]);
    w.write_array(2);
    w.write_bulk(std::to_string(sl.next));
    w.write_array(hits.size());
    for (std::string_view m : hits)
        w.write_bulk(m);
}

// ---- SINTER, SUNION, SDIFF, SINTERCARD and the STORE forms ---------------------

enum class SetOp : uint8_t { kInter, kUnion, kDiff };

// A set algebra over keys read one at a time (each read may reuse the
// buffer the last one's entries point into): the result owns its members,
// so a reader's memory is the result plus one set, whatever the key count.
// An intersection or a difference is at most its first set (one item); a
// union may gather many, so it stops at `limit` bytes of members.
class Algebra {
  public:
    Algebra(SetOp op, size_t limit) : op_(op), limit_(limit) {}

    // The next key's set (empty, missing true, when the key is absent).
    void add(std::span<const std::string_view> e, bool missing) {
        const bool first = !started_;
        started_ = true;
        if (op_ == SetOp::kInter) {
            if (missing) empty_ = true;
            if (empty_) return;
            if (first) return take(e);
            const std::unordered_set<std::string_view> other(e.begin(), e.end());
            std::erase_if(result_, [&](const std::string& m) { return !other.contains(m); });
            if (result_.empty()) empty_ = true;
        } else if (op_ == SetOp::kDiff) {
            if (first) return take(e);
            if (result_.empty() || e.empty()) return;
            const std::unordered_set<std::string_view> other(e.begin(), e.end());
            std::erase_if(result_, [&](const std::string& m) { return other.contains(m); });
        } else {
            if (too_large_) return;
            for (std::string_view m : e) {
                if (!seen_.insert(std::string(m)).second) continue;
                result_.emplace_back(m);
                bytes_ += m.size();
            }
            if (bytes_ > limit_) {
                too_large_ = true;
                result_ = {};
                seen_ = {};
            }
        }
    }
    // True once no further key can change the answer (their types are
    // checked all the same: WRONGTYPE wins).
    bool settled() const { return empty_; }
    // A union past the limit: no answer kept.
    bool too_large() const { return too_large_; }

    std::vector<std::string>& result() {
        if (empty_) result_.clear();
        return result_;
    }

  private:
    void take(std::span<const std::string_view> e) {
        result_.assign(e.begin(), e.end());
        if (result_.empty() && op_ == SetOp::kInter) empty_ = true;
    }

    SetOp op_;
    size_t limit_;
    size_t bytes_ = 0;
    bool started_ = false;
    bool empty_ = false;
    bool too_large_ = false;
    std::vector<std::string> result_;
    std::unordered_set<std::string> seen_;  // kUnion only
};

// A union read on the control plane is bounded like a random reply.
inline constexpr size_t kMaxUnionBytes = kMaxRandomReplyBytes;

void write_union_too_large(ReplySink& out) {
    RespWriter(out).write_error("the union's members pass 64 MiB: too large a reply");
}

// A STORE form's result past one item.
void write_result_too_large(ReplySink& out) {
    coll::write_error(coll::WriteStatus::kTooLarge, out);
}

SetOp op_of(std::string_view name) {
    if (iequals(name.substr(0, 6), "sinter")) return SetOp::kInter;
    if (iequals(name.substr(0, 6), "sunion")) return SetOp::kUnion;
    return SetOp::kDiff;
}

// Runs `op` over keys [first, last) read with `get`; false after a
// WRONGTYPE (written).
template <typename Get>
bool compute(SetOp op, std::span<const std::string_view> keys, Get&& get, Algebra& a,
             void (*too_large)(ReplySink&), ReplySink& out) {
    Views e;
    for (std::string_view key : keys) {
        const coll::Found f = get(key, e);
        if (f == coll::Found::kWrongType) {
            write_wrongtype(out);
            return false;
        }
        if (op == SetOp::kInter && a.settled()) continue;
        a.add(e, f == coll::Found::kMissing);
    }
    if (!a.too_large()) return true;
    too_large(out);
    return false;
}

// SINTER key [key ...] / SUNION key [key ...] / SDIFF key [key ...]
void read_setop(const RespRequest& req, const RespReadCtx& ctx, ReplySink& out) {
    const SetOp op = op_of(req.args[0]);
    Algebra a(op, kMaxUnionBytes);
    auto get = [&](std::string_view key, Views& e) {
        return coll::read(key, ItemType::kSet, ctx, e);
    };
    if (!compute(op, req.args.subspan(1), get, a, write_union_too_large, out)) return;
    RespWriter w(out);
    const std::vector<std::string>& r = a.result();
    w.write_set(r.size());
    for (const std::string& m : r)
        w.write_bulk(m);
}

// SINTERCARD numkeys key [key ...] [LIMIT limit]
bool parse_sintercard_args(const RespRequest& req, size_t& numkeys, int64_t& limit,
                           ReplySink& out) {
    RespWriter w(out);
    int64_t n = 0;
    if (!resp_parse_int(req.args[1], n) || n < 1) {
        w.write_error("numkeys should be greater than 0");
        return false;
    }
    if (static_cast<uint64_t>(n) > req.args.size() - 2) {
        w.write_error("Number of keys can't be greater than number of args");
        return false;
    }
    numkeys = static_cast<size_t>(n);
    limit = 0;
    for (size_t j = 2 + numkeys; j < req.args.size(); ++j) {
        if (iequals(req.args[j], "LIMIT") && j + 1 < req.args.size()) {
            ++j;
            if (!resp_parse_int(req.args[j], limit) || limit < 0) {
                w.write_error("LIMIT can't be negative");
                return false;
            }
        } else {
            w.write_error(kErrSyntax);
            return false;
        }
    }
    return true;
}

bool parse_sintercard(const RespRequest& req, ReplySink& out) {
    size_t numkeys = 0;
    int64_t limit = 0;
    return parse_sintercard_args(req, numkeys, limit, out);
}

void read_sintercard(const RespRequest& req, const RespReadCtx& ctx, ReplySink& out) {
    size_t numkeys = 0;
    int64_t limit = 0;
    if (!parse_sintercard_args(req, numkeys, limit, out)) return;
    Algebra a(SetOp::kInter, kMaxUnionBytes);
    auto get = [&](std::string_view key, Views& e) {
        return coll::read(key, ItemType::kSet, ctx, e);
    };
    if (!compute(SetOp::kInter, req.args.subspan(2, numkeys), get, a, write_union_too_large, out))
        return;
    size_t n = a.result().size();
    if (limit > 0) n = std::min(n, static_cast<size_t>(limit));
    RespWriter(out).write_integer(static_cast<int64_t>(n));
}

// SINTERSTORE / SUNIONSTORE / SDIFFSTORE destination key [key ...]: the
// destination is replaced whatever it held (its TTL goes), or deleted when
// the result is empty.
void op_setop_store(const RespRequest& req, const store::KeyRef&, EngineCtx& ctx, ReplySink& out) {
    const SetOp op = op_of(req.args[0]);
    const UnixTime now = ctx.now();
    // The result must fit one item: a union past that stops there.
    Algebra a(op, store::kMaxItemSize);
    // On the owner: entries point into the items, untouched until the write.
    auto get = [&](std::string_view key, Views& e) {
        const store::KeyRef k(key);
        return coll::find(ctx.shard_for(k), k, ItemType::kSet, now, e);
    };
    if (!compute(op, req.args.subspan(2), get, a, write_result_too_large, out)) return;
    const std::vector<std::string>& r = a.result();
    const Views e(r.begin(), r.end());
    const store::KeyRef dst(req.args[1]);
    // Redis builds the result as a new set (an intset first, converted as
    // members come).
    if (!store_set(ctx.shard_for(dst), dst, e, 0, now, policy(ctx, coll::Change::kFresh), out))
        return;
    RespWriter(out).write_integer(static_cast<int64_t>(e.size()));
}

// SMOVE source destination member
void op_smove(const RespRequest& req, const store::KeyRef&, EngineCtx& ctx, ReplySink& out) {
    RespWriter w(out);
    const store::KeyRef src(req.args[1]), dst(req.args[2]);
    const std::string_view member = req.args[3];
    store::Shard& ss = ctx.shard_for(src);
    store::Shard& ds = ctx.shard_for(dst);
    const UnixTime now = ctx.now();
    Views se, de;
    UnixTime src_exp = 0, dst_exp = 0;
    const coll::Found sf = coll::find(ss, src, ItemType::kSet, now, se, &src_exp);
    if (sf == coll::Found::kMissing) return w.write_integer(0);
    if (sf == coll::Found::kWrongType) return write_wrongtype(out);
    const coll::Found df = coll::find(ds, dst, ItemType::kSet, now, de, &dst_exp);
    if (df == coll::Found::kWrongType) return write_wrongtype(out);
    const auto at = std::find(se.begin(), se.end(), member);
    if (req.args[1] == req.args[2] || at == se.end())
        return w.write_integer(at == se.end() ? 0 : 1);
    // Both writes checked for size before either is made.
    const bool dst_has = std::find(de.begin(), de.end(), member) != de.end();
    // A new destination is made for the member (setTypeCreate), an old one
    // grows.
    const coll::EncodePolicy grow = policy(ctx, coll::Change::kGrow);
    if (!dst_has) {
        de.push_back(member);
        if (!mc_item_fits(dst.key.size(), coll::write_size(ds, dst, ItemType::kSet, de, now, grow)))
            return coll::write_error(coll::WriteStatus::kTooLarge, out);
    }
    se.erase(at);
    if (!store_set(ss, src, se, src_exp, now, policy(ctx, coll::Change::kShrink), out)) return;
    if (!dst_has) {
        // The source's write may have moved items: find the destination again.
        coll::find(ds, dst, ItemType::kSet, now, de, &dst_exp);
        de.push_back(member);
        if (!store_set(ds, dst, de, dst_exp, now, grow, out)) return;
    }
    w.write_integer(1);
}

const std::array kTable = {
    // clang-format off
    RespCommand{Spec{"sadd", at_least(3), kWrite, kOneKey, nullptr, op_sadd}},
    RespCommand{Spec{"srem", at_least(3), kWrite, kOneKey, nullptr, op_srem}},
    RespCommand{Spec{"spop", at_least(2), kWrite, kOneKey, parse_spop, op_spop}},
    RespCommand{Spec{"smove", exactly(4), kWrite, KeySpec{1, 2, 1}, nullptr, op_smove}},
    RespCommand{Spec{"sinterstore", at_least(3), kWrite, kEveryKey, nullptr, op_setop_store}},
    RespCommand{Spec{"sunionstore", at_least(3), kWrite, kEveryKey, nullptr, op_setop_store}},
    RespCommand{Spec{"sdiffstore", at_least(3), kWrite, kEveryKey, nullptr, op_setop_store}},
    RespCommand{Spec{"smembers", exactly(2), kRead, kOneKey, nullptr, exec_read<read_smembers>},
                read_smembers},
    RespCommand{Spec{"sismember", exactly(3), kRead, kOneKey, nullptr, exec_read<read_sismember>},
                read_sismember},
    RespCommand{Spec{"smismember", at_least(3), kRead, kOneKey, nullptr,
                     exec_read<read_smismember>}, read_smismember},
    RespCommand{Spec{"scard", exactly(2), kRead, kOneKey, nullptr, exec_read<read_scard>},
                read_scard},
    RespCommand{Spec{"srandmember", at_least(2), kRead, kOneKey, parse_srandmember,
                     exec_read<read_srandmember>}, read_srandmember},
    RespCommand{Spec{"sscan", at_least(3), kRead, kOneKey, parse_sscan, exec_read<read_sscan>},
                read_sscan},
    RespCommand{Spec{"sinter", at_least(2), kRead, kEveryKey, nullptr, exec_read<read_setop>},
                read_setop},
    RespCommand{Spec{"sunion", at_least(2), kRead, kEveryKey, nullptr, exec_read<read_setop>},
                read_setop},
    RespCommand{Spec{"sdiff", at_least(2), kRead, kEveryKey, nullptr, exec_read<read_setop>},
                read_setop},
    RespCommand{Spec{"sintercard", at_least(3), kRead, KeySpec{2, -1, 1}, parse_sintercard,
                     exec_read<read_sintercard>}, read_sintercard},
    // clang-format on
};

}  // namespace

std::span<const RespCommand> resp_set_commands() {
    return kTable;
}

}  // namespace fulmar::engine
