// Redis 7.0.15's DUMP payload (rdb_payload.h): the RDB length and string
// encodings, listpacks, intsets and (read only) ziplists, written from the
// formats' descriptions (rdb.h, listpack.c's and ziplist.c's header
// comments), with every read bounded by the bytes present.
#include "engine/rdb_payload.h"

#include <fmt/core.h>
#include <lzf.h>

#include <algorithm>
#include <charconv>
#include <climits>
#include <cstring>
#include <unordered_set>

#include "common/crc64.h"
#include "engine/resp_collection.h"
#include "engine/resp_commands.h"
#include "store/slab.h"

namespace fulmar::engine::rdb {
namespace {

// What a load may decode (entries' bytes plus one a entry): past it the
// object cannot fit one item in any of our encodings (an intset keeps 8
// bytes of what decodes to at most 20, hence the margin).
constexpr size_t kMaxDecoded = 4 * store::kMaxItemSize;

// ---- little and big endian ----------------------------------------------

void put_le(std::string& o, uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i)
        o += static_cast<char>((v >> (8 * i)) & 0xff);
}
void put_be(std::string& o, uint64_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; --i)
        o += static_cast<char>((v >> (8 * i)) & 0xff);
}
uint64_t get_le(const char* p, int bytes) {
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i)
        v = (v << 8) | static_cast<uint8_t>(p[i]);
    return v;
}
uint64_t get_be(const char* p, int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i)
        v = (v << 8) | static_cast<uint8_t>(p[i]);
    return v;
}
// A two's complement field of `bits` bits, sign-extended.
int64_t sign_extend(uint64_t v, int bits) {
    const uint64_t sign = uint64_t{1} << (bits - 1);
    return static_cast<int64_t>((v ^ sign) - sign);
}

// ---- writing --------------------------------------------------------------

// rdbSaveLen: 6 bits, 14 bits (big endian), 0x80 + 32 bits, 0x81 + 64 bits.
void put_len(std::string& o, uint64_t n) {
    if (n < 64) {
        o += static_cast<char>(n);
    } else if (n < 16384) {
        o += static_cast<char>(0x40 | (n >> 8));
        o += static_cast<char>(n & 0xff);
    } else if (n <= UINT32_MAX) {
        o += static_cast<char>(0x80);
        put_be(o, n, 4);
    } else {
        o += static_cast<char>(0x81);
        put_be(o, n, 8);
    }
}

// rdbSaveRawString's choices: an integer of at most 11 characters that
// reads back as itself and fits 32 bits as 0xC0/0xC1/0xC2 + the integer;
// past 20 bytes LZF (0xC3, compressed length, length, data) when that
// saves at least 4 bytes; else the length and the bytes.
void put_string(std::string& o, std::string_view s) {
    int64_t v = 0;
    if (s.size() <= 11 && resp_parse_int(s, v) && v >= INT32_MIN && v <= INT32_MAX) {
        if (v >= INT8_MIN && v <= INT8_MAX) {
            o += static_cast<char>(0xC0);
            put_le(o, static_cast<uint64_t>(v), 1);
        } else if (v >= INT16_MIN && v <= INT16_MAX) {
            o += static_cast<char>(0xC1);
            put_le(o, static_cast<uint64_t>(v), 2);
        } else {
            o += static_cast<char>(0xC2);
            put_le(o, static_cast<uint64_t>(v), 4);
        }
        return;
    }
    if (s.size() > 20) {
        std::string c(s.size() - 4, '\0');
        const unsigned n = lzf_compress(s.data(), static_cast<unsigned>(s.size()), c.data(),
                                        static_cast<unsigned>(c.size()));
        if (n > 0) {
            o += static_cast<char>(0xC3);
            put_len(o, n);
            put_len(o, s.size());
            o.append(c.data(), n);
            return;
        }
    }
    put_len(o, s.size());
    o.append(s);
}

