// Tests of the dataplane configuration: the shipped files, every kind of
// error (each must name its key), defaults, the key table and round trips.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/address_text.h"
#include "config/dataplane_config.h"

namespace fulmar::config {
namespace {

// gtest without gmock: HasSubstr in a form EXPECT_TRUE can print.
::testing::AssertionResult contains(std::string_view haystack, std::string_view needle) {
    if (haystack.find(needle) != std::string_view::npos) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "'" << needle << "' not in:\n" << haystack;
}

// The smallest valid file; tests append to or edit it.
constexpr std::string_view kMinimal = R"(
[dataplane]
workers = [1]
allowed_clients = ["198.18.0.0/15"]

[[ports]]
device = "net_tap0,iface=fulmar0"
ipv4 = "198.18.0.1/24"
)";

std::string replace(std::string_view text, std::string_view from, std::string_view to) {
    std::string s(text);
    size_t at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) s.replace(at, from.size(), to);
    return s;
}

// Parses `text`, expects an error, returns it.
ConfigError error_of(std::string_view text) {
    auto r = parse_config(text, "test.toml");
    EXPECT_FALSE(r.ok()) << "accepted:\n" << text;
    if (r.ok()) return {};
    return r.error();
}

// ===========================================================================
// Shipped configs

TEST(ShippedConfigs, LocalTomlParsesAsTheTapSandbox) {
    auto r = load_config_file(FULMAR_CONFIG_DIR "/local.toml");
    ASSERT_TRUE(r.ok()) << r.error().message;
    const DataplaneConfig& c = r.value();
    EXPECT_EQ(c.workers, std::vector<uint16_t>{1});
    EXPECT_EQ(c.memory_per_shard_mb, 256u);
    EXPECT_EQ(c.idle.mode, IdleMode::kAdaptive);
    ASSERT_EQ(c.allowed_clients.size(), 1u);
    EXPECT_EQ(c.allowed_clients[0], (Ipv4Prefix{0xC6120000, 15}));
    ASSERT_EQ(c.ports.size(), 1u);
    EXPECT_EQ(c.ports[0].device, "net_tap0,iface=fulmar0");
    EXPECT_EQ(c.ports[0].kind, DeviceKind::kVdev);
    EXPECT_EQ(c.ports[0].ipv4, (Ipv4Prefix{0xC6120001, 24}));
    EXPECT_EQ(c.ports[0].kernel_device, "net_tap1,iface=fulmark0");
}

TEST(ShippedConfigs, ApplianceTomlParsesWithAPciPortAndSeveralWorkers) {
    auto r = load_config_file(FULMAR_CONFIG_DIR "/appliance.toml");
    ASSERT_TRUE(r.ok()) << r.error().message;
    const DataplaneConfig& c = r.value();
    EXPECT_GT(c.workers.size(), 1u);
    EXPECT_GT(c.memory_per_shard_mb, kDefaultMemoryPerShardMb);
    ASSERT_FALSE(c.ports.empty());
    EXPECT_EQ(c.ports[0].kind, DeviceKind::kPci);
    EXPECT_EQ(c.ports[0].pci, (PciAddress{0, 0x3b, 0, 0}));
    EXPECT_FALSE(c.udp_admin_commands);
}

TEST(ShippedConfigs, ApplianceTomlShowsEveryKeyOfTheTable) {
    // The documented example is where an operator looks first: it names every
    // key (optional ones may be commented out).
    auto text = load_config_file(FULMAR_CONFIG_DIR "/appliance.toml");
    ASSERT_TRUE(text.ok());
    std::FILE* f = std::fopen(FULMAR_CONFIG_DIR "/appliance.toml", "rb");
    ASSERT_NE(f, nullptr);
    std::string body;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0)
        body.append(buf, n);
    std::fclose(f);
    for (const KeyInfo& k : kConfigKeys) {
        std::string_view leaf = k.path.substr(k.path.rfind('.') + 1);
        if (k.type == ValueType::kTable || k.type == ValueType::kArrayOfTables) {
            EXPECT_TRUE(contains(body, "[" + std::string(k.path))) << k.path;
        } else {
            EXPECT_TRUE(contains(body, std::string(leaf) + " = ")) << k.path;
        }
    }
}

TEST(ShippedConfigs, MissingFileIsAnIoErrorNamingThePath) {
    auto r = load_config_file("/nonexistent/fulmar.toml");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().status, ConfigStatus::kIoError);
    EXPECT_TRUE(contains(r.error().message, "/nonexistent/fulmar.toml"));
}

