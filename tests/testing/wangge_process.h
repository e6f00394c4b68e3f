// `wangge serve` as a child process, and a minimal client for it (the process tests).
#pragma once

#include <chrono>
#include <cstdio>
#include <fcntl.h>
#include <fstream>
#include <iterator>
#include <spawn.h>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <utility>
#include <vector>

#include "tests/testing/builders.h"
#include "tests/testing/http_client.h"

extern char** environ;

namespace wangge::testing {

struct CliRun {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs the wangge binary with `args` (a shell word list) and collects what it prints.
// With `seconds`, it is killed after that long (exit code 124): for commands such as
// serve that run until stopped when they do not fail.
inline CliRun Wangge(const std::string& args, int seconds = 0) {
  CliRun run;
  std::string cmd = (seconds > 0 ? "timeout " + std::to_string(seconds) + " " : std::string()) +
                    std::string(WANGGE_BINARY) + " " + args + " 2>&1";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (pipe == nullptr) return run;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) run.output.append(buf, n);
  int status = ::pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

// Starts `args` (args[0] looked up in PATH) with stdout and stderr to the file `log` (a
// file, not a pipe: the child may write after the caller stops reading, and must not
// die of SIGPIPE for it). Returns its pid, 0 on failure.
inline pid_t Spawn(std::vector<std::string> args, const std::string& log) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDERR_FILENO, STDOUT_FILENO);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : 0;
}

// Starts `wangge serve` on an ephemeral port, with `extra` arguments; returns its pid and
// port (0 on failure). Its output goes to `data` + ".log".
inline std::pair<pid_t, uint16_t> StartServer(const std::string& data, const std::string& tokens,
                                              const std::vector<std::string>& extra = {}) {
  const std::string log = data + ".log";
  std::vector<std::string> args = {WANGGE_BINARY, "serve",       "--data",   data,  "--create",
                                   "--listen",    "127.0.0.1:0", "--tokens", tokens};
  args.insert(args.end(), extra.begin(), extra.end());
  const pid_t pid = Spawn(std::move(args), log);
  if (pid == 0) return {0, 0};
  // Its line "... on http://127.0.0.1:PORT ..." says it is up.
  for (int tries = 0; tries < 500; ++tries) {
    std::ifstream in(log);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const size_t at = text.find("http://127.0.0.1:");
    if (at != std::string::npos) {
      return {pid, static_cast<uint16_t>(std::stoi(text.substr(at + 17)))};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return {pid, 0};
}

using HttpReply = Reply;

// One request with the bearer `token` (none when empty), on a new connection.
inline Reply Request(uint16_t port, http::verb method, const std::string& target,
                     const std::string& token, const std::string& body = "",
                     const Headers& extra = {}) {
  Headers headers = Bearer(token);
  headers.insert(headers.end(), extra.begin(), extra.end());
  return Fetch(port, method, target, headers, body);
}

inline int Post(uint16_t port, const std::string& token, const std::string& id) {
  return Request(port, http::verb::post, "/v1/reports", token, ReportJson(id)).status;
}

}  // namespace wangge::testing
