// Names of ring statuses.
#include "ring/ring_error.h"

namespace fulmar::ring {

const char* ring_status_name(RingStatus status) {
    switch (status) {
        case RingStatus::kEmpty:
            return "empty";
        case RingStatus::kBadServer:
            return "bad-server";
        case RingStatus::kBadPort:
            return "bad-port";
        case RingStatus::kBadWeight:
            return "bad-weight";
        case RingStatus::kBadName:
            return "bad-name";
        case RingStatus::kDuplicateNode:
            return "duplicate-node";
        case RingStatus::kTooManyNodes:
            return "too-many-nodes";
    }
    return "unknown";
}

}  // namespace fulmar::ring
