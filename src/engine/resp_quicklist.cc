// The quicklist encoding of lists; see resp_quicklist.h.
#include "engine/resp_quicklist.h"

#include <lzf.h>

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

// A compressed node's raw size from its header, 0 when the header cannot
// be one (too short, a size no node has, or no smaller than the LZF form:
// a node is stored compressed only when that saves bytes).
uint32_t lzf_raw_size(std::string_view stored) {
    if (stored.size() <= kQlLzfHeaderSize) return 0;
    const uint32_t raw = load_u32(stored.data());
    if (raw > kQlMaxNodeRaw || raw <= stored.size() - kQlLzfHeaderSize) return 0;
    return raw;
}

// Inflates `stored` (checked by lzf_raw_size: `raw` bytes) into dst; liblzf
// bounds both its input and its output, so corrupt bytes fail here.
bool inflate_into(std::string_view stored, uint32_t raw, char* dst) {
    const auto in_len = static_cast<unsigned int>(stored.size() - kQlLzfHeaderSize);
    const unsigned int got = lzf_decompress(stored.data() + kQlLzfHeaderSize, in_len, dst, raw);
    return got == raw;
}

// Redis's __quicklistCompressNode: the LZF form of a node's `raw` bytes
// into out, or false when the node is too small or does not shrink by
// MIN_COMPRESS_IMPROVE (it stays raw).
bool deflate_node(std::string_view raw, std::string& out) {
    if (raw.size() < kQlMinCompressBytes || raw.size() > kQlMaxNodeRaw) return false;
    out.resize(kQlLzfHeaderSize + raw.size());
    const auto len = static_cast<unsigned int>(raw.size());
    const unsigned int got = lzf_compress(raw.data(), len, out.data() + kQlLzfHeaderSize, len);
    if (got == 0 || got + kQlMinCompressImprove >= raw.size()) return false;
    store_u32(out.data(), len);
    out.resize(kQlLzfHeaderSize + got);
    return true;
}

}  // namespace

bool inflate_node(std::string_view stored, std::string& out) {
    const uint32_t raw = lzf_raw_size(stored);
    if (raw == 0) return false;
    out.resize(raw);
    return inflate_into(stored, raw, out.data());
}

bool quicklist_stats(std::string_view value, QuicklistStats& out) {
    QuicklistView v;
    if (!v.parse(value)) return false;
    out.entries = v.size();
    out.nodes = v.nodes();
    out.compressed_nodes = v.compressed_nodes();
    out.uncompressed_size = v.uncompressed_size();
    out.stored_size = value.size();
    return true;
}

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
    inflated_.clear();
    compressed_ = 0;
    raw_total_ = 0;
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
        const uint32_t word = load_u32(d + 4);
        const uint32_t bytes = word & ~kQlNodeCompressed;
        if (count == 0 || bytes > value.size() - off) return false;
        // Each entry takes at least a byte of the node's raw bytes.
        uint32_t raw = bytes;
        if ((word & kQlNodeCompressed) != 0) {
            raw = lzf_raw_size(value.substr(off, bytes));
            if (raw == 0) return false;
            ++compressed_;
        }
        if (raw < count) return false;
        offsets_.push_back(static_cast<uint32_t>(off));
        off += bytes;
        total += count;
        raw_total_ += raw;
    }
    return off == value.size() && total == n_ && (n_ == 0) == (nodes_ == 0);
}

uint32_t QuicklistView::node_entries(uint32_t i) const {
    return load_u32(value_.data() + kQlHeaderSize + size_t{i} * kQlDirEntrySize);
}

bool QuicklistView::node_compressed(uint32_t i) const {
    return (load_u32(value_.data() + kQlHeaderSize + size_t{i} * kQlDirEntrySize + 4) &
            kQlNodeCompressed) != 0;
}

std::string_view QuicklistView::stored_bytes(uint32_t i) const {
    const uint32_t bytes =
        load_u32(value_.data() + kQlHeaderSize + size_t{i} * kQlDirEntrySize + 4) &
        ~kQlNodeCompressed;
    return value_.substr(offsets_[i], bytes);
}

uint32_t QuicklistView::node_raw_size(uint32_t i) const {
    const std::string_view stored = stored_bytes(i);
    return node_compressed(i) ? lzf_raw_size(stored) : static_cast<uint32_t>(stored.size());
}

