// wangge-fanout: how long a province-wide stats query takes to gather its towns' answers
// (bench/many_towns.sh). Asks every town in the command stream for its raw stats rows,
// --rounds times each way: one town at a time (a request, then the next) and all at once
// (cluster::Nats::RequestAll, what `wangge serve --cluster` does). Prints the median and
// the slowest round of each, and the bytes the towns answered.
#include <algorithm>
#include <chrono>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <spdlog/fmt/fmt.h>

#include "cluster/cluster.h"
#include "wire/stats_json.h"

namespace {

using wangge::cluster::Nats;

struct Round {
  double ms = 0;
  size_t bytes = 0;
  size_t answered = 0;
};

template <typename F>
Round Timed(F gather) {
  const auto start = std::chrono::steady_clock::now();
  Round r = gather();
  r.ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return r;
}

void Print(const char* way, std::vector<Round> rounds, size_t towns) {
  std::sort(rounds.begin(), rounds.end(), [](auto& a, auto& b) { return a.ms < b.ms; });
  std::cout << fmt::format(
      "{:<18} {} towns: median {:.1f} ms, slowest {:.1f} ms, {} answered, {} B\n", way, towns,
      rounds[rounds.size() / 2].ms, rounds.back().ms, rounds.back().answered, rounds.back().bytes);
}

}  // namespace

int main(int argc, char** argv) {
  wangge::cluster::ClusterOptions options;
  options.servers = "nats://127.0.0.1:4222";
  int rounds = 5;
  std::string group_by = "office";
  CLI::App app{"Province-wide stats: towns asked one at a time vs all at once"};
  app.add_option("--cluster", options.servers, "NATS server URLs")->capture_default_str();
  app.add_option("--rounds", rounds, "Queries each way")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  app.add_option("--group-by", group_by, "The query's grouping")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  auto nats = Nats::Connect(options, "fanout");
  if (!nats.ok()) {
    std::cerr << "fanout: " << nats.status().ToString() << "\n";
    return 1;
  }
  auto towns = (*nats)->StreamTowns();
  if (!towns.ok() || towns->empty()) {
    std::cerr << "fanout: no towns in the stream\n";
    return 1;
  }
  wangge::wire::StatsParams p;
  p.group_by = group_by;
  p.as_of = "2099-01-01T00:00:00+08:00";
  const std::string request = wangge::cluster::EncodeStatsRequest(p);
  std::vector<std::string> subjects;
  for (const auto& t : *towns) {
    subjects.push_back(std::string(wangge::cluster::kStatsPrefix) + t);
  }

  std::vector<Round> one_by_one, all_at_once;
  for (int i = 0; i < rounds; ++i) {
    one_by_one.push_back(Timed([&] {
      Round r;
      for (const auto& s : subjects) {
        auto answer = (*nats)->Request(s, request, options.timeout);
        if (answer.ok()) r.bytes += answer->size(), ++r.answered;
      }
      return r;
    }));
    all_at_once.push_back(Timed([&] {
      Round r;
      auto answers = (*nats)->RequestAll(subjects, request, options.timeout);
      if (!answers.ok()) return r;
      for (const auto& a : *answers) {
        if (a) r.bytes += a->size(), ++r.answered;
      }
      return r;
    }));
  }
  Print("one at a time:", one_by_one, subjects.size());
  Print("all at once:", all_at_once, subjects.size());
  return 0;
}
