// `fulmarctl top`: per-worker rates from two polls of STATUS and STATS
// PER-WORKER, and the screen that shows them. The pure part (rates, text,
// JSON) is here and tested alone; the terminal loop is in main.cc.
//
// Any thread; pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "reply_format.h"

namespace fulmar::fulmarctl {

struct TopSample {
    double seconds = 0;          // a steady clock's reading when polled
    Table status;                // STATUS
    std::vector<Table> workers;  // STATS PER-WORKER
};

// One worker's line (or the total: worker "all"). Rates are per second over
// the interval between two samples; `has_rates` is false on the first.
struct TopRow {
    std::string worker;
    bool has_rates = false;
    double rx_pps = 0, tx_pps = 0, gets = 0, sets = 0, handoffs = 0, drops = 0;
    double hit_pct = -1;  // of the interval's gets; -1: no gets
    uint64_t items = 0;
};

// Rows for every worker of `cur`, then the total. A counter that went down
// (a restarted dataplane) counts as 0 for that interval.
std::vector<TopRow> top_rows(const TopSample* prev, const TopSample& cur);

// The screen as lines (no escape codes; the caller places them), at most
// `width` columns each.
std::vector<std::string> top_lines(const TopSample& cur, const std::vector<TopRow>& rows,
                                   uint64_t frame, double interval_s, size_t width);

// One JSON object (a line of `top --json`).
std::string top_json(const TopSample& cur, const std::vector<TopRow>& rows, uint64_t frame);

}  // namespace fulmar::fulmarctl
