#include "yaml_support/text_file.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace twinhub::yaml {

bool readTextFile(const std::string& path, size_t max_bytes, const std::string& what, std::string* text,
                  std::string* why) {
  const std::string cannot = "cannot read the " + what + ": ";
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    *why = cannot + std::strerror(errno);
    return false;
  }
  if (S_ISDIR(st.st_mode)) {
    *why = "is a directory, not a " + what;
    return false;
  }
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rb"), std::fclose);
  if (!file) {
    *why = cannot + std::strerror(errno);
    return false;
  }
  char chunk[65536];
  size_t n = 0;
  while ((n = std::fread(chunk, 1, sizeof chunk, file.get())) > 0) {
    text->append(chunk, n);
    if (text->size() > max_bytes) {
      *why = "the " + what + " is larger than " + std::to_string(max_bytes >> 20) + " MiB";
      return false;
    }
  }
  if (std::ferror(file.get())) {
    *why = cannot + std::strerror(errno);
    return false;
  }
  return true;
}

}  // namespace twinhub::yaml