// ===========================================================================
// Defaults

TEST(Defaults, AreAppliedToEveryOptionalKey) {
    auto r = parse_config(kMinimal);
    ASSERT_TRUE(r.ok()) << r.error().message;
    const DataplaneConfig& c = r.value();
    EXPECT_FALSE(c.main_lcore.has_value());
    EXPECT_EQ(c.memory_per_shard_mb, 256u);
    EXPECT_EQ(c.index_entries_per_shard, 0u);
    EXPECT_EQ(c.udp_port, 11211);
    EXPECT_FALSE(c.udp_admin_commands);
    EXPECT_EQ(c.idle.mode, IdleMode::kAdaptive);
    EXPECT_EQ(c.idle.pause_iterations, kDefaultPauseIterations);
    EXPECT_EQ(c.idle.max_sleep_us, kDefaultMaxSleepUs);
    EXPECT_EQ(c.mbufs_per_port, 0u);
    EXPECT_EQ(c.rx_desc, 1024);
    EXPECT_EQ(c.tx_desc, 1024);
    EXPECT_EQ(c.burst_size, 64);
    EXPECT_TRUE(c.telemetry_enabled);
    EXPECT_FALSE(c.ports[0].mac.has_value());
    EXPECT_FALSE(c.ports[0].mtu.has_value());
    EXPECT_FALSE(c.ports[0].vlan.has_value());
    EXPECT_TRUE(c.ports[0].kernel_device.empty());
}

TEST(Defaults, InTheKeyTableAreTheOnesTheParserApplies) {
    // format_config prints every value; each documented default must appear
    // under its section for a file that sets nothing optional.
    auto r = parse_config(kMinimal);
    ASSERT_TRUE(r.ok());
    std::string dump = format_config(r.value());
    for (const KeyInfo& k : kConfigKeys) {
        if (k.default_text.empty()) continue;
        std::string_view section = k.path.substr(0, k.path.rfind('.'));
        std::string_view leaf = k.path.substr(k.path.rfind('.') + 1);
        // An array of tables ("ports[]") is written [[ports]].
        const std::string header =
            section.ends_with("[]")
                ? "[[" + std::string(section.substr(0, section.size() - 2)) + "]]\n"
                : "[" + std::string(section) + "]\n";
        size_t start = dump.find(header);
        ASSERT_NE(start, std::string::npos) << section;
        size_t end = dump.find("\n[", start + 1);
        std::string body = dump.substr(start, end - start) + "\n";
        std::string line = "\n" + std::string(leaf) + " = " + std::string(k.default_text) + "\n";
        EXPECT_TRUE(contains(body, line)) << k.path;
    }
}

// ===========================================================================
// Every error names its key

TEST(ConfigErrors, SyntaxErrorGivesLineAndColumn) {
    ConfigError e = error_of("[dataplane]\nworkers = [1\nudp_port = 1\n");
    EXPECT_EQ(e.status, ConfigStatus::kSyntaxError);
    EXPECT_GE(e.line, 2u);
    EXPECT_GT(e.column, 0u);
    EXPECT_TRUE(contains(e.message, "test.toml:" + std::to_string(e.line) + ":"));
}

TEST(ConfigErrors, SyntaxErrorOnAKnownLine) {
    ConfigError e = error_of("[dataplane]\nworkers = [1]\nudp_port = = 5\n");
    EXPECT_EQ(e.status, ConfigStatus::kSyntaxError);
    EXPECT_EQ(e.line, 3u);
    EXPECT_TRUE(contains(e.message, "test.toml:3:"));
}

TEST(ConfigErrors, BadPortCidrNamesPortsIndexIpv4) {
    ConfigError e = error_of(replace(kMinimal, "198.18.0.1/24", "198.18.0.1/33"));
    EXPECT_EQ(e.status, ConfigStatus::kBadValue);
    EXPECT_EQ(e.key, "ports[0].ipv4");
    EXPECT_TRUE(contains(e.message,
                         "ports[0].ipv4: '198.18.0.1/33' is not an IPv4 address with a prefix "
                         "length 0-32"));
    EXPECT_EQ(e.line, 8u);
    EXPECT_TRUE(contains(e.message, "test.toml:8:"));
}

TEST(ConfigErrors, PortAddressWithoutPrefixIsRejected) {
    ConfigError e = error_of(replace(kMinimal, "198.18.0.1/24", "198.18.0.1"));
    EXPECT_EQ(e.key, "ports[0].ipv4");
}

