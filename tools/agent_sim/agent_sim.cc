// twinhub-agent-sim: a simulated agent that behaves like the original Python agents (ZeroMQ REP
// on its port, health checks on a second port), with knobs for latency, errors, hangs and
// crashes, and a ledger of the request ids it served. See sim_agent.h for the behaviour.
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include <CLI/CLI.hpp>

#include "sim_agent.h"

namespace {

using twinhub::agent_sim::SimAgent;
using twinhub::agent_sim::SimExit;
using twinhub::agent_sim::SimOptions;

constexpr const char* kFooter = R"(
Service port (ZeroMQ REP): a JSON request {"action", "request_id", "payload", ...} gets
  {"status":"success","request_id","agent","action","served_at","echo":<payload>};
  non-JSON gets {"status":"error","error":"invalid JSON"}; an injected error gets
  {"status":"error","request_id","error":"injected"}.
Health port (REP envelope): {"action":"health_check"} or any non-JSON message gets
  {"status":"ok|degraded|error","ready","message":"NAME is STATUS","timestamp","uptime","agent"}.
  Control actions for tests:
    {"action":"sim_stats"}  -> {"served","unique_request_ids","duplicates","errors_injected","invalid"}
    {"action":"sim_set", "latency_ms":N, "error_rate":X, "answer":BOOL, "health":"ok|degraded|error",
                          "health_answer":BOOL}  (every field optional) -> {"ok":true}
    {"action":"sim_exit","code":N}  -> {"ok":true}, then exit with status N
Once bound it prints one line: "agent-sim NAME serving on HOST:PORT health HOST:PORT".
SIGTERM/SIGINT: exit 0 after printing "stats {...}" (the sim_stats JSON).
)";

// Writes atomically so that a reader never sees half a file.
bool writeStatsFile(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << content << '\n';
    if (!out.flush()) return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  SimOptions options;
  int health_port = 0;
  std::string stats_file;

  CLI::App app{"twinhub-agent-sim: a simulated ZeroMQ agent for tests, benchmarks and demos"};
  app.footer(kFooter);
  app.add_option("--name", options.name, "Agent name, used in replies and health messages")->required();
  app.add_option("--port", options.port, "Service port (ZeroMQ REP); 0 = an ephemeral port")
      ->required()
      ->check(CLI::Range(0, 65535));
  CLI::Option* health_opt =
      app.add_option("--health-port", health_port,
                     "Health port; default PORT+1000, or an ephemeral port when PORT is 0")
          ->check(CLI::Range(0, 65535));
  app.add_option("--bind", options.bind_host, "Host to bind both sockets to (IPv4 or IPv6 literal)")
      ->capture_default_str();
  app.add_option("--latency-ms", options.knobs.latency_ms, "Delay before every reply on the service port")
      ->check(CLI::Range(0, 3600000))
      ->capture_default_str();
  app.add_option("--error-rate", options.knobs.error_rate,
                 "Probability (0..1) that a request gets an injected error reply, not counted as served")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option("--seed", options.seed, "Seed of the random draws behind --error-rate")->capture_default_str();
  app.add_option("--exit-after", options.exit_after,
                 "Crash (exit status 3, no final stats line) after serving N requests; 0 = never")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--stats-file", stats_file, "Write the sim_stats JSON to this file at any exit, crash included");
  CLI11_PARSE(app, argc, argv);

  if (health_opt->count() > 0) {
    options.health_port = health_port;
  } else if (options.port != 0) {
    options.health_port = options.port + 1000;
    if (options.health_port > 65535) {
      std::fprintf(stderr, "agent-sim %s: health port %d (port+1000) is out of range; pass --health-port\n",
                   options.name.c_str(), options.health_port);
      return 2;
    }
  }

  // Block the shutdown signals before ZeroMQ starts its threads (they inherit the mask), and
  // receive them through a signalfd polled with the sockets.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  const int signal_fd = signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK);
  if (signal_fd < 0) {
    std::perror("agent-sim: signalfd");
    return 1;
  }

  const std::string name = options.name;
  SimAgent agent(std::move(options));
  std::string error;
  if (!agent.bind(&error)) {
    std::fprintf(stderr, "agent-sim %s: %s\n", name.c_str(), error.c_str());
    return 1;
  }
  std::printf("agent-sim %s serving on %s health %s\n", name.c_str(), agent.address().c_str(),
              agent.healthAddress().c_str());
  std::fflush(stdout);

  const SimExit exit = agent.run(signal_fd);
  const std::string stats = agent.stats().dump();
  if (!stats_file.empty() && !writeStatsFile(stats_file, stats)) {
    std::fprintf(stderr, "agent-sim %s: cannot write stats file %s\n", name.c_str(), stats_file.c_str());
  }
  if (!exit.crashed) {
    std::printf("stats %s\n", stats.c_str());
    std::fflush(stdout);
  }
  ::close(signal_fd);
  return exit.code;  // ~SimAgent lets the last replies go out (bounded by the sockets' linger)
}
