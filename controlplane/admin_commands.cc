// The admin endpoint's commands; see admin_commands.h.
#include "admin_commands.h"

#include <unistd.h>

#include <fmt/core.h>

#include <algorithm>
#include <cctype>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/numbers.h"
#include "mc_server.h"
#include "mc_udp_server.h"
#include "net/classify.h"
#include "service_address.h"
#include "shm/totals.h"
#include "sweep_driver.h"

namespace fulmar::controlplane {
namespace {

bool is(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) != b[i]) return false;
    return true;
}

using Table = std::vector<std::pair<std::string, std::string>>;

void write_table(const Table& t, proto::RespWriter& out) {
    out.write_array(t.size() * 2);
    for (const auto& [k, v] : t) {
        out.write_bulk(k);
        out.write_bulk(v);
    }
}

template <typename Struct>
void add_counters(Table& t, std::string_view prefix, const Struct& s) {
    shm::for_each_counter(s, [&](std::string_view name, std::string_view, uint64_t v) {
        t.emplace_back(fmt::format("{}{}", prefix, name), std::to_string(v));
    });
}

Table status_table(const AdminView& v) {
    const shm::DataplaneShm& d = *v.dp.shm;
    const UnixTime now = SystemClock().now();
    uint64_t items = 0, pages = 0;
    for (const store::ShardView& s : v.dp.shards) {
        items += s.n_items();
        pages += s.meta().n_pages;
    }
    Table t;
    t.emplace_back("dataplane_pid", std::to_string(d.primary_pid));
    t.emplace_back("controlplane_pid", std::to_string(::getpid()));
    t.emplace_back("uptime_s", std::to_string(now >= d.started ? now - d.started : 0));
    t.emplace_back("workers", std::to_string(d.n_workers));
    t.emplace_back("shards", std::to_string(d.n_shards));
    t.emplace_back("items", std::to_string(items));
    t.emplace_back("memory_bytes", std::to_string(pages << 20));
    t.emplace_back("controlplane_restarts", std::to_string(d.cp.deaths.load()));
    if (v.mc != nullptr) {
        t.emplace_back("memcached_tcp_port", std::to_string(v.mc->port()));
        t.emplace_back("tcp_connections", std::to_string(v.mc->stats_snapshot().curr_connections));
    }
    t.emplace_back("owner_requests_in_flight", std::to_string(v.channel.inflight()));
    t.emplace_back("owner_requests_waiting", std::to_string(v.channel.backlog()));
    return t;
}

// drop_<reason> for every reason, as telemetry names them.
template <typename Get>
void add_drops(Table& t, Get&& count) {
    for (size_t r = 0; r < net::kDropReasonCount; ++r)
        t.emplace_back(
            fmt::format("drop_{}", net::drop_reason_name(static_cast<net::DropReason>(r))),
            std::to_string(count(r)));
}

std::string fixed(double v, int digits) {
    return fmt::format("{:.{}f}", v, digits);
}

// The pacer's state of one shard (SWEEP, STATS PER-WORKER).
void add_sweep_state(Table& t, std::string_view prefix, const SweepPacer& p, size_t shard) {
    const ShardPace& s = p.shard(shard);
    auto add = [&](std::string_view name, std::string value) {
        t.emplace_back(fmt::format("{}{}", prefix, name), std::move(value));
    };
    add("ttl_items", std::to_string(s.ttl_items));
    add("expired_estimate", std::to_string(static_cast<uint64_t>(s.expired_estimate() + 0.5)));
    add("expired_percent", fixed(s.expired_share * 100, 3));
    add("rate_chunks_per_s", std::to_string(static_cast<uint64_t>(s.rate)));
    add("cpu_percent", fixed(s.cpu_share * 100, 3));
    add("cycles_per_chunk", fixed(s.cycles_per_chunk, 1));
    add("steps", std::to_string(s.steps));
    add("chunks", std::to_string(s.chunks));
    add("reclaimed", std::to_string(s.reclaimed));
    add("pass_running", s.in_pass ? "1" : "0");
    add("pass_steps", std::to_string(s.pass_steps));
    add("pass_reclaimed", std::to_string(s.pass_reclaimed));
}

