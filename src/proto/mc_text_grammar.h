// memcached classic text protocol: the grammar of each command, one table.
//
// Any thread; constants and pure functions. This is the grammar half of the
// command table: the name (and aliases) that select a command, how many
// tokens its line may have, whether a data block follows, and the function
// that reads its line's tokens into a McTextRequest. McTextParser dispatches
// through it; the engine's table (src/engine/mc_commands.h) takes name,
// arity and line parser from here and adds the semantics (read/write/admin,
// key positions, execute), so no fact of a command is written twice.
//
//   kMcTextGrammar[id - 1], id = McTextCommand (kNone has no entry)
//   +------+---------+-----------------+------+--------------+
//   | name | command | tokens min..max | data | parse_line() |
//   +------+---------+-----------------+------+--------------+
//   tokens count the command name; max 0 = no limit. The arity check runs
//   before parse_line(), as memcached checks ntokens first in every branch.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "proto/mc_text.h"

namespace fulmar::proto {

// memcached's MAX_TOKENS is 24, the terminal token included: only the first
// 23 tokens of a line are looked at before the command runs. Fixed-arity
// commands need at most 7 (cas ... noreply), so 8 tell "too many" apart.
inline constexpr size_t kMcMaxFixedTokens = 8;

// The first tokens of a command line, split on spaces.
struct McTextTokens {
    std::array<std::string_view, kMcMaxFixedTokens> v;
    size_t n = 0;
    bool more = false;  // the line has more than kMcMaxFixedTokens tokens

