// RESP2/RESP3 reply writer: the reply types Redis 7.0 sends, each encoded for
// the protocol version the connection negotiated (HELLO), with Redis's
// downgrades to RESP2 (a map becomes a flat array, a boolean an integer, a
// double a bulk string...).
//
// One writer per connection, owned by the thread that builds its replies; not
// thread-safe. The writer holds a pointer to its sink (or string): they must
// outlive it. It neither copies nor moves, because it may point at itself.
//
// Aggregates are written as a header with the element count, then the
// elements, each with its own write_*() call; the writer does not check counts.
// Numbers are formatted on the stack: no allocation beyond the sink's own.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "proto/reply_sink.h"

namespace fulmar::proto {

enum class RespVersion : uint8_t {
    kResp2 = 2,
    kResp3 = 3,
};

class RespWriter {
  public:
    // The sink's protocol (ReplySink::resp3), or the one given.
    explicit RespWriter(ReplySink& sink);
    RespWriter(ReplySink& sink, RespVersion version);
    explicit RespWriter(std::string& out, RespVersion version = RespVersion::kResp2);
    RespWriter(const RespWriter&) = delete;
    RespWriter& operator=(const RespWriter&) = delete;

    RespVersion version() const { return version_; }
    void set_version(RespVersion version) { version_ = version; }

    // "+OK". CR and LF become spaces, as in Redis's addReplyStatusFormat: a
    // simple string cannot hold them.
    void write_simple(std::string_view s);

    // Redis's addReplyErrorFormat: "-ERR <msg>", or "-<msg>" when msg starts
    // with '-' and so carries its own code ("-WRONGTYPE ..."). CR and LF at
    // either end are dropped, inside they become spaces.
    void write_error(std::string_view msg);

    // "-<line>" where line already starts with its code, as
    // RespParser::error_message() does ("ERR Protocol error: ..."). CR and LF
    // become spaces.
    void write_simple_error(std::string_view line);

    void write_integer(int64_t v);
    void write_bulk(std::string_view s);

    // A missing value: "$-1" in RESP2, "_" in RESP3.
    void write_null();
    // A missing aggregate (BLPOP timing out): "*-1" in RESP2, "_" in RESP3.
    void write_null_array();

    void write_array(size_t n);
    // n key-value pairs: "%n" in RESP3, an array of 2n elements in RESP2.
    void write_map(size_t n_pairs);
    // "~n" in RESP3, an array in RESP2.
    void write_set(size_t n);
    // Out-of-band data (pub/sub messages): ">n" in RESP3, an array in RESP2.
    void write_push(size_t n);

    // ",<d>" in RESP3, a bulk string in RESP2, formatted as Redis 7.0 does:
    // "%.17g" ("1.1000000000000001"), "inf", "-inf", "nan".
    void write_double(double d);
    // "#t"/"#f" in RESP3, ":1"/":0" in RESP2.
    void write_bool(bool b);
    // "=<n>\r\n<fmt>:<text>" in RESP3, where fmt is 3 characters ("txt",
    // "mkd"; padded with spaces or cut as Redis does); a bulk of text in RESP2.
    void write_verbatim(std::string_view format, std::string_view text);
    // "(<digits>" in RESP3, a bulk string in RESP2. The digits are not checked.
    void write_big_number(std::string_view digits);

  private:
    // Adapts a plain std::string to ReplySink for the second constructor.
    class StringRefSink final : public ReplySink {
      public:
        explicit StringRefSink(std::string* out) : out_(out) {}
        void append(std::string_view bytes) override {
            if (out_ != nullptr) out_->append(bytes);
        }

      private:
        std::string* out_;
    };

    void write_prefixed_len(char prefix, int64_t n);
    void write_line(std::string_view prefix, std::string_view s);
    void write_aggregate(char resp3_prefix, size_t n);

    StringRefSink string_sink_;
    ReplySink* sink_;
    RespVersion version_;
};

}  // namespace fulmar::proto
