#include "support/hub_fixtures.h"

#include "support/process.h"

namespace twinhub::test {

std::function<bool(double)> atLeast(double v) {
  return [v](double x) { return x >= v; };
}
std::function<bool(double)> equalTo(double v) {
  return [v](double x) { return x == v; };
}
double orZero(double v) { return std::max(0.0, v); }

// ---- configs --------------------------------------------------------------------------------


std::string hubSecurityYaml(const NatsHub& hub, const std::string& role) {
  const nats_security::HubSecurity s = hubSecurity(hub, role);
  if (s.empty()) return "";
  return ", tls: {ca: \"" + s.tls.ca + "\", cert: \"" + s.tls.cert + "\", key: \"" + s.tls.key +
         "\"}, auth: {user: " + s.auth.user + ", password_file: \"" + s.auth.password_file + "\"}";
}

std::string hubsYaml(const HubOrder& order) {
  std::string out = "hubs:\n";
  for (NatsHub* hub : order) {
    out += "  - {name: " + hub->name() + ", url: \"" + hub->url() + "\"" + hubSecurityYaml(*hub, "sidecar") + "}\n";
  }
  out += "hub_options: {probe_interval_ms: 100, suspect_after_ms: 350, failback_hold_ms: " +
         std::to_string(kFailbackHoldMs) + ", open_timeout_ms: " + std::to_string(kOpenTimeoutMs) + "}\n";
  return out;
}

std::string servingYaml(const std::string& id, const HubOrder& order, const std::string& service,
                        const std::string& agent, const std::string& probe_type, const std::string& probe_address,
                        const std::string& extra) {
  return "sidecar: {id: " + id + "}\n" + "mode: hub\n" + hubsYaml(order) + "serve:\n" + "  service: " + service +
         "\n" + "  address: " + agent + "\n" + "  probe: {type: " + probe_type + ", address: " + probe_address +
         ", interval_ms: 100, timeout_ms: 200, rise: 1, fall: 1}\n" + "metrics: 127.0.0.1:0\n" + extra;
}

std::string frontYaml(const HubOrder& order, const std::string& service, const std::string& mode,
                      const std::string& direct, const std::string& extra) {
  return "sidecar: {id: front." + service + "}\n" + "mode: " + mode + "\n" + hubsYaml(order) + "fronts:\n" +
         "  - {listen: 127.0.0.1:0, service: " + service + (direct.empty() ? "" : ", direct: " + direct) + "}\n" +
         "metrics: 127.0.0.1:0\n" + extra;
}

// ---- sidecars -------------------------------------------------------------------------------

std::string activeHub(const SidecarFixture& sidecar) {
  const std::string exposition = sidecar.scrape();
  for (const char* name : {"edge", "central"}) {
    if (metricValue(exposition, "twinhub_hub_active", std::string("hub=\"") + name + "\"") == 1) return name;
  }
  return "";
}

bool waitActiveHub(const SidecarFixture& sidecar, const std::string& hub, std::chrono::milliseconds timeout) {
  return sidecar.waitMetric("twinhub_hub_active", "hub=\"" + hub + "\"", equalTo(1), timeout) == 1;
}

void requireHubsUp(const SidecarFixture& sidecar, const HubOrder& order) {
  const double all_up = 2.0 * static_cast<double>(order.size());
  const bool up = sidecar.waitMetric("twinhub_hub_state", "", equalTo(all_up), kStartTimeout) == all_up;
  const bool active = up && waitActiveHub(sidecar, order.front()->name(), kStartTimeout);
  INFO("sidecar output:\n" << sidecar.output());
  REQUIRE(up);
  REQUIRE(active);
}

std::unique_ptr<SidecarFixture> startServing(const std::string& id, const HubOrder& order, const std::string& service,
                                             const std::string& agent, const std::string& probe_type,
                                             const std::string& probe_address, const std::string& extra) {
  auto sidecar =
      std::make_unique<SidecarFixture>(servingYaml(id, order, service, agent, probe_type, probe_address, extra));
  const bool ready = sidecar->waitReady(0, true, kStartTimeout);
  const bool serving = ready && !sidecar->waitLog("serving \\S+ through the hubs", kStartTimeout).empty();
  INFO("serving sidecar output:\n" << sidecar->output());
  REQUIRE(ready);
  REQUIRE(serving);
  requireHubsUp(*sidecar, order);
  return sidecar;
}

std::unique_ptr<SidecarFixture> startFront(const HubOrder& order, const std::string& service,
                                           const std::string& mode, const std::string& direct,
                                           const std::string& extra) {
  auto sidecar = std::make_unique<SidecarFixture>(frontYaml(order, service, mode, direct, extra));
  const bool ready = sidecar->waitReady(1, true, kStartTimeout);
  INFO("front sidecar output:\n" << sidecar->output());
  REQUIRE(ready);
  requireHubsUp(*sidecar, order);
  return sidecar;
}

bool newConnectionEchoes(const std::string& front) {
  TcpClient client(front);
  return echoes(client, "hello through the hubs");
}

EchoPath::EchoPath(const HubOrder& front_order, const HubOrder& server_order, const std::string& service,
                   const std::string& server_extra, const std::string& front_extra) {
  server = startServing("mainpc." + service, server_order, service, echo.address(), "tcp", echo.address(),
                        server_extra);
  front = startFront(front_order, service, "hub", "", front_extra);
  const bool works = waitFor([&] { return newConnectionEchoes(front->front()); }, 10s);
  INFO("front output:\n" << front->output() << "\nserving output:\n" << server->output());
  REQUIRE(works);
}

std::string EchoPath::logs() const {
  return "front output:\n" + front->output() + "\nserving output:\n" + server->output();
}

RawNats::RawNats(const NatsHub& hub, const std::string& role) : RawNats(hub.url(), hubSecurity(hub, role)) {}

RawNats::RawNats(const std::string& url, const nats_security::HubSecurity& security) {
  natsOptions* opts = nullptr;
  REQUIRE(natsOptions_Create(&opts) == NATS_OK);
  REQUIRE(natsOptions_SetURL(opts, url.c_str()) == NATS_OK);
  const std::string problem = nats_security::applyHubSecurity(opts, security);
  INFO(problem);
  REQUIRE(problem.empty());
  natsStatus s = natsConnection_Connect(&nc_, opts);
  natsOptions_Destroy(opts);
  INFO("connect " << url << ": " << natsStatus_GetText(s));
  REQUIRE(s == NATS_OK);
}

RawNats::~RawNats() {
  for (natsSubscription* sub : subscriptions_) natsSubscription_Destroy(sub);
  natsConnection_Close(nc_);
  natsConnection_Destroy(nc_);
}

void RawNats::publish(const std::string& subject, const std::string& data, const std::string& reply) {
  natsStatus s = reply.empty()
                     ? natsConnection_Publish(nc_, subject.c_str(), data.data(), static_cast<int>(data.size()))
                     : natsConnection_PublishRequest(nc_, subject.c_str(), reply.c_str(), data.data(),
                                                     static_cast<int>(data.size()));
  INFO("publish " << subject.substr(0, 80) << " (" << data.size() << " bytes): " << natsStatus_GetText(s));
  REQUIRE(s == NATS_OK);
}

void RawNats::flush() { REQUIRE(natsConnection_FlushTimeout(nc_, 3000) == NATS_OK); }

int RawNats::subscribe(const std::string& subject) {
  natsSubscription* sub = nullptr;
  REQUIRE(natsConnection_SubscribeSync(&sub, nc_, subject.c_str()) == NATS_OK);
  subscriptions_.push_back(sub);
  flush();  // the hub knows of it before the caller goes on
  return static_cast<int>(subscriptions_.size()) - 1;
}

std::optional<RawNats::Message> RawNats::next(int index, std::chrono::milliseconds timeout) {
  natsMsg* msg = nullptr;
  if (natsSubscription_NextMsg(&msg, subscriptions_.at(index), static_cast<int64_t>(timeout.count())) != NATS_OK) {
    return std::nullopt;
  }
  Message out;
  out.subject = natsMsg_GetSubject(msg);
  if (const char* reply = natsMsg_GetReply(msg)) out.reply = reply;
  out.data.assign(natsMsg_GetData(msg), static_cast<size_t>(natsMsg_GetDataLength(msg)));
  natsMsg_Destroy(msg);
  return out;
}

uint64_t frameSession(const std::string& frame) {
  uint64_t id = 0;
  for (size_t i = 8; i < 16 && i < frame.size(); ++i) id = (id << 8) | static_cast<unsigned char>(frame[i]);
  return id;
}

std::string framePayload(const std::string& frame) { return frame.size() > 40 ? frame.substr(40) : std::string(); }

std::string rawFrame(uint8_t version, uint8_t type, uint32_t length_field, uint64_t session, uint64_t seq,
                     uint64_t recv_seq, uint64_t written_seq, const std::string& payload) {
  std::string out = "tH";
  out.push_back(static_cast<char>(version));
  out.push_back(static_cast<char>(type));
  for (int i = 3; i >= 0; --i) out.push_back(static_cast<char>((length_field >> (8 * i)) & 0xff));
  for (uint64_t v : {session, seq, recv_seq, written_seq}) {
    for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  return out + payload;
}

}  // namespace twinhub::test
