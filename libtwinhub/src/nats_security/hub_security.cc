#include "nats_security/hub_security.h"

#include <nats/nats.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace twinhub::nats_security {

namespace {

// Overwrites a secret before its memory goes back to the allocator.
void wipe(std::string& secret) {
  volatile char* p = secret.data();
  for (size_t i = 0; i < secret.size(); ++i) p[i] = 0;
  secret.clear();
}

std::string natsProblem(const std::string& what, natsStatus s) {
  std::string text = what + ": " + natsStatus_GetText(s);
  // cnats's last error says which file or which OpenSSL check failed; it holds no secret.
  const char* detail = nats_GetLastError(nullptr);
  if (detail && *detail) text += std::string(" (") + detail + ")";
  return text;
}

}  // namespace

std::string fileProblem(const std::string& path, bool secret) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return path + ": " + std::strerror(errno);
  if (!S_ISREG(st.st_mode)) return path + ": not a regular file";
  if (::access(path.c_str(), R_OK) != 0) return path + ": " + std::strerror(errno);
  if (secret && (st.st_mode & (S_IROTH | S_IWOTH)) != 0) {
    return path + ": others may read or write this secret (chmod 600 it)";
  }
  return "";
}

std::string readSecretFile(const std::string& path, std::string* why) {
  if (std::string problem = fileProblem(path, true); !problem.empty()) {
    *why = problem;
    return "";
  }
  std::ifstream in(path, std::ios::binary);
  std::string text(kMaxSecretFileBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxSecretFileBytes) {
    *why = path + ": larger than " + std::to_string(kMaxSecretFileBytes) + " bytes";
    return "";
  }
  std::string line = text.substr(0, text.find('\n'));
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) *why = path + ": empty (the secret is the file's first line)";
  return line;
}

std::string filesFingerprint(const HubSecurity& security) {
  std::string out;
  for (const std::string* path : {&security.tls.ca, &security.tls.cert, &security.tls.key,
                                  &security.auth.password_file, &security.auth.token_file}) {
    if (path->empty()) continue;
    struct stat st {};
    out += *path;
    if (::stat(path->c_str(), &st) == 0) {
      out += ":" + std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) + ":" +
             std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
    }
    out += ";";
  }
  return out;
}

std::string applyHubSecurity(natsOptions* opts, const HubSecurity& security) {
  const TlsFiles& tls = security.tls;
  if (tls.enabled()) {
    if (tls.ca.empty()) return "tls needs a ca file";
    if (tls.cert.empty() != tls.key.empty()) return "tls needs both cert and key, or neither";
    for (const auto* path : {&tls.ca, &tls.cert}) {
      if (path->empty()) continue;
      if (std::string problem = fileProblem(*path, false); !problem.empty()) return problem;
    }
    if (!tls.key.empty()) {
      if (std::string problem = fileProblem(tls.key, true); !problem.empty()) return problem;
    }
    natsStatus s = natsOptions_SetSecure(opts, true);
    if (s != NATS_OK) return natsProblem("tls", s);
    if ((s = natsOptions_LoadCATrustedCertificates(opts, tls.ca.c_str())) != NATS_OK) {
      return natsProblem("tls ca " + tls.ca, s);
    }
    if (!tls.cert.empty() && (s = natsOptions_LoadCertificatesChain(opts, tls.cert.c_str(), tls.key.c_str())) != NATS_OK) {
      return natsProblem("tls cert " + tls.cert + " / key " + tls.key, s);
    }
  }
  const HubAuth& auth = security.auth;
  std::string why;
  if (!auth.token_file.empty()) {
    std::string token = readSecretFile(auth.token_file, &why);
    if (!why.empty()) return why;
    natsStatus s = natsOptions_SetToken(opts, token.c_str());
    wipe(token);
    if (s != NATS_OK) return "token " + auth.token_file + ": " + natsStatus_GetText(s);
  } else if (!auth.user.empty()) {
    std::string password;
    if (!auth.password_file.empty()) {
      password = readSecretFile(auth.password_file, &why);
      if (!why.empty()) return why;
    }
    natsStatus s = natsOptions_SetUserInfo(opts, auth.user.c_str(), password.empty() ? nullptr : password.c_str());
    wipe(password);
    if (s != NATS_OK) return "user " + auth.user + ": " + natsStatus_GetText(s);
  }
  return "";
}

}  // namespace twinhub::nats_security
