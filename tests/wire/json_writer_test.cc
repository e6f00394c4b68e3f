#include "wire/json_writer.h"

#include <cmath>
#include <limits>

#include <gtest/gtest.h>

namespace wangge::wire {
namespace {

namespace json = boost::json;

// Rates, hours and coordinates are written as people write them: plain decimal, the
// shortest that reads back to the same double.
TEST(JsonWriterTest, NumbersArePlainDecimal) {
  const std::pair<double, const char*> cases[] = {
      {1.0, "1"},
      {0.9272, "0.9272"},
      {22.8, "22.8"},
      {0.0, "0"},
      {-3.5, "-3.5"},
      {29.874, "29.874"},
      {1e-7, "0.0000001"},
      {1e21, "1000000000000000000000"},
      {0.1 + 0.2, "0.30000000000000004"},
  };
  for (const auto& [d, text] : cases) {
    EXPECT_EQ(WriteJson(json::value(d)), text) << d;
    EXPECT_EQ(json::parse(WriteJson(json::value(d))).to_number<double>(), d) << text;
  }
  EXPECT_EQ(WriteJson(json::value(std::numeric_limits<double>::quiet_NaN())), "null");
  EXPECT_EQ(WriteJson(json::value(std::numeric_limits<double>::infinity())), "null");
  EXPECT_EQ(WriteJson(json::value(int64_t{-42})), "-42");
  EXPECT_EQ(WriteJson(json::value(uint64_t{18446744073709551615u})), "18446744073709551615");
}

TEST(JsonWriterTest, StructuresAndStringsAreWhatBoostJsonReadsBack) {
  const json::value v = json::object{
      {"closure_rate", 1.0},
      {"rows", json::array{json::object{{"key", "综治 \"quoted\"\n"}, {"n", 3}}, nullptr, true}},
      {"empty", json::object{}},
      {"none", json::array{}}};
  const std::string text = WriteJson(v);
  EXPECT_EQ(text, R"({"closure_rate":1,"rows":[{"key":"综治 \"quoted\"\n","n":3},null,true],)"
                  R"("empty":{},"none":[]})");
  EXPECT_EQ(json::parse(text).at("rows"), v.at("rows"));
}

}  // namespace
}  // namespace wangge::wire
