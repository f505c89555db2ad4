// Names and helpers of the etcd data model (etcd_types.h).
#include "cluster/etcd_types.h"

#include <ctime>

namespace fulmar::cluster {

std::string_view etcd_status_name(EtcdStatus status) {
    switch (status) {
        case EtcdStatus::kUnavailable:
            return "unavailable";
        case EtcdStatus::kDeadline:
            return "deadline exceeded";
        case EtcdStatus::kLeaseNotFound:
            return "lease not found";
        case EtcdStatus::kCompacted:
            return "revision compacted";
        case EtcdStatus::kInvalid:
            return "invalid request";
        case EtcdStatus::kCanceled:
            return "canceled";
        case EtcdStatus::kError:
            return "error";
    }
    return "error";
}

int64_t mono_now_ms() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

std::string prefix_range_end(std::string_view prefix) {
    // etcd's clientv3.GetPrefixRangeEnd: the last byte below 0xff goes up
    // by one and what follows it is dropped; a prefix of only 0xff bytes
    // (or none) has no upper bound, which etcd spells "\0".
    std::string end(prefix);
    for (size_t i = end.size(); i-- > 0;) {
        auto byte = static_cast<unsigned char>(end[i]);
        if (byte < 0xff) {
            end[i] = static_cast<char>(byte + 1);
            end.resize(i + 1);
            return end;
        }
    }
    return std::string(1, '\0');
}

}  // namespace fulmar::cluster
