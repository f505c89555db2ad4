// Ketama ring construction and lookup (see ketama.h for the algorithm and peer differences).
#include "ring/ketama.h"

#include <md5.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <string>
#include <unordered_map>

#include "common/assert.h"

namespace fulmar::ring {
namespace {

using Digest = std::array<uint8_t, MD5_DIGEST_LENGTH>;

Digest md5(std::string_view data) {
    MD5_CTX ctx;
    MD5Init(&ctx);
    MD5Update(&ctx, reinterpret_cast<const uint8_t*>(data.data()), data.size());
    Digest digest;
    MD5Final(digest.data(), &ctx);
    return digest;
}

// Word `i` (0-3) of a digest, little-endian whatever the host order: the peers assemble it
// byte by byte.
uint32_t digest_word(const Digest& d, size_t i) {
    return static_cast<uint32_t>(d[4 * i]) | static_cast<uint32_t>(d[4 * i + 1]) << 8 |
           static_cast<uint32_t>(d[4 * i + 2]) << 16 | static_cast<uint32_t>(d[4 * i + 3]) << 24;
}

// Points of one node, in the peers' float arithmetic: each step rounds to float as their C
// does (x86-64 evaluates float expressions in float), so a share that lands just under an
// integer floors the same way here. Do not "simplify" to weight * 160 * n / total.
uint32_t points_for(uint32_t weight, uint32_t total_weight, uint32_t n_nodes, KetamaMode mode) {
    const float pct = static_cast<float>(weight) / static_cast<float>(total_weight);
    const float share =
        pct * static_cast<float>(kPointsPerNode) / 4.0F * static_cast<float>(n_nodes);
    float groups = 0;
    if (mode == KetamaMode::kTwemproxy) {
        // nc_ketama.c: floorf((float)(share + 0.0000000001)), the literal being a double.
        groups = std::floor(static_cast<float>(static_cast<double>(share) + 0.0000000001));
    } else {
        // libmemcached hosts.cc: floor((float)(share + 0.0000000001F)).
        groups = std::floor(share + 0.0000000001F);
    }
    return static_cast<uint32_t>(groups) * kPointsPerDigest;
}

Err<RingError> fail(RingStatus status, size_t index, const Node& node, std::string_view why) {
    std::string message = "node " + std::to_string(index) + " (" + node.host + ":" +
                          std::to_string(node.port) + "): ";
    message.append(why);
    return Err<RingError>{RingError{status, std::move(message)}};
}

}  // namespace

uint32_t ketama_hash(std::string_view key) {
    return digest_word(md5(key), 0);
}

Result<Ketama, RingError> Ketama::build(std::span<const Node> nodes, KetamaMode mode) {
    if (nodes.empty()) return Err{RingError{RingStatus::kEmpty, "no servers: a ring needs one"}};
    if (nodes.size() > kMaxNodes) {
        return Err{RingError{
            RingStatus::kTooManyNodes,
            std::to_string(nodes.size()) + " servers; at most " + std::to_string(kMaxNodes)}};
    }

    // Validate everything before hashing anything.
    std::vector<std::string> labels;
    labels.reserve(nodes.size());
    std::unordered_map<std::string_view, size_t> seen;
    uint64_t total_weight = 0;
    for (size_t i = 0; i < nodes.size(); i++) {
        const Node& node = nodes[i];
        if (node.weight == 0) return fail(RingStatus::kBadWeight, i, node, "weight 0");
        total_weight += node.weight;
        if (node.host.empty() && node.name.empty())
            return fail(RingStatus::kBadName, i, node, "empty host");
        if (mode == KetamaMode::kLibmemcached && !node.name.empty())
            return fail(RingStatus::kBadName, i, node,
                        "libmemcached hashes host:port; node names are a twemproxy feature");
        labels.push_back(ketama_label(node, mode));
        if (labels.back().size() > kMaxLabelLength)
            return fail(RingStatus::kBadName, i, node, "ketama label longer than 255 bytes");
    }
    // Both peers keep the total in 32 bits (twemproxy wraps silently).
    if (total_weight > UINT32_MAX) {
        return Err{
            RingError{RingStatus::kBadWeight,
                      "weights sum to " + std::to_string(total_weight) + "; at most 4294967295"}};
    }
    for (size_t i = 0; i < nodes.size(); i++) {
        const auto [it, fresh] = seen.emplace(labels[i], i);
        if (!fresh) {
            return fail(
                RingStatus::kDuplicateNode, i, nodes[i],
                "same ketama label '" + labels[i] + "' as node " + std::to_string(it->second));
        }
    }

    Ketama ring;
    ring.mode_ = mode;
    ring.points_per_node_.resize(nodes.size());
    struct Point {
        uint32_t value;
        uint32_t owner;
    };
    std::vector<Point> points;
    points.reserve(nodes.size() * kPointsPerNode);
    const auto n = static_cast<uint32_t>(nodes.size());
    for (uint32_t i = 0; i < n; i++) {
        const uint32_t n_points =
            points_for(nodes[i].weight, static_cast<uint32_t>(total_weight), n, mode);
        ring.points_per_node_[i] = n_points;
        std::string input = labels[i] + '-';
        const size_t stem = input.size();
        for (uint32_t j = 0; j < n_points / kPointsPerDigest; j++) {
            input.resize(stem);
            input += std::to_string(j);
            const Digest d = md5(input);
            for (size_t w = 0; w < kPointsPerDigest; w++)
                points.push_back({digest_word(d, w), i});
        }
    }
    // (value, owner): equal values go to the lower node index, as in both peers (ketama.h).
    std::sort(points.begin(), points.end(), [](const Point& a, const Point& b) {
        return a.value != b.value ? a.value < b.value : a.owner < b.owner;
    });
    // Shares sum to 40 n groups of 4, so the largest node has at least 39 groups.
    FULMAR_CHECK(!points.empty());
    ring.values_.reserve(points.size());
    ring.owners_.reserve(points.size());
    for (const Point& p : points) {
        ring.values_.push_back(p.value);
        ring.owners_.push_back(p.owner);
    }
    return ring;
}

uint32_t Ketama::node_for_hash(uint32_t hash) const {
    const auto it = std::lower_bound(values_.begin(), values_.end(), hash);
    return it == values_.end() ? owners_.front() : owners_[it - values_.begin()];
}

uint32_t Ketama::node_for(std::string_view key) const {
    // twemproxy's server_pool_hash: an empty key hashes to 0 without MD5.
    if (key.empty() && mode_ == KetamaMode::kTwemproxy) return node_for_hash(0);
    return node_for_hash(ketama_hash(key));
}

}  // namespace fulmar::ring
