// Helpers every group of Redis commands shares; see resp_util.h.
#include "engine/resp_util.h"

#include <algorithm>
#include <climits>

#include "store/exptime.h"

namespace fulmar::engine::resp {

char ascii_lower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return ascii_lower(x) == ascii_lower(y);
           });
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        c = ascii_lower(c);
    return out;
}

UnixTime clamp_time(int64_t t) {
    if (t <= 0) return store::kExpiredAtOnce;
    return t > UINT32_MAX ? UINT32_MAX : static_cast<UnixTime>(t);
}

int64_t ms_to_s(int64_t ms) {
    return ms / 1000 + (ms % 1000 > 0 ? 1 : 0);
}

void write_store_error(store::StoreStatus st, ReplySink& out) {
    RespWriter w(out);
    w.write_error(st == store::StoreStatus::kTooLarge ? kErrTooLarge : kErrOom);
}

LocalViews::LocalViews(const EngineCtx& ctx) {
    for (const store::Shard* s : ctx.shards)
        views.push_back(&s->view());
}

RespReadCtx read_ctx(const EngineCtx& ctx, const LocalViews& v) {
    return RespReadCtx{.views = v.views,
                       .now = ctx.now(),
                       .now_ms = ctx.now_ms(),
                       .scratch = ctx.scratch,
                       .stats = ctx.stats};
}

store::ReadStatus read_key(std::string_view key, const RespReadCtx& ctx, store::ItemMeta& meta) {
    const store::KeyRef k(key);
    const size_t shard = shard_index(k.digest, ctx.views.size());
    const store::ReadStatus st = ctx.views[shard]->read_typed(k, ctx.now, ctx.scratch, meta);
    // The view checks whole seconds; a millisecond expiry may be past.
    if (st != store::ReadStatus::kMiss && meta.expire_ms != 0 && ctx.now_ms != 0 &&
        store::expiry_ms(meta.exptime, meta.expire_ms) <= ctx.now_ms)
        return store::ReadStatus::kMiss;
    return st;
}

std::string_view type_name(store::ItemType t) {
    switch (t) {
        case store::ItemType::kString:
            return "string";
        case store::ItemType::kList:
            return "list";
        case store::ItemType::kSet:
            return "set";
        case store::ItemType::kHash:
            return "hash";
        case store::ItemType::kFree:
            break;
    }
    return "none";
}

}  // namespace fulmar::engine::resp
