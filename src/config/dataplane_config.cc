// Parsing and validation of the dataplane configuration.
//
// Two passes over the toml++ tree. The schema pass walks every key against
// kConfigKeys: unknown keys (with a "did you mean" for near misses), wrong
// types, missing required keys and integer ranges. The value pass then reads
// the now well-typed tree into DataplaneConfig and checks what the table
// cannot say: address formats, duplicates, powers of two. The first error
// wins; each names its key as "ports[0].ipv4" and its line:column.

// toml++ without exceptions: parse() returns a toml::parse_result. Debian's
// pkg-config file selects the shared library (TOML_HEADER_ONLY=0), which is
// built with exceptions and so holds only the toml::v3::ex ABI namespace; the
// no-exception ABI (toml::v3::noex) exists only in the header-only build, so
// this file compiles toml++ inline. It is the only file that includes it.
#define TOML_EXCEPTIONS 0
#undef TOML_HEADER_ONLY
#define TOML_HEADER_ONLY 1
#undef TOML_SHARED_LIB
#include <toml++/toml.h>

#include "config/dataplane_config.h"

#include "common/keyspace_events.h"
#include "common/numbers.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <tuple>

namespace fulmar::config {

namespace {

// ===========================================================================
// Errors

struct Position {
    uint32_t line = 0;
    uint32_t column = 0;
};

Position position_of(const toml::source_region& r) {
    return {static_cast<uint32_t>(r.begin.line), static_cast<uint32_t>(r.begin.column)};
}

ConfigError make_error(std::string_view source, ConfigStatus status, std::string key, Position pos,
                       std::string_view why) {
    ConfigError e;
    e.status = status;
    e.line = pos.line;
    e.column = pos.column;
    std::string where =
        pos.line > 0 ? fmt::format("{}:{}:{}", source, pos.line, pos.column) : std::string(source);
    e.message = key.empty() ? fmt::format("{}: {}", where, why)
                            : fmt::format("{}: {}: {}", where, key, why);
    e.key = std::move(key);
    return e;
}

// ===========================================================================
// The key table

const KeyInfo* find_key(std::string_view path) {
    for (const KeyInfo& k : kConfigKeys) {
        if (k.path == path) return &k;
    }
    return nullptr;
}

std::string_view parent_of(std::string_view path) {
    size_t dot = path.rfind('.');
    return dot == std::string_view::npos ? std::string_view{} : path.substr(0, dot);
}

std::string_view leaf_of(std::string_view path) {
    size_t dot = path.rfind('.');
    return dot == std::string_view::npos ? path : path.substr(dot + 1);
}

std::string join(std::string_view prefix, std::string_view leaf) {
    return prefix.empty() ? std::string(leaf) : fmt::format("{}.{}", prefix, leaf);
}

// Edit distance, for "did you mean"; config keys are short.
size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); j++)
        row[j] = j;
    for (size_t i = 1; i <= a.size(); i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= b.size(); j++) {
            size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1] ? 1 : 0)});
            diag = up;
        }
    }
    return row[b.size()];
}

// The declared sibling closest to `leaf`, when it is close enough to be a typo.
std::optional<std::string_view> nearest_sibling(std::string_view parent, std::string_view leaf) {
    std::optional<std::string_view> best;
    size_t best_distance = 3;  // at most two edits
    for (const KeyInfo& k : kConfigKeys) {
        if (parent_of(k.path) != parent) continue;
        size_t d = edit_distance(leaf, leaf_of(k.path));
        if (d < best_distance) {
            best_distance = d;
            best = leaf_of(k.path);
        }
    }
    return best;
}

std::string_view node_type_name(toml::node_type t) {
    switch (t) {
        case toml::node_type::table:
            return "a table";
        case toml::node_type::array:
            return "an array";
        case toml::node_type::string:
            return "a string";
        case toml::node_type::integer:
            return "an integer";
        case toml::node_type::floating_point:
            return "a float";
        case toml::node_type::boolean:
            return "a boolean";
        case toml::node_type::date:
        case toml::node_type::time:
        case toml::node_type::date_time:
            return "a date/time";
        case toml::node_type::none:
            break;
    }
    return "nothing";
}

// ===========================================================================
// Schema pass

class SchemaChecker {
  public:
    explicit SchemaChecker(std::string_view source) : source_(source) {}

    // `schema` is the table's path in kConfigKeys ("ports[]"), `shown` its
    // path in messages ("ports[1]").
    std::optional<ConfigError> check_table(const toml::table& table, std::string_view schema,
                                           std::string_view shown) {
        for (auto&& [k, node] : table) {
            std::string key_schema = join(schema, k.str());
            std::string key_shown = join(shown, k.str());
            const KeyInfo* info = find_key(key_schema);
            if (info == nullptr) {
                std::string why = "unknown key";
                if (auto near = nearest_sibling(schema, k.str())) {
                    why += fmt::format("; did you mean '{}'?", *near);
                }
                return error(ConfigStatus::kUnknownKey, key_shown, k.source(), why);
            }
            if (auto e = check_value(*info, node, key_schema, key_shown)) return e;
        }
        for (const KeyInfo& k : kConfigKeys) {
            if (k.presence != Presence::kRequired || parent_of(k.path) != schema) continue;
            if (!table.contains(leaf_of(k.path))) {
                return error(ConfigStatus::kMissingKey, join(shown, leaf_of(k.path)),
                             table.source(), "required key is missing");
            }
        }
        return std::nullopt;
    }

