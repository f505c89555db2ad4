// libFuzzer target: the Redis command layer as an owner worker runs it.
// Arbitrary bytes go through proto::RespParser; every complete request runs
// with engine::execute_resp on two small real shards (4 MiB each: whatever
// the input writes, memory stays bounded by the shards and the 1 MiB item).
// After each request the reply must be exactly one well-formed RESP value
// (read back with proto::parse_resp_reply), and never empty for a request
// that ran.
//
// Byte 0 picks the context: bit 0, the worker owns shard 0 only (writes to
// keys of shard 1 must be refused) instead of both; bit 1, the reply sink
// speaks RESP3 (HELLO 3); bit 2, each request goes as the control plane sends
// it to an owner (write_resp_request, then run_resp_request on the owner's
// reused parser) instead of straight to execute_resp.
//
// A few requests are the harness's own, not the table's, so that a seed can
// reach what a plain request cannot:
//   _tick <ms>                 advances the ManualClock (TTL and expiry paths)
//   _multi <n> [header...]     the next n requests (at most 16) become an EXEC
//                              body run by engine::run_resp_transaction; the
//                              header is ["exec", header...] when given (so
//                              bad counts and WATCH CASes are reachable),
//                              else ["exec", n]
//   _raw <body>                <body> given as is to run_resp_transaction
//                              and run_resp_request (bodies the control
//                              plane would never send)
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "engine/engine_ctx.h"
#include "engine/resp_commands.h"
#include "proto/reply_sink.h"
#include "proto/resp_parser.h"
#include "proto/resp_reply.h"
#include "store/shard.h"
#include "store/slab.h"
#include "support/eal_sandbox.h"

namespace {

using namespace fulmar;

constexpr size_t kShardBytes = 4 << 20;
constexpr size_t kMaxQueued = 16;
// Small enough that a fresh index per input is cheap and that an input can fill
// it (the store's "index full" answers run too).
constexpr uint32_t kIndexEntries = 1024;

void check(bool ok) {
    if (!ok) std::abort();
}

std::unique_ptr<store::Shard> make_shard() {
    static uint64_t n = 0;
    store::ShardConfig cfg;
    cfg.name = "fz" + std::to_string(n++);
    cfg.memory_bytes = kShardBytes;
    cfg.index_entries = kIndexEntries;
    auto s = store::Shard::create(cfg);
    check(s.ok());
    return std::move(s.value());
}

// The reply to one request is one RESP value, nothing before or after it.
// Returns it, for the callers that look inside.
proto::RespValue check_one_value(std::string_view reply) {
    proto::RespValue v;
    std::string error;
    const proto::RespReplyResult r = proto::parse_resp_reply(reply, v, &error);
    check(r.status == proto::ParseStatus::kComplete);
    check(r.consumed == reply.size());
    return v;
}

bool parse_count(std::string_view s, uint64_t& n) {
    int64_t v = 0;
    if (!engine::resp_parse_int(s, v) || v < 0) return false;
    n = static_cast<uint64_t>(v);
    return true;
}

struct Harness {
    explicit Harness(uint8_t mode) {
        // A value's copy only: one buffer for the process, not zeroed per input.
        static std::vector<char> scratch(store::kMaxItemSize);
        ctx.clock = &clock;
        ctx.scratch = std::span<char>(scratch);
        ctx.stats = &stats;
        ctx.started = clock.now();
        for (size_t i = 0; i < 2; ++i) {
            shards.push_back(make_shard());
            ptrs.push_back(shards.back().get());
        }
        ctx.shards = std::span<store::Shard* const>(ptrs);
        ctx.own_shard = (mode & 1) ? 0 : -1;
        resp3 = (mode & 2) != 0;
        wire = (mode & 4) != 0;
    }

    proto::StringSink sink() const {
        proto::StringSink out;
        out.set_resp3(resp3);
        return out;
    }

