// libFuzzer target: a memcached session run through an executor, as the
// control plane runs every TCP connection (engine/mc_executor.h). For any
// byte stream, cut in pieces and with the executor asking to wait at random
// points, the session must consume only complete requests, resume exactly
// where it waited, hand every request's bytes as they came (`raw` inside the
// input), and never touch a shard (the context has none, as the control
// plane's has none).
//
// The first byte seeds the piece sizes and the waits.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "engine/engine_ctx.h"
#include "engine/mc_classic.h"
#include "engine/mc_commands.h"
#include "engine/mc_executor.h"
#include "engine/mc_session.h"
#include "proto/reply_sink.h"

namespace {

using namespace fulmar;

// Placeholders allowed: the control plane's output.
class DeferringSink final : public proto::ReplySink {
  public:
    void append(std::string_view bytes) override { bytes_ += bytes.size(); }
    void append_deferred(uint64_t) override { ++deferred_; }
    size_t bytes_ = 0;
    size_t deferred_ = 0;
};

class FakeExecutor final : public engine::McExecutor {
  public:
    explicit FakeExecutor(uint32_t seed) : state_(seed | 1) {}
    std::string_view window;  // the bytes fed: every raw must lie inside

    engine::ExecStatus classic(const proto::McTextRequest& req, const store::KeyRef&,
                               std::string_view raw, proto::ReplySink& out) override {
        check(raw);
        if (req.command == proto::McTextCommand::kNone) std::abort();
        if (wait()) return engine::ExecStatus::kWait;
        out.append_deferred(++tickets_);
        return engine::ExecStatus::kDone;
    }
    void classic_error(proto::McTextError, const proto::McTextRequest&, std::string_view raw,
                       proto::ReplySink& out) override {
        check(raw);
        out.append("ERROR\r\n");
    }
    engine::ExecStatus meta(const proto::McMetaRequest&, std::string_view raw,
                            proto::ReplySink& out) override {
        check(raw);
        if (wait()) return engine::ExecStatus::kWait;
        out.append_deferred(++tickets_);
        return engine::ExecStatus::kDone;
    }
    void unlink(const proto::McMetaRequest&) override {}

  private:
    void check(std::string_view raw) const {
        if (raw.empty() || raw.data() < window.data() ||
            raw.data() + raw.size() > window.data() + window.size())
            std::abort();
    }
    bool wait() {
        state_ ^= state_ << 13;
        state_ ^= state_ >> 17;
        state_ ^= state_ << 5;
        return (state_ & 3) == 0;
    }
    uint32_t state_;
    uint64_t tickets_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    const uint32_t seed = data[0] * 2654435761u + 1;
    const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);

    SystemClock clock;
    std::vector<char> scratch(64);
    engine::EngineStats stats;
    engine::EngineCtx ctx;  // no shards: everything that touches one goes to the executor
    ctx.clock = &clock;
    ctx.scratch = scratch;
    ctx.stats = &stats;
    FakeExecutor exec(seed);
    engine::McSession session(ctx, &exec);
    DeferringSink out;

    std::string buffered;
    size_t fed = 0;
    uint32_t pieces = seed;
    while (fed < input.size()) {
        pieces = pieces * 1103515245u + 12345u;
        const size_t n = std::min<size_t>(input.size() - fed, 1 + (pieces >> 16) % 64);
        buffered.append(input.substr(fed, n));
        fed += n;
        // Feed until the session neither waits nor consumes: a wait is
        // answered by feeding the same bytes again, as the connection does.
        for (int rounds = 0;; ++rounds) {
            exec.window = buffered;
            const engine::McFeedResult r = session.feed(buffered, out);
            if (r.consumed > buffered.size()) std::abort();
            buffered.erase(0, r.consumed);
            if (r.status == engine::McSessionStatus::kClose) return 0;
            if (!r.waiting) break;
            if (rounds > 100000) std::abort();  // a wait must end
        }
    }
    return 0;
}
