// The agent-sims' control actions (tools/agent_sim: sim_set, sim_exit, sim_stats on the health
// port), as the demo uses them to slow and crash agents. Any one thread at a time.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace twinhub::ctl::demo {

// Sends `request` to the health socket at HOST:PORT; the reply, or nullopt after `timeout_ms`.
std::optional<nlohmann::json> agentControl(const std::string& health_address, const nlohmann::json& request,
                                           int timeout_ms = 3000);
bool setAgentLatency(const std::string& health_address, int latency_ms);
// The agent exits with status 3 (a simulated crash; its --stats-file is still written).
bool crashAgent(const std::string& health_address);

// GET http://127.0.0.1:PORT/PATH over a plain socket (the hubs' monitor, /metrics): the body, or
// "" on any failure.
std::string httpGet(int port, const std::string& path, int timeout_ms = 2000);
// Whether something accepts TCP connections on 127.0.0.1:PORT.
bool tcpConnects(int port);

}  // namespace twinhub::ctl::demo
