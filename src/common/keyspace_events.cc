// Redis's notify-keyspace-events letters; see keyspace_events.h.
#include "common/keyspace_events.h"

namespace fulmar {
namespace {

struct Letter {
    char c;
    uint16_t cls;
};
// keyspaceEventsFlagsToString's order.
constexpr Letter kClassLetters[] = {
    {'g', kNotifyGeneric}, {'$', kNotifyString}, {'l', kNotifyList},    {'s', kNotifySet},
    {'h', kNotifyHash},    {'z', kNotifyZset},   {'x', kNotifyExpired}, {'e', kNotifyEvicted},
    {'t', kNotifyStream},  {'d', kNotifyModule},
};
// 'n' is written with the classes, so "A" hides it (7.0.15's
// keyspaceEventsFlagsToString does; the flag itself stays on).

}  // namespace

bool parse_notify_flags(std::string_view text, uint16_t& flags) {
    uint16_t f = 0;
    for (const char c : text) {
        switch (c) {
            case 'A':
                f |= kNotifyAll;
                continue;
            case 'K':
                f |= kNotifyKeyspace;
                continue;
            case 'E':
                f |= kNotifyKeyevent;
                continue;
            case 'm':
                f |= kNotifyKeyMiss;
                continue;
            case 'n':
                f |= kNotifyNew;
                continue;
            default:
                break;
        }
        bool known = false;
        for (const Letter& l : kClassLetters) {
            if (l.c != c) continue;
            f |= l.cls;
            known = true;
        }
        if (!known) return false;
    }
    flags = f;
    return true;
}

std::string notify_flags_text(uint16_t flags) {
    std::string out;
    if ((flags & kNotifyAll) == kNotifyAll) {
        out = "A";
    } else {
        for (const Letter& l : kClassLetters)
            if ((flags & l.cls) != 0) out += l.c;
        if ((flags & kNotifyNew) != 0) out += 'n';
    }
    if ((flags & kNotifyKeyspace) != 0) out += 'K';
    if ((flags & kNotifyKeyevent) != 0) out += 'E';
    if ((flags & kNotifyKeyMiss) != 0) out += 'm';
    return out;
}

}  // namespace fulmar