// A listpack entry's back-length: its encoding and data's length, 7 bits a
// byte, read right to left (the rightmost byte holds the low bits; every
// byte but the leftmost has its high bit set).
void put_backlen(std::string& o, uint64_t l) {
    int n = 1;
    while (n < 5 && l >= (uint64_t{1} << (7 * n)))
        ++n;
    for (int i = n - 1; i >= 0; --i) {
        const auto b = static_cast<uint8_t>((l >> (7 * i)) & 127);
        o += static_cast<char>(i == n - 1 ? b : (b | 128));
    }
}

// One listpack entry (listpack.c's encodings): integers in the smallest of
// 7-bit, 13-bit, 16, 24, 32 and 64 bits; strings with a 6-bit, 12-bit or
// 32-bit length.
void put_lp_entry(std::string& lp, std::string_view e) {
    const size_t start = lp.size();
    int64_t v = 0;
    if (e.size() <= 20 && resp_parse_int(e, v)) {
        if (v >= 0 && v <= 127) {
            lp += static_cast<char>(v);
        } else if (v >= -4096 && v <= 4095) {
            const auto u = static_cast<uint64_t>(v) & 0x1fff;
            lp += static_cast<char>(0xC0 | (u >> 8));
            lp += static_cast<char>(u & 0xff);
        } else if (v >= INT16_MIN && v <= INT16_MAX) {
            lp += static_cast<char>(0xF1);
            put_le(lp, static_cast<uint64_t>(v), 2);
        } else if (v >= -(int64_t{1} << 23) && v < (int64_t{1} << 23)) {
            lp += static_cast<char>(0xF2);
            put_le(lp, static_cast<uint64_t>(v), 3);
        } else if (v >= INT32_MIN && v <= INT32_MAX) {
            lp += static_cast<char>(0xF3);
            put_le(lp, static_cast<uint64_t>(v), 4);
        } else {
            lp += static_cast<char>(0xF4);
            put_le(lp, static_cast<uint64_t>(v), 8);
        }
    } else if (e.size() < 64) {
        lp += static_cast<char>(0x80 | e.size());
        lp.append(e);
    } else if (e.size() < 4096) {
        lp += static_cast<char>(0xE0 | (e.size() >> 8));
        lp += static_cast<char>(e.size() & 0xff);
        lp.append(e);
    } else {
        lp += static_cast<char>(0xF0);
        put_le(lp, e.size(), 4);
        lp.append(e);
    }
    put_backlen(lp, lp.size() - start);
}

// A listpack: total bytes (u32 LE), entry count (u16 LE, 65535 when it
// does not fit), the entries, 0xFF.
std::string listpack(std::span<const std::string_view> entries) {
    std::string lp(6, '\0');
    for (std::string_view e : entries)
        put_lp_entry(lp, e);
    lp += static_cast<char>(0xFF);
    std::string head;
    put_le(head, lp.size(), 4);
    put_le(head, std::min<size_t>(entries.size(), 65535), 2);
    lp.replace(0, 6, head);
    return lp;
}

// An intset: encoding (bytes an integer: 2, 4 or 8; the smallest that
// holds every member), count, the members ascending, all little endian.
std::string intset(std::span<const std::string_view> members) {
    std::vector<int64_t> v;
    v.reserve(members.size());
    for (std::string_view m : members) {
        int64_t x = 0;
        (void)resp_parse_int(m, x);
        v.push_back(x);
    }
    std::sort(v.begin(), v.end());
    int width = 2;
    for (int64_t x : v) {
        if (x < INT32_MIN || x > INT32_MAX)
            width = 8;
        else if ((x < INT16_MIN || x > INT16_MAX) && width < 4)
            width = 4;
    }
    std::string o;
    put_le(o, static_cast<uint64_t>(width), 4);
    put_le(o, v.size(), 4);
    for (int64_t x : v)
        put_le(o, static_cast<uint64_t>(x), width);
    return o;
}

