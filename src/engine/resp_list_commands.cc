// Redis's list commands on the quicklist encoding (resp_quicklist.h): one
// list is one item, its entries in nodes behind a directory; the owner
// republishes the item on every change, but decodes and re-packs only the
// nodes a command touches (pushes, pops, LSET, LINDEX, LRANGE), copying the
// others as bytes.
//
// Each command: its syntax above it, a parse_ that checks the arguments in
// the order Redis 7.0.15's t_list.c does (so an argument error wins over a
// missing key exactly where Redis's does), an op_ that runs on the key's
// owner, or a read_ that any reader runs from ShardViews (LRANGE LLEN LINDEX
// LPOS: the control plane serves them lock-free). The blocking commands
// (BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP) run here as Redis runs them inside MULTI:
// one try, and the null of their type when nothing is there; the control
// plane's session keeps the client blocked and tries again when a write
// could feed it (controlplane/resp_blocking.h).
//
// Cost: a push that joins the end node, or a pop that leaves it non-empty,
// edits the item where it is when its slab chunk has room (coll::EndEdit:
// no decode of the list, no new item; a head edit still moves the bytes
// after the head node). Every other write copies the item's bytes (up to
// the 1 MiB item limit: the seqlock publishes a new item), but parses only
// the nodes it touches; LREM LPOS LINSERT LMOVE decode the whole list. docs/resp-progress.md
// ("List encoding") has the measured figures.
#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "engine/resp_collection.h"
#include "engine/resp_groups.h"
#include "engine/resp_list.h"
#include "engine/resp_util.h"
#include "proto/resp_writer.h"
#include "store/item.h"
#include "store/shard.h"

