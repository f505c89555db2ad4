// PRNG and key samplers; see zipf.h for the algorithms and their sources.
#include "zipf.h"

#include <cmath>

namespace fulmar::pktgen {
namespace {

// log1p(x) / x, continued to x = 0 by its Taylor series.
double helper1(double x) {
    if (std::fabs(x) > 1e-8) return std::log1p(x) / x;
    return 1.0 - x * (0.5 - x * (1.0 / 3.0 - 0.25 * x));
}

// expm1(x) / x, continued to x = 0 by its Taylor series.
double helper2(double x) {
    if (std::fabs(x) > 1e-8) return std::expm1(x) / x;
    return 1.0 + x * 0.5 * (1.0 + x * (1.0 / 3.0) * (1.0 + 0.25 * x));
}

}  // namespace

Rng::Rng(uint64_t seed) {
    for (auto& w : s_) {
        seed += 0x9e3779b97f4a7c15ULL;
        w = mix64(seed);
    }
}

ZipfSampler::ZipfSampler(uint64_t n, double theta) : n_(n), theta_(theta) {
    h_integral_x1_ = h_integral(1.5) - 1.0;
    h_integral_n_ = h_integral(static_cast<double>(n_) + 0.5);
    s_ = 2.0 - h_integral_inverse(h_integral(2.5) - h(2.0));
}

// h(x) = 1 / x^theta, the unnormalised density.
double ZipfSampler::h(double x) const {
    return std::exp(-theta_ * std::log(x));
}

// H(x) = integral of h: (x^(1-theta) - 1) / (1 - theta), or log(x) at theta 1,
// written so both cases are one expression.
double ZipfSampler::h_integral(double x) const {
    const double log_x = std::log(x);
    return helper2((1.0 - theta_) * log_x) * log_x;
}

double ZipfSampler::h_integral_inverse(double x) const {
    double t = x * (1.0 - theta_);
    if (t < -1.0) t = -1.0;  // rounding near the domain's edge
    return std::exp(helper1(t) * x);
}

uint64_t ZipfSampler::sample(Rng& rng) const {
    for (;;) {
        // u uniform in (H(1.5) - 1, H(n + 0.5)].
        const double u = h_integral_n_ + rng.next_double() * (h_integral_x1_ - h_integral_n_);
        const double x = h_integral_inverse(u);
        double kd = std::floor(x + 0.5);
        if (kd < 1.0) kd = 1.0;
        if (kd > static_cast<double>(n_)) kd = static_cast<double>(n_);
        // Accept at once inside the squeeze, else by the exact test; the
        // expected number of rounds is below 1.1 for every theta.
        if (kd - x <= s_ || u >= h_integral(kd + 0.5) - h(kd)) return static_cast<uint64_t>(kd);
    }
}

KeyChooser::KeyChooser(uint64_t n_keys, KeyDist dist, double theta)
    : n_keys_(n_keys), dist_(dist), zipf_(n_keys, theta > 0 ? theta : 1.0) {}

}  // namespace fulmar::pktgen