  private:
    std::optional<ConfigError> check_value(const KeyInfo& info, const toml::node& node,
                                           const std::string& schema, const std::string& shown) {
        switch (info.type) {
            case ValueType::kTable:
                if (!node.is_table()) return wrong_type(shown, node, "a table");
                return check_table(*node.as_table(), schema, shown);
            case ValueType::kArrayOfTables: {
                const toml::array* array = node.as_array();
                if (array == nullptr || (!array->empty() && !array->is_array_of_tables())) {
                    return wrong_type(shown, node, "an array of tables");
                }
                if (array->empty()) {
                    return error(ConfigStatus::kBadValue, shown, node.source(),
                                 "at least one table is required");
                }
                for (size_t i = 0; i < array->size(); i++) {
                    auto e = check_table(*(*array)[i].as_table(), schema + "[]",
                                         fmt::format("{}[{}]", shown, i));
                    if (e) return e;
                }
                return std::nullopt;
            }
            case ValueType::kInteger:
                return check_integer(info, node, shown);
            case ValueType::kBoolean:
                if (!node.is_boolean()) return wrong_type(shown, node, "a boolean");
                return std::nullopt;
            case ValueType::kString:
                if (!node.is_string()) return wrong_type(shown, node, "a string");
                return std::nullopt;
            case ValueType::kIntegerArray:
            case ValueType::kStringArray: {
                bool integers = info.type == ValueType::kIntegerArray;
                const toml::array* array = node.as_array();
                if (array == nullptr) {
                    return wrong_type(shown, node,
                                      integers ? "an array of integers" : "an array of strings");
                }
                for (size_t i = 0; i < array->size(); i++) {
                    const toml::node& element = (*array)[i];
                    std::string element_shown = fmt::format("{}[{}]", shown, i);
                    auto e = integers ? check_integer(info, element, element_shown)
                                      : (element.is_string()
                                             ? std::nullopt
                                             : wrong_type(element_shown, element, "a string"));
                    if (e) return e;
                }
                return std::nullopt;
            }
        }
        return std::nullopt;
    }

    std::optional<ConfigError> check_integer(const KeyInfo& info, const toml::node& node,
                                             const std::string& shown) {
        if (!node.is_integer()) return wrong_type(shown, node, "an integer");
        int64_t v = node.as_integer()->get();
        if (v < info.min || v > info.max) {
            return error(ConfigStatus::kBadValue, shown, node.source(),
                         fmt::format("{} is out of range {}-{}", v, info.min, info.max));
        }
        return std::nullopt;
    }

    std::optional<ConfigError> wrong_type(const std::string& shown, const toml::node& node,
                                          std::string_view expected) {
        return error(ConfigStatus::kWrongType, shown, node.source(),
                     fmt::format("expected {}, got {}", expected, node_type_name(node.type())));
    }

    ConfigError error(ConfigStatus status, std::string key, const toml::source_region& where,
                      std::string_view why) {
        return make_error(source_, status, std::move(key), position_of(where), why);
    }

    std::string_view source_;
};

// ===========================================================================
// Value pass: the tree is well-typed and in range here.

template <typename T>
T integer_or(const toml::table& t, std::string_view key, T fallback) {
    const toml::node* n = t.get(key);
    return n != nullptr ? static_cast<T>(n->as_integer()->get()) : fallback;
}

bool boolean_or(const toml::table* t, std::string_view key, bool fallback) {
    const toml::node* n = t != nullptr ? t->get(key) : nullptr;
    return n != nullptr ? n->as_boolean()->get() : fallback;
}

bool is_power_of_two(uint32_t v) {
    return v != 0 && (v & (v - 1)) == 0;
}

class ValueReader {
  public:
    explicit ValueReader(std::string_view source) : source_(source) {}

    std::optional<ConfigError> read(const toml::table& root, DataplaneConfig& c) {
        const toml::table& dp = *root.get_as<toml::table>("dataplane");
        if (auto e = read_dataplane(dp, c)) return e;
        const toml::array& ports = *root.get_as<toml::array>("ports");
        for (size_t i = 0; i < ports.size(); i++) {
            if (auto e = read_port(*ports[i].as_table(), i, c)) return e;
        }
        c.telemetry_enabled = boolean_or(root.get_as<toml::table>("telemetry"), "enabled", true);
        if (const toml::table* cp = root.get_as<toml::table>("controlplane")) {
            if (auto e = read_controlplane(*cp, c.controlplane)) return e;
        }
        if (const toml::table* r = root.get_as<toml::table>("replication")) {
            if (auto e = read_replication(*r, c.replication)) return e;
        }
        if (const toml::table* cl = root.get_as<toml::table>("cluster")) {
            if (auto e = read_cluster(*cl, c)) return e;
        }
        return std::nullopt;
    }

    static std::optional<std::pair<uint32_t, uint16_t>> parse_host_port(std::string_view text) {
        const size_t colon = text.rfind(':');
        if (colon == std::string_view::npos) return std::nullopt;
        const auto addr = parse_ipv4(text.substr(0, colon));
        uint64_t port = 0;
        if (!addr || !parse_u64(text.substr(colon + 1), port) || port == 0 || port > 65535)
            return std::nullopt;
        return std::make_pair(*addr, static_cast<uint16_t>(port));
    }