std::string_view QuicklistView::node_bytes(uint32_t i) const {
    const std::string_view stored = stored_bytes(i);
    if (!node_compressed(i)) return stored;
    const uint32_t raw = lzf_raw_size(stored);  // checked by parse: not 0
    if (inflated_.empty()) inflated_.resize(nodes_);
    std::shared_ptr<char[]>& buf = inflated_[i];
    if (buf == nullptr) {
        auto fresh = std::make_shared_for_overwrite<char[]>(raw);
        if (!inflate_into(stored, raw, fresh.get())) return {};
        buf = std::move(fresh);
    }
    return {buf.get(), raw};
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
    planned_ = false;
    nodes_.push_back(Node{.count = count,
                          .bytes = static_cast<uint32_t>(bytes.size()),
                          .verbatim = bytes,
                          .first = 0});
    n_ += count;
}

void QuicklistBuilder::copy_node(const QuicklistView& v, uint32_t i) {
    if (!v.node_compressed(i)) {
        copy_node(v.stored_bytes(i), v.node_entries(i));
        return;
    }
    planned_ = false;
    nodes_.push_back(Node{.count = v.node_entries(i),
                          .bytes = v.node_raw_size(i),
                          .packed = v.stored_bytes(i),
                          .src = &v,
                          .src_index = i});
    n_ += v.node_entries(i);
}

void QuicklistBuilder::pack(std::span<const std::string_view> entries, bool from_right) {
    if (entries.empty()) return;
    planned_ = false;
    const size_t base = entries_.size();
    entries_.insert(entries_.end(), entries.begin(), entries.end());
    n_ += static_cast<uint32_t>(entries.size());
    // A plain entry (ListFill::plain) closes the node before it, and the
    // node it makes takes nothing more.
    if (!from_right) {
        Node cur{.first = base};
        bool closed = false;  // cur holds a plain entry
        for (size_t j = 0; j < entries.size(); ++j) {
            const size_t sz = entry_size(entries[j]);
            const bool plain = fill_.plain(entries[j]);
            if (cur.count > 0 && (closed || plain || !fill_.allows(cur.count, cur.bytes + sz))) {
                nodes_.push_back(cur);
                cur = Node{.first = base + j};
            }
            ++cur.count;
            cur.bytes += static_cast<uint32_t>(sz);
            closed = plain;
        }
        nodes_.push_back(cur);
        return;
    }
    // Right to left: fill the last node first; the nodes come out in
    // reverse, so they are gathered and then appended in order.
    std::vector<Node> rev;
    Node cur{.first = base + entries.size()};
    bool closed = false;
    for (size_t j = entries.size(); j-- > 0;) {
        const size_t sz = entry_size(entries[j]);
        const bool plain = fill_.plain(entries[j]);
        if (cur.count > 0 && (closed || plain || !fill_.allows(cur.count, cur.bytes + sz))) {
            rev.push_back(cur);
            cur = Node{.first = base + j + 1};
        }
        ++cur.count;
        cur.bytes += static_cast<uint32_t>(sz);
        cur.first = base + j;
        closed = plain;
    }
    rev.push_back(cur);
    nodes_.insert(nodes_.end(), rev.rbegin(), rev.rend());
}

void QuicklistBuilder::plan() const {
    if (planned_) return;
    planned_ = true;
    out_.clear();
    out_.resize(nodes_.size());  // never resized below: views into buf stay put
    const size_t n = nodes_.size();
    const auto depth = static_cast<size_t>(std::max(fill_.compress_depth, 0));
    for (size_t i = 0; i < n; ++i) {
        const Node& node = nodes_[i];
        Out& o = out_[i];
        // Redis's __quicklistCompress: the `depth` nodes at each end stay
        // raw, every other one is compressed when it pays.
        const bool interior = depth > 0 && i >= depth && i + depth < n;
        if (!node.packed.empty()) {
            // Copied compressed: kept so unless the depth now says raw. A
            // node that no longer inflates stays as it was stored.
            const std::string_view raw =
                interior ? std::string_view{} : node.src->node_bytes(node.src_index);
            o.compressed = raw.empty();
            o.bytes = o.compressed ? node.packed : raw;
            continue;
        }
        std::string_view raw = node.verbatim;
        if (raw.empty() && interior) {
            o.buf.resize(node.bytes);
            char* p = o.buf.data();
            for (size_t j = node.first; j < node.first + node.count; ++j)
                p = put_entry(p, entries_[j]);
        }
        if (interior) {
            std::string lzf;
            if (deflate_node(raw.empty() ? std::string_view(o.buf) : raw, lzf)) {
                o.buf = std::move(lzf);
                o.compressed = true;
                o.bytes = o.buf;
                continue;
            }
            if (raw.empty()) raw = o.buf;
        }
        o.bytes = raw;  // empty: write() packs the entries in place
    }
}

