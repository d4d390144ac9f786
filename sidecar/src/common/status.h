// Status: the result of an operation that can fail in an expected way (bad input, a refused bind).
// A small value type; any thread. Messages say what and where: "bind 0.0.0.0:7140: address in use".
#pragma once

#include <string>
#include <utility>

namespace twinhub {

class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status ok() { return Status(); }
  static Status error(std::string message) { return Status(std::move(message)); }

  bool isOk() const { return !failed_; }
  explicit operator bool() const { return isOk(); }
  const std::string& message() const { return message_; }

 private:
  explicit Status(std::string message) : failed_(true), message_(std::move(message)) {}
  bool failed_ = false;
  std::string message_;
};

}  // namespace twinhub