    std::optional<ConfigError> read_cluster(const toml::table& t, DataplaneConfig& c) {
        ClusterConfig& out = c.cluster;
        const toml::array& etcd = *t.get_as<toml::array>("etcd");
        if (etcd.empty()) return error("cluster.etcd", etcd, "at least one etcd endpoint");
        for (size_t i = 0; i < etcd.size(); ++i)
            out.etcd.push_back(std::string(etcd[i].as_string()->get()));
        const toml::node& part = *t.get("partition");
        out.partition = part.as_string()->get();
        const toml::node& node = *t.get("node_id");
        out.node_id = node.as_string()->get();
        for (const auto& [key, value, n] :
             {std::tuple{"cluster.partition", std::string_view(out.partition), &part},
              std::tuple{"cluster.node_id", std::string_view(out.node_id), &node}}) {
            if (value.empty() || value.find_first_of("/ \t\r\n") != std::string_view::npos)
                return error(key, *n, "a non-empty name without '/' or white space");
        }
        out.lease_ms = integer_or<uint32_t>(t, "lease_ms", 3000);
        if (const toml::node* a = t.get("service_address")) {
            const std::string_view text = a->as_string()->get();
            out.service_address = parse_ipv4(text);
            if (!out.service_address)
                return error("cluster.service_address", *a,
                             fmt::format("'{}' is not an IPv4 address \"A.B.C.D\"", text));
        }
        if (const toml::node* a = t.get("advertise")) {
            const auto hp = parse_host_port(a->as_string()->get());
            if (!hp)
                return error("cluster.advertise", *a,
                             fmt::format("'{}' is not \"A.B.C.D:port\"", a->as_string()->get()));
            out.advertise_addr = hp->first;
            out.advertise_port = hp->second;
        }
        if (c.replication.port == 0)
            return error("cluster", t,
                         "a node of a partition serves replicas when it is primary: set "
                         "replication.port");
        if (c.replication.replica_of_addr)
            return error("cluster", t,
                         "replication.replica_of and [cluster] both pick the primary: etcd's "
                         "election does it here, remove replica_of");
        return std::nullopt;
    }

    std::optional<ConfigError> read_replication(const toml::table& r, ReplicationConfig& out) {
        out.log_mb = integer_or<uint32_t>(r, "log_mb", 16);
        out.port = integer_or<uint16_t>(r, "port", 0);
        out.backlog_seconds = integer_or<uint32_t>(r, "backlog_seconds", 60);
        out.backlog_max_mb = integer_or<uint32_t>(r, "backlog_max_mb", 256);
        out.replica_output_limit_mb = integer_or<uint32_t>(r, "replica_output_limit_mb", 256);
        if (const toml::node* of = r.get("replica_of")) {
            const auto hp = parse_host_port(of->as_string()->get());
            if (!hp)
                return error("replication.replica_of", *of,
                             fmt::format("'{}' is not \"A.B.C.D:port\"", of->as_string()->get()));
            out.replica_of_addr = hp->first;
            out.replica_of_port = hp->second;
        }
        return std::nullopt;
    }

  private:
    std::optional<ConfigError> read_dataplane(const toml::table& dp, DataplaneConfig& c) {
        const toml::array& workers = *dp.get_as<toml::array>("workers");
        if (workers.empty()) {
            return error("dataplane.workers", workers, "at least one worker lcore is required");
        }
        for (size_t i = 0; i < workers.size(); i++) {
            auto lcore = static_cast<uint16_t>(workers[i].as_integer()->get());
            if (std::find(c.workers.begin(), c.workers.end(), lcore) != c.workers.end()) {
                return error(fmt::format("dataplane.workers[{}]", i), workers[i],
                             fmt::format("lcore {} is listed twice", lcore));
            }
            c.workers.push_back(lcore);
        }
        if (const toml::node* main = dp.get("main_lcore")) {
            auto lcore = static_cast<uint16_t>(main->as_integer()->get());
            if (std::find(c.workers.begin(), c.workers.end(), lcore) != c.workers.end()) {
                return error("dataplane.main_lcore", *main,
                             fmt::format("lcore {} is also a worker", lcore));
            }
            c.main_lcore = lcore;
        }
        c.memory_per_shard_mb =
            integer_or<uint32_t>(dp, "memory_per_shard_mb", kDefaultMemoryPerShardMb);
        c.index_entries_per_shard = integer_or<uint32_t>(dp, "index_entries_per_shard", 0);
        c.udp_port = integer_or<uint16_t>(dp, "udp_port", kDefaultUdpPort);
        c.udp_admin_commands = boolean_or(&dp, "udp_admin_commands", false);

        if (auto e = read_allowed_clients(*dp.get_as<toml::array>("allowed_clients"), c)) return e;
        if (const toml::table* idle = dp.get_as<toml::table>("idle")) {
            if (auto e = read_idle(*idle, c.idle)) return e;
        }

        c.rx_desc = integer_or<uint16_t>(dp, "rx_desc", kDefaultRxDesc);
        c.tx_desc = integer_or<uint16_t>(dp, "tx_desc", kDefaultTxDesc);
        c.burst_size = integer_or<uint16_t>(dp, "burst_size", kDefaultBurstSize);
        if (const toml::node* seed = dp.get("digest_seed")) {
            const std::string_view text = seed->as_string()->get();
            uint64_t v = 0;
            bool ok = text.size() == 16;
            for (const char ch : text) {
                const int d = ch >= '0' && ch <= '9'   ? ch - '0'
                              : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                              : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                                       : -1;
                ok = ok && d >= 0;
                v = v << 4 | static_cast<uint64_t>(d < 0 ? 0 : d);
            }
            if (!ok)
                return error("dataplane.digest_seed", *seed,
                             fmt::format("'{}' is not 16 hex digits", text));
            c.digest_seed = v;
        }
        for (auto [key, v] : {std::pair{"rx_desc", c.rx_desc}, std::pair{"tx_desc", c.tx_desc}}) {
            if (!is_power_of_two(v)) {
                return error(fmt::format("dataplane.{}", key), *dp.get(key),
                             fmt::format("{} is not a power of 2", v));
            }
        }
        c.mbufs_per_port = integer_or<uint32_t>(dp, "mbufs_per_port", 0);
        // Every worker has an RX and a TX queue on every port: with fewer mbufs
        // than descriptors the rings cannot even be filled at start-up.
        uint64_t needed = static_cast<uint64_t>(c.rx_desc + c.tx_desc) * c.workers.size();
        if (c.mbufs_per_port != 0 && c.mbufs_per_port < needed) {
            return error("dataplane.mbufs_per_port", *dp.get("mbufs_per_port"),
                         fmt::format("{} is fewer than (rx_desc + tx_desc) x workers = {}; "
                                     "use 0 to derive it",
                                     c.mbufs_per_port, needed));
        }
        return std::nullopt;
    }

