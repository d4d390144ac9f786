#include "config/config_loader.h"

#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <initializer_list>
#include <set>
#include <tuple>

#include "common/problem_list.h"
#include "wire/subjects.h"
#include "yaml_support/structure_checker.h"
#include "yaml_support/text_file.h"

#include "health_wire/health_subjects.h"
#include "nats_security/hub_security.h"

namespace twinhub {

const char* modeName(Mode mode) { return mode == Mode::kHub ? "hub" : "direct"; }

namespace {

// Walks the YAML tree, converting values and collecting every problem with its position.
class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {
    auto slash = source_.rfind('/');
    if (slash != std::string::npos) base_dir_ = source_.substr(0, slash + 1);
  }

  // A file named in the config: relative paths are taken from the config file's directory.
  // Reports the file's problem (missing, unreadable, a secret that others may read) at the value.
  bool file(const YAML::Node& node, const std::string& what, bool secret, std::string* out) {
    std::string path;
    if (!string(node, what, &path)) return false;
    if (path[0] != '/') path = base_dir_ + path;
    *out = path;
    if (std::string why = nats_security::fileProblem(path, secret); !why.empty()) {
      error(node, what + ": " + why);
      return false;
    }
    return true;
  }

  void error(const YAML::Mark& mark, const std::string& message) {
    // Messages quote values from the file, which may be of any length.
    errors_.push_back({line(mark), column(mark), boundedText(message)});
  }
  void error(const YAML::Node& node, const std::string& message) { error(node.Mark(), message); }
  // Not a problem: the config stays valid.
  void warning(const YAML::Node& node, const std::string& message) {
    warnings_.push_back({line(node.Mark()), column(node.Mark()), boundedText(message)});
  }

  // Reports keys of `map` that are not in `allowed`. Returns false if `map` is not a map.
  bool checkMap(const YAML::Node& map, const std::string& what, std::initializer_list<const char*> allowed) {
    if (!map.IsMap()) {
      error(map, what + " must be a mapping");
      return false;
    }
    for (auto it = map.begin(); it != map.end(); ++it) {
      const std::string key = it->first.Scalar();
      bool known = false;
      for (const char* name : allowed) known = known || key == name;
      if (!known) {
        std::string list;
        for (const char* name : allowed) list += std::string(list.empty() ? "" : ", ") + name;
        error(it->first, "unknown key '" + key + "' in " + what + " (expected one of: " + list + ")");
      }
    }
    return true;
  }

  bool string(const YAML::Node& node, const std::string& what, std::string* out) {
    if (!node.IsScalar() || node.Scalar().empty()) {
      error(node, what + " must be a non-empty string");
      return false;
    }
    *out = node.Scalar();
    return true;
  }

  bool uint(const YAML::Node& node, const std::string& what, uint32_t min, uint32_t max, uint32_t* out) {
    const std::string text = node.IsScalar() ? node.Scalar() : "";
    uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
      error(node, what + " must be a whole number from " + std::to_string(min) + " to " + std::to_string(max));
      return false;
    }
    *out = static_cast<uint32_t>(value);
    return true;
  }

  bool boolean(const YAML::Node& node, const std::string& what, bool* out) {
    const std::string text = node.IsScalar() ? node.Scalar() : "";
    if (text != "true" && text != "false") {
      error(node, what + " must be true or false");
      return false;
    }
    *out = text == "true";
    return true;
  }

  bool address(const YAML::Node& node, const std::string& what, NetAddress* out) {
    std::string text;
    if (!string(node, what, &text)) return false;
    std::string why;
    auto parsed = NetAddress::parse(text, &why);
    if (!parsed) {
      error(node, what + ": " + why);
      return false;
    }
    *out = *parsed;
    return true;
  }

  // "FILE:LINE:COL", to name a second place in a message.
  std::string where(const YAML::Mark& mark) const {
    return source_ + ":" + std::to_string(line(mark)) + ":" + std::to_string(column(mark));
  }

