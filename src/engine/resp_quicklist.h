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
//
// list-compress-depth (Redis's quicklist compression): a node farther than
// `depth` nodes from either end is kept LZF-compressed when that pays off
// (Redis's rules: at least 48 bytes, and the LZF form at least 8 bytes
// smaller; else it stays raw). Its directory `bytes` then has the top bit
// (kQlNodeCompressed) set, and its bytes are {raw size u32, LZF bytes}.
// Every build applies the rule to the whole list (the nodes the depth says
// are copied as they are when already in that state), so the compressed
// set is always the one Redis's rule names; readers inflate a compressed
// node into a buffer the QuicklistView owns, so the views it hands out
// live as long as it does. A node never inflates past kQlMaxNodeRaw (a
// corrupt size is an error, never an allocation).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/engine_ctx.h"

namespace fulmar::engine::coll {

inline constexpr uint8_t kQuicklist = 0xC3;  // kCompact 0xC1, kHashed 0xC2 (resp_collection.h)
inline constexpr size_t kQlHeaderSize = 9;
inline constexpr size_t kQlDirEntrySize = 8;
// The directory's `bytes` flag of an LZF node, and that node's header.
inline constexpr uint32_t kQlNodeCompressed = 0x80000000u;
inline constexpr size_t kQlLzfHeaderSize = 4;
// Redis's MIN_COMPRESS_BYTES and MIN_COMPRESS_IMPROVE (quicklist.c).
inline constexpr size_t kQlMinCompressBytes = 48;
inline constexpr size_t kQlMinCompressImprove = 8;
// The most bytes one node inflates to: a node larger than an item is never
// compressed (it could not have been stored raw either).
inline constexpr size_t kQlMaxNodeRaw = size_t{1} << 20;

// list-max-listpack-size: negative -1..-5 bound a node's bytes to 4, 8,
// 16, 32 or 64 KiB (below -5 is -5); positive bounds its entries (at most
// 32767) and, as Redis's SIZE_SAFETY_LIMIT, its bytes to 8 KiB; 0 is one
// entry a node. Redis 7.0.15's quicklist rule (_quicklistNodeAllowInsert).
//
// An element of at least `packed_threshold` bytes (1 GiB unless DEBUG
// QUICKLIST-PACKED-THRESHOLD lowers it) is Redis's "plain" node: a node of
// its own that no other entry joins, whatever the fill.
struct ListFill {
    int32_t fill = -2;
    uint64_t packed_threshold = uint64_t{1} << 30;
    // list-compress-depth: nodes this far from both ends are LZF-compressed
    // when eligible; 0: none.
    int32_t compress_depth = 0;
    // May a node of `count` entries take one more, `bytes_after` bytes in
    // all once it has? A node always takes its first entry.
    bool allows(uint32_t count, size_t bytes_after) const;
    // Redis's isLargeElement: the entry goes alone in its node.
    bool plain(std::string_view e) const { return e.size() >= packed_threshold; }
};

// Bytes one entry takes in a node (or in the flat compact encoding), and
// its writing there: returns the byte after it.
// The fill the live CONFIG settings give every list write (list-max-
// listpack-size, DEBUG QUICKLIST-PACKED-THRESHOLD, list-compress-depth).
ListFill list_fill(const CollectionLimits& l);

size_t entry_size(std::string_view e);
char* put_entry(char* p, std::string_view e);

// A parsed quicklist: the header and directory, checked (the nodes' sizes
// add up to the value's). Views into the value.
class QuicklistView {
  public:
    bool parse(std::string_view value);
    uint32_t size() const { return n_; }
    uint32_t nodes() const { return nodes_; }
    size_t value_size() const { return value_.size(); }
    uint32_t node_entries(uint32_t i) const;
    // Node i's entry bytes, inflated (into a buffer this view owns) when the
    // node is compressed; empty when they do not inflate (corrupt).
    std::string_view node_bytes(uint32_t i) const;
    // Node i as the item stores it: an LZF node's {raw size, LZF bytes}.
    std::string_view stored_bytes(uint32_t i) const;
    bool node_compressed(uint32_t i) const;
    // Node i's entry bytes once inflated (its stored size when raw).
    uint32_t node_raw_size(uint32_t i) const;
    // How many nodes are LZF-compressed, and the list's entry bytes once
    // every node is inflated (DEBUG OBJECT's ql_compressed and
    // ql_uncompressed_size come from these).
    uint32_t compressed_nodes() const { return compressed_; }
    uint64_t uncompressed_size() const { return raw_total_; }
    // The node holding entry `index` (< size()), and the index of its first
    // entry: a walk of the directory, never of the entries.
    uint32_t locate(size_t index, size_t& first) const;
    // Where node i's stored bytes start in the value.
    uint32_t node_offset(uint32_t i) const { return offsets_[i]; }
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
    uint32_t compressed_ = 0;
    uint64_t raw_total_ = 0;
    // Offsets of each node's bytes, from the directory (built by parse).
    std::vector<uint32_t> offsets_;
    // Inflated compressed nodes, by node (empty until one is read): a
    // reader's views point here, so each node inflates once per view.
    // Shared, so that a copy of the view keeps the views it was handed
    // valid (QuicklistView stays copyable).
    mutable std::vector<std::shared_ptr<char[]>> inflated_;
};

// LZF-inflates one compressed node's stored bytes ({raw size u32, LZF
// bytes}) into out (resized); false when the header or the data is
// corrupt or the node would pass kQlMaxNodeRaw.
bool inflate_node(std::string_view stored, std::string& out);

// The quicklist facts DEBUG OBJECT reports, from a list item's value;
// false when it is not a well-formed quicklist.
struct QuicklistStats {
    uint32_t entries = 0;
    uint32_t nodes = 0;
    uint32_t compressed_nodes = 0;
    uint64_t uncompressed_size = 0;  // entry bytes of every node, inflated
    uint64_t stored_size = 0;        // the item's value bytes
};
bool quicklist_stats(std::string_view value, QuicklistStats& out);

// A node's entries (`count` of them) appended to out; false when malformed.
bool decode_node(std::string_view bytes, uint32_t count, std::vector<std::string_view>& out);

// The owner's new quicklist, node by node: nodes of the old value copied
// as they are, and entries packed into fresh nodes under `fill`. Holds
// views only: the old item and the entries must outlive write().
class QuicklistBuilder {
  public:
    explicit QuicklistBuilder(ListFill fill) : fill_(fill) {}
    void copy_node(std::string_view bytes, uint32_t count);
    // Node i of `v` as it is stored (compressed or not); inflated or
    // compressed at write only when the depth wants it the other way. `v`
    // must outlive write().
    void copy_node(const QuicklistView& v, uint32_t i);
    // Packs entries into fresh nodes, filling each before the next; right
    // to left when `from_right` (a push to the head fills the old head node
    // first, then new nodes before it, as Redis's LPUSH does).
    void pack(std::span<const std::string_view> entries, bool from_right = false);
    uint32_t size() const { return n_; }
    uint32_t nodes() const { return static_cast<uint32_t>(nodes_.size()); }
    // The value's bytes, compressed nodes at their compressed size.
    size_t encoded_size() const;
    void write(char* dst) const;
    // Nodes write() stores LZF-compressed.
    uint32_t compressed_nodes() const;