    std::optional<ConfigError> read_allowed_clients(const toml::array& list, DataplaneConfig& c) {
        if (list.empty()) {
            return error("dataplane.allowed_clients", list,
                         "at least one prefix is required (\"0.0.0.0/0\" answers everyone)");
        }
        for (size_t i = 0; i < list.size(); i++) {
            std::string key = fmt::format("dataplane.allowed_clients[{}]", i);
            std::string_view text = list[i].as_string()->get();
            auto prefix = parse_ipv4_prefix(text);
            if (!prefix) {
                return error(key, list[i],
                             fmt::format("'{}' is not an IPv4 prefix \"A.B.C.D/len\" with a "
                                         "length 0-32",
                                         text));
            }
            // A typo like 198.18.0.1/15 would still match the network; make
            // the intent explicit instead of guessing.
            if (prefix->addr != prefix->network()) {
                return error(key, list[i],
                             fmt::format("'{}' has host bits set; did you mean '{}'?", text,
                                         format_ipv4_prefix({prefix->network(), prefix->len})));
            }
            c.allowed_clients.push_back(*prefix);
        }
        return std::nullopt;
    }

    std::optional<ConfigError> read_controlplane(const toml::table& cp, ControlplaneConfig& out) {
        if (const toml::node* listen = cp.get("listen")) {
            std::string_view text = listen->as_string()->get();
            auto addr = parse_ipv4(text);
            if (!addr) {
                return error("controlplane.listen", *listen,
                             fmt::format("'{}' is not an IPv4 address \"A.B.C.D\"", text));
            }
            out.listen = *addr;
        }
        out.memcached_port = integer_or<uint16_t>(cp, "memcached_port", kDefaultMemcachedTcpPort);
        out.redis_port = integer_or<uint16_t>(cp, "redis_port", kDefaultRedisPort);
        if (const toml::node* path = cp.get("admin_socket")) {
            out.admin_socket = path->as_string()->get();
            if (out.admin_socket.empty() || out.admin_socket.front() != '/' ||
                out.admin_socket.size() >= 108) {
                return error("controlplane.admin_socket", *path,
                             "an absolute path shorter than 108 bytes (a Unix socket's limit)");
            }
        }
        if (const toml::node* group = cp.get("admin_group")) {
            out.admin_group = group->as_string()->get();
            if (out.admin_group->empty())
                return error("controlplane.admin_group", *group, "an empty group name");
        }
        if (const toml::node* pass = cp.get("requirepass")) {
            out.requirepass = pass->as_string()->get();
            // Redis's AUTH takes one argument: a password with spaces or
            // line breaks could not be typed in redis-cli, nor a CR/LF sent inline.
            if (out.requirepass.find_first_of("\r\n") != std::string::npos)
                return error("controlplane.requirepass", *pass, "a password without line breaks");
        }
        out.max_connections = integer_or<uint32_t>(cp, "max_connections", 4096);
        out.idle_timeout_s = integer_or<uint32_t>(cp, "idle_timeout_s", 0);
        out.output_buffer_limit_mb = integer_or<uint32_t>(cp, "output_buffer_limit_mb", 64);
        out.pubsub_output_hard_limit_mb =
            integer_or<uint32_t>(cp, "pubsub_output_hard_limit_mb", 32);
        out.pubsub_output_soft_limit_mb =
            integer_or<uint32_t>(cp, "pubsub_output_soft_limit_mb", 8);
        out.pubsub_output_soft_seconds = integer_or<uint32_t>(cp, "pubsub_output_soft_seconds", 60);
        if (const toml::node* events = cp.get("notify_keyspace_events")) {
            out.notify_keyspace_events = events->as_string()->get();
            uint16_t flags = 0;
            if (!parse_notify_flags(out.notify_keyspace_events, flags))
                return error("controlplane.notify_keyspace_events", *events,
                             "a letter notify-keyspace-events does not know (K E g $ l s h z x "
                             "e t m d n A)");
        }
        out.request_arena_mb = integer_or<uint32_t>(cp, "request_arena_mb", 64);
        out.max_inflight = integer_or<uint32_t>(cp, "max_inflight", 4096);
        out.metrics_port = integer_or<uint16_t>(cp, "metrics_port", kDefaultMetricsPort);
        out.sweep_goal_percent = integer_or<uint32_t>(cp, "sweep_goal_percent", 1);
        out.sweep_max_cpu_percent = integer_or<uint32_t>(cp, "sweep_max_cpu_percent", 5);
        if (out.metrics_port != 0 && out.metrics_port == out.memcached_port) {
            return error("controlplane.metrics_port", *cp.get("metrics_port"),
                         fmt::format("{} is also memcached_port", out.metrics_port));
        }
        if (out.redis_port != 0 &&
            (out.redis_port == out.memcached_port || out.redis_port == out.metrics_port)) {
            return error("controlplane.redis_port", *cp.get("redis_port"),
                         fmt::format("{} is also memcached_port or metrics_port", out.redis_port));
        }
        return std::nullopt;
    }