  // Every problem, in file order, as "FILE:LINE:COL: message".
  std::vector<std::string> takeErrors() { return take(errors_); }
  std::vector<std::string> takeWarnings() { return take(warnings_); }

 private:
  // yaml-cpp marks are 0-based (-1 when unknown); reports are 1-based.
  static int line(const YAML::Mark& mark) { return std::max(mark.line, 0) + 1; }
  static int column(const YAML::Mark& mark) { return std::max(mark.column, 0) + 1; }

  struct Problem {
    int line;
    int column;
    std::string message;
  };
  std::vector<std::string> take(std::vector<Problem>& problems) const {
    std::stable_sort(problems.begin(), problems.end(),
                     [](const Problem& a, const Problem& b) { return std::tie(a.line, a.column) < std::tie(b.line, b.column); });
    std::vector<std::string> out;
    for (const Problem& p : problems) {
      out.push_back(source_ + ":" + std::to_string(p.line) + ":" + std::to_string(p.column) + ": " + p.message);
    }
    problems.clear();
    return out;
  }

  std::string source_;
  std::string base_dir_;  // "" or the config file's directory with a trailing '/'
  std::vector<Problem> errors_;
  std::vector<Problem> warnings_;
};

// Words the structure problems (duplicate keys, a second document) for a sidecar config.
class ConfigStructureProblems : public yaml::StructureProblems {
 public:
  explicit ConfigStructureProblems(Reader& reader) : reader_(reader) {}
  void secondDocument(const YAML::Mark& at) override {
    reader_.error(at, "a second YAML document starts here; the config is one document");
  }
  void duplicateKey(const std::string& key, const YAML::Mark& at, const YAML::Mark& first) override {
    reader_.error(at, "duplicate key \"" + key + "\" (first at " + reader_.where(first) + ")");
  }

 private:
  Reader& reader_;
};

void readSidecar(Reader& r, const YAML::Node& node, SidecarConfig& c) {
  if (!r.checkMap(node, "sidecar", {"id", "machine", "state_dir", "log_level"})) return;
  if (node["id"]) r.string(node["id"], "sidecar.id", &c.id);
  if (node["machine"] && r.string(node["machine"], "sidecar.machine", &c.machine) &&
      !health::validMachineName(c.machine)) {
    // It becomes a subject token: health.status.<machine>.
    r.error(node["machine"], "sidecar.machine must be up to 64 characters from A-Z a-z 0-9 _ -");
  }
  if (node["state_dir"]) r.string(node["state_dir"], "sidecar.state_dir", &c.state_dir);
  if (node["log_level"]) {
    std::string level;
    if (r.string(node["log_level"], "sidecar.log_level", &level)) {
      static const std::set<std::string> kLevels = {"trace", "debug", "info", "warn", "error", "off"};
      if (!kLevels.count(level)) r.error(node["log_level"], "sidecar.log_level must be one of trace, debug, info, warn, error, off");
      c.log_level = level;
    }
  }
}

void readProxy(Reader& r, const YAML::Node& node, ProxyConfig& p) {
  if (!r.checkMap(node, "proxy", {"connect_timeout_ms", "drain_timeout_ms", "max_connections", "high_watermark", "low_watermark",
                                  "idle_timeout_ms", "fin_timeout_ms", "buffer_budget_bytes"})) return;
  if (node["connect_timeout_ms"]) r.uint(node["connect_timeout_ms"], "proxy.connect_timeout_ms", 1, 600000, &p.connect_timeout_ms);
  if (node["drain_timeout_ms"]) r.uint(node["drain_timeout_ms"], "proxy.drain_timeout_ms", 0, 3600000, &p.drain_timeout_ms);
  if (node["max_connections"]) r.uint(node["max_connections"], "proxy.max_connections", 1, 1000000, &p.max_connections);
  if (node["high_watermark"]) r.uint(node["high_watermark"], "proxy.high_watermark", 4096, 1u << 30, &p.high_watermark);
  if (node["low_watermark"]) r.uint(node["low_watermark"], "proxy.low_watermark", 0, 1u << 30, &p.low_watermark);
  if (node["idle_timeout_ms"]) r.uint(node["idle_timeout_ms"], "proxy.idle_timeout_ms", 0, 86400000, &p.idle_timeout_ms);
  if (node["fin_timeout_ms"]) r.uint(node["fin_timeout_ms"], "proxy.fin_timeout_ms", 0, 86400000, &p.fin_timeout_ms);
  if (node["buffer_budget_bytes"]) r.uint(node["buffer_budget_bytes"], "proxy.buffer_budget_bytes", 0, 4294967295u, &p.buffer_budget_bytes);
  if (p.low_watermark >= p.high_watermark) {
    r.error(node, "proxy.low_watermark (" + std::to_string(p.low_watermark) + ") must be below proxy.high_watermark (" +
                      std::to_string(p.high_watermark) + ")");
  }
}

