// DEBUG DIGEST-VALUE; see resp_digest.h.
#include "engine/resp_digest.h"

#include <fmt/core.h>
#include <xxhash.h>

#include <vector>

#include "engine/resp_collection.h"
#include "engine/resp_util.h"

namespace fulmar::engine {
namespace {

// Two independent 64-bit hashes and a 32-bit one: 160 bits, Redis's width.
struct Digest {
    uint64_t a = 0, b = 0;
    uint32_t c = 0;
    void mix_ordered(std::string_view s) {
        a = XXH3_64bits_withSeed(s.data(), s.size(), a ^ 0x9e3779b97f4a7c15ull);
        b = XXH3_64bits_withSeed(s.data(), s.size(), b ^ 0xc2b2ae3d27d4eb4full);
        c = XXH32(s.data(), s.size(), c ^ 0x165667b1u);
    }
    void mix_unordered(const Digest& d) {
        a ^= d.a;
        b ^= d.b;
        c ^= d.c;
    }
    std::string hex() const { return fmt::format("{:016x}{:016x}{:08x}", a, b, c); }
};

}  // namespace

std::string value_digest(std::string_view key, const RespReadCtx& ctx) {
    store::ItemMeta meta;
    if (resp::read_key(key, ctx, meta) != store::ReadStatus::kHit) return std::string(40, '0');
    const store::ItemType type = resp::item_type(meta);
    const std::string_view value(ctx.scratch.data(), meta.value_len);
    Digest d;
    d.mix_ordered(resp::type_name(type));
    if (type == store::ItemType::kString) {
        d.mix_ordered(value);
        return d.hex();
    }
    coll::Entries entries;  // an intset's members are text made on decode
    if (!coll::decode(value, entries)) return d.hex();
    if (type == store::ItemType::kList) {
        for (std::string_view e : entries)
            d.mix_ordered(e);
        return d.hex();
    }
    // Sets and hashes: each member (a hash's field with its value) hashed
    // alone, the results XORed, so their order does not count.
    const size_t step = type == store::ItemType::kHash ? 2 : 1;
    for (size_t i = 0; i + step <= entries.size(); i += step) {
        Digest one;
        for (size_t j = 0; j < step; ++j)
            one.mix_ordered(entries[i + j]);
        d.mix_unordered(one);
    }
    return d.hex();
}

}  // namespace fulmar::engine
