// Test support: ZeroMQ REQ calls the way the original agents make them (JSON bodies, a uuid4
// request_id, a reply timeout). Test thread only (or one socket per thread).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <zmq.hpp>

namespace twinhub::test {

// A uuid4-shaped id, as the original agents put in "request_id".
std::string uuid4(std::mt19937_64& rng);
// A REQ socket connected to "host:port", linger 0, replies awaited at most `timeout_ms`.
zmq::socket_t reqSocket(zmq::context_t& context, const std::string& address, int timeout_ms);
// Sends `request` and returns the JSON reply, or nullopt on timeout or a reply that is not JSON.
std::optional<nlohmann::json> call(zmq::socket_t& socket, const nlohmann::json& request);

}  // namespace twinhub::test
