// memcached text requests as the client sends them, and the key rule.
//
// Any thread; pure functions. Each builder appends one request datagram's text
// after 8 bytes reserved for the frame header, which the exchange fills in.
//
//   get|gets <key>*\r\n
//   set|add|replace|append|prepend <key> <flags> <exptime> <bytes>\r\n<data>\r\n
//   cas <key> <flags> <exptime> <bytes> <cas unique>\r\n<data>\r\n
//   delete <key>\r\n
//   incr|decr <key> <delta>\r\n
//   touch <key> <exptime>\r\n
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace fulmar::client {

// Wire command names, as named constants.
inline constexpr std::string_view kCmdGet = "get";
inline constexpr std::string_view kCmdGets = "gets";
inline constexpr std::string_view kCmdSet = "set";
inline constexpr std::string_view kCmdAdd = "add";
inline constexpr std::string_view kCmdReplace = "replace";
inline constexpr std::string_view kCmdAppend = "append";
inline constexpr std::string_view kCmdPrepend = "prepend";
inline constexpr std::string_view kCmdCas = "cas";
inline constexpr std::string_view kCmdDelete = "delete";
inline constexpr std::string_view kCmdIncr = "incr";
inline constexpr std::string_view kCmdDecr = "decr";
inline constexpr std::string_view kCmdTouch = "touch";

// memcached's key rule: 1..250 bytes, no space and no control character
// (0x00-0x20, 0x7f), since the text protocol separates tokens by spaces and
// ends lines with \r\n.
bool valid_key(std::string_view key);

// Starts a datagram: 8 zero bytes of frame header.
void begin_datagram(std::vector<std::byte>& d);
void append_text(std::vector<std::byte>& d, std::string_view s);
void append_u64(std::vector<std::byte>& d, uint64_t v);
void append_i64(std::vector<std::byte>& d, int64_t v);

// Bytes "get" + " key" ... + "\r\n" takes for one key, to split multi-gets.
inline size_t get_key_cost(size_t key_len) {
    return 1 + key_len;
}
inline constexpr size_t kLineEnd = 2;

// A whole storage request; `cas` is written only for kCmdCas.
void build_store(std::vector<std::byte>& d, std::string_view cmd, std::string_view key,
                 uint32_t flags, int32_t exptime, std::string_view value, uint64_t cas);
// Text length of the same request, to refuse what would not fit a datagram.
size_t store_request_size(std::string_view cmd, size_t key_len, uint32_t flags, int32_t exptime,
                          size_t value_len, uint64_t cas);

// "delete <key>\r\n"
void build_delete(std::vector<std::byte>& d, std::string_view key);
// "incr|decr <key> <delta>\r\n"
void build_arith(std::vector<std::byte>& d, std::string_view cmd, std::string_view key,
                 uint64_t delta);
// "touch <key> <exptime>\r\n"
void build_touch(std::vector<std::byte>& d, std::string_view key, int32_t exptime);

}  // namespace fulmar::client
