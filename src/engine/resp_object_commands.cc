// OBJECT ENCODING / REFCOUNT / IDLETIME / FREQ / HELP: what Redis 7.0
// answers about a key's value, from what the item really holds.
//
// Reads: any reader runs them from ShardViews (the control plane serves
// them lock-free), like GET; they touch nothing (Redis's LOOKUP_NOTOUCH).
//
// ENCODING: strings by Redis's rule for a value it stores (tryObjectEncoding:
// "int" for a string2l integer of at most 20 bytes, "embstr" up to 44 bytes,
// "raw" above; a value APPEND, SETRANGE or SETBIT wrote is "raw" whatever
// its bytes, as in Redis: the item keeps that bit, kItemRawString). Lists "quicklist", the encoding
// every list has here as in Redis 7.0 (resp_quicklist.h). Sets and hashes "listpack": the compact
// encoding they are kept in (resp_collection.h) is a listpack-like run of entries, and is all they
// have; Redis 7.0 calls a small hash's "listpack" and has no such set encoding (its small sets are
// "intset" or "hashtable"). REFCOUNT: 2147483647 (OBJ_SHARED_REFCOUNT) for an int-encoded 0..9999,
// Redis's shared integers under its default maxmemory-policy; 1 otherwise.
// IDLETIME: seconds since the item's last store or touch (its `time`).
// FREQ: Redis's error, as without an LFU maxmemory-policy (there is none).
#include <fmt/core.h>

#include <climits>

#include "engine/resp_collection.h"
#include "engine/resp_groups.h"
#include "engine/resp_object.h"
#include "engine/resp_util.h"
#include "proto/resp_writer.h"

