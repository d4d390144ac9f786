// The demo's process supervisor: every program the demo starts (hubs, agent-sims, sidecars, the
// aggregator, migrate) is a child here, in its own process group, with its output in a log file of
// the run directory. stopAll() ends them all (SIGCONT first, so that a frozen hub can take its
// SIGTERM, then SIGKILL after a grace period); the children also get SIGKILL from the kernel if the
// demo itself dies (PR_SET_PDEATHSIG), so nothing outlives a run that was killed -9.
//
// Main thread only: PR_SET_PDEATHSIG is tied to the thread that forked.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace twinhub::ctl::demo {

class Child {
 public:
  Child(std::string name, pid_t pid, std::string log_path) : name_(std::move(name)), pid_(pid), log_path_(std::move(log_path)) {}
  const std::string& name() const { return name_; }
  pid_t pid() const { return pid_; }
  const std::string& logPath() const { return log_path_; }
  // Sends `sig` to the child's process group.
  void signal(int sig) const;
  // Reaps without blocking; true while it runs.
  bool running();
  // Waits for exit up to `timeout`; the exit status (128+signal when killed) or nullopt.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  // Everything it printed so far.
  std::string output() const;
  // VmRSS in bytes (0 once it has exited).
  size_t rssBytes() const;
  // Proportional set size (/proc/PID/smaps_rollup): each shared page divided among the processes
  // that map it, so a sum over processes counts shared library code once. 0 when unreadable.
  size_t pssBytes() const;

 private:
  std::string name_;
  pid_t pid_;
  std::string log_path_;
  std::optional<int> status_;
};

class Supervisor {
 public:
  explicit Supervisor(std::string run_dir) : run_dir_(std::move(run_dir)) {}
  ~Supervisor() { stopAll(); }
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Starts `program` with `args`; output to <run_dir>/logs/<name>.log (appended, so a restarted
  // child keeps one log). Returns null and sets *error when the program cannot be started.
  Child* start(const std::string& name, const std::string& program, const std::vector<std::string>& args,
               std::string* error);
  // SIGTERM to every child still running (newest first), then SIGKILL after `grace`.
  void stopAll(std::chrono::milliseconds grace = std::chrono::milliseconds(3000));
  // Stops one child the same way.
  static void stop(Child& child, std::chrono::milliseconds grace);

 private:
  std::string run_dir_;
  std::vector<std::unique_ptr<Child>> children_;
};

// Waits until `condition` holds, polling every 20 ms, or `timeout` passes or a stop is requested.
bool waitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

}  // namespace twinhub::ctl::demo