    void execute(std::span<const std::string_view> args) {
        proto::StringSink out = sink();
        if (wire) {
            std::string body;
            engine::write_resp_request(args, body);
            engine::run_resp_request(owner_parser, body, ctx, out);
        } else {
            engine::execute_resp(engine::RespRequest{args}, ctx, out);
        }
        check(!out.out.empty());
        check_one_value(out.out);
    }

    void transaction(std::string_view body, size_t n_sent, bool header_says_n) {
        proto::StringSink out = sink();
        engine::run_resp_transaction(owner_parser, body, ctx, out);
        const proto::RespValue v = check_one_value(out.out);
        // A transaction whose header counts the requests that follow answers
        // one reply per request (or the null array of a changed WATCH).
        if (header_says_n && v.type == proto::RespValue::Type::kArray)
            check(v.elements.size() == n_sent);
    }

    void raw(std::string_view body) {
        transaction(body, 0, false);
        proto::StringSink out = sink();
        engine::run_resp_request(owner_parser, body, ctx, out);
        // An empty request (*0) runs nothing and is answered with nothing.
        if (!out.out.empty()) check_one_value(out.out);
    }

    ManualClock clock;
    std::vector<std::unique_ptr<store::Shard>> shards;
    std::vector<store::Shard*> ptrs;
    engine::EngineStats stats{};
    engine::EngineCtx ctx;
    proto::RespParser owner_parser;  // the worker's, reused across bodies
    bool resp3 = false;
    bool wire = false;
};

// A transaction being gathered by _multi.
struct Pending {
    bool active = false;
    uint64_t want = 0;
    std::vector<std::string> header;
    std::string requests;
    uint64_t queued = 0;

    // Sends the header and the requests queued so far to the owner.
    void run(Harness& h) const {
        std::vector<std::string_view> head{"exec"};
        for (const std::string& a : header)
            head.push_back(a);
        std::string body;
        engine::write_resp_request(head, body);
        body += requests;
        const bool counted = header.size() == 1 && header[0] == std::to_string(queued);
        h.transaction(body, queued, counted);
    }
};

}  // namespace

// The shards' index is an rte_hash: EAL without hardware, for the process's
// life (the static's destructor cleans up at exit). The digest keeps its
// fixed seed so that a crash reproduces.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
    static const testing::EalSandbox eal("fulmar_fuzz", 256);
    check(eal.ok());
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    Harness h(data[0]);
    const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);

    proto::RespParser parser;
    Pending tx;
    size_t pos = 0;
    while (pos < input.size()) {
        const proto::RespParseResult r = parser.parse(input.substr(pos));
        if (r.status != proto::ParseStatus::kComplete) break;
        pos += r.consumed;
        const auto args = parser.args();
        if (args.empty()) continue;

        if (tx.active) {
            std::vector<std::string_view> views(args.begin(), args.end());
            engine::write_resp_request(views, tx.requests);
            if (++tx.queued < tx.want) continue;
            tx.run(h);
            tx = Pending{};
            continue;
        }
        if (args[0] == "_tick" && args.size() == 2) {
            uint64_t ms = 0;
            if (parse_count(args[1], ms)) h.clock.advance_ms(ms % (uint64_t{1} << 40));
            continue;
        }
        if (args[0] == "_multi" && args.size() >= 2) {
            uint64_t n = 0;
            if (!parse_count(args[1], n)) continue;
            tx.active = true;
            tx.want = std::min<uint64_t>(n, kMaxQueued);
            for (size_t i = 2; i < args.size(); ++i)
                tx.header.emplace_back(args[i]);
            if (tx.header.empty()) tx.header.push_back(std::to_string(tx.want));
            if (tx.want == 0) {
                tx.run(h);
                tx = Pending{};
            }
            continue;
        }
        if (args[0] == "_raw" && args.size() == 2) {
            h.raw(args[1]);
            continue;
        }
        h.execute(args);
    }
    // An input that ends inside a transaction still sends what it queued.
    if (tx.active) tx.run(h);
    return 0;
}
