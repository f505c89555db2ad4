// The compact collection encoding and its reads and writes; see
// resp_collection.h.
#include "engine/resp_collection.h"

#include <cstring>

#include "engine/resp_util.h"

namespace fulmar::engine::coll {
namespace {

size_t varint_size(size_t v) {
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        ++n;
    }
    return n;
}

char* put_varint(char* p, size_t v) {
    while (v >= 0x80) {
        *p++ = static_cast<char>((v & 0x7F) | 0x80);
        v >>= 7;
    }
    *p++ = static_cast<char>(v);
    return p;
}

// False when the bytes end first or the number is past 32 bits.
bool get_varint(const unsigned char*& p, const unsigned char* end, size_t& v) {
    v = 0;
    for (int shift = 0; shift <= 28; shift += 7) {
        if (p == end) return false;
        const unsigned char b = *p++;
        v |= size_t{b & 0x7Fu} << shift;
        if ((b & 0x80) == 0) return true;
    }
    return false;
}

}  // namespace

bool decode(std::string_view value, std::vector<std::string_view>& out) {
    out.clear();
    if (value.size() < kHeaderSize || static_cast<uint8_t>(value[0]) != kCompact) return false;
    uint32_t n = 0;
    std::memcpy(&n, value.data() + 1, sizeof n);
    const auto* p = reinterpret_cast<const unsigned char*>(value.data()) + kHeaderSize;
    const auto* end = reinterpret_cast<const unsigned char*>(value.data()) + value.size();
    // Each entry takes at least a byte: a count past that is corrupt, and
    // must not size the vector.
    if (n > value.size()) return false;
    out.reserve(n);
    for (uint32_t i = 0; i < n; ++i) {
        size_t len = 0;
        if (!get_varint(p, end, len) || len > static_cast<size_t>(end - p)) return false;
        out.emplace_back(reinterpret_cast<const char*>(p), len);
        p += len;
    }
    return p == end;
}

size_t encoded_size(std::span<const std::string_view> entries) {
    size_t n = kHeaderSize;
    for (std::string_view e : entries)
        n += varint_size(e.size()) + e.size();
    return n;
}

void encode(std::span<const std::string_view> entries, char* dst) {
    dst[0] = static_cast<char>(kCompact);
    const auto n = static_cast<uint32_t>(entries.size());
    std::memcpy(dst + 1, &n, sizeof n);
    char* p = dst + kHeaderSize;
    for (std::string_view e : entries) {
        p = put_varint(p, e.size());
        // memmove: an entry may overlap nothing today, but never trust that
        // views from the old item cannot alias the new chunk's bytes.
        if (!e.empty()) std::memmove(p, e.data(), e.size());
        p += e.size();
    }
}

Found read(std::string_view key, store::ItemType type, const RespReadCtx& ctx,
           std::vector<std::string_view>& entries) {
    store::ItemMeta meta;
    entries.clear();
    if (resp::read_key(key, ctx, meta) != store::ReadStatus::kHit) return Found::kMissing;
    if (resp::item_type(meta) != type) return Found::kWrongType;
    // A collection that does not decode was never written by write(): treat
    // it as absent rather than answer garbage.
    if (!decode({ctx.scratch.data(), meta.value_len}, entries)) return Found::kMissing;
    return Found::kFound;
}

Found find(store::Shard& s, const store::KeyRef& k, store::ItemType type, UnixTime now,
           std::vector<std::string_view>& entries, UnixTime* exptime) {
    entries.clear();
    const store::Item* it = s.find(k, now);
    if (it == nullptr) return Found::kMissing;
    if (it->type() != type) return Found::kWrongType;
    if (exptime != nullptr) *exptime = it->exptime;
    if (!decode(it->value(), entries)) return Found::kMissing;
    return Found::kFound;
}

WriteStatus write(store::Shard& s, const store::KeyRef& k, store::ItemType type,
                  std::span<const std::string_view> entries, UnixTime exptime, UnixTime now) {
    store::Item* old = s.find(k, now);
    if (entries.empty()) {
        if (old != nullptr) s.unlink(old);
        return WriteStatus::kDeleted;
    }
    // A rewrite that keeps the TTL keeps its milliseconds too.
    const uint16_t ms =
        old != nullptr && old->exptime == exptime ? static_cast<uint16_t>(old->expire_ms) : 0;
    const size_t size = encoded_size(entries);
    if (!mc_item_fits(k.key.size(), size)) return WriteStatus::kTooLarge;
    store::StoreStatus st = store::StoreStatus::kStored;
    store::Item* fresh = s.allocate(
        k, static_cast<uint32_t>(size),
        store::StoreArgs{.exptime = exptime, .type = type, .expire_ms = ms}, now, old, st);
    if (fresh == nullptr)
        return st == store::StoreStatus::kTooLarge ? WriteStatus::kTooLarge
                                                   : WriteStatus::kNoMemory;
    encode(entries, fresh->value_ptr());
    st = s.publish(k, fresh, old);
    if (st != store::StoreStatus::kStored) return WriteStatus::kNoMemory;
    return WriteStatus::kStored;
}

void write_error(WriteStatus st, proto::ReplySink& out) {
    proto::RespWriter w(out);
    if (st == WriteStatus::kTooLarge)
        w.write_error("collection exceeds the 1 MiB an item holds (memcached's item limit)");
    else if (st == WriteStatus::kNoMemory)
        w.write_error(resp::kErrOom);
}

}  // namespace fulmar::engine::coll
