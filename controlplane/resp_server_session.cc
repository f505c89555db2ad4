// The commands a Redis client's session answers itself, with its
// connection's state: HELLO AUTH CLIENT RESET INFO CONFIG DEBUG and the
// transaction (MULTI EXEC DISCARD WATCH UNWATCH). See resp_session.h;
// their table entries are kCmdSession (src/engine/resp_server_commands.cc).
//
// On the control plane's loop thread, as the session.
//
// Transactions: the requests are queued here as multibulks; EXEC sends
// them as ONE kControlResp message (dataplane::kRespFlagExec) to the owner
// of the shard their keys live on, with each WATCHed key's CAS, and the
// owner runs them back to back (engine::run_resp_transaction). Keys on two
// shards cannot be one transaction: the request that would make it span
// them is refused with -CROSSSLOT and the EXEC aborts (docs/resp-progress.md).
#include <fmt/core.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <deque>

#include "common/ascii.h"
#include "common/numbers.h"
#include "config/address_text.h"
#include "engine/resp_debug.h"
#include "engine/resp_digest.h"
#include "event_loop.h"
#include "metrics_source.h"
#include "proto/resp_writer.h"
#include "resp_collection_config.h"
#include "resp_session.h"
#include "store/slab.h"

namespace fulmar::controlplane {

using engine::ExecStatus;
using engine::RespCommand;
using engine::RespRequest;
using proto::RespWriter;

namespace {

constexpr std::string_view kErrSyntax = "syntax error";
constexpr std::string_view kErrCrossShard =
    "-CROSSSLOT Keys in request don't hash to the same slot (a transaction's keys must live on "
    "one shard)";
// A transaction's queue is held here and sent in one message: bounded.
constexpr size_t kMaxQueuedBytes = 4u << 20;

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

std::string upper(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    return out;
}

// A subcommand of CLIENT/CONFIG outside its arity: Redis 7.0 checks each
// subcommand's own arity ("client|setname").
void write_sub_arity(std::string_view cmd, std::string_view sub, OrderedOutput& out) {
    RespWriter(out).write_error(
        engine::resp_arity_error(fmt::format("{}|{}", lower(cmd), lower(sub))));
}

void write_unknown_sub(std::string_view cmd, std::string_view sub, OrderedOutput& out) {
    RespWriter(out).write_error(
        fmt::format("unknown subcommand '{}'. Try {} HELP.", sub.substr(0, 128), upper(cmd)));
}

bool arity_ok(size_t n, int arity) {
    return arity >= 0 ? n == static_cast<size_t>(arity) : n >= static_cast<size_t>(-arity);
}

// Redis's clientSetName check: printable ASCII without spaces.
bool valid_client_name(std::string_view name) {
    for (char c : name)
        if (c < '!' || c > '~') return false;
    return true;
}

// Redis's bytesToHuman.
std::string bytes_to_human(double n) {
    if (n < 1024) return fmt::format("{}B", static_cast<uint64_t>(n));
    const char* units = "KMGTPE";
    double d = n / 1024;
    for (int i = 0; i < 6; ++i, d /= 1024)
        if (d < 1024 || i == 5) return fmt::format("{:.2f}{}", d, units[i]);
    return "";
}

}  // namespace

// DEBUG SLEEP's delayed replies: each a placeholder in the output, filled
// when its time comes. Sleeps of one client follow one another, as they
// would on a server that sleeps; the loop and every other client go on.
struct RespSession::SleepTimer final : EventHandler {
    SleepTimer(EventLoop& l, ExecutorClient& c, std::function<void()> f)
        : loop(l), client(c), flush(std::move(f)) {
        fd = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        if (fd >= 0 && !loop.add(fd, EPOLLIN, this)) {
            ::close(fd);
            fd = -1;
        }
    }
    ~SleepTimer() override {
        if (fd < 0) return;
        loop.remove(fd);
        ::close(fd);
        for (const Pending& p : pending)
            client.forget_ticket(p.ticket);
    }
    bool ok() const { return fd >= 0; }

    void add(uint64_t ticket, OrderedOutput* out, int64_t us) {
        timespec now{};
        ::clock_gettime(CLOCK_MONOTONIC, &now);
        int64_t start = int64_t{now.tv_sec} * 1000000 + now.tv_nsec / 1000;
        if (!pending.empty()) start = std::max(start, pending.back().due_us);
        pending.push_back({ticket, out, start + us});
        if (pending.size() == 1) arm();
    }
    void arm() {
        itimerspec t{};
        const int64_t due = pending.front().due_us;
        t.it_value.tv_sec = due / 1000000;
        t.it_value.tv_nsec = (due % 1000000) * 1000;
        if (t.it_value.tv_sec == 0 && t.it_value.tv_nsec == 0) t.it_value.tv_nsec = 1;
        ::timerfd_settime(fd, TFD_TIMER_ABSTIME, &t, nullptr);
    }
    void on_event(uint32_t) override {
        uint64_t expirations = 0;
        if (::read(fd, &expirations, sizeof expirations) < 0 && errno == EAGAIN) return;
        timespec now{};
        ::clock_gettime(CLOCK_MONOTONIC, &now);
        const int64_t now_us = int64_t{now.tv_sec} * 1000000 + now.tv_nsec / 1000;
        while (!pending.empty() && pending.front().due_us <= now_us) {
            client.forget_ticket(pending.front().ticket);
            pending.front().out->fill(pending.front().ticket, "+OK\r\n");
            pending.pop_front();
        }
        if (!pending.empty()) arm();
        flush();
    }

