// Latency histogram with HDR Histogram's log-linear buckets: fixed memory,
// O(1) record, bounded relative error, percentiles read at the end.
//
// Owned by one lcore (the generator's); no locks, no allocation after
// construction, so record() can sit on the per-packet path. Merging and
// percentile queries are for reporting (once a second, once at the end).
//
// Bucket layout (kSubBits = 8, kHalf = 128):
//
//   values 0..255           exact: index = value
//   values in [2^k, 2^k+1)  k >= 8: shift = k - 7, index = shift * 128 + (v >> shift)
//                           -> 128 buckets per octave, each 2^shift wide
//
// A bucket's width is at most 1/128 of its smallest value: every percentile
// is within 0.8% of the true sample (HDR Histogram with 2 significant digits
// gives 1%). All 64-bit values fit: 56 octaves x 128 + 256 = 7,424 counters
// (58 KiB). Reported percentiles are the highest value of the bucket, capped
// by the true maximum, as HDR Histogram does, so they never understate.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace fulmar::pktgen {

class Histogram {
  public:
    static constexpr unsigned kSubBits = 8;
    static constexpr uint64_t kHalf = uint64_t{1} << (kSubBits - 1);
    static constexpr size_t kBuckets = (64 - kSubBits) * kHalf + (uint64_t{1} << kSubBits);

    // Bucket of a value; buckets are ordered like their values.
    static size_t bucket_of(uint64_t v) {
        if (v < (uint64_t{1} << kSubBits)) return static_cast<size_t>(v);
        const unsigned msb = 63u - static_cast<unsigned>(__builtin_clzll(v));
        const unsigned shift = msb - kSubBits + 1;
        return static_cast<size_t>(shift * kHalf + (v >> shift));
    }
    // Smallest and largest value that land in bucket `b`.
    static uint64_t bucket_low(size_t b);
    static uint64_t bucket_high(size_t b);

    void record(uint64_t v) {
        counts_[bucket_of(v)]++;
        n_++;
        sum_ += v;
        if (v > max_) max_ = v;
        if (v < min_) min_ = v;
    }

    // Adds every sample of `o` (the live per-second histogram into the total,
    // or per-lcore histograms into one).
    void merge(const Histogram& o);
    void reset();

    uint64_t count() const { return n_; }
    uint64_t max() const { return n_ ? max_ : 0; }
    uint64_t min() const { return n_ ? min_ : 0; }
    double mean() const { return n_ ? static_cast<double>(sum_) / static_cast<double>(n_) : 0.0; }

    // The value at quantile q in [0, 1] (0.99 = p99): the highest value of
    // the bucket holding the ceil(q * n)-th smallest sample, capped by max().
    // 0 when empty.
    uint64_t quantile(double q) const;

  private:
    std::array<uint64_t, kBuckets> counts_{};
    uint64_t n_ = 0;
    uint64_t sum_ = 0;
    uint64_t max_ = 0;
    uint64_t min_ = UINT64_MAX;
};

}  // namespace fulmar::pktgen
