// MetricsPusher: pushes a prometheus-cpp registry to a Prometheus Pushgateway from its own thread,
// so that no event loop ever waits on HTTP. Used by the sidecar (`metrics_push:` in its config).
//
// Every interval it PUTs the registry's text exposition to URL/metrics/job/JOB/LABEL/VALUE...
// (PUT: the group's metrics are replaced as a whole, like prometheus-cpp's Gateway::Push). At
// stop() it pushes once more (the last counts of a drain are not lost) or, with delete_on_exit,
// DELETEs the group. A push that fails is counted in twinhub_metrics_push_failures_total (in the
// same registry, so the next push that works carries the count) and logged, at most one line a
// minute with the count in between; it is never fatal.
//
// Why not prometheus-cpp's Gateway (libprometheus-cpp-push 1.0.1, Debian 12): it sets no curl
// timeout, so a gateway that accepts connections and never answers (frozen, or a black hole)
// would hold the pushing thread forever, count nothing, and hang the final push at exit; it
// also writes the gateway's answers to stdout and puts label values in the path unescaped.
// This uses libcurl directly (the library Gateway uses; loaded at the first pusher, see
// curl_library.h) with a timeout, and prometheus-cpp's TextSerializer for the body, as Gateway does.
//
// Threads: the constructor, start() and stop() on one owner thread; the pushing thread does the
// rest. The log sink is called from the pushing thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace prometheus {
class Registry;
class Counter;
}  // namespace prometheus

namespace twinhub {

struct CurlLibrary;

struct PushTarget {
  std::string url;  // http(s)://host:port, optionally with a path prefix; no trailing '/'
  std::string job;
  std::vector<std::pair<std::string, std::string>> grouping;  // label name, value (after job)
  uint32_t interval_ms = 10000;
  uint32_t timeout_ms = 2000;  // per request, connect included
  bool delete_on_exit = false;
  std::string user;      // basic auth when not empty
  std::string password;  // never logged
};

// The grouping key's path, "/metrics/job/JOB/NAME/VALUE...": a value (or the job) that is not
// plain URL-safe text ([A-Za-z0-9._~-], not empty) is sent base64url-encoded as NAME@base64/VALUE,
// which the Pushgateway decodes.
std::string pushGroupingPath(const std::string& job, const std::vector<std::pair<std::string, std::string>>& grouping);
std::string base64Encode(const std::string& bytes, bool url_safe);

class MetricsPusher {
 public:
  enum class Level { kInfo, kWarn };
  using LogSink = std::function<void(Level, const std::string&)>;

  // Registers twinhub_metrics_push_failures_total in `registry`.
  MetricsPusher(PushTarget target, std::shared_ptr<prometheus::Registry> registry, LogSink log);
  ~MetricsPusher();  // stop()
  MetricsPusher(const MetricsPusher&) = delete;
  MetricsPusher& operator=(const MetricsPusher&) = delete;

  // Starts the thread; the first push goes out at once.
  void start();
  // The final push (or delete), then joins. Takes at most about two timeouts (a push under way,
  // then the last one). Idempotent.
  void stop();

  const std::string& groupUrl() const { return group_url_; }

 private:
  void run();
  // One request; true on a 2xx answer. `why` gets the reason otherwise.
  bool request(bool remove, std::string* why);
  void failed(const std::string& why);
  void succeeded();

  PushTarget target_;
  std::shared_ptr<prometheus::Registry> registry_;
  LogSink log_;
  std::string group_url_;
  const CurlLibrary* curl_ = nullptr;  // null when libcurl could not be loaded (curl_error_ says why)
  std::string curl_error_;
  prometheus::Counter* failures_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool started_ = false;
  // Pushing thread only.
  uint64_t failed_since_ok_ = 0;
  uint64_t held_ = 0;
  std::chrono::steady_clock::time_point last_log_{};
  bool logged_failure_ = false;
  bool ever_ok_ = false;
};

}  // namespace twinhub