// The pacer over every shard: expired-but-resident estimate against all
// TTL'd items, and the largest CPU share of any owner.
void add_sweep_totals(Table& t, const SweepPacer& p) {
    double estimate = 0, cpu = 0, rate = 0;
    uint64_t ttl = 0;
    for (size_t i = 0; i < p.n_shards(); ++i) {
        const ShardPace& s = p.shard(i);
        estimate += s.expired_estimate();
        ttl += s.ttl_items;
        rate += s.rate;
        cpu = std::max(cpu, s.cpu_share);
    }
    t.emplace_back("sweep_ttl_items", std::to_string(ttl));
    t.emplace_back("sweep_expired_estimate", std::to_string(static_cast<uint64_t>(estimate + 0.5)));
    t.emplace_back("sweep_expired_percent",
                   fixed(ttl == 0 ? 0 : estimate * 100 / static_cast<double>(ttl), 3));
    t.emplace_back("sweep_goal_percent", fixed(p.config().goal * 100, 3));
    t.emplace_back("sweep_rate_chunks_per_s", std::to_string(static_cast<uint64_t>(rate)));
    t.emplace_back("sweep_cpu_percent_max", fixed(cpu * 100, 3));
    t.emplace_back("sweep_max_cpu_percent", fixed(p.config().max_cpu * 100, 3));
}

Table stats_table(const AdminView& v) {
    const shm::DataplaneShm& d = *v.dp.shm;
    Table t;
    shm::EngineStats e = shm::sum_engine(d);
    shm::subtract_floor(e, d.stats_baseline);
    add_counters(t, "", e);
    add_counters(t, "", shm::sum_worker(d));
    add_drops(t, [&](size_t r) { return shm::sum_drops(d, r); });
    shm::ShardStats s;
    for (const store::ShardView& view : v.dp.shards)
        shm::add_into(s, view.stats());
    add_counters(t, "", s);
    if (v.mc != nullptr) {
        const McServerStats& m = v.mc->stats_snapshot();
        t.emplace_back("tcp_curr_connections", std::to_string(m.curr_connections));
        t.emplace_back("tcp_total_connections", std::to_string(m.total_connections));
        t.emplace_back("tcp_rejected_connections", std::to_string(m.rejected_connections));
        t.emplace_back("tcp_slow_reader_closed", std::to_string(m.slow_reader_closed));
        t.emplace_back("tcp_idle_closed", std::to_string(m.idle_closed));
        t.emplace_back("tcp_backpressure_waits", std::to_string(m.waits));
    }
    if (v.udp != nullptr) {
        for_each_counter(v.udp->stats(), [&](std::string_view name, std::string_view, uint64_t n) {
            t.emplace_back(fmt::format("cp_udp_{}", name), std::to_string(n));
        });
    }
    if (v.sweep != nullptr) add_sweep_totals(t, v.sweep->pacer());
    return t;
}

// One table per shard and class, in shard then class order.
void write_slabs(const AdminView& v, proto::RespWriter& out) {
    std::vector<Table> rows;
    for (size_t i = 0; i < v.dp.shards.size(); ++i) {
        const shm::ShardMeta& m = v.dp.shards[i].meta();
        for (uint32_t c = 0; c < m.n_classes && c < shm::kMaxClasses; ++c) {
            const shm::SlabClass& cls = m.classes[c];
            if (cls.n_pages == 0 && cls.evictions == 0) continue;
            Table t;
            t.emplace_back("shard", std::to_string(i));
            t.emplace_back("class", std::to_string(c));
            t.emplace_back("chunk_size", std::to_string(cls.chunk_size));
            t.emplace_back("chunks_per_page", std::to_string(cls.chunks_per_page));
            t.emplace_back("pages", std::to_string(cls.n_pages));
            t.emplace_back("live", std::to_string(cls.n_live));
            t.emplace_back("free", std::to_string(cls.n_free));
            t.emplace_back("evictions", std::to_string(cls.evictions));
            rows.push_back(std::move(t));
        }
    }
    out.write_array(rows.size());
    for (const Table& t : rows)
        write_table(t, out);
}

}  // namespace

