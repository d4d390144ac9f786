#include "sim_agent.h"

#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <ctime>

namespace twinhub::agent_sim {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// Replies still queued when the process exits get this long to go out.
constexpr int kLingerMs = 500;

std::string bindEndpoint(const std::string& host, int port) {
  const bool ipv6 = host.find(':') != std::string::npos;
  return "tcp://" + (ipv6 ? "[" + host + "]" : host) + ":" + (port == 0 ? "*" : std::to_string(port));
}

// Binds `socket` and returns the bound address without the "tcp://" scheme, or "" on failure.
std::string bindSocket(zmq::socket_t& socket, const std::string& host, int port, std::string* error) {
  const std::string endpoint = bindEndpoint(host, port);
  try {
    if (host.find(':') != std::string::npos) socket.set(zmq::sockopt::ipv6, 1);
    socket.bind(endpoint);
  } catch (const zmq::error_t& e) {
    *error = "bind " + endpoint + ": " + e.what();
    return "";
  }
  std::string last = socket.get(zmq::sockopt::last_endpoint);
  const std::string scheme = "tcp://";
  return last.rfind(scheme, 0) == 0 ? last.substr(scheme.size()) : last;
}

// Receives every part of the next message; false when none is waiting.
bool recvParts(zmq::socket_t& socket, std::vector<zmq::message_t>* parts) {
  parts->clear();
  zmq::message_t part;
  if (!socket.recv(part, zmq::recv_flags::dontwait)) return false;
  bool more = part.more();
  parts->push_back(std::move(part));
  while (more) {
    zmq::message_t next;
    (void)socket.recv(next, zmq::recv_flags::none);  // the rest of a message arrives atomically
    more = next.more();
    parts->push_back(std::move(next));
  }
  return true;
}

// The request's "request_id" as a ledger key: strings as they are, other values as JSON text.
std::optional<std::string> requestIdOf(const json& request) {
  auto it = request.find("request_id");
  if (it == request.end() || it->is_null()) return std::nullopt;
  return it->is_string() ? it->get<std::string>() : it->dump();
}

json valueOr(const json& object, const char* key, json fallback) {
  auto it = object.find(key);
  return it == object.end() ? fallback : *it;
}

}  // namespace

std::string isoTimestampNow() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() % 1000000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char date[32];
  std::strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &utc);
  char out[64];
  std::snprintf(out, sizeof(out), "%s.%06lld+00:00", date, static_cast<long long>(micros));
  return out;
}

SimAgent::SimAgent(SimOptions options)
    : options_(std::move(options)),
      knobs_(options_.knobs),
      rng_(options_.seed),
      started_(Clock::now()),
      context_(1),
      service_(context_, zmq::socket_type::rep),
      health_(context_, zmq::socket_type::router) {
  service_.set(zmq::sockopt::linger, kLingerMs);
  health_.set(zmq::sockopt::linger, kLingerMs);
}

bool SimAgent::bind(std::string* error) {
  address_ = bindSocket(service_, options_.bind_host, options_.port, error);
  if (address_.empty()) return false;
  health_address_ = bindSocket(health_, options_.bind_host, options_.health_port, error);
  return !health_address_.empty();
}

SimExit SimAgent::run(int signal_fd) {
  while (!exit_) {
    zmq_pollitem_t items[] = {
        {health_.handle(), 0, ZMQ_POLLIN, 0},
        // The next request is read only once the one in hand has been answered (REP semantics).
        {service_.handle(), 0, static_cast<short>(pending_ ? 0 : ZMQ_POLLIN), 0},
        {nullptr, signal_fd, ZMQ_POLLIN, 0},
    };
    const int count = signal_fd >= 0 ? 3 : 2;
    if (zmq_poll(items, count, pollTimeoutMs()) < 0) {
      if (zmq_errno() == EINTR) continue;  // e.g. resumed after SIGSTOP
      std::fprintf(stderr, "agent-sim %s: poll: %s\n", options_.name.c_str(), zmq_strerror(zmq_errno()));
      return SimExit{1, false};
    }
    if (count == 3 && (items[2].revents & ZMQ_POLLIN)) {
      signalfd_siginfo info{};
      (void)!::read(signal_fd, &info, sizeof(info));
      std::fprintf(stderr, "agent-sim %s: signal %u, exiting\n", options_.name.c_str(), info.ssi_signo);
      return SimExit{0, false};
    }
    if (items[0].revents & ZMQ_POLLIN) serveHealthSocket();
    if (items[1].revents & ZMQ_POLLIN) readRequest();
    replyIfDue();
  }
  return *exit_;
}

