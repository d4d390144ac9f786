#include "metrics_push/curl_library.h"

#include <dlfcn.h>

namespace twinhub {

namespace {

struct Loaded {
  CurlLibrary api{};
  std::string error;  // "" when api is usable
};

template <typename F>
bool resolve(void* handle, const char* name, F* out, std::string* error) {
  *out = reinterpret_cast<F>(::dlsym(handle, name));
  if (*out == nullptr && error->empty()) *error = std::string("libcurl.so.4 has no ") + name;
  return *out != nullptr;
}

Loaded load() {
  Loaded l;
  // Never unloaded: libcurl's global state lives as long as the process.
  void* handle = ::dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* e = ::dlerror();
    l.error = std::string("cannot load libcurl.so.4 (apt-get install libcurl4): ") + (e ? e : "dlopen failed");
    return l;
  }
  CURLcode (*global_init)(long) = nullptr;
  CurlLibrary& a = l.api;
  bool ok = resolve(handle, "curl_global_init", &global_init, &l.error);
  ok = resolve(handle, "curl_easy_init", &a.easy_init, &l.error) && ok;
  ok = resolve(handle, "curl_easy_setopt", &a.easy_setopt, &l.error) && ok;
  ok = resolve(handle, "curl_easy_perform", &a.easy_perform, &l.error) && ok;
  ok = resolve(handle, "curl_easy_getinfo", &a.easy_getinfo, &l.error) && ok;
  ok = resolve(handle, "curl_easy_cleanup", &a.easy_cleanup, &l.error) && ok;
  ok = resolve(handle, "curl_easy_strerror", &a.easy_strerror, &l.error) && ok;
  ok = resolve(handle, "curl_slist_append", &a.slist_append, &l.error) && ok;
  ok = resolve(handle, "curl_slist_free_all", &a.slist_free_all, &l.error) && ok;
  if (ok && global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) l.error = "curl_global_init failed";
  return l;
}

}  // namespace

const CurlLibrary* curlLibrary(std::string* why) {
  static const Loaded loaded = load();  // thread-safe once: curl_global_init is not
  if (!loaded.error.empty()) {
    *why = loaded.error;
    return nullptr;
  }
  return &loaded.api;
}

}  // namespace twinhub
