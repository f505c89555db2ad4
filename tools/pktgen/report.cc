// Summary and JSON output of a run; see report.h.
#include "report.h"

#include <fmt/core.h>

#include <array>
#include <utility>

namespace fulmar::pktgen {
namespace {

constexpr std::array<std::pair<const char*, double>, 5> kQuantiles = {{
    {"p50", 0.50},
    {"p90", 0.90},
    {"p99", 0.99},
    {"p99_9", 0.999},
    {"p99_99", 0.9999},
}};

double us(uint64_t ns) {
    return static_cast<double>(ns) / 1000.0;
}

double ratio(uint64_t a, uint64_t b) {
    return b ? static_cast<double>(a) / static_cast<double>(b) : 0.0;
}

std::string json_string(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        if (static_cast<unsigned char>(c) < 0x20) {
            out += fmt::format("\\u{:04x}", c);
            continue;
        }
        out += c;
    }
    return out + "\"";
}

std::string request_stats_json(const RequestStats& s) {
    std::string out = "{";
#define FULMAR_X(name, desc) out += fmt::format("\"" #name "\": {}, ", s.name);
    FULMAR_PKTGEN_REQUEST_STATS(FULMAR_X)
#undef FULMAR_X
    out += "\"error_kinds\": {";
    bool first = true;
    for (size_t i = 1; i < kReplyErrorCount; i++) {
        out += fmt::format("{}\"{}\": {}", first ? "" : ", ",
                           reply_error_name(static_cast<ReplyError>(i)), s.error_kinds[i]);
        first = false;
    }
    return out + "}}";
}

std::string link_stats_json(const LinkStats& s) {
    std::string out = "{";
    bool first = true;
#define FULMAR_X(name, desc)                                              \
    out += fmt::format("{}\"" #name "\": {}", first ? "" : ", ", s.name); \
    first = false;
    FULMAR_PKTGEN_LINK_STATS(FULMAR_X)
#undef FULMAR_X
    return out + "}";
}

}  // namespace

double reply_rate(const Report& r) {
    return r.measured_s > 0 ? static_cast<double>(r.measure.replies) / r.measured_s : 0.0;
}

double reply_rate(const QueueReport& q) {
    return q.measured_s > 0 ? static_cast<double>(q.measure.replies) / q.measured_s : 0.0;
}

double hit_ratio(const RequestStats& s) {
    // Over the keys whose outcome is known: a lost get proves nothing.
    return ratio(s.hits + s.unverified_hits, s.hits + s.unverified_hits + s.misses);
}

std::string summary_text(const Report& r) {
    const Options& o = r.options;
    const WorkloadParams& w = o.workload;
    const RequestStats& m = r.measure;
    std::string s;
    s += fmt::format("fulmar-pktgen: {} -> {}:{} ({} -> {})\n", r.port_name, format_ipv4(o.dst_ip),
                     o.dst_port, r.src_mac, r.dst_mac);
    s += fmt::format(
        "  workload   {} keys of {} B, values {}{} B, get ratio {}, {} key(s)/get, {}\n", w.n_keys,
        w.key_len, w.value_min, w.value_min == w.value_max ? "" : fmt::format("-{}", w.value_max),
        w.get_ratio, w.keys_per_get,
        w.dist == KeyDist::kUniform ? std::string("uniform")
                                    : fmt::format("zipf:{}", w.zipf_theta));
    s += o.rate > 0 ? fmt::format("  load       open loop at {:.0f} req/s{}", o.rate,
                                  o.window ? fmt::format(", at most {} in flight", o.window) : "")
                    : fmt::format("  load       closed loop, window {}", o.window);
    s += o.queues > 1 ? fmt::format(" over {} queues\n", o.queues) : "\n";
    if (r.preload_s > 0)
        s += fmt::format(
            "  preload    {} sets stored in {:.2f} s ({:.0f}/s), {} retries, {} errors\n",
            r.preload.stored, r.preload_s, static_cast<double>(r.preload.stored) / r.preload_s,
            r.preload.retries, r.preload.errors);
    s += fmt::format("  measured   {:.2f} s after {:.2f} s warm-up\n", r.measured_s, o.warmup_s);
    s += fmt::format("  requests   {} sent ({} get, {} set), {} answered: {:.0f} req/s\n", m.sent,
                     m.sent_gets, m.sent_sets, m.replies, reply_rate(r));
    s += fmt::format("  gets       {} keys: {} hits, {} misses, {} unverified: hit ratio {:.4f}\n",
                     m.keys_requested, m.hits, m.misses, m.unverified_hits, hit_ratio(m));
    s += fmt::format("  sets       {} stored\n", m.stored);
    s += fmt::format("  lost       {} timeouts ({:.4f}%), {} late datagrams\n", m.timeouts,
                     100.0 * ratio(m.timeouts, m.sent), m.late);
    s += fmt::format("  errors     {}", m.errors);
    for (size_t i = 1; i < kReplyErrorCount; i++)
        if (m.error_kinds[i])
            s += fmt::format(" {}={}", reply_error_name(static_cast<ReplyError>(i)),
                             m.error_kinds[i]);
    s += "\n";
    const Histogram& h = r.latency_ns;
    s += fmt::format("  latency us min {:.1f}", us(h.min()));
    for (const auto& [name, q] : kQuantiles)
        s += fmt::format("  {} {:.1f}", name, us(h.quantile(q)));
    s += fmt::format("  max {:.1f}  mean {:.1f}\n", us(h.max()), h.mean() / 1000.0);
    s += fmt::format("  link       tx {} rx {} unmatched {} other {} tx-full {}\n",
                     r.link.tx_packets, r.link.rx_packets, r.link.rx_unmatched, r.link.rx_other,
                     r.link.tx_full);
    // Busy near 100%: the generator, not the server, limits the rate.
    const double busy = generator_busy(r.link);
    s += fmt::format("  generator  busy {:.1f}% of the load loop", 100.0 * busy);
    if (const double ns = generator_busy_ns_per_request(r); ns > 0)
        s += fmt::format(", {:.1f} ns busy per request", ns);
    s += busy >= kGeneratorBoundBusy
             ? ": the generator, not the server, is the limit of this rate\n"
             : "\n";
    if (r.link.stalled_cycles)
        s += fmt::format(
            "             (not counted: {:.1f}% of the loop in turns that lost the CPU)\n",
            100.0 * ratio(r.link.stalled_cycles, r.link.loop_cycles));
    if (r.queues.size() > 1) {
        s += fmt::format("  handed over {} replies between queues ({} dropped: inbox full)\n",
                         r.link.rx_handed_over, r.link.rx_handover_full);
        for (const QueueReport& q : r.queues)
            s += fmt::format(
                "  queue {:<3}  port {} keys {}+{}: {:.0f} req/s, hit ratio {:.4f}, lost {}, "
                "p50 {:.1f} p99 {:.1f} p99.9 {:.1f} us, busy {:.1f}%\n",
                q.queue, q.src_port, q.key_first, q.key_count, reply_rate(q), hit_ratio(q.measure),
                q.measure.timeouts, us(q.p50_ns), us(q.p99_ns), us(q.p99_9_ns),
                100.0 * generator_busy(q.link));
    }
    return s;
}

double generator_busy(const LinkStats& l) {
    const uint64_t ran = l.loop_cycles - l.stalled_cycles;
    return ran ? 1.0 - ratio(l.idle_cycles, ran) : 0.0;
}

double generator_busy_ns_per_request(const Report& r) {
    const uint64_t sent = r.warmup.sent + r.measure.sent;
    if (r.tsc_hz == 0 || sent == 0) return 0.0;
    const double busy_cycles =
        static_cast<double>(r.link.loop_cycles - r.link.idle_cycles - r.link.stalled_cycles);
    return busy_cycles * 1e9 / static_cast<double>(r.tsc_hz) / static_cast<double>(sent);
}

std::string json_text(const Report& r) {
    const Options& o = r.options;
    const WorkloadParams& w = o.workload;
    std::string s = "{\n";
    s += fmt::format("  \"tool\": \"fulmar-pktgen\",\n  \"port\": {},\n", json_string(r.port_name));
    s += fmt::format(
        "  \"config\": {{\"dst_ip\": \"{}\", \"dst_port\": {}, \"src_ip\": \"{}\", \"src_port\": "
        "{}, \"keys\": {}, \"key_len\": {}, \"value_min\": {}, \"value_max\": {}, "
        "\"get_ratio\": {}, \"keys_per_get\": {}, \"dist\": \"{}\", \"zipf_theta\": {}, "
        "\"rate\": {}, \"window\": {}, \"duration_s\": {}, \"warmup_s\": {}, \"timeout_ms\": "
        "{}, \"preload\": {}, \"seed\": {}, \"queues\": {}}},\n",
        format_ipv4(o.dst_ip), o.dst_port, format_ipv4(o.src_ip), o.src_port, w.n_keys, w.key_len,
        w.value_min, w.value_max, w.get_ratio, w.keys_per_get,
        w.dist == KeyDist::kUniform ? "uniform" : "zipf", w.zipf_theta, o.rate, o.window,
        o.duration_s, o.warmup_s, o.timeout_ms, o.preload, w.seed, o.queues);
    s += fmt::format("  \"measured_s\": {:.6f},\n  \"requests_per_s\": {:.1f},\n", r.measured_s,
                     reply_rate(r));
    s += fmt::format("  \"hit_ratio\": {:.6f},\n  \"loss_ratio\": {:.6f},\n", hit_ratio(r.measure),
                     ratio(r.measure.timeouts, r.measure.sent));
    const Histogram& h = r.latency_ns;
    s += fmt::format("  \"latency_us\": {{\"count\": {}, \"min\": {:.3f}, \"mean\": {:.3f}",
                     h.count(), us(h.min()), h.mean() / 1000.0);
    for (const auto& [name, q] : kQuantiles)
        s += fmt::format(", \"{}\": {:.3f}", name, us(h.quantile(q)));
    s += fmt::format(", \"max\": {:.3f}}},\n", us(h.max()));
    const double busy = generator_busy(r.link);
    s += fmt::format(
        "  \"generator\": {{\"busy\": {:.4f}, \"busy_ns_per_request\": {:.2f}, \"limited\": "
        "{}, \"stalled\": {:.4f}}},\n",
        busy, generator_busy_ns_per_request(r), busy >= kGeneratorBoundBusy,
        ratio(r.link.stalled_cycles, r.link.loop_cycles));
    s += fmt::format("  \"preload_s\": {:.6f},\n", r.preload_s);
    s += fmt::format("  \"measure\": {},\n", request_stats_json(r.measure));
    s += fmt::format("  \"warmup\": {},\n", request_stats_json(r.warmup));
    s += fmt::format("  \"preload\": {},\n", request_stats_json(r.preload));
    s += fmt::format("  \"link\": {},\n", link_stats_json(r.link));
    // Per instance (one entry without --queues): the scaling script's rows.
    s += "  \"per_queue\": [";
    for (size_t i = 0; i < r.queues.size(); i++) {
        const QueueReport& q = r.queues[i];
        s += fmt::format(
            "{}\n    {{\"queue\": {}, \"src_port\": {}, \"key_first\": {}, \"keys\": {}, "
            "\"measured_s\": {:.6f}, \"requests_per_s\": {:.1f}, \"hit_ratio\": {:.6f}, "
            "\"loss_ratio\": {:.6f}, \"latency_us\": {{\"p50\": {:.3f}, \"p99\": {:.3f}, "
            "\"p99_9\": {:.3f}}}, \"sent\": {}, \"replies\": {}, \"timeouts\": {}, "
            "\"errors\": {}, \"handed_over\": {}, \"busy\": {:.4f}}}",
            i ? "," : "", q.queue, q.src_port, q.key_first, q.key_count, q.measured_s,
            reply_rate(q), hit_ratio(q.measure), ratio(q.measure.timeouts, q.measure.sent),
            us(q.p50_ns), us(q.p99_ns), us(q.p99_9_ns), q.measure.sent, q.measure.replies,
            q.measure.timeouts, q.measure.errors, q.link.rx_handed_over, generator_busy(q.link));
    }
    s += r.queues.empty() ? "]\n}\n" : "\n  ]\n}\n";
    return s;
}

}  // namespace fulmar::pktgen
