#include "fleet/fleet_loader.h"

#include <arpa/inet.h>

#include <charconv>

#include "fleet/fleet_validator.h"
#include "fleet/structure_checker.h"
#include "fleet/yaml_reader.h"
#include "yaml_support/text_file.h"

namespace twinhub::fleet {

namespace {

constexpr uint32_t kMaxPort = 65535;

// "" when `url` is nats://HOST:PORT with a host the sidecar accepts (numeric or localhost),
// otherwise what is wrong with it.
std::string natsUrlProblem(const std::string& url) {
  const std::string prefix = "nats://";
  const std::string expected = "must be nats://host:port with a numeric host (as the sidecar needs), got '" + url + "'";
  if (url.rfind(prefix, 0) != 0) return expected;
  const std::string rest = url.substr(prefix.size());
  const size_t colon = rest.rfind(':');
  if (colon == std::string::npos) return expected;
  std::string host = rest.substr(0, colon);
  const std::string port = rest.substr(colon + 1);
  uint32_t value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value == 0 || value > kMaxPort) {
    return expected;
  }
  unsigned char buf[16];
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    return inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), buf) == 1 ? "" : expected;
  }
  return host == "localhost" || inet_pton(AF_INET, host.c_str(), buf) == 1 ? "" : expected;
}

