// EXEC on the owner: a WATCH check and the queued requests run back to
// back; see resp_commands.h (run_resp_transaction).
//
// Runs on the shard's owner worker (the one writer of its shard): nothing
// else writes the shard between the check and the last request, so the
// transaction is atomic as Redis's is. The control plane only sends one
// whose keys all live on that shard.
#include <fmt/core.h>

#include "engine/resp_commands.h"
#include "engine/resp_util.h"

namespace fulmar::engine {

using namespace resp;

void write_resp_transaction_header(size_t n_requests,
                                   std::span<const std::pair<std::string, uint64_t>> watched,
                                   std::string& out) {
    std::vector<std::string> numbers;
    numbers.reserve(1 + watched.size());
    numbers.push_back(fmt::format("{}", n_requests));
    for (const auto& w : watched)
        numbers.push_back(fmt::format("{}", w.second));
    std::vector<std::string_view> args{"exec", numbers[0]};
    for (size_t i = 0; i < watched.size(); ++i) {
        args.push_back(watched[i].first);
        args.push_back(numbers[i + 1]);
    }
    write_resp_request(args, out);
}

namespace {

bool parse_u64(std::string_view s, uint64_t& v) {
    int64_t n = 0;
    if (!resp_parse_int(s, n) || n < 0) return false;
    v = static_cast<uint64_t>(n);
    return true;
}

void protocol_error(ReplySink& out) {
    RespWriter(out).write_error("Protocol error: malformed transaction");
}

}  // namespace

void run_resp_transaction(proto::RespParser& parser, std::string_view body, EngineCtx& ctx,
                          ReplySink& out) {
    parser.reset();
    proto::RespParseResult r = parser.parse(body);
    if (r.status != proto::ParseStatus::kComplete) {
        protocol_error(out);
        return;
    }
    const auto head = parser.args();
    uint64_t n = 0;
    if (head.size() < 2 || head.size() % 2 != 0 || !iequals(head[0], "exec") ||
        !parse_u64(head[1], n)) {
        protocol_error(out);
        return;
    }
    const UnixTime now = ctx.now();
    bool changed = false;
    for (size_t i = 2; i + 1 < head.size(); i += 2) {
        uint64_t cas = 0;
        if (!parse_u64(head[i + 1], cas)) {
            protocol_error(out);
            return;
        }
        const store::KeyRef k(head[i]);
        const store::Item* it = ctx.shard_for(k).find(k, now);
        if ((it == nullptr ? 0 : it->cas) != cas) changed = true;
    }
    body.remove_prefix(r.consumed);
    // Every one of the n requests must be there, each with a name, before
    // the array's header goes out: a request missing half way (or an empty
    // one, which execute_resp answers with nothing) would leave an array
    // shorter than it says, and the client waiting for the rest forever. The
    // scan stops at the body's end, however large n claims to be.
    std::string_view rest = body;
    for (uint64_t i = 0; i < n; ++i) {
        parser.reset();
        r = parser.parse(rest);
        if (r.status != proto::ParseStatus::kComplete || parser.args().empty()) {
            protocol_error(out);
            return;
        }
        rest.remove_prefix(r.consumed);
    }
    if (changed) {
        RespWriter(out).write_null_array();
        return;
    }
    RespWriter(out).write_array(n);
    for (uint64_t i = 0; i < n; ++i) {
        parser.reset();
        r = parser.parse(body);
        execute_resp(RespRequest{parser.args()}, ctx, out);
        body.remove_prefix(r.consumed);
    }
}

}  // namespace fulmar::engine
