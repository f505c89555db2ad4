// libFuzzer target for the RESP request parser: it must never consume more
// than it was given, must give the same requests whether the bytes arrive at
// once or in pieces, and every request it returns must survive a round trip
// through the multibulk encoding (RespWriter builds it, the parser reads it).
// Before AUTH (RespAuth::kUnauthenticated) the same bytes must give a prefix
// of the same requests, none of more than kRespUnauthMaxArgs arguments, and
// stop only with one of the errors an authenticated parser gives or an
// "unauthenticated" one.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "proto/resp_parser.h"
#include "proto/resp_writer.h"

namespace {

using fulmar::proto::ParseStatus;
using fulmar::proto::RespParser;
using fulmar::proto::RespParserConfig;
using fulmar::proto::RespParseResult;

void check(bool ok) {
    if (!ok) std::abort();
}

// Small limits so that the fuzzer reaches the "too big" paths; the bulk limit
// is above kRespUnauthMaxBulkLen so that both bulk length errors are reachable
// (a "$<len>" line is checked before its data arrives).
constexpr RespParserConfig kConfig{.max_bulk_len = 32 * 1024, .max_inline_len = 512};

struct Outcome {
    std::vector<std::vector<std::string>> requests;
    std::vector<bool> multibulk;  // requests[i] came as a multibulk
    std::string error;
};

std::string encode_multibulk(const std::vector<std::string>& args) {
    std::string out;
    fulmar::proto::RespWriter w(out);
    w.write_array(args.size());
    for (const std::string& a : args)
        w.write_bulk(a);
    return out;
}

void check_round_trip(const std::vector<std::string>& args) {
    // An empty request encodes as *0, which parses back to an empty request.
    // No argument can exceed max_bulk_len: inline ones are shorter than
    // max_inline_len, multibulk ones were checked against it already.
    const std::string wire = encode_multibulk(args);
    RespParser p(kConfig);
    const RespParseResult r = p.parse(wire);
    check(r.status == ParseStatus::kComplete);
    check(r.consumed == wire.size());
    check(p.args().size() == args.size());
    for (size_t i = 0; i < args.size(); ++i)
        check(p.args()[i] == args[i]);
}

// Feeds `data` in chunks of `step` bytes (0 = all at once) into a buffer, as
// a connection would, parsing after each chunk.
Outcome run(std::string_view data, size_t step,
            fulmar::proto::RespAuth auth = fulmar::proto::RespAuth::kAuthenticated) {
    RespParser parser(kConfig);
    parser.set_auth(auth);
    Outcome out;
    std::string buf;
    size_t fed = 0;
    if (step == 0) step = data.size();
    do {
        const size_t n = std::min(step, data.size() - fed);
        buf.append(data.substr(fed, n));
        fed += n;
        for (;;) {
            const RespParseResult r = parser.parse(buf);
            if (r.status == ParseStatus::kNeedMore) {
                check(r.consumed == 0);
                break;
            }
            if (r.status == ParseStatus::kError) {
                check(r.consumed == 0);
                check(!parser.error_message().empty());
                out.error = std::string(parser.error_message());
                return out;
            }
            check(r.consumed > 0 && r.consumed <= buf.size());
            std::vector<std::string> args;
            for (std::string_view a : parser.args()) {
                // Multibulk arguments point into the buffer; none may reach past it.
                if (buf.front() == '*')
                    check(a.data() >= buf.data() && a.data() + a.size() <= buf.data() + r.consumed);
                args.emplace_back(a);
            }
            out.requests.push_back(std::move(args));
            out.multibulk.push_back(buf.front() == '*');
            buf.erase(0, r.consumed);
        }
    } while (fed < data.size());
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const Outcome whole = run(input, 0);
    for (const auto& args : whole.requests)
        check_round_trip(args);
    // The outcome must not depend on how the bytes were split.
    const size_t step = size == 0 ? 1 : 1 + data[0] % 7;
    const Outcome pieces = run(input, step);
    check(pieces.requests == whole.requests);
    check(pieces.error == whole.error);

    const Outcome unauth = run(input, step, fulmar::proto::RespAuth::kUnauthenticated);
    check(unauth.requests.size() <= whole.requests.size());
    for (size_t i = 0; i < unauth.requests.size(); ++i)
        check(unauth.requests[i] == whole.requests[i]);
    if (unauth.requests.size() == whole.requests.size()) {
        check(unauth.error == whole.error ||
              unauth.error.find("unauthenticated") != std::string::npos);
    } else {
        check(unauth.error.find("unauthenticated") != std::string::npos);
    }
    // Redis limits only multibulk requests before AUTH, not inline ones.
    for (size_t i = 0; i < unauth.requests.size(); ++i) {
        if (!unauth.multibulk[i]) continue;
        check(unauth.requests[i].size() <= static_cast<size_t>(fulmar::proto::kRespUnauthMaxArgs));
        for (const std::string& a : unauth.requests[i])
            check(a.size() <= static_cast<size_t>(fulmar::proto::kRespUnauthMaxBulkLen));
    }
    return 0;
}