namespace fulmar::engine {

bool resp_block_timeout_ms(std::string_view arg, int64_t& ms, std::string_view& error) {
    // getTimeoutFromObjectOrReply with UNIT_SECONDS: string2ld (strtold,
    // no leading space, no trailing bytes, no overflow, no NaN), then the
    // product in milliseconds rounded up and cast to long long: past its
    // range that cast gives LLONG_MIN on x86, which Redis then calls
    // negative. Redis 7.0.15 has no upper bound: its deadline then wraps
    // and the client waits forever (the session clamps it so).
    error = {};
    char buf[5 * 1024];
    if (arg.empty() || arg.size() >= sizeof buf) {
        error = "timeout is not a float or out of range";
        return false;
    }
    std::copy(arg.begin(), arg.end(), buf);
    buf[arg.size()] = '\0';
    errno = 0;
    char* end = nullptr;
    const long double v = std::strtold(buf, &end);
    const bool range_error = errno == ERANGE && (std::isinf(v) || v == 0.0L);
    if (std::isspace(static_cast<unsigned char>(buf[0])) != 0 || *end != '\0' || range_error ||
        std::isnan(v)) {
        error = "timeout is not a float or out of range";
        return false;
    }
    // ceill: a timeout never ends before the time asked (0.0001 is 1 ms).
    const long double t = std::ceil(v * 1000.0L);
    const int64_t tval = (t >= 0x1p63L || t < -0x1p63L) ? INT64_MIN : static_cast<int64_t>(t);
    if (tval < 0) {
        error = "timeout is negative";
        return false;
    }
    ms = tval;
    return true;
}

namespace {

using namespace resp;
// coll::Entries: a list with compressed nodes decodes into its text.
using Entries = coll::Entries;
constexpr store::ItemType kList = store::ItemType::kList;

// ---- shared pieces ---------------------------------------------------------

enum class End : uint8_t { kLeft, kRight };

// getListPositionFromObjectOrReply: LEFT or RIGHT, any case.
bool parse_end(std::string_view arg, End& end) {
    if (iequals(arg, "left")) {
        end = End::kLeft;
        return true;
    }
    if (iequals(arg, "right")) {
        end = End::kRight;
        return true;
    }
    return false;
}

bool parse_int_or_reply(std::string_view arg, int64_t& v, ReplySink& out) {
    if (resp_parse_int(arg, v)) return true;
    RespWriter(out).write_error(kErrNotInteger);
    return false;
}

// Redis's index rule: negative counts from the end; -1 when outside.
int64_t resolve_index(int64_t index, size_t len) {
    const auto n = static_cast<int64_t>(len);
    if (index < 0) index += n;
    return index >= 0 && index < n ? index : -1;
}

// The [start, stop] range LRANGE and LTRIM keep, as Redis clamps it;
// false when empty.
bool resolve_range(int64_t start, int64_t stop, size_t len, size_t& from, size_t& to) {
    const auto n = static_cast<int64_t>(len);
    if (start < 0) start += n;
    if (stop < 0) stop += n;
    if (start < 0) start = 0;
    if (start > stop || start >= n) return false;
    if (stop >= n) stop = n - 1;
    from = static_cast<size_t>(start);
    to = static_cast<size_t>(stop);
    return true;
}

// list-max-listpack-size as CONFIG last set it, the size from which an
// element gets a node of its own (DEBUG QUICKLIST-PACKED-THRESHOLD), and
// list-compress-depth.
coll::ListFill fill_of(const EngineCtx& ctx) {
    return coll::list_fill(ctx.limits());
}

bool write_ok(coll::WriteStatus st, ReplySink& out) {
    if (st == coll::WriteStatus::kStored || st == coll::WriteStatus::kDeleted) return true;
    coll::write_error(st, out);
    return false;
}

// The owner's write of a list and Redis's error when it fails. True when
// the write went through (or emptied the key).
bool store_list(EngineCtx& ctx, const store::KeyRef& k, const Entries& e, UnixTime exptime,
                ReplySink& out) {
    return write_ok(coll::write(ctx.shard_for(k), k, kList, e, exptime, ctx.now(), fill_of(ctx)),
                    out);
}

// The owner's look-up of a list's directory (nothing decoded); writes
// WRONGTYPE and returns kWrongType.
coll::Found find_view(EngineCtx& ctx, const store::KeyRef& k, coll::QuicklistView& v,
                      UnixTime& exptime, ReplySink& out) {
    exptime = 0;
    const coll::Found f = coll::find_list(ctx.shard_for(k), k, ctx.now(), v, &exptime);
    if (f == coll::Found::kWrongType) RespWriter(out).write_error(kErrWrongType);
    return f;
}

// The owner's edit of a list's end where its item is (coll::EndEdit):
// when the item's slab chunk holds the new value, under the item's
// seqlock, so a reader copies the old list or the new one or retries.
// The item gets a new CAS and store time, as a rebuild's fresh item does
// (WATCH sees the change); its expiry, type and key stay. False: the
// caller rebuilds. `entries` (a push's) must not point into the item.
bool edit_in_place(EngineCtx& ctx, const store::KeyRef& k, const coll::EndEdit& e,
                   std::span<const std::string_view> entries) {
    store::Shard& s = ctx.shard_for(k);
    const UnixTime now = ctx.now();
    store::Item* it = s.find(k, now);  // the item find_view parsed: live, a list
    if (it == nullptr || it->value_len != e.old_size) return false;
    if (!mc_item_fits(k.key.size(), e.new_size) ||
        s.slab().chunk_size_of(it) < store::item_total_size(it->key_len, e.new_size))
        return false;
    const uint64_t cas = s.next_cas();
    s.modify(it, [&](store::Item& i) {
        coll::apply_end_edit(i.value_ptr(), e, entries);
        i.value_len = static_cast<uint32_t>(e.new_size);
        i.cas = cas;
        i.time = now;
    });
    return true;
}

// The list `v` with [from, from + erase) replaced by `insert`, written:
// only the nodes holding the range are re-packed.
bool store_splice(EngineCtx& ctx, const store::KeyRef& k, const coll::QuicklistView* v, size_t from,
                  size_t erase, std::span<const std::string_view> insert, UnixTime exptime,
                  ReplySink& out) {
    coll::QuicklistBuilder b(fill_of(ctx));
    if (!coll::splice(v, from, erase, insert, b)) return false;  // parsed: cannot fail
    return write_ok(coll::write_list(ctx.shard_for(k), k, b, exptime, ctx.now()), out);
}

// The owner's look-up; writes WRONGTYPE and returns kWrongType.
coll::Found find_list(EngineCtx& ctx, const store::KeyRef& k, Entries& e, UnixTime& exptime,
                      ReplySink& out) {
    exptime = 0;
    const coll::Found f = coll::find(ctx.shard_for(k), k, kList, ctx.now(), e, &exptime);
    if (f == coll::Found::kWrongType) RespWriter(out).write_error(kErrWrongType);
    return f;
}

// ---- LPUSH RPUSH LPUSHX RPUSHX ------------------------------------------------

// LPUSH key element [element ...]   (RPUSH; the X forms only onto a list
// that exists). Replies the new length.
void push_generic(const RespRequest& req, const store::KeyRef& k, EngineCtx& ctx, ReplySink& out,
                  End end, bool only_existing) {
    coll::QuicklistView v;
    UnixTime exptime = 0;
    const coll::Found f = find_view(ctx, k, v, exptime, out);
    if (f == coll::Found::kWrongType) return;
    if (f == coll::Found::kMissing && only_existing) {
        RespWriter(out).write_integer(0);
        return;
    }
    const bool found = f == coll::Found::kFound;
    const size_t len = found ? v.size() : 0;
    const auto values = req.args.subspan(2);
    Entries added(values.begin(), values.end());
    // Each element goes to the head in turn: the last ends up first.
    if (end == End::kLeft) std::reverse(added.begin(), added.end());
    coll::EndEdit edit;
    if (found && coll::plan_end_push(v, added, end == End::kLeft, fill_of(ctx), edit) &&
        edit_in_place(ctx, k, edit, added)) {
        RespWriter(out).write_integer(static_cast<int64_t>(len + added.size()));
        return;
    }
    if (store_splice(ctx, k, found ? &v : nullptr, end == End::kLeft ? 0 : len, 0, added, exptime,
                     out))
        RespWriter(out).write_integer(static_cast<int64_t>(len + added.size()));
}

void op_lpush(const RespRequest& req, const store::KeyRef& k, EngineCtx& ctx, ReplySink& out) {
    push_generic(req, k, ctx, out, End::kLeft, false);
}
void op_rpush(const RespRequest& req, const store::KeyRef& k, EngineCtx& ctx, ReplySink& out) {
    push_generic(req, k, ctx, out, End::kRight, false);
}
void op_lpushx(const RespRequest& req, const store::KeyRef& k, EngineCtx& ctx, ReplySink& out) {
    push_generic(req, k, ctx, out, End::kLeft, true);
}
void op_rpushx(const RespRequest& req, const store::KeyRef& k, EngineCtx& ctx, ReplySink& out) {
    push_generic(req, k, ctx, out, End::kRight, true);
}

// ---- LPOP RPOP ---------------------------------------------------------------

// LPOP key [count]: the count is read before the key (Redis's order), and
// with one Redis's reply is an array (null when the key is missing).
bool parse_pop(const RespRequest& req, ReplySink& out) {
    int64_t count = 0;
    if (req.args.size() == 3 && (!resp_parse_int(req.args[2], count) || count < 0)) {
        RespWriter(out).write_error("value is out of range, must be positive");
        return false;
    }
    return true;
}

void pop_generic(const RespRequest& req, const store::KeyRef& k, EngineCtx& ctx, ReplySink& out,
                 End end) {
    const bool has_count = req.args.size() == 3;
    int64_t count = 1;
    if (has_count) resp_parse_int(req.args[2], count);  // checked by parse_pop
    coll::QuicklistView v;
    UnixTime exptime = 0;
    const coll::Found f = find_view(ctx, k, v, exptime, out);
    if (f == coll::Found::kWrongType) return;
    RespWriter w(out);
    if (f == coll::Found::kMissing) {
        if (has_count)
            w.write_null_array();
        else
            w.write_null();
        return;
    }
    if (has_count && count == 0) {
        w.write_array(0);
        return;
    }
    // A huge count takes the whole list, never more.
    const size_t n = std::min(static_cast<uint64_t>(count), static_cast<uint64_t>(v.size()));
    const size_t from = end == End::kLeft ? 0 : v.size() - n;
    Entries e;
    coll::EndEdit edit;
    const bool in_place = coll::plan_end_pop(v, n, end == End::kLeft, fill_of(ctx), edit, e);
    if (!in_place) v.range(from, from + n - 1, e);  // only the nodes at that end
    // The reply is written before the write: its views point into the old
    // item, which the write may recycle or overwrite.
    std::string reply;
    RespWriter rw(reply);
    if (has_count) rw.write_array(n);
    for (size_t i = 0; i < n; ++i)
        rw.write_bulk(end == End::kLeft ? e[i] : e[n - 1 - i]);
    if ((in_place && edit_in_place(ctx, k, edit, {})) ||
        store_splice(ctx, k, &v, from, n, {}, exptime, out))
        out.append(reply);
}

void op_lpop(const RespRequest& req, const store::KeyRef& k, EngineCtx& ctx, ReplySink& out) {
    pop_generic(req, k, ctx, out, End::kLeft);
}
void op_rpop(const RespRequest& req, const store::KeyRef& k, EngineCtx& ctx, ReplySink& out) {
    pop_generic(req, k, ctx, out, End::kRight);
}

// ---- reads: LLEN LRANGE LINDEX LPOS ------------------------------------------

// A reader's look-up; writes WRONGTYPE and returns kWrongType.
coll::Found read_list(std::string_view key, const RespReadCtx& ctx, Entries& e, ReplySink& out) {
    const coll::Found f = coll::read(key, kList, ctx, e);
    if (f == coll::Found::kWrongType) RespWriter(out).write_error(kErrWrongType);
    return f;
}

// LLEN key
// A reader's look-up of the directory only; writes WRONGTYPE.
coll::Found read_view(std::string_view key, const RespReadCtx& ctx, coll::QuicklistView& v,
                      ReplySink& out) {
    const coll::Found f = coll::read_list(key, ctx, v);
    if (f == coll::Found::kWrongType) RespWriter(out).write_error(kErrWrongType);
    return f;
}

void read_llen(const RespRequest& req, const RespReadCtx& ctx, ReplySink& out) {
    coll::QuicklistView v;
    const coll::Found f = read_view(req.args[1], ctx, v, out);
    if (f == coll::Found::kWrongType) return;
    RespWriter(out).write_integer(f == coll::Found::kFound ? static_cast<int64_t>(v.size()) : 0);
}

// LRANGE key start stop: the numbers before the key.
bool parse_two_ints(const RespRequest& req, ReplySink& out) {
    int64_t a = 0, b = 0;
    return parse_int_or_reply(req.args[2], a, out) && parse_int_or_reply(req.args[3], b, out);
}

void read_lrange(const RespRequest& req, const RespReadCtx& ctx, ReplySink& out) {
    int64_t start = 0, stop = 0;
    resp_parse_int(req.args[2], start);
    resp_parse_int(req.args[3], stop);
    coll::QuicklistView v;
    const coll::Found f = read_view(req.args[1], ctx, v, out);
    if (f == coll::Found::kWrongType) return;
    RespWriter w(out);
    size_t from = 0, to = 0;
    if (f != coll::Found::kFound || !resolve_range(start, stop, v.size(), from, to)) {
        w.write_array(0);
        return;
    }
    Entries e;
    v.range(from, to, e);  // only the nodes that hold [from, to]
    w.write_array(e.size());
    for (std::string_view x : e)
        w.write_bulk(x);
}

// LINDEX key index: the key first, so a missing key answers null even
// when the index is not a number (Redis's order).
void read_lindex(const RespRequest& req, const RespReadCtx& ctx, ReplySink& out) {
    coll::QuicklistView v;
    const coll::Found f = read_view(req.args[1], ctx, v, out);
    if (f == coll::Found::kWrongType) return;
    RespWriter w(out);
    if (f == coll::Found::kMissing) {
        w.write_null();
        return;
    }
    int64_t index = 0;
    if (!parse_int_or_reply(req.args[2], index, out)) return;
    const int64_t i = resolve_index(index, v.size());
    std::string_view x;
    if (i < 0 || !v.at(static_cast<size_t>(i), x))  // one node decoded
        w.write_null();
    else
        w.write_bulk(x);
}

// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]
struct LposOptions {
    int64_t rank = 1;
    int64_t count = -1;  // -1: not given (one integer is the reply)
    int64_t maxlen = 0;  // 0: the whole list
};

bool parse_lpos_options(const RespRequest& req, LposOptions& o, ReplySink& out) {
    const auto& a = req.args;
    RespWriter w(out);
    for (size_t j = 3; j < a.size(); ++j) {
        const bool more = j + 1 < a.size();
        if (iequals(a[j], "RANK") && more) {
            if (!parse_int_or_reply(a[++j], o.rank, out)) return false;
            if (o.rank == 0) {
                w.write_error(
                    "RANK can't be zero: use 1 to start from the first match, 2 from the second "
                    "... or use negative to start from the end of the list");
                return false;
            }
        } else if (iequals(a[j], "COUNT") && more) {
            if (!resp_parse_int(a[++j], o.count) || o.count < 0) {
                w.write_error("COUNT can't be negative");
                return false;
            }
        } else if (iequals(a[j], "MAXLEN") && more) {
            if (!resp_parse_int(a[++j], o.maxlen) || o.maxlen < 0) {
                w.write_error("MAXLEN can't be negative");
                return false;
            }
        } else {
            w.write_error(kErrSyntax);
            return false;
        }
    }
    return true;
}

bool parse_lpos(const RespRequest& req, ReplySink& out) {
    LposOptions o;
    return parse_lpos_options(req, o, out);
}

void read_lpos(const RespRequest& req, const RespReadCtx& ctx, ReplySink& out) {
    LposOptions o;
    proto::StringSink ignore;
    parse_lpos_options(req, o, ignore);  // checked by parse_lpos
    bool from_tail = false;
    int64_t rank = o.rank;
    if (rank < 0) {
        // -LLONG_MIN stays LLONG_MIN in Redis 7.0 (two's complement): every
        // match then counts as past the rank.
        rank = rank == INT64_MIN ? INT64_MIN : -rank;
        from_tail = true;
    }
    Entries e;
    const coll::Found f = read_list(req.args[1], ctx, e, out);
    if (f == coll::Found::kWrongType) return;
    RespWriter w(out);
    if (f == coll::Found::kMissing) {
        if (o.count != -1)
            w.write_array(0);
        else
            w.write_null();
        return;
    }
    const std::string_view element = req.args[2];
    const size_t n = e.size();
    const size_t scan = o.maxlen == 0 ? n : std::min(n, static_cast<size_t>(o.maxlen));
    std::vector<int64_t> found;
    int64_t matches = 0;
    for (size_t i = 0; i < scan; ++i) {
        const size_t at = from_tail ? n - 1 - i : i;
        if (e[at] != element) continue;
        ++matches;
        if (matches < rank) continue;
        found.push_back(static_cast<int64_t>(at));
        if (o.count == -1) break;
        // matches - rank + 1 >= count, with Redis's wrapping arithmetic.
        const auto taken =
            static_cast<int64_t>(static_cast<uint64_t>(matches) - static_cast<uint64_t>(rank) + 1);
        if (o.count != 0 && taken >= o.count) break;
    }
    if (o.count == -1) {
        if (found.empty())
            w.write_null();
        else
            w.write_integer(found.front());
        return;
    }
    w.write_array(found.size());
    for (int64_t i : found)
        w.write_integer(i);
}

// ---- LSET LREM LTRIM LINSERT ----------------------------------------------------

// LSET key index element: the key first (a missing one is "no such key"
// whatever the index), then the index.
void op_lset(const RespRequest& req, const store::KeyRef& k, EngineCtx& ctx, ReplySink& out) {
    coll::QuicklistView v;
    UnixTime exptime = 0;
    const coll::Found f = find_view(ctx, k, v, exptime, out);
    if (f == coll::Found::kWrongType) return;
    RespWriter w(out);
    if (f == coll::Found::kMissing) {
        w.write_error(kErrNoSuchKey);
        return;
    }
    int64_t index = 0;
    if (!parse_int_or_reply(req.args[2], index, out)) return;
    const int64_t i = resolve_index(index, v.size());
    if (i < 0) {
        w.write_error("index out of range");
        return;
    }
    const std::array<std::string_view, 1> value{req.args[3]};
    if (store_splice(ctx, k, &v, static_cast<size_t>(i), 1, value, exptime, out))
        w.write_simple("OK");
}

// LREM key count element: count > 0 removes that many from the head, < 0
// from the tail, 0 every match. Replies how many went.
bool parse_lrem(const RespRequest& req, ReplySink& out) {
    int64_t count = 0;
    return parse_int_or_reply(req.args[2], count, out);
}

void op_lrem(const RespRequest& req, const store::KeyRef& k, EngineCtx& ctx, ReplySink& out) {
    int64_t count = 0;
    resp_parse_int(req.args[2], count);
    Entries e;
    UnixTime exptime = 0;
    const coll::Found f = find_list(ctx, k, e, exptime, out);
    if (f == coll::Found::kWrongType) return;
    RespWriter w(out);
    if (f == coll::Found::kMissing) {
        w.write_integer(0);
        return;
    }
    const bool from_tail = count < 0;
    // INT64_MIN has no positive twin: Redis's loop never reaches it, so
    // every match goes.
    const uint64_t limit = count == 0 || count == INT64_MIN
                               ? UINT64_MAX
                               : static_cast<uint64_t>(from_tail ? -count : count);
    const std::string_view element = req.args[3];
    uint64_t removed = 0;
    Entries kept;
    kept.reserve(e.size());
    const size_t n = e.size();
    for (size_t i = 0; i < n; ++i) {
        const size_t at = from_tail ? n - 1 - i : i;
        if (removed < limit && e[at] == element) {
            ++removed;
            continue;
        }
        kept.push_back(e[at]);
    }
    if (removed == 0) {
        w.write_integer(0);
        return;
    }
    if (from_tail) std::reverse(kept.begin(), kept.end());
    if (store_list(ctx, k, kept, exptime, out)) w.write_integer(static_cast<int64_t>(removed));
}

// LTRIM key start stop: the list keeps [start, stop]; +OK even for a
// missing key.
void op_ltrim(const RespRequest& req, const store::KeyRef& k, EngineCtx& ctx, ReplySink& out) {
    int64_t start = 0, stop = 0;
    resp_parse_int(req.args[2], start);
    resp_parse_int(req.args[3], stop);
    coll::QuicklistView v;
    UnixTime exptime = 0;
    const coll::Found f = find_view(ctx, k, v, exptime, out);
    if (f == coll::Found::kWrongType) return;
    RespWriter w(out);
    if (f == coll::Found::kFound) {
        size_t from = 0, to = 0;
        Entries e;
        if (!resolve_range(start, stop, v.size(), from, to)) {
            e.clear();
        } else if (from != 0 || to + 1 != v.size()) {
            v.range(from, to, e);  // the kept nodes only
        } else {
            w.write_simple("OK");  // nothing to trim: no rewrite
            return;
        }
        if (!store_list(ctx, k, e, exptime, out)) return;
    }
    w.write_simple("OK");
}

// LINSERT key BEFORE|AFTER pivot element: the new length, -1 when the
// pivot is not there, 0 when the key is not.
bool parse_linsert(const RespRequest& req, ReplySink& out) {
    if (iequals(req.args[2], "before") || iequals(req.args[2], "after")) return true;
    RespWriter(out).write_error(kErrSyntax);
    return false;
}

void op_linsert(const RespRequest& req, const store::KeyRef& k, EngineCtx& ctx, ReplySink& out) {
    const bool after = iequals(req.args[2], "after");
    Entries e;
    UnixTime exptime = 0;
    const coll::Found f = find_list(ctx, k, e, exptime, out);
    if (f == coll::Found::kWrongType) return;
    RespWriter w(out);
    if (f == coll::Found::kMissing) {
        w.write_integer(0);
        return;
    }
    const auto pivot = std::find(e.begin(), e.end(), req.args[3]);
    if (pivot == e.end()) {
        w.write_integer(-1);
        return;
    }
    // The pivot's search decoded the list; the write re-packs only the
    // node the element goes into.
    coll::QuicklistView v;
    if (coll::find_list(ctx.shard_for(k), k, ctx.now(), v) != coll::Found::kFound) return;
    const size_t at = static_cast<size_t>(pivot - e.begin()) + (after ? 1 : 0);
    const std::array<std::string_view, 1> value{req.args[4]};
    if (store_splice(ctx, k, &v, at, 0, value, exptime, out))
        w.write_integer(static_cast<int64_t>(e.size() + 1));
}

// ---- LMOVE RPOPLPUSH ------------------------------------------------------------

// LMOVE source destination LEFT|RIGHT LEFT|RIGHT
bool parse_lmove(const RespRequest& req, ReplySink& out) {
    End from{}, to{};
    if (parse_end(req.args[3], from) && parse_end(req.args[4], to)) return true;
    RespWriter(out).write_error(kErrSyntax);
    return false;
}

// Redis's lmoveGenericCommand on the owner of both keys (the control
// plane sends it only when they share a shard). `missing` is the reply
// when the source has nothing: null for LMOVE.
void move_generic(const RespRequest& req, EngineCtx& ctx, ReplySink& out, End from, End to) {
    const store::KeyRef src(req.args[1]);
    const store::KeyRef dst(req.args[2]);
    Entries se;
    UnixTime src_exp = 0;
    const coll::Found sf = find_list(ctx, src, se, src_exp, out);
    if (sf == coll::Found::kWrongType) return;
    RespWriter w(out);
    if (sf == coll::Found::kMissing) {
        w.write_null();
        return;
    }
    Entries de;
    UnixTime dst_exp = 0;
    const bool same = req.args[1] == req.args[2];
    if (!same && find_list(ctx, dst, de, dst_exp, out) == coll::Found::kWrongType) return;
    // Copied: the source's rewrite may recycle the item its view is in.
    const std::string value(from == End::kLeft ? se.front() : se.back());
    if (same) {
        if (from == End::kLeft)
            se.erase(se.begin());
        else
            se.pop_back();
        se.insert(to == End::kLeft ? se.begin() : se.end(), value);
        if (store_list(ctx, src, se, src_exp, out)) w.write_bulk(value);
        return;
    }
    // The destination must be able to take it before the source lets go.
    const std::array<std::string_view, 1> one{value};
    coll::QuicklistBuilder grown(fill_of(ctx));
    grown.pack(de);
    grown.pack(one);
    if (!mc_item_fits(dst.key.size(), grown.encoded_size())) {
        coll::write_error(coll::WriteStatus::kTooLarge, out);
        return;
    }
    if (from == End::kLeft)
        se.erase(se.begin());
    else
        se.pop_back();
    if (!store_list(ctx, src, se, src_exp, out)) return;
    // Found again: the source's write may have moved items.
    if (find_list(ctx, dst, de, dst_exp, out) == coll::Found::kWrongType) return;
    de.insert(to == End::kLeft ? de.begin() : de.end(), value);
    if (store_list(ctx, dst, de, dst_exp, out)) w.write_bulk(value);
}

void op_lmove(const RespRequest& req, const store::KeyRef&, EngineCtx& ctx, ReplySink& out) {
    End from{}, to{};
    parse_end(req.args[3], from);
    parse_end(req.args[4], to);
    move_generic(req, ctx, out, from, to);
}

// RPOPLPUSH source destination
void op_rpoplpush(const RespRequest& req, const store::KeyRef&, EngineCtx& ctx, ReplySink& out) {
    move_generic(req, ctx, out, End::kRight, End::kLeft);
}

// ---- BLPOP BRPOP BLMOVE BRPOPLPUSH -----------------------------------------------

bool parse_timeout(std::string_view arg, ReplySink& out) {
    int64_t ms = 0;
    std::string_view error;
    if (resp_block_timeout_ms(arg, ms, error)) return true;
    RespWriter(out).write_error(error);
    return false;
}

// BLPOP key [key ...] timeout
bool parse_bpop(const RespRequest& req, ReplySink& out) {
    return parse_timeout(req.args.back(), out);
}

// The first key with elements gives one: [key, element]; a key of another
// type stops the walk with WRONGTYPE; none: the null array, the reply that
// tells the control plane to block the client (Redis's answer in MULTI).
void bpop_generic(const RespRequest& req, EngineCtx& ctx, ReplySink& out, End end) {
    for (size_t i = 1; i + 1 < req.args.size(); ++i) {
        const store::KeyRef k(req.args[i]);
        Entries e;
        UnixTime exptime = 0;
        const coll::Found f = find_list(ctx, k, e, exptime, out);
        if (f == coll::Found::kWrongType) return;
        if (f == coll::Found::kMissing) continue;
        std::string reply;
        RespWriter rw(reply);
        rw.write_array(2);
        rw.write_bulk(req.args[i]);
        rw.write_bulk(end == End::kLeft ? e.front() : e.back());
        if (end == End::kLeft)
            e.erase(e.begin());
        else
            e.pop_back();
        if (store_list(ctx, k, e, exptime, out)) out.append(reply);
        return;
    }
    RespWriter(out).write_null_array();
}

void op_blpop(const RespRequest& req, const store::KeyRef&, EngineCtx& ctx, ReplySink& out) {
    bpop_generic(req, ctx, out, End::kLeft);
}
void op_brpop(const RespRequest& req, const store::KeyRef&, EngineCtx& ctx, ReplySink& out) {
    bpop_generic(req, ctx, out, End::kRight);
}

// BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout: the ends first,
// then the timeout (Redis's order). An empty source answers null: block.
bool parse_blmove(const RespRequest& req, ReplySink& out) {
    return parse_lmove(req, out) && parse_timeout(req.args[5], out);
}

// BRPOPLPUSH source destination timeout
bool parse_brpoplpush(const RespRequest& req, ReplySink& out) {
    return parse_timeout(req.args[3], out);
}

// ---- LMPOP BLMPOP -----------------------------------------------------------------

// LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]
// BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]
// Checked in lmpopGenericCommand's order: the key count, the end, the
// options, then (BLMPOP) the timeout.
struct MpopArgs {
    size_t numkeys = 0;
    End end = End::kLeft;
    uint64_t count = 1;
};

// getRangeLongFromObjectOrReply(1, LONG_MAX, msg): `msg` whether the
// argument is not a number or below 1.
bool parse_positive(std::string_view arg, int64_t& v, std::string_view msg, ReplySink& out) {
    if (resp_parse_int(arg, v) && v >= 1) return true;
    RespWriter(out).write_error(msg);
    return false;
}

bool parse_mpop_args(const RespRequest& req, size_t numkeys_at, MpopArgs& a, ReplySink& out) {
    const auto& args = req.args;
    int64_t n = 0;
    if (!parse_positive(args[numkeys_at], n, "numkeys should be greater than 0", out)) return false;
    RespWriter w(out);
    // where_idx = numkeys_idx + numkeys + 1, past the request: a syntax error.
    if (static_cast<uint64_t>(n) >= args.size() - numkeys_at - 1) {
        w.write_error(kErrSyntax);
        return false;
    }
    a.numkeys = static_cast<size_t>(n);
    const size_t where = numkeys_at + a.numkeys + 1;
    if (!parse_end(args[where], a.end)) {
        w.write_error(kErrSyntax);
        return false;
    }
    bool counted = false;
    for (size_t j = where + 1; j < args.size(); ++j) {
        if (!counted && iequals(args[j], "COUNT") && j + 1 < args.size()) {
            int64_t c = 0;
            if (!parse_positive(args[++j], c, "count should be greater than 0", out)) return false;
            a.count = static_cast<uint64_t>(c);
            counted = true;
        } else {
            w.write_error(kErrSyntax);
            return false;
        }
    }
    return true;
}

bool parse_lmpop(const RespRequest& req, ReplySink& out) {
    MpopArgs a;
    return parse_mpop_args(req, 1, a, out);
}

bool parse_blmpop(const RespRequest& req, ReplySink& out) {
    MpopArgs a;
    return parse_mpop_args(req, 2, a, out) && parse_timeout(req.args[1], out);
}

// mpopGenericCommand: the first key holding a list gives up to `count`
// elements from its end: [key, [elements]]; a key of another type stops
// the walk with WRONGTYPE; none: the null array (BLMPOP: the client
// blocks, as for BLPOP).
void mpop_generic(const RespRequest& req, size_t numkeys_at, EngineCtx& ctx, ReplySink& out) {
    MpopArgs a;
    proto::StringSink ignore;
    parse_mpop_args(req, numkeys_at, a, ignore);  // checked by the parse
    for (size_t i = numkeys_at + 1; i <= numkeys_at + a.numkeys; ++i) {
        const store::KeyRef k(req.args[i]);
        coll::QuicklistView v;
        UnixTime exptime = 0;
        const coll::Found f = find_view(ctx, k, v, exptime, out);
        if (f == coll::Found::kWrongType) return;
        if (f == coll::Found::kMissing) continue;
        // A huge count takes the whole list, never more.
        const size_t n = std::min(a.count, static_cast<uint64_t>(v.size()));
        const size_t from = a.end == End::kLeft ? 0 : v.size() - n;
        Entries e;
        v.range(from, from + n - 1, e);  // only the nodes at that end
        // Written before the write: the views point into the old item.
        std::string reply;
        RespWriter rw(reply);
        rw.write_array(2);
        rw.write_bulk(req.args[i]);
        rw.write_array(n);
        for (size_t j = 0; j < n; ++j)
            rw.write_bulk(a.end == End::kLeft ? e[j] : e[n - 1 - j]);
        if (store_splice(ctx, k, &v, from, n, {}, exptime, out)) out.append(reply);
        return;
    }
    RespWriter(out).write_null_array();
}

void op_lmpop(const RespRequest& req, const store::KeyRef&, EngineCtx& ctx, ReplySink& out) {
    mpop_generic(req, 1, ctx, out);
}
void op_blmpop(const RespRequest& req, const store::KeyRef&, EngineCtx& ctx, ReplySink& out) {
    mpop_generic(req, 2, ctx, out);
}

// ---- the table ---------------------------------------------------------------------

inline constexpr KeySpec kTwoKeys{1, 2, 1};
// Every key before the timeout (BLPOP k1 k2 ... timeout).
inline constexpr KeySpec kKeysThenTimeout{1, -2, 1};
inline constexpr uint16_t kBlocking = kWrite | kCmdBlocking;
// The keys after a count: LMPOP numkeys key..., BLMPOP timeout numkeys key...
inline constexpr KeySpec kLmpopKeys{2, 0, 1, 1};
inline constexpr KeySpec kBlmpopKeys{3, 0, 1, 2};

// clang-format off
const RespCommand kListCommands[] = {
    RespCommand{Spec{"lpush", at_least(3), kWrite, kOneKey, nullptr, op_lpush}},
    RespCommand{Spec{"rpush", at_least(3), kWrite, kOneKey, nullptr, op_rpush}},
    RespCommand{Spec{"lpushx", at_least(3), kWrite, kOneKey, nullptr, op_lpushx}},
    RespCommand{Spec{"rpushx", at_least(3), kWrite, kOneKey, nullptr, op_rpushx}},
    RespCommand{Spec{"lpop", {2, 3}, kWrite, kOneKey, parse_pop, op_lpop}},
    RespCommand{Spec{"rpop", {2, 3}, kWrite, kOneKey, parse_pop, op_rpop}},
    RespCommand{Spec{"llen", exactly(2), kRead, kOneKey, nullptr, exec_read<read_llen>}, read_llen},
    RespCommand{Spec{"lrange", exactly(4), kRead, kOneKey, parse_two_ints, exec_read<read_lrange>},
                read_lrange},
    RespCommand{Spec{"lindex", exactly(3), kRead, kOneKey, nullptr, exec_read<read_lindex>},
                read_lindex},
    RespCommand{Spec{"lpos", at_least(3), kRead, kOneKey, parse_lpos, exec_read<read_lpos>},
                read_lpos},
    RespCommand{Spec{"lset", exactly(4), kWrite, kOneKey, nullptr, op_lset}},
    RespCommand{Spec{"lrem", exactly(4), kWrite, kOneKey, parse_lrem, op_lrem}},
    RespCommand{Spec{"ltrim", exactly(4), kWrite, kOneKey, parse_two_ints, op_ltrim}},
    RespCommand{Spec{"linsert", exactly(5), kWrite, kOneKey, parse_linsert, op_linsert}},
    RespCommand{Spec{"lmove", exactly(5), kWrite, kTwoKeys, parse_lmove, op_lmove}},
    RespCommand{Spec{"rpoplpush", exactly(3), kWrite, kTwoKeys, nullptr, op_rpoplpush}},
    RespCommand{Spec{"blpop", at_least(3), kBlocking, kKeysThenTimeout, parse_bpop, op_blpop}},
    RespCommand{Spec{"brpop", at_least(3), kBlocking, kKeysThenTimeout, parse_bpop, op_brpop}},
    RespCommand{Spec{"blmove", exactly(6), kBlocking, kTwoKeys, parse_blmove, op_lmove}},
    RespCommand{Spec{"brpoplpush", exactly(4), kBlocking, kTwoKeys, parse_brpoplpush,
                     op_rpoplpush}},
    RespCommand{Spec{"lmpop", at_least(4), kWrite, kLmpopKeys, parse_lmpop, op_lmpop}},
    RespCommand{Spec{"blmpop", at_least(5), kBlocking, kBlmpopKeys, parse_blmpop, op_blmpop}},
};
// clang-format on

}  // namespace

std::span<const RespCommand> resp_list_commands() {
    return kListCommands;
}

}  // namespace fulmar::engine
