// Command line: every flag parsed, bad values named, defaults filled in.
#include "options.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace fulmar::pktgen {
namespace {

Result<Options, std::string> parse(std::vector<std::string> args) {
    static std::vector<std::string> keep;
    keep = std::move(args);
    std::vector<char*> argv;
    for (std::string& s : keep)
        argv.push_back(s.data());
    return parse_options(argv);
}

TEST(Options, ParsesTheFullSet) {
    auto r = parse({"--dst-ip",
                    "198.18.0.1",
                    "--src-ip",
                    "198.18.0.2",
                    "--keys",
                    "1M",
                    "--key-len",
                    "20",
                    "--value-len",
                    "16-512",
                    "--get-ratio",
                    "0.95",
                    "--keys-per-get",
                    "10",
                    "--dist",
                    "zipf:0.99",
                    "--preload",
                    "--rate",
                    "2.5M",
                    "--duration",
                    "3",
                    "--warmup",
                    "0.5",
                    "--dst-mac",
                    "02:00:00:00:00:01",
                    "--dst-port",
                    "11311",
                    "--json",
                    "/tmp/x.json",
                    "--timeout-ms",
                    "20"});
    ASSERT_TRUE(r.ok()) << r.error();
    const Options& o = r.value();
    EXPECT_EQ(o.dst_ip, 0xc6120001u);
    EXPECT_EQ(o.src_ip, 0xc6120002u);
    EXPECT_EQ(o.workload.n_keys, 1'000'000u);
    EXPECT_EQ(o.workload.key_len, 20u);
    EXPECT_EQ(o.workload.value_min, 16u);
    EXPECT_EQ(o.workload.value_max, 512u);
    EXPECT_DOUBLE_EQ(o.workload.get_ratio, 0.95);
    EXPECT_EQ(o.workload.keys_per_get, 10u);
    EXPECT_EQ(o.workload.dist, KeyDist::kZipf);
    EXPECT_DOUBLE_EQ(o.workload.zipf_theta, 0.99);
    EXPECT_TRUE(o.preload);
    EXPECT_DOUBLE_EQ(o.rate, 2.5e6);
    EXPECT_EQ(o.window, 0u);  // open loop, no cap
    EXPECT_EQ(o.preload_window, 256u);
    EXPECT_DOUBLE_EQ(o.duration_s, 3);
    ASSERT_TRUE(o.dst_mac.has_value());
    EXPECT_EQ((*o.dst_mac)[5], 1);
    EXPECT_EQ(o.dst_port, 11311);
    EXPECT_EQ(o.json_path, "/tmp/x.json");
    EXPECT_EQ(o.timeout_ms, 20u);
}

TEST(Options, ClosedLoopByDefault) {
    auto r = parse({"--dst-ip", "10.0.0.1", "--src-ip", "10.0.0.2"});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value().rate, 0);
    EXPECT_EQ(r.value().window, 64u);
    EXPECT_EQ(r.value().preload_window, 64u);
    EXPECT_EQ(r.value().workload.value_min, 32u);
    EXPECT_EQ(r.value().workload.value_max, 32u);
}

TEST(Options, PortSizing) {
    auto d = parse({"--dst-ip", "10.0.0.1", "--src-ip", "10.0.0.2"});
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d.value().rx_desc, 1024u);
    EXPECT_EQ(d.value().tx_desc, 1024u);
    EXPECT_EQ(d.value().mbufs_per_queue, 16384u);
    EXPECT_EQ(d.value().mbuf_cache, 256u);
    auto r = parse({"--dst-ip", "10.0.0.1", "--src-ip", "10.0.0.2", "--rx-desc", "512", "--tx-desc",
                    "2048", "--mbufs", "4096", "--mbuf-cache", "512"});
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r.value().rx_desc, 512u);
    EXPECT_EQ(r.value().tx_desc, 2048u);
    EXPECT_EQ(r.value().mbufs_per_queue, 4096u);
    EXPECT_EQ(r.value().mbuf_cache, 512u);
}

