// Test support for hub mode: configs for serving and front sidecars on a pair of real hubs,
// starting them and waiting until they use the hubs, an echo path through the hubs, and a raw
// NATS client that publishes whatever a test wants (frames, garbage, forged subjects) as an
// outside party on a hub would.
//
// Catch2 assertions inside: use from a test's thread.
#pragma once

#include <nats/nats.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/nats_hubs.h"
#include "support/sidecar_fixture.h"
#include "support/tcp_client.h"
#include "support/test_servers.h"

namespace twinhub::test {

using namespace std::chrono_literals;

// Generous: sanitizer builds start slowly on a shared machine.
constexpr auto kStartTimeout = 15s;
// Short hold-down so that failback fits in a test; detection as shipped.
constexpr int kFailbackHoldMs = 1500;
// A session whose OPEN gets no answer at all is given up after this (the shipped default).
constexpr int kOpenTimeoutMs = 900;

std::function<bool(double)> atLeast(double v);
std::function<bool(double)> equalTo(double v);
// Counters appear on /metrics at their first increment; before that they count as 0.
double orZero(double v);

// Hubs in a sidecar's order of preference.
using HubOrder = std::vector<NatsHub*>;

// A secure hub's `tls` and `auth` keys for a sidecar config (", tls: {...}, auth: {...}", the
// gen-certs.sh files of `role`); "" for a plain hub.
std::string hubSecurityYaml(const NatsHub& hub, const std::string& role);
// Each hub with its security when it has some (HubPair::Secure).
std::string hubsYaml(const HubOrder& order);
// A sidecar that offers `agent` as `service`; its probe is tcp (on the agent) or zmq (on a health
// socket), checked every 100 ms, one result enough either way. `extra`: more YAML appended.
std::string servingYaml(const std::string& id, const HubOrder& order, const std::string& service,
                        const std::string& agent, const std::string& probe_type, const std::string& probe_address,
                        const std::string& extra = "");
// A sidecar with one front for `service`; `direct` (optional) is where mode direct sends bytes.
std::string frontYaml(const HubOrder& order, const std::string& service, const std::string& mode = "hub",
                      const std::string& direct = "", const std::string& extra = "");

// The hub that carries the sidecar's sessions now (twinhub_hub_active), "" when none.
std::string activeHub(const SidecarFixture& sidecar);
bool waitActiveHub(const SidecarFixture& sidecar, const std::string& hub, std::chrono::milliseconds timeout);
// Waits until the sidecar sees every hub of `order` up (twinhub_hub_state 2) and uses the first.
void requireHubsUp(const SidecarFixture& sidecar, const HubOrder& order);

std::unique_ptr<SidecarFixture> startServing(const std::string& id, const HubOrder& order, const std::string& service,
                                             const std::string& agent, const std::string& probe_type,
                                             const std::string& probe_address, const std::string& extra = "");
std::unique_ptr<SidecarFixture> startFront(const HubOrder& order, const std::string& service,
                                           const std::string& mode = "hub", const std::string& direct = "",
                                           const std::string& extra = "");

// A new connection through `front` carries bytes to the echo agent and back.
bool newConnectionEchoes(const std::string& front);

// A front and a serving sidecar for one service whose agent is an EchoServer, ready to carry a
// session (one has gone through end to end: the queue subscription has reached the hub).
struct EchoPath {
  EchoPath(const HubOrder& front_order, const HubOrder& server_order, const std::string& service = "EchoService",
           const std::string& server_extra = "", const std::string& front_extra = "");
  std::string logs() const;

  EchoServer echo;
  std::unique_ptr<SidecarFixture> server;
  std::unique_ptr<SidecarFixture> front;
};

// A bare cnats connection for publishing whatever a test wants, frames or garbage: an outside
// party on a hub, holding `role`'s credentials when the hub is secure.
class RawNats {
 public:
  explicit RawNats(const NatsHub& hub, const std::string& role = "sidecar");
  // At `url` (e.g. a relay in front of a hub) with `security` (hubSecurity(hub), or none).
  RawNats(const std::string& url, const nats_security::HubSecurity& security);
  ~RawNats();
  RawNats(const RawNats&) = delete;
  RawNats& operator=(const RawNats&) = delete;

  void publish(const std::string& subject, const std::string& data, const std::string& reply = "");
  void flush();
  natsConnection* connection() { return nc_; }

  struct Message {
    std::string subject, reply, data;
  };
  // A plain (not queued) subscription: a copy of every message on `subject`, as any outside
  // client may have. Returns its index for next().
  int subscribe(const std::string& subject);
  // The next message of subscription `index`, or nullopt after `timeout`.
  std::optional<Message> next(int index, std::chrono::milliseconds timeout);

 private:
  natsConnection* nc_ = nullptr;
  std::vector<natsSubscription*> subscriptions_;
};

// The session id and payload of an encoded frame (no validation beyond the length).
uint64_t frameSession(const std::string& frame);
std::string framePayload(const std::string& frame);

// A frame as the wire format lays it out (wire/frame.h), with every field chosen by the caller,
// including the ones a valid frame must not have.
std::string rawFrame(uint8_t version, uint8_t type, uint32_t length_field, uint64_t session, uint64_t seq,
                     uint64_t recv_seq, uint64_t written_seq, const std::string& payload);
constexpr uint8_t kOpen = 1, kOpenOk = 2, kOpenFail = 3, kData = 4, kFin = 5, kAck = 6, kRst = 7, kPing = 8;

}  // namespace twinhub::test
