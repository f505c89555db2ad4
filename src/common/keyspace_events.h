// Redis's notify-keyspace-events: the flag letters and what they select.
// Read by the config (controlplane.notify_keyspace_events), the owners
// (which events to report) and the control plane (where to publish them).
//
// Any thread; no state.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace fulmar {

// Redis's NOTIFY_* classes (server.h), one bit per letter.
enum NotifyClass : uint16_t {
    kNotifyKeyspace = 1 << 0,  // K: __keyspace@0__:<key> carries the event
    kNotifyKeyevent = 1 << 1,  // E: __keyevent@0__:<event> carries the key
    kNotifyGeneric = 1 << 2,   // g: del, expire, persist, rename...
    kNotifyString = 1 << 3,    // $
    kNotifyList = 1 << 4,      // l
    kNotifySet = 1 << 5,       // s
    kNotifyHash = 1 << 6,      // h
    kNotifyZset = 1 << 7,      // z
    kNotifyExpired = 1 << 8,   // x
    kNotifyEvicted = 1 << 9,   // e
    kNotifyStream = 1 << 10,   // t
    kNotifyKeyMiss = 1 << 11,  // m (not in A)
    kNotifyModule = 1 << 12,   // d
    kNotifyNew = 1 << 13,      // n (not in A)
};
// A: g$lshzxetd.
inline constexpr uint16_t kNotifyAll = kNotifyGeneric | kNotifyString | kNotifyList | kNotifySet |
                                       kNotifyHash | kNotifyZset | kNotifyExpired | kNotifyEvicted |
                                       kNotifyStream | kNotifyModule;

// keyspaceEventsStringToFlags: false on a letter Redis does not know.
bool parse_notify_flags(std::string_view text, uint16_t& flags);
// keyspaceEventsFlagsToString: what CONFIG GET answers ("AKE", "g$xE"...).
std::string notify_flags_text(uint16_t flags);
// Whether `flags` publish anything at all: a class, and K or E.
inline bool notify_enabled(uint16_t flags) {
    return (flags & (kNotifyKeyspace | kNotifyKeyevent)) != 0 &&
           (flags & ~(kNotifyKeyspace | kNotifyKeyevent)) != 0;
}

}  // namespace fulmar
