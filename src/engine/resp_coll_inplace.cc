// In-place set and hash writes; see resp_coll_inplace.h.
#include "engine/resp_coll_inplace.h"

#include <algorithm>
#include <cstring>
#include <unordered_set>
#include <vector>

#include "engine/resp_collection.h"
#include "engine/resp_util.h"

namespace fulmar::engine::coll {
namespace {

uint32_t get_u32(const char* p) {
    uint32_t v = 0;
    std::memcpy(&v, p, sizeof v);
    return v;
}

void put_u32(char* p, uint32_t v) {
    std::memcpy(p, &v, sizeof v);
}

int64_t get_i64(const char* p) {
    int64_t v = 0;
    std::memcpy(&v, p, sizeof v);
    return v;
}

size_t varint_size(size_t v) {
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        ++n;
    }
    return n;
}

size_t entry_bytes(std::string_view e) {
    return varint_size(e.size()) + e.size();
}

char* put_entry_at(char* p, std::string_view e) {
    size_t v = e.size();
    while (v >= 0x80) {
        *p++ = static_cast<char>((v & 0x7F) | 0x80);
        v >>= 7;
    }
    *p++ = static_cast<char>(v);
    if (!e.empty()) std::memcpy(p, e.data(), e.size());
    return p + e.size();
}

// The entry at `at` in [0, end) of `base`; false when malformed.
bool entry_at(const char* base, size_t at, size_t end, std::string_view& e, size_t& next) {
    size_t len = 0;
    size_t p = at;
    for (int shift = 0;; shift += 7) {
        if (p >= end || shift > 28) return false;
        const auto b = static_cast<unsigned char>(base[p++]);
        len |= size_t{b & 0x7Fu} << shift;
        if ((b & 0x80) == 0) break;
    }
    if (len > end - p) return false;
    e = std::string_view(base + p, len);
    next = p + len;
    return true;
}

// The value being edited: the bytes after the item's key, up to the end of
// its chunk.
struct Buf {
    char* p = nullptr;
    size_t len = 0;
    size_t cap = 0;
    // Replaces [a, b) with `size` bytes (left for the caller to fill); the
    // tail moves.
    char* splice(size_t a, size_t b, size_t size) {
        std::memmove(p + a + size, p + b, len - b);
        len = len - (b - a) + size;
        return p + a;
    }
};

Buf buf_of(store::Shard& s, store::Item& it) {
    const size_t chunk = s.slab().chunk_size_of(&it);
    const size_t used = store::kItemHeaderSize + it.key_len;
    return Buf{it.value_ptr(), it.value_len, chunk > used ? chunk - used : 0};
}

// Where a key (a member, or a field and its value) is: offsets in the
// value, the key's entry [at, key_end), the hash's value [key_end, end).
struct Pos {
    bool found = false;
    size_t at = 0;
    size_t key_end = 0;
    size_t end = 0;
    uint32_t slot = 0;  // a hashed one's index slot
};

// ---- hashed (kHashed) ------------------------------------------------------

struct HashedRef {
    uint32_t n = 0;
    uint32_t elen = 0;
    uint32_t slots = 0;
    size_t entries = 0;  // offset of the entries in the value
};

bool parse_hashed_ref(const Buf& b, HashedRef& h) {
    if (b.len < kHashedHeaderSize || static_cast<uint8_t>(b.p[0]) != kHashed) return false;
    h.n = get_u32(b.p + 1);
    h.elen = get_u32(b.p + 5);
    h.slots = get_u32(b.p + 9);
    if (h.slots == 0 || (h.slots & (h.slots - 1)) != 0) return false;
    if (uint64_t{kHashedHeaderSize} + h.elen + uint64_t{h.slots} * 4 != b.len) return false;
    h.entries = kHashedHeaderSize + size_t{h.slots} * 4;
    return true;
}

void store_hashed_header(Buf& b, const HashedRef& h) {
    put_u32(b.p + 1, h.n);
    put_u32(b.p + 5, h.elen);
}

uint32_t slot_value(const Buf& b, uint32_t slot) {
    return get_u32(b.p + kHashedHeaderSize + size_t{slot} * 4);
}

void set_slot(Buf& b, uint32_t slot, uint32_t v) {
    put_u32(b.p + kHashedHeaderSize + size_t{slot} * 4, v);
}

// The key whose entry starts at offset `off` of the entries.
bool key_at(const Buf& b, const HashedRef& h, size_t off, std::string_view& key, size_t& next) {
    return entry_at(b.p, h.entries + off, h.entries + h.elen, key, next);
}

Pos find_hashed(const Buf& b, const HashedRef& h, std::string_view key, size_t step) {
    Pos pos;
    const uint32_t mask = h.slots - 1;
    uint32_t slot = static_cast<uint32_t>(member_hash(key)) & mask;
    for (uint32_t probes = 0; probes < h.slots; ++probes, slot = (slot + 1) & mask) {
        const uint32_t v = slot_value(b, slot);
        if (v == 0 || v - 1 >= h.elen) return pos;
        std::string_view e;
        size_t next = 0;
        if (!key_at(b, h, v - 1, e, next)) return pos;
        if (e != key) continue;
        pos.found = true;
        pos.at = h.entries + v - 1;
        pos.key_end = next;
        pos.end = next;
        pos.slot = slot;
        if (step == 2 && !entry_at(b.p, next, h.entries + h.elen, e, pos.end)) pos.found = false;
        return pos;
    }
    return pos;
}

void insert_slot(Buf& b, const HashedRef& h, std::string_view key, uint32_t off) {
    const uint32_t mask = h.slots - 1;
    uint32_t slot = static_cast<uint32_t>(member_hash(key)) & mask;
    while (slot_value(b, slot) != 0)
        slot = (slot + 1) & mask;
    set_slot(b, slot, off + 1);
}

// Linear probing's deletion: later keys of the same run move back into the
// hole, so no probe stops short of them.
void erase_slot(Buf& b, const HashedRef& h, uint32_t hole) {
    const uint32_t mask = h.slots - 1;
    set_slot(b, hole, 0);
    for (uint32_t j = (hole + 1) & mask;; j = (j + 1) & mask) {
        const uint32_t v = slot_value(b, j);
        if (v == 0) return;
        std::string_view key;
        size_t next = 0;
        if (!key_at(b, h, v - 1, key, next)) return;  // checked before: not reached
        const uint32_t home = static_cast<uint32_t>(member_hash(key)) & mask;
        // It stays when its home lies cyclically in (hole, j].
        const bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
        if (stays) continue;
        set_slot(b, hole, v);
        set_slot(b, j, 0);
        hole = j;
    }
}

// Offsets past `after` (an offset in the entries) move by `delta`: every
// slot is visited, so the loop is kept branch-free (the compiler
// vectorises it). A slot holds offset + 1, so "past" is v > after + 1, and
// an empty slot (0) never is; a negative delta wraps, as u32 arithmetic
// does.
void shift_offsets(Buf& b, const HashedRef& h, size_t after, int64_t delta) {
    if (delta == 0) return;
    char* const index = b.p + kHashedHeaderSize;
    const auto bound = static_cast<uint32_t>(after + 1);
    const auto d = static_cast<uint32_t>(delta);
    for (uint32_t i = 0; i < h.slots; ++i) {
        uint32_t v = 0;
        std::memcpy(&v, index + size_t{i} * 4, 4);
        v += v > bound ? d : 0;
        std::memcpy(index + size_t{i} * 4, &v, 4);
    }
}

// ---- compact (kCompact) ----------------------------------------------------

Pos find_compact(const Buf& b, std::string_view key, size_t step) {
    Pos pos;
    if (b.len < kHeaderSize || static_cast<uint8_t>(b.p[0]) != kCompact) return pos;
    const uint32_t n = get_u32(b.p + 1);
    size_t at = kHeaderSize;
    std::string_view e;
    for (uint32_t i = 0; i < n; i += static_cast<uint32_t>(step)) {
        size_t next = 0;
        if (!entry_at(b.p, at, b.len, e, next)) return pos;
        size_t end = next;
        std::string_view v;
        if (step == 2 && !entry_at(b.p, next, b.len, v, end)) return pos;
        if (e == key) {
            pos.found = true;
            pos.at = at;
            pos.key_end = next;
            pos.end = end;
            return pos;
        }
        at = end;
    }
    return pos;
}

// Every entry of a compact value at most `max` bytes (the listpack's value
// rule a rebuild checks); false too when malformed.
bool compact_entries_within(const Buf& b, uint64_t max) {
    const uint32_t n = get_u32(b.p + 1);
    size_t at = kHeaderSize;
    std::string_view e;
    for (uint32_t i = 0; i < n; ++i) {
        size_t next = 0;
        if (!entry_at(b.p, at, b.len, e, next) || e.size() > max) return false;
        at = next;
    }
    return at == b.len;
}

bool compact_ok(const Buf& b) {
    return b.len >= kHeaderSize && static_cast<uint8_t>(b.p[0]) == kCompact;
}

// ---- intset (kIntset) -------------------------------------------------------

bool intset_ok(const Buf& b) {
    return b.len >= kIntsetHeaderSize && static_cast<uint8_t>(b.p[0]) == kIntset &&
           uint64_t{kIntsetHeaderSize} + uint64_t{get_u32(b.p + 1)} * 8 == b.len;
}

// The first position whose member is >= v; `found` when it is v.
size_t intset_lower(const Buf& b, int64_t v, bool& found) {
    size_t lo = 0, hi = get_u32(b.p + 1);
    while (lo < hi) {
        const size_t mid = lo + (hi - lo) / 2;
        if (get_i64(b.p + kIntsetHeaderSize + mid * 8) < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    found = lo < get_u32(b.p + 1) && get_i64(b.p + kIntsetHeaderSize + lo * 8) == v;
    return lo;
}

// ---- one place for every kind --------------------------------------------------

Pos find_any(const Buf& b, std::string_view key, size_t step) {
    HashedRef h;
    if (parse_hashed_ref(b, h)) return find_hashed(b, h, key, step);
    return find_compact(b, key, step);
}

// The distinct names of `names` (SADD a a adds a once).
std::vector<std::string_view> distinct(std::span<const std::string_view> names) {
    std::vector<std::string_view> out;
    out.reserve(names.size());
    if (names.size() <= 8) {
        for (std::string_view n : names)
            if (std::find(out.begin(), out.end(), n) == out.end()) out.push_back(n);
        return out;
    }
    std::unordered_set<std::string_view> seen;
    for (std::string_view n : names)
        if (seen.insert(n).second) out.push_back(n);
    return out;
}

// The write itself: `f` edits a copy of the item's value bounds and the
// value bytes under the seqlock; the item gets its new length, a new CAS
// and store time (as a rebuild's fresh item), its TTL kept.
template <typename F>
void commit(store::Shard& s, store::Item& it, UnixTime now, F&& f) {
    const uint64_t cas = s.next_cas();
    s.modify(&it, [&](store::Item& i) {
        Buf b = buf_of(s, i);
        f(b);
        i.value_len = static_cast<uint32_t>(b.len);
        i.cas = cas;
        i.time = now;
        i.type_bits = static_cast<uint8_t>(i.type());
    });
}

bool fits(const store::Item& it, const Buf& b, size_t new_len) {
    return new_len <= b.cap && mc_item_fits(it.key_len, new_len);
}

// Removes the keys of `names` present (each with its value when step is 2)
// from a set or hash; false when none would be left.
bool remove_in_place(store::Shard& s, store::Item& it, std::span<const std::string_view> names,
                     size_t step, UnixTime now, size_t& removed) {
    Buf b = buf_of(s, it);
    const std::vector<std::string_view> todo = distinct(names);
    removed = 0;
    HashedRef h;
    const bool hashed = parse_hashed_ref(b, h);
    const bool intset = !hashed && step == 1 && intset_ok(b);
    if (!hashed && !intset && !compact_ok(b)) return false;
    const uint32_t n = get_u32(b.p + 1);
    for (std::string_view m : todo) {
        if (intset) {
            int64_t v = 0;
            bool found = false;
            if (resp_parse_int(m, v)) intset_lower(b, v, found);
            removed += found ? 1 : 0;
        } else {
            removed += find_any(b, m, step).found ? 1 : 0;
        }
    }
    if (removed == 0) return true;          // nothing changes: no write, as a rebuild
    if (removed * step >= n) return false;  // the key goes: the rebuild path deletes it
    commit(s, it, now, [&](Buf& w) {
        for (std::string_view m : todo) {
            if (intset) {
                int64_t v = 0;
                bool found = false;
                const size_t at = resp_parse_int(m, v) ? intset_lower(w, v, found) : 0;
                if (!found) continue;
                const size_t off = kIntsetHeaderSize + at * 8;
                w.splice(off, off + 8, 0);
                put_u32(w.p + 1, get_u32(w.p + 1) - 1);
                continue;
            }
            if (hashed) {
                HashedRef wh;
                parse_hashed_ref(w, wh);
                const Pos p = find_hashed(w, wh, m, step);
                if (!p.found) continue;
                erase_slot(w, wh, p.slot);
                if (p.end != wh.entries + wh.elen)  // else no entry follows
                    shift_offsets(w, wh, p.at - wh.entries, -static_cast<int64_t>(p.end - p.at));
                w.splice(p.at, p.end, 0);
                wh.elen -= static_cast<uint32_t>(p.end - p.at);
                wh.n -= static_cast<uint32_t>(step);
                store_hashed_header(w, wh);
                continue;
            }
            const Pos p = find_compact(w, m, step);
            if (!p.found) continue;
            w.splice(p.at, p.end, 0);
            put_u32(w.p + 1, get_u32(w.p + 1) - static_cast<uint32_t>(step));
        }
    });
    return true;
}

}  // namespace

bool set_add_in_place(store::Shard& s, store::Item& it, std::span<const std::string_view> members,
                      const CollectionLimits& limits, UnixTime now, size_t& added) {
    Buf b = buf_of(s, it);
    added = 0;
    std::vector<std::string_view> fresh;
    HashedRef h;
    if (parse_hashed_ref(b, h)) {
        size_t bytes = 0;
        for (std::string_view m : distinct(members)) {
            if (find_hashed(b, h, m, 1).found) continue;
            fresh.push_back(m);
            bytes += entry_bytes(m);
        }
        if (fresh.empty()) return true;
        // More keys than the index holds at 3/4: a rebuild doubles it.
        if (hashed_slots_for(size_t{h.n} + fresh.size()) > h.slots) return false;
        if (!fits(it, b, b.len + bytes)) return false;
        commit(s, it, now, [&](Buf& w) {
            HashedRef wh = h;
            for (std::string_view m : fresh) {
                put_entry_at(w.p + wh.entries + wh.elen, m);
                insert_slot(w, wh, m, wh.elen);
                wh.elen += static_cast<uint32_t>(entry_bytes(m));
                ++wh.n;
            }
            w.len = wh.entries + wh.elen;
            store_hashed_header(w, wh);
        });
        added = fresh.size();
        return true;
    }
    if (!intset_ok(b)) return false;  // a compact set (its index did not fit): rebuild
    std::vector<int64_t> ints;
    for (std::string_view m : distinct(members)) {
        int64_t v = 0;
        // A member that is no integer converts the set: a rebuild.
        if (!resp_parse_int(m, v)) return false;
        bool found = false;
        intset_lower(b, v, found);
        if (!found) ints.push_back(v);
    }
    if (ints.empty()) return true;
    const int64_t max = std::min(limits.set_max_intset_entries, kMaxIntsetEntries);
    if (static_cast<int64_t>(get_u32(b.p + 1) + ints.size()) > max) return false;
    if (!fits(it, b, b.len + ints.size() * 8)) return false;
    commit(s, it, now, [&](Buf& w) {
        for (int64_t v : ints) {
            bool found = false;
            const size_t at = intset_lower(w, v, found);
            const size_t off = kIntsetHeaderSize + at * 8;
            w.len += 8;
            std::memmove(w.p + off + 8, w.p + off, w.len - 8 - off);
            std::memcpy(w.p + off, &v, 8);
            put_u32(w.p + 1, get_u32(w.p + 1) + 1);
        }
    });
    added = ints.size();
    return true;
}

bool set_remove_in_place(store::Shard& s, store::Item& it,
                         std::span<const std::string_view> members, UnixTime now, size_t& removed) {
    return remove_in_place(s, it, members, 1, now, removed);
}

bool hash_set_in_place(store::Shard& s, store::Item& it, std::span<const std::string_view> pairs,
                       const CollectionLimits& limits, UnixTime now, int64_t& created) {
    created = 0;
    if (pairs.empty() || pairs.size() % 2 != 0) return false;
    Buf b = buf_of(s, it);
    HashedRef h;
    const bool hashed = parse_hashed_ref(b, h);
    if (!hashed && !compact_ok(b)) return false;
    std::vector<std::string_view> fields;
    for (size_t i = 0; i < pairs.size(); i += 2)
        fields.push_back(pairs[i]);
    // A field named twice: the rebuild path applies them in order.
    if (distinct(fields).size() != fields.size()) return false;
    size_t new_len = b.len;
    uint64_t longest = 0;
    for (size_t i = 0; i < pairs.size(); i += 2) {
        const Pos p = find_any(b, pairs[i], 2);
        longest = std::max<uint64_t>({longest, pairs[i].size(), pairs[i + 1].size()});
        if (p.found) {
            new_len = new_len - (p.end - p.key_end) + entry_bytes(pairs[i + 1]);
        } else {
            new_len += entry_bytes(pairs[i]) + entry_bytes(pairs[i + 1]);
            ++created;
        }
    }
    const uint32_t n = get_u32(b.p + 1);
    if (hashed) {
        if (hashed_slots_for(n / 2 + static_cast<size_t>(created)) > h.slots) return false;
    } else {
        // A listpack past hash-max-listpack-entries or -value converts: a
        // rebuild (which checks every entry, as choose_encoding does).
        const auto value_max =
            static_cast<uint64_t>(std::max<int64_t>(limits.hash_max_listpack_value, 0));
        if (static_cast<int64_t>(n / 2 + static_cast<size_t>(created)) >
                limits.hash_max_listpack_entries ||
            longest > value_max || !compact_entries_within(b, value_max))
            return false;
    }
    if (!fits(it, b, new_len)) return false;
    commit(s, it, now, [&](Buf& w) {
        for (size_t i = 0; i < pairs.size(); i += 2) {
            const std::string_view f = pairs[i], v = pairs[i + 1];
            HashedRef wh;
            if (hashed) parse_hashed_ref(w, wh);
            const Pos p = hashed ? find_hashed(w, wh, f, 2) : find_compact(w, f, 2);
            if (p.found) {
                const size_t old = p.end - p.key_end;
                const size_t now_size = entry_bytes(v);
                if (hashed && p.end != wh.entries + wh.elen)
                    shift_offsets(w, wh, p.key_end - wh.entries,
                                  static_cast<int64_t>(now_size) - static_cast<int64_t>(old));
                put_entry_at(w.splice(p.key_end, p.end, now_size), v);
                if (hashed) {
                    wh.elen = static_cast<uint32_t>(wh.elen + now_size - old);
                    store_hashed_header(w, wh);
                }
                continue;
            }
            const size_t add = entry_bytes(f) + entry_bytes(v);
            put_entry_at(put_entry_at(w.p + w.len, f), v);
            if (hashed) {
                insert_slot(w, wh, f, wh.elen);
                wh.elen += static_cast<uint32_t>(add);
                wh.n += 2;
                store_hashed_header(w, wh);
            } else {
                put_u32(w.p + 1, get_u32(w.p + 1) + 2);
            }
            w.len += add;
        }
    });
    return true;
}

bool hash_del_in_place(store::Shard& s, store::Item& it, std::span<const std::string_view> fields,
                       UnixTime now, int64_t& removed) {
    size_t n = 0;
    const bool ok = remove_in_place(s, it, fields, 2, now, n);
    removed = static_cast<int64_t>(n);
    return ok;
}

}  // namespace fulmar::engine::coll
