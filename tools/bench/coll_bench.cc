// How a set's and a hash's commands cost grows with the collection's size in
// the compact encoding (resp_collection.h): numbers printed, never asserted.
//
//   coll_bench [max_entries]
//
// For each size N (8 .. max_entries, doubling): a set of N 16-byte members
// and a hash of N 16-byte fields with 16-byte values, built on one shard;
// then, through engine::execute_resp exactly as an owner runs a request
// (and as a reader does, for the reads: a copy of the item out of the
// shard's memory, then a decode):
//   SADD     a new member, then SREM it (the pair's time / 2: every write
//            rebuilds the item)
//   SISMEMBER a random member (a hit)
//   HSET     a random existing field to a new value (a rebuild)
//   HGET     a random field (a hit)
// next to the same operations on std::unordered_set / std::unordered_map
// (what a hashed structure costs at best, in process memory: the floor a
// "real structure" could reach). One thread: the numbers are per core; each
// figure is the best of 5 runs.
#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/clock.h"
#include "engine/engine_ctx.h"
#include "engine/resp_commands.h"
#include "proto/reply_sink.h"
#include "store/digest.h"
#include "store/shard.h"
#include "store/slab.h"
#include "support/eal_sandbox.h"

using namespace fulmar;

namespace {

using Clock = std::chrono::steady_clock;

std::string member(size_t i) {
    return fmt::format("member:{:09d}", i);  // 16 bytes
}

class Runner {
  public:
    Runner() : scratch_(store::kMaxItemSize) {
        store::ShardConfig cfg;
        cfg.name = "coll_bench";
        cfg.memory_bytes = size_t{256} << 20;
        auto s = store::Shard::create(cfg);
        if (!s) {
            fmt::print(stderr, "shard create failed\n");
            std::exit(1);
        }
        shard_ = std::move(s.value());
        ptrs_.push_back(shard_.get());
        ctx_.shards = ptrs_;
        ctx_.clock = &clock_;
        ctx_.scratch = scratch_;
        ctx_.stats = &stats_;
    }

    // Runs one request; returns the reply's first byte (so it is used).
    char run(std::initializer_list<std::string_view> args) {
        out_.out.clear();
        engine::execute_resp(engine::RespRequest{std::span(args.begin(), args.size())}, ctx_, out_);
        return out_.out.empty() ? '?' : out_.out[0];
    }

  private:
    ManualClock clock_;
    std::unique_ptr<store::Shard> shard_;
    std::vector<store::Shard*> ptrs_;
    std::vector<char> scratch_;
    engine::EngineStats stats_;
    engine::EngineCtx ctx_;
    proto::StringSink out_;
};

// ns per call of f over `iters` calls, the best of 5 runs (the machine may
// be shared: the best run is the one least disturbed).
template <typename F>
double ns_per(size_t iters, F&& f) {
    double best = 1e300;
    for (int run = 0; run < 5; ++run) {
        const auto t0 = Clock::now();
        for (size_t i = 0; i < iters; ++i)
            f(i);
        best = std::min(best, std::chrono::duration<double, std::nano>(Clock::now() - t0).count() /
                                  static_cast<double>(iters));
    }
    return best;
}

}  // namespace

int main(int argc, char** argv) {
    const size_t max_n = argc > 1 ? std::stoul(argv[1]) : 16384;
    const testing::EalSandbox eal("fulmar_collbench", 1024);
    if (!eal.ok()) {
        fmt::print(stderr, "rte_eal_init failed\n");
        return 1;
    }
    store::randomize_digest_seed();
    Runner r;
    std::mt19937_64 rng(42);
    fmt::print("{:>7} {:>9} {:>9} {:>9} {:>9} | {:>9} {:>9} {:>9} {:>9}  (ns/op)\n", "N", "SADD",
               "SISMEMBER", "HSET", "HGET", "uset-add", "uset-has", "umap-set", "umap-get");
    size_t warm_sink = 0;
    for (size_t n = 8; n <= max_n; n *= 2) {
        const std::string skey = fmt::format("set{}", n), hkey = fmt::format("hash{}", n);
        std::vector<std::string> names;
        for (size_t i = 0; i < n; ++i)
            names.push_back(member(i));
        for (size_t i = 0; i < n; ++i)
            r.run({"sadd", skey, names[i]});
        for (size_t i = 0; i < n; ++i)
            r.run({"hset", hkey, names[i], names[i]});
        // Fewer calls as the collection grows: at least 200.
        const size_t iters = std::max<size_t>(200, (size_t{1} << 20) / n);
        const std::string extra = "member:extra0000";
        const double sadd = ns_per(iters,
                                   [&](size_t) {
                                       warm_sink += r.run({"sadd", skey, extra});
                                       warm_sink += r.run({"srem", skey, extra});
                                   }) /
                            2;
        const double sismember = ns_per(iters, [&](size_t) {
            warm_sink += r.run({"sismember", skey, names[rng() % n]});
        });
        const double hset = ns_per(iters, [&](size_t i) {
            warm_sink += r.run({"hset", hkey, names[rng() % n], (i & 1) ? "a" : "b"});
        });
        const double hget = ns_per(iters, [&](size_t) {
            warm_sink += r.run({"hget", hkey, names[rng() % n]});
        });
        std::unordered_set<std::string> us(names.begin(), names.end());
        std::unordered_map<std::string, std::string> um;
        for (const std::string& s : names)
            um[s] = s;
        const double us_add = ns_per(iters,
                                     [&](size_t) {
                                         warm_sink += us.insert(extra).second;
                                         warm_sink += us.erase(extra);
                                     }) /
                              2;
        const double us_has =
            ns_per(iters, [&](size_t) { warm_sink += us.count(names[rng() % n]); });
        const double um_set =
            ns_per(iters, [&](size_t i) { um[names[rng() % n]] = (i & 1) ? "a" : "b"; });
        const double um_get =
            ns_per(iters, [&](size_t) { warm_sink += um.find(names[rng() % n])->second.size(); });
        fmt::print(
            "{:>7} {:>9.0f} {:>9.0f} {:>9.0f} {:>9.0f} | {:>9.0f} {:>9.0f} {:>9.0f} {:>9.0f}\n", n,
            sadd, sismember, hset, hget, us_add, us_has, um_set, um_get);
        r.run({"del", skey});
        r.run({"del", hkey});
    }
    fmt::print(stderr, "({})\n", warm_sink);
    return 0;
}