// The RDB object of a value as the item keeps it; its type byte in `type`.
bool write_object(store::ItemType t, std::string_view value, const coll::ListFill& fill,
                  uint8_t& type, std::string& o) {
    switch (t) {
        case store::ItemType::kString:
            type = kTypeString;
            put_string(o, value);
            return true;
        case store::ItemType::kList: {
            coll::QuicklistView v;
            if (!v.parse(value)) return false;
            type = kTypeListQuicklist2;
            put_len(o, v.nodes());
            std::vector<std::string_view> ents;
            size_t first = 0;
            for (uint32_t i = 0; i < v.nodes(); ++i) {
                const uint32_t n = v.node_entries(i);
                ents.clear();
                if (n == 0 || !v.range(first, first + n - 1, ents)) return false;
                first += n;
                // QUICKLIST_NODE_CONTAINER_PLAIN 1, PACKED 2.
                if (n == 1 && fill.plain(ents[0])) {
                    put_len(o, 1);
                    put_string(o, ents[0]);
                } else {
                    put_len(o, 2);
                    put_string(o, listpack(ents));
                }
            }
            return true;
        }
        case store::ItemType::kSet:
        case store::ItemType::kHash: {
            coll::Entries ents;
            if (!coll::decode(value, ents)) return false;
            const uint8_t tag = coll::encoding_tag(value);
            if (t == store::ItemType::kSet) {
                if (tag == coll::kIntset) {
                    type = kTypeSetIntset;
                    put_string(o, intset(ents));
                    return true;
                }
                type = kTypeSet;
                put_len(o, ents.size());
                for (std::string_view m : ents)
                    put_string(o, m);
                return true;
            }
            if (ents.size() % 2 != 0) return false;
            if (tag == coll::kHashed) {
                type = kTypeHash;
                put_len(o, ents.size() / 2);
                for (std::string_view e : ents)
                    put_string(o, e);
                return true;
            }
            type = kTypeHashListpack;
            put_string(o, listpack(ents));
            return true;
        }
        default:
            return false;
    }
}

// ---- reading --------------------------------------------------------------

// A bounded reader of the payload's object; the first failure sticks.
class Reader {
  public:
    explicit Reader(std::string_view b) : b_(b) {}
    bool ok() const { return status_ == LoadStatus::kOk; }
    LoadStatus status() const { return status_; }
    bool at_end() const { return pos_ == b_.size(); }
    void fail(LoadStatus st = LoadStatus::kBadFormat) {
        if (status_ == LoadStatus::kOk) status_ = st;
    }

    uint8_t byte() {
        if (pos_ >= b_.size()) {
            fail();
            return 0;
        }
        return static_cast<uint8_t>(b_[pos_++]);
    }
    const char* take(size_t n) {
        if (n > b_.size() - pos_) {
            fail();
            return nullptr;
        }
        const char* p = b_.data() + pos_;
        pos_ += n;
        return p;
    }

    // rdbLoadLenByRef: the length, or (encoded) the special encoding's
    // number in its 6 low bits.
    uint64_t len(bool* encoded = nullptr) {
        if (encoded != nullptr) *encoded = false;
        const uint8_t b = byte();
        if (!ok()) return 0;
        switch (b >> 6) {
            case 0:
                return b & 0x3f;
            case 1: {
                const uint8_t lo = byte();
                return (uint64_t{b & 0x3fu} << 8) | lo;
            }
            case 2: {
                const int n = b == 0x80 ? 4 : b == 0x81 ? 8 : 0;
                if (n == 0) {
                    fail();
                    return 0;
                }
                const char* p = take(static_cast<size_t>(n));
                return p != nullptr ? get_be(p, n) : 0;
            }
            default:
                if (encoded == nullptr) {
                    fail();
                    return 0;
                }
                *encoded = true;
                return b & 0x3f;
        }
    }

    // A count of things that follow, each at least one byte: more than the
    // bytes left is malformed (so no count sizes memory).
    uint64_t count() {
        const uint64_t n = len();
        if (ok() && n > b_.size() - pos_) fail();
        return ok() ? n : 0;
    }

