// Key, value and request formatting of the workload; see workload.h for the
// value proof scheme.
#include "workload.h"

#include <fmt/core.h>

#include <cstring>

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

// Eight value characters for chunk `i` of the value seeded by `seed`.
void chunk(uint64_t seed, size_t i, char out[8]) {
    uint64_t w = mix64(seed + i);
    for (int b = 0; b < 8; b++, w >>= 8)
        out[b] = kAlphabet[w & 63];
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
      epoch_(static_cast<uint32_t>(mix64(p.run_id) % 4095) + 1) {}

void Workload::format_key(uint32_t key, char* out) const {
    out[0] = 'k';
    // Right to left: the zero padding falls out of the loop.
    for (size_t i = p_.key_len - 1; i >= 1; i--) {
        out[i] = static_cast<char>('0' + key % 10);
        key /= 10;
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

uint64_t Workload::value_seed(uint32_t key, uint32_t version) const {
    return mix64(nonce_ ^ ((uint64_t{key} << kVersionBits) | version));
}

uint32_t Workload::value_len(uint32_t key, uint32_t version) const {
    if (p_.value_min == p_.value_max) return p_.value_min;
    const uint64_t span = uint64_t{p_.value_max} - p_.value_min + 1;
    return p_.value_min + static_cast<uint32_t>(mix64(value_seed(key, version) ^ 1) % span);
}

void Workload::fill_value(uint32_t key, uint32_t version, char* out) const {
    const uint64_t seed = value_seed(key, version);
    const size_t len = value_len(key, version);
    char c[8];
    for (size_t off = 0, i = 0; off < len; off += 8, i++) {
        chunk(seed, i, c);
        std::memcpy(out + off, c, std::min<size_t>(8, len - off));
    }
}

bool Workload::value_equals(uint32_t key, uint32_t version, std::string_view got) const {
    const size_t len = value_len(key, version);
    if (got.size() != len) return false;
    const uint64_t seed = value_seed(key, version);
    char c[8];
    for (size_t off = 0, i = 0; off < len; off += 8, i++) {
        chunk(seed, i, c);
        if (std::memcmp(got.data() + off, c, std::min<size_t>(8, len - off)) != 0) return false;
    }
    return true;
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

}  // namespace fulmar::pktgen
