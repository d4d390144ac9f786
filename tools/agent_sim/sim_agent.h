// SimAgent: one simulated agent that behaves like the original Python agents.
//
// - Service port: a ZeroMQ REP socket answering JSON requests ({"action", "request_id", ...})
//   with {"status":"success","request_id","agent","action","served_at","echo"}.
// - Health port: answers {"action":"health_check"} (or any non-JSON message) with the originals'
//   health reply, plus the sim's control actions: sim_stats, sim_set, sim_exit.
//
// Both sockets are served by run() on one thread with zmq_poll, one request at a time, like the
// single-threaded originals. Latency does not block the thread: the reply waits in hand until it
// is due, and the service socket is not read meanwhile (a REP socket cannot read the next request
// before replying), while the health socket keeps answering.
//
// With answer=false the agent is "hung": the request in hand stays unanswered and later ones queue
// unread, exactly like a stuck single-threaded agent. Setting answer=true again releases it (a
// late reply, which ZeroMQ drops if the caller has gone) and serving resumes.
//
// The health socket is a ROUTER speaking the REP envelope, so that health checks can be ignored
// (health_answer=false) while control actions still get replies. REQ callers see no difference.
//
// Not thread-safe: construct, bind and run on one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "request_ledger.h"

namespace twinhub::agent_sim {

// Behaviour that can change at run time through sim_set.
struct SimKnobs {
  int latency_ms = 0;          // delay before every reply on the service port
  double error_rate = 0.0;     // probability that a request gets an injected error reply
  bool answer = true;          // false: leave requests unanswered (a hung agent)
  std::string health = "ok";   // ok | degraded | error
  bool health_answer = true;   // false: health checks get no reply (control actions still do)
};

struct SimOptions {
  std::string name;
  std::string bind_host = "127.0.0.1";
  int port = 0;           // 0 = ephemeral
  int health_port = 0;    // 0 = ephemeral (the caller applies the port+1000 default)
  uint64_t seed = 1;
  uint64_t exit_after = 0;  // exit with status 3 after serving this many requests; 0 = never
  SimKnobs knobs;
};

// How run() ended: the exit status and whether it was a simulated crash (no final stats line).
struct SimExit {
  int code = 0;
  bool crashed = false;
};

class SimAgent {
 public:
  explicit SimAgent(SimOptions options);
  SimAgent(const SimAgent&) = delete;
  SimAgent& operator=(const SimAgent&) = delete;

  // Binds both sockets. On failure returns false and sets *error ("bind tcp://...: reason").
  [[nodiscard]] bool bind(std::string* error);
  // Bound addresses with the real ports, e.g. "127.0.0.1:41234".
  const std::string& address() const { return address_; }
  const std::string& healthAddress() const { return health_address_; }

  // Serves until `signal_fd` (a signalfd, or -1) becomes readable (exit 0), a sim_exit control
  // action, or --exit-after's count is reached (exit 3, crashed).
  SimExit run(int signal_fd);

  // The sim_stats JSON.
  nlohmann::json stats() const { return ledger_.statsJson(); }

 private:
  enum class Outcome { kServed, kInjectedError, kInvalid };
  // The reply to the request in hand on the service socket.
  struct Pending {
    std::string reply;
    Outcome outcome;
    std::optional<std::string> request_id;
    std::chrono::steady_clock::time_point due;
  };

  void readRequest();
  void replyIfDue();
  void serveHealthSocket();
  // Returns the reply to send on the health socket, or nullopt to leave the message unanswered.
  std::optional<nlohmann::json> handleHealthMessage(const std::string& body);
  nlohmann::json healthReply() const;
  nlohmann::json applySet(const nlohmann::json& request);
  int pollTimeoutMs() const;

  SimOptions options_;
  SimKnobs knobs_;
  RequestLedger ledger_;
  std::mt19937_64 rng_;
  const std::chrono::steady_clock::time_point started_;
  std::optional<Pending> pending_;
  std::optional<SimExit> exit_;

  // The context is declared first so that it is destroyed last, after the sockets; its
  // destruction waits (up to each socket's linger) for the last replies to go out.
  zmq::context_t context_;
  zmq::socket_t service_;
  zmq::socket_t health_;
  std::string address_;
  std::string health_address_;
};

// Current UTC time as ISO-8601 with microseconds, e.g. "2024-05-01T12:00:00.123456+00:00"
// (the form Python's datetime.isoformat() produces for an aware UTC time).
std::string isoTimestampNow();

}  // namespace twinhub::agent_sim
