// Store benchmarks: numbers printed, never asserted.
//
//   store_bench get        GET hits/s, 1 M items, 16 B keys, 32 B values,
//                          uniform and Zipf 0.99, single and bursts of 32
//   store_bench set        SET/s with eviction running (memory 10% of the data)
//   store_bench memory     16 B/32 B items that fit in a 1 GiB shard before the
//                          first eviction
//   store_bench memcached-memory PORT   the same against a memcached -m 1024
//   store_bench hitratio   hit ratio on a Zipf 0.99 stream (miss -> set) against
//                          an exact LRU holding the same number of items
//
// One thread, the shard's owner: the numbers are per core.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <rte_eal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <list>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "store/digest.h"
#include "store/exptime.h"
#include "store/shard.h"
#include "support/eal_sandbox.h"

using namespace fulmar;
using namespace fulmar::store;

namespace {

constexpr UnixTime kNow = 1'700'000'000;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

// 16-byte keys: "key:" + 12 digits.
std::string make_key(uint64_t i) {
    return fmt::format("key:{:012d}", i);
}

std::string make_value(uint64_t i) {
    return fmt::format("{:032d}", i * 2654435761u);
}

std::unique_ptr<Shard> make_shard(size_t bytes, const char* name, uint32_t index_entries = 0) {
    ShardConfig cfg;
    cfg.name = name;
    cfg.memory_bytes = bytes;
    cfg.index_entries = index_entries;
    auto s = Shard::create(cfg);
    if (!s) {
        fmt::print(stderr, "shard create failed ({})\n", static_cast<int>(s.error()));
        std::exit(1);
    }
    return std::move(s.value());
}

// Zipf(theta) over [0, n) by inverse CDF on a precomputed table.
class Zipf {
  public:
    Zipf(uint64_t n, double theta, uint64_t seed) : cdf_(n), rng_(seed) {
        double sum = 0;
        for (uint64_t i = 0; i < n; ++i)
            sum += 1.0 / std::pow(double(i + 1), theta);
        double acc = 0;
        for (uint64_t i = 0; i < n; ++i) {
            acc += 1.0 / std::pow(double(i + 1), theta) / sum;
            cdf_[i] = acc;
        }
        // Rank 0 is the hottest; scatter ranks over keys so hot keys are not
        // neighbours in memory.
        perm_.resize(n);
        for (uint64_t i = 0; i < n; ++i)
            perm_[i] = i;
        std::shuffle(perm_.begin(), perm_.end(), std::mt19937_64(seed ^ 0x5bd1e995));
    }
    uint64_t next() {
        const double u = std::uniform_real_distribution<double>(0, 1)(rng_);
        const auto it = std::lower_bound(cdf_.begin(), cdf_.end(), u);
        return perm_[std::min<size_t>(it - cdf_.begin(), cdf_.size() - 1)];
    }

