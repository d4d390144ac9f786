// Reading a config-like text file whole, with a size cap: a directory, a missing file and a file
// that never ends (/dev/zero) are refused with the reason. Shared by the sidecar's config and the
// controller's fleet file. Any thread.
#pragma once

#include <cstddef>
#include <string>

namespace twinhub::yaml {

// Appends the file at `path` to *text; on failure *why says what went wrong, naming the file as
// `what` ("config file", "file").
bool readTextFile(const std::string& path, size_t max_bytes, const std::string& what, std::string* text,
                  std::string* why);

}  // namespace twinhub::yaml
