#include "metrics_push/metrics_pusher.h"

#include <prometheus/counter.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <cctype>
#include <mutex>

#include "metrics_push/curl_library.h"

namespace twinhub {

namespace {

constexpr auto kLogEvery = std::chrono::seconds(60);
constexpr size_t kMaxAnswerBytes = 300;

bool plainPathValue(const std::string& value) {
  if (value.empty()) return false;
  return std::all_of(value.begin(), value.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '.' || c == '_' || c == '-' || c == '~';
  });
}

std::string pathPair(const std::string& name, const std::string& value) {
  if (plainPathValue(value)) return "/" + name + "/" + value;
  // The Pushgateway's encoding for anything else (a '/', spaces, an empty value): base64url.
  return "/" + name + "@base64/" + (value.empty() ? "=" : base64Encode(value, true));
}

size_t keepAnswer(char* data, size_t size, size_t count, void* user) {
  auto* answer = static_cast<std::string*>(user);
  const size_t bytes = size * count;
  if (answer->size() < kMaxAnswerBytes) answer->append(data, std::min(bytes, kMaxAnswerBytes - answer->size()));
  return bytes;
}

}  // namespace

std::string base64Encode(const std::string& bytes, bool url_safe) {
  const char* table = url_safe ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                               : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t n = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    for (int shift : {18, 12, 6, 0}) out += table[(n >> shift) & 63];
  }
  if (i + 1 == bytes.size()) {
    uint32_t n = uint8_t(bytes[i]) << 16;
    out += table[(n >> 18) & 63];
    out += table[(n >> 12) & 63];
    out += "==";
  } else if (i + 2 == bytes.size()) {
    uint32_t n = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8);
    out += table[(n >> 18) & 63];
    out += table[(n >> 12) & 63];
    out += table[(n >> 6) & 63];
    out += '=';
  }
  return out;
}

std::string pushGroupingPath(const std::string& job, const std::vector<std::pair<std::string, std::string>>& grouping) {
  std::string path = "/metrics" + pathPair("job", job);
  for (const auto& [name, value] : grouping) path += pathPair(name, value);
  return path;
}

MetricsPusher::MetricsPusher(PushTarget target, std::shared_ptr<prometheus::Registry> registry, LogSink log)
    : target_(std::move(target)), registry_(std::move(registry)), log_(std::move(log)) {
  // Loaded here, on the owner's thread, so that a missing libcurl is said at start.
  curl_ = curlLibrary(&curl_error_);
  if (curl_ == nullptr) log_(Level::kWarn, "metrics push: " + curl_error_);
  group_url_ = target_.url + pushGroupingPath(target_.job, target_.grouping);
  failures_ = &prometheus::BuildCounter()
                   .Name("twinhub_metrics_push_failures_total")
                   .Help("Pushes to the Pushgateway (metrics_push) that failed: unreachable, timed out or not answered 2xx")
                   .Register(*registry_)
                   .Add({});
}

MetricsPusher::~MetricsPusher() { stop(); }

void MetricsPusher::start() {
  if (started_) return;
  started_ = true;
  thread_ = std::thread([this] { run(); });
}

void MetricsPusher::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void MetricsPusher::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    std::string why;
    if (request(false, &why)) succeeded();
    else failed(why);
    lock.lock();
    wake_.wait_for(lock, std::chrono::milliseconds(target_.interval_ms), [this] { return stopping_; });
  }
  lock.unlock();
  std::string why;
  const bool remove = target_.delete_on_exit;
  if (request(remove, &why)) {
    log_(Level::kInfo, std::string("metrics push: ") + (remove ? "deleted " : "final push to ") + group_url_);
  } else {
    failures_->Increment();
    log_(Level::kWarn, std::string("metrics push: the ") + (remove ? "delete" : "final push") + " failed: " + why);
  }
}

bool MetricsPusher::request(bool remove, std::string* why) {
  if (curl_ == nullptr) {
    *why = curl_error_;
    return false;
  }
  const CurlLibrary& c = *curl_;
  CURL* curl = c.easy_init();
  if (curl == nullptr) {
    *why = "curl_easy_init failed";
    return false;
  }
  std::string body;
  if (!remove) body = prometheus::TextSerializer().Serialize(registry_->Collect());
  std::string answer;
  char error[CURL_ERROR_SIZE] = {0};
  curl_slist* headers = c.slist_append(nullptr, "Content-Type: text/plain; version=0.0.4; charset=utf-8");
  c.easy_setopt(curl, CURLOPT_URL, group_url_.c_str());
  c.easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // threads: no SIGALRM for timeouts
  c.easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(target_.timeout_ms));
  c.easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(target_.timeout_ms));
  c.easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  c.easy_setopt(curl, CURLOPT_WRITEFUNCTION, keepAnswer);
  c.easy_setopt(curl, CURLOPT_WRITEDATA, &answer);
  c.easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  if (!target_.user.empty()) {
    c.easy_setopt(curl, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    c.easy_setopt(curl, CURLOPT_USERNAME, target_.user.c_str());
    c.easy_setopt(curl, CURLOPT_PASSWORD, target_.password.c_str());
  }
  if (remove) {
    c.easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "DELETE");
  } else {
    c.easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    c.easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "PUT");
    c.easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    c.easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  CURLcode code = c.easy_perform(curl);
  long status = 0;
  c.easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  c.slist_free_all(headers);
  c.easy_cleanup(curl);
  if (code != CURLE_OK) {
    *why = group_url_ + ": " + (error[0] ? error : c.easy_strerror(code));
    return false;
  }
  if (status < 200 || status > 299) {
    while (!answer.empty() && std::isspace(static_cast<unsigned char>(answer.back()))) answer.pop_back();
    *why = group_url_ + ": HTTP " + std::to_string(status) + (answer.empty() ? "" : " (" + answer + ")");
    return false;
  }
  return true;
}

void MetricsPusher::failed(const std::string& why) {
  failures_->Increment();
  ++failed_since_ok_;
  ++held_;
  const auto now = std::chrono::steady_clock::now();
  if (logged_failure_ && now - last_log_ < kLogEvery) return;
  const std::string held = held_ > 1 ? " (" + std::to_string(held_ - 1) + " like it since the last such line)" : "";
  log_(Level::kWarn, "metrics push failed: " + why + held);
  held_ = 0;
  last_log_ = now;
  logged_failure_ = true;
}

void MetricsPusher::succeeded() {
  if (!ever_ok_) {
    log_(Level::kInfo, "metrics push to " + group_url_ + " every " + std::to_string(target_.interval_ms) + " ms: ok");
  } else if (failed_since_ok_ > 0) {
    log_(Level::kInfo, "metrics push works again after " + std::to_string(failed_since_ok_) + " failure(s)");
  }
  ever_ok_ = true;
  failed_since_ok_ = 0;
  held_ = 0;
  logged_failure_ = false;
}

}  // namespace twinhub