void write_sweep(const AdminView& view, proto::RespWriter& out) {
    if (view.sweep == nullptr) {
        out.write_array(0);
        return;
    }
    const SweepPacer& p = view.sweep->pacer();
    out.write_array(p.n_shards());
    for (size_t i = 0; i < p.n_shards(); ++i) {
        Table t;
        t.emplace_back("shard", std::to_string(i));
        t.emplace_back("goal_percent", fixed(p.config().goal * 100, 3));
        t.emplace_back("max_cpu_percent", fixed(p.config().max_cpu * 100, 3));
        add_sweep_state(t, "", p, i);
        write_table(t, out);
    }
}

AdminAction run_admin_command(std::span<const std::string_view> args, const AdminView& view,
                              proto::RespWriter& out) {
    if (args.empty()) {
        out.write_error("empty command");
        return AdminAction::kDone;
    }
    const std::string_view cmd = args[0];
    if (is(cmd, "ping")) {
        if (args.size() > 1)
            out.write_bulk(args[1]);
        else
            out.write_simple("PONG");
        return AdminAction::kDone;
    }
    if (is(cmd, "status")) {
        write_table(status_table(view), out);
        return AdminAction::kDone;
    }
    if (is(cmd, "stats")) {
        if (args.size() == 1) {
            write_table(stats_table(view), out);
            return AdminAction::kDone;
        }
        if (args.size() == 2 && is(args[1], "per-worker")) {
            const shm::DataplaneShm& d = *view.dp.shm;
            out.write_array(d.n_workers);
            for (uint32_t w = 0; w < d.n_workers; ++w) {
                Table t;
                t.emplace_back("worker", std::to_string(w));
                add_counters(t, "", d.lcores[w].engine);
                add_counters(t, "", d.lcores[w].worker);
                add_drops(t, [&](size_t r) { return d.lcores[w].drops[r]; });
                add_counters(t, "shard_", view.dp.shards[w].stats());
                t.emplace_back("shard_items", std::to_string(view.dp.shards[w].n_items()));
                if (view.sweep != nullptr && w < view.sweep->pacer().n_shards())
                    add_sweep_state(t, "pacer_", view.sweep->pacer(), w);
                write_table(t, out);
            }
            return AdminAction::kDone;
        }
        out.write_error("usage: STATS [PER-WORKER]");
        return AdminAction::kDone;
    }
    if (is(cmd, "slabs")) {
        if (args.size() != 1) {
            out.write_error("usage: SLABS");
            return AdminAction::kDone;
        }
        write_slabs(view, out);
        return AdminAction::kDone;
    }
    if (is(cmd, "config")) {
        if (args.size() != 2 || !is(args[1], "show")) {
            out.write_error("usage: CONFIG SHOW");
            return AdminAction::kDone;
        }
        write_table(config::config_entries(view.cfg), out);
        return AdminAction::kDone;
    }
    if (is(cmd, "flush")) {
        if (args.size() != 1) {
            out.write_error("usage: FLUSH");
            return AdminAction::kDone;
        }
        return AdminAction::kFlush;
    }
    if (is(cmd, "sweep")) {
        if (args.size() == 1) {
            write_sweep(view, out);
            return AdminAction::kDone;
        }
        if (args.size() == 2 && is(args[1], "now") && view.sweep != nullptr)
            return AdminAction::kSweepNow;
        out.write_error("usage: SWEEP [NOW]");
        return AdminAction::kDone;
    }
    if (is(cmd, "address")) {
        if (args.size() == 1 || (args.size() == 2 && is(args[1], "list"))) {
            const std::vector<std::string> addrs = list_service_addresses(view.dp.shm->services);
            out.write_array(addrs.size());
            for (const std::string& a : addrs)
                out.write_bulk(a);
            return AdminAction::kDone;
        }
        if (args.size() == 3 && (is(args[1], "add") || is(args[1], "remove"))) {
            shm::ServiceAddrs& t = view.dp.shm->services;
            if (is(args[1], "add")) {
                if (const std::string why = tcp_follow_problem(view.cfg); !why.empty()) {
                    out.write_error(why);
                    return AdminAction::kDone;
                }
            }
            const ServiceAddrResult r = is(args[1], "add") ? add_service_address(t, args[2])
                                                           : remove_service_address(t, args[2]);
            if (r.ok())
                out.write_simple("OK");
            else
                out.write_error(r.error);
            return AdminAction::kDone;
        }
        out.write_error("usage: ADDRESS [LIST] | ADDRESS ADD|REMOVE a.b.c.d");
        return AdminAction::kDone;
    }
    if (is(cmd, "cluster")) {
        if (args.size() != 2 || !is(args[1], "status")) {
            out.write_error("usage: CLUSTER STATUS");
            return AdminAction::kDone;
        }
        if (!view.cluster_status) {
            out.write_error("this node is in no cluster (no [cluster] in its config)");
            return AdminAction::kDone;
        }
        write_table(view.cluster_status(), out);
        return AdminAction::kDone;
    }
    if (is(cmd, "ring")) {
        if (!view.ring) {
            out.write_error("this node is in no cluster (no [cluster] in its config)");
            return AdminAction::kDone;
        }
        view.ring(args, out);
        return AdminAction::kDone;
    }
    if (is(cmd, "failover")) {
        if (args.size() != 1) {
            out.write_error("usage: FAILOVER");
            return AdminAction::kDone;
        }
        if (!view.failover) {
            out.write_error("this node is in no cluster (no [cluster] in its config)");
            return AdminAction::kDone;
        }
        if (const std::string why = view.failover(); !why.empty())
            out.write_error(why);
        else
            out.write_simple("OK");
        return AdminAction::kDone;
    }
    if (is(cmd, "replication")) {
        if (args.size() == 2 && is(args[1], "offsets") && view.repl_offsets) {
            const std::vector<uint64_t> seqs = view.repl_offsets();
            out.write_array(seqs.size());
            for (const uint64_t q : seqs)
                out.write_integer(static_cast<int64_t>(q));
            return AdminAction::kDone;
        }
        if (args.size() >= 3 && is(args[1], "acked") && view.repl_acked) {
            std::vector<uint64_t> seqs;
            for (size_t i = 2; i < args.size(); ++i) {
                uint64_t q = 0;
                if (!parse_u64(args[i], q)) {
                    out.write_error("REPLICATION ACKED takes the offsets REPLICATION OFFSETS gave");
                    return AdminAction::kDone;
                }
                seqs.push_back(q);
            }
            out.write_integer(static_cast<int64_t>(view.repl_acked(seqs)));
            return AdminAction::kDone;
        }
        if (args.size() != 1 || !view.replication_status) {
            out.write_error("usage: REPLICATION [OFFSETS | ACKED offset...]");
            return AdminAction::kDone;
        }
        write_table(view.replication_status(), out);
        return AdminAction::kDone;
    }
    if (is(cmd, "quit")) {
        out.write_simple("OK");
        return AdminAction::kQuit;
    }
    if (is(cmd, "command")) {
        // redis-cli asks for command docs when it starts; it does without.
        out.write_array(0);
        return AdminAction::kDone;
    }
    out.write_error(
        fmt::format("unknown command '{}' (PING, STATUS, STATS, SLABS, CONFIG, FLUSH, SWEEP, "
                    "ADDRESS, CLUSTER, FAILOVER, REPLICATION, RING, QUIT)",
                    std::string(cmd.substr(0, 64))));
    return AdminAction::kDone;
}

}  // namespace fulmar::controlplane
