// The Redis (RESP2) command table: the string commands, keys and expiry of
// issue #11's first slice, on the same items memcached uses (a Redis string
// is an item's value, flags 0).
//
// Any thread; the table is a constant of the process's own memory (it holds
// function pointers: messages between processes carry the request's bytes,
// and each process looks the command up in its own table).
//
// Each entry is an engine::CommandSpec (command.h: name, arity, flags, keys,
// parse, execute; the shape of Redis's COMMAND INFO) and two RESP columns:
//
//   parse    checks the arguments (syntax, numbers, options) and writes
//            Redis's error when they are wrong: the control plane answers
//            those itself, without a trip to the owner
//   execute  runs the command on the shards of an EngineCtx: on the key's
//            owner worker for writes (the one writer of its shard), or
//            anywhere with ctx.own_shard = -1 (tests)
//   read     kCmdRead commands only: the same reply served from ShardViews
//            (the control plane reads the shards' shared memory, lock-free)
//   split    multi-key writes only: how the control plane cuts them into one
//            request per shard, holding that shard's keys (DEL a b c ->
//            DEL a c + DEL b) and gathers the replies (a sum, or one +OK
//            once all are done); KEYS and RANDOMKEY: every owner's answer
//            joined, or one picked
//
// Time: Redis's expiries are exact to the millisecond (Item::expire_ms);
// memcached's stay whole seconds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/command.h"
#include "engine/engine_ctx.h"
#include "proto/reply_sink.h"
#include "proto/resp_parser.h"
#include "store/shard_view.h"

namespace fulmar::engine {

// One request: its arguments, the command name first.
struct RespRequest {
    std::span<const std::string_view> args;
};

// What a reader (the control plane, or execute() itself) reads with.
struct RespReadCtx {
    std::span<const store::ShardView* const> views;  // views[i]: shard i
    UnixTime now = 0;
    uint64_t now_ms = 0;      // Redis's millisecond expiries (Item::expire_ms); 0: whole seconds
    std::span<char> scratch;  // at least store::kMaxItemSize
    EngineStats* stats = nullptr;
    // Keys a read found expired but still resident (the control plane asks
    // their owners to reclaim them: Redis's lazy expiry); null: not noted.
    std::vector<std::string>* expired = nullptr;
    // The collection settings as CONFIG last set them (DUMP writes an
    // entry past the packed threshold as a PLAIN list node).
    CollectionLimits limits;
};

// How the control plane cuts a multi-key write into per-key requests.
enum class RespGather : uint8_t {
    kNone,  // one key (or none): sent whole
    kSum,   // DEL: ":n" of each piece summed into one integer
    kOk,    // MSET: every piece's reply dropped, one "+OK" after the last
    // Every shard's own answer to the same request (kCmdAllShards):
    kConcat,   // KEYS: the arrays joined into one
    kPickOne,  // RANDOMKEY: one of the non-nil answers, nil when all are
};

// The shard a keyless command goes to (SCAN: its cursor names one), given
// the node's shard count.
using RespRouteFn = size_t (*)(const RespRequest& req, size_t n_shards);

// Checks `req` (arity already checked); false after writing the error.
using RespParseFn = bool (*)(const RespRequest& req, proto::ReplySink& out);
using RespReadFn = void (*)(const RespRequest& req, const RespReadCtx& ctx, proto::ReplySink& out);

// Keys a KeySpec cannot place (SORT's STORE destination, after an option):
// their positions in `args` appended to `out`.
using RespExtraKeysFn = void (*)(std::span<const std::string_view> args, std::vector<size_t>& out);
// Whether a kCmdWrite command only reads for this request (SORT without
// STORE): the control plane then serves it with `read`.
using RespReadsOnlyFn = bool (*)(const RespRequest& req);

struct RespCommand {
    CommandSpec<RespRequest, RespParseFn> spec;
    RespReadFn read = nullptr;  // kCmdRead (or reads_only): served from ShardViews
    RespGather gather = RespGather::kNone;
    std::string_view split_as;    // the command each shard's piece runs
    RespRouteFn route = nullptr;  // keyless, one shard: which (SCAN)
    RespExtraKeysFn extra_keys = nullptr;
    RespReadsOnlyFn reads_only = nullptr;

