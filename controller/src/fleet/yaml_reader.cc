#include "fleet/yaml_reader.h"

#include <charconv>
#include <cmath>
#include <cstdio>

#include "fleet/structure_checker.h"

namespace twinhub::fleet {

namespace {

std::string joined(std::initializer_list<const char*> words) {
  std::string out;
  for (const char* w : words) out += std::string(out.empty() ? "" : ", ") + w;
  return out;
}

bool isNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

}  // namespace

std::optional<YAML::Node> parseYaml(const std::string& text, ProblemList& problems) {
  YAML::Node root;
  try {
    FleetStructureProblems structure(problems);
    yaml::StructureChecker(structure).check(text);
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    problems.error(toPos(e.mark), "YAML syntax: " + e.msg);
    return std::nullopt;
  }
  if (!root || root.IsNull()) {
    problems.error({}, "the file is empty");
    return std::nullopt;
  }
  return root;
}

SourcePos YamlReader::pos(const YAML::Node& node) { return toPos(node.Mark()); }

bool YamlReader::checkMap(const YAML::Node& map, const std::string& what, std::initializer_list<const char*> allowed) {
  if (!map.IsMap()) {
    error(map, what + " must be a mapping");
    return false;
  }
  for (auto it = map.begin(); it != map.end(); ++it) {
    const std::string key = it->first.IsScalar() ? it->first.Scalar() : "";
    bool known = false;
    for (const char* name : allowed) known = known || key == name;
    if (!known) {
      problems_.error(pos(it->first), "unknown key '" + key + "' in " + what + " (expected one of: " + joined(allowed) + ")");
    }
  }
  return true;
}

bool YamlReader::checkList(const YAML::Node& node, const std::string& what) {
  if (node.IsSequence()) return true;
  error(node, what + " must be a list");
  return false;
}

YAML::Node YamlReader::field(const YAML::Node& map, const char* key) {
  // Walks the pairs rather than map[key]: a non-scalar key would make yaml-cpp compare nodes.
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (it->first.IsScalar() && it->first.Scalar() == key) return it->second;
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

YAML::Node YamlReader::required(const YAML::Node& map, const char* key, const std::string& what) {
  YAML::Node node = field(map, key);
  if (!node.IsDefined()) error(map, what + " needs '" + key + "'");
  return node;
}

bool YamlReader::string(const YAML::Node& node, const std::string& what, std::string* out) {
  if (!node.IsScalar() || node.Scalar().empty()) {
    error(node, what + " must be a non-empty string");
    return false;
  }
  *out = node.Scalar();
  return true;
}

bool YamlReader::name(const YAML::Node& node, const std::string& what, std::string* out) {
  std::string text;
  if (!string(node, what, &text)) return false;
  for (char c : text) {
    if (!isNameChar(c)) {
      error(node, what + " '" + text + "' may hold only letters, digits, '_' and '-'");
      return false;
    }
  }
  *out = text;
  return true;
}

bool YamlReader::uint(const YAML::Node& node, const std::string& what, uint32_t min, uint32_t max, uint32_t* out) {
  const std::string text = node.IsScalar() ? node.Scalar() : "";
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    error(node, what + " must be a whole number from " + std::to_string(min) + " to " + std::to_string(max) +
                    (text.empty() ? "" : ", got '" + text + "'"));
    return false;
  }
  *out = static_cast<uint32_t>(value);
  return true;
}

bool YamlReader::number(const YAML::Node& node, const std::string& what, double min, double max, double* out) {
  const std::string text = node.IsScalar() ? node.Scalar() : "";
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value) || value < min ||
      value > max) {
    char range[96];
    std::snprintf(range, sizeof range, "from %g to %g", min, max);
    error(node, what + " must be a number " + range + (text.empty() ? "" : ", got '" + text + "'"));
    return false;
  }
  *out = value;
  return true;
}

bool YamlReader::boolean(const YAML::Node& node, const std::string& what, bool* out) {
  const std::string text = node.IsScalar() ? node.Scalar() : "";
  if (text != "true" && text != "false") {
    error(node, what + " must be true or false");
    return false;
  }
  *out = text == "true";
  return true;
}

bool YamlReader::choice(const YAML::Node& node, const std::string& what, std::initializer_list<const char*> choices,
                        std::string* out) {
  std::string text;
  if (!string(node, what, &text)) return false;
  for (const char* c : choices) {
    if (text == c) {
      *out = text;
      return true;
    }
  }
  error(node, what + " must be one of " + joined(choices) + ", got '" + text + "'");
  return false;
}

}  // namespace twinhub::fleet