TEST(ConfigErrors, BadClientPrefixNamesTheListElement) {
    ConfigError e =
        error_of(replace(kMinimal, "[\"198.18.0.0/15\"]", "[\"10.0.0.0/8\", \"10.0/8\"]"));
    EXPECT_EQ(e.key, "dataplane.allowed_clients[1]");
    EXPECT_TRUE(contains(e.message, "'10.0/8'"));
}

TEST(ConfigErrors, ClientPrefixWithHostBitsSuggestsTheNetwork) {
    ConfigError e = error_of(replace(kMinimal, "198.18.0.0/15", "198.18.0.1/15"));
    EXPECT_EQ(e.key, "dataplane.allowed_clients[0]");
    EXPECT_TRUE(contains(e.message, "did you mean '198.18.0.0/15'"));
}

TEST(ConfigErrors, EmptyClientListIsRejected) {
    ConfigError e = error_of(replace(kMinimal, "[\"198.18.0.0/15\"]", "[]"));
    EXPECT_EQ(e.key, "dataplane.allowed_clients");
}

TEST(ConfigErrors, DuplicateWorkerNamesTheSecondOccurrence) {
    ConfigError e = error_of(replace(kMinimal, "workers = [1]", "workers = [1, 2, 1]"));
    EXPECT_EQ(e.status, ConfigStatus::kBadValue);
    EXPECT_EQ(e.key, "dataplane.workers[2]");
    EXPECT_TRUE(contains(e.message, "lcore 1 is listed twice"));
}

TEST(ConfigErrors, EmptyWorkerListIsRejected) {
    ConfigError e = error_of(replace(kMinimal, "workers = [1]", "workers = []"));
    EXPECT_EQ(e.key, "dataplane.workers");
}

TEST(ConfigErrors, WorkerLcoreOf1024IsOutOfRange) {
    ConfigError e = error_of(replace(kMinimal, "workers = [1]", "workers = [1, 1024]"));
    EXPECT_EQ(e.key, "dataplane.workers[1]");
    EXPECT_TRUE(contains(e.message, "1024 is out of range 0-1023"));
}

TEST(ConfigErrors, MainLcoreThatIsAlsoAWorkerIsRejected) {
    ConfigError e = error_of(replace(kMinimal, "workers = [1]", "workers = [1]\nmain_lcore = 1"));
    EXPECT_EQ(e.key, "dataplane.main_lcore");
}

TEST(ConfigErrors, UdpPortOutOfRangeNamesTheKey) {
    for (std::string_view port : {"0", "65536", "-1"}) {
        ConfigError e = error_of(
            replace(kMinimal, "workers = [1]", "workers = [1]\nudp_port = " + std::string(port)));
        EXPECT_EQ(e.status, ConfigStatus::kBadValue) << port;
        EXPECT_EQ(e.key, "dataplane.udp_port") << port;
        EXPECT_TRUE(contains(e.message, "out of range 1-65535")) << port;
    }
}

TEST(ConfigErrors, UnknownKeyIsRejectedWithASuggestion) {
    ConfigError e = error_of(replace(kMinimal, "workers = [1]", "workers = [1]\nudp_prot = 11211"));
    EXPECT_EQ(e.status, ConfigStatus::kUnknownKey);
    EXPECT_EQ(e.key, "dataplane.udp_prot");
    EXPECT_TRUE(contains(e.message, "did you mean 'udp_port'"));
    EXPECT_EQ(e.line, 4u);
}

TEST(ConfigErrors, UnknownKeyInsideAPortNamesThePort) {
    ConfigError e = error_of(std::string(kMinimal) + "vlna = 5\n");
    EXPECT_EQ(e.status, ConfigStatus::kUnknownKey);
    EXPECT_EQ(e.key, "ports[0].vlna");
}

TEST(ConfigErrors, UnknownSectionIsRejected) {
    ConfigError e = error_of(std::string(kMinimal) + "[telemtry]\nenabled = false\n");
    EXPECT_EQ(e.status, ConfigStatus::kUnknownKey);
    EXPECT_EQ(e.key, "telemtry");
    EXPECT_TRUE(contains(e.message, "did you mean 'telemetry'"));
}

TEST(ConfigErrors, WrongTypeSaysWhatWasExpected) {
    ConfigError e =
        error_of(replace(kMinimal, "workers = [1]", "workers = [1]\nudp_port = \"11211\""));
    EXPECT_EQ(e.status, ConfigStatus::kWrongType);
    EXPECT_EQ(e.key, "dataplane.udp_port");
    EXPECT_TRUE(contains(e.message, "expected an integer, got a string"));
}

