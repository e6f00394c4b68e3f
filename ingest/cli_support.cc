#include "ingest/cli_support.h"

#include <fstream>
#include <iostream>
#include <sstream>

namespace wangge::ingest {

int Fail(const Status& s) {
  std::cerr << "wangge: " << s.ToString() << "\n";
  return s.code() == StatusCode::kInvalidArgument ? kExitBadInput : kExitDataError;
}

Result<std::optional<TimeMs>> ParseTimeBound(const std::string& text, const char* field) {
  if (text.empty()) return std::optional<TimeMs>();
  auto t = ParseRfc3339(text.size() == 10 ? text + "T00:00:00+08:00" : text);
  if (!t.ok()) return InvalidArgument(t.status().message(), field);
  return std::optional<TimeMs>(*t);
}

Result<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot open '" + path + "'");
  std::stringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return IOError("reading '" + path + "' failed");
  return buf.str();
}

Result<std::unique_ptr<engine::Engine>> OpenReadOnly(const std::string& data, const Clock& clock) {
  engine::EngineOptions options;
  options.store.path = data;
  options.store.read_only = true;
  return engine::Engine::Open(options, clock);
}

Result<std::unique_ptr<engine::Engine>> OpenForWriting(const std::string& data, bool create,
                                                       bool sync, const Clock& clock, bool timers) {
  engine::EngineOptions options;
  options.store.path = data;
  options.store.create_if_missing = create;
  options.store.sync = sync;
  options.timers = timers;
  return engine::Engine::Open(options, clock);
}

}  // namespace wangge::ingest
