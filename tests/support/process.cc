#include "support/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace twinhub::test {

namespace {

std::string makeTempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") + "/twinhub-test-XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (!mkdtemp(buf.data())) throw std::runtime_error("mkdtemp " + pattern + ": " + std::strerror(errno));
  return std::string(buf.data());
}

// "VmRSS:     12345 kB" -> bytes; 0 when the process or the field is gone.
size_t statusField(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, field.size(), field) == 0 && line.size() > field.size() && line[field.size()] == ':') {
      return std::strtoull(line.c_str() + field.size() + 1, nullptr, 10) * 1024;
    }
  }
  return 0;
}

}  // namespace

std::string binPath(const std::string& name) { return std::string(TWINHUB_BIN_DIR) + "/" + name; }

TempDir::TempDir() : path_(makeTempDir()) {}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::write(const std::string& name, const std::string& content) const {
  std::string full = path_ + "/" + name;
  // Write then rename, so a process reloading the file never sees half of it.
  std::string tmp = full + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << content;
    if (!out) throw std::runtime_error("write " + tmp + " failed");
  }
  std::filesystem::rename(tmp, full);
  return full;
}

bool waitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
}

Process::Process(const std::string& program, const std::vector<std::string>& args, const std::vector<std::string>& env) {
  std::string dir = makeTempDir();
  log_path_ = dir + "/output.log";
  int log_fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) throw std::runtime_error("open " + log_path_ + ": " + std::strerror(errno));

  // Everything the child needs is prepared before fork: after it, only async-signal-safe calls.
  std::vector<std::string> argv_storage;
  argv_storage.push_back(program);
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& arg : argv_storage) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_storage = env;
  for (char** e = environ; *e; ++e) {
    std::string entry = *e;
    const std::string name = entry.substr(0, entry.find('=') + 1);
    bool replaced = false;
    for (const std::string& mine : env) replaced = replaced || mine.rfind(name, 0) == 0;
    if (!replaced) env_storage.push_back(entry);
  }
  std::vector<char*> envp;
  for (auto& entry : env_storage) envp.push_back(entry.data());
  envp.push_back(nullptr);
  pid_t parent = getpid();

  pid_t pid = fork();
  if (pid < 0) {
    int err = errno;
    ::close(log_fd);
    throw std::runtime_error("fork: " + std::string(std::strerror(err)));
  }
  if (pid == 0) {
    // A crashed test run must not leave sidecars behind.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd >= 0) dup2(null_fd, 0);
    dup2(log_fd, 1);
    dup2(log_fd, 2);
    // Test sockets and pipes are not the child's business (most are O_CLOEXEC already).
    close_range(3, ~0U, 0);
    // Catch2 installs handlers and the test may block signals; the child starts clean.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig : {SIGPIPE, SIGTERM, SIGINT, SIGHUP}) ::signal(sig, SIG_DFL);
    execve(program.c_str(), argv.data(), envp.data());
    const char msg[] = "exec failed\n";
    ssize_t ignored = ::write(2, msg, sizeof msg - 1);
    (void)ignored;
    _exit(127);
  }
  ::close(log_fd);
  pid_ = pid;
}

Process::~Process() {
  if (pid_ > 0 && !exit_status_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (std::getenv("TWINHUB_KEEP_TEST_LOGS")) return;
  std::error_code ec;
  std::filesystem::remove_all(std::filesystem::path(log_path_).parent_path(), ec);
}

void Process::signal(int sig) {
  if (pid_ > 0 && running()) ::kill(pid_, sig);
}

std::optional<int> Process::wait(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!exit_status_) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      if (WIFEXITED(status)) exit_status_ = WEXITSTATUS(status);
      else if (WIFSIGNALED(status)) exit_status_ = 128 + WTERMSIG(status);
      else continue;  // stopped/continued: not an exit
      break;
    }
    if (r < 0 && errno != EINTR) {
      exit_status_ = -1;  // not our child any more; nothing to wait for
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(2ms);
  }
  return exit_status_;
}

bool Process::running() { return !wait(0ms).has_value(); }

std::string Process::output() const {
  std::ifstream in(log_path_, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string Process::waitForOutput(const std::string& pattern, std::chrono::milliseconds timeout, int nth) {
  const std::regex re(pattern, std::regex::ECMAScript);
  std::string found;
  auto search = [&]() {
    std::istringstream in(output());
    std::string line;
    int seen = 0;
    while (std::getline(in, line)) {
      std::smatch m;
      if (std::regex_search(line, m, re) && seen++ == nth) {
        found = m.size() > 1 ? m[1].str() : m[0].str();
        return true;
      }
    }
    return false;
  };
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    // Checked before searching, so that what an exited process printed last is still read.
    bool exited = !running();
    if (search()) return found;
    if (exited) return "";
    std::this_thread::sleep_for(5ms);
  }
  return search() ? found : "";
}

size_t Process::rssBytes() const { return statusField(pid_, "VmRSS"); }
size_t Process::rssAnonBytes() const { return statusField(pid_, "RssAnon"); }

}  // namespace twinhub::test
