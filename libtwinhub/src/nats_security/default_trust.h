// cnats gives every TLS connection's context OpenSSL's default trust (SSL_CTX_set_default_verify_paths)
// besides the CA a hub names: the whole system bundle (~140 certificates, SSL_CERT_FILE) parsed into
// each context, about 0.9 MB per connection (measured: a sidecar with four TLS hub connections had
// 5.9 MB of anonymous memory, 2.6 MB with this), and every public CA trusted for hubs that have a
// private one. When every TLS hub names its CA, that default trust is narrowed to the named CA:
// SSL_CERT_FILE is set to it and SSL_CERT_DIR to its directory (which holds no hashed links, so
// adds nothing), whatever they were, for this process and its children.
//
// Call from main before any thread starts (it calls setenv). Does nothing when no hub uses TLS or
// when one uses TLS without naming a CA (it relies on the default trust). Returns the CA file now
// in SSL_CERT_FILE, or "".
#pragma once

#include <string>
#include <vector>

#include "nats_security/hub_security.h"

namespace twinhub::nats_security {

std::string trustOnlyNamedCas(const std::vector<HubSecurity>& hubs);

}  // namespace twinhub::nats_security
