// twinhub-zmq-load: drives a ZeroMQ REQ/REP service the way the agents call each other (JSON
// requests with a unique request_id, 5 s reply timeout) and checks that every request got exactly
// its own answer. Used by the demo and for quick checks by hand; exits non-zero when any request
// was lost, timed out or answered with another id.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>
#include <vector>
#include <zmq.hpp>

namespace {

struct WorkerResult {
  uint64_t ok = 0;
  uint64_t failed = 0;
  std::vector<double> latencies_us;
};

WorkerResult runWorker(zmq::context_t& ctx, const std::string& endpoint, const std::string& run_id, int worker,
                       int requests, int timeout_ms, int pause_ms) {
  WorkerResult result;
  auto open = [&] {
    auto socket = std::make_unique<zmq::socket_t>(ctx, zmq::socket_type::req);
    socket->set(zmq::sockopt::rcvtimeo, timeout_ms);
    socket->set(zmq::sockopt::linger, 0);
    socket->connect(endpoint);
    return socket;
  };
  auto socket = open();
  for (int i = 0; i < requests; ++i) {
    const std::string id = run_id + "-w" + std::to_string(worker) + "-" + std::to_string(i);
    nlohmann::json request = {{"action", "process"}, {"request_id", id}, {"source_agent", "twinhub-zmq-load"},
                              {"payload", {{"n", i}}}};
    const auto start = std::chrono::steady_clock::now();
    socket->send(zmq::buffer(request.dump()), zmq::send_flags::none);
    zmq::message_t reply;
    auto got = socket->recv(reply, zmq::recv_flags::none);
    const double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
    bool good = false;
    if (got) {
      auto parsed = nlohmann::json::parse(reply.to_string_view(), nullptr, false);
      good = !parsed.is_discarded() && parsed.value("request_id", "") == id && parsed.value("status", "") == "success";
    }
    if (good) {
      ++result.ok;
      result.latencies_us.push_back(us);
    } else {
      ++result.failed;
      std::fprintf(stderr, "request %s: %s\n", id.c_str(), got ? reply.to_string().c_str() : "no reply (timeout)");
      socket = open();  // a REQ socket that missed its reply cannot send again
    }
    if (pause_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms));
  }
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"twinhub-zmq-load: sends JSON requests over ZeroMQ REQ and checks every reply's request_id"};
  std::string address;
  int clients = 4, requests = 1000, timeout_ms = 5000, pause_ms = 0;
  cli.add_option("--connect", address, "Service address, e.g. 127.0.0.1:7140")->required();
  cli.add_option("--clients", clients, "Concurrent REQ sockets (one thread each)")->capture_default_str();
  cli.add_option("--requests", requests, "Requests per client")->capture_default_str();
  cli.add_option("--timeout-ms", timeout_ms, "Reply timeout, like the agents' 5 s")->capture_default_str();
  cli.add_option("--pause-ms", pause_ms, "Pause between a client's requests")->capture_default_str();
  std::string run_id = std::to_string(std::random_device{}());
  cli.add_option("--run-id", run_id, "Prefix of this run's request ids (default: random), so runs never share ids");
  CLI11_PARSE(cli, argc, argv);

  zmq::context_t ctx;
  const std::string endpoint = "tcp://" + address;
  std::vector<WorkerResult> results(clients);
  std::vector<std::thread> threads;
  for (int w = 0; w < clients; ++w) {
    threads.emplace_back([&, w] { results[w] = runWorker(ctx, endpoint, run_id, w, requests, timeout_ms, pause_ms); });
  }
  for (auto& t : threads) t.join();

  WorkerResult total;
  for (auto& r : results) {
    total.ok += r.ok;
    total.failed += r.failed;
    total.latencies_us.insert(total.latencies_us.end(), r.latencies_us.begin(), r.latencies_us.end());
  }
  std::sort(total.latencies_us.begin(), total.latencies_us.end());
  auto pct = [&](double p) {
    return total.latencies_us.empty() ? 0.0 : total.latencies_us[static_cast<size_t>(p * (total.latencies_us.size() - 1))];
  };
  std::printf("requests %llu answered %llu failed %llu p50 %.0f us p99 %.0f us\n",
              static_cast<unsigned long long>(total.ok + total.failed), static_cast<unsigned long long>(total.ok),
              static_cast<unsigned long long>(total.failed), pct(0.5), pct(0.99));
  return total.failed == 0 ? 0 : 1;
}