    struct Pending {
        uint64_t ticket;
        OrderedOutput* out;  // the connection's, or the dropped replies' (CLIENT REPLY)
        int64_t due_us;
    };
    EventLoop& loop;
    ExecutorClient& client;
    std::function<void()> flush;
    int fd = -1;
    std::deque<Pending> pending;
};

void RespSession::SleepTimerDelete::operator()(SleepTimer* t) const {
    delete t;
}

RespSession::Step RespSession::run_session(const RespCommand& c, const RespRequest& req,
                                           OrderedOutput& out) {
    const std::string_view name = c.spec.name;
    RespWriter w(out);
    if (server_ == nullptr) {  // a session outside a listener (none today)
        w.write_error(fmt::format("'{}' needs the Redis listener's state", name));
        return Step::kNext;
    }
    if (name == "hello") return cmd_hello(req, out);
    if (name == "auth") return cmd_auth(req, out);
    if (name == "client") return cmd_client(req, out);
    if (name == "reset") return cmd_reset(out);
    if (name == "info") return cmd_info(req, out);
    if (name == "config") return cmd_config(req, out);
    if (name == "debug") return cmd_debug(req, out);
    if (name == "wait") return cmd_wait(req, out);
    if (name == "replicaof" || name == "slaveof") return cmd_replicaof(req, out);
    if (name == "watch") return cmd_watch(req, out);
    if (name == "exec") return cmd_exec(out);
    if (name == "multi") {
        if (in_multi_) {
            w.write_error("MULTI calls can not be nested");
        } else {
            in_multi_ = true;
            w.write_simple("OK");
        }
    } else if (name == "discard") {
        if (!in_multi_) {
            w.write_error("DISCARD without MULTI");
        } else {
            discard();
            w.write_simple("OK");
        }
    } else if (name == "unwatch") {
        watched_.clear();
        watch_shard_ = -1;
        w.write_simple("OK");
    } else {
        // A kCmdSession entry this file does not answer (another group's,
        // e.g. pub/sub, whose session code is not in this build).
        w.write_error(fmt::format("'{}' is not served by this control plane", name));
    }
    return Step::kNext;
}

void RespSession::set_resp3(bool on, OrderedOutput& out) {
    resp3_ = on;
    out.set_resp3(on);
    if (output_ != nullptr) output_->set_resp3(on);  // `out` drops replies under CLIENT REPLY OFF
    exec_.set_resp_flags(on ? dataplane::kRespFlagResp3 : 0);
}

bool RespSession::check_password(std::string_view user, std::string_view pass) {
    // One user, "default", as Redis without ACLs: no password configured
    // means it takes any password (nopass).
    const std::string& want = server_ != nullptr ? server_->requirepass() : std::string();
    const bool ok = ascii_iequals(user, "default") && (want.empty() || pass == want);
    if (!ok && server_ != nullptr) ++server_->rejected_auth;
    return ok;
}

// HELLO [protover [AUTH username password] [SETNAME clientname]]
RespSession::Step RespSession::cmd_hello(const RespRequest& req, OrderedOutput& out) {
    RespWriter w(out);
    const auto& a = req.args;
    int64_t ver = 0;
    size_t next = 1;
    if (a.size() >= 2) {
        if (!engine::resp_parse_int(a[next++], ver)) {
            w.write_error("Protocol version is not an integer or out of range");
            return Step::kNext;
        }
        if (ver < 2 || ver > 3) {
            w.write_error("-NOPROTO unsupported protocol version");
            return Step::kNext;
        }
    }
    for (size_t j = next; j < a.size(); ++j) {
        const size_t more = a.size() - 1 - j;
        if (ascii_iequals(a[j], "AUTH") && more >= 2) {
            if (!check_password(a[j + 1], a[j + 2])) {
                w.write_error("-WRONGPASS invalid username-password pair or user is disabled.");
                return Step::kNext;
            }
            authenticated_ = true;
            j += 2;
        } else if (ascii_iequals(a[j], "SETNAME") && more >= 1) {
            if (!valid_client_name(a[j + 1])) {
                w.write_error(
                    "Client names cannot contain spaces, newlines or special characters.");
                return Step::kNext;
            }
            name_ = std::string(a[j + 1]);
            ++j;
        } else {
            w.write_error(fmt::format("Syntax error in HELLO option '{}'", a[j]));
            return Step::kNext;
        }
    }
    if (!authenticated_) {
        w.write_error(
            "-NOAUTH HELLO must be called with the client already authenticated, otherwise the "
            "HELLO AUTH <user> <pass> option can be used to authenticate the client and select "
            "the RESP protocol version at the same time");
        return Step::kNext;
    }
    if (ver != 0) set_resp3(ver == 3, out);
    RespWriter r(out);  // in the protocol just chosen, as Redis answers
    r.write_map(7);
    r.write_bulk("server");
    r.write_bulk("redis");
    r.write_bulk("version");
    r.write_bulk("7.0.15");
    r.write_bulk("proto");
    r.write_integer(resp3_ ? 3 : 2);
    r.write_bulk("id");
    r.write_integer(static_cast<int64_t>(conn_.id));
    r.write_bulk("mode");
    r.write_bulk("standalone");
    r.write_bulk("role");
    r.write_bulk("master");
    r.write_bulk("modules");
    r.write_array(0);
    return Step::kNext;
}

// AUTH [username] password
RespSession::Step RespSession::cmd_auth(const RespRequest& req, OrderedOutput& out) {
    RespWriter w(out);
    const auto& a = req.args;
    if (a.size() > 3) {
        w.write_error(kErrSyntax);
        return Step::kNext;
    }
    if (a.size() == 2 && (server_ == nullptr || server_->requirepass().empty())) {
        w.write_error(
            "AUTH <password> called without any password configured for the default user. Are "
            "you sure your configuration is correct?");
        return Step::kNext;
    }
    const std::string_view user = a.size() == 2 ? "default" : a[1];
    if (check_password(user, a.back())) {
        authenticated_ = true;
        w.write_simple("OK");
    } else {
        w.write_error("-WRONGPASS invalid username-password pair or user is disabled.");
    }
    return Step::kNext;
}

std::string RespSession::client_info(UnixTime now) const {
    const RespConnFigures f = conn_.figures ? conn_.figures() : RespConnFigures{};
    std::string flags;
    const PubSubClient* ps = pubsub_ ? &pubsub_->client() : nullptr;
    if (ps != nullptr && ps->subscribed()) flags += 'P';
    if (in_multi_) flags += 'x';
    if (no_evict_) flags += 'e';
    if (flags.empty()) flags = "N";
    std::string events;
    if (f.reading) events += 'r';
    if (f.writing) events += 'w';
    const auto age = [now](UnixTime t) { return now > t ? int64_t{now} - int64_t{t} : 0; };
    // Memory: what this connection holds in its buffers (input, replies,
    // a transaction's queue); Redis's allocator figures (qbuf-free,
    // argv-mem, rbs, rbp) have no counterpart here and read 0.
    const size_t multi_mem = in_multi_ ? queued_.size() : 0;
    return fmt::format(
        "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db=0 sub={} psub={} "
        "ssub={} multi={} qbuf={} qbuf-free=0 argv-mem=0 multi-mem={} rbs=0 rbp=0 obl={} oll={} "
        "omem={} tot-mem={} events={} cmd={} user=default redir=-1 resp={}",
        conn_.id, conn_.addr, conn_.laddr, conn_.fd, name_, age(conn_.created),
        age(last_interaction_), flags, ps != nullptr ? ps->channels.size() : 0,
        ps != nullptr ? ps->patterns.size() : 0, ps != nullptr ? ps->shard_channels.size() : 0,
        in_multi_ ? static_cast<int64_t>(n_queued_) : -1, f.qbuf, multi_mem, f.obl, f.oll, f.obl,
        f.qbuf + f.obl + multi_mem, events, last_cmd_, resp3_ ? 3 : 2);
}

// CLIENT ID | INFO | LIST [TYPE t | ID id...] | SETNAME | GETNAME | KILL ... |
//        REPLY ON|OFF|SKIP | NO-EVICT ON|OFF | HELP
RespSession::Step RespSession::cmd_client(const RespRequest& req, OrderedOutput& out) {
    RespWriter w(out);
    const auto& a = req.args;
    const std::string_view sub = a[1];
    const size_t n = a.size();
    const UnixTime now = deps_.ctx->now();
    struct Sub {
        std::string_view name;
        int arity;
    };
    static constexpr Sub kSubs[] = {{"id", 2},      {"info", 2},    {"list", -2}, {"setname", 3},
                                    {"getname", 2}, {"kill", -3},   {"reply", 3}, {"no-evict", 3},
                                    {"help", 2},    {"unblock", -3}};
    const Sub* s = nullptr;
    for (const Sub& x : kSubs)
        if (ascii_iequals(sub, x.name)) s = &x;
    if (s == nullptr) {
        write_unknown_sub("client", sub, out);
        return Step::kNext;
    }
    if (!arity_ok(n, s->arity)) {
        write_sub_arity("client", sub, out);
        return Step::kNext;
    }
    const std::string_view what = s->name;
    if (what == "help") {
        static constexpr std::string_view kHelp[] = {
            "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GETNAME",
            "    Return the name of the current connection.",
            "ID",
            "    Return the ID of the current connection.",
            "INFO",
            "    Return information about the current client connection.",
            "KILL <ip:port>",
            "    Kill connection made from <ip:port>.",
            "KILL <option> <value> [<option> <value> [...]]",
            "    Kill connections. Options are:",
            "    * ADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made from the specified address",
            "    * LADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made to specified local address",
            "    * ID <client-id>",
            "      Kill connections by client id.",
            "    * USER <username>",
            "      Kill connections authenticated by <username>.",
            "    * SKIPME (YES|NO)",
            "      Skip killing current connection (default: yes).",
            "LIST [options ...]",
            "    Return information about client connections. Options:",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      Return clients of specified type.",
            "    * ID <client-id> [<client-id> ...]",
            "      Return clients of specified IDs only.",
            "NO-EVICT (ON|OFF)",
            "    Protect current client connection from eviction.",
            "REPLY (ON|OFF|SKIP)",
            "    Control the replies sent to the current connection.",
            "SETNAME <name>",
            "    Assign the name <name> to the current connection.",
            "UNBLOCK <clientid> [TIMEOUT|ERROR]",
            "    Unblock the specified blocked client.",
            "HELP",
            "    Prints this help."};
        w.write_array(std::size(kHelp));
        for (std::string_view l : kHelp)
            w.write_simple(l);
    } else if (what == "id") {
        w.write_integer(static_cast<int64_t>(conn_.id));
    } else if (what == "unblock") {
        // CLIENT UNBLOCK id [TIMEOUT|ERROR]: the reason before the id.
        bool error = false;
        if (n > 4) {
            // Redis's fall-through for arities its table allows.
            w.write_error(fmt::format(
                "unknown subcommand or wrong number of arguments for '{}'. Try CLIENT HELP.",
                sub.substr(0, 128)));
            return Step::kNext;
        }
        if (n == 4) {
            if (ascii_iequals(a[3], "error")) {
                error = true;
            } else if (!ascii_iequals(a[3], "timeout")) {
                w.write_error("CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
                return Step::kNext;
            }
        }
        int64_t id = 0;
        if (!engine::resp_parse_int(a[2], id)) {
            w.write_error("value is not an integer or out of range");
            return Step::kNext;
        }
        const auto it = server_->clients().find(static_cast<uint64_t>(id));
        const bool done = it != server_->clients().end() && it->second->unblock_by_client(error);
        w.write_integer(done ? 1 : 0);
    } else if (what == "info") {
        w.write_verbatim("txt", client_info(now) + "\n");
    } else if (what == "list") {
        std::string text;
        if (n == 4 && ascii_iequals(a[2], "TYPE")) {
            const std::string_view t = a[3];
            // getClientType: a client subscribed to anything is "pubsub".
            const bool normal = ascii_iequals(t, "normal");
            if (normal || ascii_iequals(t, "pubsub")) {
                for (const auto& [id, sess] : server_->clients())
                    if (sess->pubsub_client() != normal) text += sess->client_info(now) + "\n";
            } else if (!ascii_iequals(t, "master") && !ascii_iequals(t, "replica") &&
                       !ascii_iequals(t, "slave")) {
                w.write_error(fmt::format("Unknown client type '{}'", t));
                return Step::kNext;
            }
            // No replica or master here.
        } else if (n > 3 && ascii_iequals(a[2], "ID")) {
            for (size_t j = 3; j < n; ++j) {
                int64_t id = 0;
                if (!engine::resp_parse_int(a[j], id)) {
                    w.write_error("Invalid client ID");
                    return Step::kNext;
                }
                const auto it = server_->clients().find(static_cast<uint64_t>(id));
                if (it != server_->clients().end()) text += it->second->client_info(now) + "\n";
            }
        } else if (n != 2) {
            w.write_error(kErrSyntax);
            return Step::kNext;
        } else {
            for (const auto& [id, sess] : server_->clients())
                text += sess->client_info(now) + "\n";
        }
        w.write_verbatim("txt", text);
    } else if (what == "setname") {
        if (!valid_client_name(a[2])) {
            w.write_error("Client names cannot contain spaces, newlines or special characters.");
            return Step::kNext;
        }
        name_ = std::string(a[2]);
        w.write_simple("OK");
    } else if (what == "getname") {
        if (name_.empty())
            w.write_null();
        else
            w.write_bulk(name_);
    } else if (what == "reply") {
        if (ascii_iequals(a[2], "ON")) {
            reply_mode_ = ReplyMode::kOn;
            w.write_simple("OK");  // run() sends it to the client even after OFF
        } else if (ascii_iequals(a[2], "OFF")) {
            reply_mode_ = ReplyMode::kOff;
        } else if (ascii_iequals(a[2], "SKIP")) {
            if (reply_mode_ != ReplyMode::kOff) reply_mode_ = ReplyMode::kSkipNext;
        } else {
            w.write_error(kErrSyntax);
        }
    } else if (what == "no-evict") {
        // Eviction of clients (maxmemory-clients) does not exist here; the
        // flag is the client's own and CLIENT LIST shows it.
        if (ascii_iequals(a[2], "ON")) {
            no_evict_ = true;
        } else if (ascii_iequals(a[2], "OFF")) {
            no_evict_ = false;
        } else {
            w.write_error(kErrSyntax);
            return Step::kNext;
        }
        w.write_simple("OK");
    } else {  // kill
        std::string_view addr, laddr;
        uint64_t id = 0;
        bool skipme = true;
        bool none_of_type = false;  // TYPE master|replica|pubsub: no client of ours
        int repl_type = 0;          // 1: TYPE master (our primary link), 2: replica links
        if (n == 3) {
            addr = a[2];
            skipme = false;
        } else {
            for (size_t i = 2; i < n; i += 2) {
                const bool more = i + 1 < n;
                const std::string_view opt = a[i];
                if (ascii_iequals(opt, "id") && more) {
                    int64_t v = 0;
                    if (!engine::resp_parse_int(a[i + 1], v) || v < 1) {
                        w.write_error("client-id should be greater than 0");
                        return Step::kNext;
                    }
                    id = static_cast<uint64_t>(v);
                } else if (ascii_iequals(opt, "type") && more) {
                    const std::string_view t = a[i + 1];
                    if (ascii_iequals(t, "normal")) continue;
                    if (!ascii_iequals(t, "master") && !ascii_iequals(t, "replica") &&
                        !ascii_iequals(t, "slave") && !ascii_iequals(t, "pubsub")) {
                        w.write_error(fmt::format("Unknown client type '{}'", t));
                        return Step::kNext;
                    }
                    none_of_type = true;
                    if (ascii_iequals(t, "master")) repl_type = 1;
                    if (ascii_iequals(t, "replica") || ascii_iequals(t, "slave")) repl_type = 2;
                } else if (ascii_iequals(opt, "addr") && more) {
                    addr = a[i + 1];
                } else if (ascii_iequals(opt, "laddr") && more) {
                    laddr = a[i + 1];
                } else if (ascii_iequals(opt, "user") && more) {
                    if (a[i + 1] != "default") {
                        w.write_error(fmt::format("No such user '{}'", a[i + 1]));
                        return Step::kNext;
                    }
                } else if (ascii_iequals(opt, "skipme") && more) {
                    if (ascii_iequals(a[i + 1], "yes")) {
                        skipme = true;
                    } else if (ascii_iequals(a[i + 1], "no")) {
                        skipme = false;
                    } else {
                        w.write_error(kErrSyntax);
                        return Step::kNext;
                    }
                } else {
                    w.write_error(kErrSyntax);
                    return Step::kNext;
                }
            }
        }
        std::vector<RespSession*> victims;
        bool close_self = false;
        if (!none_of_type) {
            for (const auto& [cid, sess] : server_->clients()) {
                const RespConn& cc = sess->conn();
                if (!addr.empty() && cc.addr != addr) continue;
                if (!laddr.empty() && cc.laddr != laddr) continue;
                if (id != 0 && cid != id) continue;
                if (sess == this && skipme) continue;
                if (sess == this)
                    close_self = true;
                else
                    victims.push_back(sess);
            }
        }
        size_t killed = victims.size() + (close_self ? 1 : 0);
        // Replication links are no clients of this listener, but Redis
        // counts them under their TYPE: a replica's link to its primary
        // (it reconnects and resumes), a primary's links to its replicas.
        if (repl_type != 0 && addr.empty() && laddr.empty() && id == 0 &&
            server_->kill_replication_links)
            killed += server_->kill_replication_links(repl_type == 1);
        // Closing another connection takes it out of clients(): not while
        // iterating it.
        for (RespSession* v : victims)
            if (v->conn_.kill) v->conn_.kill();
        if (n == 3) {
            if (killed == 0)
                w.write_error("No such client");
            else
                w.write_simple("OK");
        } else {
            w.write_integer(static_cast<int64_t>(killed));
        }
        if (close_self) return Step::kClose;
    }
    return Step::kNext;
}

// RESET: the connection as new (RESP2, no name, no transaction, not
// authenticated when a password is set); "+RESET".
RespSession::Step RespSession::cmd_reset(OrderedOutput& out) {
    // Every channel, pattern and shard channel left, without replies.
    if (pubsub_) pubsub_->reset();
    discard();
    watched_.clear();
    watch_shard_ = -1;
    set_resp3(false, out);
    name_.clear();
    no_evict_ = false;
    reply_mode_ = ReplyMode::kOn;
    authenticated_ = server_ == nullptr || server_->requirepass().empty();
    RespWriter(out).write_simple("RESET");
    return Step::kNext;
}

// INFO [section ...]: Redis's sections this control plane has figures for,
// from the dataplane's shared memory (MetricsSource), and "shards" (one
// line per shard).
RespSession::Step RespSession::cmd_info(const RespRequest& req, OrderedOutput& out) {
    std::vector<std::string> want;
    for (size_t i = 1; i < req.args.size(); ++i)
        want.push_back(lower(req.args[i]));
    const auto wants = [&want](std::string_view s, bool in_default) {
        if (want.empty()) return in_default;
        for (const std::string& x : want)
            if (x == s || x == "all" || x == "everything" || (x == "default" && in_default))
                return true;
        return false;
    };
    MetricsSnapshot m;
    if (server_ != nullptr && server_->metrics != nullptr) m = server_->metrics->snapshot();
    const UnixTime now = deps_.ctx->now();
    std::string t;
    auto section = [&t](std::string_view name) {
        if (!t.empty()) t += "\r\n";
        t += fmt::format("# {}\r\n", name);
    };
    const int64_t uptime =
        server_ != nullptr && now > server_->started ? int64_t{now} - server_->started : 0;
    if (wants("server", true)) {
        section("Server");
        utsname u{};
        ::uname(&u);
        t += fmt::format(
            "redis_version:7.0.15\r\nredis_mode:standalone\r\nos:{} {} {}\r\narch_bits:64\r\n"
            "multiplexing_api:epoll\r\nprocess_id:{}\r\ntcp_port:{}\r\nserver_time_usec:{}\r\n"
            "uptime_in_seconds:{}\r\nuptime_in_days:{}\r\nexecutable:fulmar-controlplane\r\n",
            u.sysname, u.release, u.machine, ::getpid(), server_ != nullptr ? server_->port : 0,
            int64_t{now} * 1000000, uptime, uptime / 86400);
    }
    if (wants("clients", true)) {
        section("Clients");
        // blocked_clients: the listener's waiters in BLPOP & co. (the
        // suite's wait_for_blocked_clients_count reads it).
        t += fmt::format("connected_clients:{}\r\nmaxclients:{}\r\nblocked_clients:{}\r\n",
                         server_ != nullptr ? server_->clients().size() : 0,
                         server_ != nullptr ? server_->max_clients : 0,
                         blocking_ != nullptr ? blocking_->blocked_clients() : 0);
    }
    uint64_t pages = 0, free_pages = 0, items = 0, evictions = 0, expired = 0;
    for (const MetricsShard& s : m.shards) {
        pages += s.pages;
        free_pages += s.free_pages;
        items += s.items;
        evictions += s.stats.evictions;
        expired += s.stats.expired_reclaimed + s.stats.sweep_reclaimed;
    }
    if (wants("memory", true)) {
        section("Memory");
        // Item memory: the shards' 1 MiB slab pages in use and in all
        // (maxmemory); eviction is memcached's (least recently used
        // items of a size class make room).
        const uint64_t used = (pages - free_pages) * store::kPageSize;
        uint64_t max = pages * store::kPageSize;
        std::string policy = "allkeys-lru";
        if (server_ != nullptr) {
            // CONFIG SET maxmemory / maxmemory-policy (resp_memory_config.h).
            const auto get = [this](std::string_view name) {
                const RespConfigParam* p = server_->find_config(name);
                return p != nullptr ? p->get() : std::string();
            };
            max = std::strtoull(get("maxmemory").c_str(), nullptr, 10);
            policy = get("maxmemory-policy");
        }
        t += fmt::format(
            "used_memory:{}\r\nused_memory_human:{}\r\nmaxmemory:{}\r\nmaxmemory_human:{}\r\n"
            "maxmemory_policy:{}\r\n",
            used, bytes_to_human(static_cast<double>(used)), max,
            bytes_to_human(static_cast<double>(max)), policy);
    }
    if (wants("persistence", true)) {
        section("Persistence");
        // No persistence: nothing loads, saves or rewrites, ever.
        t += "loading:0\r\nrdb_bgsave_in_progress:0\r\naof_enabled:0\r\n"
             "aof_rewrite_in_progress:0\r\n";
    }
    if (wants("stats", true)) {
        section("Stats");
        shm::EngineStats e = m.controlplane_engine;
        for (const MetricsWorker& wk : m.workers)
            shm::add_into(e, wk.engine);
        t += fmt::format(
            "total_connections_received:{}\r\ntotal_commands_processed:{}\r\n"
            "expired_keys:{}\r\nevicted_keys:{}\r\nkeyspace_hits:{}\r\nkeyspace_misses:{}\r\n",
            server_ != nullptr ? server_->total_connections : 0,
            server_ != nullptr ? server_->total_commands : 0, expired, evictions, e.get_hits,
            e.get_misses);
        if (pubsub_) {
            const PubSubHub& hub = pubsub_->hub();
            t += fmt::format(
                "pubsub_channels:{}\r\npubsub_patterns:{}\r\npubsubshard_channels:{}\r\n"
                "fulmar_notify_expired_dropped:{}\r\nfulmar_notify_evicted_dropped:{}\r\n",
                hub.n_channels(ChannelKind::kGlobal), hub.numpat(),
                hub.n_channels(ChannelKind::kShard), hub.stats().expired_dropped,
                hub.stats().evicted_dropped);
            if (const PeerPublisher* p = pubsub_->peers(); p != nullptr) {
                // Cluster-wide PUBLISH (peer_publisher.h): the ring's other
                // members, messages sent on and dropped (full or down).
                const PeerPublisherStats& ps = p->stats();
                t += fmt::format(
                    "fulmar_pubsub_peers:{}\r\nfulmar_pubsub_peers_connected:{}\r\n"
                    "fulmar_pubsub_forwarded:{}\r\nfulmar_pubsub_forward_dropped:{}\r\n"
                    "fulmar_pubsub_forward_refused:{}\r\n",
                    p->n_peers(), p->n_connected(), ps.forwarded, ps.dropped_full + ps.dropped_down,
                    ps.refused);
            }
        }
    }
    if (wants("replication", true)) {
        section("Replication");
        t += server_ != nullptr && server_->replication_info
                 ? server_->replication_info()
                 : std::string("role:master\r\nconnected_slaves:0\r\n");
    }
    if (wants("shards", false)) {
        section("Shards");
        for (const MetricsShard& s : m.shards)
            t += fmt::format("shard{}:items={},pages={},free_pages={},evictions={}\r\n", s.id,
                             s.items, s.pages, s.free_pages, s.stats.evictions);
    }
    if (wants("keyspace", true)) {
        section("Keyspace");
        // Keys with a TTL: the owners' counts as the sweep pacer last heard
        // them (0 when no pacer runs).
        uint64_t ttl_items = 0;
        for (const MetricsSweep& s : m.sweep)
            ttl_items += s.ttl_items;
        if (items != 0) t += fmt::format("db0:keys={},expires={},avg_ttl=0\r\n", items, ttl_items);
    }
    RespWriter(out).write_verbatim("txt", t);
    return Step::kNext;
}

// CONFIG GET pattern... | SET name value [name value ...] | RESETSTAT | HELP
RespSession::Step RespSession::cmd_config(const RespRequest& req, OrderedOutput& out) {
    RespWriter w(out);
    const auto& a = req.args;
    const std::string_view sub = a[1];
    int arity = 0;
    if (ascii_iequals(sub, "get"))
        arity = -3;
    else if (ascii_iequals(sub, "set"))
        arity = -4;
    else if (ascii_iequals(sub, "resetstat") || ascii_iequals(sub, "help") ||
             ascii_iequals(sub, "rewrite"))
        arity = 2;
    if (arity == 0) {
        write_unknown_sub("config", sub, out);
        return Step::kNext;
    }
    if (!arity_ok(a.size(), arity)) {
        write_sub_arity("config", sub, out);
        return Step::kNext;
    }
    if (ascii_iequals(sub, "get")) {
        // As Redis: a name without a pattern is answered under the name as
        // asked ("DATABASES"), a pattern's matches under their own; each
        // parameter once.
        std::vector<std::pair<std::string_view, const RespConfigParam*>> found;
        const auto seen = [&found](const RespConfigParam* p) {
            for (const auto& f : found)
                if (f.second == p) return true;
            return false;
        };
        for (size_t i = 2; i < a.size(); ++i) {
            if (a[i].find_first_of("[*?") == std::string_view::npos) {
                const RespConfigParam* p = server_->find_config(a[i]);
                if (p != nullptr && !seen(p)) found.emplace_back(a[i], p);
                continue;
            }
            for (const RespConfigParam* p : server_->match_config(a.subspan(i, 1)))
                if (!seen(p)) found.emplace_back(p->name, p);
        }
        w.write_map(found.size());
        for (const auto& [name, p] : found) {
            w.write_bulk(name);
            w.write_bulk(p->get());
        }
    } else if (ascii_iequals(sub, "set")) {
        if (a.size() % 2 == 1) {
            w.write_error(kErrSyntax);
            return Step::kNext;
        }
        // Every name is checked before any is set, as Redis does.
        std::vector<const RespConfigParam*> params;
        for (size_t i = 2; i < a.size(); i += 2) {
            const RespConfigParam* p = server_->find_config(a[i]);
            if (p == nullptr) {
                w.write_error(fmt::format(
                    "Unknown option or number of arguments for CONFIG SET - '{}'", a[i]));
                return Step::kNext;
            }
            std::string_view err;
            if (!p->set) err = "can't set immutable config";
            for (const RespConfigParam* q : params)
                if (q == p) err = "duplicate parameter";
            if (!err.empty()) {
                w.write_error(fmt::format(
                    "CONFIG SET failed (possibly related to argument '{}') - {}", a[i], err));
                return Step::kNext;
            }
            params.push_back(p);
        }
        for (size_t i = 0; i < params.size(); ++i) {
            if (auto err = params[i]->set(a[2 + 2 * i + 1])) {
                w.write_error(
                    fmt::format("CONFIG SET failed (possibly related to argument '{}') - {}",
                                a[2 + 2 * i], *err));
                return Step::kNext;
            }
        }
        w.write_simple("OK");
    } else if (ascii_iequals(sub, "resetstat")) {
        server_->reset_stats();
        w.write_simple("OK");
    } else if (ascii_iequals(sub, "rewrite")) {
        w.write_error("The server is running without a config file");
    } else {
        static constexpr std::string_view kHelp[] = {
            "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
            "REWRITE",
            "    Rewrite the configuration file.",
            "HELP",
            "    Prints this help."};
        w.write_array(std::size(kHelp));
        for (std::string_view l : kHelp)
            w.write_simple(l);
    }
    return Step::kNext;
}

// WAIT's registry (RespServerState): here, where RespSession is known.
std::vector<uint64_t> RespServerState::drop_waits(const RespSession* s) {
    std::vector<uint64_t> tickets;
    std::erase_if(waits_, [&](const ReplWait& w) {
        if (w.session != s) return false;
        tickets.push_back(w.ticket);
        return true;
    });
    return tickets;
}

void RespServerState::check_waits() {
    if (waits_.empty()) return;
    const int64_t now = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::steady_clock::now().time_since_epoch())
                            .count();
    // finish_wait may run code that adds or drops waits: work on a copy.
    std::vector<ReplWait> due;
    std::erase_if(waits_, [&](const ReplWait& w) {
        const size_t acked = repl_acked ? repl_acked(w.target) : 0;
        if (acked < w.n && (w.deadline_us == 0 || now < w.deadline_us)) return false;
        due.push_back(w);
        due.back().n = acked;
        return true;
    });
    for (const ReplWait& w : due)
        w.session->finish_wait(w.ticket, *w.out, w.n);
}

// WAIT numreplicas timeout: how many replicas acknowledged every write this
// client made before it, once that is at least numreplicas or the timeout
// (milliseconds, 0: none) passed. Its writes still at the owners come
// first: the target is the owners' positions after them.
RespSession::Step RespSession::cmd_wait(const RespRequest& req, OrderedOutput& out) {
    RespWriter w(out);
    int64_t n = 0, timeout = 0;
    if (!parse_i64(req.args[1], n)) {
        w.write_error("value is not an integer or out of range");
        return Step::kNext;
    }
    if (!parse_i64(req.args[2], timeout)) {
        w.write_error("timeout is not an integer or out of range");
        return Step::kNext;
    }
    if (timeout < 0) {
        w.write_error("timeout is negative");
        return Step::kNext;
    }
    if (deps_.ctx->shared != nullptr &&
        deps_.ctx->shared->replica.read_only.load(std::memory_order_relaxed) != 0) {
        w.write_error("WAIT cannot be used with replica instances.");
        return Step::kNext;
    }
    if (exec_.pending() != 0) return Step::kWait;
    std::vector<uint64_t> target;
    if (server_->repl_last_seqs) target = server_->repl_last_seqs();
    const size_t acked = server_->repl_acked ? server_->repl_acked(target) : 0;
    if (n <= 0 || acked >= static_cast<uint64_t>(n)) {
        w.write_integer(static_cast<int64_t>(acked));
        return Step::kNext;
    }
    const uint64_t ticket = client_.new_ticket(PostOp::kResp);
    out.append_deferred(ticket);
    int64_t deadline = 0;
    if (timeout > 0)
        deadline = std::chrono::duration_cast<std::chrono::microseconds>(
                       std::chrono::steady_clock::now().time_since_epoch())
                       .count() +
                   std::min<int64_t>(timeout, int64_t{365} * 86400 * 1000) * 1000;
    server_->add_wait({.session = this,
                       .ticket = ticket,
                       .out = &out,
                       .target = std::move(target),
                       .n = static_cast<size_t>(n),
                       .deadline_us = deadline});
    return Step::kNext;
}

// REPLICAOF host port | NO ONE. The port is the primary's replication
// listener (replication.port), not its Redis port: the stream has a port
// of its own (docs/replication.md).
RespSession::Step RespSession::cmd_replicaof(const RespRequest& req, OrderedOutput& out) {
    RespWriter w(out);
    if (!server_->replicaof) {
        w.write_error("REPLICAOF is not available on this listener");
        return Step::kNext;
    }
    std::optional<std::pair<uint32_t, uint16_t>> to;
    if (!(ascii_iequals(req.args[1], "no") && ascii_iequals(req.args[2], "one"))) {
        int64_t port = 0;
        const auto addr = config::parse_ipv4(req.args[1]);
        if (!parse_i64(req.args[2], port) || port < 1 || port > 65535) {
            w.write_error("Invalid master port");
            return Step::kNext;
        }
        if (!addr) {
            w.write_error("the primary must be given as an IPv4 address (A.B.C.D)");
            return Step::kNext;
        }
        to = std::make_pair(*addr, static_cast<uint16_t>(port));
    }
    if (auto e = server_->replicaof(to))
        w.write_error(*e);
    else
        w.write_simple("OK");
    return Step::kNext;
}

void RespSession::finish_wait(uint64_t ticket, OrderedOutput& out, size_t replicas) {
    client_.forget_ticket(ticket);
    out.fill(ticket, fmt::format(":{}\r\n", replicas));
    if (conn_.flush) conn_.flush();
}

// DEBUG SLEEP seconds | PROTOCOL type | OBJECT key | RELOAD | ...
RespSession::Step RespSession::cmd_debug(const RespRequest& req, OrderedOutput& out) {
    RespWriter w(out);
    const auto& a = req.args;
    if (ascii_iequals(a[1], "sleep") && a.size() == 3) {
        // strtod, as Redis: what does not parse sleeps 0.
        const std::string text(a[2]);
        // At most a year: the microseconds stay far from overflowing.
        const double s = std::min(std::strtod(text.c_str(), nullptr), 365.0 * 86400);
        const int64_t us = std::isfinite(s) && s > 0 ? static_cast<int64_t>(s * 1e6) : 0;
        if (us <= 0 && (sleep_ == nullptr || sleep_->pending.empty())) {
            w.write_simple("OK");
            return Step::kNext;
        }
        // Not the loop: this client's reply (and so every later one) waits.
        if (sleep_ == nullptr)
            sleep_.reset(new SleepTimer(
                *server_->loop, client_, conn_.flush ? conn_.flush : [] {}));
        if (!sleep_->ok()) {
            sleep_.reset();
            w.write_error("DEBUG SLEEP: no timer available");
            return Step::kNext;
        }
        const uint64_t ticket = client_.new_ticket(PostOp::kResp);
        out.append_deferred(ticket);
        sleep_->add(ticket, &out, std::max<int64_t>(us, 0));
        return Step::kNext;
    }
    if (ascii_iequals(a[1], "protocol") && a.size() == 3) {
        const std::string_view t = a[2];
        const bool v3 = resp3_;
        if (ascii_iequals(t, "string")) {
            w.write_bulk("Hello World");
        } else if (ascii_iequals(t, "integer")) {
            w.write_integer(12345);
        } else if (ascii_iequals(t, "double")) {
            w.write_double(3.141);
        } else if (ascii_iequals(t, "bignum")) {
            w.write_big_number("1234567999999999999999999999999999999");
        } else if (ascii_iequals(t, "null")) {
            w.write_null();
        } else if (ascii_iequals(t, "array") || ascii_iequals(t, "set")) {
            if (ascii_iequals(t, "array"))
                w.write_array(3);
            else
                w.write_set(3);
            for (int j = 0; j < 3; ++j)
                w.write_integer(j);
        } else if (ascii_iequals(t, "map")) {
            w.write_map(3);
            for (int j = 0; j < 3; ++j) {
                w.write_integer(j);
                w.write_bool(j == 1);
            }
        } else if (ascii_iequals(t, "attrib")) {
            if (v3) {
                out.append("|1\r\n");
                w.write_bulk("key-popularity");
                w.write_array(2);
                w.write_bulk("key:123");
                w.write_integer(90);
            }
            w.write_bulk("Some real reply following the attribute");
        } else if (ascii_iequals(t, "push")) {
            if (!v3) {
                w.write_error("RESP2 is not supported by this command");
                return Step::kNext;
            }
            w.write_push(2);
            w.write_bulk("server-cpu-usage");
            w.write_integer(42);
            w.write_bulk("Some real reply following the push reply");
        } else if (ascii_iequals(t, "true")) {
            w.write_bool(true);
        } else if (ascii_iequals(t, "false")) {
            w.write_bool(false);
        } else if (ascii_iequals(t, "verbatim")) {
            w.write_verbatim("txt", "This is a verbatim\nstring");
        } else {
            w.write_error(
                "Wrong protocol type name. Please use one of the following: "
                "string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false");
        }
        return Step::kNext;
    }
    if (ascii_iequals(a[1], "quicklist-packed-threshold") && a.size() == 3 && server_ != nullptr &&
        server_->collections != nullptr) {
        // Lists' plain nodes: real here (resp_quicklist.h, ListFill::plain).
        if (const auto error = set_list_packed_threshold(*server_->collections, a[2]))
            w.write_error(*error);
        else
            w.write_simple("OK");
        return Step::kNext;
    }
    if (ascii_iequals(a[1], "object") && a.size() == 3) {
        // Read after this client's own writes, as any read.
        if (exec_.pending() != 0) return Step::kWait;
        engine::EngineCtx& ctx = *deps_.ctx;
        engine::debug_object(a[2],
                             engine::RespReadCtx{.views = views_,
                                                 .now = ctx.now(),
                                                 .now_ms = ctx.now_ms(),
                                                 .scratch = ctx.scratch,
                                                 .stats = ctx.stats,
                                                 .limits = ctx.limits()},
                             out);
        return Step::kNext;
    }
    if (ascii_iequals(a[1], "reload") && a.size() == 2) {
        // No disk here: every owner serializes each of its items in the DUMP
        // format and loads it back (engine::op_debug), so encodings become
        // what Redis's save and load give; +OK once every shard has.
        request_.clear();
        engine::write_resp_request(a, request_);
        return exec_.fan_out_resp(request_, out) == ExecStatus::kDone ? Step::kNext : Step::kWait;
    }
    if (ascii_iequals(a[1], "digest-value")) {
        // Read after this client's own writes, as any read.
        if (exec_.pending() != 0) return Step::kWait;
        engine::EngineCtx& ctx = *deps_.ctx;
        const engine::RespReadCtx rc{.views = views_,
                                     .now = ctx.now(),
                                     .now_ms = ctx.now_ms(),
                                     .scratch = ctx.scratch,
                                     .stats = ctx.stats};
        w.write_array(a.size() - 2);
        for (size_t i = 2; i < a.size(); ++i)
            w.write_simple(engine::value_digest(a[i], rc));
        return Step::kNext;
    }
    if (ascii_iequals(a[1], "set-active-expire") && a.size() == 3 && server_ != nullptr &&
        server_->set_active_expire) {
        // Redis: any integer, non-zero turns it on. Ours pauses the paced TTL
        // sweep of every shard (lazy expiry on access goes on).
        int64_t on = 0;
        if (!engine::resp_parse_int(a[2], on)) {
            w.write_error("value is not an integer or out of range");
            return Step::kNext;
        }
        server_->set_active_expire(on != 0);
        w.write_simple("OK");
        return Step::kNext;
    }
    w.write_error(
        fmt::format("unknown subcommand or wrong number of arguments for '{}'. Try DEBUG HELP.",
                    a[1].substr(0, 128)));
    return Step::kNext;
}

// ---- transactions -------------------------------------------------------------

void RespSession::discard() {
    in_multi_ = false;
    multi_dirty_ = false;
    queued_.clear();
    n_queued_ = 0;
    exec_writes_.clear();
    multi_shard_ = -1;
    watched_.clear();
    watch_shard_ = -1;
}

RespSession::Step RespSession::queue(const RespCommand& c, const RespRequest& req,
                                     OrderedOutput& out) {
    RespWriter w(out);
    // Whatever needs the connection or every shard cannot run on one owner.
    if (c.spec.has(engine::kCmdSession) || c.spec.has(engine::kCmdAllShards) ||
        c.spec.has(engine::kCmdCloses)) {
        multi_dirty_ = true;
        w.write_error("Command not allowed inside a transaction");
        return Step::kNext;
    }
    long shard = -1;
    const std::vector<size_t> keys = engine::resp_key_positions(c, req.args);
    for (size_t i : keys) {
        const long s = static_cast<long>(exec_.shard_of(store::KeyRef(req.args[i]).digest));
        if (shard < 0) shard = s;
        if (s != shard) shard = -2;
    }
    const long other = multi_shard_ >= 0 ? multi_shard_ : watch_shard_;
    if (shard == -2 || (shard >= 0 && other >= 0 && shard != other)) {
        multi_dirty_ = true;
        w.write_error(kErrCrossShard);
        return Step::kNext;
    }
    if (queued_.size() > kMaxQueuedBytes) {
        multi_dirty_ = true;
        w.write_error("transaction too large (its queue holds at most 4 MiB)");
        return Step::kNext;
    }
    if (shard >= 0) multi_shard_ = shard;
    engine::write_resp_request(req.args, queued_);
    ++n_queued_;
    if (c.spec.has(engine::kCmdWrite))
        for (size_t i : keys)
            exec_writes_.emplace_back(req.args[i]);
    w.write_simple("QUEUED");
    return Step::kNext;
}

// WATCH key [key ...]: each key's CAS now (0: none), checked by the owner
// at EXEC.
RespSession::Step RespSession::cmd_watch(const RespRequest& req, OrderedOutput& out) {
    RespWriter w(out);
    if (in_multi_) {
        w.write_error("WATCH inside MULTI is not allowed");
        return Step::kNext;
    }
    // The CAS read must see this client's own writes.
    if (exec_.pending() != 0) return Step::kWait;
    long shard = watch_shard_;
    for (size_t i = 1; i < req.args.size(); ++i) {
        const long s = static_cast<long>(exec_.shard_of(store::KeyRef(req.args[i]).digest));
        if (shard < 0) shard = s;
        if (s != shard) {
            w.write_error(kErrCrossShard);
            return Step::kNext;
        }
    }
    engine::EngineCtx& ctx = *deps_.ctx;
    for (size_t i = 1; i < req.args.size(); ++i) {
        const std::string_view key = req.args[i];
        bool seen = false;
        for (const auto& wk : watched_)
            if (wk.first == key) seen = true;
        if (seen) continue;
        const store::KeyRef k(key);
        store::ItemMeta meta;
        // Any type: EXEC compares the item's CAS whatever it holds (read()
        // sees only strings, so a watched collection always looked changed).
        const store::ReadStatus st =
            views_[static_cast<size_t>(shard)]->read_typed(k, ctx.now(), ctx.scratch, meta);
        watched_.emplace_back(std::string(key), st == store::ReadStatus::kHit ? meta.cas : 0);
    }
    watch_shard_ = shard;
    w.write_simple("OK");
    return Step::kNext;
}

RespSession::Step RespSession::cmd_exec(OrderedOutput& out) {
    RespWriter w(out);
    if (!in_multi_) {
        w.write_error("EXEC without MULTI");
        return Step::kNext;
    }
    if (multi_dirty_) {
        discard();
        w.write_error("-EXECABORT Transaction discarded because of previous errors.");
        return Step::kNext;
    }
    if (n_queued_ == 0 && watched_.empty()) {
        discard();
        w.write_array(0);
        return Step::kNext;
    }
    const long shard = multi_shard_ >= 0 ? multi_shard_ : std::max(watch_shard_, 0L);
    request_.clear();
    engine::write_resp_transaction_header(n_queued_, watched_, request_);
    request_ += queued_;
    exec_.set_resp_flags(
        static_cast<uint8_t>((resp3_ ? dataplane::kRespFlagResp3 : 0) | dataplane::kRespFlagExec));
    const uint64_t ticket =
        exec_.send_resp(static_cast<size_t>(shard), request_, PostOp::kResp, &out);
    exec_.set_resp_flags(resp3_ ? dataplane::kRespFlagResp3 : 0);
    if (ticket == 0) {
        // Nothing else of ours is at the owners and still no room: the
        // queue can never fit the channel's arena; waiting would not end.
        const ShardChannel& ch = *deps_.channel;
        if (exec_.pending() == 0 && ch.inflight() == 0 && ch.backlog() == 0) {
            discard();
            w.write_error("transaction too large for the owners' channel (request_arena_mb)");
            return Step::kNext;
        }
        return Step::kWait;
    }
    signal_exec();
    discard();
    return Step::kNext;
}

}  // namespace fulmar::controlplane
