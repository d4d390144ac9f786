// YamlReader: reads a YAML file into a node tree and converts its values, reporting every
// problem to a ProblemList at the value's position (the same style as the sidecar's config
// loader: all problems at once, each as FILE:LINE:COL). The only fleet code that includes
// yaml-cpp's node API besides the loader. Not thread-safe; one per load.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "fleet/problem_list.h"
#include "fleet/source_pos.h"

namespace twinhub::fleet {

// Far above any real fleet (an agent is one line); stops `-f /dev/zero` from reading forever.
constexpr size_t kMaxFleetFileBytes = 16 * 1024 * 1024;

// Parses `text` (one YAML document; duplicate keys and a second document are problems).
// Returns nullopt, with the reason in `problems`, when there is no tree to read.
std::optional<YAML::Node> parseYaml(const std::string& text, ProblemList& problems);

class YamlReader {
 public:
  explicit YamlReader(ProblemList& problems) : problems_(problems) {}

  ProblemList& problems() { return problems_; }
  static SourcePos pos(const YAML::Node& node);
  void error(const YAML::Node& node, const std::string& message) { problems_.error(pos(node), message); }

  // Reports keys of `map` not in `allowed`; false (with an error) if `map` is not a mapping.
  bool checkMap(const YAML::Node& map, const std::string& what, std::initializer_list<const char*> allowed);
  // False (with an error) if `node` is not a sequence.
  bool checkList(const YAML::Node& node, const std::string& what);
  // `map[key]`, or an invalid node (test with `!node`) when absent. Only call on mappings.
  static YAML::Node field(const YAML::Node& map, const char* key);
  // Reports `what` missing at the mapping's position; returns the field.
  YAML::Node required(const YAML::Node& map, const char* key, const std::string& what);

  bool string(const YAML::Node& node, const std::string& what, std::string* out);
  // A name that is safe in sidecar ids, NATS subjects and file names: letters, digits, '_', '-'.
  bool name(const YAML::Node& node, const std::string& what, std::string* out);
  bool uint(const YAML::Node& node, const std::string& what, uint32_t min, uint32_t max, uint32_t* out);
  bool number(const YAML::Node& node, const std::string& what, double min, double max, double* out);
  bool boolean(const YAML::Node& node, const std::string& what, bool* out);
  // One of `choices`, spelled exactly.
  bool choice(const YAML::Node& node, const std::string& what, std::initializer_list<const char*> choices,
              std::string* out);

 private:
  ProblemList& problems_;
};

}  // namespace twinhub::fleet
