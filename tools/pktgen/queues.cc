// Per-queue plans and the merged report; see queues.h.
#include "queues.h"

#include <algorithm>

namespace fulmar::pktgen {

KeySlice key_slice(uint64_t n_keys, uint32_t queues, uint32_t q) {
    const uint64_t first = n_keys * q / queues;
    const uint64_t end = n_keys * (uint64_t{q} + 1) / queues;
    return {static_cast<uint32_t>(first), static_cast<uint32_t>(end - first)};
}

uint32_t share(uint32_t total, uint32_t n, uint32_t i) {
    return total / n + (i < total % n ? 1 : 0);
}

QueuePlan plan_queue(const Options& o, uint32_t q) {
    const uint32_t n = o.queues;
    QueuePlan p;
    p.queue = q;
    p.keys = key_slice(o.workload.n_keys, n, q);
    p.src_port = static_cast<uint16_t>(o.src_port + q);
    p.rate = o.rate / n;
    p.window = share(o.window, n, q);
    p.preload_window = share(o.preload_window, n, q);
    p.seed = o.workload.seed + q;
    return p;
}

Report merge_reports(std::span<const Report> parts, std::span<const QueuePlan> plans) {
    Report r;
    if (parts.empty()) return r;
    r.options = parts[0].options;
    r.port_name = parts[0].port_name;
    r.src_mac = parts[0].src_mac;
    r.dst_mac = parts[0].dst_mac;
    double measured = 0;
    size_t n_measured = 0;
    for (size_t i = 0; i < parts.size(); i++) {
        const Report& p = parts[i];
        r.preload_s = std::max(r.preload_s, p.preload_s);
        if (p.measured_s > 0) {
            measured += p.measured_s;
            n_measured++;
        }
        r.preload += p.preload;
        r.warmup += p.warmup;
        r.measure += p.measure;
        r.link += p.link;
        r.latency_ns.merge(p.latency_ns);

        QueueReport q;
        if (i < plans.size()) {
            q.queue = plans[i].queue;
            q.src_port = plans[i].src_port;
            q.key_first = plans[i].keys.first;
            q.key_count = plans[i].keys.count;
        }
        q.measured_s = p.measured_s;
        q.measure = p.measure;
        q.link = p.link;
        q.p50_ns = p.latency_ns.quantile(0.5);
        q.p99_ns = p.latency_ns.quantile(0.99);
        q.p99_9_ns = p.latency_ns.quantile(0.999);
        r.queues.push_back(q);
    }
    r.measured_s = n_measured ? measured / static_cast<double>(n_measured) : 0.0;
    return r;
}

}  // namespace fulmar::pktgen