TEST(ConfigErrors, WrongTypeInsideAnArrayNamesTheElement) {
    ConfigError e = error_of(replace(kMinimal, "workers = [1]", "workers = [1, \"2\"]"));
    EXPECT_EQ(e.status, ConfigStatus::kWrongType);
    EXPECT_EQ(e.key, "dataplane.workers[1]");
}

TEST(ConfigErrors, SectionOfTheWrongTypeIsRejected) {
    ConfigError e = error_of(std::string(kMinimal) + "telemetry = true\n");
    // "telemetry = true" lands in the last [[ports]] table.
    EXPECT_EQ(e.key, "ports[0].telemetry");
    e = error_of("telemetry = true\n" + std::string(kMinimal));
    EXPECT_EQ(e.status, ConfigStatus::kWrongType);
    EXPECT_EQ(e.key, "telemetry");
}

TEST(ConfigErrors, MissingRequiredKeyIsNamed) {
    ConfigError e = error_of(replace(kMinimal, "ipv4 = \"198.18.0.1/24\"", ""));
    EXPECT_EQ(e.status, ConfigStatus::kMissingKey);
    EXPECT_EQ(e.key, "ports[0].ipv4");
    e = error_of(replace(kMinimal, "workers = [1]", ""));
    EXPECT_EQ(e.key, "dataplane.workers");
    e = error_of("");
    EXPECT_EQ(e.status, ConfigStatus::kMissingKey);
    EXPECT_EQ(e.key, "dataplane");
}

TEST(ConfigErrors, MissingPortsIsNamed) {
    std::string text(kMinimal.substr(0, kMinimal.find("[[ports]]")));
    ConfigError e = error_of(text);
    EXPECT_EQ(e.status, ConfigStatus::kMissingKey);
    EXPECT_EQ(e.key, "ports");
}

TEST(ConfigErrors, DescriptorsMustBePowersOfTwo) {
    ConfigError e = error_of(replace(kMinimal, "workers = [1]", "workers = [1]\nrx_desc = 1000"));
    EXPECT_EQ(e.key, "dataplane.rx_desc");
    EXPECT_TRUE(contains(e.message, "power of 2"));
}

TEST(ConfigErrors, BurstSizeAbove64IsRejected) {
    ConfigError e = error_of(replace(kMinimal, "workers = [1]", "workers = [1]\nburst_size = 65"));
    EXPECT_EQ(e.key, "dataplane.burst_size");
}

TEST(ConfigErrors, TooFewMbufsForTheDescriptorsIsRejected) {
    ConfigError e =
        error_of(replace(kMinimal, "workers = [1]", "workers = [1, 2]\nmbufs_per_port = 4000"));
    EXPECT_EQ(e.key, "dataplane.mbufs_per_port");
    EXPECT_TRUE(contains(e.message, "4096"));
}

TEST(ConfigErrors, UnknownIdleModeIsRejected) {
    ConfigError e = error_of(std::string(kMinimal) + "[dataplane.idle]\nmode = \"sleepy\"\n");
    EXPECT_EQ(e.key, "dataplane.idle.mode");
    EXPECT_TRUE(contains(e.message, "'sleepy'"));
}

TEST(ConfigErrors, MalformedPciAddressIsRejected) {
    for (std::string_view bad : {"0000:3b:00", "0000:3b:20.0", "0000:3b:00.8", "000:3b:00.0",
                                 "0000:3g:00.0", "0000:3b:00.0,", "0000:3b:00.0,x"}) {
        ConfigError e = error_of(replace(kMinimal, "net_tap0,iface=fulmar0", bad));
        EXPECT_EQ(e.key, "ports[0].device") << bad;
        EXPECT_TRUE(contains(e.message, "PCI address")) << bad;
    }
}

TEST(ConfigErrors, MalformedVdevIsRejected) {
    for (std::string_view bad : {"", "0net", "net tap", "net_tap0,iface", "net_tap0,=x",
                                 "net_tap0,iface=a b", "net_tap0,,iface=a"}) {
        ConfigError e = error_of(replace(kMinimal, "net_tap0,iface=fulmar0", bad));
        EXPECT_EQ(e.key, "ports[0].device") << bad;
    }
}

TEST(ConfigErrors, TwoPortsOnTheSameDeviceAreRejected) {
    ConfigError e =
        error_of(std::string(kMinimal) +
                 "[[ports]]\ndevice = \"net_tap0,iface=other\"\nipv4 = \"10.0.0.1/8\"\n");
    EXPECT_EQ(e.key, "ports[1].device");
    EXPECT_TRUE(contains(e.message, "ports[0]"));
}

