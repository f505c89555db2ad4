// RESP reply writer; see resp_writer.h. The encodings follow Redis 7.0's
// addReply* family in networking.c, checked byte for byte against a server.
#include "proto/resp_writer.h"

#include <charconv>
#include <cmath>
#include <cstring>

#include "common/numbers.h"

namespace fulmar::proto {
namespace {

constexpr std::string_view kCrlf = "\r\n";

// Short payloads are assembled on the stack and handed to the sink in one
// append: every append is a virtual call and, for a datagram sink, a bounds
// check. 256 covers status lines, errors, and small keys and values.
constexpr size_t kStackPayload = 256;
// "$" + 20 digits of a length + CRLF.
constexpr size_t kMaxHeader = 1 + 20 + 2;

bool is_cr_or_lf(char c) {
    return c == '\r' || c == '\n';
}

// %.17g, as Redis 7.0's addReplyDouble (7.2 moved to shortest round-trip).
// Infinities are spelled out by the caller, as Redis does not trust libc's.
size_t format_double(double d, char* buf, size_t cap) {
    const auto r = std::to_chars(buf, buf + cap, d, std::chars_format::general, 17);
    return static_cast<size_t>(r.ptr - buf);
}

}  // namespace

RespWriter::RespWriter(ReplySink& sink)
    : string_sink_(nullptr),
      sink_(&sink),
      version_(sink.resp3() ? RespVersion::kResp3 : RespVersion::kResp2) {}

RespWriter::RespWriter(ReplySink& sink, RespVersion version)
    : string_sink_(nullptr), sink_(&sink), version_(version) {}

RespWriter::RespWriter(std::string& out, RespVersion version)
    : string_sink_(&out), sink_(&string_sink_), version_(version) {}

void RespWriter::write_prefixed_len(char prefix, int64_t n) {
    char buf[kMaxHeader];
    buf[0] = prefix;
    size_t len = 1 + format_i64(n, buf + 1);
    buf[len++] = '\r';
    buf[len++] = '\n';
    sink_->append({buf, len});
}

// prefix + s + CRLF, with CR and LF inside s turned into spaces so that the
// reply stays one line whatever the message holds.
void RespWriter::write_line(std::string_view prefix, std::string_view s) {
    if (prefix.size() + s.size() <= kStackPayload) {
        char buf[kStackPayload + 2];
        std::memcpy(buf, prefix.data(), prefix.size());
        size_t len = prefix.size();
        for (char c : s)
            buf[len++] = is_cr_or_lf(c) ? ' ' : c;
        buf[len++] = '\r';
        buf[len++] = '\n';
        sink_->append({buf, len});
        return;
    }
    sink_->append(prefix);
    for (;;) {
        const size_t k = s.find_first_of(kCrlf);
        if (k == std::string_view::npos) break;
        sink_->append(s.substr(0, k));
        sink_->append(" ");
        s.remove_prefix(k + 1);
    }
    sink_->append(s);
    sink_->append(kCrlf);
}

void RespWriter::write_simple(std::string_view s) {
    write_line("+", s);
}

void RespWriter::write_error(std::string_view msg) {
    while (!msg.empty() && is_cr_or_lf(msg.front()))
        msg.remove_prefix(1);
    while (!msg.empty() && is_cr_or_lf(msg.back()))
        msg.remove_suffix(1);
    if (!msg.empty() && msg.front() == '-') {
        write_line("-", msg.substr(1));
    } else {
        write_line("-ERR ", msg);
    }
}

void RespWriter::write_simple_error(std::string_view line) {
    write_line("-", line);
}

void RespWriter::write_integer(int64_t v) {
    write_prefixed_len(':', v);
}

void RespWriter::write_bulk(std::string_view s) {
    if (s.size() <= kStackPayload) {
        char buf[kMaxHeader + kStackPayload + 2];
        buf[0] = '$';
        size_t len = 1 + format_u64(s.size(), buf + 1);
        buf[len++] = '\r';
        buf[len++] = '\n';
        std::memcpy(buf + len, s.data(), s.size());
        len += s.size();
        buf[len++] = '\r';
        buf[len++] = '\n';
        sink_->append({buf, len});
        return;
    }
    write_prefixed_len('$', static_cast<int64_t>(s.size()));
    sink_->append(s);
    sink_->append(kCrlf);
}

void RespWriter::write_null() {
    sink_->append(version_ == RespVersion::kResp3 ? std::string_view("_\r\n")
                                                  : std::string_view("$-1\r\n"));
}

void RespWriter::write_null_array() {
    sink_->append(version_ == RespVersion::kResp3 ? std::string_view("_\r\n")
                                                  : std::string_view("*-1\r\n"));
}

void RespWriter::write_aggregate(char resp3_prefix, size_t n) {
    write_prefixed_len(version_ == RespVersion::kResp3 ? resp3_prefix : '*',
                       static_cast<int64_t>(n));
}

void RespWriter::write_array(size_t n) {
    write_aggregate('*', n);
}

void RespWriter::write_map(size_t n_pairs) {
    if (version_ == RespVersion::kResp3) {
        write_prefixed_len('%', static_cast<int64_t>(n_pairs));
    } else {
        write_prefixed_len('*', static_cast<int64_t>(2 * n_pairs));
    }
}

void RespWriter::write_set(size_t n) {
    write_aggregate('~', n);
}

void RespWriter::write_push(size_t n) {
    write_aggregate('>', n);
}

void RespWriter::write_double(double d) {
    char buf[64];
    size_t len = 0;
    if (std::isinf(d)) {
        const std::string_view text = d > 0 ? "inf" : "-inf";
        std::memcpy(buf, text.data(), text.size());
        len = text.size();
    } else {
        len = format_double(d, buf, sizeof(buf));
    }
    if (version_ == RespVersion::kResp3) {
        write_line(",", {buf, len});
    } else {
        write_bulk({buf, len});
    }
}

void RespWriter::write_bool(bool b) {
    if (version_ == RespVersion::kResp3) {
        sink_->append(b ? std::string_view("#t\r\n") : std::string_view("#f\r\n"));
    } else {
        sink_->append(b ? std::string_view(":1\r\n") : std::string_view(":0\r\n"));
    }
}

void RespWriter::write_verbatim(std::string_view format, std::string_view text) {
    if (version_ != RespVersion::kResp3) {
        write_bulk(text);
        return;
    }
    char buf[kMaxHeader + 4];
    buf[0] = '=';
    size_t len = 1 + format_u64(text.size() + 4, buf + 1);
    buf[len++] = '\r';
    buf[len++] = '\n';
    for (size_t i = 0; i < 3; ++i)
        buf[len++] = i < format.size() ? format[i] : ' ';
    buf[len++] = ':';
    sink_->append({buf, len});
    sink_->append(text);
    sink_->append(kCrlf);
}

void RespWriter::write_big_number(std::string_view digits) {
    if (version_ == RespVersion::kResp3) {
        write_line("(", digits);
    } else {
        write_bulk(digits);
    }
}

}  // namespace fulmar::proto
