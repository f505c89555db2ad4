// The shape of a command table entry, for every protocol the engine serves:
// the facts of a command written once and read by the parser, the executor,
// the router and the session alike.
//
// Any thread; tables of these are constants in the process's own memory.
// They hold function pointers, so they never go into shared memory (a DPDK
// secondary maps its code elsewhere): messages between processes name a
// command by its id, and each process looks the entry up in its own table.
//
// The shape follows Redis's COMMAND INFO, so RESP commands (GET, SET, ...)
// register the same way as memcached's:
//
//   CommandSpec<Request, ParseFn>
//   +------+--------------------+-------+----------------------+-------+---------+
//   | name | arity {min, max}   | flags | keys {first,last,st} | parse | execute |
//   +------+--------------------+-------+----------------------+-------+---------+
//   arity counts tokens with the name (Redis: 2 = exactly 2 is {2, 2},
//   -2 = at least 2 is {2, kAnyArity}); keys are token positions, as in
//   Redis (first key, last key with -1 = the last token, step between keys;
//   first 0 = no key).
//   parse: the protocol's per-command request reader (memcached text: the
//   grammar's line parser; RESP: arguments -> typed request).
//   execute: runs a parsed request on the shards, given its first key
//   already digested (the router digested it to pick the owner; nothing is
//   digested twice), and appends the reply.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "engine/engine_ctx.h"
#include "proto/reply_sink.h"
#include "store/digest.h"

namespace fulmar::engine {

// What a command does, for routing and scheduling. Combine with |.
enum CommandFlag : uint16_t {
    kCmdRead = 1 << 0,            // reads items only: runs on any lcore (CREW)
    kCmdWrite = 1 << 1,           // may change items of its keys: runs on their owner
    kCmdAdmin = 1 << 2,           // node administration: not over UDP unless enabled
    kCmdAllShards = 1 << 3,       // changes every shard (flush_all): one-shard nodes only
    kCmdNoKey = 1 << 4,           // touches no item (version, quit, verbosity)
    kCmdCloses = 1 << 5,          // ends the connection (quit)
    kCmdFlushQueue = 1 << 6,      // memcached writes its reply queue when it answers (get family)
    kCmdRewritesNumber = 1 << 7,  // rewrites a number in place (incr/decr: the
                                  // session's held-item rule, mc_session.h)
    kCmdSession = 1 << 8,         // RESP: needs the connection's state (HELLO, CLIENT,
                                  // SUBSCRIBE, MULTI): the control plane's session runs it
    kCmdBlocking = 1 << 9,        // RESP: may block its client (BLPOP): an owner tries once,
                                  // the session keeps the client waiting (resp_blocking.h)
};

inline constexpr uint8_t kAnyArity = 0;

struct CommandArity {
    uint8_t min = 1;
    uint8_t max = kAnyArity;  // kAnyArity: no limit
};

// Key positions in a request's tokens, as Redis's COMMAND INFO gives them.
struct KeySpec {
    int8_t first = 0;  // 0: the command takes no key
    int8_t last = 0;   // -1: every token from `first` on; -2: all but the last (BLPOP's timeout)
    int8_t step = 0;

    constexpr bool none() const { return first == 0; }
    constexpr bool single() const { return first != 0 && last == first; }
    // The position of the last key in a request of n_args tokens.
    constexpr size_t last_index(size_t n_args) const {
        return last < 0 ? n_args - static_cast<size_t>(-last) : static_cast<size_t>(last);
    }
};

template <typename Request, typename ParseFn>
struct CommandSpec {
    // Runs `req` on ctx's shards; `key` is req's key with its digest when
    // keys.single(), else empty (the command digests each of its keys).
    using ExecuteFn = void (*)(const Request& req, const store::KeyRef& key, EngineCtx& ctx,
                               proto::ReplySink& out);

    std::string_view name;
    CommandArity arity;
    uint16_t flags = 0;
    KeySpec keys;
    ParseFn parse = nullptr;
    ExecuteFn execute = nullptr;

    constexpr bool has(CommandFlag f) const { return (flags & f) != 0; }
};

}  // namespace fulmar::engine
