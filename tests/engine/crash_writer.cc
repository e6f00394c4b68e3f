// Child process of the SIGKILL durability test: opens (or creates) a data directory
// and appends reports and transitions from several producer threads, printing one
// line per acknowledged command ("R <id>" or "T <id> accept") to stdout with a
// single write(2) each, until it is killed.
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

}  // namespace

int main(int argc, char** argv) {
  using namespace wangge;
  if (argc != 4) {
    std::fprintf(stderr, "usage: crash_writer DATA_DIR PREFIX PRODUCERS\n");
    return 2;
  }
  engine::EngineOptions options;
  options.store.path = argv[1];
  options.store.create_if_missing = true;
  SystemClock clock;
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
        auto r = engine.sequencer().Submit(testing::ReportCommand(id)).get();
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
  for (auto& t : threads) t.join();
  return 0;
}
