// Child process of the SIGKILL durability test: opens (or creates) a data directory
// and appends a mixed load until it is killed: reports of every severity and their
// acceptance from several producer threads, a ruleset activation now and then, and the
// deadline timers the engine fires on its own. Its clock runs 60,000 times faster than
// real time from the epoch the parent gives (the same for every run), so warnings and
// breaches of hours-long limits fall due within a second. Prints one line per acknowledged command
// ("R <id>", "T <id> accept", "A <version>") to stdout with a single write(2) each.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "engine/engine.h"
#include "tests/testing/builders.h"

namespace {

void Ack(const std::string& line) {
  std::string out = line + "\n";
  if (::write(STDOUT_FILENO, out.data(), out.size()) != static_cast<ssize_t>(out.size())) {
    std::_Exit(3);  // the parent has gone: nothing more to prove
  }
}

// Simulated time: `epoch` plus 60,000 × the real time since `real_start` (both Unix ms).
class FastClock final : public wangge::Clock {
 public:
  FastClock(int64_t epoch, int64_t real_start) : epoch_(epoch), real_start_(real_start) {}
  wangge::TimeMs Now() const override {
    return wangge::TimeMs{epoch_ + (real_.Now().ms - real_start_) * 60'000};
  }

 private:
  int64_t epoch_, real_start_;
  wangge::SystemClock real_;
};

}  // namespace

int main(int argc, char** argv) {
  using namespace wangge;
  if (argc != 5) {
    std::fprintf(stderr, "usage: crash_writer DATA_DIR PREFIX PRODUCERS EPOCH_MS\n");
    return 2;
  }
  engine::EngineOptions options;
  options.store.path = argv[1];
  options.store.create_if_missing = true;
  options.timers = true;
  options.timer_interval = std::chrono::milliseconds(10);
  const int64_t epoch = std::atoll(argv[4]);
  FastClock clock(epoch, epoch);
  auto opened = engine::Engine::Open(options, clock);
  if (!opened.ok()) {
    std::fprintf(stderr, "open: %s\n", opened.status().ToString().c_str());
    return 1;
  }
  auto& engine = **opened;
  const std::string prefix = argv[2];
  const int producers = std::atoi(argv[3]);
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      for (int i = 0;; ++i) {
        std::string id = prefix + "-" + std::to_string(p) + "-" + std::to_string(i);
        auto command = testing::ReportCommand(id);
        std::get<engine::Report>(command.body).severity = 1 + i % 4;
        auto r = engine.sequencer().Submit(std::move(command)).get();
        if (!r.ok()) std::_Exit(4);
        Ack("R " + id);
        if (i % 3 != 0) continue;
        auto t = engine.sequencer()
                     .Submit(testing::TransitionCommand(id, engine::Action::kAccept,
                                                        testing::Handler(r->state.office)))
                     .get();
        if (!t.ok()) std::_Exit(5);
        Ack("T " + id + " accept");
      }
    });
  }
  threads.emplace_back([&] {
    for (int n = 0;; ++n) {
      std::this_thread::sleep_for(std::chrono::milliseconds(40));
      const std::string version = prefix + "-" + std::to_string(n);
      engine::Command command{
          engine::Actor{"A-1", engine::Role::kAdmin, ""}, std::nullopt,
          engine::RulesActivation{testing::BuiltInRulesetAs("crash-" + version), "", ""}};
      auto r = engine.sequencer().Submit(std::move(command)).get();
      if (!r.ok()) std::_Exit(6);
      Ack("A crash-" + version);
    }
  });
  for (auto& t : threads) t.join();
  return 0;
}
