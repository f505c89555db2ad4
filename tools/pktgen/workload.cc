// Key, value and request formatting of the workload; see workload.h for the
// value proof scheme.
#include "workload.h"

#include <fmt/core.h>

#include <sys/mman.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

#include "common/numbers.h"

namespace fulmar::pktgen {
namespace {

// 64 URL-safe characters: a value byte is one 6-bit draw, readable in a dump.
constexpr char kAlphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_";
static_assert(sizeof(kAlphabet) == 65);

constexpr std::string_view kGet = "get";
constexpr std::string_view kSet = "set ";
constexpr std::string_view kCrlf = "\r\n";
// Widest decimal flags (2^32 - 1) and value length (kMaxRequestBytes).
constexpr size_t kFlagsDigits = 10;
constexpr size_t kLenDigits = 4;
// Decimal digits of the largest key index (2^32 - 1).
constexpr size_t kKeyDigits = 10;

size_t digits(uint64_t v) {
    size_t n = 1;
    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

char* put(char* out, std::string_view s) {
    std::memcpy(out, s.data(), s.size());
    return out + s.size();
}

char* put_u64(char* out, uint64_t v) {
    return out + format_u64(v, out);
}

constexpr uint64_t kOnes = 0x0101010101010101ULL;

// Eight 6-bit indices (one a byte) to their eight kAlphabet characters,
// all bytes at once instead of eight table loads: index x maps to x + '0',
// + 7 from 10 on ('A'), + 6 more from 36 on ('a'), then '-' (62) and '_'
// (63). Every step stays inside its byte (at most 173 before the last
// subtraction, which only bytes of at least 123 see), so no carry or borrow
// crosses bytes. The checker runs it on every hit.
constexpr uint64_t alphabet_word(uint64_t x) {
    // High bit of each byte set where x >= n: x + (128 - n) stays below 256.
    auto at_least = [x](uint64_t n) { return ((x + kOnes * (128 - n)) >> 7) & kOnes; };
    return x + kOnes * '0' + at_least(10) * 7 + at_least(36) * 6 + at_least(63) * 49 -
           at_least(62) * 78;
}

// The arithmetic is the table: checked for every index in every byte.
constexpr bool alphabet_word_is_the_table() {
    for (uint64_t v = 0; v < 64; v++) {
        for (int b = 0; b < 8; b++) {
            const uint64_t x = (v << (8 * b)) | (((v + 1) & 63) << (8 * ((b + 1) % 8)));
            const uint64_t got = alphabet_word(x);
            if (static_cast<char>(got >> (8 * b)) != kAlphabet[v]) return false;
        }
    }
    return true;
}
static_assert(alphabet_word_is_the_table());

// The eight value characters of chunk `i` of the value seeded by `seed`, as
// they lie in memory: byte b is kAlphabet[(w >> 8b) & 63], w = mix64(seed + i).
[[gnu::always_inline]] inline uint64_t chunk(uint64_t seed, size_t i) {
    return alphabet_word(mix64(seed + i) & (kOnes * 63));
}

// alphabet_word on four words at once (GCC vector extensions: one AVX2
// register where the target has it, two SSE2 ones otherwise): the same
// bytes, the same arithmetic, a quarter of the instructions.
using Bytes32 = uint8_t __attribute__((vector_size(32)));
using Words4 = uint64_t __attribute__((vector_size(32)));

using SignedBytes32 = int8_t __attribute__((vector_size(32)));

[[gnu::always_inline]] inline Bytes32 alphabet_bytes(Bytes32 x) {
    // A comparison gives 0xff where true: masked to the step's size.
    // Signed (x < 64), which is one instruction: x86 has no unsigned one.
    const auto sx = reinterpret_cast<SignedBytes32>(x);
    const auto ge = [&sx](int8_t n, uint8_t add) {
        return reinterpret_cast<Bytes32>(sx > static_cast<int8_t>(n - 1)) &
               static_cast<uint8_t>(add);
    };
    return x + static_cast<uint8_t>('0') + ge(10, 7) + ge(36, 6) + ge(63, 49) - ge(62, 78);
}

// Chunks i .. i + 3 of the value seeded by `seed`, as 32 bytes.
[[gnu::always_inline]] inline Bytes32 chunks4(uint64_t seed, size_t i) {
    // The hashes in scalar registers (AVX2 has no 64-bit multiply), then
    // one vector for the characters.
    uint64_t h[4];
    for (size_t k = 0; k < 4; k++)
        h[k] = mix64(seed + i + k) & (kOnes * 63);
    Bytes32 x;
    std::memcpy(&x, h, 32);
    return alphabet_bytes(x);
}

}  // namespace

Result<Workload, std::string> Workload::create(const WorkloadParams& p) {
    if (p.n_keys == 0 || p.n_keys > UINT32_MAX) return Err(std::string("--keys: 1 to 4294967295"));
    if (p.key_len > kMaxKeyLen || p.key_len < 1 + digits(p.n_keys - 1))
        return Err(fmt::format("--key-len: {} keys need {} to {} bytes (\"k\" + the index)",
                               p.n_keys, 1 + digits(p.n_keys - 1), kMaxKeyLen));
    if (p.value_min > p.value_max) return Err(std::string("--value-len: a-b needs a <= b"));
    if (!(p.get_ratio >= 0.0 && p.get_ratio <= 1.0)) return Err(std::string("--get-ratio: 0 to 1"));
    if (p.keys_per_get < 1 || p.keys_per_get > kMaxKeysPerGet)
        return Err(fmt::format("--keys-per-get: 1 to {}", kMaxKeysPerGet));
    if (p.dist == KeyDist::kZipf && !(p.zipf_theta > 0.0 && p.zipf_theta < 100.0))
        return Err(std::string("--dist zipf:THETA: THETA above 0"));
    Workload w(p);
    if (w.max_set_request() > kMaxRequestBytes)
        return Err(
            fmt::format("--value-len: a set of {} + {} bytes takes {} bytes, over the {} of one "
                        "1,500-byte frame",
                        p.key_len, p.value_max, w.max_set_request(), kMaxRequestBytes));
    if (w.max_get_request() > kMaxRequestBytes)
        return Err(fmt::format("--keys-per-get: {} keys of {} bytes do not fit one datagram",
                               p.keys_per_get, p.key_len));
    return w;
}

Workload::Workload(const WorkloadParams& p)
    : p_(p),
      chooser_(p.n_keys, p.dist, p.zipf_theta),
      nonce_(mix64(p.run_id ^ 0x6a09e667f3bcc908ULL)),
      epoch_(static_cast<uint32_t>(mix64(p.run_id) % 4095) + 1),
      get_below_(static_cast<uint64_t>(std::ceil(p.get_ratio * 0x1.0p53))) {}

void Workload::format_key(uint32_t key, char* out) const {
    if (p_.key_len == 16) {
        // Two 8-byte stores made in registers: byte stores under a word the
        // caller (GetFrame's checksum) reads back would stall store
        // forwarding, which cost more than the digits.
        uint64_t head, tail;
        key16_words(key, head, tail);
        std::memcpy(out, &head, 8);
        std::memcpy(out + 8, &tail, 8);
        return;
    }
    // "k", zeros, then the index's last digits: at most ten (2^32 - 1), built
    // in a buffer as 2 + 8, of which the last key_len - 1 are copied (create()
    // checked that the index fits them).
    char digits[kKeyDigits];
    const uint32_t hi = key / 100'000'000;
    digits[0] = static_cast<char>('0' + hi / 10);
    digits[1] = static_cast<char>('0' + hi % 10);
    const uint64_t lo = eight_digits(key % 100'000'000);
    std::memcpy(digits + 2, &lo, 8);
    const size_t n = p_.key_len - 1;
    if (n <= kKeyDigits) {
        out[0] = 'k';
        std::memcpy(out + 1, digits + kKeyDigits - n, n);
    } else if (n <= kKeyDigits + 7) {
        // The common lengths (16 B keys: five zeros): one 8-byte word of
        // zeros (the digits overwrite what it writes past the padding),
        // then fixed-size copies, all inside the key.
        uint64_t zeros = 0x3030303030303030ULL;
        std::memcpy(out, &zeros, 8);
        out[0] = 'k';
        std::memcpy(out + 1 + n - kKeyDigits, digits, kKeyDigits);
    } else {
        out[0] = 'k';
        std::memset(out + 1, '0', n - kKeyDigits);
        std::memcpy(out + 1 + n - kKeyDigits, digits, kKeyDigits);
    }
}

bool Workload::parse_key(std::string_view s, uint32_t& key) const {
    if (s.size() != p_.key_len || s[0] != 'k') return false;
    uint64_t v = 0;
    for (size_t i = 1; i < s.size(); i++) {
        const unsigned d = static_cast<unsigned char>(s[i]) - '0';
        if (d > 9) return false;
        v = v * 10 + d;
        if (v >= p_.n_keys) return false;
    }
    key = static_cast<uint32_t>(v);
    return true;
}

void Workload::fill_value(uint32_t key, uint32_t version, char* out) const {
    const uint64_t seed = value_seed(key, version);
    const size_t len = value_len(key, version);
    size_t off = 0, i = 0;
    for (; off + 8 <= len; off += 8, i++) {
        const uint64_t c = chunk(seed, i);
        std::memcpy(out + off, &c, 8);
    }
    if (off < len) {
        const uint64_t c = chunk(seed, i);
        std::memcpy(out + off, &c, len - off);
    }
}

bool Workload::value_equals(uint32_t key, uint32_t version, std::string_view got) const {
    const size_t len = value_len(key, version);
    if (got.size() != len) return false;
    const uint64_t seed = value_seed(key, version);
    // Differences are ORed together: one branch for the whole value.
    uint64_t diff = 0;
    size_t off = 0, i = 0;
    if (len >= 32) {
        Bytes32 d{};
        for (; off + 32 <= len; off += 32, i += 4) {
            Bytes32 w;
            std::memcpy(&w, got.data() + off, 32);
            d |= w ^ chunks4(seed, i);
        }
        const auto words = reinterpret_cast<Words4>(d);
        diff = words[0] | words[1] | words[2] | words[3];
    }
    for (; off + 8 <= len; off += 8, i++) {
        uint64_t w;
        std::memcpy(&w, got.data() + off, 8);
        diff |= w ^ chunk(seed, i);
    }
    if (off < len) {
        uint64_t w = 0;
        std::memcpy(&w, got.data() + off, len - off);
        const uint64_t mask = (uint64_t{1} << (8 * (len - off))) - 1;
        diff |= (w ^ chunk(seed, i)) & mask;
    }
    return diff == 0;
}

size_t Workload::format_get(std::span<const uint32_t> keys, char* out) const {
    char* p = put(out, kGet);
    for (uint32_t k : keys) {
        *p++ = ' ';
        format_key(k, p);
        p += p_.key_len;
    }
    p = put(p, kCrlf);
    return static_cast<size_t>(p - out);
}

size_t Workload::format_set(uint32_t key, uint32_t version, char* out) const {
    const uint32_t len = value_len(key, version);
    char* p = put(out, kSet);
    format_key(key, p);
    p += p_.key_len;
    *p++ = ' ';
    p = put_u64(p, flags_of(version));
    p = put(p, " 0 ");
    p = put_u64(p, len);
    p = put(p, kCrlf);
    fill_value(key, version, p);
    p += len;
    p = put(p, kCrlf);
    return static_cast<size_t>(p - out);
}

size_t Workload::max_get_request() const {
    return kGet.size() + p_.keys_per_get * (1 + size_t{p_.key_len}) + kCrlf.size();
}

size_t Workload::max_set_request() const {
    return kSet.size() + p_.key_len + 1 + kFlagsDigits + 3 + kLenDigits + kCrlf.size() +
           p_.value_max + kCrlf.size();
}

size_t Workload::max_get_reply() const {
    // "VALUE <key> <flags> <bytes>\r\n<data>\r\n" per key, then "END\r\n".
    const size_t per_key =
        6 + p_.key_len + 1 + kFlagsDigits + 1 + kLenDigits + 2 + p_.value_max + 2;
    return p_.keys_per_get * per_key + 5;
}

KeyVersions::KeyVersions(uint32_t first, uint32_t count) : first_(first) {
    constexpr size_t kHugePage = size_t{2} << 20;
    const size_t bytes = std::max<size_t>(1, size_t{count} * sizeof(Entry));
    const size_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;
    void* p = std::aligned_alloc(kHugePage, rounded);
    if (p == nullptr) throw std::bad_alloc();  // start-up only, as std::vector would
    // Advice only: without huge pages the array works the same.
    (void)madvise(p, rounded, MADV_HUGEPAGE);
    auto* entries = static_cast<Entry*>(p);
    std::uninitialized_value_construct_n(entries, count);
    v_.reset(entries);
}

void KeyVersions::Free::operator()(Entry* p) const {
    std::free(p);
}

}  // namespace fulmar::pktgen