    // rdbGenericLoadStringObject: the string into `out` (replaced).
    void string(std::string& out) {
        out.clear();
        bool encoded = false;
        const uint64_t n = len(&encoded);
        if (!ok()) return;
        if (!encoded) {
            // A length past the bytes present is malformed; one present but
            // past what an item could hold is too large.
            if (n > b_.size() - pos_) return fail();
            if (n > kMaxDecoded) return fail(LoadStatus::kTooLarge);
            const char* p = take(n);
            if (p != nullptr) out.assign(p, n);
            return;
        }
        if (n <= 2) {  // RDB_ENC_INT8, INT16, INT32: little endian
            const int w = 1 << n;
            const char* p = take(static_cast<size_t>(w));
            if (p != nullptr) out = fmt::format("{}", sign_extend(get_le(p, w), 8 * w));
            return;
        }
        if (n != 3) return fail();  // RDB_ENC_LZF
        const uint64_t clen = len();
        const uint64_t ulen = len();
        if (!ok()) return;
        if (ulen > kMaxDecoded) return fail(LoadStatus::kTooLarge);
        const char* p = take(clen);
        if (p == nullptr) return;
        out.resize(ulen);
        // liblzf answers 0 for a bad stream or one that would overrun.
        const unsigned got =
            lzf_decompress(p, static_cast<unsigned>(clen), out.data(), static_cast<unsigned>(ulen));
        if (got != ulen) fail();
    }

  private:
    std::string_view b_;
    size_t pos_ = 0;
    LoadStatus status_ = LoadStatus::kOk;
};

// An entry into `out`, within the load's budget.
bool add(Loaded& out, std::string_view e, Reader& r) {
    if (out.decoded_bytes() + e.size() + 1 > kMaxDecoded) {
        r.fail(LoadStatus::kTooLarge);
        return false;
    }
    out.add_entry(e);
    return true;
}
bool add_int(Loaded& out, int64_t v, Reader& r) {
    char buf[24];
    const auto res = std::to_chars(buf, buf + sizeof buf, v);
    return add(out, std::string_view(buf, static_cast<size_t>(res.ptr - buf)), r);
}

// A listpack's entries appended to out; the number added in `n`. Every
// entry's encoding, bounds and back-length are checked, the count in the
// header too (unless 65535: not kept), and the end byte is the last.
bool read_listpack(std::string_view lp, Loaded& out, Reader& r, size_t& n) {
    n = 0;
    if (lp.size() < 7 || get_le(lp.data(), 4) != lp.size()) return false;
    const uint64_t header_n = get_le(lp.data() + 4, 2);
    const size_t end = lp.size() - 1;
    size_t pos = 6;
    std::string back;
    while (pos < end) {
        const auto b = static_cast<uint8_t>(lp[pos]);
        size_t head = 1, slen = 0;
        bool is_int = true;
        int64_t v = 0;
        const auto need = [&](size_t k) { return pos + k <= end; };
        if ((b & 0x80) == 0) {
            v = b;
        } else if ((b & 0xC0) == 0x80) {
            is_int = false;
            slen = b & 0x3f;
        } else if ((b & 0xE0) == 0xC0) {
            if (!need(2)) return false;
            head = 2;
            v = sign_extend((uint64_t{b & 0x1fu} << 8) | static_cast<uint8_t>(lp[pos + 1]), 13);
        } else if ((b & 0xF0) == 0xE0) {
            if (!need(2)) return false;
            is_int = false;
            head = 2;
            slen = (size_t{b & 0x0fu} << 8) | static_cast<uint8_t>(lp[pos + 1]);
        } else if (b == 0xF0) {
            if (!need(5)) return false;
            is_int = false;
            head = 5;
            slen = get_le(lp.data() + pos + 1, 4);
        } else if (b >= 0xF1 && b <= 0xF4) {
            const int w = b == 0xF1 ? 2 : b == 0xF2 ? 3 : b == 0xF3 ? 4 : 8;
            head = 1 + static_cast<size_t>(w);
            if (!need(head)) return false;
            v = sign_extend(get_le(lp.data() + pos + 1, w), 8 * w);
        } else {
            return false;  // 0xF5..0xFE: no such encoding; 0xFF before the end
        }
        if (slen > end - pos - head) return false;
        const size_t entry = head + slen;
        back.clear();
        put_backlen(back, entry);
        if (back.size() > end - pos - entry || lp.compare(pos + entry, back.size(), back) != 0)
            return false;
        if (is_int ? !add_int(out, v, r) : !add(out, lp.substr(pos + head, slen), r)) return false;
        pos += entry + back.size();
        ++n;
    }
    if (pos != end || static_cast<uint8_t>(lp[end]) != 0xFF) return false;
    return header_n == 65535 || header_n == n;
}