uint32_t QuicklistBuilder::compressed_nodes() const {
    plan();
    return static_cast<uint32_t>(
        std::count_if(out_.begin(), out_.end(), [](const Out& o) { return o.compressed; }));
}

size_t QuicklistBuilder::encoded_size() const {
    plan();
    size_t n = kQlHeaderSize + nodes_.size() * kQlDirEntrySize;
    for (size_t i = 0; i < nodes_.size(); ++i)
        n += out_[i].bytes.empty() ? nodes_[i].bytes : out_[i].bytes.size();
    return n;
}

void QuicklistBuilder::write(char* dst) const {
    plan();
    dst[0] = static_cast<char>(kQuicklist);
    store_u32(dst + 1, n_);
    store_u32(dst + 5, static_cast<uint32_t>(nodes_.size()));
    char* dir = dst + kQlHeaderSize;
    char* p = dir + nodes_.size() * kQlDirEntrySize;
    for (size_t i = 0; i < nodes_.size(); ++i) {
        const Node& node = nodes_[i];
        const Out& o = out_[i];
        store_u32(dir, node.count);
        dir += kQlDirEntrySize;
        if (!o.bytes.empty()) {
            const auto len = static_cast<uint32_t>(o.bytes.size());
            store_u32(dir - 4, o.compressed ? len | kQlNodeCompressed : len);
            std::memmove(p, o.bytes.data(), o.bytes.size());
            p += o.bytes.size();
            continue;
        }
        store_u32(dir - 4, node.bytes);
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
        b.copy_node(*old, i);
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
        b.copy_node(*old, i);
    return true;
}

// ---- edits in place at the ends -------------------------------------------

namespace {

// The list's compressed nodes are exactly the ones the depth rule names:
// every node within `depth` of either end raw, every interior one
// compressed (depth 0: none). Only then is an edit of an end node what the
// rebuild writes: splice() inflates a compressed end node, and re-tries
// LZF on a raw interior one (a raw interior node is there when its bytes
// do not compress, or when CONFIG lowered the depth since the last
// rebuild; this check cannot tell which, so both rebuild).
bool compression_settled(const QuicklistView& v, const ListFill& fill) {
    if (fill.compress_depth <= 0) return v.compressed_nodes() == 0;
    const uint64_t depth = static_cast<uint64_t>(fill.compress_depth);
    const uint32_t n = v.nodes();
    const uint64_t interior = n > 2 * depth ? n - 2 * depth : 0;
    if (v.compressed_nodes() != interior) return false;
    // As many compressed as interior nodes, and none at the ends: they
    // are the interior ones.
    for (uint64_t i = 0; interior > 0 && i < depth; ++i)
        if (v.node_compressed(static_cast<uint32_t>(i)) ||
            v.node_compressed(static_cast<uint32_t>(n - 1 - i)))
            return false;
    return true;
}

// Can an entry be a plain one under this fill? Never while the threshold
// is past what one item holds (the default 1 GiB): no walk of the node.
bool may_be_plain(const ListFill& fill) {
    return fill.packed_threshold <= kQlMaxNodeRaw;
}

// The next entry of a node (LEB128 length, bytes) at p, before end; false
// when it is malformed. Walks a node without decoding it into views.
bool next_entry(const char*& p, const char* end, std::string_view& e) {
    size_t len = 0;
    for (int shift = 0;; shift += 7) {
        if (p == end || shift > 28) return false;
        const auto b = static_cast<unsigned char>(*p++);
        len |= size_t{b & 0x7Fu} << shift;
        if ((b & 0x80) == 0) break;
    }
    if (len > static_cast<size_t>(end - p)) return false;
    e = {p, len};
    p += len;
    return true;
}

}  // namespace

bool plan_end_push(const QuicklistView& v, std::span<const std::string_view> entries, bool head,
                   const ListFill& fill, EndEdit& edit) {
    if (v.size() == 0 || entries.empty()) return false;
    const uint32_t node = head ? 0 : v.nodes() - 1;
    if (v.node_compressed(node) || !compression_settled(v, fill)) return false;
    const uint32_t count = v.node_entries(node);
    const std::string_view bytes = v.stored_bytes(node);
    size_t added = 0;
    for (std::string_view e : entries) {
        if (fill.plain(e)) return false;
        added += entry_size(e);
    }
    const size_t total = size_t{count} + entries.size();
    if (added > kQlMaxNodeRaw || total > UINT32_MAX - v.size()) return false;
    // ListFill::allows is monotonic: the whole node passing means every
    // entry on the way did, as pack() checks them one by one.
    if (!fill.allows(static_cast<uint32_t>(total - 1), bytes.size() + added)) return false;
    if (may_be_plain(fill)) {
        std::vector<std::string_view> old;
        if (!decode_node(bytes, count, old)) return false;
        for (std::string_view e : old)
            if (fill.plain(e)) return false;
    }
    edit = EndEdit{.head = head,
                   .node = node,
                   .entries = static_cast<uint32_t>(entries.size()),
                   .bytes = static_cast<uint32_t>(added),
                   .at = head ? v.node_offset(0) : v.value_size(),
                   .old_size = v.value_size(),
                   .new_size = v.value_size() + added,
                   .push = true};
    return true;
}

bool plan_end_pop(const QuicklistView& v, size_t n, bool head, const ListFill& fill, EndEdit& edit,
                  std::vector<std::string_view>& popped) {
    if (v.size() == 0 || n == 0) return false;
    const uint32_t node = head ? 0 : v.nodes() - 1;
    const uint32_t count = v.node_entries(node);
    if (n >= count || v.node_compressed(node) || !compression_settled(v, fill)) return false;
    const std::string_view bytes = v.stored_bytes(node);
    const size_t keep = count - n;
    const size_t before = head ? n : keep;  // entries before the cut
    // A head pop walks only the popped entries, unless the kept ones must
    // be checked for plain ones; a tail pop walks the node (the encoding
    // reads forward only). No views of the kept entries are made.
    const bool check_plain = may_be_plain(fill) && keep > 1;
    const size_t walk = head && !check_plain ? n : count;
    const char* p = bytes.data();
    const char* const end = p + bytes.size();
    const char* cut = nullptr;
    popped.clear();
    popped.reserve(n);
    for (size_t j = 0; j < walk; ++j) {
        if (j == before) cut = p;
        std::string_view e;
        if (!next_entry(p, end, e)) return false;
        if (head ? j < n : j >= keep)
            popped.push_back(e);
        else if (check_plain && fill.plain(e))
            return false;
    }
    if (walk == count && p != end) return false;
    if (cut == nullptr) cut = p;  // a head pop's walk ended at the cut
    const auto at_cut = static_cast<size_t>(cut - bytes.data());
    const size_t removed = head ? at_cut : bytes.size() - at_cut;
    if (!fill.allows(static_cast<uint32_t>(keep - 1), bytes.size() - removed)) return false;
    edit = EndEdit{.head = head,
                   .node = node,
                   .entries = static_cast<uint32_t>(n),
                   .bytes = static_cast<uint32_t>(removed),
                   .at = head ? v.node_offset(0) : v.node_offset(node) + at_cut,
                   .old_size = v.value_size(),
                   .new_size = v.value_size() - removed,
                   .push = false};
    return true;
}

void apply_end_edit(char* value, const EndEdit& edit, std::span<const std::string_view> entries) {
    char* at = value + edit.at;
    char* dir = value + kQlHeaderSize + size_t{edit.node} * kQlDirEntrySize;
    const uint32_t n = load_u32(value + 1);
    const uint32_t count = load_u32(dir);
    const uint32_t bytes = load_u32(dir + 4);  // raw: no kQlNodeCompressed bit
    if (edit.push) {
        if (edit.head) std::memmove(at + edit.bytes, at, edit.old_size - edit.at);
        for (std::string_view e : entries)
            at = put_entry(at, e);
        store_u32(value + 1, n + edit.entries);
        store_u32(dir, count + edit.entries);
        store_u32(dir + 4, bytes + edit.bytes);
        return;
    }
    std::memmove(at, at + edit.bytes, edit.old_size - edit.at - edit.bytes);
    store_u32(value + 1, n - edit.entries);
    store_u32(dir, count - edit.entries);
    store_u32(dir + 4, bytes - edit.bytes);
}

ListFill list_fill(const CollectionLimits& l) {
    return ListFill{l.list_max_listpack_size,
                    static_cast<uint64_t>(std::max<int64_t>(l.list_packed_threshold, 1)),
                    l.list_compress_depth};
}

}  // namespace fulmar::engine::coll