void readHubTuning(Reader& r, const YAML::Node& node, HubTuning& h) {
  if (!r.checkMap(node, "hub_options", {"ping_interval_ms", "max_pings_out", "probe_interval_ms", "suspect_after_ms",
                                         "failback_hold_ms", "window_bytes", "open_timeout_ms", "subject_prefix",
                                         "direct_writes"})) {
    return;
  }
  if (node["ping_interval_ms"]) r.uint(node["ping_interval_ms"], "hub_options.ping_interval_ms", 10, 600000, &h.ping_interval_ms);
  if (node["max_pings_out"]) r.uint(node["max_pings_out"], "hub_options.max_pings_out", 1, 100, &h.max_pings_out);
  if (node["probe_interval_ms"]) r.uint(node["probe_interval_ms"], "hub_options.probe_interval_ms", 10, 600000, &h.probe_interval_ms);
  if (node["suspect_after_ms"]) r.uint(node["suspect_after_ms"], "hub_options.suspect_after_ms", 20, 600000, &h.suspect_after_ms);
  if (node["failback_hold_ms"]) r.uint(node["failback_hold_ms"], "hub_options.failback_hold_ms", 0, 3600000, &h.failback_hold_ms);
  if (node["window_bytes"]) r.uint(node["window_bytes"], "hub_options.window_bytes", 65536, 1u << 30, &h.window_bytes);
  if (node["open_timeout_ms"]) r.uint(node["open_timeout_ms"], "hub_options.open_timeout_ms", 10, 600000, &h.open_timeout_ms);
  if (node["direct_writes"]) {
    // Older files still load: hub frames are written to sockets on the loop thread now, always.
    bool unused = false;
    if (r.boolean(node["direct_writes"], "hub_options.direct_writes", &unused)) {
      r.warning(node["direct_writes"], "hub_options.direct_writes is ignored: the hub data path runs on the loop "
                                       "thread, which writes every frame to its socket; remove the key");
    }
  }
  if (node["subject_prefix"]) {
    if (r.string(node["subject_prefix"], "hub_options.subject_prefix", &h.subject_prefix) &&
        (h.subject_prefix.back() != '.' || !wire::isValidPublishSubject(h.subject_prefix + "x"))) {
      r.error(node["subject_prefix"], "hub_options.subject_prefix must be subject tokens ending with '.' (like \"th.\")");
    }
  }
  if (h.suspect_after_ms <= h.probe_interval_ms) {
    r.error(node, "hub_options.suspect_after_ms must be above probe_interval_ms");
  }
}

void readHealth(Reader& r, const YAML::Node& node, HealthTuning& h) {
  if (!r.checkMap(node, "health", {"interval_ms"})) return;
  if (node["interval_ms"]) r.uint(node["interval_ms"], "health.interval_ms", 50, 60000, &h.interval_ms);
}

