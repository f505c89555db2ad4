// Engine totals over every lcore; see engine_stats.h.
#include "engine/engine_stats.h"

#include "shm/totals.h"

namespace fulmar::engine {

shm::EngineStats engine_totals(const EngineCtx& ctx) {
    if (ctx.shared == nullptr) return *ctx.stats;
    shm::EngineStats t = shm::sum_engine(*ctx.shared);
    shm::subtract_floor(t, ctx.shared->stats_baseline);
    return t;
}

void reset_engine_stats(EngineCtx& ctx) {
    if (ctx.shared == nullptr) {
        *ctx.stats = shm::EngineStats{};
        return;
    }
    ctx.shared->stats_baseline = shm::sum_engine(*ctx.shared);
}

}  // namespace fulmar::engine
