// SORT and SORT_RO: Redis 7.0's sortCommandGeneric on lists and sets (no
// sorted sets here), with BY, LIMIT, GET, ASC/DESC, ALPHA and STORE.
//
// Where it runs: SORT without STORE and SORT_RO are reads, served by the
// control plane from the shards' views (any shard: a BY or GET pattern may
// name keys anywhere, as on a single Redis). SORT ... STORE is a write and
// runs on the sorted key's owner, the one writer of its shard; the
// destination and every key a pattern forms must then live on that shard
// (Redis Cluster refuses BY and GET patterns outright; a {hash tag} in the
// pattern keeps them on the key's shard here), else a clear error.
//
// Order: numbers as Redis (strtod of each element, or of the BY key's
// value; a missing BY key scores 0; equal scores fall back to the bytes),
// ALPHA by the bytes (memcmp, then length: Redis's compareStringObjects;
// Redis uses strcoll for a reply without STORE, which is the same under the
// C locale).
#include <fmt/core.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "engine/resp_collection.h"
#include "engine/resp_groups.h"
#include "engine/resp_util.h"

namespace fulmar::engine {
namespace {

using namespace resp;

struct SortOptions {
    bool desc = false;
    bool alpha = false;
    bool dontsort = false;  // BY a pattern without '*': keep the key's order
    std::string_view by;    // empty: sort by the elements themselves
    std::vector<std::string_view> gets;
    int64_t limit_start = 0;
    int64_t limit_count = -1;
    std::optional<std::string_view> store;
    size_t store_at = 0;  // its position in the request
};

// sortCommandGeneric's option loop; false after writing the error.
bool parse_options(const RespRequest& req, bool readonly, SortOptions& o, ReplySink& out) {
    const auto& a = req.args;
    for (size_t j = 2; j < a.size(); ++j) {
        const size_t left = a.size() - j - 1;
        if (iequals(a[j], "asc")) {
            o.desc = false;
        } else if (iequals(a[j], "desc")) {
            o.desc = true;
        } else if (iequals(a[j], "alpha")) {
            o.alpha = true;
        } else if (iequals(a[j], "limit") && left >= 2) {
            if (!resp_parse_int(a[j + 1], o.limit_start) ||
                !resp_parse_int(a[j + 2], o.limit_count)) {
                RespWriter(out).write_error(kErrNotInteger);
                return false;
            }
            j += 2;
        } else if (!readonly && iequals(a[j], "store") && left >= 1) {
            o.store = a[++j];
            o.store_at = j;
        } else if (iequals(a[j], "by") && left >= 1) {
            o.by = a[++j];
            // strchr: the pattern up to its first NUL byte.
            const std::string_view c = o.by.substr(0, o.by.find('\0'));
            o.dontsort = c.find('*') == std::string_view::npos;
        } else if (iequals(a[j], "get") && left >= 1) {
            o.gets.push_back(a[++j]);
        } else {
            RespWriter(out).write_error(kErrSyntax);
            return false;
        }
    }
    return true;
}

bool parse_sort(const RespRequest& req, ReplySink& out) {
    SortOptions o;
    if (!parse_options(req, false, o, out)) return false;
    if (o.store && o.store->size() > store::kMaxKeyLen) {
        RespWriter(out).write_error(kErrKeyTooLong);
        return false;
    }
    return true;
}

bool parse_sort_ro(const RespRequest& req, ReplySink& out) {
    SortOptions o;
    return parse_options(req, true, o, out);
}

// SORT is a read unless it stores (the control plane then serves it).
bool sort_reads_only(const RespRequest& req) {
    SortOptions o;
    proto::StringSink ignored;
    return !parse_options(req, false, o, ignored) || !o.store;
}

// What the lookups of one SORT may read: every shard for a reader, the
// owner's own shard on the owner.
struct Reader {
    const RespReadCtx& ctx;
    const EngineCtx* owner = nullptr;  // null: the control plane, any shard
    std::string foreign;               // a key formed on another shard (owner only)