void readHubTls(Reader& r, const YAML::Node& node, nats_security::TlsFiles& tls) {
  if (!r.checkMap(node, "hub tls", {"ca", "cert", "key"})) return;
  if (!node["ca"]) r.error(node, "hub tls needs a ca (the PEM file of the CA that signed the hub's certificate)");
  else r.file(node["ca"], "hub tls.ca", false, &tls.ca);
  if (node["cert"]) r.file(node["cert"], "hub tls.cert", false, &tls.cert);
  if (node["key"]) r.file(node["key"], "hub tls.key", true, &tls.key);
  if (node["cert"].IsDefined() != node["key"].IsDefined()) r.error(node, "hub tls needs both cert and key, or neither");
}

void readHubAuth(Reader& r, const YAML::Node& node, nats_security::HubAuth& auth) {
  // Secrets only from files: a password in the config would end up in backups and diffs.
  if (!r.checkMap(node, "hub auth", {"user", "password_file", "token_file"})) return;
  if (node["user"]) r.string(node["user"], "hub auth.user", &auth.user);
  if (node["password_file"]) r.file(node["password_file"], "hub auth.password_file", true, &auth.password_file);
  if (node["token_file"]) r.file(node["token_file"], "hub auth.token_file", true, &auth.token_file);
  if (node["token_file"] && (node["user"] || node["password_file"])) {
    r.error(node, "hub auth takes either user and password_file, or token_file");
  } else if (!node["token_file"] && !node["user"]) {
    r.error(node, "hub auth needs a user (with password_file) or a token_file");
  } else if (node["password_file"] && !node["user"]) {
    r.error(node, "hub auth.password_file needs a user");
  }
}

void readHubs(Reader& r, const YAML::Node& node, std::vector<HubConfig>& hubs) {
  if (!node.IsSequence()) {
    r.error(node, "hubs must be a list of {name, url}");
    return;
  }
  std::set<std::string> names;
  for (const auto& item : node) {
    if (!r.checkMap(item, "hub", {"name", "url", "tls", "auth"})) continue;
    HubConfig hub;
    if (!item["name"]) r.error(item, "hub needs a name");
    else if (r.string(item["name"], "hub name", &hub.name) && !names.insert(hub.name).second)
      r.error(item["name"], "hub name '" + hub.name + "' appears twice");
    if (!item["url"]) r.error(item, "hub needs a url (nats://host:port)");
    else if (r.string(item["url"], "hub url", &hub.url)) {
      const std::string prefix = "nats://";
      std::string why;
      if (hub.url.rfind(prefix, 0) != 0 || !NetAddress::parse(hub.url.substr(prefix.size()), &why))
        r.error(item["url"], "hub url must be nats://host:port with a numeric host, got '" + hub.url + "'");
    }
    if (item["tls"]) readHubTls(r, item["tls"], hub.security.tls);
    if (item["auth"]) readHubAuth(r, item["auth"], hub.security.auth);
    hubs.push_back(hub);
  }
}

void readProbe(Reader& r, const YAML::Node& node, ProbeConfig& p) {
  if (!r.checkMap(node, "serve.probe", {"type", "address", "path", "interval_ms", "timeout_ms", "rise", "fall"})) return;
  std::string type = "tcp";
  if (node["type"] && r.string(node["type"], "probe type", &type)) {
    if (type == "tcp") p.type = ProbeType::kTcp;
    else if (type == "zmq") p.type = ProbeType::kZmq;
    else if (type == "http") p.type = ProbeType::kHttp;
    else r.error(node["type"], "probe type must be tcp, zmq or http, got '" + type + "'");
  }
  if (!node["address"]) r.error(node, "serve.probe needs an address");
  else r.address(node["address"], "serve.probe.address", &p.address);
  if (node["path"]) r.string(node["path"], "serve.probe.path", &p.http_path);
  if (node["interval_ms"]) r.uint(node["interval_ms"], "serve.probe.interval_ms", 10, 600000, &p.interval_ms);
  if (node["timeout_ms"]) r.uint(node["timeout_ms"], "serve.probe.timeout_ms", 1, 600000, &p.timeout_ms);
  if (node["rise"]) r.uint(node["rise"], "serve.probe.rise", 1, 100, &p.rise);
  if (node["fall"]) r.uint(node["fall"], "serve.probe.fall", 1, 100, &p.fall);
}

