// The quicklist encoding of lists; see resp_quicklist.h.
#include "engine/resp_quicklist.h"

#include <algorithm>
#include <cstring>

namespace fulmar::engine::coll {
namespace {

// Redis's optimization_level[]: the node byte bounds of fill -1..-5.
constexpr size_t kNodeBytes[] = {4096, 8192, 16384, 32768, 65536};
// Redis's SIZE_SAFETY_LIMIT: a count-bounded node stays under 8 KiB.
constexpr size_t kSizeSafetyLimit = 8192;
// Redis's FILL_MAX (quicklistSetFill): the largest count a node takes.
constexpr int32_t kFillMax = (1 << 15) - 1;

uint32_t load_u32(const char* p) {
    uint32_t v = 0;
    std::memcpy(&v, p, sizeof v);
    return v;
}

void store_u32(char* p, uint32_t v) {
    std::memcpy(p, &v, sizeof v);
}

}  // namespace

bool ListFill::allows(uint32_t count, size_t bytes_after) const {
    if (count == 0) return true;
    if (fill < 0) {
        const size_t level = static_cast<size_t>(std::min(-static_cast<int64_t>(fill), int64_t{5}));
        return bytes_after <= kNodeBytes[level - 1];
    }
    if (bytes_after > kSizeSafetyLimit) return false;
    return static_cast<int64_t>(count) < std::min(fill, kFillMax);
}

// ---- QuicklistView ----------------------------------------------------------

bool QuicklistView::parse(std::string_view value) {
    value_ = value;
    offsets_.clear();
    if (value.size() < kQlHeaderSize || static_cast<uint8_t>(value[0]) != kQuicklist) return false;
    n_ = load_u32(value.data() + 1);
    nodes_ = load_u32(value.data() + 5);
    // Each node takes a directory entry and at least one byte.
    if (nodes_ > (value.size() - kQlHeaderSize) / (kQlDirEntrySize + 1)) return false;
    size_t off = kQlHeaderSize + size_t{nodes_} * kQlDirEntrySize;
    uint64_t total = 0;
    offsets_.reserve(nodes_);
    for (uint32_t i = 0; i < nodes_; ++i) {
        const char* d = value.data() + kQlHeaderSize + size_t{i} * kQlDirEntrySize;
        const uint32_t count = load_u32(d);
        const uint32_t bytes = load_u32(d + 4);
        if (count == 0 || bytes < count || bytes > value.size() - off) return false;
        offsets_.push_back(static_cast<uint32_t>(off));
        off += bytes;
        total += count;
    }
    return off == value.size() && total == n_ && (n_ == 0) == (nodes_ == 0);
}

uint32_t QuicklistView::node_entries(uint32_t i) const {
    return load_u32(value_.data() + kQlHeaderSize + size_t{i} * kQlDirEntrySize);
}

std::string_view QuicklistView::node_bytes(uint32_t i) const {
    const uint32_t bytes =
        load_u32(value_.data() + kQlHeaderSize + size_t{i} * kQlDirEntrySize + 4);
    return value_.substr(offsets_[i], bytes);
}

uint32_t QuicklistView::locate(size_t index, size_t& first) const {
    // From the nearer end, as Redis's quicklistGetIteratorAtIdx walks.
    if (index < n_ / 2) {
        first = 0;
        for (uint32_t i = 0; i < nodes_; ++i) {
            const uint32_t c = node_entries(i);
            if (index < first + c) return i;
            first += c;
        }
        return nodes_ - 1;  // unreachable for index < size()
    }
    size_t end = n_;
    for (uint32_t i = nodes_; i-- > 0;) {
        first = end - node_entries(i);
        if (index >= first) return i;
        end = first;
    }
    first = 0;
    return 0;
}

bool QuicklistView::at(size_t index, std::string_view& out) const {
    if (index >= n_) return false;
    size_t first = 0;
    const uint32_t i = locate(index, first);
    std::vector<std::string_view> entries;
    if (!decode_node(node_bytes(i), node_entries(i), entries)) return false;
    out = entries[index - first];
    return true;
}

bool QuicklistView::range(size_t from, size_t to, std::vector<std::string_view>& out) const {
    if (from > to || to >= n_) return false;
    size_t first = 0;
    uint32_t i = locate(from, first);
    std::vector<std::string_view> node;
    for (; i < nodes_ && first <= to; ++i) {
        node.clear();
        if (!decode_node(node_bytes(i), node_entries(i), node)) return false;
        const size_t lo = from > first ? from - first : 0;
        const size_t hi = std::min(node.size(), to - first + 1);
        out.insert(out.end(), node.begin() + static_cast<ptrdiff_t>(lo),
                   node.begin() + static_cast<ptrdiff_t>(hi));
        first += node.size();
    }
    return true;
}

bool QuicklistView::decode_all(std::vector<std::string_view>& out) const {
    out.reserve(out.size() + n_);
    for (uint32_t i = 0; i < nodes_; ++i)
        if (!decode_node(node_bytes(i), node_entries(i), out)) return false;
    return true;
}

// ---- QuicklistBuilder ------------------------------------------------------

void QuicklistBuilder::copy_node(std::string_view bytes, uint32_t count) {
    nodes_.push_back(Node{.count = count,
                          .bytes = static_cast<uint32_t>(bytes.size()),
                          .verbatim = bytes,
                          .first = 0});
    n_ += count;
}

void QuicklistBuilder::pack(std::span<const std::string_view> entries, bool from_right) {
    if (entries.empty()) return;
    const size_t base = entries_.size();
    entries_.insert(entries_.end(), entries.begin(), entries.end());
    n_ += static_cast<uint32_t>(entries.size());
    if (!from_right) {
        Node cur{.first = base};
        for (size_t j = 0; j < entries.size(); ++j) {
            const size_t sz = entry_size(entries[j]);
            if (!fill_.allows(cur.count, cur.bytes + sz)) {
                nodes_.push_back(cur);
                cur = Node{.first = base + j};
            }
            ++cur.count;
            cur.bytes += static_cast<uint32_t>(sz);
        }
        nodes_.push_back(cur);
        return;
    }
    // Right to left: fill the last node first; the nodes come out in
    // reverse, so they are gathered and then appended in order.
    std::vector<Node> rev;
    Node cur{.first = base + entries.size()};
    for (size_t j = entries.size(); j-- > 0;) {
        const size_t sz = entry_size(entries[j]);
        if (!fill_.allows(cur.count, cur.bytes + sz)) {
            rev.push_back(cur);
            cur = Node{.first = base + j + 1};
        }
        ++cur.count;
        cur.bytes += static_cast<uint32_t>(sz);
        cur.first = base + j;
    }
    rev.push_back(cur);
    nodes_.insert(nodes_.end(), rev.rbegin(), rev.rend());
}

size_t QuicklistBuilder::encoded_size() const {
    size_t n = kQlHeaderSize + nodes_.size() * kQlDirEntrySize;
    for (const Node& node : nodes_)
        n += node.bytes;
    return n;
}

void QuicklistBuilder::write(char* dst) const {
    dst[0] = static_cast<char>(kQuicklist);
    store_u32(dst + 1, n_);
    store_u32(dst + 5, static_cast<uint32_t>(nodes_.size()));
    char* dir = dst + kQlHeaderSize;
    char* p = dir + nodes_.size() * kQlDirEntrySize;
    for (const Node& node : nodes_) {
        store_u32(dir, node.count);
        store_u32(dir + 4, node.bytes);
        dir += kQlDirEntrySize;
        if (!node.verbatim.empty()) {
            std::memmove(p, node.verbatim.data(), node.verbatim.size());
            p += node.verbatim.size();
            continue;
        }
        for (size_t j = node.first; j < node.first + node.count; ++j)
            p = put_entry(p, entries_[j]);
    }
}

// ---- splice ------------------------------------------------------------------

bool splice(const QuicklistView* old, size_t from, size_t erase,
            std::span<const std::string_view> insert, QuicklistBuilder& b) {
    if (old == nullptr || old->size() == 0) {
        b.pack(insert);
        return true;
    }
    const size_t n = old->size();
    // The nodes [lo, hi] that change, and the index of lo's first entry.
    size_t lo_first = 0, hi_first = 0;
    uint32_t lo = 0, hi = 0;
    if (erase > 0) {
        lo = old->locate(from, lo_first);
        hi = old->locate(from + erase - 1, hi_first);
    } else if (from < n) {
        lo = hi = old->locate(from, lo_first);
    } else {
        lo = hi = old->nodes() - 1;
        lo_first = n - old->node_entries(lo);
    }
    for (uint32_t i = 0; i < lo; ++i)
        b.copy_node(old->node_bytes(i), old->node_entries(i));
    std::vector<std::string_view> touched;
    for (uint32_t i = lo; i <= hi; ++i)
        if (!decode_node(old->node_bytes(i), old->node_entries(i), touched)) return false;
    const size_t at = from - lo_first;
    std::vector<std::string_view> merged;
    merged.reserve(touched.size() - erase + insert.size());
    merged.insert(merged.end(), touched.begin(), touched.begin() + static_cast<ptrdiff_t>(at));
    merged.insert(merged.end(), insert.begin(), insert.end());
    merged.insert(merged.end(), touched.begin() + static_cast<ptrdiff_t>(at + erase),
                  touched.end());
    // A push to the head fills the head node before making new ones.
    b.pack(merged, from == 0 && erase == 0);
    for (uint32_t i = hi + 1; i < old->nodes(); ++i)
        b.copy_node(old->node_bytes(i), old->node_entries(i));
    return true;
}

}  // namespace fulmar::engine::coll
