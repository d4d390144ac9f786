#include "demo/caller_load.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <zmq.hpp>

namespace twinhub::ctl::demo {

namespace {
void deleteContext(void* c) { delete static_cast<zmq::context_t*>(c); }
}  // namespace

CallerLoad::CallerLoad(std::vector<LoadTarget> targets, int pause_ms, int timeout_ms, std::string run_id,
                       std::chrono::steady_clock::time_point zero)
    : targets_(std::move(targets)),
      pause_ms_(pause_ms),
      timeout_ms_(timeout_ms),
      run_id_(std::move(run_id)),
      zero_(zero),
      context_(new zmq::context_t(1), deleteContext) {}

CallerLoad::~CallerLoad() { stop(); }

void CallerLoad::start() {
  for (size_t i = 0; i < targets_.size(); ++i) {
    workers_.push_back(std::make_unique<Worker>());
    workers_.back()->records.reserve(4096);
  }
  for (size_t i = 0; i < targets_.size(); ++i) workers_[i]->thread = std::thread([this, i] { run(i); });
}

void CallerLoad::stop() {
  stop_.store(true);
  for (auto& w : workers_) {
    if (w->thread.joinable()) w->thread.join();
  }
}

LoadCounters CallerLoad::counters() const { return {sent_.load(), answered_.load(), failed_.load()}; }

std::vector<RequestRecord> CallerLoad::records() const {
  std::vector<RequestRecord> all;
  for (const auto& w : workers_) all.insert(all.end(), w->records.begin(), w->records.end());
  std::sort(all.begin(), all.end(), [](const RequestRecord& a, const RequestRecord& b) { return a.start_ms < b.start_ms; });
  return all;
}

std::vector<std::string> CallerLoad::failedIds() const {
  std::vector<std::string> ids;
  for (const auto& w : workers_) ids.insert(ids.end(), w->failed_ids.begin(), w->failed_ids.end());
  return ids;
}

void CallerLoad::run(size_t index) {
  zmq::context_t& context = *static_cast<zmq::context_t*>(context_.get());
  Worker& worker = *workers_[index];
  const LoadTarget& target = targets_[index];
  auto open = [&] {
    auto socket = std::make_unique<zmq::socket_t>(context, zmq::socket_type::req);
    socket->set(zmq::sockopt::rcvtimeo, timeout_ms_);
    socket->set(zmq::sockopt::linger, 0);
    socket->connect("tcp://" + target.address);
    return socket;
  };
  auto socket = open();
  for (uint64_t n = 0; !stop_.load(); ++n) {
    const std::string id = run_id_ + "-" + target.agent + "-" + std::to_string(n);
    const nlohmann::json request = {{"action", "process"}, {"request_id", id}, {"source_agent", target.caller},
                                    {"payload", {{"n", n}}}};
    const auto start = std::chrono::steady_clock::now();
    ++sent_;
    ++in_flight_;
    bool ok = false;
    try {
      socket->send(zmq::buffer(request.dump()), zmq::send_flags::none);
      zmq::message_t reply;
      if (socket->recv(reply, zmq::recv_flags::none)) {
        const auto parsed = nlohmann::json::parse(reply.to_string_view(), nullptr, false);
        ok = parsed.is_object() && parsed.value("request_id", "") == id && parsed.value("status", "") == "success";
      }
    } catch (const zmq::error_t&) {
      ok = false;
    }
    const auto end = std::chrono::steady_clock::now();
    --in_flight_;
    worker.records.push_back({std::chrono::duration<double, std::milli>(start - zero_).count(),
                              static_cast<float>(std::chrono::duration<double, std::milli>(end - start).count()),
                              static_cast<uint16_t>(index), ok});
    if (ok) {
      ++answered_;
    } else {
      ++failed_;
      worker.failed_ids.push_back(target.agent + " " + id);
      socket = open();  // a REQ socket that missed its reply cannot send again
    }
    if (pause_ms_ > 0) std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms_));
  }
}

}  // namespace twinhub::ctl::demo