void readServe(Reader& r, const YAML::Node& node, std::optional<ServeConfig>& out) {
  if (!r.checkMap(node, "serve", {"service", "address", "probe", "max_sessions"})) return;
  ServeConfig s;
  if (!node["service"]) r.error(node, "serve needs a service name");
  else r.string(node["service"], "serve.service", &s.service);
  if (!node["address"]) r.error(node, "serve needs the agent's address");
  else r.address(node["address"], "serve.address", &s.address);
  if (node["max_sessions"]) r.uint(node["max_sessions"], "serve.max_sessions", 1, 1000000, &s.max_sessions);
  if (node["probe"]) {
    ProbeConfig p;
    readProbe(r, node["probe"], p);
    s.probe = p;
  }
  out = s;
}

void readFronts(Reader& r, const YAML::Node& node, SidecarConfig& c) {
  if (!node.IsSequence()) {
    r.error(node, "fronts must be a list of {listen, service, direct}");
    return;
  }
  std::set<std::string> listens;
  for (const auto& item : node) {
    if (!r.checkMap(item, "front", {"listen", "service", "direct", "max_connections", "connect_timeout_ms", "idle_timeout_ms",
                                    "fin_timeout_ms"})) continue;
    FrontConfig f;
    if (!item["listen"]) r.error(item, "front needs a listen address");
    else if (r.address(item["listen"], "front listen", &f.listen) && f.listen.port() != 0 &&
             !listens.insert(f.listen.toString()).second)
      r.error(item["listen"], "two fronts listen on " + f.listen.toString());
    if (!item["service"]) r.error(item, "front needs a service name");
    else r.string(item["service"], "front service", &f.service);
    if (item["direct"]) {
      NetAddress direct;
      if (r.address(item["direct"], "front direct", &direct)) f.direct = direct;
    } else if (c.mode == Mode::kDirect) {
      r.error(item, "front for '" + f.service + "' needs a direct address in mode direct");
    }
    f.max_connections = c.proxy.max_connections;
    f.connect_timeout_ms = c.proxy.connect_timeout_ms;
    if (item["max_connections"]) r.uint(item["max_connections"], "front max_connections", 1, 1000000, &f.max_connections);
    if (item["connect_timeout_ms"]) r.uint(item["connect_timeout_ms"], "front connect_timeout_ms", 1, 600000, &f.connect_timeout_ms);
    auto optional_ms = [&](const char* key, std::optional<uint32_t>* out) {
      uint32_t ms = 0;
      if (item[key] && r.uint(item[key], std::string("front ") + key, 0, 86400000, &ms)) *out = ms;
    };
    optional_ms("idle_timeout_ms", &f.idle_timeout_ms);
    optional_ms("fin_timeout_ms", &f.fin_timeout_ms);
    c.fronts.push_back(f);
  }
}

// The password through the one reader of secret files (nats_security::readSecretFile): a regular
// file others may not read, at most 4 KiB, its first line.
void readBasicAuth(Reader& r, const YAML::Node& node, const std::string& what, std::optional<BasicAuthConfig>& out) {
  if (!r.checkMap(node, what, {"user", "password_file"})) return;
  BasicAuthConfig a;
  bool ok = true;
  if (!node["user"]) {
    r.error(node, what + " needs a user");
    ok = false;
  } else if (r.string(node["user"], what + ".user", &a.user) && a.user.find(':') != std::string::npos) {
    r.error(node["user"], what + ".user must not contain ':'");
    ok = false;
  }
  if (!node["password_file"]) {
    r.error(node, what + " needs a password_file (the password is never written in the config)");
    ok = false;
  } else if (r.string(node["password_file"], what + ".password_file", &a.password_file)) {
    std::string why;
    a.password = nats_security::readSecretFile(a.password_file, &why);
    if (!why.empty()) {
      a.password.clear();
      r.error(node["password_file"], what + ".password_file: " + why);
      ok = false;
    }
  } else {
    ok = false;
  }
  if (ok) out = a;
}

