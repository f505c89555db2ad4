// The memcached text command table: one entry per command, its grammar
// facts the parser's, and facts that agree with what the commands do.
#include "engine/mc_commands.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "proto/mc_text.h"
#include "proto/mc_text_grammar.h"

namespace fulmar::engine {
namespace {

using proto::McTextCommand;

constexpr auto kLast = static_cast<size_t>(McTextCommand::kRing);

TEST(McTextCommands, EveryCommandHasExactlyOneEntry) {
    ASSERT_EQ(mc_text_commands().size(), kLast);
    std::set<std::string_view> names;
    for (size_t c = 1; c <= kLast; ++c) {
        const McTextSpec& spec = mc_text_command(static_cast<McTextCommand>(c));
        EXPECT_EQ(&spec, &mc_text_commands()[c - 1]);
        EXPECT_FALSE(spec.name.empty()) << c;
        EXPECT_NE(spec.execute, nullptr) << spec.name;
        EXPECT_NE(spec.parse, nullptr) << spec.name;
        EXPECT_TRUE(names.insert(spec.name).second) << "two entries named " << spec.name;
    }
}

TEST(McTextCommands, NamesArityAndParserAgreeWithTheParsersGrammar) {
    for (size_t c = 1; c <= kLast; ++c) {
        const auto cmd = static_cast<McTextCommand>(c);
        const McTextSpec& spec = mc_text_command(cmd);
        const proto::McTextGrammar& g = proto::mc_text_grammar(cmd);
        EXPECT_EQ(spec.name, g.name);
        EXPECT_EQ(proto::find_mc_text_command(spec.name), cmd) << spec.name;
        EXPECT_EQ(spec.arity.min, g.min_tokens) << spec.name;
        EXPECT_EQ(spec.arity.max, g.max_tokens) << spec.name;
        EXPECT_EQ(spec.parse, g.parse_line) << spec.name;
    }
    EXPECT_EQ(proto::find_mc_text_command("bget"), McTextCommand::kGet);
    EXPECT_EQ(proto::find_mc_text_command("GET"), McTextCommand::kNone);
}

// The parser reads a line by its entry: every name parses to its command,
// and one token too few (where the entry demands more than the name) is
// "ERROR", as memcached answers a wrong arity.
TEST(McTextCommands, TheParserDispatchesByTheTable) {
    for (const McTextSpec& spec : mc_text_commands()) {
        std::string line(spec.name);
        for (size_t i = 1; i < spec.arity.min; ++i)
            line += " 1";
        std::string in = line + "\r\n";
        if (spec.name == "set" || spec.name == "add" || spec.name == "replace" ||
            spec.name == "append" || spec.name == "prepend" || spec.name == "cas")
            in += "x\r\n";
        proto::McTextParser parser;
        proto::McTextRequest req;
        const proto::McTextResult r = parser.parse(in, req);
        EXPECT_EQ(req.command, proto::find_mc_text_command(spec.name)) << in;
        EXPECT_EQ(r.status, proto::ParseStatus::kComplete) << in;
        if (spec.arity.min > 1) {
            proto::McTextRequest short_req;
            const std::string short_line(spec.name);
            const proto::McTextResult s = parser.parse(short_line + "\r\n", short_req);
            EXPECT_EQ(s.error, proto::McTextError::kBadArity) << spec.name;
        }
    }
}

TEST(McTextCommands, FlagsAndKeysSayWhereACommandRuns) {
    for (const McTextSpec& spec : mc_text_commands()) {
        // Exactly one of: reads anywhere, writes on the owner, touches no
        // item, administers the node.
        EXPECT_TRUE(spec.has(kCmdRead) || spec.has(kCmdWrite) || spec.has(kCmdNoKey) ||
                    spec.has(kCmdAdmin))
            << spec.name;
        EXPECT_FALSE(spec.has(kCmdRead) && spec.has(kCmdWrite)) << spec.name;
        if (spec.has(kCmdNoKey) || spec.has(kCmdAllShards)) {
            EXPECT_TRUE(spec.keys.none()) << spec.name;
        } else {
            EXPECT_GE(spec.keys.step, 1) << spec.name << " names its keys";
        }
    }
    const McTextSpec& get = mc_text_command(McTextCommand::kGet);
    EXPECT_TRUE(get.has(kCmdRead));
    EXPECT_EQ(get.keys.first, 1);
    EXPECT_EQ(get.keys.last, -1);
    const McTextSpec& gat = mc_text_command(McTextCommand::kGat);
    EXPECT_TRUE(gat.has(kCmdWrite)) << "gat touches: its keys' owner runs it";
    EXPECT_EQ(gat.keys.first, 2);
    EXPECT_TRUE(mc_text_command(McTextCommand::kSet).keys.single());
    EXPECT_TRUE(mc_text_command(McTextCommand::kFlushAll).has(kCmdAllShards));
    EXPECT_TRUE(mc_text_command(McTextCommand::kQuit).has(kCmdCloses));
    EXPECT_TRUE(mc_text_command(McTextCommand::kIncr).has(kCmdRewritesNumber));
}

TEST(McTextCommands, TheKeyOfASingleKeyRequestComesDigested) {
    proto::McTextRequest req;
    req.command = McTextCommand::kDelete;
    req.key = "some-key";
    const store::KeyRef k = mc_text_key(req);
    EXPECT_EQ(k.key, "some-key");
    EXPECT_EQ(k.digest, store::digest_key("some-key"));
    req.command = McTextCommand::kGet;
    req.keys = "a b";
    req.key = "a";
    EXPECT_TRUE(mc_text_key(req).key.empty()) << "a multi-key command digests each key itself";
}

}  // namespace
}  // namespace fulmar::engine
