// SourcePos: where a value was written in a file, 1-based, for messages such as
// "fleet.yaml:12:5: ...". A value type; any thread.
#pragma once

#include <string>

namespace twinhub::fleet {

struct SourcePos {
  int line = 1;
  int column = 1;

  bool operator==(const SourcePos&) const = default;
  auto operator<=>(const SourcePos&) const = default;
};

// "FILE:LINE:COL", the prefix of every problem and the way a message names a second place.
inline std::string where(const std::string& file, SourcePos pos) {
  return file + ":" + std::to_string(pos.line) + ":" + std::to_string(pos.column);
}

}  // namespace twinhub::fleet