// Hosts the sidecar's address parser takes: numeric IPv4 or IPv6 (unbracketed here) or localhost.
bool isSidecarHost(const std::string& host) {
  unsigned char buf[16];
  return host == "localhost" || inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

void readHost(YamlReader& r, const YAML::Node& node, const std::string& what, std::string* out) {
  std::string host;
  if (!r.string(node, what, &host)) return;
  if (!isSidecarHost(host)) {
    r.error(node, what + " must be a numeric IPv4 or IPv6 address or localhost, got '" + host + "'");
    return;
  }
  *out = host;
}

// "agent 'A'", or just "agent" when its name did not read: messages never show "agent ''".
std::string label(const std::string& kind, const std::string& name) {
  return name.empty() ? kind : kind + " '" + name + "'";
}

void readRefs(YamlReader& r, const YAML::Node& node, const std::string& what, std::vector<NamedRef>* out) {
  if (!r.checkList(node, what)) return;
  for (const YAML::Node& item : node) {
    NamedRef ref{"", YamlReader::pos(item)};
    if (r.name(item, what + " entry", &ref.name)) out->push_back(ref);
  }
}

void readHub(YamlReader& r, const YAML::Node& node, const std::string& machine, Hub* hub) {
  const std::string what = label("machine", machine) + " hub";
  hub->pos = YamlReader::pos(node);
  if (!r.checkMap(node, what, {"name", "url", "urls"})) return;
  if (YAML::Node name = r.required(node, "name", what)) r.name(name, what + " name", &hub->name);
  const YAML::Node url = YamlReader::field(node, "url");
  const YAML::Node urls = YamlReader::field(node, "urls");
  if (url && urls) r.error(urls, what + " has both url and urls; give one");
  if (!url && !urls) r.error(node, what + " needs a url (nats://host:port) or urls (a list)");
  std::vector<YAML::Node> given;
  if (url) given.push_back(url);
  if (urls && r.checkList(urls, what + " urls")) {
    for (const YAML::Node& u : urls) given.push_back(u);
    if (urls.size() == 0) r.error(urls, what + " urls is empty");
  }
  for (const YAML::Node& u : given) {
    std::string text;
    if (!r.string(u, what + " url", &text)) continue;
    if (std::string why = natsUrlProblem(text); !why.empty()) r.error(u, what + " url " + why);
    hub->urls.push_back(text);
  }
}

void readMachine(YamlReader& r, const YAML::Node& node, Fleet& fleet) {
  Machine m;
  m.pos = YamlReader::pos(node);
  if (!r.checkMap(node, "machine", {"name", "address", "hub", "prefer"})) return;
  if (YAML::Node name = r.required(node, "name", "machine")) r.name(name, "machine name", &m.name);
  const std::string what = label("machine", m.name);
  if (YAML::Node address = YamlReader::field(node, "address")) r.string(address, what + " address", &m.address);
  if (YAML::Node hub = r.required(node, "hub", what)) readHub(r, hub, m.name, &m.hub);
  if (YAML::Node prefer = YamlReader::field(node, "prefer")) readRefs(r, prefer, what + " prefer", &m.prefer);
  fleet.machines.push_back(m);
}

void readLayout(YamlReader& r, const YAML::Node& node, SidecarLayout& l) {
  if (!r.checkMap(node, "sidecars", {"agent_port_offset", "health_port_offset", "metrics_port_offset", "state_dir",
                                     "listen_host", "agent_host", "health", "probe_interval_ms", "probe_timeout_ms"})) {
    return;
  }
  auto f = [&](const char* key) { return YamlReader::field(node, key); };
  if (auto n = f("agent_port_offset")) r.uint(n, "sidecars.agent_port_offset", 1, kMaxPort, &l.agent_port_offset);
  if (auto n = f("health_port_offset")) r.uint(n, "sidecars.health_port_offset", 0, kMaxPort, &l.health_port_offset);
  if (auto n = f("metrics_port_offset")) r.uint(n, "sidecars.metrics_port_offset", 1, kMaxPort, &l.metrics_port_offset);
  if (auto n = f("state_dir")) r.string(n, "sidecars.state_dir", &l.state_dir);
  if (auto n = f("listen_host")) readHost(r, n, "sidecars.listen_host", &l.listen_host);
  if (auto n = f("agent_host")) readHost(r, n, "sidecars.agent_host", &l.agent_host);
  if (auto n = f("probe_interval_ms")) r.uint(n, "sidecars.probe_interval_ms", 10, 600000, &l.probe_interval_ms);
  if (auto n = f("probe_timeout_ms")) r.uint(n, "sidecars.probe_timeout_ms", 1, 600000, &l.probe_timeout_ms);
  std::string health;
  if (auto n = f("health"); n && r.choice(n, "sidecars.health", {"zmq", "tcp", "http"}, &health)) {
    l.health = health == "tcp" ? HealthProtocol::kTcp : health == "http" ? HealthProtocol::kHttp : HealthProtocol::kZmq;
  }
}

// An optional port field: 1..65535, with its position kept for clash messages.
void readPort(YamlReader& r, const YAML::Node& node, const std::string& what, std::optional<uint32_t>* out,
              SourcePos* pos) {
  uint32_t value = 0;
  *pos = YamlReader::pos(node);
  if (r.uint(node, what, 1, kMaxPort, &value)) *out = value;
}

void readAgentOptions(YamlReader& r, const YAML::Node& node, Agent& a) {
  const std::string what = label("agent", a.name);
  auto f = [&](const char* key) { return YamlReader::field(node, key); };
  if (auto n = f("health_port")) readPort(r, n, what + " health_port", &a.health_port, &a.health_port_pos);
  if (auto n = f("agent_port")) readPort(r, n, what + " agent_port", &a.agent_port, &a.agent_port_pos);
  if (auto n = f("metrics_port")) readPort(r, n, what + " metrics_port", &a.metrics_port, &a.metrics_port_pos);
  std::string health;
  if (auto n = f("health"); n && r.choice(n, what + " health", {"zmq", "tcp", "http"}, &health)) {
    a.health = health == "tcp" ? HealthProtocol::kTcp : health == "http" ? HealthProtocol::kHttp : HealthProtocol::kZmq;
  }
  if (auto n = f("health_path")) {
    if (r.string(n, what + " health_path", &a.health_path) && a.health_path.front() != '/') {
      r.error(n, what + " health_path must start with '/'");
    }
  }
  if (auto n = f("deps")) readRefs(r, n, what + " deps", &a.deps);
  if (auto n = f("replicas")) readRefs(r, n, what + " replicas", &a.replicas);
  if (auto n = f("migrate")) r.boolean(n, what + " migrate", &a.migrate);
}

void readAgent(YamlReader& r, const YAML::Node& node, Fleet& fleet) {
  Agent a;
  a.pos = YamlReader::pos(node);
  if (!r.checkMap(node, "agent", {"name", "machine", "port", "health_port", "agent_port", "metrics_port", "health",
                                  "health_path", "deps", "replicas", "migrate"})) {
    return;
  }
  if (YAML::Node name = r.required(node, "name", "agent")) r.name(name, "agent name", &a.name);
  const std::string what = label("agent", a.name);
  if (YAML::Node machine = r.required(node, "machine", what)) {
    a.machine.pos = YamlReader::pos(machine);
    r.name(machine, what + " machine", &a.machine.name);
  }
  if (YAML::Node port = r.required(node, "port", what)) {
    a.port_pos = YamlReader::pos(port);
    r.uint(port, what + " port", 1, kMaxPort, &a.port);
  }
  readAgentOptions(r, node, a);
  fleet.agents.push_back(a);
}

void readExternal(YamlReader& r, const YAML::Node& node, Fleet& fleet) {
  External e;
  e.pos = YamlReader::pos(node);
  if (!r.checkMap(node, "external service", {"name", "note"})) return;
  if (YAML::Node name = r.required(node, "name", "external service")) r.name(name, "external service name", &e.name);
  if (YAML::Node note = YamlReader::field(node, "note")) r.string(note, "external service note", &e.note);
  fleet.externals.push_back(e);
}

void readBatch(YamlReader& r, const YAML::Node& node, Fleet& fleet) {
  Batch b;
  b.pos = YamlReader::pos(node);
  b.name = "batch " + std::to_string(fleet.batches.size() + 1);
  if (!r.checkMap(node, b.name, {"name", "agents"})) return;
  if (YAML::Node name = YamlReader::field(node, "name")) r.string(name, b.name + " name", &b.name);
  if (YAML::Node agents = r.required(node, "agents", b.name)) {
    readRefs(r, agents, b.name + " agents", &b.agents);
    if (agents.IsSequence() && agents.size() == 0) r.error(agents, b.name + " has no agents");
  }
  fleet.batches.push_back(b);
}

void readThresholds(YamlReader& r, const YAML::Node& node, Thresholds& t) {
  if (!r.checkMap(node, "migration", {"soak_s", "baseline_window_s", "min_samples", "max_latency_ratio_p99",
                                      "min_latency_delta_ms", "max_error_rate", "flip_timeout_s", "provisional_deadline_s"})) {
    return;
  }
  auto f = [&](const char* key) { return YamlReader::field(node, key); };
  constexpr double kDay = 86400;
  if (auto n = f("soak_s")) r.number(n, "migration.soak_s", 0, kDay, &t.soak_s);
  if (auto n = f("baseline_window_s")) r.number(n, "migration.baseline_window_s", 0.1, kDay, &t.baseline_window_s);
  if (auto n = f("min_samples")) r.uint(n, "migration.min_samples", 1, 1000000, &t.min_samples);
  if (auto n = f("max_latency_ratio_p99")) r.number(n, "migration.max_latency_ratio_p99", 1, 1000, &t.max_latency_ratio_p99);
  if (auto n = f("min_latency_delta_ms")) r.number(n, "migration.min_latency_delta_ms", 0, 60000, &t.min_latency_delta_ms);
  if (auto n = f("max_error_rate")) r.number(n, "migration.max_error_rate", 0, 1, &t.max_error_rate);
  if (auto n = f("flip_timeout_s")) r.number(n, "migration.flip_timeout_s", 0.1, 3600, &t.flip_timeout_s);
  const YAML::Node deadline = f("provisional_deadline_s");
  if (deadline) r.number(deadline, "migration.provisional_deadline_s", 1, kDay, &t.provisional_deadline_s);
  // The deadline runs from the flip: at or below flip + soak, every good batch would revert.
  if (t.provisional_deadline_s <= t.flip_timeout_s + t.soak_s) {
    r.error(deadline ? deadline : node, "migration.provisional_deadline_s (" + std::to_string(t.provisional_deadline_s) +
                                            " s) must be above flip_timeout_s + soak_s, or every batch reverts before it is confirmed");
  }
}

void readSecurity(YamlReader& r, const YAML::Node& node, Security& s) {
  s.pos = YamlReader::pos(node);
  if (!r.checkMap(node, "security", {"certs_dir", "secrets_dir", "users"})) return;
  if (auto n = r.required(node, "certs_dir", "security")) r.string(n, "security.certs_dir", &s.certs_dir);
  if (auto n = YamlReader::field(node, "secrets_dir")) r.string(n, "security.secrets_dir", &s.secrets_dir);
  std::string users;
  if (auto n = YamlReader::field(node, "users"); n && r.choice(n, "security.users", {"per_role", "per_sidecar"}, &users)) {
    s.per_sidecar_users = users == "per_sidecar";
  }
  if (auto n = YamlReader::field(node, "certs_dir"); n && s.certs_dir.empty()) r.error(n, "security.certs_dir is empty");
}

template <typename ReadItem>
void readEach(YamlReader& r, const YAML::Node& node, const std::string& what, Fleet& fleet, ReadItem read) {
  if (!r.checkList(node, what)) return;
  for (const YAML::Node& item : node) read(r, item, fleet);
}

void readRoot(YamlReader& r, const YAML::Node& root, Fleet& fleet) {
  if (!r.checkMap(root, "the fleet file",
                  {"version", "machines", "sidecars", "externals", "agents", "batches", "migration", "security"})) {
    return;
  }
  auto f = [&](const char* key) { return YamlReader::field(root, key); };
  uint32_t version = 1;
  if (auto n = f("version")) r.uint(n, "version", 1, 1, &version);
  if (auto n = r.required(root, "machines", "the fleet file")) readEach(r, n, "machines", fleet, readMachine);
  if (auto n = f("sidecars")) readLayout(r, n, fleet.layout);
  if (auto n = f("externals")) readEach(r, n, "externals", fleet, readExternal);
  if (auto n = r.required(root, "agents", "the fleet file")) readEach(r, n, "agents", fleet, readAgent);
  if (auto n = r.required(root, "batches", "the fleet file")) readEach(r, n, "batches", fleet, readBatch);
  if (auto n = f("migration")) readThresholds(r, n, fleet.thresholds);
  if (auto n = f("security")) readSecurity(r, n, fleet.security);
}

}  // namespace

FleetLoadResult loadFleetText(const std::string& text, const std::string& source_name) {
  FleetLoadResult result{Fleet{}, ProblemList(source_name)};
  result.fleet.source = source_name;
  std::optional<YAML::Node> root = parseYaml(text, result.problems);
  if (!root) return result;
  YamlReader reader(result.problems);
  try {
    readRoot(reader, *root, result.fleet);
  } catch (const YAML::Exception& e) {
    // A shape the walker did not expect (yaml-cpp throws on some accesses): still a report, not a crash.
    result.problems.error(toPos(e.mark), e.msg);
    return result;
  }
  validateFleet(result.fleet, result.problems);
  return result;
}

FleetLoadResult loadFleetFile(const std::string& path) {
  std::string text, why;
  if (!yaml::readTextFile(path, kMaxFleetFileBytes, "file", &text, &why)) {
    FleetLoadResult result{Fleet{}, ProblemList(path)};
    result.problems.error({}, why);
    return result;
  }
  return loadFleetText(text, path);
}

}  // namespace twinhub::fleet