    std::optional<ConfigError> read_idle(const toml::table& idle, IdleConfig& out) {
        if (const toml::node* mode = idle.get("mode")) {
            std::string_view text = mode->as_string()->get();
            if (text == "adaptive") {
                out.mode = IdleMode::kAdaptive;
            } else if (text == "poll") {
                out.mode = IdleMode::kPoll;
            } else {
                return error("dataplane.idle.mode", *mode,
                             fmt::format("'{}' is not one of \"adaptive\", \"poll\"", text));
            }
        }
        out.pause_iterations =
            integer_or<uint32_t>(idle, "pause_iterations", kDefaultPauseIterations);
        out.max_sleep_us = integer_or<uint32_t>(idle, "max_sleep_us", kDefaultMaxSleepUs);
        return std::nullopt;
    }

    std::optional<ConfigError> read_port(const toml::table& t, size_t index, DataplaneConfig& c) {
        PortConfig port;
        std::string prefix = fmt::format("ports[{}]", index);

        const toml::node& device = *t.get("device");
        port.device = device.as_string()->get();
        std::string_view head = std::string_view(port.device).substr(0, port.device.find(','));
        if (head.find(':') != std::string_view::npos) {
            // A PCI address, possibly with devargs: check those with the vdev
            // rules by giving them a stand-in name.
            auto pci = parse_pci_address(head);
            std::string_view args = std::string_view(port.device).substr(head.size());
            if (!pci || !is_vdev_string(fmt::format("pci{}", args))) {
                return error(prefix + ".device", device,
                             fmt::format("'{}' is not a PCI address \"DDDD:BB:DD.F\" (device "
                                         "00-1f, function 0-7) with optional \",key=value\" "
                                         "devargs",
                                         port.device));
            }
            port.kind = DeviceKind::kPci;
            port.pci = *pci;
        } else if (!is_vdev_string(port.device)) {
            return error(prefix + ".device", device,
                         fmt::format("'{}' is neither a PCI address \"DDDD:BB:DD.F\" nor a DPDK "
                                     "vdev \"name[,key=value...]\"",
                                     port.device));
        }
        for (size_t j = 0; j < c.ports.size(); j++) {
            if (same_device(c.ports[j], port)) {
                return error(
                    prefix + ".device", device,
                    fmt::format("'{}' names the same device as ports[{}]", port.device, j));
            }
            if (port.kind == DeviceKind::kVdev && !c.ports[j].kernel_device.empty() &&
                vdev_name(c.ports[j].kernel_device) == vdev_name(port.device)) {
                return error(prefix + ".device", device,
                             fmt::format("'{}' names the same device as ports[{}].kernel_device",
                                         port.device, j));
            }
        }

        const toml::node& ipv4 = *t.get("ipv4");
        std::string_view ipv4_text = ipv4.as_string()->get();
        auto address = parse_ipv4_prefix(ipv4_text);
        if (!address) {
            return error(
                prefix + ".ipv4", ipv4,
                fmt::format("'{}' is not an IPv4 address with a prefix length 0-32", ipv4_text));
        }
        port.ipv4 = *address;

        if (const toml::node* mac = t.get("mac")) {
            std::string_view text = mac->as_string()->get();
            auto parsed = parse_mac(text);
            if (!parsed) {
                return error(prefix + ".mac", *mac,
                             fmt::format("'{}' is not a MAC address \"aa:bb:cc:dd:ee:ff\"", text));
            }
            if (parsed->is_multicast() || parsed->is_zero()) {
                return error(prefix + ".mac", *mac,
                             fmt::format("'{}' is not a unicast address", text));
            }
            port.mac = *parsed;
        }
        if (const toml::node* mtu = t.get("mtu")) {
            port.mtu = static_cast<uint16_t>(mtu->as_integer()->get());
        }
        if (const toml::node* vlan = t.get("vlan")) {
            port.vlan = static_cast<uint16_t>(vlan->as_integer()->get());
        }
        port.checksum_offload = boolean_or(&t, "checksum_offload", true);
        if (const toml::node* kernel = t.get("kernel_device")) {
            port.kernel_device = kernel->as_string()->get();
            if (auto e = check_kernel_device(*kernel, prefix, port, c)) return e;
        }
        c.ports.push_back(std::move(port));
        return std::nullopt;
    }

