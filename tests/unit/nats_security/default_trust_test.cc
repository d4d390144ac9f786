// trustOnlyNamedCas: OpenSSL's default trust (SSL_CERT_FILE, SSL_CERT_DIR) becomes a named CA only
// when every TLS hub names one.
#include "nats_security/default_trust.h"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>

namespace twinhub::nats_security {
namespace {

HubSecurity tlsWithCa(const std::string& ca) {
  HubSecurity s;
  s.tls = {ca, "/c/sidecar.pem", "/c/sidecar-key.pem"};
  return s;
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

TEST_CASE("DefaultTrust: narrowed to the first named CA when every TLS hub names one, whatever was set", "[unit]") {
  ::setenv("SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt", 1);
  ::setenv("SSL_CERT_DIR", "/etc/ssl/certs", 1);
  HubSecurity plain;  // a hub without TLS does not count
  CHECK(trustOnlyNamedCas({plain, tlsWithCa("/c/ca.pem"), tlsWithCa("/d/ca.pem")}) == "/c/ca.pem");
  CHECK(env("SSL_CERT_FILE") == "/c/ca.pem");
  CHECK(env("SSL_CERT_DIR") == "/c");
  ::unsetenv("SSL_CERT_FILE");
  ::unsetenv("SSL_CERT_DIR");
}

TEST_CASE("DefaultTrust: left alone without TLS or when a TLS hub relies on the default trust", "[unit]") {
  ::setenv("SSL_CERT_FILE", "/operator/bundle.pem", 1);
  CHECK(trustOnlyNamedCas({HubSecurity{}, HubSecurity{}}).empty());
  CHECK(trustOnlyNamedCas({tlsWithCa("/c/ca.pem"), tlsWithCa("")}).empty());
  CHECK(env("SSL_CERT_FILE") == "/operator/bundle.pem");
  ::unsetenv("SSL_CERT_FILE");
}

}  // namespace
}  // namespace twinhub::nats_security
