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

size_t entry_size(std::string_view e) {
    return varint_size(e.size()) + e.size();
}

char* put_entry(char* p, std::string_view e) {
    p = put_varint(p, e.size());
    // memmove: never trust that views from the old item cannot alias the
    // new chunk's bytes.
    if (!e.empty()) std::memmove(p, e.data(), e.size());
    return p + e.size();
}

bool decode_node(std::string_view bytes, uint32_t count, std::vector<std::string_view>& out) {
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    const auto* end = p + bytes.size();
    // Each entry takes at least a byte: a count past that is corrupt, and
    // must not size the vector.
    if (count > bytes.size()) return false;
    out.reserve(out.size() + count);
    for (uint32_t i = 0; i < count; ++i) {
        size_t len = 0;
        if (!get_varint(p, end, len) || len > static_cast<size_t>(end - p)) return false;
        out.emplace_back(reinterpret_cast<const char*>(p), len);
        p += len;
    }
    return p == end;
}

bool decode(std::string_view value, std::vector<std::string_view>& out) {
    out.clear();
    if (!value.empty() && static_cast<uint8_t>(value[0]) == kQuicklist) {
        QuicklistView v;
        return v.parse(value) && v.decode_all(out);
    }
    if (value.size() < kHeaderSize || static_cast<uint8_t>(value[0]) != kCompact) return false;
    uint32_t n = 0;
    std::memcpy(&n, value.data() + 1, sizeof n);
    return decode_node(value.substr(kHeaderSize), n, out);
}

size_t encoded_size(std::span<const std::string_view> entries) {
    size_t n = kHeaderSize;
    for (std::string_view e : entries)
        n += entry_size(e);
    return n;
}

void encode(std::span<const std::string_view> entries, char* dst) {
    dst[0] = static_cast<char>(kCompact);
    const auto n = static_cast<uint32_t>(entries.size());
    std::memcpy(dst + 1, &n, sizeof n);
    char* p = dst + kHeaderSize;
    for (std::string_view e : entries)
        p = put_entry(p, e);
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

namespace {

// Stores `size` bytes that `fill_value` writes as key's value of `type`;
// the old item (entries may point into it) lives until the new one is
// published.
template <typename Fill>
WriteStatus write_value(store::Shard& s, const store::KeyRef& k, store::ItemType type,
                        size_t n_entries, size_t size, UnixTime exptime, UnixTime now,
                        Fill&& fill_value) {
    store::Item* old = s.find(k, now);
    if (n_entries == 0) {
        if (old != nullptr) s.unlink(old);
        return WriteStatus::kDeleted;
    }
    // A rewrite that keeps the TTL keeps its milliseconds too.
    const uint16_t ms =
        old != nullptr && old->exptime == exptime ? static_cast<uint16_t>(old->expire_ms) : 0;
    if (!mc_item_fits(k.key.size(), size)) return WriteStatus::kTooLarge;
    store::StoreStatus st = store::StoreStatus::kStored;
    store::Item* fresh = s.allocate(
        k, static_cast<uint32_t>(size),
        store::StoreArgs{.exptime = exptime, .type = type, .expire_ms = ms}, now, old, st);
    if (fresh == nullptr)
        return st == store::StoreStatus::kTooLarge ? WriteStatus::kTooLarge
                                                   : WriteStatus::kNoMemory;
    fill_value(fresh->value_ptr());
    st = s.publish(k, fresh, old);
    if (st != store::StoreStatus::kStored) return WriteStatus::kNoMemory;
    return WriteStatus::kStored;
}

}  // namespace

WriteStatus write(store::Shard& s, const store::KeyRef& k, store::ItemType type,
                  std::span<const std::string_view> entries, UnixTime exptime, UnixTime now,
                  ListFill fill) {
    if (type == store::ItemType::kList) {
        QuicklistBuilder b(fill);
        b.pack(entries);
        return write_list(s, k, b, exptime, now);
    }
    return write_value(s, k, type, entries.size(), encoded_size(entries), exptime, now,
                       [&](char* dst) { encode(entries, dst); });
}

WriteStatus write_list(store::Shard& s, const store::KeyRef& k, const QuicklistBuilder& b,
                       UnixTime exptime, UnixTime now) {
    return write_value(s, k, store::ItemType::kList, b.size(), b.encoded_size(), exptime, now,
                       [&](char* dst) { b.write(dst); });
}

Found read_list(std::string_view key, const RespReadCtx& ctx, QuicklistView& v) {
    store::ItemMeta meta;
    if (resp::read_key(key, ctx, meta) != store::ReadStatus::kHit) return Found::kMissing;
    if (resp::item_type(meta) != store::ItemType::kList) return Found::kWrongType;
    if (!v.parse({ctx.scratch.data(), meta.value_len})) return Found::kMissing;
    return Found::kFound;
}

Found find_list(store::Shard& s, const store::KeyRef& k, UnixTime now, QuicklistView& v,
                UnixTime* exptime) {
    const store::Item* it = s.find(k, now);
    if (it == nullptr) return Found::kMissing;
    if (it->type() != store::ItemType::kList) return Found::kWrongType;
    if (exptime != nullptr) *exptime = it->exptime;
    if (!v.parse(it->value())) return Found::kMissing;
    return Found::kFound;
}

void write_error(WriteStatus st, proto::ReplySink& out) {
    proto::RespWriter w(out);
    if (st == WriteStatus::kTooLarge)
        w.write_error("collection exceeds the 1 MiB an item holds (memcached's item limit)");
    else if (st == WriteStatus::kNoMemory)
        w.write_error(resp::kErrOom);
}

}  // namespace fulmar::engine::coll
