// A DPDK secondary process that attaches to a running fulmar-dataplane and
// reads its shards lock-free, as the control plane will: the proof that the
// store's concurrent-read guarantees hold across processes.
//
//   secondary_reader <EAL args: --proc-type=secondary --file-prefix P ...> --
//       --prefix KEYPREFIX --keys N --seconds S
//
// Reads keys KEYPREFIX0 .. KEYPREFIX<N-1> over and over for S seconds, each
// from its owner's shard, and checks every hit against the rule the writer
// (tests/integration/shm_secondary_test.py) follows: the value is
// "<key>|<gen>|" then filler up to any length, every filler byte is
// 'a' + gen % 26, and the client flags are gen. A read that mixed two
// versions of an item (a torn value, another key's bytes, a header of one
// store with the value of another) fails that rule. Prints one JSON object:
// per shard the hits, misses, bad reads and the shard's page moves and sets
// before and after (read from shared memory too), and up to 5 bad values.
//
// Registers as the control plane's first RCU reader and reports a
// quiescent state after every pass, so the owners' page moves wait for it.
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_rcu_qsbr.h>

#include <fmt/core.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/numbers.h"
#include "engine/engine_ctx.h"
#include "store/dataplane_zone.h"
#include "store/digest.h"
#include "store/slab.h"

using namespace fulmar;

namespace {

struct ShardCount {
    uint64_t hits = 0, misses = 0, bad = 0;
    uint64_t moves_before = 0, moves_after = 0, sets_before = 0, sets_after = 0;
};

// Whether `v` (flags `flags`) is a value the writer could have stored for `key`.
bool valid_value(std::string_view key, std::string_view v, uint32_t flags) {
    if (!v.starts_with(key) || v.size() < key.size() + 1 || v[key.size()] != '|') return false;
    const std::string_view rest = v.substr(key.size() + 1);
    const size_t bar = rest.find('|');
    if (bar == std::string_view::npos || bar == 0) return false;
    uint64_t gen = 0;
    if (!parse_u64(rest.substr(0, bar), gen) || gen != flags) return false;
    const char fill = static_cast<char>('a' + gen % 26);
    for (char c : rest.substr(bar + 1))
        if (c != fill) return false;
    return true;
}

std::string json_string(std::string_view s) {
    std::string out = "\"";
    for (char c : s.substr(0, 80)) {
        if (c == '"' || c == '\\')
            out += '\\', out += c;
        else if (static_cast<unsigned char>(c) < 0x20)
            out += '?';
        else
            out += c;
    }
    return out + "\"";
}

}  // namespace

int main(int argc, char** argv) {
    const int used = rte_eal_init(argc, argv);
    if (used < 0) {
        fmt::print(stderr, "secondary_reader: EAL init failed: {}\n", rte_strerror(rte_errno));
        return 2;
    }
    argc -= used;
    argv += used;
    std::string prefix = "k";
    uint64_t n_keys = 1000, seconds = 3;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string_view opt = argv[i];
        if (opt == "--prefix")
            prefix = argv[i + 1];
        else if (opt == "--keys")
            n_keys = std::strtoull(argv[i + 1], nullptr, 10);
        else if (opt == "--seconds")
            seconds = std::strtoull(argv[i + 1], nullptr, 10);
    }
    auto attached = store::attach_dataplane();
    if (!attached) {
        fmt::print(stderr, "secondary_reader: {}\n", attached.error());
        rte_eal_cleanup();
        return 2;
    }
    store::AttachedDataplane& dp = attached.value();
    const uint32_t tid = dp.first_reader_thread_id();
    rte_rcu_qsbr_thread_register(dp.rcu, tid);
    rte_rcu_qsbr_thread_online(dp.rcu, tid);

    const size_t n_shards = dp.shards.size();
    std::vector<ShardCount> counts(n_shards);
    for (size_t s = 0; s < n_shards; ++s) {
        counts[s].moves_before = dp.shards[s].stats().page_moves;
        counts[s].sets_before = dp.shards[s].stats().sets;
    }
    std::vector<std::string> bad_examples;
    std::vector<store::KeyRef> keys;
    std::vector<std::string> names;
    names.reserve(n_keys);
    for (uint64_t i = 0; i < n_keys; ++i)
        names.push_back(prefix + std::to_string(i));
    for (const std::string& n : names)
        keys.emplace_back(n);  // after seeding: the primary's digests
    std::vector<char> buf(store::kMaxItemSize);
    SystemClock clock;
    uint64_t passes = 0;
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (std::chrono::steady_clock::now() < end) {
        for (const store::KeyRef& k : keys) {
            const size_t s = engine::shard_index(k.digest, n_shards);
            store::ItemMeta meta;
            const store::ReadStatus st = dp.shards[s].read(k, clock.now(), buf, meta);
            if (st != store::ReadStatus::kHit) {
                ++counts[s].misses;
                continue;
            }
            ++counts[s].hits;
            const std::string_view v(buf.data(), meta.value_len);
            if (!valid_value(k.key, v, meta.flags)) {
                ++counts[s].bad;
                if (bad_examples.size() < 5)
                    bad_examples.push_back(fmt::format("{} flags {}: {}", k.key, meta.flags, v));
            }
        }
        ++passes;
        rte_rcu_qsbr_quiescent(dp.rcu, tid);
    }
    rte_rcu_qsbr_thread_offline(dp.rcu, tid);
    rte_rcu_qsbr_thread_unregister(dp.rcu, tid);
    for (size_t s = 0; s < n_shards; ++s) {
        counts[s].moves_after = dp.shards[s].stats().page_moves;
        counts[s].sets_after = dp.shards[s].stats().sets;
    }

    std::string out = fmt::format("{{\"passes\": {}, \"shards\": [", passes);
    for (size_t s = 0; s < n_shards; ++s) {
        const ShardCount& c = counts[s];
        out += fmt::format(
            "{}{{\"hits\": {}, \"misses\": {}, \"bad\": {}, \"page_moves_before\": {}, "
            "\"page_moves_after\": {}, \"sets_before\": {}, \"sets_after\": {}}}",
            s ? ", " : "", c.hits, c.misses, c.bad, c.moves_before, c.moves_after, c.sets_before,
            c.sets_after);
    }
    out += "], \"bad_examples\": [";
    for (size_t i = 0; i < bad_examples.size(); ++i)
        out += (i ? ", " : "") + json_string(bad_examples[i]);
    out += "]}\n";
    fmt::print("{}", out);
    std::fflush(stdout);
    rte_eal_cleanup();
    return 0;
}