TEST(ConfigErrors, KernelDeviceMustBeAVdevOfItsOwn) {
    ConfigError e = error_of(std::string(kMinimal) + "kernel_device = \"0000:3b:00.0\"\n");
    EXPECT_EQ(e.key, "ports[0].kernel_device");
    EXPECT_TRUE(contains(e.message, "vdev"));
    e = error_of(std::string(kMinimal) + "kernel_device = \"net_tap0,iface=k\"\n");
    EXPECT_EQ(e.key, "ports[0].kernel_device");
    EXPECT_TRUE(contains(e.message, "the port itself"));
    e = error_of(std::string(kMinimal) + "kernel_device = \"net tap1\"\n");
    EXPECT_EQ(e.key, "ports[0].kernel_device");
    // Another port's device or kernel side, either way round.
    e = error_of(std::string(kMinimal) +
                 "kernel_device = \"net_tap1,iface=k\"\n[[ports]]\ndevice = "
                 "\"net_tap2,iface=b\"\nipv4 = \"10.0.0.1/8\"\nkernel_device = \"net_tap1\"\n");
    EXPECT_EQ(e.key, "ports[1].kernel_device");
    EXPECT_TRUE(contains(e.message, "ports[0]"));
    e = error_of(std::string(kMinimal) +
                 "kernel_device = \"net_tap1,iface=k\"\n[[ports]]\ndevice = "
                 "\"net_tap1,iface=b\"\nipv4 = \"10.0.0.1/8\"\n");
    EXPECT_EQ(e.key, "ports[1].device");
    EXPECT_TRUE(contains(e.message, "ports[0].kernel_device"));
    e = error_of(std::string(kMinimal) +
                 "[[ports]]\ndevice = \"net_tap2,iface=b\"\nipv4 = \"10.0.0.1/8\"\n"
                 "kernel_device = \"net_tap0\"\n");
    EXPECT_EQ(e.key, "ports[1].kernel_device");
    EXPECT_TRUE(contains(e.message, "ports[0]"));
}

TEST(ConfigErrors, MulticastMacIsRejected) {
    ConfigError e = error_of(std::string(kMinimal) + "mac = \"01:00:5e:00:00:01\"\n");
    EXPECT_EQ(e.key, "ports[0].mac");
    e = error_of(std::string(kMinimal) + "mac = \"02:00:00:00:00\"\n");
    EXPECT_EQ(e.key, "ports[0].mac");
}

TEST(ConfigErrors, MtuAndVlanRangesAreChecked) {
    EXPECT_EQ(error_of(std::string(kMinimal) + "mtu = 67\n").key, "ports[0].mtu");
    EXPECT_EQ(error_of(std::string(kMinimal) + "mtu = 9001\n").key, "ports[0].mtu");
    EXPECT_EQ(error_of(std::string(kMinimal) + "vlan = 0\n").key, "ports[0].vlan");
    EXPECT_EQ(error_of(std::string(kMinimal) + "vlan = 4095\n").key, "ports[0].vlan");
}

TEST(ConfigErrors, EmptyPortsArrayIsRejected) {
    std::string text(kMinimal.substr(0, kMinimal.find("[[ports]]")));
    ConfigError e = error_of("ports = []\n" + text);
    EXPECT_EQ(e.key, "ports");
}

// ===========================================================================
// Accepted values