TEST(Options, BadValuesNameTheFlag) {
    const std::vector<std::vector<std::string>> bad = {
        {"--dst-ip", "10.0.0"},
        {"--dst-ip", "10.0.0.256"},
        {"--dst-mac", "02:00:00:00:00"},
        {"--get-ratio", "1.1"},
        {"--dist", "zipf:"},
        {"--dist", "pareto"},
        {"--window", "0"},
        {"--window", "65536"},
        {"--value-len", "10-"},
        {"--keys", "1.5"},
        {"--rate", "-1"},
        {"--duration", "x"},
        {"--frobnicate"},
        {"--keys"},
        {"--rx-desc", "16"},
        {"--tx-desc", "40000"},
        {"--mbufs", "1000"},
        {"--mbuf-cache", "513"},
    };
    for (const auto& b : bad) {
        std::vector<std::string> args = {"--dst-ip", "10.0.0.1", "--src-ip", "10.0.0.2"};
        args.insert(args.end(), b.begin(), b.end());
        auto r = parse(args);
        ASSERT_FALSE(r.ok()) << b[0];
        EXPECT_NE(r.error().find(b[0]), std::string::npos) << r.error();
    }
    EXPECT_FALSE(parse({"--src-ip", "10.0.0.2"}).ok());  // no --dst-ip
}

TEST(Options, QueuesSplitTotalsAndNeedEnoughOfEach) {
    auto r = parse({"--dst-ip", "10.0.0.1", "--src-ip", "10.0.0.2", "--queues", "4"});
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r.value().queues, 4u);
    EXPECT_EQ(r.value().window, 256u);  // 64 a queue by default
    EXPECT_EQ(r.value().preload_window, 256u);
    r = parse({"--dst-ip", "10.0.0.1", "--src-ip", "10.0.0.2", "--queues", "8", "--window", "1024",
               "--rate", "8M"});
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r.value().window, 1024u);  // a total
    EXPECT_DOUBLE_EQ(r.value().rate, 8e6);
    r = parse({"--dst-ip", "10.0.0.1", "--src-ip", "10.0.0.2", "--queues", "2", "--rate", "1M"});
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r.value().window, 0u);  // open loop, no cap
    EXPECT_EQ(r.value().preload_window, 512u);
    EXPECT_EQ(parse({"--dst-ip", "10.0.0.1", "--src-ip", "10.0.0.2"}).value().queues, 1u);

    const std::vector<std::vector<std::string>> bad = {
        {"--queues", "0"},
        {"--queues", "65"},
        {"--queues", "x"},
        {"--queues", "4", "--window", "3"},
        {"--queues", "4", "--preload-window", "2"},
        {"--queues", "4", "--keys", "3"},
        {"--queues", "4", "--src-port", "65533"},
    };
    for (const auto& b : bad) {
        std::vector<std::string> args = {"--dst-ip", "10.0.0.1", "--src-ip", "10.0.0.2"};
        args.insert(args.end(), b.begin(), b.end());
        auto e = parse(args);
        ASSERT_FALSE(e.ok()) << b.back();
        // The message names the flag that cannot be split that far.
        EXPECT_NE(e.error().find(b[b.size() - 2]), std::string::npos) << e.error();
    }
    EXPECT_TRUE(parse({"--dst-ip", "10.0.0.1", "--src-ip", "10.0.0.2", "--queues", "4",
                       "--src-port", "65532"})
                    .ok());
}

TEST(Options, UsageListsEveryFlag) {
    const std::string u = usage_text();
    for (const char* f :
         {"--keys", "--value-len", "--dist", "--rate", "--window", "--json", "--queues"})
        EXPECT_NE(u.find(f), std::string::npos) << f;
}

}  // namespace
}  // namespace fulmar::pktgen
