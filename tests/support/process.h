// Test support: child processes (the sidecar, agent-sims, nats-server) started with their output
// captured to a file, and waiting on conditions with a deadline instead of sleeping.
// Used from the test thread only.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace twinhub::test {

using namespace std::chrono_literals;

// Path of a binary built by this project, e.g. binPath("twinhub-sidecar").
std::string binPath(const std::string& name);
// A fresh temporary directory, removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  // Writes `content` to path()/name and returns the full path.
  std::string write(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

// Polls `condition` every few milliseconds until it holds or `timeout` passes.
bool waitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

// A child process; stdout and stderr both go to a log file. The destructor kills it (SIGKILL)
// if it still runs.
class Process {
 public:
  // `env`: NAME=VALUE entries added to (or replacing in) the test's environment for the child.
  Process(const std::string& program, const std::vector<std::string>& args, const std::vector<std::string>& env = {});
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  void signal(int sig);
  // Waits for exit; returns the exit status (128+signal when killed), or nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  bool running();
  // Everything the process printed so far.
  std::string output() const;
  // Waits until the output has a line matching the ECMAScript regex `pattern` at index `nth`
  // (0 = first match) and returns the first capture group (or the whole match when there is no
  // group). Returns "" on timeout.
  std::string waitForOutput(const std::string& pattern, std::chrono::milliseconds timeout, int nth = 0);
  // Resident memory from /proc/PID/status, in bytes: VmRSS and RssAnon.
  size_t rssBytes() const;
  size_t rssAnonBytes() const;

 private:
  pid_t pid_ = -1;
  std::optional<int> exit_status_;
  std::string log_path_;
};

}  // namespace twinhub::test