    // A vdev (a kernel interface is virtual: net_tap, virtio_user), not the
    // data device nor any other port's device or kernel side.
    std::optional<ConfigError> check_kernel_device(const toml::node& node,
                                                   const std::string& prefix,
                                                   const PortConfig& port,
                                                   const DataplaneConfig& c) {
        const std::string& dev = port.kernel_device;
        const std::string_view name = vdev_name(dev);
        if (name.find(':') != std::string_view::npos || !is_vdev_string(dev)) {
            return error(prefix + ".kernel_device", node,
                         fmt::format("'{}' is not a DPDK vdev \"name[,key=value...]\" (the kernel "
                                     "side is a virtual device such as net_tap)",
                                     dev));
        }
        const auto is_device = [&](const PortConfig& other) {
            return other.kind == DeviceKind::kVdev && vdev_name(other.device) == name;
        };
        if (is_device(port)) {
            return error(prefix + ".kernel_device", node,
                         fmt::format("'{}' names the same device as the port itself", dev));
        }
        for (size_t j = 0; j < c.ports.size(); j++) {
            if (is_device(c.ports[j]) || (!c.ports[j].kernel_device.empty() &&
                                          vdev_name(c.ports[j].kernel_device) == name)) {
                return error(prefix + ".kernel_device", node,
                             fmt::format("'{}' names the same device as ports[{}]", dev, j));
            }
        }
        return std::nullopt;
    }

    static std::string_view vdev_name(const std::string& d) {
        return std::string_view(d).substr(0, d.find(','));
    }

    // Two PCI ports conflict on the address; two vdevs on the instance name
    // (DPDK refuses a second "net_tap0" whatever its arguments).
    static bool same_device(const PortConfig& a, const PortConfig& b) {
        if (a.kind != b.kind) return false;
        if (a.kind == DeviceKind::kPci) return a.pci == b.pci;
        return vdev_name(a.device) == vdev_name(b.device);
    }

    ConfigError error(std::string key, const toml::node& node, std::string_view why) {
        return make_error(source_, ConfigStatus::kBadValue, std::move(key),
                          position_of(node.source()), why);
    }

    std::string_view source_;
};

// ===========================================================================
// Output

// A TOML basic string.
std::string quoted(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
            out += fmt::format("\\u{:04x}", static_cast<unsigned char>(c));
        } else {
            out += c;
        }
    }
    out += '"';
    return out;
}

std::string default_column(const KeyInfo& k) {
    if (k.type == ValueType::kTable || k.type == ValueType::kArrayOfTables) {
        return k.presence == Presence::kRequired ? "required" : "";
    }
    if (k.presence == Presence::kRequired) return "required";
    return k.default_text.empty() ? "unset" : std::string(k.default_text);
}

std::string range_column(const KeyInfo& k) {
    if (k.type == ValueType::kInteger || k.type == ValueType::kIntegerArray) {
        return fmt::format("{}-{}", k.min, k.max);
    }
    return "";
}

}  // namespace

// ===========================================================================
// API

Result<DataplaneConfig, ConfigError> parse_config(std::string_view toml_text,
                                                  std::string_view source_name) {
    toml::parse_result parsed = toml::parse(toml_text, source_name);
    if (!parsed) {
        const toml::parse_error& e = parsed.error();
        return Err{make_error(source_name, ConfigStatus::kSyntaxError, "", position_of(e.source()),
                              fmt::format("TOML syntax error: {}", e.description()))};
    }
    const toml::table& root = parsed.table();
    if (auto e = SchemaChecker(source_name).check_table(root, "", "")) return Err{std::move(*e)};
    DataplaneConfig config;
    if (auto e = ValueReader(source_name).read(root, config)) return Err{std::move(*e)};
    return config;
}

Result<DataplaneConfig, ConfigError> load_config_file(const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) {
        int err = errno;
        return Err{make_error(path, ConfigStatus::kIoError, "", {},
                              fmt::format("cannot open: {}", std::strerror(err)))};
    }
    std::string text;
    char buf[16384];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0)
        text.append(buf, n);
    bool failed = std::ferror(f) != 0;
    int err = errno;
    std::fclose(f);
    if (failed) {
        return Err{make_error(path, ConfigStatus::kIoError, "", {},
                              fmt::format("cannot read: {}", std::strerror(err)))};
    }
    return parse_config(text, path);
}

std::string_view value_type_name(ValueType type) {
    switch (type) {
        case ValueType::kTable:
            return "table";
        case ValueType::kArrayOfTables:
            return "array of tables";
        case ValueType::kInteger:
            return "integer";
        case ValueType::kBoolean:
            return "boolean";
        case ValueType::kString:
            return "string";
        case ValueType::kIntegerArray:
            return "integer array";
        case ValueType::kStringArray:
            return "string array";
    }
    return "?";
}

std::string_view idle_mode_name(IdleMode mode) {
    return mode == IdleMode::kPoll ? "poll" : "adaptive";
}

std::string describe_config() {
    size_t key_width = 3, type_width = 4, default_width = 7, range_width = 5;
    for (const KeyInfo& k : kConfigKeys) {
        key_width = std::max(key_width, k.path.size());
        type_width = std::max(type_width, value_type_name(k.type).size());
        default_width = std::max(default_width, default_column(k).size());
        range_width = std::max(range_width, range_column(k).size());
    }
    std::string out;
    auto row = [&](std::string_view key, std::string_view type, std::string_view def,
                   std::string_view range, std::string_view description) {
        out += fmt::format("{:<{}}  {:<{}}  {:<{}}  {:<{}}  {}\n", key, key_width, type, type_width,
                           def, default_width, range, range_width, description);
    };
    row("key", "type", "default", "range", "description");
    for (const KeyInfo& k : kConfigKeys) {
        row(k.path, value_type_name(k.type), default_column(k), range_column(k), k.description);
    }
    return out;
}

