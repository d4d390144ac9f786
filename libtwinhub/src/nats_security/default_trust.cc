#include "nats_security/default_trust.h"

#include <cstdlib>

namespace twinhub::nats_security {

std::string trustOnlyNamedCas(const std::vector<HubSecurity>& hubs) {
  std::string first_ca;
  for (const HubSecurity& hub : hubs) {
    if (!hub.tls.enabled()) continue;
    if (hub.tls.ca.empty()) return "";
    if (first_ca.empty()) first_ca = hub.tls.ca;
  }
  if (first_ca.empty()) return "";
  // Any named CA will do as the default file: each connection loads its own CA besides it.
  const size_t slash = first_ca.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : first_ca.substr(0, slash);
  if (::setenv("SSL_CERT_FILE", first_ca.c_str(), 1) != 0 || ::setenv("SSL_CERT_DIR", dir.c_str(), 1) != 0) return "";
  return first_ca;
}

}  // namespace twinhub::nats_security