    // Served from the views: a read, or a write that only reads this time.
    bool reads(const RespRequest& req) const {
        return spec.has(kCmdRead) || (reads_only != nullptr && read != nullptr && reads_only(req));
    }
};

// Every command, in the order COMMAND lists them.
std::span<const RespCommand> resp_commands();
// The entry named `name` (any case), or nullptr.
const RespCommand* find_resp_command(std::string_view name);

// A write whose keys live on several shards (no single owner can run it
// atomically): Redis Cluster's words for keys in different slots.
inline constexpr std::string_view kRespCrossShardError =
    "-CROSSSLOT Keys in request don't hash to the same slot";

// Redis's error words for a request that is not run, each without '-' and
// CRLF; write them with proto::RespWriter::write_error.
std::string resp_unknown_command_error(std::span<const std::string_view> args);
std::string resp_arity_error(std::string_view name);

// Everything that is checked before a command runs: its arity, the length
// of the keys it writes (memcached's 250 bytes: one keyspace) and its
// arguments (spec.parse). False after writing Redis's error to `out`.
bool resp_check(const RespCommand& c, const RespRequest& req, proto::ReplySink& out);

// Cluster mode: false after writing MOVED (a key another partition owns)
// or TRYAGAIN (a write to a key moving at a flip) to `out`; true when this
// node serves every key of the request (always, without a ring).
bool ring_serves(const RespCommand& c, const RespRequest& req, const EngineCtx& ctx,
                 proto::ReplySink& out);

// Looks the command up, checks its arity and arguments, and runs it on
// ctx's shards (writes need ctx to own their keys' shards). The reply or
// error goes to `out`. Used by the owner worker for the requests the control
// plane sends it, and by tests as the whole executor.
void execute_resp(const RespRequest& req, EngineCtx& ctx, proto::ReplySink& out);

// The owner's side of a RESP request sent through the channel: `body` is
// one multibulk request (the control plane writes it, see
// write_resp_request); parses it with `parser` (the worker's, reused) and
// runs it with execute_resp. A body that does not parse is answered with
// Redis's protocol error.
void run_resp_request(proto::RespParser& parser, std::string_view body, EngineCtx& ctx,
                      proto::ReplySink& out);

// The positions of a request's keys (`args`, with its name) by the
// command's KeySpec, then its extra_keys: COMMAND GETKEYS, the shard a
// transaction runs on, the keys a write wakes blocked clients on.
std::vector<size_t> resp_key_positions(const RespCommand& c,
                                       std::span<const std::string_view> args);

// EXEC's body (dataplane::kRespFlagExec): a header multibulk
//   ["exec", <n requests>, key1, cas1, key2, cas2, ...]
// (each WATCHed key with the CAS it had then, 0 for none), then the n
// queued requests, each a multibulk.
void write_resp_transaction_header(size_t n_requests,
                                   std::span<const std::pair<std::string, uint64_t>> watched,
                                   std::string& out);
// The owner's side of EXEC: when a WATCHed key's CAS changed, Redis's
// null array; else the n requests run back to back (the owner is its
// shard's one writer: nothing comes between them) and their replies as one
// array. A body that does not parse, or holds fewer than n requests or an
// empty one: Redis's protocol error alone (no array), and nothing runs.
void run_resp_transaction(proto::RespParser& parser, std::string_view body, EngineCtx& ctx,
                          proto::ReplySink& out);

// `args` as one multibulk request ("*<n>\r\n$<len>\r\n<arg>\r\n...").
void write_resp_request(std::span<const std::string_view> args, std::string& out);

// Redis's string2ll: a decimal int64 with no spaces, no '+', no leading
// zero, at most 20 characters.
bool resp_parse_int(std::string_view s, int64_t& out);

}  // namespace fulmar::engine
