// The end-of-run report: a human summary and the same numbers as JSON.
//
// Start-up/shut-down code on the main thread; allocates freely.
#pragma once

#include <string>
#include <vector>

#include "histogram.h"
#include "options.h"
#include "stats.h"

namespace fulmar::pktgen {

// One generator instance's part of a --queues run (queues.h).
struct QueueReport {
    uint32_t queue = 0;
    uint16_t src_port = 0;
    uint32_t key_first = 0;
    uint32_t key_count = 0;
    double measured_s = 0;
    RequestStats measure;
    LinkStats link;
    uint64_t p50_ns = 0;
    uint64_t p99_ns = 0;
    uint64_t p99_9_ns = 0;
};

struct Report {
    Options options;
    double preload_s = 0;   // wall time of the preload (0: none)
    double measured_s = 0;  // wall time of the measurement phase
    RequestStats preload;
    RequestStats warmup;
    RequestStats measure;
    LinkStats link;
    Histogram latency_ns;  // measurement-phase replies only
    std::string port_name;
    std::string src_mac;
    std::string dst_mac;
    std::vector<QueueReport> queues;  // one per instance (merge_reports); empty: one, unsplit
    uint64_t tsc_hz = 0;              // for the busy time per request (0: not reported)
};

// At or above this busy share of the load loop the generator found work on
// almost every turn: it, not the server, set the rate (the server answered
// everything as fast as it was sent).
inline constexpr double kGeneratorBoundBusy = 0.95;

// Share of the load loop's time in turns that received or sent something,
// of the time it ran (turns that lost the CPU left out of both).
double generator_busy(const LinkStats& l);
// Busy time of the load loop per request sent in warm-up and measurement,
// in ns (over every queue's lcore; stalled turns left out): the generator's
// own cost per request, so 1e9 / it is about the most it can send on one
// lcore. 0 when unknown.
double generator_busy_ns_per_request(const Report& r);

// Replies per second of measurement: requests that completed, not offered.
double reply_rate(const Report& r);
double reply_rate(const QueueReport& q);
// Keys returned over keys answered (hit or miss) by a phase's gets.
double hit_ratio(const RequestStats& s);

std::string summary_text(const Report& r);
std::string json_text(const Report& r);

}  // namespace fulmar::pktgen
