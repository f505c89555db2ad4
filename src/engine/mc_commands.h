// The memcached classic text commands' table: one entry per McTextCommand,
// read by the parser (through its grammar half), the classic executor, the
// session and the router.
//
// Any thread; constants. The grammar facts (name, arity, line parser) live
// in proto/mc_text_grammar.h, since src/proto may not depend on the engine;
// each entry here copies them from there at compile time and adds what the
// command does (flags, key positions, execute: mc_classic.cc), so every fact
// is written once. The entry shape is engine/command.h's, shared with the
// RESP commands to come.
#pragma once

#include <span>

#include "engine/command.h"
#include "proto/mc_text.h"
#include "proto/mc_text_grammar.h"
#include "store/digest.h"

namespace fulmar::engine {

using McTextSpec = CommandSpec<proto::McTextRequest, proto::McTextLineParser>;

// Every entry, in McTextCommand order from kGet (kNone has none).
std::span<const McTextSpec> mc_text_commands();

// The entry of `c`; c must not be kNone.
const McTextSpec& mc_text_command(proto::McTextCommand c);

// `req`'s key with its digest when its command has exactly one key (as an
// entry's execute takes it), else an empty KeyRef.
store::KeyRef mc_text_key(const proto::McTextRequest& req);

}  // namespace fulmar::engine
