// Log-linear latency histogram; see histogram.h for the bucket layout.
#include "histogram.h"

#include <algorithm>
#include <cmath>

namespace fulmar::pktgen {

uint64_t Histogram::bucket_low(size_t b) {
    if (b < (size_t{1} << kSubBits)) return b;
    const uint64_t shift = b / kHalf - 1;
    const uint64_t mantissa = b - shift * kHalf;
    return mantissa << shift;
}

uint64_t Histogram::bucket_high(size_t b) {
    if (b + 1 >= kBuckets) return UINT64_MAX;
    return bucket_low(b + 1) - 1;
}

void Histogram::merge(const Histogram& o) {
    for (size_t i = 0; i < kBuckets; i++)
        counts_[i] += o.counts_[i];
    n_ += o.n_;
    sum_ += o.sum_;
    if (o.n_) {
        max_ = std::max(max_, o.max_);
        min_ = std::min(min_, o.min_);
    }
}

void Histogram::reset() {
    counts_.fill(0);
    n_ = 0;
    sum_ = 0;
    max_ = 0;
    min_ = UINT64_MAX;
}

uint64_t Histogram::quantile(double q) const {
    if (n_ == 0) return 0;
    q = std::clamp(q, 0.0, 1.0);
    // The rank-th smallest sample, 1-based; q = 0 asks for the minimum.
    uint64_t rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(n_)));
    rank = std::clamp<uint64_t>(rank, 1, n_);
    uint64_t seen = 0;
    for (size_t b = 0; b < kBuckets; b++) {
        seen += counts_[b];
        if (seen >= rank) return std::min(bucket_high(b), max_);
    }
    return max_;
}

}  // namespace fulmar::pktgen