    bool readable(std::string_view key) {
        if (owner == nullptr) return true;
        const store::KeyRef k(key);
        if (owner->owns(owner->shard_for(k))) return true;
        if (foreign.empty()) foreign = std::string(key);
        return false;
    }
};

// lookupKeyByPattern: "#" is the element; else the first '*' is replaced by
// it, and "->field" after that '*' reads a hash's field. Nothing (a missing
// key, the wrong type, a pattern without '*') is nullopt.
std::optional<std::string> lookup_pattern(std::string_view pattern, std::string_view elem,
                                          Reader& r) {
    if (pattern == "#") return std::string(elem);
    const std::string_view c = pattern.substr(0, pattern.find('\0'));
    const size_t star = c.find('*');
    if (star == std::string_view::npos) return std::nullopt;
    size_t arrow = c.find("->", star + 1);
    if (arrow != std::string_view::npos && arrow + 2 >= c.size()) arrow = std::string_view::npos;
    const std::string_view field =
        arrow == std::string_view::npos ? std::string_view() : pattern.substr(arrow + 2);
    const size_t key_end = arrow == std::string_view::npos ? pattern.size() : arrow;
    std::string key;
    key.reserve(key_end + elem.size());
    key.append(pattern.substr(0, star));
    key.append(elem);
    key.append(pattern.substr(star + 1, key_end - star - 1));
    if (key.size() > store::kMaxKeyLen || !r.readable(key)) return std::nullopt;
    store::ItemMeta meta;
    if (read_key(key, r.ctx, meta) != store::ReadStatus::kHit) return std::nullopt;
    const std::string_view value(r.ctx.scratch.data(), meta.value_len);
    if (arrow == std::string_view::npos) {
        if (item_type(meta) != store::ItemType::kString) return std::nullopt;
        return std::string(value);
    }
    if (item_type(meta) != store::ItemType::kHash) return std::nullopt;
    const coll::Hit h = coll::lookup(value, field, 2);
    if (!h.found) return std::nullopt;
    return std::string(h.next);
}

struct Elem {
    std::string obj;
    double score = 0;
    std::optional<std::string> cmp;  // ALPHA BY: the BY key's value
};

int compare_bytes(std::string_view a, std::string_view b) {
    const int c = std::memcmp(a.data(), b.data(), std::min(a.size(), b.size()));
    if (c != 0) return c;
    return a.size() < b.size() ? -1 : a.size() > b.size() ? 1 : 0;
}

int compare(const Elem& x, const Elem& y, const SortOptions& o) {
    int c = 0;
    if (!o.alpha) {
        c = x.score > y.score ? 1 : x.score < y.score ? -1 : compare_bytes(x.obj, y.obj);
    } else if (!o.by.empty()) {
        if (!x.cmp || !y.cmp)
            c = x.cmp.has_value() == y.cmp.has_value() ? 0 : !x.cmp ? -1 : 1;
        else
            c = compare_bytes(*x.cmp, *y.cmp);
    } else {
        c = compare_bytes(x.obj, y.obj);
    }
    return o.desc ? -c : c;
}

// strtod as Redis checks it: the whole text (an empty one is 0), no
// overflow, no NaN.
bool score_of(const std::string& s, double& out) {
    char* end = nullptr;
    errno = 0;
    out = std::strtod(s.c_str(), &end);
    return *end == '\0' && errno != ERANGE && !std::isnan(out);
}

// Loads, sorts and cuts: `rows` gets the reply's entries in order (one per
// element, or one per GET per element; nullopt for a GET that found
// nothing). False after writing an error.
bool run_sort(const RespRequest& req, const SortOptions& opt, Reader& r,
              std::vector<std::optional<std::string>>& rows, ReplySink& out) {
    SortOptions o = opt;
    store::ItemMeta meta;
    const store::ReadStatus st = read_key(req.args[1], r.ctx, meta);
    const bool found = st == store::ReadStatus::kHit;
    const store::ItemType type = found ? item_type(meta) : store::ItemType::kList;
    if (found && type != store::ItemType::kList && type != store::ItemType::kSet) {
        RespWriter(out).write_error(kErrWrongType);
        return false;
    }
    std::vector<Elem> v;
    if (found) {
        coll::Entries entries;
        if (!coll::decode({r.ctx.scratch.data(), meta.value_len}, entries)) {
            RespWriter(out).write_error("the sorted key's value is malformed");
            return false;
        }
        v.reserve(entries.size());
        for (std::string_view e : entries)
            v.push_back(Elem{.obj = std::string(e)});
    }
    // A set has no order of its own: stored, it is sorted by its bytes.
    if (o.dontsort && type == store::ItemType::kSet && o.store) {
        o.dontsort = false;
        o.alpha = true;
        o.by = {};
    }
    const auto n = static_cast<int64_t>(v.size());
    int64_t start = o.limit_start < 0 ? 0 : o.limit_start;
    int64_t end = o.limit_count < 0 ? n - 1 : start + o.limit_count - 1;
    if (start >= n) {
        start = n - 1;
        end = n - 2;
    }
    if (end >= n) end = n - 1;
    if (o.dontsort && type == store::ItemType::kList && o.desc) {
        // The list's own order from the tail: element n-1-i is position i.
        std::reverse(v.begin(), v.end());
    }
    if (!o.dontsort) {
        bool bad_score = false;
        for (Elem& e : v) {
            std::optional<std::string> by;
            if (!o.by.empty()) {
                by = lookup_pattern(o.by, e.obj, r);
                if (!by) continue;
            }
            if (o.alpha) {
                if (!o.by.empty()) e.cmp = std::move(by);
            } else if (!score_of(by ? *by : e.obj, e.score)) {
                bad_score = true;
            }
        }
        if (!r.foreign.empty()) return false;
        if (bad_score) {
            RespWriter(out).write_error("One or more scores can't be converted into double");
            return false;
        }
        std::stable_sort(v.begin(), v.end(),
                         [&](const Elem& x, const Elem& y) { return compare(x, y, o) < 0; });
    }
    for (int64_t j = start; j <= end; ++j) {
        const Elem& e = v[static_cast<size_t>(j)];
        if (o.gets.empty()) {
            rows.emplace_back(e.obj);
            continue;
        }
        for (std::string_view g : o.gets)
            rows.push_back(lookup_pattern(g, e.obj, r));
    }
    return r.foreign.empty();
}

void write_foreign_error(std::string_view sorted, const Reader& r, ReplySink& out) {
    RespWriter(out).write_error(fmt::format(
        "-CROSSSLOT SORT ... STORE runs on the shard of '{}': the key '{}' a BY or GET pattern "
        "formed lives on another shard (give the pattern the key's {{hash tag}})",
        sorted, r.foreign));
}

void reply_rows(const std::vector<std::optional<std::string>>& rows, ReplySink& out) {
    RespWriter w(out);
    w.write_array(rows.size());
    for (const auto& row : rows) {
        if (row)
            w.write_bulk(*row);
        else
            w.write_null();
    }
}

void read_sort_generic(const RespRequest& req, const RespReadCtx& ctx, bool readonly,
                       ReplySink& out) {
    SortOptions o;
    if (!parse_options(req, readonly, o, out)) return;
    Reader r{ctx};
    std::vector<std::optional<std::string>> rows;
    if (run_sort(req, o, r, rows, out)) reply_rows(rows, out);
}

void read_sort(const RespRequest& req, const RespReadCtx& ctx, ReplySink& out) {
    read_sort_generic(req, ctx, false, out);
}

void read_sort_ro(const RespRequest& req, const RespReadCtx& ctx, ReplySink& out) {
    read_sort_generic(req, ctx, true, out);
}

// The owner's SORT (with or without STORE: the control plane sends it only
// the stored form; tests run both here).
void op_sort(const RespRequest& req, const store::KeyRef&, EngineCtx& ctx, ReplySink& out) {
    SortOptions o;
    if (!parse_options(req, false, o, out)) return;
    const LocalViews views(ctx);
    const RespReadCtx rctx = read_ctx(ctx, views);
    Reader r{rctx, &ctx};
    if (o.store && !r.readable(*o.store)) {
        RespWriter(out).write_error(kRespCrossShardError);
        return;
    }
    std::vector<std::optional<std::string>> rows;
    if (!run_sort(req, o, r, rows, out)) {
        if (!r.foreign.empty()) write_foreign_error(req.args[1], r, out);
        return;
    }
    if (!o.store) {
        reply_rows(rows, out);
        return;
    }
    // STORE: a list of the rows (a GET that found nothing stores ""),
    // replacing whatever the key held, TTL included; nothing to store
    // deletes it.
    const store::KeyRef dest(*o.store);
    store::Shard& s = ctx.shard_for(dest);
    const UnixTime now = ctx.now();
    if (rows.empty()) {
        (void)s.remove(dest, now);
        RespWriter(out).write_integer(0);
        return;
    }
    std::vector<std::string_view> entries;
    entries.reserve(rows.size());
    for (const auto& row : rows)
        entries.push_back(row ? std::string_view(*row) : std::string_view());
    const coll::WriteStatus ws = coll::write(s, dest, store::ItemType::kList, entries, 0, now,
                                             coll::list_fill(ctx.limits()));
    if (ws != coll::WriteStatus::kStored && ws != coll::WriteStatus::kDeleted) {
        coll::write_error(ws, out);
        return;
    }
    RespWriter(out).write_integer(static_cast<int64_t>(rows.size()));
}

using Spec = CommandSpec<RespRequest, RespParseFn>;

const RespCommand kCommands[] = {
    RespCommand{Spec{"sort", at_least(2), kWrite, kOneKey, parse_sort, op_sort},
                read_sort,
                RespGather::kNone,
                {},
                nullptr,
                sort_store_key,
                sort_reads_only},
    RespCommand{
        Spec{"sort_ro", at_least(2), kRead, kOneKey, parse_sort_ro, exec_read<read_sort_ro>},
        read_sort_ro},
};

}  // namespace

void sort_store_key(std::span<const std::string_view> args, std::vector<size_t>& out) {
    const RespRequest req{args};
    SortOptions o;
    proto::StringSink ignored;
    if (args.size() < 2 || !parse_options(req, false, o, ignored) || !o.store) return;
    out.push_back(o.store_at);
}

std::span<const RespCommand> resp_sort_commands() {
    return kCommands;
}

}  // namespace fulmar::engine
