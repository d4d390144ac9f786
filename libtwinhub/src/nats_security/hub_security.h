// HubSecurity: how a program proves itself to one hub and checks the hub (docs/security.md, "TLS
// and credentials"): TLS files (CA, client certificate, key) and a user with a password file or a
// token file. Shared by the sidecar and twinhubctl, which both parse it from their own configs.
//
// Secrets are read from files when a connection's options are made, never taken from a command
// line, and never put into a message: every problem names the file, not what is in it. A secret
// file (password, token, key) that others may read is refused, as ssh refuses such a key.
//
// Plain values; any thread. applyHubSecurity reads files (blocking I/O): call it where the
// connection is made (a worker thread), not on an event loop.
#pragma once

#include <cstddef>
#include <string>

typedef struct __natsOptions natsOptions;

namespace twinhub::nats_security {

struct TlsFiles {
  std::string ca;    // PEM: the CA that signed the hub's certificate
  std::string cert;  // PEM: this client's certificate (chain)
  std::string key;   // PEM: its private key
  bool enabled() const { return !ca.empty() || !cert.empty() || !key.empty(); }
  bool operator==(const TlsFiles&) const = default;
};

struct HubAuth {
  std::string user;
  std::string password_file;  // with user
  std::string token_file;     // instead of user + password
  bool operator==(const HubAuth&) const = default;
};

struct HubSecurity {
  TlsFiles tls;
  HubAuth auth;
  bool empty() const { return !tls.enabled() && auth.user.empty() && auth.token_file.empty(); }
  bool operator==(const HubSecurity&) const = default;
};

// Why `path` cannot serve (missing, not a regular file, unreadable; for a `secret`, readable or
// writable by others), or "" when it can. Messages start with the path.
std::string fileProblem(const std::string& path, bool secret);

// Reads a password or token file: its first line, without the line end. "" and `*why` set when
// it cannot (fileProblem's reasons, larger than kMaxSecretFileBytes, or an empty first line).
// The one reader of secret files: hub credentials here, /metrics and Pushgateway basic auth in
// the sidecar's config. The cap keeps a wrong path (a log) from being read whole.
constexpr size_t kMaxSecretFileBytes = 4096;
std::string readSecretFile(const std::string& path, std::string* why);

// Changes whenever one of the files is replaced or rewritten (path, size, modification time of
// each), to tell whether a reload must reconnect. Holds no secret.
std::string filesFingerprint(const HubSecurity& security);

// Sets TLS (secure, CA, certificate chain) and the user/password or token on `opts`. Returns ""
// on success, else what failed, naming the file (never the secret).
[[nodiscard]] std::string applyHubSecurity(natsOptions* opts, const HubSecurity& security);

}  // namespace twinhub::nats_security