TEST(ConfigValues, EveryKeySetParsesIntoTheStruct) {
    auto r = parse_config(R"(
[dataplane]
workers = [3, 2]
main_lcore = 0
memory_per_shard_mb = 1024
index_entries_per_shard = 4000000
udp_port = 11311
allowed_clients = ["10.0.0.0/8", "0.0.0.0/0"]
udp_admin_commands = true
mbufs_per_port = 65536
rx_desc = 4096
tx_desc = 512
burst_size = 64

[dataplane.idle]
mode = "poll"
pause_iterations = 10
max_sleep_us = 5

[[ports]]
device = "0000:3B:00.1,rx_vec_en=0"
ipv4 = "10.1.2.3/16"
mtu = 9000
vlan = 4094
checksum_offload = false

[[ports]]
device = "net_memif0,role=client,socket=/run/fulmar/memif.sock"
ipv4 = "192.168.7.1/32"
mac = "02:AA:bb:00:00:01"
kernel_device = "net_tap7,iface=fulmark7"

[telemetry]
enabled = false
)");
    ASSERT_TRUE(r.ok()) << r.error().message;
    const DataplaneConfig& c = r.value();
    EXPECT_EQ(c.workers, (std::vector<uint16_t>{3, 2}));
    EXPECT_EQ(c.main_lcore, 0);
    EXPECT_EQ(c.memory_per_shard_mb, 1024u);
    EXPECT_EQ(c.index_entries_per_shard, 4000000u);
    EXPECT_EQ(c.udp_port, 11311);
    EXPECT_EQ(c.allowed_clients, (std::vector<Ipv4Prefix>{{0x0A000000, 8}, {0, 0}}));
    EXPECT_TRUE(c.udp_admin_commands);
    EXPECT_EQ(c.mbufs_per_port, 65536u);
    EXPECT_EQ(c.rx_desc, 4096);
    EXPECT_EQ(c.tx_desc, 512);
    EXPECT_EQ(c.burst_size, 64);
    EXPECT_EQ(c.idle, (IdleConfig{IdleMode::kPoll, 10, 5}));
    ASSERT_EQ(c.ports.size(), 2u);
    EXPECT_EQ(c.ports[0].kind, DeviceKind::kPci);
    EXPECT_EQ(c.ports[0].pci, (PciAddress{0, 0x3b, 0, 1}));
    EXPECT_EQ(c.ports[0].ipv4, (Ipv4Prefix{0x0A010203, 16}));
    EXPECT_EQ(c.ports[0].mtu, 9000);
    EXPECT_EQ(c.ports[0].vlan, 4094);
    EXPECT_FALSE(c.ports[0].checksum_offload);
    EXPECT_TRUE(c.ports[1].checksum_offload);
    EXPECT_EQ(c.ports[1].kind, DeviceKind::kVdev);
    ASSERT_TRUE(c.ports[1].mac.has_value());
    EXPECT_EQ(format_mac(*c.ports[1].mac), "02:aa:bb:00:00:01");
    EXPECT_TRUE(c.ports[0].kernel_device.empty());
    EXPECT_EQ(c.ports[1].kernel_device, "net_tap7,iface=fulmark7");
    EXPECT_FALSE(c.telemetry_enabled);

    // And it survives a round trip through format_config.
    auto again = parse_config(format_config(c), "format_config");
    ASSERT_TRUE(again.ok()) << again.error().message << "\n" << format_config(c);
    EXPECT_EQ(again.value(), c);
}

TEST(ConfigValues, ShortPciAddressHasDomainZero) {
    auto r = parse_config(replace(kMinimal, "net_tap0,iface=fulmar0", "3b:00.0"));
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r.value().ports[0].kind, DeviceKind::kPci);
    EXPECT_EQ(r.value().ports[0].pci, (PciAddress{0, 0x3b, 0, 0}));
}

TEST(ConfigValues, MinimalConfigRoundTripsThroughFormatConfig) {
    auto r = parse_config(kMinimal);
    ASSERT_TRUE(r.ok());
    auto again = parse_config(format_config(r.value()));
    ASSERT_TRUE(again.ok()) << again.error().message;
    EXPECT_EQ(again.value(), r.value());
}

TEST(ConfigValues, DescribeConfigListsEveryKeyOnce) {
    std::string text = describe_config();
    for (const KeyInfo& k : kConfigKeys) {
        EXPECT_TRUE(contains(text, "\n" + std::string(k.path) + " ")) << k.path;
    }
}

TEST(ConfigValues, KeyTableHasNoDuplicatesAndEveryParentIsASection) {
    for (size_t i = 0; i < std::size(kConfigKeys); i++) {
        std::string_view path = kConfigKeys[i].path;
        for (size_t j = i + 1; j < std::size(kConfigKeys); j++) {
            EXPECT_NE(path, kConfigKeys[j].path);
        }
        size_t dot = path.rfind('.');
        if (dot == std::string_view::npos) continue;
        std::string_view parent = path.substr(0, dot);
        if (parent.ends_with("[]")) parent.remove_suffix(2);
        bool found = false;
        for (const KeyInfo& k : kConfigKeys) {
            if (k.path == parent) {
                found = k.type == ValueType::kTable || k.type == ValueType::kArrayOfTables;
            }
        }
        EXPECT_TRUE(found) << path;
    }
}

// ===========================================================================
// Address text

TEST(AddressText, Ipv4RejectsEverySloppySpelling) {
    EXPECT_EQ(parse_ipv4("198.18.0.1"), 0xC6120001u);
    EXPECT_EQ(parse_ipv4("0.0.0.0"), 0u);
    EXPECT_EQ(parse_ipv4("255.255.255.255"), 0xFFFFFFFFu);
    for (std::string_view bad : {"", "1.2.3", "1.2.3.4.5", "1.2.3.256", "01.2.3.4", "1..3.4",
                                 "1.2.3.4 ", " 1.2.3.4", "+1.2.3.4", "1.2.3.-4", "1.2.3.1000"}) {
        EXPECT_FALSE(parse_ipv4(bad).has_value()) << bad;
    }
}

