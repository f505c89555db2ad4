// What OBJECT ENCODING and OBJECT REFCOUNT answer for a value, shared with
// DEBUG OBJECT (resp_dump_commands.cc), which prints the same facts.
//
// Any thread; no state (implemented in resp_object_commands.cc).
#pragma once

#include <cstdint>
#include <string_view>

#include "store/item.h"

namespace fulmar::engine {

// Redis's encoding name for the value an item holds, from its type bits
// (Item::type_bits: the type and kItemRawString).
std::string_view object_encoding(uint8_t type_bits, std::string_view value);
// Redis's refcount: OBJ_SHARED_REFCOUNT for a shared integer, else 1.
int64_t object_refcount(uint8_t type_bits, std::string_view value);

}  // namespace fulmar::engine
