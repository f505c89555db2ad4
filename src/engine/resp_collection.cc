// The compact collection encoding and its reads and writes; see
// resp_collection.h.
#include "engine/resp_collection.h"

#include <xxhash.h>

#include <algorithm>
#include <charconv>
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

uint32_t get_u32(const char* p) {
    uint32_t v = 0;
    std::memcpy(&v, p, sizeof v);
    return v;
}

void put_u32(char* p, uint32_t v) {
    std::memcpy(p, &v, sizeof v);
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

namespace {

// A hashed value's parts, checked against its length; false when it is not
// one (or is corrupt).
struct Hashed {
    uint32_t n = 0;
    const unsigned char* entries = nullptr;
    const unsigned char* entries_end = nullptr;
    const char* index = nullptr;
    uint32_t slots = 0;
};

bool parse_hashed(std::string_view value, Hashed& h) {
    if (value.size() < kHashedHeaderSize || static_cast<uint8_t>(value[0]) != kHashed) return false;
    h.n = get_u32(value.data() + 1);
    const uint32_t elen = get_u32(value.data() + 5);
    h.slots = get_u32(value.data() + 9);
    if (h.slots == 0 || (h.slots & (h.slots - 1)) != 0) return false;
    if (uint64_t{kHashedHeaderSize} + elen + uint64_t{h.slots} * 4 != value.size()) return false;
    h.index = value.data() + kHashedHeaderSize;
    h.entries = reinterpret_cast<const unsigned char*>(h.index) + size_t{h.slots} * 4;
    h.entries_end = h.entries + elen;
    return true;
}

size_t key_step(store::ItemType type) {
    return type == store::ItemType::kHash ? 2 : 1;
}

}  // namespace

uint32_t hashed_slots_for(size_t keys) {
    uint32_t s = 1;
    while (uint64_t{s} * 3 < uint64_t{keys} * 4)
        s <<= 1;
    return s;
}

namespace {

uint32_t slots_for(size_t keys) {
    return hashed_slots_for(keys);
}

size_t hashed_size(store::ItemType type, std::span<const std::string_view> entries) {
    const size_t keys = (entries.size() + key_step(type) - 1) / key_step(type);
    return kHashedHeaderSize + (encoded_size(entries) - kHeaderSize) + size_t{slots_for(keys)} * 4;
}

bool hashed_fits(store::ItemType type, size_t key_len, std::span<const std::string_view> entries) {
    return mc_item_fits(key_len, hashed_size(type, entries));
}

int64_t get_i64(const char* p) {
    int64_t v = 0;
    std::memcpy(&v, p, sizeof v);
    return v;
}

// An intset's members, checked against its length; nullptr when it is not
// one (or is corrupt).
const char* parse_intset(std::string_view value, uint32_t& n) {
    if (value.size() < kIntsetHeaderSize || static_cast<uint8_t>(value[0]) != kIntset)
        return nullptr;
    n = get_u32(value.data() + 1);
    if (uint64_t{kIntsetHeaderSize} + uint64_t{n} * 8 != value.size()) return nullptr;
    return value.data() + kIntsetHeaderSize;
}

size_t intset_size(std::span<const std::string_view> entries) {
    return kIntsetHeaderSize + entries.size() * 8;
}

void encode_intset(std::span<const std::string_view> entries, char* dst) {
    std::vector<int64_t> v(entries.size());
    for (size_t i = 0; i < entries.size(); ++i)
        resp_parse_int(entries[i], v[i]);  // choose_encoding checked each
    std::sort(v.begin(), v.end());
    dst[0] = static_cast<char>(kIntset);
    put_u32(dst + 1, static_cast<uint32_t>(v.size()));
    if (!v.empty()) std::memcpy(dst + kIntsetHeaderSize, v.data(), v.size() * 8);
}

bool all_integers(std::span<const std::string_view> entries) {
    int64_t v = 0;
    return std::all_of(entries.begin(), entries.end(),
                       [&](std::string_view e) { return resp_parse_int(e, v); });
}

}  // namespace

uint64_t member_hash(std::string_view k) {
    return XXH3_64bits(k.data(), k.size());
}

namespace {

uint64_t key_hash(std::string_view k) {
    return member_hash(k);
}

void encode_hashed(store::ItemType type, std::span<const std::string_view> entries, char* dst) {
    const size_t step = key_step(type);
    const uint32_t slots = slots_for((entries.size() + step - 1) / step);
    const size_t elen = encoded_size(entries) - kHeaderSize;
    dst[0] = static_cast<char>(kHashed);
    put_u32(dst + 1, static_cast<uint32_t>(entries.size()));
    put_u32(dst + 5, static_cast<uint32_t>(elen));
    put_u32(dst + 9, slots);
    char* const index = dst + kHashedHeaderSize;
    char* const base = index + size_t{slots} * 4;
    std::memset(index, 0, size_t{slots} * 4);
    char* p = base;
    for (size_t i = 0; i < entries.size(); ++i) {
        const std::string_view e = entries[i];
        if (i % step == 0) {
            size_t slot = key_hash(e) & (slots - 1);
            while (get_u32(index + slot * 4) != 0)
                slot = (slot + 1) & (slots - 1);
            put_u32(index + slot * 4, static_cast<uint32_t>(p - base) + 1);
        }
        p = put_varint(p, e.size());
        if (!e.empty()) std::memmove(p, e.data(), e.size());
        p += e.size();
    }
}

// The entry at p (and the one after it) within [p, end).
bool entry_at(const unsigned char* p, const unsigned char* end, std::string_view& e,
              const unsigned char*& after) {
    size_t len = 0;
    if (!get_varint(p, end, len) || len > static_cast<size_t>(end - p)) return false;
    e = std::string_view(reinterpret_cast<const char*>(p), len);
    after = p + len;
    return true;
}

}  // namespace

bool decode(std::string_view value, std::vector<std::string_view>& out) {
    out.clear();
    if (!value.empty() && static_cast<uint8_t>(value[0]) == kQuicklist) {
        // Views into a compressed node would outlive the buffer it inflates
        // into: such a list decodes through the Entries form only.
        QuicklistView v;
        return v.parse(value) && v.compressed_nodes() == 0 && v.decode_all(out);
    }
    Hashed h;
    if (parse_hashed(value, h))
        return decode_node(std::string_view(reinterpret_cast<const char*>(h.entries),
                                            static_cast<size_t>(h.entries_end - h.entries)),
                           h.n, out);
    if (value.size() < kHeaderSize || static_cast<uint8_t>(value[0]) != kCompact) return false;
    return decode_node(value.substr(kHeaderSize), get_u32(value.data() + 1), out);
}

bool decode(std::string_view value, Entries& out) {
    uint32_t n = 0;
    const char* ints = parse_intset(value, n);
    if (ints == nullptr && !value.empty() && static_cast<uint8_t>(value[0]) == kQuicklist) {
        out.clear();
        out.text.clear();
        QuicklistView v;
        if (!v.parse(value) || !v.decode_all(out)) return false;
        if (v.compressed_nodes() == 0) return true;
        // Inflated entries live in the view: copied into out.text (sized
        // whole first, so the views below never move).
        size_t total = 0;
        for (std::string_view e : out)
            total += e.size();
        out.text.resize(total);
        char* p = out.text.data();
        for (std::string_view& e : out) {
            if (!e.empty()) std::memcpy(p, e.data(), e.size());
            e = std::string_view(p, e.size());
            p += e.size();
        }
        return true;
    }
    if (ints == nullptr) {
        out.text.clear();
        return decode(value, static_cast<std::vector<std::string_view>&>(out));
    }
    out.clear();
    out.text.clear();
    // Reserved whole first: the views below point into it.
    out.text.resize(size_t{n} * 20);
    out.reserve(n);
    char* p = out.text.data();
    for (uint32_t i = 0; i < n; ++i) {
        const auto r = std::to_chars(p, p + 20, get_i64(ints + size_t{i} * 8));
        out.emplace_back(p, static_cast<size_t>(r.ptr - p));
        p = r.ptr;
    }
    return true;
}

uint8_t encoding_tag(std::string_view value) {
    return value.empty() ? 0 : static_cast<uint8_t>(value[0]);
}

uint8_t choose_encoding(store::ItemType type, std::span<const std::string_view> entries,
                        const EncodePolicy& p, uint8_t old) {
    if (type != store::ItemType::kSet && type != store::ItemType::kHash) return kCompact;
    const bool fresh = p.change == Change::kFresh || old == 0;
    // Redis converts one way, and only when something is added.
    if (!fresh && (old == kHashed || p.change == Change::kShrink)) return old;
    if (type == store::ItemType::kSet) {
        const int64_t max = std::min(p.limits.set_max_intset_entries, kMaxIntsetEntries);
        const bool small = static_cast<int64_t>(entries.size()) <= max;
        return small && all_integers(entries) ? kIntset : kHashed;
    }
    if (static_cast<int64_t>(entries.size() / 2) > p.limits.hash_max_listpack_entries)
        return kHashed;
    const auto value_max =
        static_cast<uint64_t>(std::max<int64_t>(p.limits.hash_max_listpack_value, 0));
    for (std::string_view e : entries)
        if (e.size() > value_max) return kHashed;
    return kCompact;
}

int64_t size(std::string_view value) {
    if (!value.empty() && static_cast<uint8_t>(value[0]) == kQuicklist) {
        QuicklistView v;
        return v.parse(value) ? int64_t{v.size()} : -1;
    }
    if (value.size() >= kHashedHeaderSize && static_cast<uint8_t>(value[0]) == kHashed)
        return get_u32(value.data() + 1);
    uint32_t n = 0;
    if (parse_intset(value, n) != nullptr) return n;
    if (value.size() >= kHeaderSize && static_cast<uint8_t>(value[0]) == kCompact)
        return get_u32(value.data() + 1);
    return -1;
}

Hit lookup(std::string_view value, std::string_view key, size_t step) {
    Hit hit;
    std::string_view e;
    const unsigned char* after = nullptr;
    uint32_t n_ints = 0;
    if (const char* ints = parse_intset(value, n_ints); ints != nullptr) {
        int64_t want = 0;
        if (!resp_parse_int(key, want)) return hit;  // Redis: not an integer, not a member
        size_t lo = 0, hi = n_ints;
        while (lo < hi) {
            const size_t mid = lo + (hi - lo) / 2;
            const int64_t v = get_i64(ints + mid * 8);
            if (v == want) {
                hit.found = true;
                return hit;
            }
            if (v < want)
                lo = mid + 1;
            else
                hi = mid;
        }
        return hit;
    }
    Hashed h;
    if (parse_hashed(value, h)) {
        const size_t elen = static_cast<size_t>(h.entries_end - h.entries);
        const uint32_t mask = h.slots - 1;
        size_t slot = key_hash(key) & mask;
        for (uint32_t probes = 0; probes < h.slots; ++probes, slot = (slot + 1) & mask) {
            const uint32_t at = get_u32(h.index + slot * 4);
            if (at == 0 || at - 1 >= elen) return hit;  // empty, or corrupt
            if (!entry_at(h.entries + at - 1, h.entries_end, e, after)) return hit;
            if (e != key) continue;
            hit.found = true;
            if (after < h.entries_end && entry_at(after, h.entries_end, e, after)) hit.next = e;
            return hit;
        }
        return hit;
    }
    if (value.size() < kHeaderSize || static_cast<uint8_t>(value[0]) != kCompact) return hit;
    const auto* p = reinterpret_cast<const unsigned char*>(value.data()) + kHeaderSize;
    const auto* end = reinterpret_cast<const unsigned char*>(value.data()) + value.size();
    const uint32_t n = get_u32(value.data() + 1);
    for (uint32_t i = 0; i < n; ++i) {
        if (!entry_at(p, end, e, after)) return hit;
        p = after;
        if (i % step != 0 || e != key) continue;
        hit.found = true;
        if (i + 1 < n && entry_at(p, end, e, after)) hit.next = e;
        return hit;
    }
    return hit;
}

size_t encoded_size(std::span<const std::string_view> entries) {
    size_t n = kHeaderSize;
    for (std::string_view e : entries)
        n += entry_size(e);
    return n;
}

size_t encoded_size(uint8_t tag, store::ItemType type, size_t key_len,
                    std::span<const std::string_view> entries) {
    if (tag == kIntset) return intset_size(entries);
    if (tag == kHashed && hashed_fits(type, key_len, entries)) return hashed_size(type, entries);
    return encoded_size(entries);
}

void encode(uint8_t tag, store::ItemType type, size_t key_len,
            std::span<const std::string_view> entries, char* dst) {
    if (tag == kIntset)
        encode_intset(entries, dst);
    else if (tag == kHashed && hashed_fits(type, key_len, entries))
        encode_hashed(type, entries, dst);
    else
        encode(entries, dst);
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
           std::vector<std::string_view>& entries, uint8_t* tag) {
    store::ItemMeta meta;
    entries.clear();
    if (resp::read_key(key, ctx, meta) != store::ReadStatus::kHit) return Found::kMissing;
    if (resp::item_type(meta) != type) return Found::kWrongType;
    if (tag != nullptr) *tag = encoding_tag({ctx.scratch.data(), meta.value_len});
    // A collection that does not decode was never written by write(): treat
    // it as absent rather than answer garbage.
    if (!decode({ctx.scratch.data(), meta.value_len}, entries)) return Found::kMissing;
    return Found::kFound;
}

Found read(std::string_view key, store::ItemType type, const RespReadCtx& ctx, Entries& entries,
           uint8_t* tag) {
    store::ItemMeta meta;
    entries.clear();
    if (resp::read_key(key, ctx, meta) != store::ReadStatus::kHit) return Found::kMissing;
    if (resp::item_type(meta) != type) return Found::kWrongType;
    if (tag != nullptr) *tag = encoding_tag({ctx.scratch.data(), meta.value_len});
    if (!decode({ctx.scratch.data(), meta.value_len}, entries)) return Found::kMissing;
    return Found::kFound;
}

Found read_value(std::string_view key, store::ItemType type, const RespReadCtx& ctx,
                 std::string_view& value) {
    store::ItemMeta meta;
    value = {};
    if (resp::read_key(key, ctx, meta) != store::ReadStatus::kHit) return Found::kMissing;
    if (resp::item_type(meta) != type) return Found::kWrongType;
    value = std::string_view(ctx.scratch.data(), meta.value_len);
    if (size(value) < 0) return Found::kMissing;
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

Found find(store::Shard& s, const store::KeyRef& k, store::ItemType type, UnixTime now,
           Entries& entries, UnixTime* exptime) {
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
    return write(s, k, type, entries, exptime, now, EncodePolicy{});
}

namespace {

// The key's current encoding when it holds a `type` (0 otherwise: a new
// collection).
uint8_t old_tag(store::Shard& s, const store::KeyRef& k, store::ItemType type, UnixTime now) {
    const store::Item* old = s.find(k, now);
    return old != nullptr && old->type() == type ? encoding_tag(old->value()) : 0;
}

}  // namespace

WriteStatus write(store::Shard& s, const store::KeyRef& k, store::ItemType type,
                  std::span<const std::string_view> entries, UnixTime exptime, UnixTime now,
                  const EncodePolicy& policy) {
    if (type == store::ItemType::kList) return write(s, k, type, entries, exptime, now);
    const uint8_t tag = choose_encoding(type, entries, policy, old_tag(s, k, type, now));
    const size_t key_len = k.key.size();
    return write_value(s, k, type, entries.size(), encoded_size(tag, type, key_len, entries),
                       exptime, now, [&](char* dst) { encode(tag, type, key_len, entries, dst); });
}

size_t write_size(store::Shard& s, const store::KeyRef& k, store::ItemType type,
                  std::span<const std::string_view> entries, UnixTime now,
                  const EncodePolicy& policy) {
    const uint8_t tag = choose_encoding(type, entries, policy, old_tag(s, k, type, now));
    return encoded_size(tag, type, k.key.size(), entries);
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
