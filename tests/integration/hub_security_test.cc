// Hub security end to end (docs/security.md, "TLS and credentials"): the secure hub configs
// (deploy/nats/*-secure.conf) with scripts/gen-certs.sh's certificates refuse clients without
// credentials, with a wrong password or with another CA's certificates; hub mode through them is
// byte-exact; a sidecar's config names a missing certificate file with FILE:LINE:COL; a password
// never reaches the sidecar's log, even at debug; a rotated certificate comes into use on SIGHUP
// without dropping an open session.
//
// Real nats-servers, sidecars and sockets on 127.0.0.1; ports 0 or from HubPair.
#include <nats/nats.h>
#include <signal.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "nats_security/hub_security.h"
#include "support/hub_fixtures.h"
#include "support/nats_hubs.h"
#include "support/process.h"
#include "support/sidecar_fixture.h"
#include "support/tcp_client.h"
#include "support/test_servers.h"

namespace twinhub::test {
namespace {

using nats_security::HubSecurity;
namespace fs = std::filesystem;

std::string firstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// The files of `role` in a gen-certs.sh directory, as a client of the hubs would use them.
HubSecurity roleSecurity(const std::string& dir, const std::string& role) {
  HubSecurity s;
  s.tls = {dir + "/ca.pem", dir + "/" + role + ".pem", dir + "/" + role + "-key.pem"};
  s.auth.user = role;
  s.auth.password_file = dir + "/" + role + ".password";
  return s;
}

// Connects once (no retries) with `security`; "" when connected, else why not.
std::string tryConnect(const std::string& url, const HubSecurity& security) {
  natsOptions* opts = nullptr;
  natsConnection* nc = nullptr;
  natsStatus s = natsOptions_Create(&opts);
  if (s == NATS_OK) s = natsOptions_SetURL(opts, url.c_str());
  if (s == NATS_OK) s = natsOptions_SetTimeout(opts, 2000);
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(opts, 0);
  if (s != NATS_OK) return "options";
  if (std::string why = nats_security::applyHubSecurity(opts, security); !why.empty()) {
    natsOptions_Destroy(opts);
    return "security: " + why;
  }
  s = natsConnection_Connect(&nc, opts);
  std::string why;
  if (s != NATS_OK) {
    const char* text = nats_GetLastError(nullptr);
    why = std::string(natsStatus_GetText(s)) + (text ? std::string(": ") + text : "");
  }
  if (nc) {
    natsConnection_Close(nc);
    natsConnection_Destroy(nc);
  }
  natsOptions_Destroy(opts);
  return why;
}

// A refusal by the hub's authorization (not a TLS or network failure).
bool refusedAuthorization(std::string why) {
  for (char& c : why) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return why.find("authorization") != std::string::npos || why.find("not permitted") != std::string::npos;
}

std::string writeSecret(const TempDir& dir, const std::string& name, const std::string& content) {
  std::string path = dir.write(name, content);
  ::chmod(path.c_str(), 0600);
  return path;
}

TEST_CASE("HubSecurity: an unauthenticated client is refused by both hubs", "[integration]") {
  const std::string& certs = testCertsDir();
  HubPair hubs(HubPair::Secure{certs});
  TempDir dir;
  for (NatsHub* hub : {&hubs.central(), &hubs.edge()}) {
    INFO("hub " << hub->name());
    // The sidecar's own files get in: the refusals below are the hub's doing.
    CHECK(tryConnect(hub->url(), roleSecurity(certs, "sidecar")) == "");
    CHECK(tryConnect(hub->url(), roleSecurity(certs, "controller")) == "");
    // No TLS, no user: the hub requires TLS.
    CHECK(tryConnect(hub->url(), HubSecurity{}) != "");
    // TLS with a good certificate, but no user.
    HubSecurity no_user = roleSecurity(certs, "sidecar");
    no_user.auth = {};
    const std::string why = tryConnect(hub->url(), no_user);
    INFO(why);
    CHECK(refusedAuthorization(why));
    // A user and password but no TLS.
    HubSecurity no_tls = roleSecurity(certs, "sidecar");
    no_tls.tls = {};
    CHECK(tryConnect(hub->url(), no_tls) != "");
  }
}

TEST_CASE("HubSecurity: a wrong password or another role's password is refused", "[integration]") {
  const std::string& certs = testCertsDir();
  HubPair hubs(HubPair::Secure{certs});
  TempDir dir;
  HubSecurity wrong = roleSecurity(certs, "sidecar");
  wrong.auth.password_file = writeSecret(dir, "wrong.password", "not-the-password\n");
  HubSecurity swapped = roleSecurity(certs, "sidecar");
  swapped.auth.password_file = certs + "/controller.password";
  for (NatsHub* hub : {&hubs.central(), &hubs.edge()}) {
    INFO("hub " << hub->name());
    CHECK(refusedAuthorization(tryConnect(hub->url(), wrong)));
    CHECK(refusedAuthorization(tryConnect(hub->url(), swapped)));
  }
}

TEST_CASE("HubSecurity: a client with the wrong CA cannot connect", "[integration]") {
  const std::string& certs = testCertsDir();
  const std::string& other = testCertsDir("other");  // an unrelated private CA
  HubPair hubs(HubPair::Secure{certs});
  for (NatsHub* hub : {&hubs.central(), &hubs.edge()}) {
    INFO("hub " << hub->name());
    // Everything from the other CA (with the right password): the hub's certificate fails the
    // client's check.
    HubSecurity foreign = roleSecurity(other, "sidecar");
    foreign.auth.password_file = certs + "/sidecar.password";
    CHECK(tryConnect(hub->url(), foreign) != "");
    // Trusting the right CA but presenting the other CA's certificate: the hub refuses it.
    HubSecurity foreign_cert = roleSecurity(certs, "sidecar");
    foreign_cert.tls.cert = other + "/sidecar.pem";
    foreign_cert.tls.key = other + "/sidecar-key.pem";
    CHECK(tryConnect(hub->url(), foreign_cert) != "");
    // No client certificate at all: refused too (the hubs verify clients).
    HubSecurity no_cert = roleSecurity(certs, "sidecar");
    no_cert.tls.cert.clear();
    no_cert.tls.key.clear();
    CHECK(tryConnect(hub->url(), no_cert) != "");
  }
}

TEST_CASE("HubSecurity: hub mode through secure hubs carries 20 MB byte-exact across the leaf link", "[integration]") {
  constexpr uint64_t kTotal = 20 * 1024 * 1024;
  constexpr uint64_t kSeed = 0x5ec0001;
  HubPair hubs(HubPair::Secure{testCertsDir()});
  // The front prefers edge and the server central: every frame crosses the (TLS) leaf link.
  EchoPath path({&hubs.edge(), &hubs.central()}, {&hubs.central(), &hubs.edge()});
  // A loaded machine can make a hub suspect for a moment; each side is back on its primary after
  // the hold-down.
  REQUIRE(waitActiveHub(*path.front, "edge", 10s));
  REQUIRE(waitActiveHub(*path.server, "central", 10s));
  TcpClient client(path.front->front());
  REQUIRE(client.isConnected());
  PatternCheck check;
  bool sent = false;
  {
    PatternSender sender(client, kSeed, kTotal, {}, /*shutdown_write_after=*/true);
    check = recvPattern(client, kSeed, 0, kTotal, 30s);
    sent = sender.wait();
  }
  INFO(path.logs());
  CHECK(sent);
  REQUIRE(check.received == kTotal);
  REQUIRE(check.matched);
  CHECK(client.waitClosed(5s) == "eof");
}

TEST_CASE("HubSecurity: check-config names a missing certificate file and an exposed password file with FILE:LINE:COL",
          "[integration]") {
  const std::string& certs = testCertsDir();
  TempDir dir;
  const std::string exposed = dir.write("exposed.password", "secret\n");
  ::chmod(exposed.c_str(), 0644);
  const std::string config = dir.write("sidecar.yaml",
                                       "mode: hub\n"
                                       "hubs:\n"
                                       "  - name: edge\n"
                                       "    url: nats://127.0.0.1:4223\n"
                                       "    tls: {ca: " + certs + "/ca.pem, cert: missing.pem, key: " + certs +
                                           "/sidecar-key.pem}\n"
                                           "    auth: {user: sidecar, password_file: " + exposed + "}\n"
                                           "fronts:\n"
                                           "  - {listen: 127.0.0.1:0, service: S}\n");
  Process check(binPath("twinhub-sidecar"), {"--check-config", config});
  std::optional<int> status = check.wait(20s);
  const std::string out = check.output();
  INFO(out);
  CHECK(status.has_value());
  CHECK(status != 0);
  // The relative path is taken from the config file's directory.
  CHECK(out.find(config + ":5:" ) != std::string::npos);
  CHECK(out.find("hub tls.cert: " + dir.path() + "/missing.pem: No such file or directory") != std::string::npos);
  CHECK(out.find(config + ":6:") != std::string::npos);
  CHECK(out.find("others may read or write this secret") != std::string::npos);
  CHECK(out.find("secret\n") == std::string::npos);
}

// Replaces `to` with `from` the way an operator's tooling should: a new file renamed over it.
void replaceFile(const std::string& from, const std::string& to) {
  fs::copy_file(from, to + ".new", fs::copy_options::overwrite_existing);
  fs::permissions(to + ".new", fs::perms::owner_read | fs::perms::owner_write);
  fs::rename(to + ".new", to);
}

TEST_CASE("HubSecurity: SIGHUP with a rotated sidecar certificate renews hub connections one at a time, keeping an "
          "open session and never logging the password",
          "[integration]") {
  const std::string& certs = testCertsDir();
  HubPair hubs(HubPair::Secure{certs});
  EchoServer echo;
  auto server = startServing("mainpc.RotateService", {&hubs.central(), &hubs.edge()}, "RotateService", echo.address(),
                             "tcp", echo.address());
  // The front's own copies of the sidecar's files, which the test rotates.
  TempDir mine;
  for (const char* name : {"sidecar.pem", "sidecar-key.pem", "sidecar.password"}) {
    replaceFile(certs + "/" + name, mine.path() + "/" + name);
  }
  auto hubYaml = [&](NatsHub& hub) {
    return "  - {name: " + hub.name() + ", url: \"" + hub.url() + "\", tls: {ca: \"" + certs + "/ca.pem\", cert: \"" +
           mine.path() + "/sidecar.pem\", key: \"" + mine.path() + "/sidecar-key.pem\"}, auth: {user: sidecar, " +
           "password_file: \"" + mine.path() + "/sidecar.password\"}}\n";
  };
  const std::string yaml = "sidecar: {id: front.RotateService}\nmode: hub\nhubs:\n" + hubYaml(hubs.edge()) +
                           hubYaml(hubs.central()) +
                           "hub_options: {probe_interval_ms: 100, suspect_after_ms: 350, failback_hold_ms: 1500}\n"
                           "fronts:\n  - {listen: 127.0.0.1:0, service: RotateService}\nmetrics: 127.0.0.1:0\n";
  SidecarFixture front(yaml, {"--log-level", "debug"});
  REQUIRE(front.waitReady(1, true, kStartTimeout));
  requireHubsUp(front, {&hubs.edge(), &hubs.central()});
  REQUIRE(waitFor([&] { return newConnectionEchoes(front.front()); }, 10s));

  TcpClient session(front.front());
  REQUIRE(echoes(session, "before the rotation"));

  // A new certificate for the same role from the same CA: gen-certs.sh on a copy of the set.
  TempDir again;
  fs::copy(certs, again.path() + "/certs");
  fs::remove(again.path() + "/certs/sidecar.pem");
  Process regen("/bin/bash", {std::string(TWINHUB_SOURCE_DIR) + "/scripts/gen-certs.sh", again.path() + "/certs"});
  REQUIRE(regen.wait(60s) == 0);
  REQUIRE(firstLine(again.path() + "/certs/sidecar.pem") == firstLine(certs + "/sidecar.pem"));  // PEM header
  std::ifstream old_cert(certs + "/sidecar.pem"), new_cert(again.path() + "/certs/sidecar.pem");
  std::stringstream a, b;
  a << old_cert.rdbuf();
  b << new_cert.rdbuf();
  REQUIRE(a.str() != b.str());
  replaceFile(again.path() + "/certs/sidecar.pem", mine.path() + "/sidecar.pem");
  replaceFile(again.path() + "/certs/sidecar-key.pem", mine.path() + "/sidecar-key.pem");

  front.process().signal(SIGHUP);
  CHECK(!front.waitLog("renewing the hub connections one at a time", 10s).empty());
  // Both hubs renewed, the second only after the first came back.
  CHECK(!front.waitLog("hub edge: renewing the connection", 10s).empty());
  CHECK(!front.waitLog("hub central: renewing the connection", 15s).empty());
  requireHubsUp(front, {&hubs.edge(), &hubs.central()});
  INFO("front output:\n" << front.output() << "\nserving output:\n" << server->output());
  CHECK(front.countLog("hub central: renewing the connection") == 1);
  // A renewal is ours: not logged as an error nor counted as a connection the server closed.
  CHECK(front.countLog("closed for good") == 0);
  CHECK(orZero(front.metric("twinhub_hub_connections_recreated_total")) == 0);

  // The session opened before the rotation still carries bytes; new ones work too.
  CHECK(echoes(session, "after the rotation"));
  CHECK(newConnectionEchoes(front.front()));

  // The password is nowhere in what the sidecars printed, at debug level.
  const std::string password = firstLine(certs + "/sidecar.password");
  REQUIRE(password.size() >= 16);
  CHECK(front.output().find(password) == std::string::npos);
  CHECK(server->output().find(password) == std::string::npos);
}

}  // namespace
}  // namespace twinhub::test
