// The dataplane configuration: a TOML file parsed and validated into a plain
// DataplaneConfig, or a ConfigError that names the bad key and why.
//
// Ownership: read once at start-up by the main lcore (fulmar-dataplane) or the
// control plane, before any worker starts; the result is plain data that the
// caller turns into per-lcore views and then treats as read-only. Nothing here
// touches DPDK: the lcore ids, devices and sizes are checked for form and
// range; whether the lcores exist and the NIC answers is the dataplane's check.
//
// Every key is declared once, in kConfigKeys below: its path, TOML type, range,
// default and meaning. The table drives the schema checks (unknown keys, wrong
// types, missing keys, integer ranges), `describe_config()` (`--list-config`)
// and the tests; the code in dataplane_config.cc adds only the checks a table
// cannot express (address formats, uniqueness, powers of two). A key added to
// the struct must be added to the table, or the parser calls it unknown.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "config/address_text.h"

namespace fulmar::config {

// ---------------------------------------------------------------------------
// Values

// How an idle worker waits. Busy workers never sleep in either mode.
enum class IdleMode : uint8_t {
    kAdaptive,  // rte_pause() for pause_iterations empty polls, then sleeps that
                // double from 1 us up to max_sleep_us until a packet arrives
    kPoll,      // spin forever: lowest latency, one core at 100% per worker
};

enum class DeviceKind : uint8_t {
    kVdev,  // a DPDK virtual device, passed to rte_vdev_init / --vdev
    kPci,   // a PCI device, passed to -a (allow list)
};

inline constexpr uint32_t kDefaultMemoryPerShardMb = 256;
inline constexpr uint16_t kDefaultUdpPort = 11211;
inline constexpr uint32_t kDefaultPauseIterations = 1024;
inline constexpr uint32_t kDefaultMaxSleepUs = 100;
inline constexpr uint16_t kDefaultRxDesc = 1024;
inline constexpr uint16_t kDefaultTxDesc = 1024;
// 64: on memif, bursts of 64 measured ~10% more GETs a second than 32
// (docs/get-path-cost.md); the GET batch holds a whole burst of 64.
inline constexpr uint16_t kDefaultBurstSize = 64;
inline constexpr uint16_t kMaxLcores = 1024;  // lcore ids are < kMaxLcores
inline constexpr uint16_t kMaxBurstSize = 64;

struct IdleConfig {
    IdleMode mode = IdleMode::kAdaptive;
    uint32_t pause_iterations = kDefaultPauseIterations;
    uint32_t max_sleep_us = kDefaultMaxSleepUs;

    bool operator==(const IdleConfig&) const = default;
};

struct PortConfig {
    std::string device;  // as written: "net_tap0,iface=fulmar0" or "0000:3b:00.0"
    DeviceKind kind = DeviceKind::kVdev;
    PciAddress pci;   // kind == kPci only: the address before any ",devargs"
    Ipv4Prefix ipv4;  // the interface address, host bits kept
    std::optional<MacAddress> mac;
    std::optional<uint16_t> mtu;
    std::optional<uint16_t> vlan;
    // Let the device compute and verify IPv4/UDP checksums where it can.
    bool checksum_offload = true;
    // The exception path: a DPDK vdev whose kernel interface gets the port's
    // MAC and address ("net_tap1,iface=fulmark0"); frames for the host that
    // the dataplane does not serve go there, and what the kernel sends there
    // leaves through this port. Empty: none (such frames are counted drops).
    std::string kernel_device;