// A ziplist's entries appended to out (the forms of Redis before 7.0):
// zlbytes, zltail (u32 LE), zllen (u16 LE), entries each a previous-entry
// length (1 byte, or 0xFE + u32), an encoding and data, then 0xFF.
bool read_ziplist(std::string_view zl, Loaded& out, Reader& r, size_t& n) {
    n = 0;
    if (zl.size() < 11 || get_le(zl.data(), 4) != zl.size()) return false;
    const uint64_t tail = get_le(zl.data() + 4, 4);
    const uint64_t header_n = get_le(zl.data() + 8, 2);
    const size_t end = zl.size() - 1;
    size_t pos = 10, prev_len = 0, last = 10;
    while (pos < end) {
        const auto p0 = static_cast<uint8_t>(zl[pos]);
        size_t plen = 1;
        uint64_t prev = p0;
        if (p0 == 0xFE) {
            if (pos + 5 > end) return false;
            plen = 5;
            prev = get_le(zl.data() + pos + 1, 4);
        } else if (p0 == 0xFF) {
            return false;
        }
        if (prev != prev_len || pos + plen >= end) return false;
        const size_t e = pos + plen;
        const auto b = static_cast<uint8_t>(zl[e]);
        size_t head = 1, slen = 0;
        bool is_int = true;
        int64_t v = 0;
        switch (b >> 6) {
            case 0:
                is_int = false;
                slen = b & 0x3f;
                break;
            case 1:
                if (e + 2 > end) return false;
                is_int = false;
                head = 2;
                slen = (size_t{b & 0x3fu} << 8) | static_cast<uint8_t>(zl[e + 1]);
                break;
            case 2:
                if (b != 0x80 || e + 5 > end) return false;
                is_int = false;
                head = 5;
                slen = get_be(zl.data() + e + 1, 4);
                break;
            default: {
                int w = 0;
                if (b == 0xC0)
                    w = 2;
                else if (b == 0xD0)
                    w = 4;
                else if (b == 0xE0)
                    w = 8;
                else if (b == 0xF0)
                    w = 3;
                else if (b == 0xFE)
                    w = 1;
                else if (b >= 0xF1 && b <= 0xFD)
                    v = (b & 0x0f) - 1;
                else
                    return false;
                head = 1 + static_cast<size_t>(w);
                if (e + head > end) return false;
                if (w > 0) v = sign_extend(get_le(zl.data() + e + 1, w), 8 * w);
            }
        }
        if (slen > end - e - head) return false;
        if (is_int ? !add_int(out, v, r) : !add(out, zl.substr(e + head, slen), r)) return false;
        last = pos;
        prev_len = plen + head + slen;
        pos = e + head + slen;
        ++n;
    }
    if (pos != end || static_cast<uint8_t>(zl[end]) != 0xFF) return false;
    if (n > 0 && tail != last) return false;
    return header_n == 65535 || header_n == n;
}

// An intset's members (as decimal text), ascending and distinct.
bool read_intset(std::string_view is, Loaded& out, Reader& r) {
    if (is.size() < 8) return false;
    const uint64_t w = get_le(is.data(), 4);
    const uint64_t n = get_le(is.data() + 4, 4);
    if ((w != 2 && w != 4 && w != 8) || n == 0 || (is.size() - 8) / w != n ||
        (is.size() - 8) % w != 0)
        return false;
    int64_t prev = 0;
    for (uint64_t i = 0; i < n; ++i) {
        const int64_t v = sign_extend(get_le(is.data() + 8 + i * w, static_cast<int>(w)),
                                      static_cast<int>(8 * w));
        if (i > 0 && v <= prev) return false;
        prev = v;
        if (!add_int(out, v, r)) return false;
    }
    return true;
}

