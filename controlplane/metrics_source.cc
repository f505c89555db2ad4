// Filling a MetricsSnapshot from shared memory; see metrics_source.h.
#include "metrics_source.h"

#include <algorithm>
#include <string>

#include "common/clock.h"
#include "mc_server.h"
#include "mc_udp_server.h"
#include "net/classify.h"
#include "shm/layout.h"

namespace fulmar::controlplane {

MetricsSource::MetricsSource(const store::AttachedDataplane& dp, const ShardChannel& channel,
                             const McServer* mc, const McUdpServer* udp, const SweepPacer* sweep)
    : dp_(dp), channel_(channel), mc_(mc), udp_(udp), sweep_(sweep) {
    for (uint32_t w = 0; w < dp.shm->n_workers; ++w)
        inboxes_.push_back(rte_ring_lookup(shm::inbox_ring_name(w).c_str()));
}

MetricsSnapshot MetricsSource::snapshot() const {
    const shm::DataplaneShm& d = *dp_.shm;
    MetricsSnapshot s;
    const UnixTime now = SystemClock().now();
    s.uptime_s = now >= d.started ? now - d.started : 0;
    s.controlplane_restarts = d.cp.deaths.load();
    for (uint32_t w = 0; w < d.n_workers && w < shm::kMaxWorkers; ++w) {
        MetricsWorker mw;
        mw.id = w;
        mw.worker = d.lcores[w].worker;
        mw.engine = d.lcores[w].engine;
        for (size_t r = 0; r < net::kDropReasonCount; ++r)
            mw.drops.emplace_back(net::drop_reason_name(static_cast<net::DropReason>(r)),
                                  d.lcores[w].drops[r]);
        if (w < inboxes_.size() && inboxes_[w] != nullptr)
            mw.inbox_depth = rte_ring_count(inboxes_[w]);
        s.workers.push_back(std::move(mw));
    }
    s.controlplane_engine = d.cp.stats.engine;
    for (size_t i = 0; i < dp_.shards.size(); ++i) {
        const store::ShardView& v = dp_.shards[i];
        const shm::ShardMeta& m = v.meta();
        MetricsShard sh;
        sh.id = static_cast<uint32_t>(i);
        sh.stats = m.stats;
        sh.items = v.n_items();
        sh.pages = m.n_pages;
        sh.free_pages = m.n_pages;
        sh.index_slots = v.index_capacity();
        for (uint32_t c = 0; c < m.n_classes && c < shm::kMaxClasses; ++c) {
            const shm::SlabClass& cls = m.classes[c];
            sh.free_pages -= std::min(sh.free_pages, cls.n_pages);
            if (cls.n_pages == 0 && cls.evictions == 0) continue;
            sh.classes.push_back(MetricsSlabClass{.class_id = c,
                                                  .chunk_size = cls.chunk_size,
                                                  .pages = cls.n_pages,
                                                  .live = cls.n_live,
                                                  .free = cls.n_free,
                                                  .evictions = cls.evictions});
        }
        s.shards.push_back(std::move(sh));
    }
    s.channel = MetricsChannel{.inflight = channel_.inflight(),
                               .backlog = channel_.backlog(),
                               .arena_bytes_used = channel_.arena().in_use(),
                               .arena_bytes = channel_.arena().capacity()};
    if (mc_ != nullptr) {
        const McServerStats& t = mc_->stats_snapshot();
        s.tcp = MetricsTcp{.curr_connections = t.curr_connections,
                           .total_connections = t.total_connections,
                           .rejected_connections = t.rejected_connections,
                           .slow_reader_closed = t.slow_reader_closed,
                           .idle_closed = t.idle_closed,
                           .waits = t.waits};
    }
    if (udp_ != nullptr) s.udp = udp_->stats();
    if (sweep_ != nullptr) {
        s.sweep_goal_ratio = sweep_->config().goal;
        for (size_t i = 0; i < sweep_->n_shards(); ++i) {
            const ShardPace& p = sweep_->shard(i);
            s.sweep.push_back(MetricsSweep{.shard = static_cast<uint32_t>(i),
                                           .ttl_items = p.ttl_items,
                                           .expired_estimate = p.expired_estimate(),
                                           .expired_ratio = p.expired_share,
                                           .rate = p.rate,
                                           .cpu_ratio = p.cpu_share});
        }
    }
    return s;
}

}  // namespace fulmar::controlplane
