// StructureChecker: what YAML::Load lets through silently, found on the parser's events: a key
// written twice in one mapping (Load keeps the first and the second is never checked) and a
// second document (Load reads only the first). Working on events means an alias is one event,
// not a copy of what it names. The caller words the problems (StructureProblems). Shared by the
// sidecar's config and the controller's fleet file. Not thread-safe; one per check.
#pragma once

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/mark.h>

#include <string>
#include <unordered_map>
#include <vector>

namespace twinhub::yaml {

class StructureProblems {
 public:
  virtual void secondDocument(const YAML::Mark& at) = 0;
  virtual void duplicateKey(const std::string& key, const YAML::Mark& at, const YAML::Mark& first) = 0;

 protected:
  ~StructureProblems() = default;
};

class StructureChecker : public YAML::EventHandler {
 public:
  explicit StructureChecker(StructureProblems& problems) : problems_(problems) {}

  // Reads the documents of `text`, reporting to `problems`. Throws what the parser throws
  // (YAML::ParserException, with a mark).
  void check(const std::string& text);

  void OnDocumentStart(const YAML::Mark& mark) override;
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { leaf(mark, nullptr); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { leaf(mark, nullptr); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t, const std::string& value) override {
    leaf(mark, &value);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    open(mark, false);
  }
  void OnSequenceEnd() override { close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    open(mark, true);
  }
  void OnMapEnd() override { close(); }

 private:
  struct Collection {
    bool is_map = false;
    bool at_key = true;  // in a mapping, nodes alternate: key, value, key, ...
    std::unordered_map<std::string, YAML::Mark> keys;
  };

  void leaf(const YAML::Mark& mark, const std::string* scalar);
  void open(const YAML::Mark& mark, bool is_map);
  void close();
  // Registers a node starting at `mark` as a key of the enclosing mapping, if it is one.
  void keyAt(const YAML::Mark& mark, const std::string* scalar);
  // A node ended: the enclosing mapping now expects the other of key/value.
  void nodeDone();

  StructureProblems& problems_;
  int documents_ = 0;
  std::vector<Collection> open_;
};

}  // namespace twinhub::yaml
