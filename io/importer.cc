#include "io/importer.h"

#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <ostream>

#include <fmt/format.h>

#include "core/mutex.h"
#include "wire/command_json.h"

namespace wangge::io {

using wire::CommandDecoder;
namespace {

using Clock = std::chrono::steady_clock;

Result<std::ifstream> OpenFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot open '" + path + "'");
  return in;
}

// Reads lines, stripping a trailing '\r'; calls fn(line_number, line) for non-empty ones.
template <typename Fn>
Status ForEachLine(const std::string& path, Fn fn) {
  WANGGE_ASSIGN_OR_RETURN(std::ifstream in, OpenFile(path));
  std::string line;
  uint64_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    if (!fn(number, line)) break;
  }
  if (in.bad()) return IOError("reading '" + path + "' failed");
  return Status::Ok();
}

void PrintProgress(std::ostream& out, uint64_t done, uint64_t total, Clock::time_point start) {
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  double rate = secs > 0 ? static_cast<double>(done) / secs : 0;
  double eta = rate > 0 && total > done ? static_cast<double>(total - done) / rate : 0;
  out << fmt::format("\rimport: {}/{} commands ({:.0f}%), {:.0f}/s, ETA {:.0f}s   ", done, total,
                     total ? 100.0 * static_cast<double>(done) / static_cast<double>(total) : 100.0,
                     rate, eta)
      << std::flush;
}

}  // namespace

// Shared with the completions, which may outlive nothing: Finish waits for them all.
struct CommandFeeder::State {
  Mutex mu;
  CondVar cv;
  size_t in_flight WANGGE_GUARDED_BY(mu) = 0;
  ImportReport report WANGGE_GUARDED_BY(mu);
  size_t max_errors = 0;  // set before the first command
  std::string source;     // set before the first command

  void Done(uint64_t line, const Result<engine::Outcome>& r) {
    MutexLock lock(mu);
    --in_flight;
    if (!r.ok()) {
      ++report.rejected;
      if (report.errors.size() < max_errors) {
        report.errors.push_back(fmt::format("{}:{}: {}", source, line, r.status().ToString()));
      }
    } else {
      switch (r->kind) {
        case engine::Outcome::Kind::kCreated:
          ++report.created;
          break;
        case engine::Outcome::Kind::kDuplicate:
          ++report.duplicates;
          break;
        case engine::Outcome::Kind::kActivated:
          ++report.activations;
          break;
        case engine::Outcome::Kind::kApplied:
          ++report.applied;
          if (r->state.status == engine::CaseStatus::kClosed) ++report.closed;
          break;
      }
    }
    cv.NotifyAll();
  }
};

CommandFeeder::CommandFeeder(engine::Engine& engine, size_t window, std::string source,
                             size_t max_errors)
    : engine_(engine), window_(std::max<size_t>(window, 1)), state_(std::make_shared<State>()) {
  state_->source = std::move(source);
  state_->max_errors = max_errors;
}

CommandFeeder::~CommandFeeder() { Finish(); }

void CommandFeeder::Feed(engine::Command command, uint64_t line) {
  {
    MutexLock lock(state_->mu);
    while (state_->in_flight >= window_) state_->cv.Wait(lock);
    ++state_->in_flight;
  }
  engine_.sequencer().Submit(std::move(command), [state = state_, line](Result<engine::Outcome> r) {
    state->Done(line, r);
  });
}

ImportReport CommandFeeder::Finish() {
  MutexLock lock(state_->mu);
  while (state_->in_flight > 0) state_->cv.Wait(lock);
  return state_->report;
}

Status ImportOptions::Validate() const {
  if (path.empty()) return InvalidArgument("import needs a file", "path");
  if (window == 0) return InvalidArgument("window must be positive", "window");
  return Status::Ok();
}

Result<uint64_t> CheckFile(const ImportOptions& options, std::optional<TimeMs>* first_at) {
  WANGGE_RETURN_IF_ERROR(options.Validate());
  CommandDecoder decoder;
  std::vector<std::string> bad;
  uint64_t bad_count = 0, total = 0;
  WANGGE_RETURN_IF_ERROR(ForEachLine(options.path, [&](uint64_t number, const std::string& line) {
    ++total;
    auto command = decoder.Decode(line);
    if (total == 1 && first_at != nullptr) *first_at = command.ok() ? command->at : std::nullopt;
    if (!command.ok()) {
      ++bad_count;
      if (bad.size() < options.max_errors) {
        bad.push_back(fmt::format("{}:{}:{}: {}", options.path, number, decoder.error_column(),
                                  command.status().ToString()));
      }
    }
    return true;
  }));
  if (bad_count > 0) {
    std::string msg =
        fmt::format("{} malformed line(s) in '{}'; nothing imported", bad_count, options.path);
    for (const auto& b : bad) msg += "\n  " + b;
    return InvalidArgument(std::move(msg));
  }
  return total;
}

Result<ImportReport> ImportFile(engine::Engine& engine, const ImportOptions& options,
                                std::ostream* progress) {
  WANGGE_RETURN_IF_ERROR(options.Validate());
  uint64_t total = options.prechecked_lines;
  if (total == 0) {
    // Pass 1: every line must decode before anything is written.
    WANGGE_ASSIGN_OR_RETURN(total, CheckFile(options));
  }
  CommandDecoder decoder;

  // Pass 2: submit in file order, at most `window` in flight.
  CommandFeeder feeder(engine, options.window, options.path, options.max_errors);
  const auto start = Clock::now();
  auto last_print = start;
  uint64_t submitted = 0;
  Status read = ForEachLine(options.path, [&](uint64_t number, const std::string& line) {
    auto command = decoder.Decode(line);
    if (!command.ok()) return true;  // changed since pass 1
    feeder.Feed(std::move(command).value(), number);
    ++submitted;
    if (progress && Clock::now() - last_print > std::chrono::milliseconds(500)) {
      last_print = Clock::now();
      PrintProgress(*progress, submitted, total, start);
    }
    return true;
  });
  ImportReport report = feeder.Finish();
  report.lines = total;
  if (progress) {
    PrintProgress(*progress, submitted, total, start);
    *progress << "\n";
  }
  WANGGE_RETURN_IF_ERROR(read);
  return report;
}

}  // namespace wangge::io
