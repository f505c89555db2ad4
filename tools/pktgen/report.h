// The end-of-run report: a human summary and the same numbers as JSON.
//
// Start-up/shut-down code on the main thread; allocates freely.
#pragma once

#include <string>

#include "histogram.h"
#include "options.h"
#include "stats.h"

namespace fulmar::pktgen {

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
};

// Replies per second of measurement: requests that completed, not offered.
double reply_rate(const Report& r);
// Keys returned over keys answered (hit or miss) by a phase's gets.
double hit_ratio(const RequestStats& s);

std::string summary_text(const Report& r);
std::string json_text(const Report& r);

}  // namespace fulmar::pktgen
