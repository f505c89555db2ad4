// Random numbers for the workload: a small fast PRNG and key-rank samplers
// (uniform, Zipf).
//
// Each object is owned by one lcore; no allocation, no syscalls: sampling sits
// on the per-request path. Deterministic for a given seed, so a run can be
// repeated request for request.
//
// Zipf: rejection-inversion sampling (W. Hormann, G. Derflinger, "Rejection-
// inversion to generate variates from monotone discrete distributions", ACM
// TOMACS 6(3), 1996), as in Apache Commons RNG. O(1) set-up and O(1) expected
// time per sample for any exponent > 0 and any number of keys; unlike Gray et
// al.'s method (YCSB) it needs no O(n) zeta sum and works for theta >= 1.
// Rank 1 is the most popular; P(rank k) is proportional to 1 / k^theta.
#pragma once

#include <cstdint>

namespace fulmar::pktgen {

// xoshiro256** (Blackman, Vigna): 4 words of state, passes BigCrush, ~1 ns a
// number. Seeded through splitmix64 as its authors recommend.
class Rng {
  public:
    explicit Rng(uint64_t seed);
    uint64_t next() {
        const uint64_t result = rotl(s_[1] * 5, 7) * 9;
        const uint64_t t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return result;
    }
    // Uniform in [0, 1) with 53 random bits.
    double next_double() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
    // Uniform in [0, n), n > 0 (Lemire's multiply-shift: no division, bias
    // below 2^-64 * n, invisible at key counts).
    uint64_t below(uint64_t n) {
        return static_cast<uint64_t>((static_cast<unsigned __int128>(next()) * n) >> 64);
    }

  private:
    static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    uint64_t s_[4];
};

// splitmix64's finaliser: a cheap, well-mixed 64-bit hash of a 64-bit value.
inline uint64_t mix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

class ZipfSampler {
  public:
    // n >= 1 elements, exponent theta > 0.
    ZipfSampler(uint64_t n, double theta);
    // A rank in [1, n].
    uint64_t sample(Rng& rng) const;

  private:
    double h(double x) const;
    double h_integral(double x) const;
    double h_integral_inverse(double x) const;

    uint64_t n_;
    double theta_;
    double h_integral_x1_;
    double h_integral_n_;
    double s_;
};

enum class KeyDist : uint8_t { kUniform, kZipf };

// Picks key indices in [0, n_keys). Under Zipf, rank r is key r - 1: the hot
// keys are the low indices (they hash to shards independently, so this does
// not bunch them on one shard).
class KeyChooser {
  public:
    KeyChooser(uint64_t n_keys, KeyDist dist, double theta);
    uint64_t next(Rng& rng) const {
        if (dist_ == KeyDist::kUniform) return rng.below(n_keys_);
        return zipf_.sample(rng) - 1;
    }

  private:
    uint64_t n_keys_;
    KeyDist dist_;
    ZipfSampler zipf_;
};

}  // namespace fulmar::pktgen
