// ProblemList: the errors and warnings found in one input file, each at a position, printed all
// at once in file order as "FILE:LINE:COL: message" (warnings as "FILE:LINE:COL: warning: ...").
// Bounded: a generated file with 100,000 mistakes prints a screenful, not 100,000 lines.
// Not thread-safe; one list per load.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "fleet/source_pos.h"

namespace twinhub::fleet {

enum class Severity { kError, kWarning };

struct Problem {
  Severity severity = Severity::kError;
  SourcePos pos;
  std::string message;
};

class ProblemList {
 public:
  // Lines printed per severity before "... and N more".
  static constexpr size_t kMaxListed = 50;
  // A message may quote a value from the file; longer ones are cut.
  static constexpr size_t kMaxMessageChars = 400;

  explicit ProblemList(std::string file) : file_(std::move(file)) {}

  void error(SourcePos pos, std::string message) { add(Severity::kError, pos, std::move(message)); }
  void warning(SourcePos pos, std::string message) { add(Severity::kWarning, pos, std::move(message)); }

  const std::string& file() const { return file_; }
  bool hasErrors() const { return count(Severity::kError) > 0; }
  size_t count(Severity severity) const;
  // All problems of one severity in file order, unbounded (for tests and --json).
  std::vector<Problem> sorted(Severity severity) const;
  // The first kMaxListed lines of one severity, formatted, then "... and N more" if any were left out.
  std::vector<std::string> formatted(Severity severity) const;
  // "FILE:LINE:COL: message" for one problem.
  std::string format(const Problem& problem) const;

 private:
  void add(Severity severity, SourcePos pos, std::string message);

  std::string file_;
  std::vector<Problem> problems_;
};

}  // namespace twinhub::fleet
