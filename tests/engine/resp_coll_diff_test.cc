// The set and hash commands against redis-server 7.0.15's own reply bytes:
// resp_coll_cases.inc (made by gen_resp_coll_cases.py from a real server)
// replayed through the owner's executor on two shards, case by case, each
// from an empty keyspace. Replies whose order is Redis's hash table's are
// compared as multisets of their elements (pairs kept together for the
// replies that hold fields and values), a scan's cursor exactly.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "resp_fixture.h"

namespace fulmar::engine {
namespace {

struct Case {
    int group;
    bool unordered;
    std::vector<std::string> args;
    std::string reply;
};

const std::vector<Case>& cases() {
    static const std::vector<Case> c = {
#include "resp_coll_cases.inc"
    };
    return c;
}

// The length of the one reply at the start of `s` (0 when it is cut).
size_t reply_len(std::string_view s) {
    const size_t eol = s.find("\r\n");
    if (eol == std::string_view::npos) return 0;
    const long n = std::strtol(std::string(s.substr(1, eol - 1)).c_str(), nullptr, 10);
    size_t at = eol + 2;
    if (s[0] == '$') return n < 0 ? at : at + static_cast<size_t>(n) + 2;
    if (s[0] != '*' && s[0] != '%' && s[0] != '~') return at;
    for (long i = 0; i < n; ++i) {
        const size_t len = reply_len(s.substr(at));
        if (len == 0) return 0;
        at += len;
    }
    return at;
}

// An array reply's header and its elements (grouped by `group`), sorted.
std::string canonical(std::string_view r, size_t group) {
    const size_t eol = r.find("\r\n");
    if (r.empty() || r[0] != '*' || eol == std::string_view::npos) return std::string(r);
    std::vector<std::string> items;
    size_t at = eol + 2;
    while (at < r.size()) {
        std::string item;
        for (size_t g = 0; g < group && at < r.size(); ++g) {
            const size_t len = reply_len(r.substr(at));
            if (len == 0) return std::string(r);
            item += r.substr(at, len);
            at += len;
        }
        items.push_back(item);
    }
    std::sort(items.begin(), items.end());
    std::string out(r.substr(0, eol + 2));
    for (const std::string& i : items)
        out += i;
    return out;
}

std::string canonical_for(const std::vector<std::string>& args, std::string_view r) {
    std::string name = args[0];
    for (char& c : name)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const bool pairs =
        name == "hgetall" || name == "hscan" || (name == "hrandfield" && args.size() == 4);
    if (name == "sscan" || name == "hscan") {
        // *2, the cursor, then the elements' array.
        const size_t head = std::string_view("*2\r\n").size();
        const size_t cursor = reply_len(r.substr(head));
        if (!r.starts_with("*2\r\n") || cursor == 0) return std::string(r);
        return std::string(r.substr(0, head + cursor)) +
               canonical(r.substr(head + cursor), pairs ? 2 : 1);
    }
    return canonical(r, pairs ? 2 : 1);
}

class RespCollDiff : public RespExec {};

TEST_F(RespCollDiff, RepliesAreRedisOwn) {
    int group = -1;
    for (const Case& c : cases()) {
        if (c.group != group) {
            group = c.group;
            ASSERT_EQ(run({"flushall"}), "+OK\r\n");
        }
        std::string cmd;
        for (const std::string& a : c.args)
            cmd += a + " ";
        const std::string got = run(c.args);
        if (c.unordered)
            EXPECT_EQ(canonical_for(c.args, got), canonical_for(c.args, c.reply))
                << "case " << c.group << ": " << cmd;
        else
            EXPECT_EQ(got, c.reply) << "case " << c.group << ": " << cmd;
    }
}

}  // namespace
}  // namespace fulmar::engine
