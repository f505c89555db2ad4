// memcached's exptime rules, turned into an absolute Unix time.
//
// Any thread; pure. 0 means "never". A negative exptime, or an absolute time
// already past, means "expired at once": we return 1, a time always <= now.
// Up to 30 days (2,592,000 s) an exptime is relative to now; above, it is an
// absolute Unix time, exactly as memcached's realtime() decides.
#pragma once

#include <cstdint>

#include "common/clock.h"

namespace fulmar::store {

inline constexpr int64_t kMaxRelativeExptime = 60 * 60 * 24 * 30;
inline constexpr UnixTime kExpiredAtOnce = 1;

inline UnixTime exptime_to_abs(int64_t exptime, UnixTime now) {
    if (exptime == 0) return 0;
    if (exptime < 0) return kExpiredAtOnce;
    if (exptime > kMaxRelativeExptime) {
        if (exptime <= static_cast<int64_t>(now)) return kExpiredAtOnce;
        return exptime > UINT32_MAX ? UINT32_MAX : static_cast<UnixTime>(exptime);
    }
    const int64_t abs = int64_t{now} + exptime;
    return abs > UINT32_MAX ? UINT32_MAX : static_cast<UnixTime>(abs);
}

inline bool is_expired(UnixTime exptime, UnixTime now) {
    return exptime != 0 && exptime <= now;
}

}  // namespace fulmar::store
