// The groups the Redis command table is made of, one per source file; the
// table (resp_table.cc) is their concatenation, in this order.
//
// Internal to src/engine. A new group: a file with its own array of
// RespCommand, a function here that returns it, and one line in
// resp_table.cc.
#pragma once

#include <span>
#include <string_view>
#include <vector>

#include "engine/resp_commands.h"

namespace fulmar::engine {

// Strings, keys and expiry, and the connection's stateless commands
// (resp_commands.cc).
std::span<const RespCommand> resp_keyspace_commands();
// The rest of the string commands and the renames (resp_string_commands.cc).
std::span<const RespCommand> resp_string_commands();
// KEYS, SCAN, RANDOMKEY: walks of the owners' indexes (resp_key_commands.cc).
std::span<const RespCommand> resp_key_commands();
// SETBIT, GETBIT, LCS (resp_bit_commands.cc).
std::span<const RespCommand> resp_bit_commands();
// Lists, blocking pops included (resp_list_commands.cc).
std::span<const RespCommand> resp_list_commands();
// Sets (resp_set_commands.cc).
std::span<const RespCommand> resp_set_commands();
// Hashes (resp_hash_commands.cc).
std::span<const RespCommand> resp_hash_commands();
// OBJECT: what a key's value is encoded as (resp_object_commands.cc).
std::span<const RespCommand> resp_object_commands();
// DUMP and RESTORE: Redis's RDB payloads (resp_dump_commands.cc).
std::span<const RespCommand> resp_dump_commands();
// SORT, SORT_RO (resp_sort_commands.cc).
std::span<const RespCommand> resp_sort_commands();
// SORT's STORE destination: its position appended to `out` (none without
// STORE, or when the options do not parse). Keyspace events use it too.
void sort_store_key(std::span<const std::string_view> args, std::vector<size_t>& out);

// The server's and the connection's commands (HELLO, CLIENT, INFO, CONFIG,
// MULTI...; most answered by the control plane's session) and COMMAND
// (resp_server_commands.cc).
std::span<const RespCommand> resp_server_commands();

// Pub/sub, run by the control plane's session (resp_pubsub_commands.cc).
std::span<const RespCommand> resp_pubsub_commands();

}  // namespace fulmar::engine