// Redis refuses a set with a member twice or a hash with a field twice
// ("Duplicate ... detected").
bool distinct(std::span<const std::string_view> e, size_t step) {
    std::unordered_set<std::string_view> seen;
    seen.reserve(e.size() / step);
    for (size_t i = 0; i < e.size(); i += step)
        if (!seen.insert(e[i]).second) return false;
    return true;
}

void load_object(uint8_t type, Reader& r, Loaded& out) {
    std::string s;
    const auto fail = [&] { r.fail(); };
    switch (type) {
        case kTypeString:
            out.type = store::ItemType::kString;
            r.string(s);
            if (r.ok()) (void)add(out, s, r);
            return;
        case kTypeList:
        case kTypeSet:
        case kTypeHash: {
            out.type = type == kTypeList  ? store::ItemType::kList
                       : type == kTypeSet ? store::ItemType::kSet
                                          : store::ItemType::kHash;
            uint64_t n = r.count();
            if (type == kTypeHash && n > UINT64_MAX / 2) return fail();
            if (type == kTypeHash) n *= 2;
            if (r.ok() && n == 0) return fail();  // Redis: "Empty keys"
            for (uint64_t i = 0; i < n && r.ok(); ++i) {
                r.string(s);
                if (r.ok()) (void)add(out, s, r);
            }
            return;
        }
        case kTypeListQuicklist:
        case kTypeListQuicklist2: {
            out.type = store::ItemType::kList;
            const uint64_t nodes = r.count();
            for (uint64_t i = 0; i < nodes && r.ok(); ++i) {
                uint64_t container = 2;  // PACKED
                if (type == kTypeListQuicklist2) container = r.len();
                if (!r.ok()) return;
                if (container != 1 && container != 2) return fail();
                r.string(s);
                if (!r.ok()) return;
                if (s.empty()) return fail();
                if (container == 1) {  // PLAIN: the node is the one element
                    if (add(out, s, r)) out.list_nodes.push_back(1);
                    continue;
                }
                size_t got = 0;
                const bool ok = type == kTypeListQuicklist2 ? read_listpack(s, out, r, got)
                                                            : read_ziplist(s, out, r, got);
                if (!r.ok()) return;
                if (!ok) return fail();
                // Redis skips an empty node silently.
                if (got > 0) out.list_nodes.push_back(static_cast<uint32_t>(got));
            }
            if (r.ok() && out.list_nodes.empty()) fail();
            return;
        }
        case kTypeListZiplist:
        case kTypeSetIntset:
        case kTypeHashZiplist:
        case kTypeHashListpack: {
            out.type = type == kTypeListZiplist ? store::ItemType::kList
                       : type == kTypeSetIntset ? store::ItemType::kSet
                                                : store::ItemType::kHash;
            r.string(s);
            if (!r.ok()) return;
            size_t got = 0;
            bool ok = false;
            if (type == kTypeSetIntset)
                ok = read_intset(s, out, r);
            else if (type == kTypeHashListpack)
                ok = read_listpack(s, out, r, got);
            else
                ok = read_ziplist(s, out, r, got);
            if (!r.ok()) return;
            if (!ok) return fail();
            if (out.type == store::ItemType::kHash && (got == 0 || got % 2 != 0)) return fail();
            if (out.type == store::ItemType::kList && got == 0) return fail();
            return;
        }
        case kTypeZset:
        case kTypeZset2:
        case kTypeZsetZiplist:
        case kTypeZsetListpack:
        case kTypeModule:
        case kTypeModule2:
        case kTypeStreamListpacks:
        case kTypeStreamListpacks2:
        case kTypeHashZipmap:
            return r.fail(LoadStatus::kUnsupported);
        default:
            return fail();
    }
}