namespace fulmar::engine {
namespace {

using namespace resp;

// Redis's string2l: an optional '-', no leading zero (but "0"), within 64
// bits, nothing else.
bool redis_string2l(std::string_view v) {
    if (v.empty() || v.size() > 20) return false;
    if (v == "0") return true;
    const size_t d = v[0] == '-' ? 1 : 0;
    if (d >= v.size() || v[d] < '1' || v[d] > '9') return false;
    int64_t n = 0;
    return resp_parse_int(v, n);
}

constexpr size_t kEmbstrMax = 44;             // OBJ_ENCODING_EMBSTR_SIZE_LIMIT
constexpr int64_t kSharedIntegers = 10000;    // OBJ_SHARED_INTEGERS
constexpr int64_t kSharedRefcount = INT_MAX;  // OBJ_SHARED_REFCOUNT

std::string_view string_encoding(std::string_view v, bool raw) {
    if (raw) return "raw";
    if (redis_string2l(v)) return "int";
    return v.size() <= kEmbstrMax ? "embstr" : "raw";
}

std::string_view encoding_of(uint8_t type_bits, std::string_view value) {
    const auto t = static_cast<store::ItemType>(type_bits & store::kItemTypeMask);
    switch (t) {
        case store::ItemType::kList:
            return "quicklist";
        // The item's real encoding (resp_collection.h): a set is an intset
        // or hashed, a hash compact (Redis's listpack) or hashed.
        case store::ItemType::kSet:
            return coll::encoding_tag(value) == coll::kIntset ? "intset" : "hashtable";
        case store::ItemType::kHash:
            return coll::encoding_tag(value) == coll::kHashed ? "hashtable" : "listpack";
        default:
            return string_encoding(value, (type_bits & store::kItemRawString) != 0);
    }
}

constexpr std::string_view kHelp[] = {
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
};

// Redis 7.0's subcommand table: HELP takes nothing, the others one key.
bool parse_object(const RespRequest& req, ReplySink& out) {
    const std::string_view sub = req.args[1];
    RespWriter w(out);
    const bool keyed = iequals(sub, "encoding") || iequals(sub, "refcount") ||
                       iequals(sub, "idletime") || iequals(sub, "freq");
    if (!keyed && !iequals(sub, "help")) {
        w.write_error(fmt::format("unknown subcommand '{}'. Try OBJECT HELP.", sub.substr(0, 128)));
        return false;
    }
    if (req.args.size() != (keyed ? 3u : 2u)) {
        w.write_error(resp_arity_error(fmt::format("object|{}", lower(sub))));
        return false;
    }
    return true;
}

void read_object(const RespRequest& req, const RespReadCtx& ctx, ReplySink& out) {
    const std::string_view sub = req.args[1];
    RespWriter w(out);
    if (iequals(sub, "help")) {
        w.write_array(std::size(kHelp));
        for (std::string_view l : kHelp)
            w.write_simple(l);
        return;
    }
    store::ItemMeta meta;
    if (read_key(req.args[2], ctx, meta) != store::ReadStatus::kHit) {
        w.write_null();
        return;
    }
    const std::string_view value(ctx.scratch.data(), meta.value_len);
    if (iequals(sub, "encoding")) {
        w.write_bulk(encoding_of(meta.type_bits, value));
    } else if (iequals(sub, "refcount")) {
        w.write_integer(object_refcount(meta.type_bits, value));
    } else if (iequals(sub, "idletime")) {
        w.write_integer(ctx.now > meta.time ? static_cast<int64_t>(ctx.now - meta.time) : 0);
    } else {
        w.write_error(
            "An LFU maxmemory policy is not selected, access frequency not tracked. Please note "
            "that when switching between policies at runtime LRU and LFU data will take some "
            "time to adjust.");
    }
}

inline constexpr KeySpec kSubcommandKey{2, 2, 1};

// MEMORY USAGE key [SAMPLES count]: the bytes the key's item takes (header,
// key and value: the whole collection is one item, so there is nothing to
// sample). The other MEMORY subcommands report the allocator, which the
// slab store does not have: a clear error, never a made-up answer.
bool parse_memory(const RespRequest& req, ReplySink& out) {
    const std::string_view sub = req.args[1];
    RespWriter w(out);
    if (!iequals(sub, "usage")) {
        for (std::string_view known : {"DOCTOR", "MALLOC-STATS", "PURGE", "STATS", "HELP"}) {
            if (!iequals(sub, known)) continue;
            w.write_error(fmt::format(
                "MEMORY {} is not supported here (no allocator statistics); MEMORY USAGE is",
                known));
            return false;
        }
        w.write_error(fmt::format("unknown subcommand '{}'. Try MEMORY HELP.", sub.substr(0, 128)));
        return false;
    }
    if (req.args.size() < 3) {
        w.write_error(resp_arity_error("memory|usage"));
        return false;
    }
    for (size_t j = 3; j < req.args.size(); ++j) {
        if (!iequals(req.args[j], "samples") || j + 1 >= req.args.size()) {
            w.write_error(kErrSyntax);
            return false;
        }
        int64_t samples = 0;
        if (!resp_parse_int(req.args[++j], samples)) {
            w.write_error(kErrNotInteger);
            return false;
        }
        if (samples < 0) {
            w.write_error(kErrSyntax);
            return false;
        }
    }
    return true;
}

void read_memory(const RespRequest& req, const RespReadCtx& ctx, ReplySink& out) {
    if (!parse_memory(req, out)) return;
    RespWriter w(out);
    store::ItemMeta meta;
    if (read_key(req.args[2], ctx, meta) != store::ReadStatus::kHit) return w.write_null();
    w.write_integer(
        static_cast<int64_t>(store::item_total_size(req.args[2].size(), meta.value_len)));
}

const RespCommand kObjectCommands[] = {
    RespCommand{
        Spec{"object", at_least(2), kRead, kSubcommandKey, parse_object, exec_read<read_object>},
        read_object},
    RespCommand{
        Spec{"memory", at_least(2), kRead, kSubcommandKey, parse_memory, exec_read<read_memory>},
        read_memory},
};

}  // namespace

std::string_view object_encoding(uint8_t type_bits, std::string_view value) {
    return encoding_of(type_bits, value);
}

int64_t object_refcount(uint8_t type_bits, std::string_view value) {
    int64_t n = 0;
    const bool shared = encoding_of(type_bits, value) == "int" && resp_parse_int(value, n) &&
                        n >= 0 && n < kSharedIntegers;
    return shared ? kSharedRefcount : 1;
}

std::span<const RespCommand> resp_object_commands() {
    return kObjectCommands;
}

}  // namespace fulmar::engine