    // Token count as the arity checks use it (memcached's ntokens - 1).
    size_t count() const { return more ? kMcMaxFixedTokens + 1 : n; }
    std::string_view last() const { return v[n - 1]; }
};

// Reads a command line's tokens (arity already checked) into `req`, whose
// command is set; kNone when the line is good. Checks run in memcached's
// order: the first failing one picks the reply, and noreply may or may not
// be known by then.
using McTextLineParser = McTextError (*)(std::string_view line, const McTextTokens& t,
                                         McTextRequest& req);

// The line parsers, one per token shape (mc_text.cc).
McTextError parse_mc_get_tokens(std::string_view line, const McTextTokens& t, McTextRequest& req);
McTextError parse_mc_storage_tokens(std::string_view line, const McTextTokens& t,
                                    McTextRequest& req);
McTextError parse_mc_delete_tokens(std::string_view line, const McTextTokens& t,
                                   McTextRequest& req);
McTextError parse_mc_key_number_tokens(std::string_view line, const McTextTokens& t,
                                       McTextRequest& req);
McTextError parse_mc_flush_all_tokens(std::string_view line, const McTextTokens& t,
                                      McTextRequest& req);
McTextError parse_mc_verbosity_tokens(std::string_view line, const McTextTokens& t,
                                      McTextRequest& req);
McTextError parse_mc_stats_tokens(std::string_view line, const McTextTokens& t, McTextRequest& req);
// version, quit: memcached ignores any tokens after the name.
McTextError parse_mc_bare_tokens(std::string_view line, const McTextTokens& t, McTextRequest& req);

enum class McTextData : uint8_t {
    kNone,
    kBlock,  // <bytes> of data and "\r\n" follow the line (storage commands)
};

struct McTextGrammar {
    std::string_view name;
    McTextCommand command = McTextCommand::kNone;
    uint8_t min_tokens = 1;
    uint8_t max_tokens = 0;  // 0: no limit
    McTextData data = McTextData::kNone;
    McTextLineParser parse_line = nullptr;
};

inline constexpr uint8_t kMcAnyTokens = 0;

// In McTextCommand order, from kGet.
inline constexpr std::array<McTextGrammar, 20> kMcTextGrammar = {{
    //   get|gets <key>+                gat|gats <exptime> <key>*
    {"get", McTextCommand::kGet, 2, kMcAnyTokens, McTextData::kNone, parse_mc_get_tokens},
    {"gets", McTextCommand::kGets, 2, kMcAnyTokens, McTextData::kNone, parse_mc_get_tokens},
    {"gat", McTextCommand::kGat, 2, kMcAnyTokens, McTextData::kNone, parse_mc_get_tokens},
    {"gats", McTextCommand::kGats, 2, kMcAnyTokens, McTextData::kNone, parse_mc_get_tokens},
    //   <cmd> <key> <flags> <exptime> <bytes> [noreply]
    {"set", McTextCommand::kSet, 5, 6, McTextData::kBlock, parse_mc_storage_tokens},
    {"add", McTextCommand::kAdd, 5, 6, McTextData::kBlock, parse_mc_storage_tokens},
    {"replace", McTextCommand::kReplace, 5, 6, McTextData::kBlock, parse_mc_storage_tokens},
    {"append", McTextCommand::kAppend, 5, 6, McTextData::kBlock, parse_mc_storage_tokens},
    {"prepend", McTextCommand::kPrepend, 5, 6, McTextData::kBlock, parse_mc_storage_tokens},
    //   cas <key> <flags> <exptime> <bytes> <cas unique> [noreply]
    {"cas", McTextCommand::kCas, 6, 7, McTextData::kBlock, parse_mc_storage_tokens},
    //   delete <key> [0] [noreply]
    {"delete", McTextCommand::kDelete, 2, 4, McTextData::kNone, parse_mc_delete_tokens},
    //   incr|decr <key> <delta> [noreply]     touch <key> <exptime> [noreply]
    {"incr", McTextCommand::kIncr, 3, 4, McTextData::kNone, parse_mc_key_number_tokens},
    {"decr", McTextCommand::kDecr, 3, 4, McTextData::kNone, parse_mc_key_number_tokens},
    {"touch", McTextCommand::kTouch, 3, 4, McTextData::kNone, parse_mc_key_number_tokens},
    //   flush_all [delay] [noreply]      verbosity <level> [noreply]
    {"flush_all", McTextCommand::kFlushAll, 1, 3, McTextData::kNone, parse_mc_flush_all_tokens},
    {"verbosity", McTextCommand::kVerbosity, 2, 3, McTextData::kNone, parse_mc_verbosity_tokens},
    //   version | quit | stats [args]
    {"version", McTextCommand::kVersion, 1, kMcAnyTokens, McTextData::kNone, parse_mc_bare_tokens},
    {"quit", McTextCommand::kQuit, 1, kMcAnyTokens, McTextData::kNone, parse_mc_bare_tokens},
    {"stats", McTextCommand::kStats, 1, kMcAnyTokens, McTextData::kNone, parse_mc_stats_tokens},
    //   ring: Fulmar's; no arguments (a client that sends some is told ERROR,
    //   so a later form with arguments cannot be mistaken for this one)
    {"ring", McTextCommand::kRing, 1, 1, McTextData::kNone, parse_mc_bare_tokens},
}};

// Other names memcached accepts for a command.
struct McTextAlias {
    std::string_view name;
    McTextCommand command;
};
inline constexpr std::array<McTextAlias, 1> kMcTextAliases = {{
    {"bget", McTextCommand::kGet},  // memcached's undocumented alias
}};

constexpr bool mc_text_grammar_in_order() {
    for (size_t i = 0; i < kMcTextGrammar.size(); ++i)
        if (static_cast<size_t>(kMcTextGrammar[i].command) != i + 1) return false;
    return true;
}
static_assert(mc_text_grammar_in_order(), "kMcTextGrammar[i] is command i + 1");
static_assert(kMcTextGrammar.size() == static_cast<size_t>(McTextCommand::kRing),
              "one grammar entry per command");

// The grammar of `c`; c must not be kNone.
constexpr const McTextGrammar& mc_text_grammar(McTextCommand c) {
    return kMcTextGrammar[static_cast<size_t>(c) - 1];
}

// The command a line's first token names (or an alias of), else kNone.
constexpr McTextCommand find_mc_text_command(std::string_view name) {
    for (const McTextGrammar& g : kMcTextGrammar)
        if (g.name == name) return g.command;
    for (const McTextAlias& a : kMcTextAliases)
        if (a.name == name) return a.command;
    return McTextCommand::kNone;
}

}  // namespace fulmar::proto
