// What every group of Redis commands shares: Redis's error words, case-blind
// compares, time conversions, the table's shorthands and the read helpers.
//
// Internal to src/engine's RESP command files (resp_commands.cc for strings
// and keys, one file per further group: lists, sets, hashes, the server's
// and pub/sub's entries). Any thread; no state.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/ascii.h"
#include "engine/resp_commands.h"
#include "proto/resp_writer.h"
#include "store/shard.h"

namespace fulmar::engine::resp {

using proto::ReplySink;
using proto::RespWriter;

// Redis's words (RespWriter::write_error adds "ERR " when there is no code).
inline constexpr std::string_view kErrSyntax = "syntax error";
inline constexpr std::string_view kErrNotInteger = "value is not an integer or out of range";
inline constexpr std::string_view kErrNotFloat = "value is not a valid float";
inline constexpr std::string_view kErrOverflow = "increment or decrement would overflow";
inline constexpr std::string_view kErrOom =
    "-OOM command not allowed when used memory > 'maxmemory'.";
inline constexpr std::string_view kErrWrongType =
    "-WRONGTYPE Operation against a key holding the wrong kind of value";
inline constexpr std::string_view kErrNoSuchKey = "no such key";
// Ours: an item holds at most memcached's 1 MiB, and keys are memcached's.
inline constexpr std::string_view kErrTooLarge =
    "string exceeds maximum allowed size (an item holds at most 1 MiB)";
inline constexpr std::string_view kErrKeyTooLong =
    "key is longer than 250 bytes (memcached's limit)";

using fulmar::ascii_lower;
inline bool iequals(std::string_view a, std::string_view b) {
    return ascii_iequals(a, b);
}
std::string lower(std::string_view s);

// An absolute time in whole seconds from a signed one: <= 0 is "already
// expired", past 2^32 - 1 is clamped.
UnixTime clamp_time(int64_t t);
// Milliseconds to whole seconds, rounded up: never earlier than asked.
int64_t ms_to_s(int64_t ms);

// An expiry as an item keeps it (Item::exptime + Item::expire_ms).
struct Expiry {
    UnixTime seconds = 0;  // 0: never
    uint16_t ms = 0;
};
// From absolute Unix milliseconds (<= 0: already expired).
inline Expiry expiry_from_ms(int64_t abs_ms) {
    Expiry e;
    store::split_expiry_ms(abs_ms, e.seconds, e.ms);
    return e;
}
inline Expiry expiry_of(const store::Item& it) {
    return {it.exptime, static_cast<uint16_t>(it.expire_ms)};
}
// StoreArgs keeping `it`'s flags and expiry (INCR, SETRANGE, ...).
inline store::StoreArgs keep_args(const store::Item& it) {
    return store::StoreArgs{.flags = it.client_flags,
                            .exptime = it.exptime,
                            .expire_ms = static_cast<uint16_t>(it.expire_ms)};
}
// Redis's string2ld: the whole text a finite long double, no spaces
// (INCRBYFLOAT, HINCRBYFLOAT).
bool parse_long_double(std::string_view s, long double& out);
// Redis's ld2string(LD_STR_HUMAN): "%.17Lf" without trailing zeros.
std::string format_long_double(long double v);

// The OOM or too-large error for a failed store.
void write_store_error(store::StoreStatus st, ReplySink& out);

// The shards' views, for read commands run through execute_resp.
struct LocalViews {
    explicit LocalViews(const EngineCtx& ctx);
    std::vector<const store::ShardView*> views;
};
RespReadCtx read_ctx(const EngineCtx& ctx, const LocalViews& v);

// A read command's `execute`: the same reader, on the context's own shards.
template <RespReadFn F>
void exec_read(const RespRequest& req, const store::KeyRef&, EngineCtx& ctx, ReplySink& out) {
    const LocalViews v(ctx);
    F(req, read_ctx(ctx, v), out);
}

// A read of one key of any type from the views: kHit with the value in
// ctx.scratch and its type in meta.
store::ReadStatus read_key(std::string_view key, const RespReadCtx& ctx, store::ItemMeta& meta);

inline store::ItemType item_type(const store::ItemMeta& m) {
    return static_cast<store::ItemType>(m.type_bits & store::kItemTypeMask);
}
// Redis's TYPE name of an item type.
std::string_view type_name(store::ItemType t);

// The table's shorthands.
constexpr CommandArity exactly(uint8_t n) {
    return {n, n};
}
constexpr CommandArity at_least(uint8_t n) {
    return {n, kAnyArity};
}
inline constexpr KeySpec kOneKey{1, 1, 1};
inline constexpr KeySpec kEveryKey{1, -1, 1};
inline constexpr KeySpec kKeyValuePairs{1, -1, 2};

using Spec = CommandSpec<RespRequest, RespParseFn>;
inline constexpr uint16_t kRead = kCmdRead;
inline constexpr uint16_t kWrite = kCmdWrite;
inline constexpr uint16_t kLocal = kCmdNoKey;
// Answered by the control plane's session: needs the connection's state
// (HELLO, CLIENT, AUTH, SUBSCRIBE, MULTI...). No `execute`: an owner never
// runs one.
inline constexpr uint16_t kSession = kCmdNoKey | kCmdSession;

}  // namespace fulmar::engine::resp
