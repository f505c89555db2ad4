// memcached `stats` over every lcore: the engine totals a `stats` command
// reports and what `stats reset` does, wherever the command runs (any
// worker over UDP, the control plane over TCP).
//
// Each lcore writes only its own EngineStats (its slot in shm::DataplaneShm);
// these read every slot as a snapshot. A reset cannot zero counters other
// lcores write, so it records the current totals as a baseline in shared
// memory and the totals subtract it (memcached's reset zeroes every thread's).
#pragma once

#include "engine/engine_ctx.h"
#include "shm/counters.h"

namespace fulmar::engine {

// The counters `stats` reports: every lcore's, since the last reset; only
// this context's own when it is not attached to a dataplane (tests, tools).
shm::EngineStats engine_totals(const EngineCtx& ctx);

// memcached's `stats reset` for the engine counters.
void reset_engine_stats(EngineCtx& ctx);

}  // namespace fulmar::engine