void readMetrics(Reader& r, const YAML::Node& node, SidecarConfig& c) {
  const YAML::Node* listen = &node;
  YAML::Node listen_node;
  if (node.IsMap()) {
    if (!r.checkMap(node, "metrics", {"listen", "basic_auth"})) return;
    if (!node["listen"]) {
      r.error(node, "metrics needs a listen address (e.g. 127.0.0.1:9140)");
      return;
    }
    listen_node = node["listen"];
    listen = &listen_node;
    if (node["basic_auth"]) readBasicAuth(r, node["basic_auth"], "metrics.basic_auth", c.metrics_auth);
  }
  NetAddress metrics;
  if (r.address(*listen, "metrics", &metrics)) {
    if (std::string why = metricsAddressProblem(metrics); !why.empty()) r.error(*listen, why);
    c.metrics = metrics;
  }
}

// http(s)://host[:port][/prefix]: the Pushgateway's base URL.
bool validPushUrl(const std::string& url, std::string* why) {
  size_t scheme = url.find("://");
  if (scheme == std::string::npos || (url.compare(0, scheme, "http") != 0 && url.compare(0, scheme, "https") != 0)) {
    *why = "must start with http:// or https://";
    return false;
  }
  const std::string rest = url.substr(scheme + 3);
  const std::string authority = rest.substr(0, rest.find('/'));
  if (authority.empty() || authority.front() == ':') {
    *why = "has no host";
    return false;
  }
  if (authority.find('@') != std::string::npos) {
    *why = "must not carry credentials (use metrics_push.basic_auth)";
    return false;
  }
  if (url.find_first_of("?# \t") != std::string::npos) {
    *why = "must not have a query, a fragment or spaces";
    return false;
  }
  return true;
}

void readMetricsPush(Reader& r, const YAML::Node& node, std::optional<MetricsPushConfig>& out) {
  if (!r.checkMap(node, "metrics_push", {"url", "job", "interval_ms", "timeout_ms", "on_exit", "basic_auth"})) return;
  MetricsPushConfig p;
  if (!node["url"]) {
    r.error(node, "metrics_push needs the Pushgateway's url (e.g. http://127.0.0.1:9091)");
  } else if (r.string(node["url"], "metrics_push.url", &p.url)) {
    std::string why;
    if (!validPushUrl(p.url, &why)) r.error(node["url"], "metrics_push.url " + why + ", got '" + p.url + "'");
    while (!p.url.empty() && p.url.back() == '/') p.url.pop_back();
  }
  if (node["job"]) r.string(node["job"], "metrics_push.job", &p.job);
  if (node["interval_ms"]) r.uint(node["interval_ms"], "metrics_push.interval_ms", 100, 3600000, &p.interval_ms);
  if (node["timeout_ms"]) r.uint(node["timeout_ms"], "metrics_push.timeout_ms", 50, 60000, &p.timeout_ms);
  if (p.timeout_ms > p.interval_ms) {
    r.error(node["timeout_ms"] ? node["timeout_ms"] : node,
            "metrics_push.timeout_ms (" + std::to_string(p.timeout_ms) + ") must not exceed interval_ms (" +
                std::to_string(p.interval_ms) + ")");
  }
  if (node["on_exit"]) {
    std::string on_exit;
    if (r.string(node["on_exit"], "metrics_push.on_exit", &on_exit)) {
      if (on_exit == "push") p.delete_on_exit = false;
      else if (on_exit == "delete") p.delete_on_exit = true;
      else r.error(node["on_exit"], "metrics_push.on_exit must be push or delete, got '" + on_exit + "'");
    }
  }
  if (node["basic_auth"]) readBasicAuth(r, node["basic_auth"], "metrics_push.basic_auth", p.basic_auth);
  out = p;
}

