// CurlLibrary: libcurl, loaded with dlopen(3) on first use instead of linked. Linked, it costs every
// sidecar about 3.6 MB of RSS whether it pushes or not: libcurl and the ~25 libraries it pulls in
// (GnuTLS, p11-kit, Kerberos, LDAP, SASL, nettle, ...) are mapped and run their initialisers at
// start (measured with /proc/PID/smaps: 18.1 MB a sidecar in the demo's fleet against 14.5 MB
// before the push was added), while only a sidecar with `metrics_push:` ever uses it.
//
// Any thread; the first call loads the library and runs curl_global_init (once, thread-safe).
#pragma once

#include <curl/curl.h>

#include <string>

namespace twinhub {

struct CurlLibrary {
  CURL* (*easy_init)();
  CURLcode (*easy_setopt)(CURL*, CURLoption, ...);
  CURLcode (*easy_perform)(CURL*);
  CURLcode (*easy_getinfo)(CURL*, CURLINFO, ...);
  void (*easy_cleanup)(CURL*);
  const char* (*easy_strerror)(CURLcode);
  curl_slist* (*slist_append)(curl_slist*, const char*);
  void (*slist_free_all)(curl_slist*);
};

// libcurl.so.4 with every function above resolved and curl_global_init done; null when it cannot
// be loaded, with `*why` saying why (the same answer on every call).
const CurlLibrary* curlLibrary(std::string* why);

}  // namespace twinhub