  private:
    std::vector<double> cdf_;
    std::vector<uint64_t> perm_;
    std::mt19937_64 rng_;
};

void bench_get() {
    constexpr uint64_t kItems = 1'000'000;
    constexpr size_t kOps = 20'000'000;
    auto shard = make_shard(size_t{256} << 20, "bget");
    std::vector<std::string> keys(kItems);
    for (uint64_t i = 0; i < kItems; ++i) {
        keys[i] = make_key(i);
        shard->store(StoreMode::kSet, KeyRef(keys[i]), make_value(i), {}, kNow);
    }
    fmt::print("items: {} (evictions {})\n", shard->n_items(), shard->stats().evictions);
    // Precompute the key sequence (and digests, as a dataplane computes them
    // once per request) so the timing holds only the store.
    for (const char* dist : {"uniform", "zipf-0.99"}) {
        std::vector<KeyRef> seq;
        seq.reserve(kOps);
        if (dist[0] == 'u') {
            std::mt19937_64 rng(1);
            for (size_t i = 0; i < kOps; ++i)
                seq.emplace_back(keys[rng() % kItems]);
        } else {
            Zipf z(kItems, 0.99, 2);
            for (size_t i = 0; i < kOps; ++i)
                seq.emplace_back(keys[z.next()]);
        }
        char buf[64];
        ItemMeta meta;
        uint64_t hits = 0;
        auto t0 = Clock::now();
        for (size_t i = 0; i < kOps; ++i)
            hits += shard->read(seq[i], kNow, buf, meta) == ReadStatus::kHit;
        double dt = seconds_since(t0);
        fmt::print("GET {:10} single    : {:6.2f} M/s  (hits {})\n", dist, kOps / dt / 1e6, hits);

        constexpr size_t kBurst = 32;
        std::array<std::array<char, 64>, kBurst> bufs;
        std::array<Shard::BulkRead, kBurst> reads;
        for (size_t j = 0; j < kBurst; ++j)
            reads[j].value_out = bufs[j];
        hits = 0;
        t0 = Clock::now();
        for (size_t i = 0; i + kBurst <= kOps; i += kBurst) {
            for (size_t j = 0; j < kBurst; ++j)
                reads[j].key = &seq[i + j];
            shard->read_bulk(reads, kNow);
            for (size_t j = 0; j < kBurst; ++j)
                hits += reads[j].status == ReadStatus::kHit;
        }
        dt = seconds_since(t0);
        fmt::print("GET {:10} burst of 32: {:6.2f} M/s  (hits {})\n", dist, kOps / dt / 1e6, hits);
    }
}

void bench_set() {
    // 4 M distinct 16 B/32 B items (~320 MB of items) into 32 MiB: ~10%.
    constexpr uint64_t kKeys = 4'000'000;
    constexpr size_t kOps = 10'000'000;
    auto shard = make_shard(size_t{32} << 20, "bset");
    std::vector<std::string> keys(kKeys);
    for (uint64_t i = 0; i < kKeys; ++i)
        keys[i] = make_key(i);
    const std::string value = make_value(7);
    std::mt19937_64 rng(3);
    std::vector<uint32_t> seq(kOps);
    for (auto& s : seq)
        s = static_cast<uint32_t>(rng() % kKeys);
    auto t0 = Clock::now();
    for (size_t i = 0; i < kOps; ++i)
        shard->store(StoreMode::kSet, KeyRef(keys[seq[i]]), value, {}, kNow);
    const double dt = seconds_since(t0);
    fmt::print("SET uniform, memory 10% of data: {:6.2f} M/s  (evictions {}, items {})\n",
               kOps / dt / 1e6, shard->stats().evictions, shard->n_items());
}

void bench_memory() {
    auto shard = make_shard(size_t{1} << 30, "bmem");
    uint64_t i = 0;
    while (shard->stats().evictions == 0) {
        const std::string k = make_key(i);
        shard->store(StoreMode::kSet, KeyRef(k), make_value(i), {}, kNow);
        ++i;
    }
    fmt::print(
        "fulmar: {} items of 16 B key / 32 B value in a 1 GiB shard before the first "
        "eviction ({} bytes per item; index {} slots)\n",
        i - 1, double(size_t{1} << 30) / double(i - 1), shard->index().capacity());
}

bool send_all(int fd, const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
        const ssize_t n = ::send(fd, s.data() + off, s.size() - off, 0);
        if (n <= 0) return false;
        off += static_cast<size_t>(n);
    }
    return true;
}

std::string mc_stats(int fd) {
    send_all(fd, "stats\r\n");
    std::string out;
    char buf[65536];
    while (out.find("END\r\n") == std::string::npos) {
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        out.append(buf, static_cast<size_t>(n));
    }
    return out;
}

uint64_t stat_value(const std::string& stats, const std::string& name) {
    const auto p = stats.find("STAT " + name + " ");
    if (p == std::string::npos) return 0;
    return std::stoull(stats.substr(p + name.size() + 6));
}