    bool operator==(const PortConfig&) const = default;
};

// The [controlplane] section: fulmar-controlplane reads it; the dataplane
// reads what it creates for it (the request arena, the in-flight limit).
inline constexpr uint16_t kDefaultMemcachedTcpPort = 11211;
inline constexpr uint16_t kDefaultRedisPort = 6379;
inline constexpr std::string_view kDefaultAdminSocket = "/run/fulmar/admin.sock";
// Prometheus's registered port of the memcached exporter: a scrape config
// that targets memcached nodes on :9150 finds Fulmar's own exporter there
// (an appliance runs no separate exporter, so nothing else wants the port).
inline constexpr uint16_t kDefaultMetricsPort = 9150;

struct ControlplaneConfig {
    // TCP listeners bind this address only; unset: the first port's address.
    std::optional<uint32_t> listen;                      // host byte order
    uint16_t memcached_port = kDefaultMemcachedTcpPort;  // 0: no memcached TCP listener
    uint16_t redis_port = kDefaultRedisPort;             // 0: no RESP listener
    std::string admin_socket = std::string(kDefaultAdminSocket);
    std::optional<std::string> admin_group;  // unset: root only (mode 0600)
    // Redis clients must AUTH with it first (NOAUTH); empty: no password.
    std::string requirepass;
    uint32_t max_connections = 4096;
    uint32_t idle_timeout_s = 0;           // 0: never (memcached's default)
    uint32_t output_buffer_limit_mb = 64;  // per connection
    // Redis's client-output-buffer-limit pubsub 32mb 8mb 60: a subscriber
    // with this much output it has not taken is disconnected (hard), or
    // when it stays past the soft limit longer than the soft seconds. 0: none.
    uint32_t pubsub_output_hard_limit_mb = 32;
    uint32_t pubsub_output_soft_limit_mb = 8;
    uint32_t pubsub_output_soft_seconds = 60;
    // Redis's notify-keyspace-events letters (common/keyspace_events.h);
    // empty: no keyspace notifications (Redis's default).
    std::string notify_keyspace_events;
    uint32_t request_arena_mb = 64;
    uint32_t max_inflight = 4096;                 // requests at the owners at once, all connections
    uint16_t metrics_port = kDefaultMetricsPort;  // 0: no /metrics listener
    // The TTL sweep pacer (controlplane/sweep_pacer.h): the share of items
    // with a TTL allowed to sit expired in memory, and the share of each
    // owner's core the sweep may take for it (0: no pacing; the owners'
    // fallback sweep runs).
    uint32_t sweep_goal_percent = 1;
    uint32_t sweep_max_cpu_percent = 5;

    bool operator==(const ControlplaneConfig&) const = default;
};

// [replication]: the mutation logs (dataplane), the primary's backlog and
// replica streams, and whom this node replicates (control plane).
struct ReplicationConfig {
    uint32_t log_mb = 16;  // per shard: the owner's ring (repl/mutation_log.h); 0: none
    uint16_t port = 0;     // replicas connect here; 0: no replication listener
    uint32_t backlog_seconds = 60;
    uint32_t backlog_max_mb = 256;
    uint32_t replica_output_limit_mb = 256;
    // "A.B.C.D:port" of the primary's replication listener; unset: primary.
    std::optional<uint32_t> replica_of_addr;  // host order
    uint16_t replica_of_port = 0;

    bool operator==(const ReplicationConfig&) const = default;
};

// [cluster]: this node's partition in etcd (failover: leases, epochs,
// elections; cluster/partition_agent.h). Unset: a node of its own.
struct ClusterConfig {
    std::vector<std::string> etcd;  // "host:port" endpoints; empty: no [cluster]
    std::string partition;
    std::string node_id;
    uint32_t lease_ms = 3000;
    // The partition's address: served (and announced) by whichever node is
    // its primary; host order; unset: none moves.
    std::optional<uint32_t> service_address;
    // "A.B.C.D:port" replicas use to reach this node's replication.port;
    // unset: the first port's address and replication.port.
    std::optional<uint32_t> advertise_addr;
    uint16_t advertise_port = 0;

    bool enabled() const { return !etcd.empty(); }
    bool operator==(const ClusterConfig&) const = default;
};

struct DataplaneConfig {
    // [dataplane]
    std::vector<uint16_t> workers;  // one shard and one RX/TX queue pair per port each
    std::optional<uint16_t> main_lcore;
    uint32_t memory_per_shard_mb = kDefaultMemoryPerShardMb;
    uint32_t index_entries_per_shard = 0;  // 0: derived by the store
    uint16_t udp_port = kDefaultUdpPort;
    std::vector<Ipv4Prefix> allowed_clients;  // network addresses (host bits clear)
    bool udp_admin_commands = false;
    IdleConfig idle;
    uint32_t mbufs_per_port = 0;  // 0: derived by the dataplane
    uint16_t rx_desc = kDefaultRxDesc;
    uint16_t tx_desc = kDefaultTxDesc;
    uint16_t burst_size = kDefaultBurstSize;
    // The key hash's seed (store/digest.h); unset: a random one per start.
    // A primary and its replicas must share one: the shard of a key
    // depends on it, and a replica applies each shard's changes on its
    // shard of the same number.
    std::optional<uint64_t> digest_seed;
    // [[ports]]
    std::vector<PortConfig> ports;
    // [telemetry]
    bool telemetry_enabled = true;

