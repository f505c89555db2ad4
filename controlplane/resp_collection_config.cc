// Redis's collection encoding parameters; see resp_collection_config.h.
#include "resp_collection_config.h"

#include "common/ascii.h"

#include <fmt/core.h>

#include <cctype>
#include <charconv>
#include <climits>

#include "resp_server_state.h"

namespace fulmar::controlplane {
namespace {

// Redis's string2ll: an optional '-', digits without a leading zero (but
// "0"), within 64 bits.
bool string2ll(std::string_view v, int64_t& out) {
    if (v.empty() || v.size() > 20) return false;
    if (v == "0") {
        out = 0;
        return true;
    }
    const size_t d = v[0] == '-' ? 1 : 0;
    if (d >= v.size() || v[d] < '1' || v[d] > '9') return false;
    const auto r = std::from_chars(v.data(), v.data() + v.size(), out);
    return r.ec == std::errc() && r.ptr == v.data() + v.size();
}

// The multiplier of a memtoull unit (b k kb m mb g gb, any case; none is
// bytes), 0 for an unknown one.
uint64_t memory_unit(std::string_view unit) {
    if (unit.empty() || ascii_iequals(unit, "b")) return 1;
    if (ascii_iequals(unit, "k")) return 1000;
    if (ascii_iequals(unit, "kb")) return 1024;
    if (ascii_iequals(unit, "m")) return 1000 * 1000;
    if (ascii_iequals(unit, "mb")) return 1024 * 1024;
    if (ascii_iequals(unit, "g")) return 1000ULL * 1000 * 1000;
    if (ascii_iequals(unit, "gb")) return 1024ULL * 1024 * 1024;
    return 0;
}

// memtoull: digits then an optional unit; no sign.
std::optional<int64_t> parse_memory(std::string_view v) {
    size_t i = 0;
    while (i < v.size() && std::isdigit(static_cast<unsigned char>(v[i])) != 0)
        ++i;
    const std::string_view digits = v.substr(0, i);
    const std::string_view unit = v.substr(i);
    const int64_t mul = static_cast<int64_t>(memory_unit(unit));
    if (mul == 0) return std::nullopt;
    int64_t n = 0;
    // strtoll of an empty digit string is 0 in Redis too ("kb" is 0).
    if (!digits.empty() && !string2ll(digits, n)) return std::nullopt;
    if (n > INT64_MAX / mul) return std::nullopt;
    return n * mul;
}

}  // namespace

std::optional<int64_t> parse_config_number(std::string_view v, int64_t lo, int64_t hi,
                                           bool is_unsigned, bool memory, std::string& error) {
    int64_t n = 0;
    bool ok = false;
    if (memory) {
        const auto m = parse_memory(v);
        ok = m.has_value();
        if (ok) n = *m;
        if (!ok) {
            error = "argument must be a memory value";
            return std::nullopt;
        }
    } else if (!string2ll(v, n)) {
        error = "argument couldn't be parsed into an integer";
        return std::nullopt;
    }
    // Unsigned settings compare as unsigned: -1 is past the upper bound.
    const bool out = is_unsigned ? (static_cast<uint64_t>(n) > static_cast<uint64_t>(hi) ||
                                    static_cast<uint64_t>(n) < static_cast<uint64_t>(lo))
                                 : (n > hi || n < lo);
    if (out) {
        error = fmt::format("argument must be between {} and {} inclusive", lo, hi);
        return std::nullopt;
    }
    return n;
}

std::optional<std::string> set_list_packed_threshold(shm::CollectionSettings& c,
                                                     std::string_view size) {
    const std::string error = "argument must be a memory value bigger than 1 and smaller than 4gb";
    // memtoull: digits (strtoull: leading zeros, none at all is 0), a unit.
    size_t i = 0;
    while (i < size.size() && std::isdigit(static_cast<unsigned char>(size[i])) != 0)
        ++i;
    uint64_t n = 0;
    if (i > 0) {
        const auto r = std::from_chars(size.data(), size.data() + i, n);
        if (r.ec != std::errc()) return error;
    }
    const std::string_view unit = size.substr(i);
    const uint64_t mul = memory_unit(unit);
    if (mul == 0) return error;
    // quicklistisSetPackedThreshold: not above 4 GiB - 1 MiB; 0 restores.
    if (n > (uint64_t{1} << 32) / mul) return error;
    uint64_t sz = n * mul;
    if (sz > (uint64_t{1} << 32) - (uint64_t{1} << 20)) return error;
    if (sz == 0) sz = uint64_t{1} << 30;
    c.list_packed_threshold.store(static_cast<int64_t>(sz), std::memory_order_relaxed);
    return std::nullopt;
}

void add_collection_config(RespServerState& state, shm::CollectionSettings& c) {
    // Lists: every write packs its nodes by this (resp_quicklist.h).
    const auto get_fill = [&c] {
        return fmt::format("{}", c.list_max_listpack_size.load(std::memory_order_relaxed));
    };
    const auto set_fill = [&c](std::string_view v) -> std::optional<std::string> {
        std::string error;
        const auto n = parse_config_number(v, INT_MIN, INT_MAX, false, false, error);
        if (!n) return error;
        c.list_max_listpack_size.store(static_cast<int32_t>(*n), std::memory_order_relaxed);
        return std::nullopt;
    };
    state.add_config({"list-max-listpack-size", get_fill, set_fill});
    state.add_config({"list-max-ziplist-size", get_fill, set_fill});
    // Lists: nodes this far from both ends are LZF-compressed from each
    // list's next write on (resp_quicklist.h); Redis 7.0.15's 0..INT_MAX.
    state.add_config(
        {"list-compress-depth",
         [&c] { return fmt::format("{}", c.list_compress_depth.load(std::memory_order_relaxed)); },
         [&c](std::string_view v) -> std::optional<std::string> {
             std::string error;
             const auto n = parse_config_number(v, 0, INT_MAX, false, false, error);
             if (!n) return error;
             c.list_compress_depth.store(static_cast<int32_t>(*n), std::memory_order_relaxed);
             return std::nullopt;
         }});

    // Sets and hashes: the owners encode each write by these (intset or
    // hashtable, listpack or hashtable: coll::EncodePolicy). Redis 7.0.15's
    // size_t configs: 0..LONG_MAX, the value one a memory value.
    const auto size_config = [&state](std::string_view name, std::string_view alias,
                                      std::atomic<int64_t>& cell, bool memory) {
        const auto get = [&cell] {
            return fmt::format("{}", cell.load(std::memory_order_relaxed));
        };
        const auto set = [&cell, memory](std::string_view v) -> std::optional<std::string> {
            std::string error;
            const auto n = parse_config_number(v, 0, LONG_MAX, true, memory, error);
            if (!n) return error;
            cell.store(*n, std::memory_order_relaxed);
            return std::nullopt;
        };
        state.add_config({std::string(name), get, set});
        if (!alias.empty()) state.add_config({std::string(alias), get, set});
    };
    size_config("set-max-intset-entries", "", c.set_max_intset_entries, false);
    size_config("hash-max-listpack-entries", "hash-max-ziplist-entries",
                c.hash_max_listpack_entries, false);
    size_config("hash-max-listpack-value", "hash-max-ziplist-value", c.hash_max_listpack_value,
                true);

    // RESTORE validates every payload whole before it stores anything
    // (engine/rdb_payload.h): Redis's "yes", always ("clients" holds too: a
    // client's payload is sanitized). "no" cannot be had.
    state.add_config({"sanitize-dump-payload", [] { return std::string("yes"); },
                      [](std::string_view v) -> std::optional<std::string> {
                          std::string low(v);
                          for (char& ch : low)
                              ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
                          if (low == "yes" || low == "clients") return std::nullopt;
                          if (low == "no")
                              return std::string(
                                  "not supported: DUMP payloads are always sanitized (RESTORE "
                                  "validates each whole before storing it), so "
                                  "sanitize-dump-payload stays yes");
                          return std::string(
                              "argument(s) must be one of the following: no, yes, clients");
                      }});
}

}  // namespace fulmar::controlplane
