#include "rules/internal/json_tree.h"

#include <algorithm>

#include <simdjson.h>

namespace wangge::rules::internal {
namespace {

namespace od = simdjson::ondemand;

constexpr int kMaxDepth = 32;

struct Builder {
  const char* begin;
  std::string_view text;
  std::string_view source;
  Status error;

  bool Fail(size_t offset, std::string message) {
    if (error.ok()) {
      error = InvalidArgument(std::string(source) + ":" + LineColumn(text, offset) + ": " +
                              std::move(message));
    }
    return false;
  }
  bool Syntax(const char* at, simdjson::error_code code) {
    size_t offset = at && at >= begin ? static_cast<size_t>(at - begin) : 0;
    return Fail(offset, std::string("malformed JSON: ") + simdjson::error_message(code));
  }

  bool Build(od::value v, JsonNode& out, int depth) {
    const char* at = v.raw_json_token().data();
    out.offset = static_cast<size_t>(at - begin);
    if (depth > kMaxDepth) return Fail(out.offset, "JSON nested deeper than 32 levels");
    od::json_type type;
    if (auto err = v.type().get(type)) return Syntax(at, err);
    simdjson::error_code err = simdjson::SUCCESS;
    switch (type) {
      case od::json_type::object: {
        out.type = JsonNode::Type::kObject;
        od::object obj;
        if ((err = v.get_object().get(obj))) return Syntax(at, err);
        for (auto field : obj) {
          std::string_view key;
          od::value child;
          if ((err = field.unescaped_key().get(key)) || (err = field.value().get(child))) {
            return Syntax(at, err);
          }
          for (const auto& existing : out.fields) {
            if (existing.key == key) {
              return Fail(static_cast<size_t>(child.raw_json_token().data() - begin),
                          "duplicate key \"" + std::string(key) + "\"");
            }
          }
          out.fields.emplace_back();
          out.fields.back().key.assign(key);
          if (!Build(child, out.fields.back(), depth + 1)) return false;
        }
        return true;
      }
      case od::json_type::array: {
        out.type = JsonNode::Type::kArray;
        od::array arr;
        if ((err = v.get_array().get(arr))) return Syntax(at, err);
        for (auto item : arr) {
          od::value child;
          if ((err = item.get(child))) return Syntax(at, err);
          out.items.emplace_back();
          if (!Build(child, out.items.back(), depth + 1)) return false;
        }
        return true;
      }
      case od::json_type::string: {
        out.type = JsonNode::Type::kString;
        std::string_view s;
        if ((err = v.get_string().get(s))) return Syntax(at, err);
        out.string.assign(s);
        return true;
      }
      case od::json_type::number: {
        od::number_type nt;
        if ((err = v.get_number_type().get(nt))) return Syntax(at, err);
        if (nt == od::number_type::signed_integer) {
          out.type = JsonNode::Type::kInt;
          if ((err = v.get_int64().get(out.integer))) return Syntax(at, err);
        } else {
          out.type = JsonNode::Type::kDouble;
          if ((err = v.get_double().get(out.number))) return Syntax(at, err);
        }
        return true;
      }
      case od::json_type::boolean:
        out.type = JsonNode::Type::kBool;
        if ((err = v.get_bool().get(out.boolean))) return Syntax(at, err);
        return true;
      case od::json_type::null: {
        out.type = JsonNode::Type::kNull;
        bool is_null = false;
        if ((err = v.is_null().get(is_null)) || !is_null) return Syntax(at, simdjson::N_ATOM_ERROR);
        return true;
      }
    }
    return Syntax(at, simdjson::INCORRECT_TYPE);
  }
};

}  // namespace

const JsonNode* JsonNode::Find(std::string_view name) const {
  for (const auto& field : fields) {
    if (field.key == name) return &field;
  }
  return nullptr;
}

std::string LineColumn(std::string_view text, size_t offset) {
  offset = std::min(offset, text.size());
  size_t line = 1, column = 1;
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return std::to_string(line) + ":" + std::to_string(column);
}

Result<JsonNode> ParseJsonTree(std::string_view text, std::string_view source) {
  simdjson::padded_string padded(text);
  od::parser parser;
  od::document doc;
  Builder b{padded.data(), text, source, Status::Ok()};
  if (auto err = parser.iterate(padded).get(doc)) {
    b.Syntax(padded.data(), err);
    return b.error;
  }
  od::value root;
  JsonNode out;
  // A scalar document is not a value in simdjson on-demand; our files are objects.
  auto err = doc.get_value().get(root);
  if (err) {
    const char* at = nullptr;
    if (doc.current_location().get(at)) at = padded.data();
    b.Syntax(at, err);
    return b.error;
  }
  if (!b.Build(root, out, 0)) return b.error;
  const char* trailing = nullptr;
  if (!doc.current_location().get(trailing)) {
    b.Fail(static_cast<size_t>(trailing - padded.data()), "trailing content after the JSON value");
    return b.error;
  }
  return out;
}

void Problems::Add(const JsonNode& at, std::string_view path, std::string_view message) {
  lines_.push_back(source_ + ":" + LineColumn(text_, at.offset) + ": " + std::string(path) + ": " +
                   std::string(message));
}

Status Problems::ToStatus(std::string_view what) const {
  if (lines_.empty()) return Status::Ok();
  std::string msg = std::to_string(lines_.size()) + " problem(s) in " + std::string(what) + ":";
  for (size_t i = 0; i < lines_.size() && i < 100; ++i) msg += "\n  " + lines_[i];
  return InvalidArgument(std::move(msg));
}

}  // namespace wangge::rules::internal
