// The fixture every RESP command test shares: two real shards with a
// ManualClock, and helpers that run a command as the owner does (directly,
// or through the bytes the control plane sends) and a memcached session on
// the same shards.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "../store/shard_fixture.h"
#include "engine/mc_session.h"
#include "engine/resp_commands.h"
#include "proto/reply_sink.h"
#include "store/slab.h"

namespace fulmar::engine {

class RespExec : public ::testing::Test {
  protected:
    void SetUp() override {
        scratch_.resize(store::kMaxItemSize);
        ctx_.clock = &clock_;
        ctx_.scratch = std::span<char>(scratch_);
        ctx_.stats = &stats_;
        ctx_.started = clock_.now();
        for (size_t i = 0; i < 2; ++i) {
            shards_.push_back(store::testing::make_shard(8 << 20));
            ptrs_.push_back(shards_.back().get());
        }
        ctx_.shards = std::span<store::Shard* const>(ptrs_);
    }

    // Runs one command (its arguments) as the owner would.
    std::string run(std::vector<std::string> args) {
        std::vector<std::string_view> views(args.begin(), args.end());
        proto::StringSink out;
        execute_resp(RespRequest{views}, ctx_, out);
        return out.out;
    }

    // The same, through the bytes the control plane sends an owner.
    std::string run_wire(std::vector<std::string> args) {
        std::vector<std::string_view> views(args.begin(), args.end());
        std::string body;
        write_resp_request(views, body);
        proto::StringSink out;
        run_resp_request(parser_, body, ctx_, out);
        return out.out;
    }

    std::string mc(std::string_view in) {
        McSession session(ctx_);
        proto::StringSink out;
        session.feed(in, out);
        return out.out;
    }

    ManualClock clock_;
    std::vector<std::unique_ptr<store::Shard>> shards_;
    std::vector<store::Shard*> ptrs_;
    std::vector<char> scratch_;
    EngineStats stats_;
    EngineCtx ctx_;
    proto::RespParser parser_;
};

}  // namespace fulmar::engine
