// fulmarctl: the Fulmar appliance's admin CLI. Speaks RESP to the control
// plane's admin socket (controlplane/admin_commands.h), so everything here
// is also `redis-cli -s SOCKET <command>`.
//
//   fulmarctl [--socket PATH] [--json] status | stats [--per-worker] | top |
//             slabs | config show | flush | sweep [--now] | ping |
//             address list | address add ADDR | address remove ADDR |
//             replication | cluster status | failover | wait N [--timeout MS] |
//             ring [status [--watch]] | ring add NAME HOST:PORT [--weight W] |
//             ring remove NAME | ring cancel
//
// Exit status: 0 done; 1 the control plane answered with an error, or the
// connection broke; 2 usage; 3 nothing listens at the socket (not running).
#include <poll.h>
#include <termios.h>

#include <unistd.h>
#include <chrono>
#include <thread>

#include <fmt/core.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "admin_client.h"
#include "config/dataplane_config.h"
#include "reply_format.h"
#include "top_view.h"

using namespace fulmar;
using namespace fulmar::fulmarctl;

namespace {

constexpr int kExitError = 1;
constexpr int kExitNotRunning = 3;

struct Options {
    std::string socket = std::string(config::kDefaultAdminSocket);
    bool json = false;
    bool per_worker = false;
    bool sweep_now = false;
    double interval_s = 1.0;
    uint64_t iterations = 0;  // top: 0 = until q
};

int fail(const ClientError& e) {
    fmt::print(stderr, "fulmarctl: {}\n", e.message);
    return e.kind == ClientErrorKind::kNotRunning ? kExitNotRunning : kExitError;
}

int fail(const std::string& message) {
    fmt::print(stderr, "fulmarctl: {}\n", message);
    return kExitError;
}

void out(const std::string& s) {
    std::fwrite(s.data(), 1, s.size(), stdout);
    if (s.empty() || s.back() != '\n') std::fputc('\n', stdout);
}

// One command, its reply shown as a table, rows, config or a status line.
// kList: an array of strings, one a line (JSON: {"list": [...]}).
enum class Shape : uint8_t { kTable, kLineRows, kColumnRows, kConfig, kStatus, kList };

// FAILOVER, then CLUSTER STATUS until this node follows another primary:
// the switchover is done when the command returns (or it says why not).
int run_failover(const Options& o) {
    auto client = AdminClient::connect(o.socket);
    if (!client) return fail(client.error());
    const auto started = std::chrono::steady_clock::now();
    auto reply = client.value().call({"FAILOVER"});
    if (!reply) return fail(reply.error());
    if (reply.value().is_error()) return fail(reply.value().text);
    while (std::chrono::steady_clock::now() - started < std::chrono::seconds(15)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        auto st = client.value().call({"CLUSTER", "STATUS"});
        if (!st) return fail(st.error());
        auto t = as_table(st.value());
        if (!t) return fail(t.error());
        std::string role, primary, note;
        for (const auto& [k, v] : t.value()) {
            if (k == "role") role = v;
            if (k == "primary") primary = v;
            if (k == "switchover") note = v;
        }
        if (note.starts_with("called off") || note.starts_with("etcd refused")) return fail(note);
        if (role == "replica" && !primary.empty() && primary[0] != '(') {
            const double s =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
            out(o.json ? fmt::format("{{\"primary\": {}, \"seconds\": {:.3f}}}",
                                     json_string(primary), s)
                       : fmt::format("switched over: {} is primary ({:.2f} s)", primary, s));
            return 0;
        }
    }
    return fail("the switchover did not finish in 15 s (fulmarctl cluster status)");
}

// WAIT's equivalent for an operator: how many replicas acknowledged every
// write made before this command (on any connection), once that is at
// least `n` or `timeout_ms` passed (0: none). Exit 0 when enough did.
int run_wait(const Options& o, int64_t n, int64_t timeout_ms) {
    auto client = AdminClient::connect(o.socket);
    if (!client) return fail(client.error());
    auto offsets = client.value().call({"REPLICATION", "OFFSETS"});
    if (!offsets) return fail(offsets.error());
    if (offsets.value().is_error()) return fail(offsets.value().text);
    if (offsets.value().elements.empty())
        return fail("this node is not a primary: nothing to wait for");
    std::vector<std::string> text{"REPLICATION", "ACKED"};
    for (const auto& e : offsets.value().elements)
        text.push_back(std::to_string(e.integer));
    const std::vector<std::string_view> ask(text.begin(), text.end());
    const auto started = std::chrono::steady_clock::now();
    int64_t acked = 0;
    while (true) {
        auto r = client.value().call(ask);
        if (!r) return fail(r.error());
        if (r.value().is_error()) return fail(r.value().text);
        acked = r.value().integer;
        const auto spent = std::chrono::steady_clock::now() - started;
        if (acked >= n || (timeout_ms > 0 && spent >= std::chrono::milliseconds(timeout_ms))) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    out(o.json ? fmt::format("{{\"replicas\": {}}}", acked) : std::to_string(acked));
    return acked >= n ? 0 : 1;
}

int run_one(const Options& o, const std::vector<std::string_view>& args, Shape shape) {
    auto client = AdminClient::connect(o.socket);
    if (!client) return fail(client.error());
    auto reply = client.value().call(args);
    if (!reply) return fail(reply.error());
    const proto::RespValue& v = reply.value();
    if (v.is_error()) return fail(v.text);
    switch (shape) {
        case Shape::kStatus: {
            const std::string text =
                v.type == proto::RespValue::Type::kInteger ? std::to_string(v.integer) : v.text;
            out(o.json ? fmt::format("{{\"reply\": {}}}", json_string(text)) : text);
            return 0;
        }
        case Shape::kList: {
            if (v.type != proto::RespValue::Type::kArray) return fail("expected an array reply");
            std::string text = o.json ? "{\"list\": [" : "";
            for (size_t i = 0; i < v.elements.size(); ++i) {
                if (o.json)
                    text += (i == 0 ? "" : ", ") + json_string(v.elements[i].text);
                else
                    text += v.elements[i].text + "\n";
            }
            if (o.json) text += "]}";
            if (!text.empty()) out(text);
            return 0;
        }
        case Shape::kTable:
        case Shape::kConfig: {
            auto t = as_table(v);
            if (!t) return fail(t.error());
            if (shape == Shape::kConfig)
                out(o.json ? config_json(t.value()) : config_text(t.value()));
            else
                out(o.json ? table_json(t.value()) : table_text(t.value()));
            return 0;
        }
        case Shape::kLineRows:
        case Shape::kColumnRows: {
            auto rows = as_rows(v);
            if (!rows) return fail(rows.error());
            out(o.json ? rows_json(rows.value())
                       : rows_text(rows.value(), shape == Shape::kLineRows
                                                     ? RowLayout::kLinePerRow
                                                     : RowLayout::kColumnPerRow));
            return 0;
        }
    }
    return 0;
}

// ---- ring -----------------------------------------------------------------

// RING STATUS as a progress line over the table (text), or the table
// (JSON); --watch repeats it every half second until no move is under way.
int run_ring_status(const Options& o, bool watch) {
    while (true) {
        auto client = AdminClient::connect(o.socket);
        if (!client) return fail(client.error());
        auto reply = client.value().call({"RING", "STATUS"});
        if (!reply) return fail(reply.error());
        if (reply.value().is_error()) return fail(reply.value().text);
        auto t = as_table(reply.value());
        if (!t) return fail(t.error());
        const auto field = [&](std::string_view name) -> std::string {
            for (const auto& [k, v] : t.value())
                if (k == name) return v;
            return "-";
        };
        const bool moving = field("phase") != "serving";
        if (o.json) {
            out(table_json(t.value()));
        } else {
            std::string head;
            if (moving) {
                const std::string pct = field("progress_pct");
                const int p = pct == "-" ? 0 : std::clamp(std::atoi(pct.c_str()), 0, 100);
                head = fmt::format(
                    "ring epoch {} -> {} ({}): [{}{}] {}%  sent {} keys, {:.1f} MB  {} keys/s, "
                    "{} MB/s  ETA {} s\n",
                    field("epoch"), field("pending_epoch"), field("phase"),
                    std::string(static_cast<size_t>(p) * 30 / 100, '#'),
                    std::string(30 - static_cast<size_t>(p) * 30 / 100, '.'), pct,
                    field("sent_keys"), std::strtod(field("sent_bytes").c_str(), nullptr) / 1e6,
                    field("rate_keys_s"), field("rate_mb_s"), field("eta_s"));
            }
            out(head + table_text(t.value()));
        }
        if (!watch || !moving) return 0;
        std::fflush(stdout);
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
}

// ---- top ----------------------------------------------------------------

std::atomic<bool> g_quit{false};
void on_quit_signal(int) {
    g_quit.store(true);
}

// The terminal while top runs: no echo, no line buffering (q quits without
// Enter), the alternate screen, no cursor; all restored by the destructor
// (Ctrl-C and SIGTERM end the loop, so it always runs).
class TerminalMode {
  public:
    TerminalMode() {
        tty_ = ::isatty(STDIN_FILENO) != 0 && ::tcgetattr(STDIN_FILENO, &saved_) == 0;
        if (tty_) {
            termios raw = saved_;
            raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO);  // ISIG stays: Ctrl-C
            raw.c_cc[VMIN] = 0;
            raw.c_cc[VTIME] = 0;
            ::tcsetattr(STDIN_FILENO, TCSANOW, &raw);
        }
        std::fputs("\x1b[?1049h\x1b[?25l", stdout);
        std::fflush(stdout);
    }
    ~TerminalMode() {
        std::fputs("\x1b[?25h\x1b[?1049l", stdout);
        std::fflush(stdout);
        if (tty_) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
    }
    TerminalMode(const TerminalMode&) = delete;
    TerminalMode& operator=(const TerminalMode&) = delete;

  private:
    bool tty_ = false;
    termios saved_{};
};

double now_s() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

Result<TopSample, std::string> poll_sample(AdminClient& c) {
    TopSample s;
    s.seconds = now_s();
    auto status = c.call({"STATUS"});
    if (!status) return Err{status.error().message};
    auto st = as_table(status.value());
    if (!st) return Err{st.error()};
    s.status = std::move(st.value());
    auto per = c.call({"STATS", "PER-WORKER"});
    if (!per) return Err{per.error().message};
    auto rows = as_rows(per.value());
    if (!rows) return Err{rows.error()};
    s.workers = std::move(rows.value());
    return s;
}

// Waits up to `seconds` for a key; true when it was q (or a quit signal).
bool wait_for_quit(double seconds) {
    const double until = now_s() + seconds;
    while (!g_quit.load()) {
        const double left = until - now_s();
        if (left <= 0) return false;
        pollfd p{.fd = STDIN_FILENO, .events = POLLIN, .revents = 0};
        const int n = ::poll(&p, 1, static_cast<int>(left * 1000) + 1);
        if (n > 0 && (p.revents & POLLIN) != 0) {
            char ch = 0;
            if (::read(STDIN_FILENO, &ch, 1) == 1 && (ch == 'q' || ch == 'Q')) return true;
            if ((p.revents & POLLHUP) != 0) ::usleep(static_cast<useconds_t>(left * 1e6));
        } else if (n > 0) {
            // stdin closed (not a terminal): only the timer and signals count.
            ::usleep(static_cast<useconds_t>(std::min(left, 0.1) * 1e6));
        }
    }
    return true;
}

int run_top(const Options& o) {
    auto client = AdminClient::connect(o.socket);
    if (!client) return fail(client.error());
    std::signal(SIGINT, on_quit_signal);
    std::signal(SIGTERM, on_quit_signal);
    std::optional<TopSample> prev;
    std::optional<TerminalMode> term;
    if (!o.json) term.emplace();
    std::string error;
    for (uint64_t frame = 1; !g_quit.load(); ++frame) {
        auto s = poll_sample(client.value());
        if (!s) {
            error = s.error();
            break;
        }
        const std::vector<TopRow> rows = top_rows(prev ? &*prev : nullptr, s.value());
        if (o.json) {
            out(top_json(s.value(), rows, frame));
        } else {
            std::string screen = "\x1b[H";
            for (const std::string& l : top_lines(s.value(), rows, frame, o.interval_s, 200))
                screen += l + "\x1b[K\n";
            screen += "\x1b[J";
            std::fputs(screen.c_str(), stdout);
        }
        std::fflush(stdout);
        prev = std::move(s.value());
        if (o.iterations != 0 && frame >= o.iterations) break;
        if (wait_for_quit(o.interval_s)) break;
    }
    term.reset();  // the screen back before any message
    if (!error.empty()) return fail(error);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    CLI::App app{
        "fulmarctl: the Fulmar appliance's admin CLI (RESP over the control plane's "
        "admin socket; redis-cli -s SOCKET works too)"};
    app.require_subcommand(1);
    app.add_option("-s,--socket", o.socket, "the control plane's admin socket")
        ->capture_default_str();
    app.add_flag("--json", o.json, "print JSON instead of text");

    Shape shape = Shape::kTable;
    std::vector<std::string_view> args;
    auto cmd = [&](const char* name, const char* help, std::vector<std::string_view> a, Shape s) {
        CLI::App* sub = app.add_subcommand(name, help);
        sub->fallthrough();
        sub->callback([&, a, s] {
            args = a;
            shape = s;
        });
        return sub;
    };
    cmd("status", "who runs, since when, workers, shards, items, connections", {"STATUS"},
        Shape::kTable);
    CLI::App* stats = cmd("stats", "every counter (totals)", {"STATS"}, Shape::kTable);
    stats->add_flag("--per-worker", o.per_worker, "one column per worker");
    cmd("slabs", "slab classes per shard: chunk size, pages, live, free, evictions", {"SLABS"},
        Shape::kLineRows);
    CLI::App* config = app.add_subcommand("config", "the configuration");
    config->require_subcommand(1);
    config->fallthrough();
    CLI::App* show = config->add_subcommand("show", "the effective configuration, every key");
    show->fallthrough();
    show->callback([&] {
        args = {"CONFIG", "SHOW"};
        shape = Shape::kConfig;
    });
    cmd("flush", "flush_all on every shard", {"FLUSH"}, Shape::kStatus);
    CLI::App* sweep = cmd("sweep",
                          "the TTL sweep pacer per shard: expired-but-resident estimate, rate, "
                          "CPU share",
                          {"SWEEP"}, Shape::kColumnRows);
    sweep->add_flag("--now", o.sweep_now,
                    "first run a full pass over every shard (answers when it is over)");
    cmd("ping", "is the control plane there", {"PING"}, Shape::kStatus);
    cmd("replication", "this node's replication: role, primary or replicas (offsets, lag), syncs",
        {"REPLICATION"}, Shape::kTable);
    int64_t wait_n = 1, wait_ms = 0;
    CLI::App* wait = app.add_subcommand(
        "wait", "WAIT for an operator: until N replicas acknowledged every write made so far");
    wait->fallthrough();
    wait->add_option("N", wait_n, "replicas")->required()->check(CLI::Range(0, 1 << 20));
    wait->add_option("--timeout", wait_ms, "milliseconds (0: none)")
        ->capture_default_str()
        ->check(CLI::Range(int64_t{0}, int64_t{1} << 40));
    CLI::App* failover = app.add_subcommand(
        "failover",
        "planned switchover, run on the primary: writes pause until a replica has them all, then "
        "it takes over (nothing is lost); returns when it has");
    failover->fallthrough();
    CLI::App* cluster = app.add_subcommand("cluster", "this node's partition in etcd ([cluster])");
    cluster->require_subcommand(1);
    cluster->fallthrough();
    cluster->add_subcommand("status", "partition, role, epoch, primary, lease left, offset")
        ->fallthrough()
        ->callback([&] {
            args = {"CLUSTER", "STATUS"};
            shape = Shape::kTable;
        });
    // The cluster ring (controlplane/ring_member.h). Its arguments live
    // here, past the parse.
    std::string ring_name, ring_addr;
    uint32_t ring_weight = 1;
    bool ring_watch = false;
    CLI::App* ring =
        app.add_subcommand("ring", "the cluster ring: partitions, the move under way, changes");
    ring->fallthrough();
    CLI::App* ring_status = ring->add_subcommand(
        "status", "the ring and the move under way: progress, keys and bytes moved, rate, ETA");
    ring_status->fallthrough();
    ring_status->add_flag("--watch", ring_watch, "repeat every 0.5 s until the move is over");
    CLI::App* ring_add = ring->add_subcommand(
        "add", "start moving a quarter (1/n) of the keys to a new partition; returns at once");
    ring_add->fallthrough();
    ring_add->add_option("NAME", ring_name, "the partition's name ([cluster] partition)")
        ->required();
    ring_add->add_option("ADDRESS", ring_addr, "host:port clients reach it at (memcached)")
        ->required();
    ring_add->add_option("--weight", ring_weight, "its share relative to the others")
        ->capture_default_str()
        ->check(CLI::Range(1u, 1000000u));
    CLI::App* ring_remove =
        ring->add_subcommand("remove", "start moving a partition's keys to the others");
    ring_remove->fallthrough();
    ring_remove->add_option("NAME", ring_name, "the partition")->required();
    CLI::App* ring_cancel = ring->add_subcommand("cancel", "call the move under way off");
    ring_cancel->fallthrough();
    std::string ring_weight_text;
    ring_add->callback([&] {
        ring_weight_text = std::to_string(ring_weight);
        args = {"RING", "ADD", ring_name, ring_addr, ring_weight_text};
        shape = Shape::kStatus;
    });
    ring_remove->callback([&] {
        args = {"RING", "REMOVE", ring_name};
        shape = Shape::kStatus;
    });
    ring_cancel->callback([&] {
        args = {"RING", "CANCEL"};
        shape = Shape::kStatus;
    });
    // Service addresses (dataplane/README.md): the address arguments live in
    // `addr`, which outlives the parse, so `args` may view it.
    std::string addr;
    CLI::App* address = app.add_subcommand(
        "address", "the port's service addresses (the partition's address, moved on failover)");
    address->require_subcommand(1);
    address->fallthrough();
    address->add_subcommand("list", "the service addresses served")->fallthrough()->callback([&] {
        args = {"ADDRESS", "LIST"};
        shape = Shape::kList;
    });
    for (const char* verb : {"add", "remove"}) {
        CLI::App* sub = address->add_subcommand(
            verb, std::string(verb) == "add"
                      ? "serve ADDR too: the kernel side takes it, the dataplane answers for it "
                        "and announces it by gratuitous ARP"
                      : "stop serving ADDR (dataplane first, then the kernel side)");
        sub->fallthrough();
        sub->add_option("ADDR", addr, "an IPv4 address, a.b.c.d")->required();
        sub->callback([&, verb] {
            args = {"ADDRESS", std::string(verb) == "add" ? "ADD" : "REMOVE", addr};
            shape = Shape::kStatus;
        });
    }
    CLI::App* top = app.add_subcommand("top", "a live view of per-worker rates (q quits)");
    top->fallthrough();
    top->add_option("-i,--interval", o.interval_s, "seconds between refreshes")
        ->capture_default_str()
        ->check(CLI::Range(0.1, 3600.0));
    top->add_option("-n,--iterations", o.iterations, "refreshes before exiting (0: until q)")
        ->capture_default_str();

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int rc = app.exit(e);
        return rc == 0 ? 0 : 2;
    }
    if (top->parsed()) return run_top(o);
    if (failover->parsed()) return run_failover(o);
    if (ring->parsed() && !ring_add->parsed() && !ring_remove->parsed() && !ring_cancel->parsed())
        return run_ring_status(o, ring_watch);
    if (wait->parsed()) return run_wait(o, wait_n, wait_ms);
    if (stats->parsed() && o.per_worker) {
        args = {"STATS", "PER-WORKER"};
        shape = Shape::kColumnRows;
    }
    if (sweep->parsed() && o.sweep_now) args = {"SWEEP", "NOW"};
    return run_one(o, args, shape);
}