std::string_view type_name(uint8_t t) {
    switch (t) {
        case kTypeZset:
        case kTypeZset2:
        case kTypeZsetZiplist:
        case kTypeZsetListpack:
            return "a sorted set";
        case kTypeModule:
        case kTypeModule2:
            return "a module value";
        case kTypeStreamListpacks:
        case kTypeStreamListpacks2:
            return "a stream";
        case kTypeHashZipmap:
            return "a zipmap hash (Redis before 2.6)";
        default:
            return "a value";
    }
}

}  // namespace

// ---- Loaded ---------------------------------------------------------------

char* Loaded::add_entry(size_t len) {
    const size_t at = arena_.size();
    arena_.resize(at + len);
    spans_.emplace_back(static_cast<uint32_t>(at), static_cast<uint32_t>(len));
    return arena_.data() + at;
}

void Loaded::add_entry(std::string_view bytes) {
    char* p = add_entry(bytes.size());
    if (!bytes.empty()) std::memcpy(p, bytes.data(), bytes.size());
}

void Loaded::finish() {
    entries.clear();
    entries.reserve(spans_.size());
    for (const auto& [at, n] : spans_)
        entries.emplace_back(arena_.data() + at, n);
}

void Loaded::clear() {
    type = store::ItemType::kString;
    rdb_type = 0;
    entries.clear();
    list_nodes.clear();
    arena_.clear();
    spans_.clear();
}

// ---- the payload ------------------------------------------------------------

bool dump(store::ItemType type, std::string_view value, const coll::ListFill& fill,
          std::string& out) {
    const size_t start = out.size();
    out += '\0';
    uint8_t t = 0;
    if (!write_object(type, value, fill, t, out)) {
        out.resize(start);
        return false;
    }
    out[start] = static_cast<char>(t);
    put_le(out, kRdbVersion, 2);
    put_le(out, crc64_jones(0, std::string_view(out).substr(start)), 8);
    return true;
}

int64_t serialized_length(store::ItemType type, std::string_view value,
                          const coll::ListFill& fill) {
    std::string o;
    uint8_t t = 0;
    return write_object(type, value, fill, t, o) ? static_cast<int64_t>(o.size()) : -1;
}

LoadStatus load(std::string_view payload, Loaded& out) {
    out.clear();
    // verifyDumpPayload: at least the type byte's place, the version and
    // the CRC; a version newer than ours; the CRC of everything before it.
    if (payload.size() < 10) return LoadStatus::kBadTrailer;
    const size_t body = payload.size() - 10;
    if (get_le(payload.data() + body, 2) > kRdbVersion) return LoadStatus::kBadTrailer;
    if (get_le(payload.data() + body + 2, 8) != crc64_jones(0, payload.substr(0, body + 2)))
        return LoadStatus::kBadTrailer;
    Reader r(payload.substr(0, body));
    out.rdb_type = r.byte();
    if (!r.ok()) return LoadStatus::kBadFormat;
    load_object(out.rdb_type, r, out);
    if (r.ok() && !r.at_end()) r.fail();
    if (!r.ok()) {
        const LoadStatus st = r.status();
        out.clear();
        return st;
    }
    out.finish();
    const bool set = out.type == store::ItemType::kSet;
    if ((set || out.type == store::ItemType::kHash) && !distinct(out.entries, set ? 1 : 2)) {
        out.clear();
        return LoadStatus::kBadFormat;
    }
    return LoadStatus::kOk;
}

std::string load_error(LoadStatus st, std::string_view payload) {
    switch (st) {
        case LoadStatus::kBadTrailer:
            return "DUMP payload version or checksum are wrong";
        case LoadStatus::kUnsupported:
            return fmt::format("DUMP payload holds {} (RDB type {}), a type Fulmar does not have",
                               type_name(static_cast<uint8_t>(payload[0])),
                               static_cast<uint8_t>(payload[0]));
        case LoadStatus::kTooLarge:
            return "DUMP payload's value exceeds the 1 MiB an item holds (memcached's item limit)";
        default:
            return "Bad data format";
    }
}

}  // namespace fulmar::engine::rdb
