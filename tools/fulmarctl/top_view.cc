// `fulmarctl top`'s rates and screen; see top_view.h.
#include "top_view.h"

#include <fmt/core.h>

#include <charconv>
#include <string_view>

namespace fulmar::fulmarctl {
namespace {

uint64_t number(const Table& t, std::string_view name) {
    for (const auto& [k, v] : t) {
        if (k != name) continue;
        uint64_t x = 0;
        std::from_chars(v.data(), v.data() + v.size(), x);
        return x;
    }
    return 0;
}

uint64_t drops(const Table& t) {
    uint64_t sum = 0;
    for (const auto& [k, v] : t)
        if (k.starts_with("drop_")) sum += number(t, k);
    return sum;
}

const Table* worker_in(const TopSample& s, std::string_view id) {
    for (const Table& w : s.workers)
        for (const auto& [k, v] : w)
            if (k == "worker" && v == id) return &w;
    return nullptr;
}

std::string rate(bool has, double v) {
    if (!has) return "-";
    if (v >= 1e6) return fmt::format("{:.2f}M", v / 1e6);
    if (v >= 1e4) return fmt::format("{:.1f}k", v / 1e3);
    return fmt::format("{:.0f}", v);
}

}  // namespace

std::vector<TopRow> top_rows(const TopSample* prev, const TopSample& cur) {
    std::vector<TopRow> rows;
    TopRow all;
    all.worker = "all";
    const double dt = prev != nullptr ? cur.seconds - prev->seconds : 0;
    const bool has = prev != nullptr && dt > 0;
    all.has_rates = has;
    uint64_t all_hits = 0, all_gets = 0;
    for (const Table& w : cur.workers) {
        TopRow r;
        for (const auto& [k, v] : w)
            if (k == "worker") r.worker = v;
        r.items = number(w, "shard_items");
        const Table* p = has ? worker_in(*prev, r.worker) : nullptr;
        r.has_rates = p != nullptr;
        if (p != nullptr) {
            auto d = [&](std::string_view name) {
                const uint64_t a = number(*p, name), b = number(w, name);
                return b >= a ? b - a : 0;
            };
            r.rx_pps = static_cast<double>(d("rx_packets")) / dt;
            r.tx_pps = static_cast<double>(d("tx_packets")) / dt;
            r.gets = static_cast<double>(d("cmd_get")) / dt;
            r.sets = static_cast<double>(d("cmd_set")) / dt;
            r.handoffs = static_cast<double>(d("handoff_out")) / dt;
            const uint64_t dp = drops(*p), dc = drops(w);
            r.drops = static_cast<double>(dc >= dp ? dc - dp : 0) / dt;
            const uint64_t hits = d("get_hits"), looked = hits + d("get_misses");
            if (looked != 0)
                r.hit_pct = 100.0 * static_cast<double>(hits) / static_cast<double>(looked);
            all_hits += hits;
            all_gets += looked;
        }
        all.rx_pps += r.rx_pps;
        all.tx_pps += r.tx_pps;
        all.gets += r.gets;
        all.sets += r.sets;
        all.handoffs += r.handoffs;
        all.drops += r.drops;
        all.items += r.items;
        rows.push_back(std::move(r));
    }
    if (all_gets != 0)
        all.hit_pct = 100.0 * static_cast<double>(all_hits) / static_cast<double>(all_gets);
    rows.push_back(std::move(all));
    return rows;
}

std::vector<std::string> top_lines(const TopSample& cur, const std::vector<TopRow>& rows,
                                   uint64_t frame, double interval_s, size_t width) {
    std::vector<std::string> lines;
    auto st = [&](std::string_view k) { return number(cur.status, k); };
    lines.push_back(fmt::format("fulmar top - sample {}, every {:g}s - dataplane pid {}, up {}s",
                                frame, interval_s, st("dataplane_pid"), st("uptime_s")));
    lines.push_back(fmt::format(
        "workers {}  shards {}  items {}  memory {} MiB  tcp connections {}", st("workers"),
        st("shards"), st("items"), st("memory_bytes") >> 20, st("tcp_connections")));
    lines.push_back("");
    constexpr std::string_view kHead = "{:>7} {:>9} {:>9} {:>9} {:>9} {:>6} {:>10} {:>8} {:>10}";
    lines.push_back(fmt::format(kHead, "WORKER", "RX/s", "TX/s", "GET/s", "SET/s", "HIT%",
                                "HANDOFF/s", "DROP/s", "ITEMS"));
    for (const TopRow& r : rows) {
        const std::string hit =
            !r.has_rates || r.hit_pct < 0 ? "-" : fmt::format("{:.1f}", r.hit_pct);
        lines.push_back(fmt::format(kHead, r.worker, rate(r.has_rates, r.rx_pps),
                                    rate(r.has_rates, r.tx_pps), rate(r.has_rates, r.gets),
                                    rate(r.has_rates, r.sets), hit, rate(r.has_rates, r.handoffs),
                                    rate(r.has_rates, r.drops), r.items));
    }
    lines.push_back("");
    lines.push_back("q: quit");
    for (std::string& l : lines)
        if (l.size() > width) l.resize(width);
    return lines;
}

std::string top_json(const TopSample& cur, const std::vector<TopRow>& rows, uint64_t frame) {
    std::string out = fmt::format("{{\"sample\": {}, \"status\": {}, \"workers\": [", frame,
                                  table_json(cur.status));
    for (size_t i = 0; i < rows.size(); ++i) {
        const TopRow& r = rows[i];
        if (i != 0) out += ", ";
        auto num = [&](double v) {
            return r.has_rates ? fmt::format("{:.3f}", v) : std::string("null");
        };
        out += fmt::format(
            "{{\"worker\": {}, \"rx_pps\": {}, \"tx_pps\": {}, \"gets_per_s\": {}, "
            "\"sets_per_s\": {}, \"hit_pct\": {}, \"handoffs_per_s\": {}, \"drops_per_s\": {}, "
            "\"items\": {}}}",
            json_string(r.worker), num(r.rx_pps), num(r.tx_pps), num(r.gets), num(r.sets),
            r.has_rates && r.hit_pct >= 0 ? fmt::format("{:.3f}", r.hit_pct) : "null",
            num(r.handoffs), num(r.drops), r.items);
    }
    return out + "]}";
}

}  // namespace fulmar::fulmarctl
