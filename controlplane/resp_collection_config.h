// Redis's collection encoding parameters in the CONFIG registry:
// list-max-listpack-size (alias list-max-ziplist-size), list-compress-depth,
// set-max-intset-entries, hash-max-listpack-entries / -value (aliases
// hash-max-ziplist-*). Their values live in shm::CollectionSettings, where
// the owner workers, which run every write, read them.
//
// Control plane loop thread (the CONFIG registry is RespServerState's).
// list-compress-depth is real: the owners keep list nodes farther than that
// from both ends LZF-compressed (engine/resp_quicklist.h), each list from
// its next write on. sanitize-dump-payload is "yes" and stays so (RESTORE
// always validates payloads whole).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "shm/layout.h"

namespace fulmar::controlplane {

class RespServerState;

void add_collection_config(RespServerState& state, shm::CollectionSettings& settings);

// DEBUG QUICKLIST-PACKED-THRESHOLD <size>: list elements of at least `size`
// bytes (memtoull's units; 0: back to 1 GiB) get a node of their own from
// the next write on. nullopt once set, else Redis 7.0.15's error text.
std::optional<std::string> set_list_packed_threshold(shm::CollectionSettings& settings,
                                                     std::string_view size);

// Redis 7.0's numeric CONFIG values: an integer (string2ll) within
// [lo, hi], or with `memory` also memtoull's units (1k 1kb 1m 1mb 1g 1gb).
// nullopt with Redis's error text in `error`.
std::optional<int64_t> parse_config_number(std::string_view v, int64_t lo, int64_t hi,
                                           bool is_unsigned, bool memory, std::string& error);

}  // namespace fulmar::controlplane
