// Redis's bit and comparison commands on strings: SETBIT, GETBIT, LCS.
// A Redis string is an item's value; bit 0 is the most significant bit of
// byte 0, as in Redis.
#include <fmt/core.h>

#include <array>
#include <cstring>
#include <string>
#include <vector>

#include "engine/resp_groups.h"
#include "engine/resp_util.h"
#include "store/item.h"
#include "store/shard.h"

namespace fulmar::engine {
namespace {

using namespace resp;

constexpr std::string_view kErrBitOffset = "bit offset is not an integer or out of range";

// Redis's getBitOffsetFromArgument: 0 .. 2^32 - 1 (512 MB of bits).
bool parse_bit_offset(std::string_view arg, uint64_t& out, ReplySink& o) {
    int64_t v = 0;
    if (!resp_parse_int(arg, v) || v < 0 || (v >> 3) >= (int64_t{512} << 20)) {
        RespWriter(o).write_error(kErrBitOffset);
        return false;
    }
    out = static_cast<uint64_t>(v);
    return true;
}

// SETBIT key offset value: the bit's old value.
bool parse_setbit(const RespRequest& req, ReplySink& out) {
    uint64_t offset = 0;
    if (!parse_bit_offset(req.args[2], offset, out)) return false;
    if (req.args[3] != "0" && req.args[3] != "1") {
        RespWriter(out).write_error("bit is not an integer or out of range");
        return false;
    }
    return true;
}

void op_setbit(const RespRequest& req, const store::KeyRef& k, EngineCtx& ctx, ReplySink& out) {
    uint64_t offset = 0;
    if (!parse_setbit(req, out) || !parse_bit_offset(req.args[2], offset, out)) return;
    const bool on = req.args[3] == "1";
    store::Shard& s = ctx.shard_for(k);
    const UnixTime now = ctx.now();
    const store::Item* it = s.find(k, now);
    RespWriter w(out);
    if (it != nullptr && !it->is_string()) {
        w.write_error(kErrWrongType);
        return;
    }
    const size_t byte = static_cast<size_t>(offset >> 3);
    const size_t old_len = it != nullptr ? it->value_len : 0;
    const size_t new_len = std::max(old_len, byte + 1);
    if (!mc_item_fits(k.key.size(), new_len)) {
        w.write_error(kErrTooLarge);
        return;
    }
    char* buf = ctx.scratch.data();
    if (it != nullptr) std::memcpy(buf, it->value_ptr(), old_len);
    if (new_len > old_len) std::memset(buf + old_len, 0, new_len - old_len);
    const auto mask = static_cast<unsigned char>(1u << (7 - (offset & 7)));
    auto& b = reinterpret_cast<unsigned char&>(buf[byte]);
    const int old_bit = (b & mask) != 0 ? 1 : 0;
    b = static_cast<unsigned char>(on ? (b | mask) : (b & ~mask));
    store::StoreArgs args = it != nullptr ? keep_args(*it) : store::StoreArgs{};
    args.raw_string = true;
    const store::StoreStatus st =
        s.store(store::StoreMode::kSet, k, std::string_view(buf, new_len), args, now);
    if (st != store::StoreStatus::kStored) {
        write_store_error(st, out);
        return;
    }
    w.write_integer(old_bit);
}

// GETBIT key offset
bool parse_getbit(const RespRequest& req, ReplySink& out) {
    uint64_t offset = 0;
    return parse_bit_offset(req.args[2], offset, out);
}

void read_getbit(const RespRequest& req, const RespReadCtx& ctx, ReplySink& out) {
    uint64_t offset = 0;
    if (!parse_bit_offset(req.args[2], offset, out)) return;
    RespWriter w(out);
    store::ItemMeta meta;
    if (read_key(req.args[1], ctx, meta) != store::ReadStatus::kHit) {
        w.write_integer(0);
        return;
    }
    if (item_type(meta) != store::ItemType::kString) {
        w.write_error(kErrWrongType);
        return;
    }
    const size_t byte = static_cast<size_t>(offset >> 3);
    if (byte >= meta.value_len) {
        w.write_integer(0);
        return;
    }
    const auto b = static_cast<unsigned char>(ctx.scratch[byte]);
    w.write_integer((b >> (7 - (offset & 7))) & 1);
}

// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN]: Redis 7.0's
// dynamic programming, its walk back from the end and its reply shapes.
// The table takes (len1 + 1) x (len2 + 1) cells of 4 bytes on the control
// plane's thread: bounded, with an error past the bound.
constexpr uint64_t kLcsMaxCells = uint64_t{16} << 20;  // 64 MiB of table

struct LcsArgs {
    bool len = false, idx = false, withmatchlen = false;
    int64_t minmatchlen = 0;
};

bool parse_lcs_args(const RespRequest& req, LcsArgs& a, ReplySink& out) {
    for (size_t i = 3; i < req.args.size(); ++i) {
        const std::string_view opt = req.args[i];
        if (iequals(opt, "IDX")) {
            a.idx = true;
        } else if (iequals(opt, "LEN")) {
            a.len = true;
        } else if (iequals(opt, "WITHMATCHLEN")) {
            a.withmatchlen = true;
        } else if (iequals(opt, "MINMATCHLEN") && i + 1 < req.args.size()) {
            if (!resp_parse_int(req.args[++i], a.minmatchlen)) {
                RespWriter(out).write_error(kErrNotInteger);
                return false;
            }
            if (a.minmatchlen < 0) a.minmatchlen = 0;
        } else {
            RespWriter(out).write_error(kErrSyntax);
            return false;
        }
    }
    if (a.len && a.idx) {
        RespWriter(out).write_error(
            "If you want both the length and indexes, please just use IDX.");
        return false;
    }
    return true;
}

bool parse_lcs(const RespRequest& req, ReplySink& out) {
    LcsArgs a;
    return parse_lcs_args(req, a, out);
}

// A key's string for LCS (empty when absent); false when it holds another
// type.
bool lcs_string(std::string_view key, const RespReadCtx& ctx, std::string& out) {
    store::ItemMeta meta;
    out.clear();
    if (read_key(key, ctx, meta) != store::ReadStatus::kHit) return true;
    if (item_type(meta) != store::ItemType::kString) return false;
    out.assign(ctx.scratch.data(), meta.value_len);
    return true;
}

void read_lcs(const RespRequest& req, const RespReadCtx& ctx, ReplySink& out) {
    LcsArgs o;
    if (!parse_lcs_args(req, o, out)) return;
    RespWriter w(out);
    std::string a, b;
    if (!lcs_string(req.args[1], ctx, a) || !lcs_string(req.args[2], ctx, b)) {
        w.write_error("The specified keys must contain string values");
        return;
    }
    const size_t alen = a.size(), blen = b.size();
    if (uint64_t{alen + 1} * (blen + 1) > kLcsMaxCells) {
        w.write_error(
            fmt::format("LCS of these strings needs a table of more than {} MiB "
                        "(Fulmar's limit)",
                        kLcsMaxCells * 4 >> 20));
        return;
    }
    std::vector<uint32_t> table((alen + 1) * (blen + 1), 0);
    const auto at = [&](size_t i, size_t j) -> uint32_t& { return table[j * (alen + 1) + i]; };
    for (size_t i = 1; i <= alen; ++i)
        for (size_t j = 1; j <= blen; ++j)
            at(i, j) =
                a[i - 1] == b[j - 1] ? at(i - 1, j - 1) + 1 : std::max(at(i - 1, j), at(i, j - 1));
    const uint32_t total = at(alen, blen);
    if (o.len) {
        w.write_integer(total);
        return;
    }
    std::string result(total, '\0');
    struct Match {
        size_t a0, a1, b0, b1;
    };
    std::vector<Match> matches;
    size_t i = alen, j = blen, idx = total;
    size_t as = alen, ae = 0, bs = 0, be = 0;  // the range being tracked; as == alen: none
    while (i > 0 && j > 0) {
        bool emit = false;
        if (a[i - 1] == b[j - 1]) {
            result[idx - 1] = a[i - 1];
            if (as == alen) {
                as = ae = i - 1;
                bs = be = j - 1;
            } else if (as == i && bs == j) {
                --as;
                --bs;
            } else {
                emit = true;
            }
            if (as == 0 || bs == 0) emit = true;
            --idx;
            --i;
            --j;
        } else {
            if (at(i - 1, j) > at(i, j - 1))
                --i;
            else
                --j;
            if (as != alen) emit = true;
        }
        if (emit) {
            const size_t match_len = ae - as + 1;
            if (o.minmatchlen == 0 || match_len >= static_cast<size_t>(o.minmatchlen))
                matches.push_back({as, ae, bs, be});
            as = alen;
        }
    }
    if (!o.idx) {
        w.write_bulk(result);
        return;
    }
    w.write_map(2);
    w.write_bulk("matches");
    w.write_array(matches.size());
    for (const Match& m : matches) {
        w.write_array(o.withmatchlen ? 3 : 2);
        w.write_array(2);
        w.write_integer(static_cast<int64_t>(m.a0));
        w.write_integer(static_cast<int64_t>(m.a1));
        w.write_array(2);
        w.write_integer(static_cast<int64_t>(m.b0));
        w.write_integer(static_cast<int64_t>(m.b1));
        if (o.withmatchlen) w.write_integer(static_cast<int64_t>(m.a1 - m.a0 + 1));
    }
    w.write_bulk("len");
    w.write_integer(total);
}

constexpr KeySpec kTwoKeys{1, 2, 1};

const std::array kTable = {
    // clang-format off
    RespCommand{Spec{"setbit", exactly(4), kWrite, kOneKey, parse_setbit, op_setbit}},
    RespCommand{Spec{"getbit", exactly(3), kRead, kOneKey, parse_getbit, exec_read<read_getbit>},
                read_getbit},
    RespCommand{Spec{"lcs", at_least(3), kRead, kTwoKeys, parse_lcs, exec_read<read_lcs>},
                read_lcs},
    // clang-format on
};

}  // namespace

std::span<const RespCommand> resp_bit_commands() {
    return kTable;
}

}  // namespace fulmar::engine
