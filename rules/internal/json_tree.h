// A small JSON tree built with simdjson on-demand that remembers where every value
// starts, so file loaders can name line and column in each error. Private to rules/.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace wangge::rules::internal {

struct JsonNode {
  enum class Type : uint8_t { kNull, kBool, kInt, kDouble, kString, kArray, kObject };
  Type type = Type::kNull;
  bool boolean = false;
  int64_t integer = 0;
  double number = 0;
  std::string string;
  std::vector<JsonNode> items;   // kArray
  std::vector<JsonNode> fields;  // kObject, in file order; each carries its key
  std::string key;               // the key of this value in its parent object
  size_t offset = 0;             // byte offset of the value

  // The field's value, or nullptr. REQUIRES: type == kObject.
  const JsonNode* Find(std::string_view name) const;
  bool is_number() const { return type == Type::kInt || type == Type::kDouble; }
  double as_double() const { return type == Type::kInt ? static_cast<double>(integer) : number; }
};

// Parses `text`. kInvalidArgument "SOURCE:LINE:COLUMN: malformed JSON: ..." on a syntax
// error, a duplicate key, or nesting deeper than 32 levels.
Result<JsonNode> ParseJsonTree(std::string_view text, std::string_view source);

// Collects every problem found in a file, each with its position. Not thread-safe.
class Problems {
 public:
  Problems(std::string_view text, std::string_view source) : text_(text), source_(source) {}

  // "SOURCE:LINE:COLUMN: PATH: MESSAGE".
  void Add(const JsonNode& at, std::string_view path, std::string_view message);
  bool empty() const { return lines_.empty(); }
  size_t size() const { return lines_.size(); }
  // kInvalidArgument listing every problem (up to 100), or OK.
  Status ToStatus(std::string_view what) const;

 private:
  std::string_view text_;
  std::string source_;
  std::vector<std::string> lines_;
};

// "LINE:COLUMN" (1-based) of a byte offset in `text`.
std::string LineColumn(std::string_view text, size_t offset);

}  // namespace wangge::rules::internal