void bench_memcached_memory(int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        fmt::print(stderr, "cannot connect to memcached on port {}\n", port);
        std::exit(1);
    }
    uint64_t i = 0;
    for (;;) {
        std::string batch;
        for (int j = 0; j < 20000; ++j, ++i)
            batch += fmt::format("set {} 0 0 32 noreply\r\n{}\r\n", make_key(i), make_value(i));
        send_all(fd, batch);
        const std::string st = mc_stats(fd);
        if (stat_value(st, "evictions") > 0) {
            fmt::print(
                "memcached: {} items (curr_items at the first evictions: {} evicted so "
                "far) in -m 1024\n",
                stat_value(st, "curr_items"), stat_value(st, "evictions"));
            break;
        }
    }
    ::close(fd);
}

// Exact LRU in items, for the hit-ratio comparison.
class Lru {
  public:
    explicit Lru(size_t cap) : cap_(cap) {}
    bool get(uint64_t k) {
        auto it = map_.find(k);
        if (it == map_.end()) return false;
        order_.splice(order_.begin(), order_, it->second);
        return true;
    }
    void set(uint64_t k) {
        order_.push_front(k);
        map_[k] = order_.begin();
        if (map_.size() > cap_) {
            map_.erase(order_.back());
            order_.pop_back();
        }
    }

  private:
    size_t cap_;
    std::list<uint64_t> order_;
    std::unordered_map<uint64_t, std::list<uint64_t>::iterator> map_;
};

void bench_hitratio() {
    constexpr uint64_t kKeys = 1'000'000;
    constexpr size_t kOps = 10'000'000;
    auto shard = make_shard(size_t{16} << 20, "bhit");  // ~200k of 1 M items
    std::vector<std::string> keys(kKeys);
    for (uint64_t i = 0; i < kKeys; ++i)
        keys[i] = make_key(i);
    Zipf z(kKeys, 0.99, 5);
    std::vector<uint32_t> seq(kOps);
    for (auto& s : seq)
        s = static_cast<uint32_t>(z.next());
    const std::string value = make_value(1);
    char buf[64];
    ItemMeta meta;
    uint64_t hits = 0;
    for (size_t i = 0; i < kOps; ++i) {
        const KeyRef k(keys[seq[i]]);
        if (shard->read(k, kNow, buf, meta) == ReadStatus::kHit)
            ++hits;
        else
            shard->store(StoreMode::kSet, k, value, {}, kNow);
    }
    const size_t capacity = shard->n_items();
    Lru lru(capacity);
    uint64_t lru_hits = 0;
    for (size_t i = 0; i < kOps; ++i) {
        if (lru.get(seq[i]))
            ++lru_hits;
        else
            lru.set(seq[i]);
    }
    fmt::print(
        "hit ratio, Zipf 0.99 over 1 M keys, {} items held: CLOCK {:.4f}, exact LRU "
        "{:.4f}\n",
        capacity, double(hits) / kOps, double(lru_hits) / kOps);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        fmt::print(stderr, "usage: store_bench get|set|memory|hitratio|memcached-memory PORT\n");
        return 2;
    }
    const std::string mode = argv[1];
    if (mode == "memcached-memory") {
        if (argc < 3) return 2;
        bench_memcached_memory(std::atoi(argv[2]));
        return 0;
    }
    const testing::EalSandbox eal("fulmar_bench", 4096);
    if (!eal.ok()) {
        fmt::print(stderr, "rte_eal_init failed\n");
        return 1;
    }
    randomize_digest_seed();
    if (mode == "get")
        bench_get();
    else if (mode == "set")
        bench_set();
    else if (mode == "memory")
        bench_memory();
    else if (mode == "hitratio")
        bench_hitratio();
    else
        fmt::print(stderr, "unknown mode {}\n", mode);
    return 0;
}
