// Shared get pieces; see mc_get.h.
#include "engine/mc_get.h"

#include <cstring>

#include "common/numbers.h"
#include "common/small_bytes.h"
#include "proto/mc_wire.h"

namespace fulmar::engine {
namespace {

char* put(char* p, std::string_view s) {
    copy_small(p, s.data(), s.size());
    return p + s.size();
}

// Flags and lengths are mostly one or two digits: those inline.
char* put_u64(char* p, uint64_t v) {
    if (v < 10) {
        *p = static_cast<char>('0' + v);
        return p + 1;
    }
    if (v < 100) {
        p[0] = static_cast<char>('0' + v / 10);
        p[1] = static_cast<char>('0' + v % 10);
        return p + 2;
    }
    return p + format_u64(v, p);
}

}  // namespace

size_t mc_value_line_len(std::string_view key, uint32_t flags, size_t bytes, const uint64_t* cas) {
    size_t n = proto::kMcValuePrefix.size() + key.size() + 1 + decimal_digits(flags) + 1 +
               decimal_digits(bytes) + proto::kMcCrlf.size();
    if (cas != nullptr) n += 1 + decimal_digits(*cas);
    return n;
}

size_t write_mc_value_line(char* dst, std::string_view key, uint32_t flags, size_t bytes,
                           const uint64_t* cas) {
    std::memcpy(dst, "VALUE ", 6);
    static_assert(proto::kMcValuePrefix == "VALUE ");
    char* p = put(dst + 6, key);
    *p++ = ' ';
    p = put_u64(p, flags);
    *p++ = ' ';
    p = put_u64(p, bytes);
    if (cas != nullptr) {
        *p++ = ' ';
        p = put_u64(p, *cas);
    }
    p[0] = '\r';
    p[1] = '\n';
    p += 2;
    return static_cast<size_t>(p - dst);
}

void settle_get_read_slow(EngineCtx& ctx, store::Shard& shard, const store::KeyRef& k, bool hit,
                          const store::ItemMeta& meta, UnixTime now) {
    if (!ctx.owns(shard)) return;
    if (hit) {
        // The item is still the one read unless a look-up in between freed
        // it (a digest collision met by another request of a batch): check.
        store::Item* it = meta.item;
        if ((meta.type_bits & store::kItemFetched) == 0 && it != nullptr &&
            it->type() != store::ItemType::kFree && it->key() == k.key)
            mark_fetched(shard, it);
        return;
    }
    // The reader cannot tell an expired item from an absent one; the owner
    // can, and reclaims it now as memcached does.
    counting_expired(ctx, shard, [&] { return shard.find(k, now); });
}

}  // namespace fulmar::engine