std::string format_config(const DataplaneConfig& c) {
    std::string out = "[dataplane]\n";
    out += fmt::format("workers = [{}]\n", fmt::join(c.workers, ", "));
    if (c.main_lcore) out += fmt::format("main_lcore = {}\n", *c.main_lcore);
    out += fmt::format("memory_per_shard_mb = {}\n", c.memory_per_shard_mb);
    out += fmt::format("index_entries_per_shard = {}\n", c.index_entries_per_shard);
    out += fmt::format("udp_port = {}\n", c.udp_port);
    std::vector<std::string> clients;
    for (const Ipv4Prefix& p : c.allowed_clients)
        clients.push_back(quoted(format_ipv4_prefix(p)));
    out += fmt::format("allowed_clients = [{}]\n", fmt::join(clients, ", "));
    out += fmt::format("udp_admin_commands = {}\n", c.udp_admin_commands);
    out += fmt::format("mbufs_per_port = {}\n", c.mbufs_per_port);
    out += fmt::format("rx_desc = {}\n", c.rx_desc);
    out += fmt::format("tx_desc = {}\n", c.tx_desc);
    out += fmt::format("burst_size = {}\n", c.burst_size);
    out += "\n[dataplane.idle]\n";
    out += fmt::format("mode = {}\n", quoted(idle_mode_name(c.idle.mode)));
    out += fmt::format("pause_iterations = {}\n", c.idle.pause_iterations);
    out += fmt::format("max_sleep_us = {}\n", c.idle.max_sleep_us);
    for (const PortConfig& p : c.ports) {
        out += "\n[[ports]]\n";
        out += fmt::format("device = {}\n", quoted(p.device));
        out += fmt::format("ipv4 = {}\n", quoted(format_ipv4_prefix(p.ipv4)));
        if (p.mac) out += fmt::format("mac = {}\n", quoted(format_mac(*p.mac)));
        if (p.mtu) out += fmt::format("mtu = {}\n", *p.mtu);
        if (p.vlan) out += fmt::format("vlan = {}\n", *p.vlan);
        out += fmt::format("checksum_offload = {}\n", p.checksum_offload);
        if (!p.kernel_device.empty())
            out += fmt::format("kernel_device = {}\n", quoted(p.kernel_device));
    }
    out += "\n[telemetry]\n";
    out += fmt::format("enabled = {}\n", c.telemetry_enabled);
    const ControlplaneConfig& cp = c.controlplane;
    out += "\n[controlplane]\n";
    if (cp.listen) out += fmt::format("listen = {}\n", quoted(format_ipv4(*cp.listen)));
    out += fmt::format("memcached_port = {}\n", cp.memcached_port);
    out += fmt::format("redis_port = {}\n", cp.redis_port);
    out += fmt::format("admin_socket = {}\n", quoted(cp.admin_socket));
    if (cp.admin_group) out += fmt::format("admin_group = {}\n", quoted(*cp.admin_group));
    // The password never goes to a log: a set one reads back as "(set)".
    out += fmt::format("requirepass = {}\n", quoted(cp.requirepass.empty() ? "" : "(set)"));
    out += fmt::format("max_connections = {}\n", cp.max_connections);
    out += fmt::format("idle_timeout_s = {}\n", cp.idle_timeout_s);
    out += fmt::format("output_buffer_limit_mb = {}\n", cp.output_buffer_limit_mb);
    out += fmt::format("pubsub_output_hard_limit_mb = {}\n", cp.pubsub_output_hard_limit_mb);
    out += fmt::format("pubsub_output_soft_limit_mb = {}\n", cp.pubsub_output_soft_limit_mb);
    out += fmt::format("pubsub_output_soft_seconds = {}\n", cp.pubsub_output_soft_seconds);
    out += fmt::format("notify_keyspace_events = {}\n", quoted(cp.notify_keyspace_events));
    out += fmt::format("request_arena_mb = {}\n", cp.request_arena_mb);
    out += fmt::format("max_inflight = {}\n", cp.max_inflight);
    out += fmt::format("metrics_port = {}\n", cp.metrics_port);
    out += fmt::format("sweep_goal_percent = {}\n", cp.sweep_goal_percent);
    out += fmt::format("sweep_max_cpu_percent = {}\n", cp.sweep_max_cpu_percent);
    const ReplicationConfig& r = c.replication;
    out += "\n[replication]\n";
    out += fmt::format("log_mb = {}\n", r.log_mb);
    out += fmt::format("port = {}\n", r.port);
    out += fmt::format("backlog_seconds = {}\n", r.backlog_seconds);
    out += fmt::format("backlog_max_mb = {}\n", r.backlog_max_mb);
    out += fmt::format("replica_output_limit_mb = {}\n", r.replica_output_limit_mb);
    if (r.replica_of_addr)
        out += fmt::format(
            "replica_of = {}\n",
            quoted(fmt::format("{}:{}", format_ipv4(*r.replica_of_addr), r.replica_of_port)));
    return out;
}

