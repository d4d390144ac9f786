// One-shot health probes of an agent: TCP connect, HTTP GET, and the agents' ZeroMQ
// {"action":"health_check"} request (see agent-inventory.yaml). Each call blocks the calling
// thread for at most `timeout` and never throws; whatever the agent sends back (garbage, a short
// read, silence) becomes a failed result whose detail says what and where. The functions keep no
// state, so any thread may call them; HealthChecker calls them from its own thread.
#pragma once

#include <chrono>
#include <string>

#include "common/net_address.h"

namespace zmq {
class context_t;
}

namespace twinhub {

struct ProbeResult {
  bool ok = false;
  // "tcp 127.0.0.1:7140: connection refused", "zmq tcp://127.0.0.1:8140: status degraded: ...".
  std::string detail;
};

// Ok when a TCP connection to `address` completes within `timeout`; the connection is closed at
// once.
[[nodiscard]] ProbeResult probeTcp(const NetAddress& address, std::chrono::milliseconds timeout);

// Sends "GET <path> HTTP/1.0" and reads the status line; ok on a 2xx status. The whole exchange
// (connect, send, read) shares one deadline. The body is not read.
[[nodiscard]] ProbeResult probeHttp(const NetAddress& address, const std::string& path,
                                    std::chrono::milliseconds timeout);

// Sends {"action":"health_check"} on a fresh REQ socket (linger 0) and waits for the reply; ok
// when the reply is a JSON object whose "status" is "ok". `context` must outlive the call; shutting
// it down from another thread ends a probe in flight at once (as a failure).
[[nodiscard]] ProbeResult probeZmq(const NetAddress& address, std::chrono::milliseconds timeout,
                                   zmq::context_t& context);

}  // namespace twinhub
