// memcached text request builders; see text_request.h for the syntax.
#include "client/text_request.h"

#include <cstring>

#include "common/numbers.h"
#include "proto/mc_frame.h"

namespace fulmar::client {
namespace {

size_t decimal_len(uint64_t v) {
    char buf[24];
    return format_u64(v, buf);
}

size_t decimal_len(int64_t v) {
    char buf[24];
    return format_i64(v, buf);
}

}  // namespace

bool valid_key(std::string_view key) {
    if (key.empty() || key.size() > FULMAR_MC_MAX_KEY_LEN) return false;
    for (const char c : key) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u == 0x7f) return false;
    }
    return true;
}

void begin_datagram(std::vector<std::byte>& d) {
    d.assign(proto::kMcFrameHeaderSize, std::byte{0});
}

void append_text(std::vector<std::byte>& d, std::string_view s) {
    const size_t at = d.size();
    d.resize(at + s.size());
    if (!s.empty()) std::memcpy(d.data() + at, s.data(), s.size());
}

void append_u64(std::vector<std::byte>& d, uint64_t v) {
    char buf[24];
    append_text(d, std::string_view(buf, format_u64(v, buf)));
}

void append_i64(std::vector<std::byte>& d, int64_t v) {
    char buf[24];
    append_text(d, std::string_view(buf, format_i64(v, buf)));
}

void build_store(std::vector<std::byte>& d, std::string_view cmd, std::string_view key,
                 uint32_t flags, int32_t exptime, std::string_view value, uint64_t cas) {
    begin_datagram(d);
    append_text(d, cmd);
    append_text(d, " ");
    append_text(d, key);
    append_text(d, " ");
    append_u64(d, flags);
    append_text(d, " ");
    append_i64(d, exptime);
    append_text(d, " ");
    append_u64(d, value.size());
    if (cmd == kCmdCas) {
        append_text(d, " ");
        append_u64(d, cas);
    }
    append_text(d, "\r\n");
    append_text(d, value);
    append_text(d, "\r\n");
}

size_t store_request_size(std::string_view cmd, size_t key_len, uint32_t flags, int32_t exptime,
                          size_t value_len, uint64_t cas) {
    size_t n = cmd.size() + 1 + key_len + 1 + decimal_len(uint64_t{flags}) + 1 +
               decimal_len(int64_t{exptime}) + 1 + decimal_len(uint64_t{value_len}) + kLineEnd +
               value_len + kLineEnd;
    if (cmd == kCmdCas) n += 1 + decimal_len(cas);
    return n;
}

void build_delete(std::vector<std::byte>& d, std::string_view key) {
    begin_datagram(d);
    append_text(d, kCmdDelete);
    append_text(d, " ");
    append_text(d, key);
    append_text(d, "\r\n");
}

void build_arith(std::vector<std::byte>& d, std::string_view cmd, std::string_view key,
                 uint64_t delta) {
    begin_datagram(d);
    append_text(d, cmd);
    append_text(d, " ");
    append_text(d, key);
    append_text(d, " ");
    append_u64(d, delta);
    append_text(d, "\r\n");
}

void build_touch(std::vector<std::byte>& d, std::string_view key, int32_t exptime) {
    begin_datagram(d);
    append_text(d, kCmdTouch);
    append_text(d, " ");
    append_text(d, key);
    append_text(d, " ");
    append_i64(d, exptime);
    append_text(d, "\r\n");
}

}  // namespace fulmar::client
