// fulmarctl's output: the admin socket's RESP replies (admin_commands.h)
// as aligned text for a person or as JSON for a program.
//
// The replies have three shapes: a table (a flat array of name/value bulk
// strings: STATUS, STATS, CONFIG SHOW), rows (an array of tables: STATS
// PER-WORKER, SLABS) and a status (+OK, +PONG). Any thread; pure functions.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "proto/resp_reply.h"

namespace fulmar::fulmarctl {

using Table = std::vector<std::pair<std::string, std::string>>;

// A table reply, checked: an even number of bulk (or simple) strings.
Result<Table, std::string> as_table(const proto::RespValue& v);
// An array of tables.
Result<std::vector<Table>, std::string> as_rows(const proto::RespValue& v);

// JSON: a string literal; a value as a number when it is a canonical
// unsigned integer ("0", "42", not "007" or "1e3"), else a string.
std::string json_string(std::string_view s);
std::string json_value(std::string_view s);

// "name  value" lines, names padded to the longest.
std::string table_text(const Table& t);
// {"name": value, ...} on one line.
std::string table_json(const Table& t);

// How rows read best as text: one line per row (SLABS: a few fields, many
// rows) or one column per row (STATS PER-WORKER: many counters, few workers).
enum class RowLayout : uint8_t { kLinePerRow, kColumnPerRow };
// Columns are the first row's names; `layout` as above.
std::string rows_text(const std::vector<Table>& rows, RowLayout layout);
// [{...}, {...}]
std::string rows_json(const std::vector<Table>& rows);

// CONFIG SHOW: values are spelled as in TOML ("adaptive" quoted, [1, 2],
// true), which is JSON for every key Fulmar has; `unset` is null.
std::string config_text(const Table& t);  // key = value lines
std::string config_json(const Table& t);

}  // namespace fulmar::fulmarctl