ConfigLoadResult readRoot(Reader& r, const YAML::Node& root) {
  ConfigLoadResult result;
  SidecarConfig& c = result.config;
  if (!r.checkMap(root, "the config file", {"sidecar", "mode", "hubs", "hub_options", "serve", "fronts", "metrics", "metrics_push", "proxy", "health"})) {
    result.errors = r.takeErrors();
    return result;
  }
  if (root["sidecar"]) readSidecar(r, root["sidecar"], c);
  if (root["mode"]) {
    std::string mode;
    if (r.string(root["mode"], "mode", &mode)) {
      if (mode == "direct") c.mode = Mode::kDirect;
      else if (mode == "hub") c.mode = Mode::kHub;
      else r.error(root["mode"], "mode must be direct or hub, got '" + mode + "'");
    }
  }
  // proxy first: fronts take their defaults from it.
  if (root["proxy"]) readProxy(r, root["proxy"], c.proxy);
  if (root["hubs"]) readHubs(r, root["hubs"], c.hubs);
  if (root["hub_options"]) readHubTuning(r, root["hub_options"], c.hub);
  if (root["serve"]) readServe(r, root["serve"], c.serve);
  if (root["health"]) readHealth(r, root["health"], c.health);
  if (root["fronts"]) readFronts(r, root["fronts"], c);
  if (root["metrics"]) readMetrics(r, root["metrics"], c);
  if (root["metrics_push"]) readMetricsPush(r, root["metrics_push"], c.metrics_push);
  if (c.mode == Mode::kHub && c.hubs.empty()) r.error(root["mode"].Mark(), "mode hub needs at least one entry under hubs");
  if (c.serve && c.hubs.empty()) r.error(root["serve"].Mark(), "serve offers the agent to the hubs: it needs hubs");
  if (c.fronts.empty() && !c.serve) r.error(YAML::Mark(), "nothing to do: the config has neither fronts nor serve");
  if (c.id.empty() && c.serve) c.id = (c.machine.empty() ? "local" : c.machine) + "." + c.serve->service;
  if (c.id.empty()) c.id = c.machine.empty() ? "twinhub-sidecar" : c.machine + ".sidecar";
  result.errors = r.takeErrors();
  result.warnings = r.takeWarnings();
  return result;
}

}  // namespace

std::string metricsAddressProblem(const NetAddress& address) {
  if (!address.isV6()) return "";
  return "metrics: " + address.toString() +
         " is IPv6, which the /metrics server cannot bind (Debian's civetweb is built without IPv6); "
         "use an IPv4 address such as 127.0.0.1:" + std::to_string(address.port());
}

ConfigLoadResult loadConfigText(const std::string& text, const std::string& source_name) {
  Reader reader(source_name);
  YAML::Node root;
  try {
    ConfigStructureProblems problems(reader);
    yaml::StructureChecker(problems).check(text);
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    reader.error(e.mark, "YAML syntax: " + e.msg);
    ConfigLoadResult result;
    result.errors = reader.takeErrors();
    return result;
  }
  if (!root || root.IsNull()) {
    reader.error(YAML::Mark(), "the file is empty");
    ConfigLoadResult result;
    result.errors = reader.takeErrors();
    return result;
  }
  try {
    return readRoot(reader, root);
  } catch (const YAML::Exception& e) {
    // A shape the walker did not expect (yaml-cpp throws on some invalid accesses): still report it.
    reader.error(e.mark, e.msg);
    ConfigLoadResult result;
    result.errors = reader.takeErrors();
    return result;
  }
}

namespace {

// Far above any real sidecar's config (a front is one line); stops --config /dev/zero from
// reading forever and a runaway generator from costing gigabytes of YAML nodes.
constexpr size_t kMaxConfigBytes = 16 * 1024 * 1024;


}  // namespace

ConfigLoadResult loadConfigFile(const std::string& path) {
  std::string text, why;
  if (!yaml::readTextFile(path, kMaxConfigBytes, "config file", &text, &why)) {
    ConfigLoadResult result;
    result.errors.push_back(path + ":1:1: " + why);
    return result;
  }
  return loadConfigText(text, path);
}

}  // namespace twinhub
