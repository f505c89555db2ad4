// fulmarctl's side: replies turned into text and JSON, and top's rates from
// two samples and its screen.
#include <gtest/gtest.h>

#include <string>

#include "reply_format.h"
#include "top_view.h"

namespace fulmar::fulmarctl {
namespace {

using proto::RespValue;

RespValue bulk(std::string s) {
    RespValue v;
    v.type = RespValue::Type::kBulk;
    v.text = std::move(s);
    return v;
}

RespValue table_reply(const Table& t) {
    RespValue v;
    v.type = RespValue::Type::kArray;
    for (const auto& [k, x] : t) {
        v.elements.push_back(bulk(k));
        v.elements.push_back(bulk(x));
    }
    return v;
}

TEST(ReplyFormat, ATableReplyReadsBackAndAnErrorIsItsMessage) {
    auto t = as_table(table_reply({{"items", "3"}, {"pid", "12"}}));
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t.value(), (Table{{"items", "3"}, {"pid", "12"}}));
    RespValue err;
    err.type = RespValue::Type::kError;
    err.text = "ERR usage: SLABS";
    ASSERT_FALSE(as_table(err).ok());
    EXPECT_EQ(as_table(err).error(), "ERR usage: SLABS");
    RespValue odd = table_reply({{"a", "1"}});
    odd.elements.pop_back();
    EXPECT_FALSE(as_table(odd).ok());
}

TEST(ReplyFormat, JsonNumbersOnlyForCanonicalUnsignedIntegers) {
    EXPECT_EQ(json_value("0"), "0");
    EXPECT_EQ(json_value("18446744073709551615"), "\"18446744073709551615\"");  // > 19 digits
    EXPECT_EQ(json_value("1234567890123456789"), "1234567890123456789");
    EXPECT_EQ(json_value("007"), "\"007\"");
    EXPECT_EQ(json_value("-1"), "\"-1\"");
    EXPECT_EQ(json_value(""), "\"\"");
    EXPECT_EQ(json_string("a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\n\\u0001\"");
}

TEST(ReplyFormat, TableAsAlignedTextAndAsJson) {
    const Table t{{"items", "3"}, {"memcached_tcp_port", "22211"}, {"name", "x y"}};
    EXPECT_EQ(table_text(t),
              "items               3\n"
              "memcached_tcp_port  22211\n"
              "name                x y\n");
    EXPECT_EQ(table_json(t), R"({"items": 3, "memcached_tcp_port": 22211, "name": "x y"})");
}

TEST(ReplyFormat, RowsAsLinesColumnsAndJson) {
    const std::vector<Table> rows{{{"shard", "0"}, {"chunk_size", "64"}},
                                  {{"shard", "1"}, {"chunk_size", "1184"}}};
    EXPECT_EQ(rows_text(rows, RowLayout::kLinePerRow),
              "shard  chunk_size\n"
              "    0          64\n"
              "    1        1184\n");
    EXPECT_EQ(rows_text(rows, RowLayout::kColumnPerRow),
              "shard        0     1\n"
              "chunk_size  64  1184\n");
    EXPECT_EQ(rows_json(rows),
              R"([{"shard": 0, "chunk_size": 64}, {"shard": 1, "chunk_size": 1184}])");
    EXPECT_EQ(rows_text({}, RowLayout::kLinePerRow), "(none)\n");
}

TEST(ReplyFormat, ConfigValuesAreTomlSpellingsAndSoJson) {
    const Table t{{"dataplane.workers", "[1, 2]"},
                  {"dataplane.idle.mode", "\"adaptive\""},
                  {"dataplane.main_lcore", "unset"},
                  {"telemetry.enabled", "true"}};
    EXPECT_EQ(config_text(t),
              "dataplane.workers = [1, 2]\n"
              "dataplane.idle.mode = \"adaptive\"\n"
              "dataplane.main_lcore = unset\n"
              "telemetry.enabled = true\n");
    EXPECT_EQ(config_json(t), R"({"dataplane.workers": [1, 2], "dataplane.idle.mode": "adaptive", )"
                              R"("dataplane.main_lcore": null, "telemetry.enabled": true})");
}

TopSample sample(double t, uint64_t rx, uint64_t gets, uint64_t hits, uint64_t drops) {
    TopSample s;
    s.seconds = t;
    s.status = {{"dataplane_pid", "77"}, {"uptime_s", "5"}, {"workers", "2"}, {"items", "9"}};
    for (int w = 0; w < 2; ++w) {
        s.workers.push_back({{"worker", std::to_string(w)},
                             {"rx_packets", std::to_string(rx * (w + 1))},
                             {"tx_packets", "0"},
                             {"cmd_get", std::to_string(gets)},
                             {"get_hits", std::to_string(hits)},
                             {"get_misses", std::to_string(gets - hits)},
                             {"drop_not_ipv4", std::to_string(drops)},
                             {"drop_fragment", std::to_string(drops)},
                             {"shard_items", "4"}});
    }
    return s;
}

TEST(TopView, RatesArePerSecondDeltasPerWorkerAndInTotal) {
    const TopSample a = sample(10.0, 100, 50, 40, 1);
    const TopSample b = sample(12.0, 300, 150, 115, 2);
    const auto rows = top_rows(&a, b);
    ASSERT_EQ(rows.size(), 3u);
    EXPECT_EQ(rows[0].worker, "0");
    EXPECT_DOUBLE_EQ(rows[0].rx_pps, 100.0);
    EXPECT_DOUBLE_EQ(rows[1].rx_pps, 200.0);
    EXPECT_DOUBLE_EQ(rows[0].gets, 50.0);
    EXPECT_DOUBLE_EQ(rows[0].hit_pct, 75.0);
    EXPECT_DOUBLE_EQ(rows[0].drops, 1.0);  // two reasons, one more each, over 2 s
    EXPECT_EQ(rows[2].worker, "all");
    EXPECT_DOUBLE_EQ(rows[2].rx_pps, 300.0);
    EXPECT_EQ(rows[2].items, 8u);
}

TEST(TopView, TheFirstSampleHasNoRatesAndACounterGoingBackIsZero) {
    const auto first = top_rows(nullptr, sample(1.0, 100, 0, 0, 0));
    EXPECT_FALSE(first[0].has_rates);
    const TopSample before = sample(1.0, 500, 0, 0, 0);
    const auto back = top_rows(&before, sample(2.0, 100, 0, 0, 0));
    EXPECT_DOUBLE_EQ(back[0].rx_pps, 0.0);
}

TEST(TopView, TheScreenHasAHeaderAndOneLinePerWorkerAndTheTotal) {
    const TopSample a = sample(10.0, 100, 50, 40, 1);
    const TopSample b = sample(11.0, 30100, 150, 115, 1);
    const auto lines = top_lines(b, top_rows(&a, b), 3, 1.0, 80);
    EXPECT_NE(lines[0].find("sample 3"), std::string::npos);
    EXPECT_NE(lines[0].find("pid 77"), std::string::npos);
    size_t worker_lines = 0;
    for (const std::string& l : lines) {
        EXPECT_LE(l.size(), 80u);
        if (l.find("WORKER") != std::string::npos) {
            EXPECT_NE(l.find("GET/s"), std::string::npos);
        }
        if (l.starts_with("      0 ") || l.starts_with("      1 ") || l.starts_with("    all "))
            ++worker_lines;
    }
    EXPECT_EQ(worker_lines, 3u);
    EXPECT_NE(lines[4].find("30.0k"), std::string::npos) << lines[4];  // 30,000 rx/s
    const std::string json = top_json(b, top_rows(nullptr, b), 1);
    EXPECT_NE(json.find("\"rx_pps\": null"), std::string::npos);
    EXPECT_TRUE(json.starts_with("{\"sample\": 1, \"status\": {\"dataplane_pid\": 77"));
}

}  // namespace
}  // namespace fulmar::fulmarctl