    ControlplaneConfig controlplane;
    ReplicationConfig replication;
    ClusterConfig cluster;

    bool operator==(const DataplaneConfig&) const = default;
};

// ---------------------------------------------------------------------------
// The key table

enum class ValueType : uint8_t {
    kTable,
    kArrayOfTables,
    kInteger,
    kBoolean,
    kString,
    kIntegerArray,
    kStringArray,
};

enum class Presence : uint8_t {
    kRequired,  // no default: the file must give it
    kOptional,  // absent means "not set" (std::optional) or the default below
};

struct KeyInfo {
    std::string_view path;  // dotted; "[]" marks an element of an array of tables
    ValueType type;
    Presence presence;
    int64_t min = 0;  // integers and integer-array elements: inclusive range
    int64_t max = 0;
    std::string_view default_text;  // as TOML would spell it; "" when none
    std::string_view description;
};

// clang-format off
inline constexpr KeyInfo kConfigKeys[] = {
    {"dataplane", ValueType::kTable, Presence::kRequired, 0, 0, "",
     "worker lcores, memory and packet-path settings"},
    {"dataplane.workers", ValueType::kIntegerArray, Presence::kRequired, 0, kMaxLcores - 1, "",
     "worker lcore ids, unique; each owns one shard and polls one RX queue per port"},
    {"dataplane.main_lcore", ValueType::kInteger, Presence::kOptional, 0, kMaxLcores - 1, "",
     "the EAL main lcore (link state, telemetry); not one of the workers; unset: EAL's choice"},
    {"dataplane.memory_per_shard_mb", ValueType::kInteger, Presence::kOptional, 1, 1 << 20, "256",
     "item memory of each shard in MiB (hugepage memzone)"},
    {"dataplane.index_entries_per_shard", ValueType::kInteger, Presence::kOptional, 0, 1 << 30, "0",
     "rte_hash slots per shard; 0: one per 64 bytes of shard memory"},
    {"dataplane.udp_port", ValueType::kInteger, Presence::kOptional, 1, 65535, "11211",
     "UDP port the memcached protocol is served on"},
    {"dataplane.allowed_clients", ValueType::kStringArray, Presence::kRequired, 0, 0, "",
     "client prefixes answered, \"A.B.C.D/len\", host bits clear; at least one; others dropped"
     " (reflection guard; \"0.0.0.0/0\" answers everyone)"},
    {"dataplane.udp_admin_commands", ValueType::kBoolean, Presence::kOptional, 0, 0, "false",
     "serve stats, flush_all, verbosity over UDP (large replies to spoofable sources)"},
    {"dataplane.idle", ValueType::kTable, Presence::kOptional, 0, 0, "",
     "how idle workers wait"},
    {"dataplane.idle.mode", ValueType::kString, Presence::kOptional, 0, 0, "\"adaptive\"",
     "\"adaptive\": pause, then sleep when idle; \"poll\": always spin"},
    {"dataplane.idle.pause_iterations", ValueType::kInteger, Presence::kOptional, 1, 10'000'000,
     "1024", "adaptive: empty polls (each with rte_pause) before the first sleep"},
    {"dataplane.idle.max_sleep_us", ValueType::kInteger, Presence::kOptional, 1, 1'000'000, "100",
     "adaptive: longest sleep; sleeps double from 1 us; worst added latency when idle"},
    {"dataplane.mbufs_per_port", ValueType::kInteger, Presence::kOptional, 0, 1 << 24, "0",
     "mbuf pool size per port; 0: derived; else at least (rx_desc + tx_desc) x workers"},
    {"dataplane.rx_desc", ValueType::kInteger, Presence::kOptional, 64, 32768, "1024",
     "RX descriptors per queue, a power of 2"},
    {"dataplane.tx_desc", ValueType::kInteger, Presence::kOptional, 64, 32768, "1024",
     "TX descriptors per queue, a power of 2"},
    {"dataplane.burst_size", ValueType::kInteger, Presence::kOptional, 1, kMaxBurstSize, "64",
     "packets per RX burst (and look-up batch)"},
    {"dataplane.digest_seed", ValueType::kString, Presence::kOptional, 0, 0, "",
     "the key hash's secret seed, 16 hex digits; a primary and its replicas need the same one"
     " (which shard holds a key depends on it); unset: a random one at each start"},
    {"ports", ValueType::kArrayOfTables, Presence::kRequired, 0, 0, "",
     "one [[ports]] table per port; at least one"},
    {"ports[].device", ValueType::kString, Presence::kRequired, 0, 0, "",
     "a DPDK vdev (\"net_tap0,iface=fulmar0\") or a PCI address (\"0000:3b:00.0\"), optional"
     " \",devargs\"; unique"},
    {"ports[].ipv4", ValueType::kString, Presence::kRequired, 0, 0, "",
     "the port's address and prefix, \"A.B.C.D/len\"; answers ARP and ICMP echo for it"},
    {"ports[].mac", ValueType::kString, Presence::kOptional, 0, 0, "",
     "unicast MAC to set, \"aa:bb:cc:dd:ee:ff\" (for vdevs); unset: the device's own"},
    {"ports[].mtu", ValueType::kInteger, Presence::kOptional, 68, 9000, "",
     "MTU to set; unset: the device's default"},
    {"ports[].vlan", ValueType::kInteger, Presence::kOptional, 1, 4094, "",
     "802.1Q VLAN id: only frames tagged with it are served (others counted as drop_wrong_vlan);"
     " replies and the gratuitous ARP carry it; unset: untagged frames or one tag of any id"},
    {"ports[].checksum_offload", ValueType::kBoolean, Presence::kOptional, 0, 0, "true",
     "IPv4/UDP checksums by the device where it offers both (TX fill, RX verify); false:"
     " always in software"},
    {"ports[].kernel_device", ValueType::kString, Presence::kOptional, 0, 0, "",
     "exception path: a DPDK vdev with a kernel interface (\"net_tap1,iface=fulmark0\") that"
     " the dataplane gives the port's MAC, MTU and ipv4, up; frames for that address it does"
     " not serve (TCP, other UDP ports, ARP replies) go to it, what the kernel sends there"
     " leaves through the port; one RX/TX queue per worker, mbufs from the port's pool;"
     " unset: those frames are counted drops"},
    {"controlplane", ValueType::kTable, Presence::kOptional, 0, 0, "",
     "fulmar-controlplane: TCP listeners, admin socket, limits"},
    {"controlplane.listen", ValueType::kString, Presence::kOptional, 0, 0, "",
     "IPv4 address the TCP listeners bind; unset: ports[0]'s address (the appliance's)"},
    {"controlplane.memcached_port", ValueType::kInteger, Presence::kOptional, 0, 65535, "11211",
     "TCP port of the memcached text protocol (classic and meta); 0: none"},
    {"controlplane.redis_port", ValueType::kInteger, Presence::kOptional, 0, 65535, "6379",
     "TCP port of the Redis protocol (RESP2) on the same keyspace (strings); 0: none"},
    {"controlplane.admin_socket", ValueType::kString, Presence::kOptional, 0, 0,
     "\"/run/fulmar/admin.sock\"", "Unix socket of the admin endpoint (RESP: fulmarctl, redis-cli -s)"},
    {"controlplane.admin_group", ValueType::kString, Presence::kOptional, 0, 0, "",
     "group allowed on the admin socket (mode 0660); unset: root only (mode 0600)"},
    {"controlplane.requirepass", ValueType::kString, Presence::kOptional, 0, 0, "\"\"",
     "password Redis clients give with AUTH (or HELLO AUTH) before any other command (NOAUTH);"
     " empty: none. CONFIG SET requirepass changes it until the control plane restarts"},
    {"controlplane.max_connections", ValueType::kInteger, Presence::kOptional, 1, 1 << 20, "4096",
     "TCP client connections at once; more are accepted and closed at once (counted)"},
    {"controlplane.idle_timeout_s", ValueType::kInteger, Presence::kOptional, 0, 1 << 24, "0",
     "close a client connection idle this long; 0: never (memcached's default)"},
    {"controlplane.output_buffer_limit_mb", ValueType::kInteger, Presence::kOptional, 1, 4096,
     "64", "replies queued for a connection that does not read them; past it, its requests wait,"
     " and after 5 s without progress it is disconnected"},
    {"controlplane.pubsub_output_hard_limit_mb", ValueType::kInteger, Presence::kOptional, 0,
     4096, "32",
     "Redis subscriber output not yet taken, MiB; past it the subscriber is disconnected"
     " (client-output-buffer-limit pubsub, hard); 0: none"},
    {"controlplane.pubsub_output_soft_limit_mb", ValueType::kInteger, Presence::kOptional, 0,
     4096, "8",
     "Redis subscriber output, MiB, allowed for pubsub_output_soft_seconds only (soft limit);"
     " 0: none"},
    {"controlplane.pubsub_output_soft_seconds", ValueType::kInteger, Presence::kOptional, 0,
     1 << 24, "60", "how long a subscriber may stay past pubsub_output_soft_limit_mb"},
    {"controlplane.notify_keyspace_events", ValueType::kString, Presence::kOptional, 0, 0, "\"\"",
     "Redis keyspace notifications, notify-keyspace-events letters (K E g $ x e n A...);"
     " empty: none"},
    {"controlplane.request_arena_mb", ValueType::kInteger, Presence::kOptional, 2, 4096, "64",
     "hugepage memory for requests on their way to the owners (values to 1 MiB)"},
    {"controlplane.max_inflight", ValueType::kInteger, Presence::kOptional, 16, 65536, "4096",
     "requests at the owner workers at once; past it, connections wait (backpressure)"},
    {"controlplane.metrics_port", ValueType::kInteger, Presence::kOptional, 0, 65535, "9150",
     "TCP port of the Prometheus endpoint (HTTP GET /metrics) on the listen address; 0: none"},
    {"controlplane.sweep_goal_percent", ValueType::kInteger, Presence::kOptional, 1, 50, "1",
     "TTL sweep pacing: the share of items with a TTL allowed expired but still in memory"},
    {"controlplane.sweep_max_cpu_percent", ValueType::kInteger, Presence::kOptional, 0, 100, "5",
     "TTL sweep pacing: the most of each owner worker's core the sweep steps may take;"
     " 0: no pacing (the owners sweep a fixed budget themselves)"},
    {"replication", ValueType::kTable, Presence::kOptional, 0, 0, "",
     "replicas of this node's items, or whose replica this node is"},
    {"replication.log_mb", ValueType::kInteger, Presence::kOptional, 0, 4096, "16",
     "per shard, MiB of hugepages: the owner's mutation log, drained by the control plane"
     " every turn; a log that fills breaks the replicas' streams (they resync); 0: no log,"
     " no replicas"},
    {"replication.port", ValueType::kInteger, Presence::kOptional, 0, 65535, "0",
     "TCP port replicas connect to (on controlplane.listen), e.g. 16379; 0: this node serves"
     " no replicas"},
    {"replication.backlog_seconds", ValueType::kInteger, Presence::kOptional, 1, 86400, "60",
     "the primary keeps this many seconds of changes for replicas that reconnect (partial"
     " resync); older ones, or more than backlog_max_mb, mean a full sync"},
    {"replication.backlog_max_mb", ValueType::kInteger, Presence::kOptional, 1, 65536, "256",
     "the most memory the backlog takes, whatever backlog_seconds says"},
    {"replication.replica_output_limit_mb", ValueType::kInteger, Presence::kOptional, 1, 65536,
     "256", "stream bytes a replica has not taken yet past which its stream is broken (it"
     " resyncs), as Redis's client-output-buffer-limit replica"},
    {"replication.replica_of", ValueType::kString, Presence::kOptional, 0, 0, "",
     "\"A.B.C.D:port\": the primary's replication listener; this node is its read-only"
     " replica; unset: a primary"},
    {"cluster", ValueType::kTable, Presence::kOptional, 0, 0, "",
     "this node's partition in etcd: leases, epochs, failover; unset: a node of its own"},
    {"cluster.etcd", ValueType::kStringArray, Presence::kRequired, 0, 0, "",
     "etcd endpoints, \"host:port\" (numeric addresses when several)"},
    {"cluster.partition", ValueType::kString, Presence::kRequired, 0, 0, "",
     "the partition's name (its keys live under /fulmar/partitions/<name>/)"},
    {"cluster.node_id", ValueType::kString, Presence::kRequired, 0, 0, "",
     "this node's id, unique in the cluster; no '/' or spaces"},
    {"cluster.lease_ms", ValueType::kInteger, Presence::kOptional, 2000, 60000, "",
     "the primary's lease in etcd, 3000 unless set: failover takes about this long; a primary that cannot renew"
     " refuses writes before it lapses (fencing)"},
    {"cluster.service_address", ValueType::kString, Presence::kOptional, 0, 0, "",
     "the partition's IPv4 address, served and announced (gratuitous ARP) by its primary"
     " only; needs controlplane.listen = \"0.0.0.0\" so TCP follows it"},
    {"cluster.advertise", ValueType::kString, Presence::kOptional, 0, 0, "",
     "\"A.B.C.D:port\" replicas reach this node's replication listener at; unset: the"
     " first port's address and replication.port"},
    {"telemetry", ValueType::kTable, Presence::kOptional, 0, 0, "", "DPDK telemetry"},
    {"telemetry.enabled", ValueType::kBoolean, Presence::kOptional, 0, 0, "true",
     "register the dataplane's counters with DPDK telemetry (dpdk-telemetry.py)"},
};
// clang-format on

// ---------------------------------------------------------------------------
// Errors

enum class ConfigStatus : uint8_t {
    kIoError,      // the file could not be read
    kSyntaxError,  // not TOML; line and column set
    kUnknownKey,   // a key or table the table above does not declare
    kWrongType,    // e.g. a string where an integer belongs
    kMissingKey,   // a required key is absent
    kBadValue,     // right type, wrong value: range, format, duplicate
};

struct ConfigError {
    ConfigStatus status = ConfigStatus::kBadValue;
    std::string key;    // "ports[0].ipv4"; empty for I/O and syntax errors
    uint32_t line = 0;  // 1-based position in the source; 0 when unknown
    uint32_t column = 0;
    // Complete and printable: "local.toml:7:8: ports[0].ipv4: '198.18.0.1/33'
    // is not an IPv4 address with a prefix length 0-32".
    std::string message;
};

// ---------------------------------------------------------------------------
// API

// Reads and validates a TOML file. The path appears in error messages.
Result<DataplaneConfig, ConfigError> load_config_file(const std::string& path);

// Validates TOML text; `source_name` stands for the file in error messages.
Result<DataplaneConfig, ConfigError> parse_config(std::string_view toml_text,
                                                  std::string_view source_name = "<string>");

// The key table as aligned text, one key a line: `--list-config`.
std::string describe_config();

// The effective configuration (defaults filled in) as TOML that
// parse_config reads back to an equal DataplaneConfig, except a set
// controlplane.requirepass, written "(set)" (a password never goes to a
// log); for start-up logs.
std::string format_config(const DataplaneConfig& config);

// The effective configuration as (key, value) pairs, one for every key of
// kConfigKeys that is not a table, in table order; a port's keys as
// "ports[0].device". Values are spelled as TOML writes them ("adaptive" in
// quotes, [1, 2], true), so they also read as JSON; an optional key that is
// not set is `unset`. For the admin socket's CONFIG SHOW.
std::vector<std::pair<std::string, std::string>> config_entries(const DataplaneConfig& config);

std::string_view value_type_name(ValueType type);
std::string_view idle_mode_name(IdleMode mode);

}  // namespace fulmar::config
