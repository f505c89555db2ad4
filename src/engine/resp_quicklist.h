// Redis's list encoding, the quicklist, inside one item: the list's entries
// cut into nodes of compact entries (each node bounded by
// list-max-listpack-size's rule), behind a directory of the nodes, so that
// a command touching a few entries decodes and re-packs only the nodes that
// hold them; every other node is copied as bytes.
//
// Any thread parses and decodes (the control plane reads lists from
// ShardView copies); only the key's owner worker builds (the shard's single
// writer). Why nodes: docs/resp-progress.md ("List encoding") has the
// benchmark; a flat compact list costs a decode of every entry for any
// command, a node directory one node's entries.
//
// Redis 7.0 keeps every list in a quicklist (a small list is a one-node
// quicklist: its single listpack), so OBJECT ENCODING answers "quicklist"
// for every list, as Redis 7.0.15 does; 7.2's listpack-encoded small lists
// do not exist in 7.0.
//
//   byte 0        1            5             9
//   +-------------+------------+-------------+---------------------+-----
//   | kQuicklist  | n (u32 LE) | nodes (u32) | directory           | node bytes ...
//   +-------------+------------+-------------+---------------------+-----
//   directory: per node {entries u32, bytes u32}; the nodes follow in
//   order, each its entries as the compact encoding writes them (LEB128
//   length, bytes; resp_collection.h). No node is empty.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace fulmar::engine::coll {

inline constexpr uint8_t kQuicklist = 0xC3;  // kCompact 0xC1, kHashed 0xC2 (resp_collection.h)
inline constexpr size_t kQlHeaderSize = 9;
inline constexpr size_t kQlDirEntrySize = 8;

// list-max-listpack-size: negative -1..-5 bound a node's bytes to 4, 8,
// 16, 32 or 64 KiB (below -5 is -5); positive bounds its entries (at most
// 32767) and, as Redis's SIZE_SAFETY_LIMIT, its bytes to 8 KiB; 0 is one
// entry a node. Redis 7.0.15's quicklist rule (_quicklistNodeAllowInsert).
struct ListFill {
    int32_t fill = -2;
    // May a node of `count` entries take one more, `bytes_after` bytes in
    // all once it has? A node always takes its first entry.
    bool allows(uint32_t count, size_t bytes_after) const;
};

// Bytes one entry takes in a node (or in the flat compact encoding), and
// its writing there: returns the byte after it.
size_t entry_size(std::string_view e);
char* put_entry(char* p, std::string_view e);

// A parsed quicklist: the header and directory, checked (the nodes' sizes
// add up to the value's). Views into the value.
class QuicklistView {
  public:
    bool parse(std::string_view value);
    uint32_t size() const { return n_; }
    uint32_t nodes() const { return nodes_; }
    uint32_t node_entries(uint32_t i) const;
    std::string_view node_bytes(uint32_t i) const;
    // The node holding entry `index` (< size()), and the index of its first
    // entry: a walk of the directory, never of the entries.
    uint32_t locate(size_t index, size_t& first) const;
    // Entry `index` (< size()); decodes one node. False when malformed.
    bool at(size_t index, std::string_view& out) const;
    // Entries [from, to] appended to out; decodes only their nodes.
    bool range(size_t from, size_t to, std::vector<std::string_view>& out) const;
    // Every entry appended to out.
    bool decode_all(std::vector<std::string_view>& out) const;

  private:
    std::string_view value_;
    uint32_t n_ = 0;
    uint32_t nodes_ = 0;
    // Offsets of each node's bytes, from the directory (built by parse).
    std::vector<uint32_t> offsets_;
};

// A node's entries (`count` of them) appended to out; false when malformed.
bool decode_node(std::string_view bytes, uint32_t count, std::vector<std::string_view>& out);

// The owner's new quicklist, node by node: nodes of the old value copied
// as they are, and entries packed into fresh nodes under `fill`. Holds
// views only: the old item and the entries must outlive write().
class QuicklistBuilder {
  public:
    explicit QuicklistBuilder(ListFill fill) : fill_(fill) {}
    void copy_node(std::string_view bytes, uint32_t count);
    // Packs entries into fresh nodes, filling each before the next; right
    // to left when `from_right` (a push to the head fills the old head node
    // first, then new nodes before it, as Redis's LPUSH does).
    void pack(std::span<const std::string_view> entries, bool from_right = false);
    uint32_t size() const { return n_; }
    uint32_t nodes() const { return static_cast<uint32_t>(nodes_.size()); }
    size_t encoded_size() const;
    void write(char* dst) const;

  private:
    struct Node {
        uint32_t count = 0;
        uint32_t bytes = 0;
        std::string_view verbatim;  // a copied node, or empty: entries_[first, first+count)
        size_t first = 0;
    };
    ListFill fill_;
    std::vector<Node> nodes_;
    std::vector<std::string_view> entries_;
    uint32_t n_ = 0;
};

// The list `old` (null: an empty list) with entries [from, from + erase)
// replaced by `insert`, into b: the nodes that hold the range (or, for a
// pure insert, the node where it goes) are decoded and re-packed, every
// other node copied. from + erase <= old's size. False when old is
// malformed.
bool splice(const QuicklistView* old, size_t from, size_t erase,
            std::span<const std::string_view> insert, QuicklistBuilder& b);

}  // namespace fulmar::engine::coll