std::vector<std::pair<std::string, std::string>> config_entries(const DataplaneConfig& c) {
    std::vector<std::pair<std::string, std::string>> out;
    auto add = [&](std::string key, std::string value) {
        out.emplace_back(std::move(key), std::move(value));
    };
    constexpr std::string_view kUnset = "unset";
    auto opt = [&](const auto& v, auto spell) {
        return v.has_value() ? spell(*v) : std::string(kUnset);
    };
    auto number = [](auto v) { return fmt::format("{}", v); };

    add("dataplane.workers", fmt::format("[{}]", fmt::join(c.workers, ", ")));
    add("dataplane.main_lcore", opt(c.main_lcore, number));
    add("dataplane.memory_per_shard_mb", number(c.memory_per_shard_mb));
    add("dataplane.index_entries_per_shard", number(c.index_entries_per_shard));
    add("dataplane.udp_port", number(c.udp_port));
    std::vector<std::string> clients;
    for (const Ipv4Prefix& p : c.allowed_clients)
        clients.push_back(quoted(format_ipv4_prefix(p)));
    add("dataplane.allowed_clients", fmt::format("[{}]", fmt::join(clients, ", ")));
    add("dataplane.udp_admin_commands", number(c.udp_admin_commands));
    add("dataplane.idle.mode", quoted(idle_mode_name(c.idle.mode)));
    add("dataplane.idle.pause_iterations", number(c.idle.pause_iterations));
    add("dataplane.idle.max_sleep_us", number(c.idle.max_sleep_us));
    add("dataplane.mbufs_per_port", number(c.mbufs_per_port));
    add("dataplane.rx_desc", number(c.rx_desc));
    add("dataplane.tx_desc", number(c.tx_desc));
    add("dataplane.burst_size", number(c.burst_size));
    // Never shown: a listing only tells whether one is set.
    add("dataplane.digest_seed", c.digest_seed ? quoted("(set)") : std::string(kUnset));
    for (size_t i = 0; i < c.ports.size(); ++i) {
        const PortConfig& p = c.ports[i];
        const std::string k = fmt::format("ports[{}].", i);
        add(k + "device", quoted(p.device));
        add(k + "ipv4", quoted(format_ipv4_prefix(p.ipv4)));
        add(k + "mac", opt(p.mac, [](const MacAddress& m) { return quoted(format_mac(m)); }));
        add(k + "mtu", opt(p.mtu, number));
        add(k + "vlan", opt(p.vlan, number));
        add(k + "checksum_offload", number(p.checksum_offload));
        add(k + "kernel_device",
            p.kernel_device.empty() ? std::string(kUnset) : quoted(p.kernel_device));
    }
    const ControlplaneConfig& cp = c.controlplane;
    add("controlplane.listen", opt(cp.listen, [](uint32_t a) { return quoted(format_ipv4(a)); }));
    add("controlplane.memcached_port", number(cp.memcached_port));
    add("controlplane.redis_port", number(cp.redis_port));
    add("controlplane.admin_socket", quoted(cp.admin_socket));
    add("controlplane.admin_group", opt(cp.admin_group, quoted));
    // Never shown: whether one is set is all a listing tells.
    add("controlplane.requirepass", quoted(cp.requirepass.empty() ? "" : "(set)"));
    add("controlplane.max_connections", number(cp.max_connections));
    add("controlplane.idle_timeout_s", number(cp.idle_timeout_s));
    add("controlplane.output_buffer_limit_mb", number(cp.output_buffer_limit_mb));
    add("controlplane.pubsub_output_hard_limit_mb", number(cp.pubsub_output_hard_limit_mb));
    add("controlplane.pubsub_output_soft_limit_mb", number(cp.pubsub_output_soft_limit_mb));
    add("controlplane.pubsub_output_soft_seconds", number(cp.pubsub_output_soft_seconds));
    add("controlplane.notify_keyspace_events", quoted(cp.notify_keyspace_events));
    add("controlplane.request_arena_mb", number(cp.request_arena_mb));
    add("controlplane.max_inflight", number(cp.max_inflight));
    add("controlplane.metrics_port", number(cp.metrics_port));
    add("controlplane.sweep_goal_percent", number(cp.sweep_goal_percent));
    add("controlplane.sweep_max_cpu_percent", number(cp.sweep_max_cpu_percent));
    const ReplicationConfig& r = c.replication;
    add("replication.log_mb", number(r.log_mb));
    add("replication.port", number(r.port));
    add("replication.backlog_seconds", number(r.backlog_seconds));
    add("replication.backlog_max_mb", number(r.backlog_max_mb));
    add("replication.replica_output_limit_mb", number(r.replica_output_limit_mb));
    add("replication.replica_of",
        r.replica_of_addr
            ? quoted(fmt::format("{}:{}", format_ipv4(*r.replica_of_addr), r.replica_of_port))
            : std::string(kUnset));
    const ClusterConfig& cl = c.cluster;
    {
        std::vector<std::string> eps;
        for (const std::string& e : cl.etcd)
            eps.push_back(quoted(e));
        add("cluster.etcd",
            cl.enabled() ? fmt::format("[{}]", fmt::join(eps, ", ")) : std::string(kUnset));
    }
    add("cluster.partition", cl.enabled() ? quoted(cl.partition) : std::string(kUnset));
    add("cluster.node_id", cl.enabled() ? quoted(cl.node_id) : std::string(kUnset));
    add("cluster.lease_ms", cl.enabled() ? number(cl.lease_ms) : std::string(kUnset));
    add("cluster.service_address",
        opt(cl.service_address, [](uint32_t a) { return quoted(format_ipv4(a)); }));
    add("cluster.advertise",
        cl.advertise_addr
            ? quoted(fmt::format("{}:{}", format_ipv4(*cl.advertise_addr), cl.advertise_port))
            : std::string(kUnset));
    add("telemetry.enabled", number(c.telemetry_enabled));
    return out;
}

}  // namespace fulmar::config
