// wangge-fsync-files: the file system's rate for durable photo writes, the reference of
// bench/media_load.sh. THREADS threads each write copies of FILE into DIR for SECONDS:
// create, write, fsync the file, fsync the directory (what makes a new file durable),
// as a photo store on plain files would. Prints files/s and MB/s.
#include <atomic>
#include <chrono>
#include <fcntl.h>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include <CLI/CLI.hpp>
#include <spdlog/fmt/fmt.h>

int main(int argc, char** argv) {
  std::string file, dir;
  int threads = 16;
  double seconds = 10;
  CLI::App app{"Durable file writes of one photo's bytes: the file system's ceiling"};
  app.add_option("--file", file, "The photo")->required()->check(CLI::ExistingFile);
  app.add_option("--dir", dir, "An empty directory on the disk to measure")
      ->required()
      ->check(CLI::ExistingDirectory);
  app.add_option("--threads", threads, "Writers")->capture_default_str();
  app.add_option("--seconds", seconds, "Duration")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  std::ifstream in(file, std::ios::binary);
  const std::string bytes(std::istreambuf_iterator<char>(in), {});
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dir_fd < 0) return 2;
  std::atomic<uint64_t> written{0};
  std::atomic<bool> failed{false};
  const auto end = std::chrono::steady_clock::now() +
                   std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                       std::chrono::duration<double>(seconds));
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (uint64_t n = 0; std::chrono::steady_clock::now() < end; ++n) {
        const std::string path = fmt::format("{}/{}-{}.jpg", dir, t, n);
        const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0 ||
            ::write(fd, bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size()) ||
            ::fsync(fd) != 0 || ::close(fd) != 0 || ::fsync(dir_fd) != 0) {
          failed = true;
          return;
        }
        ++written;
      }
    });
  }
  for (auto& th : pool) th.join();
  const double files = static_cast<double>(written.load());
  std::cout << fmt::format("files_per_s={:.1f} MB_per_s={:.1f}\n", files / seconds,
                           files * static_cast<double>(bytes.size()) / seconds / 1e6);
  return failed ? 1 : 0;
}