int SimAgent::pollTimeoutMs() const {
  if (!pending_ || !knobs_.answer) return -1;
  const auto left = pending_->due - Clock::now();
  if (left <= Clock::duration::zero()) return 0;
  // Round up so that the reply is never sent before it is due.
  return static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(left).count());
}

void SimAgent::readRequest() {
  std::vector<zmq::message_t> parts;
  if (!recvParts(service_, &parts)) return;  // spurious wake-up
  const std::string body = parts.front().to_string();

  Pending pending{};
  pending.due = Clock::now() + std::chrono::milliseconds(knobs_.latency_ms);
  const json request = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (request.is_discarded()) {
    pending.outcome = Outcome::kInvalid;
    pending.reply = json{{"status", "error"}, {"error", "invalid JSON"}}.dump();
  } else if (!request.is_object()) {
    pending.outcome = Outcome::kInvalid;
    pending.reply = json{{"status", "error"}, {"error", "request is not a JSON object"}}.dump();
  } else {
    pending.request_id = requestIdOf(request);
    const json request_id = valueOr(request, "request_id", nullptr);
    if (knobs_.error_rate > 0 && std::bernoulli_distribution(knobs_.error_rate)(rng_)) {
      pending.outcome = Outcome::kInjectedError;
      pending.reply = json{{"status", "error"}, {"request_id", request_id}, {"error", "injected"}}.dump();
    } else {
      pending.outcome = Outcome::kServed;
      json reply = {{"status", "success"},
                    {"request_id", request_id},
                    {"agent", options_.name},
                    {"action", valueOr(request, "action", nullptr)},
                    {"served_at", isoTimestampNow()}};
      if (auto payload = request.find("payload"); payload != request.end()) reply["echo"] = *payload;
      pending.reply = reply.dump();
    }
  }
  pending_ = std::move(pending);
}

void SimAgent::replyIfDue() {
  if (!pending_ || !knobs_.answer || Clock::now() < pending_->due) return;
  Pending done = std::move(*pending_);
  pending_.reset();
  // A REP socket always has a route for its reply; if the caller has gone, ZeroMQ drops it.
  (void)service_.send(zmq::buffer(done.reply), zmq::send_flags::none);
  switch (done.outcome) {
    case Outcome::kServed:
      if (done.request_id) {
        ledger_.recordServed(*done.request_id);
      } else {
        ledger_.recordServedWithoutId();
      }
      if (options_.exit_after > 0 && ledger_.served() >= options_.exit_after) {
        std::fprintf(stderr, "agent-sim %s: served %llu requests, crashing (--exit-after)\n",
                     options_.name.c_str(), static_cast<unsigned long long>(ledger_.served()));
        exit_ = SimExit{3, true};
      }
      break;
    case Outcome::kInjectedError:
      ledger_.recordInjectedError();
      break;
    case Outcome::kInvalid:
      ledger_.recordInvalid();
      break;
  }
}