TEST(AddressText, Ipv4PrefixLengthIs0To32) {
    EXPECT_EQ(parse_ipv4_prefix("10.0.0.0/0"), (Ipv4Prefix{0x0A000000, 0}));
    EXPECT_EQ(parse_ipv4_prefix("10.0.0.1/32"), (Ipv4Prefix{0x0A000001, 32}));
    for (std::string_view bad :
         {"10.0.0.0", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/08", "10.0.0.0/-1", "10.0.0.0/8/8"}) {
        EXPECT_FALSE(parse_ipv4_prefix(bad).has_value()) << bad;
    }
}

TEST(AddressText, PrefixContainsItsNetworkOnly) {
    Ipv4Prefix p{0xC6120000, 15};  // 198.18.0.0/15
    EXPECT_TRUE(p.contains(0xC6120001));
    EXPECT_TRUE(p.contains(0xC613FFFF));  // 198.19.255.255
    EXPECT_FALSE(p.contains(0xC6140000));
    EXPECT_TRUE((Ipv4Prefix{0, 0}).contains(0x01020304));
    EXPECT_EQ(format_ipv4_prefix(p), "198.18.0.0/15");
}

TEST(AddressText, PciAndMacFormatCanonically) {
    auto pci = parse_pci_address("ABCD:3b:1f.7");
    ASSERT_TRUE(pci.has_value());
    EXPECT_EQ(format_pci_address(*pci), "abcd:3b:1f.7");
    auto mac = parse_mac("02:00:5E:10:00:0a");
    ASSERT_TRUE(mac.has_value());
    EXPECT_EQ(format_mac(*mac), "02:00:5e:10:00:0a");
    EXPECT_FALSE(parse_mac("02-00-5e-10-00-0a").has_value());
    EXPECT_FALSE(parse_mac("2:00:5e:10:00:0a:").has_value());
}

// ===========================================================================
// The effective configuration as pairs (the admin socket's CONFIG SHOW)

TEST(ConfigEntries, NameEveryKeyOfTheTableInTableOrder) {
    auto r = parse_config(std::string(kMinimal) + "\n[controlplane]\nmetrics_port = 9911\n");
    ASSERT_TRUE(r.ok()) << r.error().message;
    const auto entries = config_entries(r.value());
    std::vector<std::string> expected;
    for (const KeyInfo& k : kConfigKeys) {
        if (k.type == ValueType::kTable || k.type == ValueType::kArrayOfTables) continue;
        std::string path(k.path);
        if (path.starts_with("ports[]")) path.replace(0, 7, "ports[0]");
        expected.push_back(path);
    }
    std::vector<std::string> names;
    for (const auto& [k, v] : entries)
        names.push_back(k);
    EXPECT_EQ(names, expected);
    auto value = [&](std::string_view key) {
        for (const auto& [k, v] : entries)
            if (k == key) return v;
        return std::string("<absent>");
    };
    EXPECT_EQ(value("dataplane.workers"), "[1]");
    EXPECT_EQ(value("dataplane.main_lcore"), "unset");
    EXPECT_EQ(value("dataplane.idle.mode"), "\"adaptive\"");
    EXPECT_EQ(value("dataplane.allowed_clients"), "[\"198.18.0.0/15\"]");
    EXPECT_EQ(value("ports[0].device"), "\"net_tap0,iface=fulmar0\"");
    EXPECT_EQ(value("ports[0].checksum_offload"), "true");
    EXPECT_EQ(value("controlplane.admin_socket"), "\"/run/fulmar/admin.sock\"");
    EXPECT_EQ(value("controlplane.metrics_port"), "9911");
}

TEST(ConfigEntries, ValuesAreTheDefaultsOfTheTableWhenNothingIsSet) {
    auto r = parse_config(kMinimal);
    ASSERT_TRUE(r.ok());
    for (const auto& [k, v] : config_entries(r.value())) {
        std::string path = k.starts_with("ports[0]") ? "ports[]" + k.substr(8) : k;
        for (const KeyInfo& info : kConfigKeys) {
            if (info.path != path || info.presence == Presence::kRequired) continue;
            EXPECT_EQ(v, info.default_text.empty() ? "unset" : info.default_text) << k;
        }
    }
}

TEST(ConfigErrors, MetricsPortEqualToMemcachedPortIsRejected) {
    ConfigError e = error_of(std::string(kMinimal) +
                             "\n[controlplane]\nmemcached_port = 9000\nmetrics_port = 9000\n");
    EXPECT_EQ(e.key, "controlplane.metrics_port");
}

TEST(ConfigErrors, RedisPortEqualToMemcachedPortIsRejected) {
    ConfigError e = error_of(std::string(kMinimal) +
                             "\n[controlplane]\nmemcached_port = 9000\nredis_port = 9000\n");
    EXPECT_EQ(e.key, "controlplane.redis_port");
}

TEST(Config, RequirepassIsReadAndNeverShown) {
    auto none = parse_config(std::string(kMinimal));
    ASSERT_TRUE(none) << none.error().message;
    EXPECT_EQ(none.value().controlplane.requirepass, "");
    auto set = parse_config(std::string(kMinimal) + "\n[controlplane]\nrequirepass = \"p w\"\n");
    ASSERT_TRUE(set) << set.error().message;
    EXPECT_EQ(set.value().controlplane.requirepass, "p w");
    EXPECT_EQ(format_config(set.value()).find("p w"), std::string::npos);
    EXPECT_NE(format_config(set.value()).find("requirepass = \"(set)\""), std::string::npos);
    for (const auto& [key, value] : config_entries(set.value()))
        if (key == "controlplane.requirepass") {
            EXPECT_EQ(value, "\"(set)\"");
        }
    ConfigError e = error_of(std::string(kMinimal) + "\n[controlplane]\nrequirepass = \"a\\nb\"\n");
    EXPECT_EQ(e.key, "controlplane.requirepass");
}

TEST(Config, RedisPortDefaultsTo6379AndZeroTurnsItOff) {
    auto on = parse_config(std::string(kMinimal));
    ASSERT_TRUE(on) << on.error().message;
    EXPECT_EQ(on.value().controlplane.redis_port, 6379);
    auto off = parse_config(std::string(kMinimal) + "\n[controlplane]\nredis_port = 0\n");
    ASSERT_TRUE(off) << off.error().message;
    EXPECT_EQ(off.value().controlplane.redis_port, 0);
}

TEST(Config, PubSubOutputLimitsDefaultToRedisAndAreSettable) {
    // Redis's client-output-buffer-limit pubsub 32mb 8mb 60.
    auto d = parse_config(std::string(kMinimal));
    ASSERT_TRUE(d) << d.error().message;
    EXPECT_EQ(d.value().controlplane.pubsub_output_hard_limit_mb, 32u);
    EXPECT_EQ(d.value().controlplane.pubsub_output_soft_limit_mb, 8u);
    EXPECT_EQ(d.value().controlplane.pubsub_output_soft_seconds, 60u);
    auto set = parse_config(std::string(kMinimal) +
                            "\n[controlplane]\npubsub_output_hard_limit_mb = 0\n"
                            "pubsub_output_soft_limit_mb = 2\npubsub_output_soft_seconds = 5\n");
    ASSERT_TRUE(set) << set.error().message;
    EXPECT_EQ(set.value().controlplane.pubsub_output_hard_limit_mb, 0u);
    EXPECT_EQ(set.value().controlplane.pubsub_output_soft_limit_mb, 2u);
    EXPECT_EQ(set.value().controlplane.pubsub_output_soft_seconds, 5u);
    ConfigError e =
        error_of(std::string(kMinimal) + "\n[controlplane]\npubsub_output_hard_limit_mb = -1\n");
    EXPECT_EQ(e.key, "controlplane.pubsub_output_hard_limit_mb");
}

TEST(Config, NotifyKeyspaceEventsTakesRedisLettersOnly) {
    auto d = parse_config(std::string(kMinimal));
    ASSERT_TRUE(d) << d.error().message;
    EXPECT_EQ(d.value().controlplane.notify_keyspace_events, "");
    auto on = parse_config(std::string(kMinimal) +
                           "\n[controlplane]\nnotify_keyspace_events = \"KEA\"\n");
    ASSERT_TRUE(on) << on.error().message;
    EXPECT_EQ(on.value().controlplane.notify_keyspace_events, "KEA");
    ConfigError e =
        error_of(std::string(kMinimal) + "\n[controlplane]\nnotify_keyspace_events = \"KEQ\"\n");
    EXPECT_EQ(e.key, "controlplane.notify_keyspace_events");
}

}  // namespace
}  // namespace fulmar::config