  private:
    struct Node {
        uint32_t count = 0;
        uint32_t bytes = 0;         // entry bytes, uncompressed
        std::string_view verbatim;  // a copied node, or empty: entries_[first, first+count)
        size_t first = 0;
        // A node copied compressed: its stored bytes, and where to inflate
        // it should it have to be stored raw.
        std::string_view packed;
        const QuicklistView* src = nullptr;
        uint32_t src_index = 0;
    };
    // What write() stores for each node, decided once by plan() after the
    // last copy_node/pack (the depth counts from both ends, so only the
    // whole list says which nodes are interior).
    struct Out {
        bool compressed = false;
        std::string_view bytes;  // stored bytes (into a node, a source, or buf)
        std::string buf;         // LZF bytes made here, or a fresh node's raw bytes
    };
    void plan() const;
    ListFill fill_;
    std::vector<Node> nodes_;
    std::vector<std::string_view> entries_;
    uint32_t n_ = 0;
    mutable std::vector<Out> out_;
    mutable bool planned_ = false;
};

// ---- edits in place at the ends ---------------------------------------------
//
// A push that joins the end node, or a pop that leaves it non-empty, moves
// no node boundary: the owner can change the item's bytes where they are
// (under its seqlock, when its slab chunk has room: resp_list_commands.cc)
// instead of rebuilding the list. plan_end_*() says whether the edit is
// one of these; the result is then byte for byte what splice() would
// write for the same content. Planned only when the end node is raw and
// not plain, the compressed nodes are exactly those the depth names (all
// the interior ones, none within `depth` of an end; depth 0: none), no
// entry of the node would now be a plain one, and the whole node passes
// `fill` (CONFIG may have shrunk it since the node was packed). So a list
// whose interior does not compress, or written before CONFIG changed the
// depth, takes the rebuild.
struct EndEdit {
    bool head = false;
    uint32_t node = 0;     // 0 or nodes() - 1
    uint32_t entries = 0;  // pushed or popped
    uint32_t bytes = 0;    // entry bytes added or removed
    size_t at = 0;         // value offset where they go or leave
    size_t old_size = 0;   // the value's size before
    size_t new_size = 0;   // and after
    bool push = false;
};

// A push of `entries` at one end; `entries` in the order they will stand
// in the list (an LPUSH's arguments reversed). False: splice() instead.
bool plan_end_push(const QuicklistView& v, std::span<const std::string_view> entries, bool head,
                   const ListFill& fill, EndEdit& edit);
// A pop of `n` entries from one end; on true, `popped` holds them in list
// order (views into the value v parsed: read them before apply_end_edit).
bool plan_end_pop(const QuicklistView& v, size_t n, bool head, const ListFill& fill, EndEdit& edit,
                  std::vector<std::string_view>& popped);
// Applies a planned edit to the value's bytes (`value` holds at least
// edit.new_size bytes); `entries` are the pushed ones (none for a pop) and
// must not point into `value`.
void apply_end_edit(char* value, const EndEdit& edit, std::span<const std::string_view> entries);

// The list `old` (null: an empty list) with entries [from, from + erase)
// replaced by `insert`, into b: the nodes that hold the range (or, for a
// pure insert, the node where it goes) are decoded and re-packed, every
// other node copied. from + erase <= old's size. False when old is
// malformed.
bool splice(const QuicklistView* old, size_t from, size_t erase,
            std::span<const std::string_view> insert, QuicklistBuilder& b);

}  // namespace fulmar::engine::coll
