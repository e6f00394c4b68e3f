// wangge-jsbench: JetStream's own publish rate on a cluster, the ceiling for cluster
// mode's command stream (bench/cluster_load.sh). Publishes --count messages of --size
// bytes asynchronously (up to --pending unacknowledged) to a scratch stream with
// --replicas replicas, waits for every acknowledgement, and prints the rate. The
// stream is deleted afterwards.
#include <chrono>
#include <iostream>
#include <nats/nats.h>
#include <string>

#include <CLI/CLI.hpp>
#include <spdlog/fmt/fmt.h>

namespace {

bool Check(natsStatus s, const char* what) {
  if (s == NATS_OK) return true;
  std::cerr << "jsbench: " << what << ": " << natsStatus_GetText(s) << "\n";
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  std::string servers = "nats://127.0.0.1:4222";
  int count = 200'000, size = 400, replicas = 3, pending = 4096;
  CLI::App app{"JetStream async publish rate (the ceiling of wangge's command stream)"};
  app.add_option("--cluster", servers, "A NATS server URL")->capture_default_str();
  app.add_option("--count", count, "Messages")->capture_default_str();
  app.add_option("--size", size, "Bytes per message (a report command is about 400)")
      ->capture_default_str();
  app.add_option("--replicas", replicas, "Replicas of the scratch stream")->capture_default_str();
  app.add_option("--pending", pending, "Most unacknowledged publishes")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  natsConnection* nc = nullptr;
  jsCtx* js = nullptr;
  if (!Check(natsConnection_ConnectTo(&nc, servers.c_str()), "connect")) return 1;
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.PublishAsync.MaxPending = pending;
  if (!Check(natsConnection_JetStream(&js, nc, &jo), "JetStream")) return 1;

  const char* subjects[] = {"wangge-bench.x"};
  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  cfg.Name = "WANGGE_BENCH";
  cfg.Subjects = subjects;
  cfg.SubjectsLen = 1;
  cfg.Replicas = replicas;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  js_DeleteStream(js, cfg.Name, nullptr, &jerr);
  if (!Check(js_AddStream(nullptr, js, &cfg, nullptr, &jerr), "add stream")) return 1;

  const std::string payload(static_cast<size_t>(size), 'x');
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < count; ++i) {
    if (!Check(js_PublishAsync(js, subjects[0], payload.data(), size, nullptr), "publish")) {
      return 1;
    }
  }
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MaxWait = 60'000;
  if (!Check(js_PublishAsyncComplete(js, &po), "wait for acknowledgements")) return 1;
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << fmt::format("jetstream: {} messages of {} B, R={}: {:.1f} s, {:.0f} msg/s\n", count,
                           size, replicas, secs, count / secs);
  js_DeleteStream(js, cfg.Name, nullptr, &jerr);
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
  return 0;
}