void SimAgent::serveHealthSocket() {
  // A ROUTER message is [routing id, ..., empty delimiter, body]; the reply carries the same
  // envelope back, which is what a REP socket does internally.
  std::vector<zmq::message_t> parts;
  while (!exit_ && recvParts(health_, &parts)) {
    size_t body_index = 1;  // without a delimiter (a raw DEALER), the routing id alone
    for (size_t i = 1; i < parts.size(); ++i) {
      if (parts[i].size() == 0) {
        body_index = i + 1;
        break;
      }
    }
    const std::string body = body_index < parts.size() ? parts[body_index].to_string() : "";
    std::optional<json> reply = handleHealthMessage(body);
    if (!reply) continue;
    for (size_t i = 0; i < body_index; ++i) {
      (void)health_.send(parts[i], zmq::send_flags::sndmore);
    }
    (void)health_.send(zmq::buffer(reply->dump()), zmq::send_flags::none);
  }
}

std::optional<json> SimAgent::handleHealthMessage(const std::string& body) {
  const json request = json::parse(body, nullptr, /*allow_exceptions=*/false);
  const std::string action = request.is_object() && request.contains("action") && request["action"].is_string()
                                 ? request["action"].get<std::string>()
                                 : "";
  if (action == "sim_stats") return stats();
  if (action == "sim_set") return applySet(request);
  if (action == "sim_exit") {
    const json code = valueOr(request, "code", 0);
    if (!code.is_number_integer() || code.get<int64_t>() < 0 || code.get<int64_t>() > 255) {
      return json{{"ok", false}, {"error", "code must be an integer in 0..255"}};
    }
    std::fprintf(stderr, "agent-sim %s: sim_exit %d\n", options_.name.c_str(), code.get<int>());
    exit_ = SimExit{code.get<int>(), false};
    return json{{"ok", true}};
  }
  // Anything else (health_check, unknown actions, non-JSON) is a health check, as in the originals.
  if (!knobs_.health_answer) return std::nullopt;
  return healthReply();
}

json SimAgent::healthReply() const {
  const double uptime = std::chrono::duration<double>(Clock::now() - started_).count();
  return {{"status", knobs_.health},
          {"ready", knobs_.health != "error"},
          {"message", options_.name + " is " + knobs_.health},
          {"timestamp", isoTimestampNow()},
          {"uptime", uptime},
          {"agent", options_.name}};
}

json SimAgent::applySet(const json& request) {
  // Validate everything first so that a bad request changes nothing.
  SimKnobs next = knobs_;
  auto fail = [](const std::string& message) { return json{{"ok", false}, {"error", message}}; };
  for (const auto& [key, value] : request.items()) {
    if (key == "action") continue;
    if (key == "latency_ms") {
      if (!value.is_number_integer() || value.get<int64_t>() < 0 || value.get<int64_t>() > 3600000) {
        return fail("latency_ms must be an integer in 0..3600000");
      }
      next.latency_ms = value.get<int>();
    } else if (key == "error_rate") {
      if (!value.is_number() || value.get<double>() < 0.0 || value.get<double>() > 1.0) {
        return fail("error_rate must be a number in 0..1");
      }
      next.error_rate = value.get<double>();
    } else if (key == "answer") {
      if (!value.is_boolean()) return fail("answer must be a boolean");
      next.answer = value.get<bool>();
    } else if (key == "health") {
      if (!value.is_string() || (value != "ok" && value != "degraded" && value != "error")) {
        return fail("health must be \"ok\", \"degraded\" or \"error\"");
      }
      next.health = value.get<std::string>();
    } else if (key == "health_answer") {
      if (!value.is_boolean()) return fail("health_answer must be a boolean");
      next.health_answer = value.get<bool>();
    } else {
      return fail("unknown field " + key);
    }
  }
  knobs_ = next;
  std::fprintf(stderr, "agent-sim %s: sim_set latency_ms=%d error_rate=%g answer=%d health=%s health_answer=%d\n",
               options_.name.c_str(), knobs_.latency_ms, knobs_.error_rate, knobs_.answer,
               knobs_.health.c_str(), knobs_.health_answer);
  return json{{"ok", true}};
}

}  // namespace twinhub::agent_sim
