// Helpers every group of Redis commands shares; see resp_util.h.
#include "engine/resp_util.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "store/exptime.h"

namespace fulmar::engine::resp {

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

// Redis's string2ld: the whole text a finite long double, no spaces.
bool parse_long_double(std::string_view s, long double& out) {
    if (s.empty() || s.size() >= 5 * 1024) return false;
    if (std::isspace(static_cast<unsigned char>(s[0]))) return false;
    std::array<char, 5 * 1024> buf{};
    std::memcpy(buf.data(), s.data(), s.size());
    char* end = nullptr;
    errno = 0;
    const long double v = std::strtold(buf.data(), &end);
    if (end != buf.data() + s.size() || std::isnan(v)) return false;
    if (errno == ERANGE && (std::isinf(v) || v == 0)) return false;
    out = v;
    return true;
}

// Redis's ld2string(LD_STR_HUMAN): "%.17Lf" without trailing zeros.
std::string format_long_double(long double v) {
    char buf[5 * 1024];
    int l = std::snprintf(buf, sizeof buf, "%.17Lf", v);
    if (l <= 0 || static_cast<size_t>(l) >= sizeof buf) return "0";
    if (std::strchr(buf, '.') != nullptr) {
        while (buf[l - 1] == '0')
            --l;
        if (buf[l - 1] == '.') --l;
    }
    if (l == 2 && buf[0] == '-' && buf[1] == '0') return "0";
    return std::string(buf, static_cast<size_t>(l));
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
                       .stats = ctx.stats,
                       .limits = ctx.limits()};
}

store::ReadStatus read_key(std::string_view key, const RespReadCtx& ctx, store::ItemMeta& meta) {
    const store::KeyRef k(key);
    const size_t shard = shard_index(k.digest, ctx.views.size());
    const store::ReadStatus st = ctx.views[shard]->read_typed(k, ctx.now, ctx.scratch, meta);
    // The view checks whole seconds; a millisecond expiry may be past.
    const bool expired =
        st == store::ReadStatus::kExpired ||
        (st != store::ReadStatus::kMiss && meta.expire_ms != 0 && ctx.now_ms != 0 &&
         store::expiry_ms(meta.exptime, meta.expire_ms) <= ctx.now_ms);
    if (!expired) return st;
    if (ctx.expired != nullptr) ctx.expired->emplace_back(key);
    return store::ReadStatus::kMiss;
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
