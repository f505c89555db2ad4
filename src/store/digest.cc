// XXH3-128 key digests with a process-wide seed.
#include "store/digest.h"

#include <sys/random.h>
// Inlined so the 16-to-250-byte hashes compile for this CPU instead of
// calling the distribution's generic library build.
#define XXH_INLINE_ALL
// GCC 12 misreads its own AVX-512 intrinsics inside xxhash as uninitialized.
#pragma GCC diagnostic push
#if defined(__GNUC__) && !defined(__clang__)  // a GCC-only warning; clang has no such group
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <xxhash.h>
#pragma GCC diagnostic pop

#include <atomic>
#include <cstring>

namespace fulmar::store {
namespace {
// Relaxed: written once at start-up before workers start, read everywhere.
std::atomic<uint64_t> g_seed{0x9e3779b97f4a7c15ull};
}  // namespace

void set_digest_seed(uint64_t seed) {
    g_seed.store(seed, std::memory_order_relaxed);
}

uint64_t digest_seed() {
    return g_seed.load(std::memory_order_relaxed);
}

uint64_t randomize_digest_seed() {
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof(seed), 0) != static_cast<ssize_t>(sizeof(seed))) {
        // No entropy source: fall back to a fixed seed rather than fail to
        // start; flooding resistance is lost, correctness is not.
        seed = 0x9e3779b97f4a7c15ull;
    }
    set_digest_seed(seed);
    return seed;
}

namespace {

// Whether `key` holds a '{' (the only way it can have a hash tag): eight
// bytes a step, overlapping at the end, instead of a memchr call per key
// (most keys have no tag, and are a few dozen bytes).
[[gnu::always_inline]] inline bool has_open_brace(std::string_view key) {
    constexpr uint64_t kOnes = 0x0101010101010101;
    constexpr uint64_t kHigh = 0x8080808080808080;
    const char* p = key.data();
    const size_t n = key.size();
    // A zero byte of w ^ "{{{{{{{{" is a '{' of w.
    const auto brace_in = [p](size_t at) {
        uint64_t w;
        std::memcpy(&w, p + at, 8);
        const uint64_t x = w ^ (kOnes * '{');
        return (x - kOnes) & ~x & kHigh;
    };
    if (n < 8) {
        for (size_t i = 0; i < n; ++i)
            if (p[i] == '{') return true;
        return false;
    }
    if (n <= 16) return (brace_in(0) | brace_in(n - 8)) != 0;
    for (size_t at = 0; at + 8 <= n; at += 8)
        if (brace_in(at) != 0) return true;
    return brace_in(n - 8) != 0;
}

// Out of line: the long and hash-tag paths, kept out of digest_keys' flattened body.
[[gnu::noinline]] XXH128_hash_t hash128_long(std::string_view key, uint64_t seed) {
    return XXH3_128bits_withSeed(key.data(), key.size(), seed);
}
[[gnu::noinline]] uint64_t hash64(std::string_view s, uint64_t seed) {
    return XXH3_64bits_withSeed(s.data(), s.size(), seed);
}

// XXH3_128bits_withSeed itself (the same function, the same digest), with its
// length dispatch settled here: a key of at most 16 bytes (nearly every key)
// takes the short path inlined into the flattened caller, with no call and no
// dispatch on the lengths it cannot have.
[[gnu::always_inline]] inline XXH128_hash_t hash128(std::string_view key, uint64_t seed) {
    const size_t n = key.size();
    if (n > 16) return hash128_long(key, seed);
    return XXH3_128bits_withSeed(key.data(), n, seed);
}

[[gnu::always_inline]] inline KeyDigest digest_of(std::string_view key, uint64_t seed) {
    const XXH128_hash_t h = hash128(key, seed);
    if (!has_open_brace(key)) return KeyDigest{h.low64, h.high64};
    const std::string_view tag = hash_tag(key);
    // Two keys of one tag differ in `lo`, a 64-bit hash of each whole key:
    // the digest stays unique but for a 2^-64 chance, as before.
    if (!tag.empty()) return KeyDigest{h.low64, hash64(tag, seed)};
    return KeyDigest{h.low64, h.high64};
}

}  // namespace

[[gnu::flatten]] KeyDigest digest_key(std::string_view key) {
    return digest_of(key, g_seed.load(std::memory_order_relaxed));
}

// Flattened: the short hash path inlined into the loop (hash128 above).
[[gnu::flatten]] void digest_keys(KeyRef* keys, size_t n) {
    const uint64_t seed = g_seed.load(std::memory_order_relaxed);
    for (size_t i = 0; i < n; ++i)
        keys[i].digest = digest_of(keys[i].key, seed);
}

}  // namespace fulmar::store
